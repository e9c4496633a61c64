/* latscan.c - latency_scan(): the per-entry loop of LiteLLM's
 * latency-based routing (LowestLatencyLoggingHandler._get_available_
 * deployments, litellm 1.108.7) in one C pass, for the plain case.
 *
 * latency_scan(items, index, minute, input_tokens) takes the router's
 * cached map as LiteLLM has just shuffled it (a list of (id, entry) pairs),
 * the candidates by id (a dict: str id -> deployment, the last candidate
 * with that id, as LiteLLM's no-break scan finds it), the current minute's
 * key and the request's input token count (an int), and returns
 * (latency_per_deployment, potential) as LiteLLM's loop builds them for a
 * request that does not stream:
 *
 *   for id, entry in items:
 *       dep = index.get(id); if dep is None: continue
 *       tpm = dep.get("tpm") or dep.get("litellm_params", {}).get("tpm")
 *             or dep.get("model_info", {}).get("tpm") or inf     (rpm alike)
 *       latency = average(entry.get("latency", []))   (sum / len, 0.0 if empty)
 *       m = entry.get(minute, {}); rpm_now = m.get("rpm", 0); tpm_now = ...
 *       api_base = dep.get("litellm_params", {}).get("api_base", "")
 *       if api_base is not None: latency_per_deployment[api_base] = latency
 *       if tpm_now + input_tokens > tpm or rpm_now + 1 > rpm: continue
 *       potential.append((dep, latency))
 *
 * The arithmetic and comparisons are Python's own (the number protocol,
 * builtins.sum), on values this function first checks are exact builtin
 * types, so no Python code runs and the answer has no side effects.  It
 * returns None - and the caller runs LiteLLM's loop from the start - when
 * anything is outside the plain case: an id that is not an exact str, a
 * deployment, litellm_params, model_info, entry or minute map that is not
 * an exact dict, a limit or counter that is not None / an exact int / an
 * exact float, a latency list that is not an exact list of exact ints and
 * floats, an api_base that is not None or an exact str.
 */
#include "fl_ext.h"

#include <math.h>

enum { L_TPM, L_RPM, L_LITELLM_PARAMS, L_MODEL_INFO, L_LATENCY, L_API_BASE,
       L_COUNT };
static const char *const lat_text[L_COUNT] = {
    "tpm", "rpm", "litellm_params", "model_info", "latency", "api_base"};

_Static_assert(L_COUNT == FL_EXT_LAT_KEYS, "fl_ext.h: FL_EXT_LAT_KEYS");

int
fl_ext_lat_keys(PyObject **keys)
{
    return fl_ext_intern_keys(lat_text, L_COUNT, keys);
}

/* outcomes of the helpers below */
enum { SCAN_ERR = -1, SCAN_NO = 0, SCAN_OK = 1 };

static int
is_number(PyObject *v)
{
    return PyLong_CheckExact(v) || PyFloat_CheckExact(v);
}

/* d.get(key) for an exact dict d: *out borrowed or NULL when absent. */
static int
lookup(PyObject *d, PyObject *key, PyObject **out)
{
    *out = PyDict_GetItemWithError(d, key);
    return *out == NULL && PyErr_Occurred() ? SCAN_ERR : SCAN_OK;
}

/* A sub-dict LiteLLM reads with d.get(name, {}): *out the exact dict, or
 * NULL when absent (LiteLLM's {}).  SCAN_NO when present but not an exact
 * dict (LiteLLM's .get on it may raise or run code). */
static int
subdict(PyObject *d, PyObject *name, PyObject **out)
{
    if (lookup(d, name, out) < 0) {
        return SCAN_ERR;
    }
    if (*out != NULL && !PyDict_CheckExact(*out)) {
        return SCAN_NO;
    }
    return SCAN_OK;
}

/* One step of `a or b or ...`: *v = sub.get(key) (borrowed, NULL when
 * absent or sub is NULL); *taken = 1 when it is truthy.  SCAN_NO for a
 * value that is not None or an exact number. */
static int
limit_step(PyObject *sub, PyObject *key, PyObject **v, int *taken)
{
    *taken = 0;
    *v = NULL;
    if (sub == NULL) {
        return SCAN_OK;
    }
    if (lookup(sub, key, v) < 0) {
        return SCAN_ERR;
    }
    if (*v == NULL || *v == Py_None) {
        return SCAN_OK;
    }
    if (!is_number(*v)) {
        return SCAN_NO;
    }
    int t = PyObject_IsTrue(*v);
    if (t < 0) {
        return SCAN_ERR;
    }
    *taken = t;
    return SCAN_OK;
}

/* LiteLLM's tpm/rpm limit of a deployment: *out a new reference (the
 * first truthy of dep[key], litellm_params[key], model_info[key], else
 * inf). */
static int
limit_of(PyObject *dep, PyObject *lp, PyObject *mi, PyObject *key,
         PyObject **out)
{
    PyObject *sources[3] = {dep, lp, mi};
    *out = NULL;
    for (int s = 0; s < 3; s++) {
        PyObject *v;
        int taken;
        int r = limit_step(sources[s], key, &v, &taken);
        if (r != SCAN_OK) {
            return r;
        }
        if (taken) {
            Py_INCREF(v);
            *out = v;
            return SCAN_OK;
        }
    }
    *out = PyFloat_FromDouble(INFINITY);
    return *out == NULL ? SCAN_ERR : SCAN_OK;
}

/* The average LiteLLM computes: sum(samples) / len(samples), 0.0 when the
 * samples are empty or None.  *out a new reference. */
static int
average_of(PyObject *samples, PyObject *sum_fn, PyObject **out)
{
    PyObject *total = NULL, *n = NULL;
    Py_ssize_t len;
    *out = NULL;
    if (samples == NULL || samples == Py_None) {
        len = 0;
    } else {
        if (!PyList_CheckExact(samples)) {
            return SCAN_NO;
        }
        len = PyList_GET_SIZE(samples);
        for (Py_ssize_t k = 0; k < len; k++) {
            PyObject *x = PyList_GET_ITEM(samples, k);
            if (!is_number(x)) {
                return SCAN_NO;
            }
        }
    }
    if (len == 0) {
        *out = PyFloat_FromDouble(0.0);
        return *out == NULL ? SCAN_ERR : SCAN_OK;
    }
    total = PyObject_CallOneArg(sum_fn, samples);
    if (total == NULL) {
        goto error;
    }
    n = PyLong_FromSsize_t(len);
    if (n == NULL) {
        goto error;
    }
    *out = PyNumber_TrueDivide(total, n);
    if (*out == NULL) {
        goto error;
    }
    Py_DECREF(total);
    Py_DECREF(n);
    return SCAN_OK;
error:
    Py_XDECREF(total);
    Py_XDECREF(n);
    return SCAN_ERR;
}

/* m.get(name, 0) for the minute map m (NULL: absent, LiteLLM's {}): a
 * borrowed reference, or NULL with SCAN_NO / SCAN_ERR. */
static int
counter_of(PyObject *m, PyObject *name, PyObject *zero, PyObject **out)
{
    *out = zero;
    if (m == NULL) {
        return SCAN_OK;
    }
    PyObject *v;
    if (lookup(m, name, &v) < 0) {
        return SCAN_ERR;
    }
    if (v == NULL) {
        return SCAN_OK;
    }
    if (!is_number(v)) {
        return SCAN_NO;
    }
    *out = v;
    return SCAN_OK;
}

/* `now + extra > limit` with Python's arithmetic: 1, 0, or SCAN_ERR. */
static int
over(PyObject *now, PyObject *extra, PyObject *limit)
{
    PyObject *s = PyNumber_Add(now, extra);
    if (s == NULL) {
        return SCAN_ERR;
    }
    int r = PyObject_RichCompareBool(s, limit, Py_GT);
    Py_DECREF(s);
    return r;
}

/* One (id, entry) pair: appends to potential / per as LiteLLM's loop
 * body.  SCAN_OK, SCAN_NO (not the plain case) or SCAN_ERR. */
static int
scan_one(PyObject *const *keys, PyObject *pair, PyObject *index,
         PyObject *minute, PyObject *tokens, PyObject *one, PyObject *zero,
         PyObject *empty, PyObject *sum_fn, PyObject *per, PyObject *potential)
{
    PyObject *id, *entry, *dep, *lp, *mi, *m, *samples, *api_base;
    PyObject *tpm = NULL, *rpm = NULL, *latency = NULL, *item = NULL;
    PyObject *tpm_now, *rpm_now;
    int r, o;

    if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
        return SCAN_NO;
    }
    id = PyTuple_GET_ITEM(pair, 0);
    entry = PyTuple_GET_ITEM(pair, 1);
    if (!PyUnicode_CheckExact(id)) {
        return SCAN_NO;
    }
    if (lookup(index, id, &dep) < 0) {
        return SCAN_ERR;
    }
    if (dep == NULL) {
        return SCAN_OK; /* not a candidate */
    }
    if (!PyDict_CheckExact(dep) || !PyDict_CheckExact(entry)) {
        return SCAN_NO;
    }
    if ((r = subdict(dep, keys[L_LITELLM_PARAMS], &lp)) != SCAN_OK ||
        (r = subdict(dep, keys[L_MODEL_INFO], &mi)) != SCAN_OK) {
        return r;
    }
    if ((r = limit_of(dep, lp, mi, keys[L_TPM], &tpm)) != SCAN_OK) {
        goto done;
    }
    if ((r = limit_of(dep, lp, mi, keys[L_RPM], &rpm)) != SCAN_OK) {
        goto done;
    }
    if (lookup(entry, keys[L_LATENCY], &samples) < 0) {
        r = SCAN_ERR;
        goto done;
    }
    if ((r = average_of(samples, sum_fn, &latency)) != SCAN_OK) {
        goto done;
    }
    if ((r = subdict(entry, minute, &m)) != SCAN_OK ||
        (r = counter_of(m, keys[L_RPM], zero, &rpm_now)) != SCAN_OK ||
        (r = counter_of(m, keys[L_TPM], zero, &tpm_now)) != SCAN_OK) {
        goto done;
    }
    api_base = empty;
    if (lp != NULL) {
        if (lookup(lp, keys[L_API_BASE], &api_base) < 0) {
            r = SCAN_ERR;
            goto done;
        }
        if (api_base == NULL) {
            api_base = empty;
        }
    }
    if (api_base != Py_None) {
        if (!PyUnicode_CheckExact(api_base)) {
            r = SCAN_NO;
            goto done;
        }
        if (PyDict_SetItem(per, api_base, latency) < 0) {
            r = SCAN_ERR;
            goto done;
        }
    }
    o = over(tpm_now, tokens, tpm);
    if (o == 0) {
        o = over(rpm_now, one, rpm);
    }
    if (o < 0) {
        r = SCAN_ERR;
        goto done;
    }
    r = SCAN_OK;
    if (o == 0) {
        item = PyTuple_Pack(2, dep, latency);
        if (item == NULL || PyList_Append(potential, item) < 0) {
            r = SCAN_ERR;
        }
    }
done:
    Py_XDECREF(item);
    Py_XDECREF(latency);
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    return r;
}

PyObject *
fl_ext_latency_scan(PyObject *const *keys, PyObject *const *args,
                    Py_ssize_t nargs)
{
    PyObject *items, *index, *minute, *tokens;
    PyObject *per = NULL, *potential = NULL, *one = NULL, *zero = NULL;
    PyObject *empty = NULL, *sum_fn = NULL, *res = NULL;
    int r = SCAN_OK;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "latency_scan() expects (items, index, minute, "
                        "input_tokens)");
        goto error;
    }
    items = args[0];
    index = args[1];
    minute = args[2];
    tokens = args[3];
    sum_fn = PyDict_GetItemString(PyEval_GetBuiltins(), "sum");
    if (!PyList_CheckExact(items) || !PyDict_CheckExact(index) ||
        !PyUnicode_CheckExact(minute) || !PyLong_CheckExact(tokens) ||
        sum_fn == NULL) {
        /* (no builtins.sum: LiteLLM's loop says what happens) */
        Py_RETURN_NONE;
    }
    Py_INCREF(sum_fn);
    per = PyDict_New();
    potential = PyList_New(0);
    one = PyLong_FromLong(1);
    zero = PyLong_FromLong(0);
    empty = PyUnicode_New(0, 0);
    if (per == NULL || potential == NULL || one == NULL || zero == NULL ||
        empty == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(items) && r == SCAN_OK; k++) {
        r = scan_one(keys, PyList_GET_ITEM(items, k), index, minute, tokens,
                     one, zero, empty, sum_fn, per, potential);
    }
    if (r == SCAN_ERR) {
        goto error;
    }
    res = r == SCAN_OK ? PyTuple_Pack(2, per, potential) : Py_NewRef(Py_None);
    if (res == NULL) {
        goto error;
    }
    Py_DECREF(sum_fn);
    Py_DECREF(per);
    Py_DECREF(potential);
    Py_DECREF(one);
    Py_DECREF(zero);
    Py_DECREF(empty);
    return res;
error:
    Py_XDECREF(sum_fn);
    Py_XDECREF(per);
    Py_XDECREF(potential);
    Py_XDECREF(one);
    Py_XDECREF(zero);
    Py_XDECREF(empty);
    return NULL;
}
