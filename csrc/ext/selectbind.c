/* selectbind.c - the binding of csrc/core/fl_select.c: the choice among
 * scored candidates that LiteLLM's selectors make after their loops.
 *
 * first_min(potential): sorted(potential, key=lambda x: x[1])[0][0] -- the
 *     deployment cost-based routing returns -- when potential is a non-empty
 *     exact list of exact 2-tuples whose second items are exact ints in the
 *     int64 range or exact floats, none a NaN.  None otherwise (the caller
 *     sorts in Python).
 * shortlist(potential, buffer): latency-based routing's `valid` list, as
 *     deployments (the first items) in ranked order:
 *         ranked = sorted(potential, key=lambda x: x[1])
 *         lowest = ranked[0][1]; ceiling = lowest + buffer * lowest
 *         [x[0] for x in ranked if x[1] <= ceiling]
 *     when potential is a non-empty exact list of exact 2-tuples whose
 *     second items are exact floats, none a NaN, and buffer an exact float
 *     or an exact int in the int64 range (float(buffer) * lowest is then
 *     Python's int * float).  None otherwise.  The list may be empty (a NaN
 *     ceiling): LiteLLM's random.choice then raises, and so does the
 *     caller's, on the same empty list.
 * select_admits(tpm_now, tokens, tpm, rpm_now, rpm): not (tpm_now + tokens
 *     > tpm or rpm_now + 1 > rpm) as a bool, None when a value is not an
 *     exact int in the int64 range or an exact float or an int sum leaves
 *     int64 (the tests hold it to Python's operators).
 *
 * Pure: reads exact builtin types only, runs no Python code. */
#include "fl_scan.h"

/* potential's length when it is a non-empty exact list of exact 2-tuples
 * (0 otherwise) */
static Py_ssize_t
pairs_len(PyObject *potential)
{
    Py_ssize_t n;
    if (!PyList_CheckExact(potential)) {
        return 0;
    }
    n = PyList_GET_SIZE(potential);
    if ((size_t)n > FL_SELECT_MAX) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *p = PyList_GET_ITEM(potential, k);
        if (!PyTuple_CheckExact(p) || PyTuple_GET_SIZE(p) != 2) {
            return 0;
        }
    }
    return n;
}

PyObject *
fl_ext_first_min(PyObject *potential)
{
    struct fl_pynum *v = NULL;
    PyObject *res = NULL;
    Py_ssize_t n = pairs_len(potential);
    size_t at = 0;
    if (n == 0) {
        Py_RETURN_NONE;
    }
    v = PyMem_New(struct fl_pynum, (size_t)n);
    if (v == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        int r = scan_pynum(PyTuple_GET_ITEM(PyList_GET_ITEM(potential, k), 1), &v[k]);
        if (r == SCAN_ERR) {
            goto error;
        }
        if (r == SCAN_NO) {
            res = Py_NewRef(Py_None);
            goto done;
        }
    }
    if (fl_select_first_min(v, (size_t)n, &at) != FL_OK) {
        res = Py_NewRef(Py_None); /* a NaN: the sort's own order */
        goto done;
    }
    res = Py_NewRef(PyTuple_GET_ITEM(PyList_GET_ITEM(potential, (Py_ssize_t)at), 0));
done:
    PyMem_Free(v);
    return res;
error:
    PyMem_Free(v);
    return NULL;
}

PyObject *
fl_ext_shortlist(PyObject *const *args, Py_ssize_t nargs)
{
    double *lat = NULL, buffer;
    size_t *idx = NULL, m = 0;
    struct fl_pynum b;
    PyObject *potential, *res = NULL;
    Py_ssize_t n;
    int r;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "shortlist() expects (potential, buffer)");
        return NULL;
    }
    potential = args[0];
    n = pairs_len(potential);
    r = scan_pynum(args[1], &b);
    if (r == SCAN_ERR) {
        return NULL;
    }
    if (n == 0 || r == SCAN_NO) {
        Py_RETURN_NONE;
    }
    buffer = fl_pynum_as_double(&b);
    lat = PyMem_New(double, (size_t)n);
    idx = PyMem_New(size_t, 2 * (size_t)n);
    if (lat == NULL || idx == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *x = PyTuple_GET_ITEM(PyList_GET_ITEM(potential, k), 1);
        if (!PyFloat_CheckExact(x)) {
            res = Py_NewRef(Py_None);
            goto done;
        }
        lat[k] = PyFloat_AS_DOUBLE(x);
    }
    if (fl_select_within_buffer(lat, (size_t)n, buffer, idx, idx + n, &m) != FL_OK) {
        res = Py_NewRef(Py_None); /* a NaN: the sort's own order */
        goto done;
    }
    res = PyList_New((Py_ssize_t)m);
    if (res == NULL) {
        goto error;
    }
    for (size_t k = 0; k < m; k++) {
        PyObject *dep = PyTuple_GET_ITEM(PyList_GET_ITEM(potential, (Py_ssize_t)idx[k]), 0);
        PyList_SET_ITEM(res, (Py_ssize_t)k, Py_NewRef(dep));
    }
done:
    PyMem_Free(lat);
    PyMem_Free(idx);
    return res;
error:
    PyMem_Free(lat);
    PyMem_Free(idx);
    return NULL;
}

PyObject *
fl_ext_select_admits(PyObject *const *args, Py_ssize_t nargs)
{
    struct fl_pynum v[5];
    int admitted = 0;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "select_admits() expects (tpm_now, tokens, tpm, rpm_now, rpm)");
        return NULL;
    }
    for (int k = 0; k < 5; k++) {
        int r = scan_pynum(args[k], &v[k]);
        if (r == SCAN_ERR) {
            return NULL;
        }
        if (r == SCAN_NO) {
            Py_RETURN_NONE;
        }
    }
    if (fl_select_admits(&v[0], &v[1], &v[2], &v[3], &v[4], &admitted) != FL_OK) {
        Py_RETURN_NONE;
    }
    return PyBool_FromLong(admitted);
}
