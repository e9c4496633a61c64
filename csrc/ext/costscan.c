/* costscan.c - cost_scan(): the per-entry loop of LiteLLM's cost-based
 * routing (LowestCostLoggingHandler.async_get_available_deployments,
 * litellm 1.108.7) in one C pass, for the plain case.
 *
 * cost_scan(items, index, minute, input_tokens, model_cost[, row_type]) takes the
 * router's cost map entries (a list of (id, entry) pairs, in the map's
 * order), the candidates by id (str id -> the last candidate with it), the
 * current minute's key, the request's input token count and
 * litellm.model_cost, and returns the list LiteLLM's loop builds:
 *
 *   for id, entry in items:
 *       dep = index.get(id); if dep is None: continue
 *       tpm, rpm = the limits as latency_scan reads them (latscan.c)
 *       map_in, map_out = _deployment_cost_map_rates(dep):
 *           models = (model_info.base_model or litellm_params.base_model,
 *                     litellm_params.model), non-empty strs, no repeats;
 *           the first model_cost[model] row with an input or output
 *           price; each price float() if an int or float, else None
 *       cost_in = litellm_params.input_cost_per_token if truthy, else
 *                 map_in if not None, else 5.0                (out alike)
 *       cost = cost_in + cost_out
 *       m = entry.get(minute, {}); rpm_now = m.get("rpm", 0); tpm_now = ...
 *       api_base = litellm_params.get("api_base", "")  (hashed when not None)
 *       if tpm_now + input_tokens > tpm or rpm_now + 1 > rpm: continue
 *       potential.append((dep, cost))
 *
 * (LiteLLM also logs each entry at DEBUG; the caller takes this path only
 * when that logger is not enabled for DEBUG, where the call does nothing.)
 * Python's own arithmetic for the cost's sum and csrc/core/fl_select.c's
 * usage test (Python's arithmetic and comparisons on C numbers; an int sum
 * outside int64 is not plain), on values first checked to be exact builtin
 * types: no Python code runs, no side effects.  None - the
 * caller then runs its Python loop from the start - outside the plain case:
 * an id that is not an exact str; a deployment, litellm_params, model_info,
 * entry, minute map or cost-map row that is present but not an exact dict
 * with exact str keys (LiteLLM's str_keyed validation would convert or
 * reject it) -- a row may also be an instance of exactly `row_type` (the
 * caller passes LiteLLM's AliasedCostEntry, a dict subclass that overrides
 * nothing, which the Router puts in the map for the models it registers); a limit, counter, price or base_model/model of another type;
 * a price int too large for a float; an api_base not None or an exact str.
 */
#include "fl_scan.h"

#include <math.h>

enum { C_TPM, C_RPM, C_LITELLM_PARAMS, C_MODEL_INFO, C_IN_COST, C_OUT_COST,
       C_BASE_MODEL, C_MODEL, C_API_BASE, C_COUNT };
static const char *const cost_text[C_COUNT] = {
    "tpm", "rpm", "litellm_params", "model_info", "input_cost_per_token",
    "output_cost_per_token", "base_model", "model", "api_base"};

_Static_assert(C_COUNT == FL_EXT_COST_KEYS, "fl_ext.h: FL_EXT_COST_KEYS");

int
fl_ext_cost_keys(PyObject **keys)
{
    return fl_ext_intern_keys(cost_text, C_COUNT, keys);
}

/* An exact dict (or an instance of exactly `also`, a dict subclass that
 * overrides nothing, when not NULL) whose every key is an exact str. */
static int
str_keyed_as(PyObject *d, PyObject *also)
{
    if (!PyDict_CheckExact(d) &&
        (also == NULL || (PyObject *)Py_TYPE(d) != also || !PyDict_Check(d))) {
        return 0;
    }
    return fl_dict_str_keyed(d);
}

static int
str_keyed(PyObject *d)
{
    return str_keyed_as(d, NULL);
}

/* `sub.get(key)` when sub may be NULL: None / absent -> *out NULL, an
 * exact str -> it; SCAN_NO for anything else. */
static int
name_at(PyObject *sub, PyObject *key, PyObject **out)
{
    *out = NULL;
    if (sub == NULL) {
        return SCAN_OK;
    }
    if (scan_lookup(sub, key, out) < 0) {
        return SCAN_ERR;
    }
    if (*out == Py_None) {
        *out = NULL;
    }
    if (*out != NULL && !PyUnicode_CheckExact(*out)) {
        return SCAN_NO;
    }
    return SCAN_OK;
}

/* LiteLLM's _as_rate: float(v) for an int or float, None otherwise (new
 * reference in *out; None for absent).  SCAN_NO for an int or float
 * subclass (isinstance would accept it) or an int too large for a float. */
static int
as_rate(PyObject *v, PyObject **out)
{
    *out = NULL;
    if (v == NULL || PyBool_Check(v) ||
        (!PyLong_Check(v) && !PyFloat_Check(v))) {
        *out = Py_NewRef(Py_None);
        return SCAN_OK;
    }
    if (PyFloat_CheckExact(v)) {
        *out = Py_NewRef(v);
        return SCAN_OK;
    }
    if (!PyLong_CheckExact(v)) {
        return SCAN_NO;
    }
    double d = PyLong_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear(); /* OverflowError in LiteLLM */
        return SCAN_NO;
    }
    *out = PyFloat_FromDouble(d);
    return *out == NULL ? SCAN_ERR : SCAN_OK;
}

/* _deployment_cost_map_rates(dep): *in_rate, *out_rate new references. */
static int
map_rates(PyObject *const *keys, PyObject *lp, PyObject *mi,
          PyObject *model_cost, PyObject *row_type, PyObject **in_rate,
          PyObject **out_rate)
{
    PyObject *base = NULL, *model, *models[2];
    int n = 0, r;
    *in_rate = *out_rate = NULL;
    if ((r = name_at(mi, keys[C_BASE_MODEL], &base)) != SCAN_OK) {
        return r;
    }
    if (base == NULL || PyUnicode_GET_LENGTH(base) == 0) {
        /* `info.get("base_model") or params.get("base_model")` */
        if ((r = name_at(lp, keys[C_BASE_MODEL], &base)) != SCAN_OK) {
            return r;
        }
    }
    if ((r = name_at(lp, keys[C_MODEL], &model)) != SCAN_OK) {
        return r;
    }
    if (base != NULL && PyUnicode_GET_LENGTH(base) > 0) {
        models[n++] = base;
    }
    if (model != NULL && PyUnicode_GET_LENGTH(model) > 0) {
        if (n == 0) {
            models[n++] = model;
        } else {
            int same = PyUnicode_Compare(base, model);
            if (same == -1 && PyErr_Occurred()) {
                return SCAN_ERR;
            }
            if (same != 0) {
                models[n++] = model;
            }
        }
    }
    for (int k = 0; k < n; k++) {
        PyObject *row, *pin, *pout;
        if (scan_lookup(model_cost, models[k], &row) < 0) {
            return SCAN_ERR;
        }
        if (row == NULL || row == Py_None) {
            continue; /* an empty view: no price */
        }
        if (!str_keyed_as(row, row_type)) {
            return SCAN_NO;
        }
        if (scan_lookup(row, keys[C_IN_COST], &pin) < 0 ||
            scan_lookup(row, keys[C_OUT_COST], &pout) < 0) {
            return SCAN_ERR;
        }
        if ((pin == NULL || pin == Py_None) &&
            (pout == NULL || pout == Py_None)) {
            continue;
        }
        if ((r = as_rate(pin, in_rate)) != SCAN_OK) {
            return r;
        }
        if ((r = as_rate(pout, out_rate)) != SCAN_OK) {
            Py_CLEAR(*in_rate);
            return r;
        }
        return SCAN_OK;
    }
    *in_rate = Py_NewRef(Py_None);
    *out_rate = Py_NewRef(Py_None);
    return SCAN_OK;
}

/* The price LiteLLM uses for one side: litellm_params' own if truthy, else
 * the map's if not None, else 5.0.  *out a new reference. */
static int
price_of(PyObject *lp, PyObject *key, PyObject *map_rate, PyObject *five,
         PyObject **out)
{
    PyObject *v;
    int t, r = scan_number_at(lp, key, &v, &t);
    *out = NULL;
    if (r != SCAN_OK) {
        return r;
    }
    if (t) {
        *out = Py_NewRef(v);
    } else if (map_rate != Py_None) {
        *out = Py_NewRef(map_rate);
    } else {
        *out = Py_NewRef(five);
    }
    return SCAN_OK;
}

struct consts {
    PyObject *one, *zero, *five, *inf;
    PyObject *row_type; /* borrowed: the cost-map row class read as a dict */
};

static int
scan_one(PyObject *const *keys, PyObject *pair, PyObject *index,
         PyObject *minute, PyObject *tokens, PyObject *model_cost,
         const struct consts *c, PyObject *potential)
{
    PyObject *id, *entry, *dep, *lp, *mi, *m, *api_base;
    PyObject *tpm = NULL, *rpm = NULL, *map_in = NULL, *map_out = NULL;
    PyObject *cin = NULL, *cout = NULL, *cost = NULL;
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
        return SCAN_OK;
    }
    if (!str_keyed(dep) || !scan_dict(entry)) {
        return SCAN_NO;
    }
    /* litellm_params / model_info: LiteLLM reads them with .get(name, {})
     * (a None there raises: not plain) and through str_keyed views */
    if (scan_lookup(dep, keys[C_LITELLM_PARAMS], &lp) < 0 ||
        scan_lookup(dep, keys[C_MODEL_INFO], &mi) < 0) {
        return SCAN_ERR;
    }
    if ((lp != NULL && !str_keyed(lp)) || (mi != NULL && !str_keyed(mi))) {
        return SCAN_NO;
    }
    if ((r = scan_limit_of(dep, lp, mi, keys[C_TPM], c->inf, &tpm)) != SCAN_OK ||
        (r = scan_limit_of(dep, lp, mi, keys[C_RPM], c->inf, &rpm)) != SCAN_OK ||
        (r = map_rates(keys, lp, mi, model_cost, c->row_type, &map_in, &map_out)) !=
            SCAN_OK ||
        (r = price_of(lp, keys[C_IN_COST], map_in, c->five, &cin)) !=
            SCAN_OK ||
        (r = price_of(lp, keys[C_OUT_COST], map_out, c->five, &cout)) !=
            SCAN_OK) {
        goto done;
    }
    cost = PyNumber_Add(cin, cout);
    if (cost == NULL) {
        r = SCAN_ERR;
        goto done;
    }
    if (scan_lookup(entry, minute, &m) < 0) {
        r = SCAN_ERR;
        goto done;
    }
    if (m != NULL && !scan_dict(m)) {
        r = SCAN_NO;
        goto done;
    }
    if ((r = scan_counter_of(m, keys[C_RPM], c->zero, &rpm_now)) != SCAN_OK ||
        (r = scan_counter_of(m, keys[C_TPM], c->zero, &tpm_now)) != SCAN_OK) {
        goto done;
    }
    if (lp != NULL) {
        if (scan_lookup(lp, keys[C_API_BASE], &api_base) < 0) {
            r = SCAN_ERR;
            goto done;
        }
        /* LiteLLM hashes it (a dict key): anything but None / an exact str
         * may raise or run code */
        if (api_base != NULL && api_base != Py_None &&
            !PyUnicode_CheckExact(api_base)) {
            r = SCAN_NO;
            goto done;
        }
    }
    r = scan_admit(tpm_now, tokens, tpm, rpm_now, rpm, dep, cost,
                   potential);
done:
    Py_XDECREF(cost);
    Py_XDECREF(cin);
    Py_XDECREF(cout);
    Py_XDECREF(map_in);
    Py_XDECREF(map_out);
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    return r;
}

PyObject *
fl_ext_cost_scan(PyObject *const *keys, PyObject *const *args,
                 Py_ssize_t nargs)
{
    PyObject *items, *index, *minute, *tokens, *model_cost;
    PyObject *potential = NULL, *res = NULL;
    struct consts c = {NULL, NULL, NULL, NULL, NULL};
    int r = SCAN_OK;

    if ((nargs != 5 && nargs != 6) ||
        (nargs == 6 && args[5] != Py_None && !PyType_Check(args[5]))) {
        PyErr_SetString(PyExc_TypeError,
                        "cost_scan() expects (items, index, minute, "
                        "input_tokens, model_cost[, row_type])");
        goto error;
    }
    if (nargs == 6 && args[5] != Py_None) {
        c.row_type = args[5];
    }
    items = args[0];
    index = args[1];
    minute = args[2];
    tokens = args[3];
    model_cost = args[4];
    if (!PyList_CheckExact(items) || !PyDict_CheckExact(index) ||
        !PyUnicode_CheckExact(minute) || !PyLong_CheckExact(tokens) ||
        !scan_dict(model_cost)) {
        Py_RETURN_NONE;
    }
    potential = PyList_New(0);
    c.one = PyLong_FromLong(1);
    c.zero = PyLong_FromLong(0);
    c.five = PyFloat_FromDouble(5.0);
    c.inf = PyFloat_FromDouble(INFINITY);
    if (potential == NULL || c.one == NULL || c.zero == NULL ||
        c.five == NULL || c.inf == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(items) && r == SCAN_OK; k++) {
        r = scan_one(keys, PyList_GET_ITEM(items, k), index, minute, tokens,
                     model_cost, &c, potential);
    }
    if (r == SCAN_ERR) {
        goto error;
    }
    res = r == SCAN_OK ? Py_NewRef(potential) : Py_NewRef(Py_None);
    Py_DECREF(potential);
    Py_DECREF(c.one);
    Py_DECREF(c.zero);
    Py_DECREF(c.five);
    Py_DECREF(c.inf);
    return res;
error:
    Py_XDECREF(potential);
    Py_XDECREF(c.one);
    Py_XDECREF(c.zero);
    Py_XDECREF(c.five);
    Py_XDECREF(c.inf);
    return NULL;
}
