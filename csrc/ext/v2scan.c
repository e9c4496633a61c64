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
 * v2_potential(healthy, tpm_dict, rpm_dict, input_tokens): the rest of the
 * selection before the random draw -- LiteLLM's loop that gives every
 * healthy id missing from tpm_dict (or None there) a 0, then
 * _return_potential_deployments(healthy, tpm_dict, input_tokens, rpm_dict):
 * the candidates whose usage is lowest among those under their tpm and rpm
 * limits, in LiteLLM's order.  Plain case, checked before anything is
 * written: healthy an exact list or tuple of exact dicts with an exact dict
 * "model_info" holding an exact str "id"; "litellm_params" absent or an
 * exact dict; every "tpm" and "rpm" limit read (deployment, litellm_params,
 * model_info, in LiteLLM's order) None or an exact int in the int64 range
 * or an exact float; every usage value in tpm_dict and rpm_dict None, an
 * exact int in the int64 range or an exact float; every tpm_dict key an
 * exact str; input_tokens an exact int in the int64 range.  Then the
 * arithmetic and comparisons are Python's own (PyNumber_Add,
 * PyObject_RichCompareBool on those types: no code runs, no overflow) and
 * the answer is the list LiteLLM builds.  None when not plain (nothing
 * written then).  memo (optional fifth argument): the per-deployment
 * reads of the last list, reused while it is unchanged ("the memo" below).
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
            if (!PyDict_CheckExact(lp)) {
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
 * code runs during v2_potential, so nothing read can go away) */
typedef struct {
    PyObject *d, *id;
    PyObject *tpm_lim, *rpm_lim; /* NULL: none (float("inf")) */
} v2_read;

/* each deployment's id and limits into reads[0..n), and the plain checks
 * of the docstring on them: 1, 0, -1 */
static int
deployment_reads(PyObject *const *keys, PyObject *healthy, v2_read *reads)
{
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(healthy); i++) {
        PyObject *d = PySequence_Fast_GET_ITEM(healthy, i);
        int r;
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

/* the usage maps' plain checks: 1 or 0 */
static int
usage_plain(PyObject *tpm_dict, PyObject *rpm_dict)
{
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(tpm_dict, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k) || !plain_number(v)) {
            return 0;
        }
    }
    pos = 0;
    while (PyDict_Next(rpm_dict, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k) || !plain_number(v)) {
            return 0;
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

/* -- the memo of a candidate list's reads ---------------------------------
 *
 * memo (optional fifth argument, an exact dict the caller keeps): under the
 * key None, (snapshot, capsule of the reads, the id index) of the last
 * list read.  The reads are borrowed pointers into the deployments; while
 * seqsnap.c's snapshot of the list holds (the same deployments with their
 * dicts, model_info and litellm_params unchanged), they are the objects a
 * new read would find, so the reads and the index are reused. */
#define V2_READS_CAPSULE "fast_litellm.v2_reads"

static void
reads_capsule_free(PyObject *capsule)
{
    PyMem_Free(PyCapsule_GetPointer(capsule, V2_READS_CAPSULE));
}

/* the remembered reads and new references to their index and to their
 * capsule (kept by the caller while it reads them) when healthy is the
 * remembered list unchanged: 1; 0 when not remembered */
static int
memo_reads(PyObject *memo, PyObject *healthy, v2_read **reads, PyObject **lookup,
           PyObject **keep)
{
    PyObject *rec = memo == NULL ? NULL : PyDict_GetItemWithError(memo, Py_None);
    if (rec == NULL || !PyTuple_CheckExact(rec) || PyTuple_GET_SIZE(rec) != 3 ||
        !PyCapsule_IsValid(PyTuple_GET_ITEM(rec, 1), V2_READS_CAPSULE) ||
        !PyDict_CheckExact(PyTuple_GET_ITEM(rec, 2)) ||
        !fl_seqsnap_holds(PyTuple_GET_ITEM(rec, 0), healthy, 2)) {
        return 0;
    }
    *reads = PyCapsule_GetPointer(PyTuple_GET_ITEM(rec, 1), V2_READS_CAPSULE);
    *lookup = Py_NewRef(PyTuple_GET_ITEM(rec, 2));
    *keep = Py_NewRef(PyTuple_GET_ITEM(rec, 1));
    return 1;
}

/* remember reads and the index for healthy: 0, or -1 with an exception.
 * Once in a capsule the reads are the capsule's (*reads set to NULL; *keep
 * a new reference to it, for the caller to read them). */
static int
memo_save(PyObject *const *keys, PyObject *memo, PyObject *healthy, v2_read **reads,
          PyObject *lookup, PyObject **keep)
{
    PyObject *sub[2] = {keys[V_MODEL_INFO], keys[V_LITELLM_PARAMS]};
    PyObject *snap, *cap = NULL, *rec = NULL;
    int rc = -1;
    snap = fl_seqsnap_take(healthy, sub, 2);
    if (snap == NULL) {
        return -1;
    }
    if (snap == Py_None) {
        Py_DECREF(snap);
        return 0;
    }
    cap = PyCapsule_New(*reads, V2_READS_CAPSULE, reads_capsule_free);
    if (cap == NULL) {
        goto done;
    }
    *reads = NULL; /* the capsule's now */
    *keep = Py_NewRef(cap);
    rec = PyTuple_Pack(3, snap, cap, lookup);
    if (rec != NULL) {
        rc = PyDict_SetItem(memo, Py_None, rec);
    }
done:
    Py_DECREF(snap);
    Py_XDECREF(cap);
    Py_XDECREF(rec);
    return rc;
}

/* The body of _return_potential_deployments' loop for an item whose
 * deployment (rd) was found and whose usage item_tpm is not None: skipped
 * when `item_tpm + tokens > tpm limit` or `used + 1 >= rpm limit` (used:
 * rpm_dict's value for the item, NULL when absent or None); else appended
 * when equal to the lowest so far, or the new lowest (Python's arithmetic
 * and comparisons on plain numbers).  0, or -1 with an exception. */
static int
consider(const v2_read *rd, PyObject *item_tpm, PyObject *used, PyObject *tokens,
         PyObject *one, PyObject *inf, PyObject **lowest, PyObject *potential)
{
    int over, r;
    over = scan_over(item_tpm, tokens, rd->tpm_lim != NULL ? rd->tpm_lim : inf);
    if (over == 0 && used != NULL) {
        PyObject *next = PyNumber_Add(used, one);
        if (next == NULL) {
            return -1;
        }
        over = PyObject_RichCompareBool(next, rd->rpm_lim != NULL ? rd->rpm_lim : inf, Py_GE);
        Py_DECREF(next);
    }
    if (over != 0) {
        return over < 0 ? -1 : 0;
    }
    r = PyObject_RichCompareBool(item_tpm, *lowest, Py_EQ);
    if (r != 0) {
        return r < 0 ? -1 : PyList_Append(potential, rd->d);
    }
    r = PyObject_RichCompareBool(item_tpm, *lowest, Py_LT);
    if (r <= 0) {
        return r;
    }
    Py_SETREF(*lowest, Py_NewRef(item_tpm));
    if (PyList_SetSlice(potential, 0, PyList_GET_SIZE(potential), NULL) < 0) {
        return -1;
    }
    return PyList_Append(potential, rd->d);
}

PyObject *
fl_ext_v2_potential(PyObject *const *keys, PyObject *const *args,
                    Py_ssize_t nargs)
{
    PyObject *healthy, *tpm_dict, *rpm_dict, *tokens, *memo = NULL;
    PyObject *lookup = NULL, *potential = NULL, *inf = NULL, *one = NULL,
             *lowest = NULL;
    PyObject *keep = NULL; /* the capsule holding reads, when a memo's */
    v2_read *reads = NULL, *owned = NULL; /* owned: allocated here */
    Py_ssize_t n;
    int r;
    if ((nargs != 4 && nargs != 5) ||
        (nargs == 5 && args[4] != Py_None && !PyDict_CheckExact(args[4]))) {
        PyErr_SetString(PyExc_TypeError,
                        "v2_potential() expects (healthy, tpm_dict, rpm_dict, "
                        "input_tokens[, memo: dict | None])");
        goto error;
    }
    healthy = args[0];
    tpm_dict = args[1];
    rpm_dict = args[2];
    tokens = args[3];
    if (nargs == 5 && args[4] != Py_None) {
        memo = args[4];
    }
    if ((!PyList_CheckExact(healthy) && !PyTuple_CheckExact(healthy)) ||
        !PyDict_CheckExact(tpm_dict) || !PyDict_CheckExact(rpm_dict) ||
        !PyLong_CheckExact(tokens) || !plain_number(tokens)) {
        Py_RETURN_NONE;
    }
    n = PySequence_Fast_GET_SIZE(healthy);
    if (!memo_reads(memo, healthy, &reads, &lookup, &keep)) {
        if (PyErr_Occurred()) {
            goto error;
        }
        owned = reads = PyMem_Malloc(sizeof *reads * (size_t)(n > 0 ? n : 1));
        if (reads == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        r = deployment_reads(keys, healthy, reads);
        if (r < 0) {
            goto error;
        }
        if (r == 0) {
            PyMem_Free(owned);
            Py_RETURN_NONE;
        }
        lookup = index_of_ids(reads, n);
        if (lookup == NULL) {
            goto error;
        }
    }
    if (!usage_plain(tpm_dict, rpm_dict)) {
        PyMem_Free(owned);
        Py_XDECREF(keep);
        Py_DECREF(lookup);
        Py_RETURN_NONE;
    }
    /* the fill: healthy ids missing from tpm_dict, or None there, get 0 */
    one = PyLong_FromLong(1);
    inf = PyFloat_FromDouble(Py_HUGE_VAL);
    potential = PyList_New(0);
    if (one == NULL || inf == NULL || potential == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = reads[i].id, *cur, *zero;
        cur = PyDict_GetItemWithError(tpm_dict, id);
        if (cur == NULL && PyErr_Occurred()) {
            goto error;
        }
        if (cur == NULL || cur == Py_None) {
            zero = PyLong_FromLong(0);
            if (zero == NULL || PyDict_SetItem(tpm_dict, id, zero) < 0) {
                Py_XDECREF(zero);
                goto error;
            }
            Py_DECREF(zero);
        }
    }
    if (owned != NULL && memo != NULL &&
        memo_save(keys, memo, healthy, &owned, lookup, &keep) < 0) {
        goto error;
    }
    /* `for item, item_tpm in all_deployments.items()`: no Python code runs in
     * the loop (exact dicts, strs and numbers) and nothing writes tpm_dict,
     * so PyDict_Next walks it as the view's iterator would, without a pair
     * tuple per item */
    lowest = Py_NewRef(inf);
    for (Py_ssize_t pos = 0, more = 1; more;) {
        PyObject *key, *item_tpm, *item, *at, *used;
        Py_ssize_t k;
        more = PyDict_Next(tpm_dict, &pos, &key, &item_tpm);
        if (!more) {
            break;
        }
        item = head_of(key);
        if (item == NULL) {
            goto error;
        }
        at = PyDict_GetItemWithError(lookup, item);
        if (at == NULL || item_tpm == Py_None) {
            Py_DECREF(item);
            if (PyErr_Occurred()) {
                goto error;
            }
            continue;
        }
        k = PyLong_AsSsize_t(at); /* an index this function stored */
        if (k < 0 || k >= n) {
            Py_DECREF(item);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_SystemError, "v2_potential(): a bad index");
            }
            goto error;
        }
        used = PyDict_GetItemWithError(rpm_dict, item);
        Py_DECREF(item);
        if (used == NULL && PyErr_Occurred()) {
            goto error;
        }
        if (consider(&reads[k], item_tpm, used == Py_None ? NULL : used, tokens, one, inf,
                     &lowest, potential) < 0) {
            goto error;
        }
    }
    PyMem_Free(owned);
    Py_XDECREF(keep);
    Py_DECREF(lowest);
    Py_DECREF(lookup);
    Py_DECREF(inf);
    Py_DECREF(one);
    return potential;
error:
    PyMem_Free(owned);
    Py_XDECREF(keep);
    Py_XDECREF(lowest);
    Py_XDECREF(lookup);
    Py_XDECREF(potential);
    Py_XDECREF(inf);
    Py_XDECREF(one);
    return NULL;
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
        PyObject *v = PyDict_GetItemWithError(d, PySequence_Fast_GET_ITEM(keys, k));
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
