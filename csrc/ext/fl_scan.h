/* fl_scan.h - what the selector loops (latscan.c, costscan.c, busyscan.c,
 * v2scan.c) share: reading a Router
 * deployment or a strategy's cached entry the way LiteLLM's selector loops
 * do, on exact builtin types only, without running Python code.
 *
 * Every helper returns SCAN_OK, SCAN_NO (not the plain case: the caller
 * gives up and LiteLLM's loop answers) or SCAN_ERR (an exception is set). */
#ifndef FL_SCAN_H
#define FL_SCAN_H

#include "fl_ext.h"
#include "fl_pynum.h"
#include "fl_select.h"

enum { SCAN_ERR = -1, SCAN_NO = 0, SCAN_OK = 1 };

/* an exact dict whose every key is an exact str: a lookup in it with an
 * exact str key runs no Python code (dictkind.c), so nothing a scan holds
 * borrowed can change under it.  Every dict a scan reads must pass. */
static inline int
scan_dict(PyObject *d)
{
    return fl_ext_plain_dict(d);
}

/* an exact int or an exact float (bool excluded) */
static inline int
scan_is_number(PyObject *v)
{
    return PyLong_CheckExact(v) || PyFloat_CheckExact(v);
}

/* d.get(key) for an exact dict d: *out borrowed, or NULL when absent. */
static inline int
scan_lookup(PyObject *d, PyObject *key, PyObject **out)
{
    *out = PyDict_GetItemWithError(d, key);
    return *out == NULL && PyErr_Occurred() ? SCAN_ERR : SCAN_OK;
}

/* d.get(name, {}) read as a dict: *out the dict (scan_dict), or NULL when
 * absent (LiteLLM's {}).  SCAN_NO when present but not such a dict
 * (LiteLLM's .get on it may raise or run code). */
static inline int
scan_subdict(PyObject *d, PyObject *name, PyObject **out)
{
    if (scan_lookup(d, name, out) < 0) {
        return SCAN_ERR;
    }
    return *out != NULL && !scan_dict(*out) ? SCAN_NO : SCAN_OK;
}

/* d["model_info"]["id"] for an exact dict d whose model_info is an exact
 * dict holding an id: *id borrowed; SCAN_NO for anything else. */
static inline int
scan_model_info_id(PyObject *d, PyObject *mi_key, PyObject *id_key,
                   PyObject **id)
{
    PyObject *mi;
    *id = NULL;
    if (!scan_dict(d)) {
        return SCAN_NO;
    }
    if (scan_lookup(d, mi_key, &mi) < 0) {
        return SCAN_ERR;
    }
    if (mi == NULL || !scan_dict(mi)) {
        return SCAN_NO;
    }
    if (scan_lookup(mi, id_key, id) < 0) {
        return SCAN_ERR;
    }
    return *id == NULL ? SCAN_NO : SCAN_OK;
}

/* sub.get(key) when sub may be NULL (LiteLLM's `{}`): *v borrowed, or
 * NULL for absent or None; *truthy whether it is true.  SCAN_NO for a value
 * that is not None or an exact number. */
static inline int
scan_number_at(PyObject *sub, PyObject *key, PyObject **v, int *truthy)
{
    *v = NULL;
    *truthy = 0;
    if (sub == NULL) {
        return SCAN_OK;
    }
    if (scan_lookup(sub, key, v) < 0) {
        return SCAN_ERR;
    }
    if (*v == NULL || *v == Py_None) {
        *v = NULL;
        return SCAN_OK;
    }
    if (!scan_is_number(*v)) {
        return SCAN_NO;
    }
    *truthy = PyObject_IsTrue(*v);
    return *truthy < 0 ? SCAN_ERR : SCAN_OK;
}

/* A deployment's tpm/rpm limit as LiteLLM's selectors read it:
 * dep[key] or litellm_params[key] or model_info[key] or inf (lp, mi: the
 * exact dicts or NULL when absent).  *out a new reference. */
static inline int
scan_limit_of(PyObject *dep, PyObject *lp, PyObject *mi, PyObject *key,
              PyObject *inf, PyObject **out)
{
    PyObject *sources[3] = {dep, lp, mi};
    *out = NULL;
    for (int s = 0; s < 3; s++) {
        PyObject *v;
        int t, r = scan_number_at(sources[s], key, &v, &t);
        if (r != SCAN_OK) {
            return r;
        }
        if (t) {
            *out = Py_NewRef(v);
            return SCAN_OK;
        }
    }
    *out = Py_NewRef(inf);
    return SCAN_OK;
}

/* m.get(name, 0) for a minute map m (NULL: absent, LiteLLM's `{}`):
 * *out borrowed. */
static inline int
scan_counter_of(PyObject *m, PyObject *name, PyObject *zero, PyObject **out)
{
    PyObject *v;
    *out = zero;
    if (m == NULL) {
        return SCAN_OK;
    }
    if (scan_lookup(m, name, &v) < 0) {
        return SCAN_ERR;
    }
    if (v == NULL) {
        return SCAN_OK;
    }
    if (!scan_is_number(v)) {
        return SCAN_NO;
    }
    *out = v;
    return SCAN_OK;
}

/* v as a C number (fl_pynum.h) when it is an exact int in the int64 range
 * or an exact float: SCAN_OK; SCAN_NO for anything else (Python's
 * arithmetic on it is left to Python). */
static inline int
scan_pynum(PyObject *v, struct fl_pynum *out)
{
    if (PyFloat_CheckExact(v)) {
        *out = fl_pynum_float(PyFloat_AS_DOUBLE(v));
        return SCAN_OK;
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            return SCAN_ERR;
        }
        if (overflow != 0) {
            return SCAN_NO;
        }
        *out = fl_pynum_int((int64_t)x);
        return SCAN_OK;
    }
    return SCAN_NO;
}

/* The usage test a selector loop's body ends with: *admitted = 1 unless
 * `tpm_now + tokens > tpm` or `rpm_now + 1 > rpm` (csrc/core/fl_select.c:
 * Python's arithmetic on the numbers).  SCAN_OK, SCAN_NO (a value outside
 * fl_pynum's range, or an int sum outside int64) or SCAN_ERR. */
static inline int
scan_admits(PyObject *tpm_now, PyObject *tokens, PyObject *tpm,
            PyObject *rpm_now, PyObject *rpm, int *admitted)
{
    PyObject *const src[5] = {tpm_now, tokens, tpm, rpm_now, rpm};
    struct fl_pynum n[5];
    int r;
    for (int k = 0; k < 5; k++) {
        if ((r = scan_pynum(src[k], &n[k])) != SCAN_OK) {
            return r;
        }
    }
    if (fl_select_admits(&n[0], &n[1], &n[2], &n[3], &n[4], admitted) != FL_OK) {
        return SCAN_NO;
    }
    return SCAN_OK;
}

/* scan_admits, then (dep, value) appended to potential when admitted. */
static inline int
scan_admit(PyObject *tpm_now, PyObject *tokens, PyObject *tpm,
           PyObject *rpm_now, PyObject *rpm, PyObject *dep, PyObject *value,
           PyObject *potential)
{
    int admitted = 0, r = scan_admits(tpm_now, tokens, tpm, rpm_now, rpm, &admitted);
    if (r != SCAN_OK || !admitted) {
        return r; /* (not admitted: over a limit, skipped) */
    }
    PyObject *item = PyTuple_Pack(2, dep, value);
    if (item == NULL) {
        return SCAN_ERR;
    }
    r = PyList_Append(potential, item) < 0 ? SCAN_ERR : SCAN_OK;
    Py_DECREF(item);
    return r;
}

#endif /* FL_SCAN_H */
