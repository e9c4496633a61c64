/* shuffle.c - simple-shuffle's weighted draw (LiteLLM 1.108.7,
 * litellm/router_strategy/simple_shuffle.py), the steps after the weights.
 *
 * float_max(weights): max(weights, default=0.0) for an exact tuple of exact
 * floats -- Python's max keeps the first item and replaces it by every
 * later item that compares greater (item > best), which for floats is the
 * C comparison of the doubles (NaN never compares greater).  The maximal
 * item itself (or a new 0.0 for an empty tuple); None for anything else.
 *
 * weighted_draw(population, weights, rand): what
 * random.Random.choices(population, weights=weights)[0] returns when the
 * Random instance's `random` is rand, for an exact list or tuple
 * population and an exact tuple of exact floats of the same length n >= 1:
 *     cum_weights = list(accumulate(weights))     (left-to-right double sums)
 *     total = cum_weights[-1] + 0.0
 *     (ValueError unless total > 0.0 and finite)
 *     population[bisect_right(cum_weights, random() * total, 0, n - 1)]
 * The sums, the product and the comparisons are the doubles' own, as
 * Python's float operations are.  None, before rand is called, for other
 * inputs and for a total Python would raise on (the caller then calls
 * choices itself, which raises); rand is called exactly once otherwise,
 * and an exception it raises propagates, as from choices.  The caller
 * checks that rand is the instance's `random` as choices would read it.
 * The sums and the bisection are csrc/core/fl_wpick.c's; the tables of the
 * last FL_EXT_DRAW_TABLES weights tuples used are kept (with the tuples:
 * the module state's fl_ext_draws) so that picks over the same weights --
 * simple-shuffle's, whose weights tuple metric_weights hands out again for
 * an unchanged list, for each model group picked from -- bisect without
 * summing. */
#include "fl_ext.h"
#include "fl_wpick.h"

/* an exact tuple of exact floats, 1 / 0 */
static int
float_tuple(PyObject *t)
{
    if (!PyTuple_CheckExact(t)) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++) {
        if (!PyFloat_CheckExact(PyTuple_GET_ITEM(t, k))) {
            return 0;
        }
    }
    return 1;
}

PyObject *
fl_ext_float_max(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *t, *best;
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "float_max() expects (weights)");
        return NULL;
    }
    t = args[0];
    if (!float_tuple(t)) {
        Py_RETURN_NONE;
    }
    if (PyTuple_GET_SIZE(t) == 0) {
        return PyFloat_FromDouble(0.0);
    }
    best = PyTuple_GET_ITEM(t, 0);
    for (Py_ssize_t k = 1; k < PyTuple_GET_SIZE(t); k++) {
        PyObject *item = PyTuple_GET_ITEM(t, k);
        if (PyFloat_AS_DOUBLE(item) > PyFloat_AS_DOUBLE(best)) {
            best = item;
        }
    }
    return Py_NewRef(best);
}

void
fl_ext_draws_init(struct fl_ext_draws *dr)
{
    for (int k = 0; k < FL_EXT_DRAW_TABLES; k++) {
        dr->held[k] = NULL;
        fl_wpick_init(&dr->table[k]);
    }
}

void
fl_ext_draws_clear(struct fl_ext_draws *dr)
{
    for (int k = 0; k < FL_EXT_DRAW_TABLES; k++) {
        Py_CLEAR(dr->held[k]);
        fl_wpick_free(&dr->table[k]);
    }
}

/* entry k moved to the front (entries 0..k-1 one place back) */
static void
to_front(struct fl_ext_draws *dr, int k)
{
    PyObject *held = dr->held[k];
    struct fl_wpick table = dr->table[k];
    for (; k > 0; k--) {
        dr->held[k] = dr->held[k - 1];
        dr->table[k] = dr->table[k - 1];
    }
    dr->held[0] = held;
    dr->table[0] = table;
}

/* the table of `weights`: a kept one when weights is that entry's very
 * tuple (immutable, of immutable floats: its sums are what they were),
 * else built now in the least recently used entry, with weights held; the
 * entry goes to the front either way.  &dr->table[0], or NULL: *status 0
 * for not the plain case (weights no exact tuple of exact floats, or a
 * total Python's choices raises on), -1 for MemoryError. */
static const struct fl_wpick *
table_for(PyObject *weights, struct fl_ext_draws *dr, int *status)
{
    double *w;
    Py_ssize_t n;
    enum fl_status st;
    const int last = FL_EXT_DRAW_TABLES - 1;
    *status = 0;
    for (int k = 0; k < FL_EXT_DRAW_TABLES; k++) {
        if (dr->held[k] == weights) {
            to_front(dr, k);
            return &dr->table[0];
        }
    }
    if (!float_tuple(weights) || PyTuple_GET_SIZE(weights) < 1) {
        return NULL;
    }
    n = PyTuple_GET_SIZE(weights);
    w = PyMem_Malloc(sizeof *w * (size_t)n);
    if (w == NULL) {
        *status = -1;
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        w[k] = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(weights, k));
    }
    /* the least recently used entry goes (its tuple released only after its
     * table is gone and the entry is out of reach: a release can run code) */
    fl_wpick_free(&dr->table[last]);
    {
        PyObject *old = dr->held[last];
        dr->held[last] = NULL;
        Py_XDECREF(old);
    }
    st = fl_wpick_build(&dr->table[last], w, (size_t)n);
    PyMem_Free(w);
    if (st != FL_OK) {
        if (st == FL_ENOMEM) {
            *status = -1;
            PyErr_NoMemory();
        }
        return NULL;
    }
    dr->held[last] = Py_NewRef(weights);
    to_front(dr, last);
    return &dr->table[0];
}

PyObject *
fl_ext_weighted_draw(struct fl_ext_draws *dr, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *population, *weights, *rand, *r = NULL, *res = NULL;
    const struct fl_wpick *table;
    Py_ssize_t lo;
    int t;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "weighted_draw() expects (population, weights, rand)");
        goto error;
    }
    population = args[0];
    weights = args[1];
    rand = args[2];
    if ((!PyList_CheckExact(population) && !PyTuple_CheckExact(population)) ||
        !PyTuple_CheckExact(weights) ||
        PySequence_Fast_GET_SIZE(population) != PyTuple_GET_SIZE(weights)) {
        Py_RETURN_NONE;
    }
    if ((table = table_for(weights, dr, &t)) == NULL) {
        if (t < 0) {
            goto error;
        }
        Py_RETURN_NONE;
    }
    r = PyObject_CallNoArgs(rand);
    if (r == NULL) {
        goto error;
    }
    if (!PyFloat_CheckExact(r)) {
        PyErr_SetString(PyExc_SystemError,
                        "weighted_draw(): random() did not return a float");
        goto error;
    }
    /* (again: a draw made by rand could have replaced the kept table; the
     * same weights build the same table) */
    if ((table = table_for(weights, dr, &t)) == NULL) {
        if (t == 0) {
            PyErr_SetString(PyExc_SystemError, "weighted_draw(): weights changed");
        }
        goto error;
    }
    lo = (Py_ssize_t)fl_wpick_index(table, PyFloat_AS_DOUBLE(r));
    if (lo >= PySequence_Fast_GET_SIZE(population)) { /* (rand changed it) */
        PyErr_SetString(PyExc_IndexError, "list index out of range");
        goto error;
    }
    res = Py_NewRef(PySequence_Fast_GET_ITEM(population, lo));
error:
    Py_XDECREF(r);
    return res;
}
