/* busyscan.c - least-busy routing's per-deployment work (LiteLLM 1.108.7,
 * litellm/router_strategy/least_busy.py), in the plain case.
 *
 * busy_keys(model_group, deployments): _request_count_keys(model_group,
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

_Static_assert(B_COUNT == FL_EXT_BUSY_KEYS, "fl_ext.h: FL_EXT_BUSY_KEYS");

int
fl_ext_busy_keys_names(PyObject **keys)
{
    return fl_ext_intern_keys(key_text, B_COUNT, keys);
}

/* the id's text (a new reference), NULL with no exception when the
 * deployment is not plain, NULL with an exception on an error */
static PyObject *
id_text(PyObject *const *keys, PyObject *d)
{
    PyObject *id;
    long long v;
    int overflow = 0;
    if (scan_model_info_id(d, keys[B_MODEL_INFO], keys[B_ID], &id) != SCAN_OK) {
        return NULL; /* (an exception, if any, is set) */
    }
    if (PyUnicode_CheckExact(id)) {
        return Py_NewRef(id);
    }
    if (!PyLong_CheckExact(id)) {
        return NULL;
    }
    v = PyLong_AsLongLongAndOverflow(id, &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return NULL;
    }
    return PyUnicode_FromFormat("%lld", v);
}

PyObject *
fl_ext_busy_keys(PyObject *const *keys, PyObject *const *args,
                 Py_ssize_t nargs)
{
    PyObject *res = NULL, *prefix = NULL;
    PyObject *group, *seq;
    Py_ssize_t n;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError,
                        "busy_keys() expects (model_group, deployments)");
        goto error;
    }
    group = args[0];
    seq = args[1];
    if (!PyUnicode_CheckExact(group) ||
        (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq))) {
        Py_RETURN_NONE;
    }
    prefix = PyUnicode_FromFormat("%U_request_count:", group);
    if (prefix == NULL) {
        goto error;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    res = PyTuple_New(n);
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key, *text = id_text(keys, PySequence_Fast_GET_ITEM(seq, i));
        if (text == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            Py_DECREF(prefix);
            Py_DECREF(res);
            Py_RETURN_NONE;
        }
        key = PyUnicode_Concat(prefix, text);
        Py_DECREF(text);
        if (key == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(res, i, key);
    }
    Py_DECREF(prefix);
    return res;
error:
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
    PyObject *raw;
    Py_ssize_t n, best = 0;
    long long best_count = 0;
    if (nargs != 2 || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "least_index() expects (raw, int)");
        return NULL;
    }
    raw = args[0];
    n = PyLong_AsSsize_t(args[1]);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!PyList_CheckExact(raw) || n < 1 || PyList_GET_SIZE(raw) != n) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long long c;
        if (!count_of(PyList_GET_ITEM(raw, i), &c)) {
            Py_RETURN_NONE;
        }
        if (i == 0 || c < best_count) {
            best = i;
            best_count = c;
        }
    }
    return PyLong_FromSsize_t(best);
}
