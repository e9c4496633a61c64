/* dictkind.c - whether a lookup in a dict can run Python code.
 *
 * The selector scans read LiteLLM's dicts through borrowed references:
 * a value found in one dict is read after lookups in others.  A lookup
 * with an exact str key runs Python code only when the dict holds a key
 * that is not an exact str (its __eq__ runs on a hash collision), and
 * that code could change or free what the scan holds.  So every dict a
 * scan reads must hold exact str keys only (fl_dict_str_keyed); a dict
 * that does not is "not plain" and LiteLLM's Python code answers.
 *
 * fl_dict_str_keyed is O(1) for the dicts a proxy has: CPython 3.11-3.13
 * keep a "kind" in the keys object of every dict, and a dict of kind
 * UNICODE (or SPLIT) holds exact strs only -- inserting any other key
 * turns it GENERAL first (Objects/dictobject.c, insertdict).  The kind is
 * an internal field: it is read through the first fields of the keys
 * object as those versions lay them out (dk_refcnt, dk_log2_size,
 * dk_log2_index_bytes, dk_kind), and only after a check at import, on
 * dicts made for it, that the layout reads as expected; otherwise, and
 * for GENERAL dicts (which may still hold strs only), every key is
 * checked (fl_all_str_keys, O(size)).  tests/depmemo_tags.py runs the
 * check on 3.11 (the suite) and on 3.12 and 3.13 (make memo-versions). */
#include "fl_ext.h"

#if FL_DICT_TAGS
struct keys_prefix {
    Py_ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind; /* 0 GENERAL, 1 UNICODE, 2 SPLIT */
};

static uint8_t
kind_of(PyObject *d)
{
    return ((const struct keys_prefix *)(const void *)((PyDictObject *)d)->ma_keys)->dk_kind;
}

static uint8_t
log2_size_of(PyObject *d)
{
    return ((const struct keys_prefix *)(const void *)((PyDictObject *)d)->ma_keys)->dk_log2_size;
}
#endif

/* 1 once fl_dict_kind_check found the layout as expected (a fact about
 * the running interpreter: the same for every module instance) */
static int layout_ok;

int
fl_dict_kind_check(void)
{
#if FL_DICT_TAGS
    PyObject *s = NULL, *g = NULL, *key = NULL, *one = NULL;
    int ok = 0;
    s = PyDict_New();
    g = PyDict_New();
    key = PyUnicode_FromString("fast_litellm");
    one = PyLong_FromLong(1);
    if (s == NULL || g == NULL || key == NULL || one == NULL ||
        PyDict_SetItem(s, key, one) < 0 || PyDict_SetItem(g, one, one) < 0) {
        goto error;
    }
    /* a fresh one-entry table has 8 slots (log2 3) in 3.11-3.13 */
    ok = kind_of(s) == 1 && kind_of(g) == 0 && log2_size_of(s) == 3 && log2_size_of(g) == 3;
    if (ok && PyDict_SetItem(s, one, one) < 0) { /* a non-str key: GENERAL now */
        goto error;
    }
    layout_ok = ok && kind_of(s) == 0;
    Py_DECREF(s);
    Py_DECREF(g);
    Py_DECREF(key);
    Py_DECREF(one);
    return 0;
error:
    Py_XDECREF(s);
    Py_XDECREF(g);
    Py_XDECREF(key);
    Py_XDECREF(one);
    return -1;
#else
    layout_ok = 0;
    return 0;
#endif
}

int
fl_dict_kind_fast(void)
{
    return layout_ok;
}

int
fl_dict_str_keyed(PyObject *d)
{
#if FL_DICT_TAGS
    if (layout_ok && kind_of(d) != 0) {
        return 1;
    }
#endif
    return fl_all_str_keys(d);
}
