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
 * latency_scan(items, index, minute, input_tokens, buffer) goes on to the
 * choice LiteLLM makes next and returns (latency_per_deployment, valid,
 * admitted): valid the deployments LiteLLM's random.choice draws from --
 *
 *   ranked = sorted(potential, key=latency); lowest = ranked[0] latency
 *   valid = [dep for dep, l in ranked if l <= lowest + buffer * lowest]
 *
 * (csrc/core/fl_select.c's shortlist; buffer an exact int in int64 or an
 * exact float) -- and admitted len(potential), without building the
 * pairs; None when a latency is a NaN (Python's sort order is its own).
 *
 * The averages are Python's own (builtins.sum, the number protocol); the
 * usage test and the choice are fl_select.c's, Python's arithmetic and
 * comparisons on C numbers (an int sum outside int64 declines), on values
 * this function first checks are exact builtin types, so no Python code
 * runs and the answer has no side effects.  It
 * returns None - and the caller runs LiteLLM's loop from the start - when
 * anything is outside the plain case: an id that is not an exact str, a
 * deployment, litellm_params, model_info, entry or minute map that is not
 * an exact dict, a limit or counter that is not None / an exact int / an
 * exact float, a latency list that is not an exact list of exact ints and
 * floats, an api_base that is not None or an exact str.
 */
#include "fl_scan.h"

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
            if (!scan_is_number(x)) {
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

/* One (id, entry) pair: appends to potential (or, when potential is
 * NULL, to kept) and per as LiteLLM's loop body.  SCAN_OK, SCAN_NO (not
 * the plain case) or SCAN_ERR. */
struct consts {
    PyObject *one, *zero, *empty, *inf, *sum_fn;
};

/* the admitted candidates of the 5-argument form, without the pairs:
 * deployments (borrowed from index, which the caller holds and no code
 * changes while the scan runs) and their latencies */
struct kept {
    PyObject **deps;
    double *lat;
    size_t n, cap;
};

static int
keep(struct kept *k, PyObject *dep, PyObject *latency)
{
    if (!PyFloat_CheckExact(latency)) {
        return SCAN_NO; /* (an average is a float; the shortlist takes doubles) */
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        PyObject **deps = PyMem_Realloc(k->deps, cap * sizeof *deps);
        double *lat;
        if (deps == NULL) {
            PyErr_NoMemory();
            return SCAN_ERR;
        }
        k->deps = deps;
        lat = PyMem_Realloc(k->lat, cap * sizeof *lat);
        if (lat == NULL) {
            PyErr_NoMemory();
            return SCAN_ERR;
        }
        k->lat = lat;
        k->cap = cap;
    }
    k->deps[k->n] = dep;
    k->lat[k->n] = PyFloat_AS_DOUBLE(latency);
    k->n++;
    return SCAN_OK;
}

static int
scan_one(PyObject *const *keys, PyObject *pair, PyObject *index,
         PyObject *minute, PyObject *tokens, const struct consts *c,
         PyObject *per, PyObject *potential, struct kept *kept)
{
    PyObject *id, *entry, *dep, *lp, *mi, *m, *samples, *api_base;
    PyObject *tpm = NULL, *rpm = NULL, *latency = NULL;
    PyObject *tpm_now, *rpm_now;
    int r;

    if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
        return SCAN_NO;
    }
    id = PyTuple_GET_ITEM(pair, 0);
    entry = PyTuple_GET_ITEM(pair, 1);
    if (!PyUnicode_CheckExact(id)) {
        return SCAN_NO;
    }
    if (scan_lookup(index, id, &dep) < 0) {
        return SCAN_ERR;
    }
    if (dep == NULL) {
        return SCAN_OK; /* not a candidate */
    }
    if (!scan_dict(dep) || !scan_dict(entry)) {
        return SCAN_NO;
    }
    if ((r = scan_subdict(dep, keys[L_LITELLM_PARAMS], &lp)) != SCAN_OK ||
        (r = scan_subdict(dep, keys[L_MODEL_INFO], &mi)) != SCAN_OK) {
        return r;
    }
    if ((r = scan_limit_of(dep, lp, mi, keys[L_TPM], c->inf, &tpm)) != SCAN_OK) {
        goto done;
    }
    if ((r = scan_limit_of(dep, lp, mi, keys[L_RPM], c->inf, &rpm)) != SCAN_OK) {
        goto done;
    }
    if (scan_lookup(entry, keys[L_LATENCY], &samples) < 0) {
        r = SCAN_ERR;
        goto done;
    }
    if ((r = average_of(samples, c->sum_fn, &latency)) != SCAN_OK) {
        goto done;
    }
    if ((r = scan_subdict(entry, minute, &m)) != SCAN_OK ||
        (r = scan_counter_of(m, keys[L_RPM], c->zero, &rpm_now)) != SCAN_OK ||
        (r = scan_counter_of(m, keys[L_TPM], c->zero, &tpm_now)) != SCAN_OK) {
        goto done;
    }
    api_base = c->empty;
    if (lp != NULL) {
        if (scan_lookup(lp, keys[L_API_BASE], &api_base) < 0) {
            r = SCAN_ERR;
            goto done;
        }
        if (api_base == NULL) {
            api_base = c->empty;
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
    if (potential != NULL) {
        r = scan_admit(tpm_now, tokens, tpm, rpm_now, rpm, dep, latency, potential);
    } else {
        int admitted = 0;
        r = scan_admits(tpm_now, tokens, tpm, rpm_now, rpm, &admitted);
        if (r == SCAN_OK && admitted) {
            r = keep(kept, dep, latency);
        }
    }
done:
    Py_XDECREF(latency);
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    return r;
}

/* the 5-argument form's answer from what the loop kept: (per, valid,
 * admitted), or None when the shortlist declines (a NaN latency) */
static PyObject *
shortlisted(PyObject *per, const struct kept *kept, double buffer)
{
    size_t *idx = NULL, m = 0;
    PyObject *valid = NULL, *res = NULL;
    if (kept->n > 0) {
        idx = PyMem_New(size_t, 2 * kept->n);
        if (idx == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        if (fl_select_within_buffer(kept->lat, kept->n, buffer, idx, idx + kept->n, &m) !=
            FL_OK) {
            PyMem_Free(idx);
            Py_RETURN_NONE;
        }
    }
    valid = PyList_New((Py_ssize_t)m);
    if (valid == NULL) {
        goto error;
    }
    for (size_t k = 0; k < m; k++) {
        PyList_SET_ITEM(valid, (Py_ssize_t)k, Py_NewRef(kept->deps[idx[k]]));
    }
    res = Py_BuildValue("(OOn)", per, valid, (Py_ssize_t)kept->n);
    Py_DECREF(valid);
    PyMem_Free(idx);
    return res;
error:
    PyMem_Free(idx);
    return NULL;
}

PyObject *
fl_ext_latency_scan(PyObject *const *keys, PyObject *const *args,
                    Py_ssize_t nargs)
{
    PyObject *items, *index, *minute, *tokens, *sum_fn;
    PyObject *per = NULL, *potential = NULL, *res = NULL;
    struct consts c = {NULL, NULL, NULL, NULL, NULL};
    struct kept kept = {NULL, NULL, 0, 0};
    struct fl_pynum buffer = fl_pynum_float(0.0);
    int r = SCAN_OK;

    if (nargs != 4 && nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "latency_scan() expects (items, index, minute, "
                        "input_tokens[, buffer])");
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
    if (nargs == 5 && (r = scan_pynum(args[4], &buffer)) != SCAN_OK) {
        if (r == SCAN_ERR) {
            goto error;
        }
        Py_RETURN_NONE; /* a buffer of another type: LiteLLM's own steps */
    }
    c.sum_fn = Py_NewRef(sum_fn);
    per = PyDict_New();
    if (nargs == 4) {
        potential = PyList_New(0);
    }
    c.one = PyLong_FromLong(1);
    c.zero = PyLong_FromLong(0);
    c.empty = PyUnicode_New(0, 0);
    c.inf = PyFloat_FromDouble(INFINITY);
    if (per == NULL || (nargs == 4 && potential == NULL) || c.one == NULL ||
        c.zero == NULL || c.empty == NULL || c.inf == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(items) && r == SCAN_OK; k++) {
        r = scan_one(keys, PyList_GET_ITEM(items, k), index, minute, tokens,
                     &c, per, potential, &kept);
    }
    if (r == SCAN_ERR) {
        goto error;
    }
    if (r != SCAN_OK) {
        res = Py_NewRef(Py_None);
    } else if (nargs == 4) {
        res = PyTuple_Pack(2, per, potential);
    } else {
        res = shortlisted(per, &kept, fl_pynum_as_double(&buffer));
    }
    if (res == NULL) {
        goto error;
    }
    Py_DECREF(per);
    Py_XDECREF(potential);
    Py_DECREF(c.sum_fn);
    Py_DECREF(c.one);
    Py_DECREF(c.zero);
    Py_DECREF(c.empty);
    Py_DECREF(c.inf);
    PyMem_Free(kept.deps);
    PyMem_Free(kept.lat);
    return res;
error:
    Py_XDECREF(per);
    Py_XDECREF(potential);
    Py_XDECREF(c.sum_fn);
    Py_XDECREF(c.one);
    Py_XDECREF(c.zero);
    Py_XDECREF(c.empty);
    Py_XDECREF(c.inf);
    PyMem_Free(kept.deps);
    PyMem_Free(kept.lat);
    return NULL;
}
