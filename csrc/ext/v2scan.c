/* v2scan.c - usage-based-routing-v2's selection loops (LiteLLM 1.108.7,
 * LowestTPMLoggingHandler_v2._common_checks_available_deployment and
 * _return_potential_deployments), in the plain case.
 *
 * v2_dicts(tpm_keys, tpm_values, rpm_keys, rpm_values): LiteLLM's
 *     tpm_dict = {}; for idx, key in enumerate(tpm_keys):
 *         tpm_dict[tpm_keys[idx].split(":")[0]] = tpm_values[idx]
 * (and rpm_dict alike) as a (tpm_dict, rpm_dict) pair, when the keys are
 * exact lists of exact strs and the values exact lists or tuples at least
 * as long; None otherwise (LiteLLM's code then runs, and raises where it
 * raises).  No Python code runs: str keys, values stored as they are.
 * heads (optional fifth argument, an exact dict the caller keeps, or None):
 * {key: key.split(":")[0]}, remembered so that the keys usage_keys hands
 * out again every pick are not cut and hashed again; the head is a
 * function of the key's text, and exact strs match by text.  Bounded:
 * cleared past V2_HEADS entries.
 *
 * v2_select(healthy, tpm_keys, tpm_values, rpm_keys, rpm_values,
 * input_tokens[, memo]): the rest of the selection before the random draw
 * -- LiteLLM's maps from the keys, its loop that gives every healthy id
 * missing from tpm_dict (or None there) a 0, then
 * _return_potential_deployments(healthy, tpm_dict, input_tokens, rpm_dict):
 * the candidates whose usage is lowest among those under their tpm and rpm
 * limits, in LiteLLM's order -- without building the maps (see "v2_select"
 * below).  Plain case: the key and value lists as v2_dicts requires
 * (v2_keys_ok); healthy an exact list or tuple of exact dicts with an exact
 * dict "model_info" holding an exact str "id"; "litellm_params" absent or
 * an exact dict; every "tpm" and "rpm" limit read (deployment,
 * litellm_params, model_info, in LiteLLM's order) None or an exact int in
 * the int64 range or an exact float; every value either map would hold
 * None, an exact int in the int64 range or an exact float; input_tokens an
 * exact int in the int64 range.  Then the arithmetic and comparisons are
 * Python's own (csrc/core/fl_select.c on the numbers: no code runs; an int
 * sum outside int64 is not plain) and the answer is the list LiteLLM
 * builds.  None
 * when not plain (the caller then builds the maps with v2_dicts and takes
 * LiteLLM's steps).
 *
 * dict_values_for(d, keys): [d.get(k) for k in keys] -- what
 * PrefetchedUsage.values_for reads through the read-only view of d -- when d
 * is an exact dict and keys an exact list or tuple of exact strs (a lookup
 * then runs no Python code: str hash and equality); None otherwise. */
#include "fl_scan.h"

enum { V_MODEL_INFO, V_ID, V_LITELLM_PARAMS, V_TPM, V_RPM, V_COUNT };
static const char *const key_text[V_COUNT] = {"model_info", "id", "litellm_params",
                                              "tpm", "rpm"};

_Static_assert(V_COUNT == FL_EXT_V2_KEYS, "fl_ext.h: FL_EXT_V2_KEYS");

int
fl_ext_v2_keys(PyObject **keys)
{
    return fl_ext_intern_keys(key_text, V_COUNT, keys);
}

/* s.split(":")[0] for an exact str: a new reference */
static PyObject *
head_of(PyObject *s)
{
    Py_ssize_t at = PyUnicode_FindChar(s, ':', 0, PyUnicode_GET_LENGTH(s), 1);
    if (at == -2) {
        return NULL;
    }
    if (at < 0) {
        return Py_NewRef(s);
    }
    return PyUnicode_Substring(s, 0, at);
}

enum { V2_HEADS = 65536 };

/* key.split(":")[0] through the heads memo (or cut when heads is NULL): a
 * new reference, NULL on an error */
static PyObject *
head_through(PyObject *heads, PyObject *key)
{
    PyObject *h;
    if (heads == NULL) {
        return head_of(key);
    }
    h = PyDict_GetItemWithError(heads, key);
    if (h != NULL && PyUnicode_CheckExact(h)) {
        return Py_NewRef(h);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    h = head_of(key);
    if (h == NULL) {
        return NULL;
    }
    if (PyDict_GET_SIZE(heads) >= V2_HEADS) {
        PyDict_Clear(heads);
    }
    if (PyDict_SetItem(heads, key, h) < 0) {
        Py_DECREF(h);
        return NULL;
    }
    return h;
}

/* one dict from keys and values as LiteLLM's loop builds it, or NULL with
 * *plain = 0 (no exception) when not plain */
/* keys an exact list of exact strs and values an exact list or tuple at
 * least as long: LiteLLM's loop over them raises nothing and runs no code */
static int
keyed_plain(PyObject *keys, PyObject *values)
{
    Py_ssize_t n;
    if (!PyList_CheckExact(keys) ||
        (!PyList_CheckExact(values) && !PyTuple_CheckExact(values))) {
        return 0;
    }
    n = PyList_GET_SIZE(keys);
    if (PySequence_Fast_GET_SIZE(values) < n) {
        return 0; /* LiteLLM's IndexError */
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(keys, i))) {
            return 0;
        }
    }
    return 1;
}

static PyObject *
keyed(PyObject *keys, PyObject *values, PyObject *heads, int *plain)
{
    PyObject *d;
    Py_ssize_t n;
    *plain = keyed_plain(keys, values);
    if (!*plain) {
        return NULL;
    }
    n = PyList_GET_SIZE(keys);
    d = PyDict_New();
    if (d == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *h = head_through(heads, PyList_GET_ITEM(keys, i));
        int r;
        if (h == NULL) {
            Py_DECREF(d);
            return NULL;
        }
        r = PyDict_SetItem(d, h, PySequence_Fast_GET_ITEM(values, i));
        Py_DECREF(h);
        if (r < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

PyObject *
fl_ext_v2_dicts(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *tpm = NULL, *rpm = NULL, *res, *heads = NULL;
    int plain;
    if ((nargs != 4 && nargs != 5) ||
        (nargs == 5 && args[4] != Py_None && !PyDict_CheckExact(args[4]))) {
        PyErr_SetString(PyExc_TypeError,
                        "v2_dicts() expects (tpm_keys, tpm_values, rpm_keys, "
                        "rpm_values[, heads: dict | None])");
        return NULL;
    }
    if (nargs == 5 && args[4] != Py_None) {
        heads = args[4];
    }
    tpm = keyed(args[0], args[1], heads, &plain);
    if (tpm == NULL) {
        if (plain) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    rpm = keyed(args[2], args[3], heads, &plain);
    if (rpm == NULL) {
        Py_DECREF(tpm);
        if (plain) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    res = PyTuple_Pack(2, tpm, rpm);
    Py_DECREF(tpm);
    Py_DECREF(rpm);
    return res;
}

/* a usage value or limit that the loop may read: None, an int64 int or a float */
static int
plain_number(PyObject *v)
{
    if (v == Py_None || PyFloat_CheckExact(v)) {
        return 1;
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow != 0 || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
        return 1;
    }
    return 0;
}

/* the limit LiteLLM reads for `name` (borrowed; NULL = none: float("inf")),
 * 1 plain / 0 not */
static int
limit_of(PyObject *const *keys, PyObject *d, PyObject *name, PyObject **out)
{
    PyObject *lp, *mi, *v;
    *out = NULL;
    v = PyDict_GetItemWithError(d, name);
    if (v == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (v == NULL || v == Py_None) {
        lp = PyDict_GetItemWithError(d, keys[V_LITELLM_PARAMS]);
        if (lp == NULL && PyErr_Occurred()) {
            return -1;
        }
        v = NULL;
        if (lp != NULL) {
            if (!scan_dict(lp)) {
                return 0;
            }
            v = PyDict_GetItemWithError(lp, name);
            if (v == NULL && PyErr_Occurred()) {
                return -1;
            }
        }
    }
    if (v == NULL || v == Py_None) {
        mi = PyDict_GetItemWithError(d, keys[V_MODEL_INFO]); /* an exact dict */
        if (mi == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        v = PyDict_GetItemWithError(mi, name);
        if (v == NULL && PyErr_Occurred()) {
            return -1;
        }
    }
    if (v == NULL || v == Py_None) {
        return 1;
    }
    if (!plain_number(v)) {
        return 0;
    }
    *out = v;
    return 1;
}

/* the id of a healthy deployment (borrowed), NULL with no exception when
 * not plain */
static PyObject *
id_of(PyObject *const *keys, PyObject *d)
{
    PyObject *id;
    if (scan_model_info_id(d, keys[V_MODEL_INFO], keys[V_ID], &id) != SCAN_OK ||
        !PyUnicode_CheckExact(id)) {
        return NULL;
    }
    return id;
}

/* what the first pass read of one healthy deployment (borrowed: no Python
 * code runs during v2_select, so nothing read can go away) */
typedef struct {
    PyObject *d, *id;
    PyObject *tpm_lim, *rpm_lim; /* NULL: none (float("inf")) */
} v2_read;

/* each deployment's id and limits into reads[0..n) (n: healthy's length),
 * and the plain checks of the docstring on them: 1, 0, -1 */
static int
deployment_reads(PyObject *const *keys, PyObject *healthy, Py_ssize_t n, v2_read *reads)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d;
        int r;
        if (PySequence_Fast_GET_SIZE(healthy) != n) {
            return 0; /* (code a colliding key's __eq__ ran changed the list) */
        }
        d = PySequence_Fast_GET_ITEM(healthy, i);
        reads[i].d = d;
        reads[i].id = id_of(keys, d);
        if (reads[i].id == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        if ((r = limit_of(keys, d, keys[V_TPM], &reads[i].tpm_lim)) != 1 ||
            (r = limit_of(keys, d, keys[V_RPM], &reads[i].rpm_lim)) != 1) {
            return r;
        }
    }
    return 1;
}

/* _return_potential_deployments' id -> deployment map (last wins), as
 * id -> the index of what deployment_reads read of it: a new dict or NULL */
static PyObject *
index_of_ids(const v2_read *reads, Py_ssize_t n)
{
    PyObject *lookup = PyDict_New();
    if (lookup == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *at = PyLong_FromSsize_t(i);
        if (at == NULL || PyDict_SetItem(lookup, reads[i].id, at) < 0) {
            Py_XDECREF(at);
            Py_DECREF(lookup);
            return NULL;
        }
        Py_DECREF(at);
    }
    return lookup;
}

/* The body of _return_potential_deployments' loop for an item whose
 * deployment (rd) was found and whose usage item_tpm is not None: skipped
 * when `item_tpm + tokens > tpm limit` or `used + 1 >= rpm limit` (used:
 * rpm_dict's value for the item, NULL when absent or None); else appended
 * when equal to the lowest so far, or the new lowest -- the decisions
 * csrc/core/fl_select.c makes with Python's arithmetic and comparisons on
 * the numbers (plain: plan_run checked them).  1, 0 when an int sum leaves
 * int64 (not plain), or -1 with an exception. */
static int
consider(const v2_read *rd, PyObject *item_tpm, PyObject *used,
         const struct fl_pynum *tokens, struct fl_pynum *lowest,
         PyObject *potential)
{
    const struct fl_pynum one = fl_pynum_int(1), inf = fl_pynum_float(Py_HUGE_VAL);
    struct fl_pynum v, lim, u;
    int over = 0, r;
    if ((r = scan_pynum(item_tpm, &v)) != SCAN_OK) {
        return r < 0 ? -1 : 0;
    }
    lim = inf;
    if (rd->tpm_lim != NULL && (r = scan_pynum(rd->tpm_lim, &lim)) != SCAN_OK) {
        return r < 0 ? -1 : 0;
    }
    if (fl_select_exceeds(&v, tokens, &lim, 0, &over) != FL_OK) {
        return 0;
    }
    if (over == 0 && used != NULL) {
        if ((r = scan_pynum(used, &u)) != SCAN_OK) {
            return r < 0 ? -1 : 0;
        }
        lim = inf;
        if (rd->rpm_lim != NULL && (r = scan_pynum(rd->rpm_lim, &lim)) != SCAN_OK) {
            return r < 0 ? -1 : 0;
        }
        if (fl_select_exceeds(&u, &one, &lim, 1, &over) != FL_OK) {
            return 0;
        }
    }
    if (over != 0) {
        return 1;
    }
    switch (fl_select_lowest_step(lowest, &v)) {
    case FL_SELECT_APPEND:
        return PyList_Append(potential, rd->d) < 0 ? -1 : 1;
    case FL_SELECT_RESTART:
        if (PyList_SetSlice(potential, 0, PyList_GET_SIZE(potential), NULL) < 0) {
            return -1;
        }
        return PyList_Append(potential, rd->d) < 0 ? -1 : 1;
    default:
        return 1;
    }
}

/* -- v2_select: the usage maps never built ---------------------------------
 *
 * v2_select(healthy, tpm_keys, tpm_values, rpm_keys, rpm_values,
 * input_tokens, memo): the list LiteLLM's _return_potential_deployments
 * returns after the fill, without
 * building the two maps.  LiteLLM's maps are local to
 * _common_checks_available_deployment: what matters is the order of
 * tpm_dict's items (each head's first key, then the fill's ids in healthy
 * order), which value each item holds (its head's last key's value; the
 * fill's 0; a None under a healthy id's head filled with 0), which
 * deployment each item names (the last healthy one with that id) and which
 * rpm value (its head's last rpm key's).  All of that depends on the key
 * texts and the deployments' ids only: a plan (one entry per item, indexes
 * into the value lists and healthy) is built once and kept in memo under
 * the key Ellipsis with the key lists (tuples: the same objects next time)
 * and a snapshot of healthy (seqsnap.c) -- the last V2_RECENT plans used,
 * one per model group picked from in turn (fl_recent_find).
 * Each call then reads the values through the plan: the same plain checks
 * (every value that would be in either map a plain number), the same
 * arithmetic and comparisons, in the same order.  None when not plain (the
 * caller then builds the maps and takes LiteLLM's steps). */

typedef struct {
    Py_ssize_t tidx; /* tpm_values index of the item's value; -1: the fill's 0 */
    Py_ssize_t dep;  /* index in healthy of the deployment it names; -1: none */
    Py_ssize_t ridx; /* rpm_values index of its rpm usage; -1: none */
    int zero_if_none; /* a healthy id: a None value is filled with 0 */
} plan_entry;

typedef struct {
    Py_ssize_t n_entries, n_rpm, n_healthy, n_tkeys, n_rkeys;
    plan_entry *entries;
    Py_ssize_t *rpm_last; /* rpm_values index of each rpm head's value */
    v2_read *reads;       /* per deployment (borrowed, while the snapshot holds) */
} v2_plan;

#define V2_PLAN_CAPSULE "fast_litellm.v2_plan"
#define V2_RECENT 8

static void
plan_free(v2_plan *p)
{
    if (p != NULL) {
        PyMem_Free(p->entries);
        PyMem_Free(p->rpm_last);
        PyMem_Free(p->reads);
        PyMem_Free(p);
    }
}

static void
plan_capsule_free(PyObject *capsule)
{
    plan_free(PyCapsule_GetPointer(capsule, V2_PLAN_CAPSULE));
}

/* d[key] as a Py_ssize_t stored by this file, or -1 when absent; -2 with
 * an exception */
static Py_ssize_t
index_in(PyObject *d, PyObject *key)
{
    PyObject *v = PyDict_GetItemWithError(d, key);
    if (v == NULL) {
        return PyErr_Occurred() ? -2 : -1;
    }
    return PyLong_AsSsize_t(v); /* (a small int this file stored) */
}

/* d[key] = i: 0 or -1 */
static int
set_index(PyObject *d, PyObject *key, Py_ssize_t i)
{
    PyObject *v = PyLong_FromSsize_t(i);
    int r = v == NULL ? -1 : PyDict_SetItem(d, key, v);
    Py_XDECREF(v);
    return r;
}

/* {head of keys[i]: the last i with that head}, and the heads in order of
 * first appearance into *order (a new list): a new dict or NULL */
static PyObject *
last_index_of_heads(PyObject *keys, PyObject **order)
{
    PyObject *last = PyDict_New();
    *order = PyList_New(0);
    if (last == NULL || *order == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *h = head_of(PyList_GET_ITEM(keys, i));
        int r;
        if (h == NULL) {
            goto error;
        }
        r = PyDict_Contains(last, h);
        if (r == 0) {
            r = PyList_Append(*order, h);
        }
        if (r >= 0) {
            r = set_index(last, h, i);
        }
        Py_DECREF(h);
        if (r < 0) {
            goto error;
        }
    }
    return last;
error:
    Py_XDECREF(last);
    Py_CLEAR(*order);
    return NULL;
}

/* one entry for the item `item` (its value at tidx) */
static int
plan_entry_for(plan_entry *e, PyObject *item, Py_ssize_t tidx, PyObject *deps,
               PyObject *rlast)
{
    e->tidx = tidx;
    e->zero_if_none = 0;
    e->dep = index_in(deps, item);
    e->ridx = e->dep == -2 ? -2 : index_in(rlast, item);
    return e->dep == -2 || e->ridx == -2 ? -1 : 0;
}

/* The plan for these keys and healthy (already checked: keys plain): a new
 * plan, NULL with *plain 0 when healthy is not plain, NULL with an
 * exception on an error */
static v2_plan *
plan_build(PyObject *const *keys, PyObject *healthy, PyObject *tk, PyObject *rk,
           int *plain)
{
    PyObject *tlast = NULL, *torder = NULL, *rlast = NULL, *rorder = NULL,
             *deps = NULL, *filled = NULL;
    v2_plan *p = PyMem_Calloc(1, sizeof(*p));
    Py_ssize_t n = PySequence_Fast_GET_SIZE(healthy), cap, k = 0;
    int r;
    *plain = 1;
    if (p == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    p->n_healthy = n;
    p->n_tkeys = PyList_GET_SIZE(tk);
    p->n_rkeys = PyList_GET_SIZE(rk);
    p->reads = PyMem_Malloc(sizeof *p->reads * (size_t)(n > 0 ? n : 1));
    if (p->reads == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    r = deployment_reads(keys, healthy, n, p->reads);
    if (r <= 0) {
        *plain = r != 0; /* (0: not plain, no exception) */
        goto error;
    }
    tlast = last_index_of_heads(tk, &torder);
    rlast = tlast == NULL ? NULL : last_index_of_heads(rk, &rorder);
    deps = rlast == NULL ? NULL : index_of_ids(p->reads, n);
    filled = deps == NULL ? NULL : PyDict_New();
    if (filled == NULL) {
        goto error;
    }
    cap = PyList_GET_SIZE(torder) + n;
    p->entries = PyMem_Malloc(sizeof *p->entries * (size_t)(cap > 0 ? cap : 1));
    p->n_rpm = PyList_GET_SIZE(rorder);
    p->rpm_last = PyMem_Malloc(sizeof *p->rpm_last * (size_t)(p->n_rpm > 0 ? p->n_rpm : 1));
    if (p->entries == NULL || p->rpm_last == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    /* tpm_dict's items from the keys: each head at its first key, its last
     * key's value (a head has no ":": it is its own item) */
    for (Py_ssize_t u = 0; u < PyList_GET_SIZE(torder); u++, k++) {
        PyObject *h = PyList_GET_ITEM(torder, u);
        Py_ssize_t at = index_in(tlast, h);
        /* (filled: item -> its entry, for the fill below) */
        if (at == -1) {
            PyErr_SetString(PyExc_SystemError, "v2_select(): a head went missing");
        }
        if (at < 0 || plan_entry_for(&p->entries[k], h, at, deps, rlast) < 0 ||
            set_index(filled, h, k) < 0) {
            goto error;
        }
    }
    /* the fill, in healthy order: an id already an item -> a None value
     * there becomes 0; an id not yet an item -> a new item holding 0 */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = p->reads[i].id, *item;
        Py_ssize_t at = index_in(filled, id);
        if (at == -2) {
            goto error;
        }
        if (at >= 0) {
            if (at < PyList_GET_SIZE(torder)) {
                p->entries[at].zero_if_none = 1;
            }
            continue;
        }
        if (set_index(filled, id, k) < 0) {
            goto error;
        }
        item = head_of(id); /* (LiteLLM's item.split(":")[0]) */
        if (item == NULL) {
            goto error;
        }
        r = plan_entry_for(&p->entries[k], item, -1, deps, rlast);
        Py_DECREF(item);
        if (r < 0) {
            goto error;
        }
        k++;
    }
    p->n_entries = k;
    for (Py_ssize_t u = 0; u < p->n_rpm; u++) {
        p->rpm_last[u] = index_in(rlast, PyList_GET_ITEM(rorder, u));
        if (p->rpm_last[u] == -1) {
            PyErr_SetString(PyExc_SystemError, "v2_select(): a head went missing");
        }
        if (p->rpm_last[u] < 0) {
            goto error;
        }
    }
    Py_DECREF(tlast);
    Py_DECREF(torder);
    Py_DECREF(rlast);
    Py_DECREF(rorder);
    Py_DECREF(deps);
    Py_DECREF(filled);
    return p;
error:
    Py_XDECREF(tlast);
    Py_XDECREF(torder);
    Py_XDECREF(rlast);
    Py_XDECREF(rorder);
    Py_XDECREF(deps);
    Py_XDECREF(filled);
    plan_free(p);
    return NULL;
}

/* the potential list through the plan, or None when a value or the token
 * count is not plain: a new reference or NULL */
static PyObject *
plan_run(const v2_plan *p, PyObject *tv, PyObject *rv, PyObject *tokens)
{
    PyObject *potential = NULL, *zero = NULL;
    struct fl_pynum tok, lowest = fl_pynum_float(Py_HUGE_VAL);
    if ((!PyList_CheckExact(tv) && !PyTuple_CheckExact(tv)) ||
        (!PyList_CheckExact(rv) && !PyTuple_CheckExact(rv)) ||
        PySequence_Fast_GET_SIZE(tv) < p->n_tkeys || PySequence_Fast_GET_SIZE(rv) < p->n_rkeys ||
        !PyLong_CheckExact(tokens) || !plain_number(tokens)) {
        Py_RETURN_NONE;
    }
    /* every value either map would hold: a plain number or None */
    for (Py_ssize_t k = 0; k < p->n_entries; k++) {
        if (p->entries[k].tidx >= 0 &&
            !plain_number(PySequence_Fast_GET_ITEM(tv, p->entries[k].tidx))) {
            Py_RETURN_NONE;
        }
    }
    for (Py_ssize_t u = 0; u < p->n_rpm; u++) {
        if (!plain_number(PySequence_Fast_GET_ITEM(rv, p->rpm_last[u]))) {
            Py_RETURN_NONE;
        }
    }
    if (scan_pynum(tokens, &tok) != SCAN_OK) {
        Py_RETURN_NONE; /* (plain_number checked it: an int64 int) */
    }
    zero = PyLong_FromLong(0);
    potential = PyList_New(0);
    if (zero == NULL || potential == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < p->n_entries; k++) {
        const plan_entry *e = &p->entries[k];
        PyObject *v = e->tidx >= 0 ? PySequence_Fast_GET_ITEM(tv, e->tidx) : zero;
        PyObject *used = e->ridx >= 0 ? PySequence_Fast_GET_ITEM(rv, e->ridx) : NULL;
        int r;
        if (v == Py_None && e->zero_if_none) {
            v = zero; /* the fill */
        }
        if (e->dep < 0 || v == Py_None) {
            continue;
        }
        r = consider(&p->reads[e->dep], v, used == Py_None ? NULL : used, &tok, &lowest,
                     potential);
        if (r < 0) {
            goto error;
        }
        if (r == 0) {
            Py_DECREF(zero);
            Py_DECREF(potential);
            Py_RETURN_NONE; /* an int sum outside int64: LiteLLM's steps */
        }
    }
    Py_DECREF(zero);
    return potential;
error:
    Py_XDECREF(zero);
    Py_XDECREF(potential);
    return NULL;
}

/* what a remembered plan must have been built for */
struct plan_for {
    PyObject *healthy, *tk, *rk;
};

/* a record (snapshot, tpm keys, rpm keys, plan capsule) built for these key
 * lists (the same objects) and these candidates (unchanged) */
static int
plan_matches(PyObject *rec, void *ctx)
{
    const struct plan_for *f = ctx;
    return PyTuple_CheckExact(rec) && PyTuple_GET_SIZE(rec) == 4 &&
           PyCapsule_IsValid(PyTuple_GET_ITEM(rec, 3), V2_PLAN_CAPSULE) &&
           fl_seqsnap_same(f->tk, PyTuple_GET_ITEM(rec, 1)) &&
           fl_seqsnap_same(f->rk, PyTuple_GET_ITEM(rec, 2)) &&
           fl_seqsnap_holds(PyTuple_GET_ITEM(rec, 0), f->healthy, 2);
}

/* a remembered plan (borrowed; *keep a new reference to its capsule) for
 * these key lists and candidates, else NULL (an exception only when a
 * lookup raised) */
static v2_plan *
plan_remembered(PyObject *memo, PyObject *healthy, PyObject *tk, PyObject *rk,
                PyObject **keep)
{
    struct plan_for f = {healthy, tk, rk};
    PyObject *rec = memo == NULL ? NULL : fl_recent_find(memo, Py_Ellipsis, plan_matches, &f);
    if (rec == NULL) {
        return NULL;
    }
    *keep = Py_NewRef(PyTuple_GET_ITEM(rec, 3));
    Py_DECREF(rec);
    return PyCapsule_GetPointer(*keep, V2_PLAN_CAPSULE);
}

/* remember the plan for these lists with snap (taken before the plan was
 * built: seqsnap.c) among the last V2_RECENT plans: the capsule owns the
 * plan from then on (*keep a new reference to it).  0, or -1 with an
 * exception (the plan still the caller's when *keep is NULL) */
static int
plan_remember(PyObject *memo, PyObject *snap, PyObject *tk, PyObject *rk, v2_plan *plan,
              PyObject **keep)
{
    PyObject *rec;
    int rc;
    *keep = PyCapsule_New(plan, V2_PLAN_CAPSULE, plan_capsule_free);
    if (*keep == NULL) {
        return -1;
    }
    rec = fl_seqsnap_record(snap, tk, rk, *keep);
    if (rec == NULL) {
        return -1;
    }
    rc = fl_recent_put(memo, Py_Ellipsis, rec, V2_RECENT);
    Py_DECREF(rec);
    return rc;
}

PyObject *
fl_ext_v2_select(PyObject *const *keys, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *healthy, *tk, *tv, *rk, *rv, *tokens, *memo = NULL, *keep = NULL, *res = NULL,
             *snap = NULL;
    v2_plan *plan = NULL;
    int plain;
    if ((nargs != 6 && nargs != 7) ||
        (nargs == 7 && args[6] != Py_None && !PyDict_CheckExact(args[6]))) {
        PyErr_SetString(PyExc_TypeError,
                        "v2_select() expects (healthy, tpm_keys, tpm_values, rpm_keys, "
                        "rpm_values, input_tokens[, memo: dict | None])");
        goto error;
    }
    healthy = args[0];
    tk = args[1];
    tv = args[2];
    rk = args[3];
    rv = args[4];
    tokens = args[5];
    if (nargs == 7 && args[6] != Py_None) {
        memo = args[6];
    }
    if ((!PyList_CheckExact(healthy) && !PyTuple_CheckExact(healthy)) ||
        !keyed_plain(tk, tv) || !keyed_plain(rk, rv)) {
        Py_RETURN_NONE;
    }
    plan = plan_remembered(memo, healthy, tk, rk, &keep);
    if (plan == NULL) {
        if (PyErr_Occurred()) {
            goto error;
        }
        if (memo != NULL) {
            PyObject *sub[2] = {keys[V_MODEL_INFO], keys[V_LITELLM_PARAMS]};
            snap = fl_seqsnap_take(healthy, sub, 2); /* (before: seqsnap.c) */
            if (snap == NULL) {
                goto error;
            }
        }
        plan = plan_build(keys, healthy, tk, rk, &plain);
        if (plan == NULL) {
            if (plain) {
                goto error;
            }
            Py_XDECREF(snap);
            Py_RETURN_NONE;
        }
        if (snap != NULL && snap != Py_None &&
            plan_remember(memo, snap, tk, rk, plan, &keep) < 0) {
            goto error;
        }
    }
    res = plan_run(plan, tv, rv, tokens);
    if (keep == NULL) {
        plan_free(plan);
    }
    Py_XDECREF(keep);
    Py_XDECREF(snap);
    return res;
error:
    if (keep == NULL) {
        plan_free(plan);
    }
    Py_XDECREF(keep);
    Py_XDECREF(snap);
    return NULL;
}

PyObject *
fl_ext_v2_keys_ok(PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "v2_keys_ok() expects (tpm_keys, tpm_values, rpm_keys, rpm_values)");
        return NULL;
    }
    return PyBool_FromLong(keyed_plain(args[0], args[1]) && keyed_plain(args[2], args[3]));
}

PyObject *
fl_ext_dict_values_for(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *d, *keys, *out = NULL;
    Py_ssize_t n;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "dict_values_for() expects (d, keys)");
        goto error;
    }
    d = args[0];
    keys = args[1];
    if (!PyDict_CheckExact(d) || (!PyList_CheckExact(keys) && !PyTuple_CheckExact(keys))) {
        Py_RETURN_NONE;
    }
    n = PySequence_Fast_GET_SIZE(keys);
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!PyUnicode_CheckExact(PySequence_Fast_GET_ITEM(keys, k))) {
            Py_RETURN_NONE;
        }
    }
    out = PyList_New(n);
    if (out == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v;
        if (PySequence_Fast_GET_SIZE(keys) != n) {
            Py_DECREF(out); /* (a colliding key's __eq__ changed the list) */
            Py_RETURN_NONE;
        }
        v = PyDict_GetItemWithError(d, PySequence_Fast_GET_ITEM(keys, k));
        if (v == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            v = Py_None;
        }
        PyList_SET_ITEM(out, k, Py_NewRef(v));
    }
    return out;
error:
    Py_XDECREF(out);
    return NULL;
}

PyObject *
fl_ext_dict_with_changes(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *old, *keys, *now, *before, *d = NULL;
    Py_ssize_t n;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "dict_with_changes() expects (old, keys, values, old_values)");
        goto error;
    }
    old = args[0];
    keys = args[1];
    now = args[2];
    before = args[3];
    if (!PyDict_CheckExact(old) || (!PyList_CheckExact(keys) && !PyTuple_CheckExact(keys)) ||
        (!PyList_CheckExact(now) && !PyTuple_CheckExact(now)) ||
        (!PyList_CheckExact(before) && !PyTuple_CheckExact(before))) {
        Py_RETURN_NONE;
    }
    n = PySequence_Fast_GET_SIZE(keys);
    if (PySequence_Fast_GET_SIZE(now) != n || PySequence_Fast_GET_SIZE(before) != n ||
        PyDict_GET_SIZE(old) != n) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_CheckExact(PySequence_Fast_GET_ITEM(keys, i))) {
            Py_RETURN_NONE;
        }
    }
    d = PyDict_Copy(old);
    if (d == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PySequence_Fast_GET_ITEM(now, i);
        if (v != PySequence_Fast_GET_ITEM(before, i) &&
            PyDict_SetItem(d, PySequence_Fast_GET_ITEM(keys, i), v) < 0) {
            goto error;
        }
    }
    return d;
error:
    Py_XDECREF(d);
    return NULL;
}
