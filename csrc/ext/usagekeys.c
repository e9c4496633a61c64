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
 * keys: no Python code runs.  `minute`: an exact str.
 *
 * memo (optional third argument, an exact dict the caller keeps, or None):
 * the keys are remembered by the id's text (the id itself when an exact
 * str) with the model text they were built from, {id text: (model text,
 * tpm_key, rpm_key)}, for one minute (the memo
 * holds its minute under the key None and starts over when the minute
 * differs), and handed out again while the model text is equal: the same
 * str objects every pick, their hashes kept for the cache read that
 * follows.  A key is a function of the id's, the model's and the minute's
 * texts, so a remembered key is the key LiteLLM would format.  Bounded:
 * cleared past USAGE_MEMO_IDS ids.
 *
 * The last answers (CPython 3.11 to 3.13, dict version tags): the memo also
 * keeps, under the key Ellipsis (never an id text), the last USAGE_RECENT
 * answers used (fl_recent_find: two a pick, as a pick reads the list before
 * and after its cooldown filter, for each model group picked from in turn),
 * each the two key lists it returned (as tuples) with a snapshot of the
 * deployments it read
 * (seqsnap.c: the items and the tags of each deployment dict, its
 * model_info and its litellm_params).  When the next call in the same
 * minute gets the same items, unchanged, every id and model is the object
 * it was, so the keys are those keys: new lists of the same strs, without
 * a lookup per deployment.  Memory: up to USAGE_RECENT snapshots, about
 * 100 bytes per deployment each. */
#include "fl_ext.h"

#include <stdint.h>

enum { U_MODEL_INFO, U_ID, U_LITELLM_PARAMS, U_MODEL, U_TPM, U_RPM, U_COUNT };
static const char *const key_text[U_COUNT] = {
    "model_info", "id", "litellm_params", "model", ":tpm:", ":rpm:"};

_Static_assert(U_COUNT == FL_EXT_USAGE_KEYS, "fl_ext.h: FL_EXT_USAGE_KEYS");

/* ids remembered (then cleared); answers remembered (two lists a pick --
 * before and after its cooldown filter -- for each of 8 model groups) */
enum { USAGE_MEMO_IDS = 65536, USAGE_RECENT = 16 };

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
    if (!fl_ext_plain_dict(sub)) {
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

/* the memo for this minute: cleared when it holds another minute; 0, or
 * -1 with an exception */
static int
memo_minute(PyObject *memo, PyObject *minute)
{
    PyObject *held = PyDict_GetItemWithError(memo, Py_None);
    if (held == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (held != NULL && PyUnicode_CheckExact(held) &&
        PyUnicode_Compare(held, minute) == 0) {
        return 0;
    }
    PyDict_Clear(memo);
    return PyDict_SetItem(memo, Py_None, minute);
}

/* the remembered (tpm, rpm) keys of id with model: 1 with new references
 * in out[0..1], 0 when not remembered, -1 with an exception */
static int
memo_get(PyObject *memo, PyObject *id, PyObject *model, PyObject **out)
{
    PyObject *e = PyDict_GetItemWithError(memo, id);
    if (e == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyTuple_CheckExact(e) || PyTuple_GET_SIZE(e) != 3 ||
        (PyTuple_GET_ITEM(e, 0) != model &&
         PyUnicode_Compare(PyTuple_GET_ITEM(e, 0), model) != 0)) {
        return 0;
    }
    out[0] = Py_NewRef(PyTuple_GET_ITEM(e, 1));
    out[1] = Py_NewRef(PyTuple_GET_ITEM(e, 2));
    return 1;
}

/* remember (model, tpm, rpm) for id: 0, or -1 with an exception */
static int
memo_put(PyObject *memo, PyObject *id, PyObject *model, PyObject *const *made)
{
    int r;
    PyObject *e = PyTuple_Pack(3, model, made[0], made[1]);
    if (e == NULL) {
        return -1;
    }
    if (PyDict_GET_SIZE(memo) > USAGE_MEMO_IDS) {
        PyObject *minute = PyDict_GetItemWithError(memo, Py_None);
        Py_XINCREF(minute);
        PyDict_Clear(memo);
        r = minute == NULL ? 0 : PyDict_SetItem(memo, Py_None, minute);
        Py_XDECREF(minute);
        if (r < 0) {
            Py_DECREF(e);
            return -1;
        }
    }
    r = PyDict_SetItem(memo, id, e);
    Py_DECREF(e);
    return r;
}

/* the two keys of the id and model texts into made[0..1] (new
 * references), through the memo when there is one: 0, or -1 with an
 * exception */
static int
keys_for(PyObject *memo, PyObject *const *keys, PyObject *id, PyObject *colon,
         PyObject *model, PyObject *minute, PyObject **made)
{
    PyObject *parts[5] = {id, colon, model, keys[U_TPM], minute};
    int r = 0;
    if (memo != NULL) {
        r = memo_get(memo, id, model, made);
        if (r != 0) {
            return r < 0 ? -1 : 0;
        }
    }
    made[0] = joined(parts, 5);
    if (made[0] == NULL) {
        return -1;
    }
    parts[3] = keys[U_RPM];
    made[1] = joined(parts, 5);
    if (made[1] == NULL) {
        Py_CLEAR(made[0]);
        return -1;
    }
    if (memo != NULL && memo_put(memo, id, model, made) < 0) {
        Py_CLEAR(made[0]);
        Py_CLEAR(made[1]);
        return -1;
    }
    return 0;
}

/* a record (snapshot, tpm keys, rpm keys: fl_seqsnap_record) whose
 * snapshot holds for the list ctx */
static int
answer_holds(PyObject *rec, void *ctx)
{
    return PyTuple_CheckExact(rec) && PyTuple_GET_SIZE(rec) == 3 &&
           fl_seqsnap_holds(PyTuple_GET_ITEM(rec, 0), (PyObject *)ctx, 2);
}

/* (new tpm list, new rpm list) of a remembered answer when seq holds the
 * same deployments, unchanged; NULL without an exception otherwise, NULL
 * with one on an error */
static PyObject *
last_answer(PyObject *memo, PyObject *seq)
{
    PyObject *tpm, *rpm, *res, *rec = fl_recent_find(memo, Py_Ellipsis, answer_holds, seq);
    if (rec == NULL) {
        return NULL;
    }
    tpm = PySequence_List(PyTuple_GET_ITEM(rec, 1));
    rpm = tpm == NULL ? NULL : PySequence_List(PyTuple_GET_ITEM(rec, 2));
    res = rpm == NULL ? NULL : PyTuple_Pack(2, tpm, rpm);
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    Py_DECREF(rec);
    return res;
}

/* remember the answer (tpm, rpm) with snap (taken before it was computed)
 * among the recent ones: 0, or -1 with an exception */
static int
save_last(PyObject *memo, PyObject *snap, PyObject *tpm, PyObject *rpm)
{
    PyObject *rec = fl_seqsnap_record(snap, tpm, rpm, NULL);
    int rc;
    if (rec == NULL) {
        return -1;
    }
    rc = fl_recent_put(memo, Py_Ellipsis, rec, USAGE_RECENT);
    Py_DECREF(rec);
    return rc;
}

PyObject *
fl_ext_usage_keys(PyObject *const *keys, PyObject *const *args,
                  Py_ssize_t nargs)
{
    PyObject *tpm = NULL, *rpm = NULL, *res = NULL;
    PyObject *seq, *minute, *colon = NULL, *memo = NULL, *snap = NULL;
    if (nargs < 2 || nargs > 3 || !PyUnicode_CheckExact(args[1]) ||
        (nargs == 3 && args[2] != Py_None && !PyDict_CheckExact(args[2]))) {
        PyErr_SetString(PyExc_TypeError,
                        "usage_keys() expects (deployments, minute: str"
                        "[, memo: dict | None])");
        goto error;
    }
    seq = args[0];
    minute = args[1];
    if (nargs == 3 && args[2] != Py_None) {
        memo = args[2];
    }
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        Py_RETURN_NONE;
    }
    if (memo != NULL && memo_minute(memo, minute) < 0) {
        goto error;
    }
    if (memo != NULL) {
        PyObject *sub[2] = {keys[U_MODEL_INFO], keys[U_LITELLM_PARAMS]};
        res = last_answer(memo, seq);
        if (res != NULL || PyErr_Occurred()) {
            return res;
        }
        snap = fl_seqsnap_take(seq, sub, 2); /* (before: see seqsnap.c) */
        if (snap == NULL) {
            goto error;
        }
    }
    colon = PyUnicode_FromString(":");
    tpm = PyList_New(0);
    rpm = PyList_New(0);
    if (colon == NULL || tpm == NULL || rpm == NULL) {
        goto error;
    }
    /* no Python code runs in the loop (exact dicts, strs, ints): the memo
     * and the list are as read */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *d = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *id, *model;
        PyObject *made[2];
        int r;
        if (!fl_ext_plain_dict(d)) {
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
        r = keys_for(memo, keys, id, colon, model, minute, made);
        Py_DECREF(id);
        Py_DECREF(model);
        if (r == 0) {
            r = PyList_Append(tpm, made[0]);
            if (r == 0) {
                r = PyList_Append(rpm, made[1]);
            }
            Py_DECREF(made[0]);
            Py_DECREF(made[1]);
        }
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
    if (snap != NULL && snap != Py_None && save_last(memo, snap, tpm, rpm) < 0) {
        goto error;
    }
    Py_CLEAR(snap);
    res = PyTuple_Pack(2, tpm, rpm);
    Py_DECREF(colon);
    Py_DECREF(tpm);
    Py_DECREF(rpm);
    return res;
not_plain:
    Py_XDECREF(snap);
    Py_DECREF(colon);
    Py_DECREF(tpm);
    Py_DECREF(rpm);
    Py_RETURN_NONE;
error:
    Py_XDECREF(snap);
    Py_XDECREF(colon);
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    return NULL;
}
