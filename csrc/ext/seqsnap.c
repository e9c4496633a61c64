/* seqsnap.c - a snapshot of a candidate list, to tell in one pass whether
 * a later list holds the same items, unchanged.
 *
 * Routing scans (busyscan.c, usagekeys.c) compute a pure function of a
 * list of deployment dicts: of each item's identity-stable builtin values
 * read from the item and from a few of its sub-dicts ("model_info",
 * "litellm_params").  While a later call gets the same item objects in the
 * same order, and every item dict and every sub-dict it had keeps its
 * version tag (CPython 3.11 to 3.13: fl_ext.h), every value read is the
 * object it was, so the answer is the answer.  Items that are not dicts
 * must be of immutable builtin types whose answer depends on the type
 * alone (the callers check): identity covers them.
 *
 * Take the snapshot BEFORE computing the answer it is kept with: a scan
 * can run Python code (the __eq__ of a non-str key colliding with a name it
 * looks up, as LiteLLM's own .get() would), and a change that code makes
 * then shows as a tag other than the one recorded -- the answer is not
 * reused.  (A snapshot taken after would record the changed tags with an
 * answer computed before the change.)
 *
 * A snapshot is a tuple (items, tags): the items as a tuple (strong
 * references: a dropped deployment stays alive until the snapshot goes)
 * and a bytes object of one entry per item (is-dict flag, its tag, and per
 * sub-dict its tag and its address -- alive while the item's tag holds,
 * since the item holds it): 16 + 16 bytes per sub-dict.  Without version tags no snapshot is taken
 * (None) and none ever holds. */
#include "fl_ext.h"

#include <string.h>

#define SNAP_MAX_SUBS 4

/* one item: whether it is an exact dict and its tag, then per sub-dict its
 * tag and address (NULL: absent or not a dict) */
typedef struct {
    uint64_t is_dict, tag;
} snap_head;
typedef struct {
    uint64_t tag;
    PyObject *d;
} snap_sub;

static size_t
entry_size(int nsub)
{
    return sizeof(snap_head) + (size_t)nsub * sizeof(snap_sub);
}

PyObject *
fl_seqsnap_take(PyObject *seq, PyObject *const *subkeys, int nsub)
{
#if FL_DICT_TAGS
    PyObject *items = NULL, *tags = NULL, *res = NULL;
    Py_ssize_t n;
    size_t size = entry_size(nsub);
    if (nsub < 0 || nsub > SNAP_MAX_SUBS) {
        PyErr_SetString(PyExc_SystemError, "fl_seqsnap_take: too many sub-dicts");
        goto done;
    }
    items = PySequence_Tuple(seq); /* (a tuple: itself) */
    if (items == NULL) {
        goto done;
    }
    n = PyTuple_GET_SIZE(items);
    tags = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)size);
    if (tags == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyTuple_GET_ITEM(items, i);
        char *at = PyBytes_AS_STRING(tags) + (size_t)i * size;
        snap_head h = {0, 0};
        if (PyDict_CheckExact(d)) {
            h.is_dict = 1;
            h.tag = fl_dict_tag(d);
        }
        memcpy(at, &h, sizeof(h));
        for (int k = 0; k < nsub; k++) {
            snap_sub e = {0, NULL};
            if (h.is_dict) {
                PyObject *v = PyDict_GetItemWithError(d, subkeys[k]);
                if (v == NULL && PyErr_Occurred()) {
                    goto done;
                }
                if (v != NULL && PyDict_CheckExact(v)) {
                    e.d = v;
                    e.tag = fl_dict_tag(v);
                }
            }
            memcpy(at + sizeof(h) + (size_t)k * sizeof(e), &e, sizeof(e));
        }
    }
    res = PyTuple_Pack(2, items, tags);
done:
    Py_XDECREF(items);
    Py_XDECREF(tags);
    return res;
#else
    (void)seq;
    (void)subkeys;
    (void)nsub;
    (void)entry_size;
    Py_RETURN_NONE;
#endif
}

int
fl_seqsnap_holds(PyObject *snap, PyObject *seq, int nsub)
{
#if FL_DICT_TAGS
    PyObject *items, *tags;
    Py_ssize_t n;
    size_t size = entry_size(nsub);
    if (nsub < 0 || nsub > SNAP_MAX_SUBS || !PyTuple_CheckExact(snap) ||
        PyTuple_GET_SIZE(snap) != 2 ||
        (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq))) {
        return 0;
    }
    items = PyTuple_GET_ITEM(snap, 0);
    tags = PyTuple_GET_ITEM(snap, 1);
    n = PySequence_Fast_GET_SIZE(seq);
    if (!PyTuple_CheckExact(items) || PyTuple_GET_SIZE(items) != n ||
        !PyBytes_CheckExact(tags) || (size_t)PyBytes_GET_SIZE(tags) != (size_t)n * size) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PySequence_Fast_GET_ITEM(seq, i);
        const char *at = PyBytes_AS_STRING(tags) + (size_t)i * size;
        snap_head h;
        /* the same object first: only then is d known to be a dict */
        if (d != PyTuple_GET_ITEM(items, i)) {
            return 0;
        }
        memcpy(&h, at, sizeof(h));
        if (!h.is_dict) {
            continue;
        }
        if (fl_dict_tag(d) != h.tag) {
            return 0;
        }
        for (int k = 0; k < nsub; k++) {
            snap_sub e;
            memcpy(&e, at + sizeof(h) + (size_t)k * sizeof(e), sizeof(e));
            if (e.d != NULL && fl_dict_tag(e.d) != e.tag) {
                return 0;
            }
        }
    }
    return 1;
#else
    (void)snap;
    (void)seq;
    (void)nsub;
    return 0;
#endif
}

PyObject *
fl_seqsnap_record(PyObject *snap, PyObject *a, PyObject *b, PyObject *extra)
{
    PyObject *ta, *tb = NULL, *rec = NULL;
    ta = PySequence_Tuple(a);
    tb = ta == NULL ? NULL : PySequence_Tuple(b);
    if (tb != NULL) {
        rec = extra == NULL ? PyTuple_Pack(3, snap, ta, tb) : PyTuple_Pack(4, snap, ta, tb, extra);
    }
    Py_XDECREF(ta);
    Py_XDECREF(tb);
    return rec;
}

int
fl_seqsnap_same(PyObject *a, PyObject *b)
{
    Py_ssize_t n;
    if ((!PyList_CheckExact(a) && !PyTuple_CheckExact(a)) ||
        (!PyList_CheckExact(b) && !PyTuple_CheckExact(b))) {
        return 0;
    }
    n = PySequence_Fast_GET_SIZE(a);
    if (PySequence_Fast_GET_SIZE(b) != n) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PySequence_Fast_GET_ITEM(a, i) != PySequence_Fast_GET_ITEM(b, i)) {
            return 0;
        }
    }
    return 1;
}

PyObject *
fl_ext_same_items(PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "same_items() expects (a, b)");
        return NULL;
    }
    return PyBool_FromLong(fl_seqsnap_same(args[0], args[1]));
}

PyObject *
fl_recent_find(PyObject *memo, PyObject *slot, fl_recent_match match, void *ctx)
{
    PyObject *list = PyDict_GetItemWithError(memo, slot);
    if (list == NULL || !PyList_CheckExact(list)) {
        return NULL;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); k++) {
        PyObject *rec = PyList_GET_ITEM(list, k);
        if (!match(rec, ctx)) {
            continue;
        }
        /* to the front: the items shifted, every reference still the list's */
        for (Py_ssize_t j = k; j > 0; j--) {
            PyList_SET_ITEM(list, j, PyList_GET_ITEM(list, j - 1));
        }
        PyList_SET_ITEM(list, 0, rec);
        return Py_NewRef(rec);
    }
    return NULL;
}

int
fl_recent_put(PyObject *memo, PyObject *slot, PyObject *rec, Py_ssize_t cap)
{
    PyObject *list = PyDict_GetItemWithError(memo, slot);
    int rc;
    if (list == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (list != NULL && PyList_CheckExact(list)) {
        Py_INCREF(list);
    } else {
        list = PyList_New(0);
        if (list == NULL || PyDict_SetItem(memo, slot, list) < 0) {
            Py_XDECREF(list);
            return -1;
        }
    }
    rc = PyList_Insert(list, 0, rec);
    if (rc == 0 && PyList_GET_SIZE(list) > cap) {
        rc = PyList_SetSlice(list, cap, PyList_GET_SIZE(list), NULL);
    }
    Py_DECREF(list);
    return rc;
}
