/* usagekeys.c - usage_keys(deployments, minute): the counter keys
 * usage-based-routing-v2 reads on every pick (LiteLLM 1.108.7,
 * LowestTPMLoggingHandler_v2.usage_counter_keys), in the plain case.
 *
 * LiteLLM builds, for every item m of the candidate list that is a dict,
 *     prefix = f"{m.get('model_info', {}).get('id')}:"
 *              f"{m.get('litellm_params', {}).get('model')}"
 * and returns ([f"{prefix}:tpm:{minute}" ...], [f"{prefix}:rpm:{minute}" ...]).
 *
 * Plain case: `deployments` an exact list or tuple; every item either an
 * exact dict or an object of an exact builtin type that is not a dict
 * (None, bool, int, float, str, bytes, list, tuple: isinstance(m, dict) is
 * False for them without running code, and LiteLLM skips them); in each
 * dict, "model_info" and "litellm_params" absent (read as {}) or exact
 * dicts; the id and the model absent, None, an exact str, a bool or an
 * exact int in the int64 range (their f-string text is str() of them).
 * Anything else gives None: LiteLLM's method answers (and raises where a
 * .get on a non-dict raises).  Reads dicts through the dict API with str
 * keys: no Python code runs.  `minute`: an exact str. */
#include "fl_ext.h"

#include <stdint.h>

enum { U_MODEL_INFO, U_ID, U_LITELLM_PARAMS, U_MODEL, U_TPM, U_RPM, U_COUNT };
static const char *const key_text[U_COUNT] = {
    "model_info", "id", "litellm_params", "model", ":tpm:", ":rpm:"};

_Static_assert(U_COUNT == FL_EXT_USAGE_KEYS, "fl_ext.h: FL_EXT_USAGE_KEYS");

int
fl_ext_usage_keys_names(PyObject **keys)
{
    return fl_ext_intern_keys(key_text, U_COUNT, keys);
}

/* isinstance(v, dict) is False for v and computing it runs no code */
static int
skipped_item(PyObject *v)
{
    return v == Py_None || PyBool_Check(v) || PyLong_CheckExact(v) ||
           PyFloat_CheckExact(v) || PyUnicode_CheckExact(v) ||
           PyBytes_CheckExact(v) || PyList_CheckExact(v) || PyTuple_CheckExact(v);
}

/* the f-string text of sub.get(name) where sub = d.get(outer, {}): a new
 * reference; NULL without an exception when not plain */
static PyObject *
field_text(PyObject *d, PyObject *outer, PyObject *name)
{
    PyObject *sub, *v;
    int overflow = 0;
    sub = PyDict_GetItemWithError(d, outer);
    if (sub == NULL) {
        return PyErr_Occurred() ? NULL : PyUnicode_FromString("None");
    }
    if (!PyDict_CheckExact(sub)) {
        return NULL;
    }
    v = PyDict_GetItemWithError(sub, name);
    if (v == NULL) {
        return PyErr_Occurred() ? NULL : PyUnicode_FromString("None");
    }
    if (PyUnicode_CheckExact(v)) {
        return Py_NewRef(v);
    }
    if (v == Py_None || PyBool_Check(v)) {
        return PyObject_Str(v);
    }
    if (PyLong_CheckExact(v)) {
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow != 0 || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return NULL;
        }
        return PyObject_Str(v);
    }
    return NULL;
}

/* parts[0] + parts[1] + ... + parts[n-1], all exact strs: a new str */
static PyObject *
joined(PyObject *const *parts, int n)
{
    Py_ssize_t len = 0, at = 0;
    Py_UCS4 maxchar = 0;
    PyObject *res;
    for (int k = 0; k < n; k++) {
        Py_UCS4 m = PyUnicode_MAX_CHAR_VALUE(parts[k]);
        len += PyUnicode_GET_LENGTH(parts[k]);
        maxchar = m > maxchar ? m : maxchar;
    }
    res = PyUnicode_New(len, maxchar);
    if (res == NULL) {
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        Py_ssize_t l = PyUnicode_GET_LENGTH(parts[k]);
        if (PyUnicode_CopyCharacters(res, at, parts[k], 0, l) < 0) {
            Py_DECREF(res);
            return NULL;
        }
        at += l;
    }
    return res;
}

PyObject *
fl_ext_usage_keys(PyObject *const *keys, PyObject *const *args,
                  Py_ssize_t nargs)
{
    PyObject *tpm = NULL, *rpm = NULL, *res = NULL;
    PyObject *seq, *minute, *colon = NULL;
    if (nargs != 2 || !PyUnicode_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "usage_keys() expects (deployments, minute: str)");
        goto error;
    }
    seq = args[0];
    minute = args[1];
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        Py_RETURN_NONE;
    }
    colon = PyUnicode_FromString(":");
    tpm = PyList_New(0);
    rpm = PyList_New(0);
    if (colon == NULL || tpm == NULL || rpm == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *d = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *id, *model, *key;
        PyObject *parts[5];
        int r;
        if (!PyDict_CheckExact(d)) {
            if (skipped_item(d)) {
                continue;
            }
            goto not_plain;
        }
        id = field_text(d, keys[U_MODEL_INFO], keys[U_ID]);
        if (id == NULL) {
            goto id_failed;
        }
        model = field_text(d, keys[U_LITELLM_PARAMS], keys[U_MODEL]);
        if (model == NULL) {
            Py_DECREF(id);
            goto id_failed;
        }
        parts[0] = id;
        parts[1] = colon;
        parts[2] = model;
        parts[3] = keys[U_TPM];
        parts[4] = minute;
        key = joined(parts, 5);
        r = key == NULL ? -1 : PyList_Append(tpm, key);
        Py_XDECREF(key);
        if (r == 0) {
            parts[3] = keys[U_RPM];
            key = joined(parts, 5);
            r = key == NULL ? -1 : PyList_Append(rpm, key);
            Py_XDECREF(key);
        }
        Py_DECREF(id);
        Py_DECREF(model);
        if (r < 0) {
            goto error;
        }
        continue;
    id_failed:
        if (PyErr_Occurred()) {
            goto error;
        }
        goto not_plain;
    }
    res = PyTuple_Pack(2, tpm, rpm);
    Py_DECREF(colon);
    Py_DECREF(tpm);
    Py_DECREF(rpm);
    return res;
not_plain:
    Py_DECREF(colon);
    Py_DECREF(tpm);
    Py_DECREF(rpm);
    Py_RETURN_NONE;
error:
    Py_XDECREF(colon);
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    return NULL;
}
