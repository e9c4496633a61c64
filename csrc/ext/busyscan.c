/* busyscan.c - least-busy routing's per-deployment work (LiteLLM 1.108.7,
 * litellm/router_strategy/least_busy.py), in the plain case.
 *
 * busy_keys(model_group, deployments, memo): _request_count_keys(model_group,
 * deployments), i.e. f"{model_group}_request_count:{str(id)}" for every
 * deployment's model_info id after pydantic validated the list as
 * list[{"model_info": {"id": str | int}}] -- when model_group is an exact
 * str, deployments an exact list or tuple, every deployment an exact dict
 * whose "model_info" is an exact dict whose "id" is an exact str (kept as
 * it is by pydantic, lone surrogates included) or an exact int in the
 * int64 range (bools and floats are coerced by pydantic: not plain).  A
 * tuple of str, or None when anything is not plain (LiteLLM's function
 * then answers, and raises where it raises).  Reads dicts through the
 * dict API with str keys: no Python code runs.
 *
 * memo: an exact dict the caller keeps (or None): {model_group: {id: key}}.
 * The key of an id is built once and the same str object (its hash kept)
 * is handed out again, so a pick neither formats 1,000 keys nor hashes
 * them afresh in the cache read.  A key is a function of the group's and
 * the id's values, and dict lookup matches exact strs by value and exact
 * ints by value (the only id types accepted), so a remembered key is the
 * key LiteLLM would format.  Bounded: a group's map is cleared past
 * BUSY_MEMO_IDS entries, the whole memo past BUSY_MEMO_GROUPS groups.
 *
 * The last answer (CPython 3.11 to 3.13, dict version tags): a group's map
 * also keeps, under the key None (never an id), the tuple of keys it last
 * returned with a snapshot of the deployments it read (seqsnap.c: the
 * items and the tags of each deployment and its model_info).  When the
 * next call gets the same deployments, unchanged, every id is the object
 * it was, so the keys are those keys: the same tuple is returned without a
 * lookup per deployment.  Memory: the snapshot, about 80 bytes per
 * deployment per group.
 *
 * least_index(raw, n): the index _least_busy picks from the counts
 * _local_counts(raw, keys) gives for n keys -- the first index of the
 * smallest count -- when raw is an exact list of n items, each None
 * (count 0), an exact int of magnitude <= 2**53 (pydantic's float of it is
 * exact; int() of that is the int) or an exact finite float of magnitude
 * < 2**63 (int() truncates toward zero, as the C cast does); n >= 1.  None
 * otherwise (then LiteLLM's helpers answer). */
#include "fl_scan.h"

#include <math.h>
#include <stdint.h>

enum { B_MODEL_INFO, B_ID, B_COUNT };
static const char *const key_text[B_COUNT] = {"model_info", "id"};

enum { BUSY_MEMO_IDS = 65536, BUSY_MEMO_GROUPS = 1024 };

_Static_assert(B_COUNT == FL_EXT_BUSY_KEYS, "fl_ext.h: FL_EXT_BUSY_KEYS");

int
fl_ext_busy_keys_names(PyObject **keys)
{
    return fl_ext_intern_keys(key_text, B_COUNT, keys);
}

/* the deployment's id (borrowed) when it is an exact str or an exact int
 * in the int64 range; NULL with no exception when the deployment is not
 * plain, NULL with an exception on an error */
static PyObject *
plain_id(PyObject *const *keys, PyObject *d)
{
    PyObject *id;
    long long v;
    int overflow = 0;
    if (scan_model_info_id(d, keys[B_MODEL_INFO], keys[B_ID], &id) != SCAN_OK) {
        return NULL; /* (an exception, if any, is set) */
    }
    if (PyUnicode_CheckExact(id)) {
        return id;
    }
    if (!PyLong_CheckExact(id)) {
        return NULL;
    }
    v = PyLong_AsLongLongAndOverflow(id, &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return NULL;
    }
    return id;
}

/* prefix + str(id) for a plain id (a new reference, NULL on an error) */
static PyObject *
key_of(PyObject *prefix, PyObject *id)
{
    PyObject *key, *text;
    long long v;
    if (PyUnicode_CheckExact(id)) {
        return PyUnicode_Concat(prefix, id);
    }
    v = PyLong_AsLongLong(id); /* in range: plain_id checked it */
    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    text = PyUnicode_FromFormat("%lld", v);
    if (text == NULL) {
        return NULL;
    }
    key = PyUnicode_Concat(prefix, text);
    Py_DECREF(text);
    return key;
}

/* the group's id -> key map in memo (borrowed; created, and the memo
 * cleared when full, as needed); NULL with an exception on an error */
static PyObject *
group_map(PyObject *memo, PyObject *group)
{
    PyObject *map = PyDict_GetItemWithError(memo, group);
    if (map != NULL || PyErr_Occurred()) {
        return map;
    }
    if (PyDict_GET_SIZE(memo) >= BUSY_MEMO_GROUPS) {
        PyDict_Clear(memo);
    }
    map = PyDict_New();
    if (map == NULL) {
        return NULL;
    }
    if (PyDict_SetItem(memo, group, map) < 0) {
        Py_DECREF(map);
        return NULL;
    }
    Py_DECREF(map); /* the memo holds it */
    return map;
}

/* the key of id through map (or built when map is NULL): a new reference,
 * NULL on an error */
static PyObject *
remembered_key(PyObject *map, PyObject *prefix, PyObject *id)
{
    PyObject *key;
    if (map == NULL) {
        return key_of(prefix, id);
    }
    key = PyDict_GetItemWithError(map, id);
    if (key != NULL) {
        return Py_NewRef(key);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    key = key_of(prefix, id);
    if (key == NULL) {
        return NULL;
    }
    if (PyDict_GET_SIZE(map) >= BUSY_MEMO_IDS) {
        PyDict_Clear(map);
    }
    if (PyDict_SetItem(map, id, key) < 0) {
        Py_DECREF(key);
        return NULL;
    }
    return key;
}

/* the keys tuple of the group's last answer (borrowed) when seq holds the
 * same deployments, unchanged (seqsnap.c); NULL otherwise (an exception
 * only when the map lookup raised) */
static PyObject *
last_keys(PyObject *map, PyObject *seq)
{
    PyObject *rec;
    if (map == NULL) {
        return NULL;
    }
    rec = PyDict_GetItemWithError(map, Py_None);
    if (rec == NULL || !PyTuple_CheckExact(rec) || PyTuple_GET_SIZE(rec) != 2 ||
        !fl_seqsnap_holds(PyTuple_GET_ITEM(rec, 1), seq, 1)) {
        return NULL;
    }
    return PyTuple_GET_ITEM(rec, 0);
}

/* remember `res` as the group's last answer with snap (taken before it was
 * computed: seqsnap.c): 0, or -1 with an exception */
static int
save_last(PyObject *map, PyObject *snap, PyObject *res)
{
    int rc;
    PyObject *rec = PyTuple_Pack(2, res, snap);
    if (rec == NULL) {
        return -1;
    }
    rc = PyDict_SetItem(map, Py_None, rec);
    Py_DECREF(rec);
    return rc;
}

PyObject *
fl_ext_busy_keys(PyObject *const *keys, PyObject *const *args,
                 Py_ssize_t nargs)
{
    PyObject *res = NULL, *prefix = NULL, *map = NULL, *snap = NULL;
    PyObject *group, *seq, *memo;
    Py_ssize_t n;
    if (nargs != 3 || (args[2] != Py_None && !PyDict_CheckExact(args[2]))) {
        PyErr_SetString(PyExc_TypeError,
                        "busy_keys() expects (model_group, deployments, "
                        "dict | None)");
        goto error;
    }
    group = args[0];
    seq = args[1];
    memo = args[2];
    if (!PyUnicode_CheckExact(group) ||
        (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq))) {
        Py_RETURN_NONE;
    }
    prefix = PyUnicode_FromFormat("%U_request_count:", group);
    if (prefix == NULL) {
        goto error;
    }
    /* (held: a colliding key's __eq__, the only code that can run below,
     * could clear the memo) */
    if (memo != Py_None) {
        map = group_map(memo, group);
        if (map == NULL) {
            goto error;
        }
        Py_INCREF(map);
    }
    res = last_keys(map, seq);
    if (res != NULL) {
        Py_DECREF(prefix);
        Py_XDECREF(map);
        return Py_NewRef(res);
    }
    if (PyErr_Occurred()) {
        goto error;
    }
    if (map != NULL) {
        snap = fl_seqsnap_take(seq, keys + B_MODEL_INFO, 1); /* (before: seqsnap.c) */
        if (snap == NULL) {
            goto error;
        }
    }
    n = PySequence_Fast_GET_SIZE(seq);
    res = PyTuple_New(n);
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key, *id;
        if (PySequence_Fast_GET_SIZE(seq) != n) {
            goto not_plain; /* (code a colliding key's __eq__ ran changed the list) */
        }
        id = plain_id(keys, PySequence_Fast_GET_ITEM(seq, i));
        if (id == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            goto not_plain;
        }
        key = remembered_key(map, prefix, id);
        if (key == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(res, i, key);
    }
    if (snap != NULL && snap != Py_None && save_last(map, snap, res) < 0) {
        goto error;
    }
    Py_XDECREF(snap);
    Py_XDECREF(map);
    Py_DECREF(prefix);
    return res;
not_plain:
    Py_XDECREF(snap);
    Py_XDECREF(map);
    Py_DECREF(prefix);
    Py_DECREF(res);
    Py_RETURN_NONE;
error:
    Py_XDECREF(snap);
    Py_XDECREF(map);
    Py_XDECREF(prefix);
    Py_XDECREF(res);
    return NULL;
}

/* the count of one raw value: 1 with *c set, 0 not plain */
static int
count_of(PyObject *v, long long *c)
{
    const long long exact = 1LL << 53;
    if (v == Py_None) {
        *c = 0;
        return 1;
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow != 0 || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
        if (x > exact || x < -exact) {
            return 0;
        }
        *c = x;
        return 1;
    }
    if (PyFloat_CheckExact(v)) {
        double f = PyFloat_AS_DOUBLE(v);
        if (!isfinite(f) || fabs(f) >= 9223372036854775808.0) {
            return 0;
        }
        *c = (long long)f;
        return 1;
    }
    return 0;
}

PyObject *
fl_ext_least_index(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *raw, *res = NULL;
    struct fl_pynum *counts = NULL;
    Py_ssize_t n;
    size_t best = 0;
    if (nargs != 2 || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "least_index() expects (raw, int)");
        return NULL;
    }
    raw = args[0];
    n = PyLong_AsSsize_t(args[1]);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!PyList_CheckExact(raw) || n < 1 || PyList_GET_SIZE(raw) != n ||
        (size_t)n > FL_SELECT_MAX) {
        Py_RETURN_NONE;
    }
    counts = PyMem_New(struct fl_pynum, (size_t)n);
    if (counts == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long long c;
        if (!count_of(PyList_GET_ITEM(raw, i), &c)) {
            res = Py_NewRef(Py_None);
            goto done;
        }
        counts[i] = fl_pynum_int((int64_t)c);
    }
    /* the first index of the smallest count (csrc/core/fl_select.c) */
    if (fl_select_first_min(counts, (size_t)n, &best) != FL_OK) {
        res = Py_NewRef(Py_None); /* (not reached: ints are never NaN) */
        goto done;
    }
    res = PyLong_FromSize_t(best);
done:
    PyMem_Free(counts);
    return res;
}
