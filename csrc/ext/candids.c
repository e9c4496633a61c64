/* candids.c - candidate_ids(): the id pass the latency-, cost- and
 * usage-based (v1) selectors make over their candidates before their
 * loops (litellm 1.108.7), for the plain case.
 *
 * candidate_ids(healthy, cached) takes the candidate list and the
 * strategy's cached map (id -> entry) and returns (index, missing):
 *
 *   index   = {d["model_info"]["id"]: d for d in healthy}  (the last wins:
 *             the candidate LiteLLM's no-break scan finds for an id)
 *   missing = the ids not in cached, each once, in healthy's order -- the
 *             ones LiteLLM's pass fills (`if id not in cached: cached[id]
 *             = ...`), which the caller then fills in that order
 *
 * when healthy is an exact list or tuple of exact dicts with exact str
 * keys, each with a "model_info" of the same kind holding an exact str
 * "id", and cached an exact dict with exact str keys (so no lookup runs
 * Python code: dictkind.c).  None otherwise (the caller's Python pass
 * answers, and raises where LiteLLM raises).  Nothing is written. */
#include "fl_scan.h"

enum { I_MODEL_INFO, I_ID, I_COUNT };
static const char *const ids_text[I_COUNT] = {"model_info", "id"};

_Static_assert(I_COUNT == FL_EXT_IDS_KEYS, "fl_ext.h: FL_EXT_IDS_KEYS");

int
fl_ext_ids_keys(PyObject **keys)
{
    return fl_ext_intern_keys(ids_text, I_COUNT, keys);
}

PyObject *
fl_ext_candidate_ids(PyObject *const *keys, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *healthy, *cached, *index = NULL, *missing = NULL, *seen = NULL, *res = NULL;
    Py_ssize_t n;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "candidate_ids() expects (healthy, cached)");
        return NULL;
    }
    healthy = args[0];
    cached = args[1];
    if ((!PyList_CheckExact(healthy) && !PyTuple_CheckExact(healthy)) || !scan_dict(cached)) {
        Py_RETURN_NONE;
    }
    n = PySequence_Fast_GET_SIZE(healthy);
    index = PyDict_New();
    missing = PyList_New(0);
    seen = PySet_New(NULL);
    if (index == NULL || missing == NULL || seen == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *d = PySequence_Fast_GET_ITEM(healthy, k), *id, *there;
        int r = scan_model_info_id(d, keys[I_MODEL_INFO], keys[I_ID], &id);
        if (r == SCAN_ERR) {
            goto error;
        }
        if (r != SCAN_OK || !PyUnicode_CheckExact(id)) {
            res = Py_NewRef(Py_None);
            goto done;
        }
        if (PyDict_SetItem(index, id, d) < 0) {
            goto error;
        }
        if (scan_lookup(cached, id, &there) < 0) {
            goto error;
        }
        if (there == NULL) {
            int dup = PySet_Contains(seen, id);
            if (dup < 0) {
                goto error;
            }
            if (!dup && (PySet_Add(seen, id) < 0 || PyList_Append(missing, id) < 0)) {
                goto error;
            }
        }
    }
    res = PyTuple_Pack(2, index, missing);
done:
    Py_DECREF(index);
    Py_DECREF(missing);
    Py_DECREF(seen);
    return res;
error:
    Py_XDECREF(index);
    Py_XDECREF(missing);
    Py_XDECREF(seen);
    return NULL;
}
