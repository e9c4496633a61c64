/* v1scan.c - usage_scan(): the selection loop of LiteLLM's usage-based
 * routing (v1: LowestTPMLoggingHandler.get_available_deployments,
 * litellm 1.108.7) in one C pass, for the plain case.
 *
 * usage_scan(tpm_dict, index, rpm_dict, input_tokens) takes the minute's
 * tpm map (after LiteLLM's fill: every candidate id present), the
 * candidates by id (a dict: str id -> the last candidate with that id, as
 * the no-break scan finds it), the minute's rpm map (or None) and the
 * request's input token count, and returns (deployment,) -- the candidate
 * LiteLLM's loop picks, or (None,) when it picks none:
 *
 *   lowest = inf; deployment = None
 *   for item, item_tpm in tpm_dict.items():
 *       dep = index.get(item); if dep is None: continue
 *       tpm = the first of dep["tpm"], litellm_params["tpm"],
 *             model_info["tpm"] that is not None, else inf   (rpm alike)
 *       if item_tpm + input_tokens > tpm or (rpm_dict is not None and
 *               item in rpm_dict) and rpm_dict[item] + 1 >= rpm:
 *           continue
 *       if item_tpm < lowest: lowest = item_tpm; deployment = dep
 *
 * The decisions are csrc/core/fl_select.c's (Python's arithmetic and
 * comparisons on C numbers).  None -- the caller then runs its Python
 * loop from the start -- outside the plain case: tpm_dict or rpm_dict not
 * an exact dict (rpm_dict may be None), a key of tpm_dict not an exact
 * str, a deployment, litellm_params or model_info not an exact dict, a
 * limit, usage value or token count not an exact int in the int64 range
 * or an exact float (None included: LiteLLM raises TypeError there), an
 * int sum outside int64.  Reads exact dicts with exact str keys only: no
 * Python code runs, nothing is written. */
#include "fl_scan.h"

#include <math.h>

enum { U_TPM, U_RPM, U_LITELLM_PARAMS, U_MODEL_INFO, U_COUNT };
static const char *const usage_text[U_COUNT] = {"tpm", "rpm", "litellm_params",
                                                "model_info"};

_Static_assert(U_COUNT == FL_EXT_USAGE_V1_KEYS, "fl_ext.h: FL_EXT_USAGE_V1_KEYS");

int
fl_ext_usage_v1_keys(PyObject **keys)
{
    return fl_ext_intern_keys(usage_text, U_COUNT, keys);
}

/* _limit_is_none: the first of dep[key], lp[key], mi[key] that is not None
 * (a 0 is a limit), else inf */
static int
limit_of(PyObject *dep, PyObject *lp, PyObject *mi, PyObject *key,
         struct fl_pynum *out)
{
    PyObject *const from[3] = {dep, lp, mi};
    for (int s = 0; s < 3; s++) {
        PyObject *v;
        if (from[s] == NULL) {
            continue;
        }
        if (scan_lookup(from[s], key, &v) < 0) {
            return SCAN_ERR;
        }
        if (v != NULL && v != Py_None) {
            return scan_pynum(v, out);
        }
    }
    *out = fl_pynum_float(INFINITY);
    return SCAN_OK;
}

PyObject *
fl_ext_usage_scan(PyObject *const *keys, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *tpm_dict, *index, *rpm_dict, *item, *item_tpm, *best = Py_None;
    struct fl_pynum tokens, lowest = fl_pynum_float(INFINITY);
    const struct fl_pynum one = fl_pynum_int(1);
    Py_ssize_t pos = 0;
    int r;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "usage_scan() expects (tpm_dict, index, rpm_dict, input_tokens)");
        return NULL;
    }
    tpm_dict = args[0];
    index = args[1];
    rpm_dict = args[2];
    if (!scan_dict(tpm_dict) || !PyDict_CheckExact(index) ||
        (rpm_dict != Py_None && !scan_dict(rpm_dict))) {
        Py_RETURN_NONE;
    }
    if ((r = scan_pynum(args[3], &tokens)) != SCAN_OK) {
        if (r == SCAN_ERR) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    while (PyDict_Next(tpm_dict, &pos, &item, &item_tpm)) {
        PyObject *dep, *lp, *mi, *used = NULL;
        struct fl_pynum v, tpm, rpm, u;
        int over = 0;
        if (!PyUnicode_CheckExact(item)) {
            Py_RETURN_NONE;
        }
        if (scan_lookup(index, item, &dep) < 0) {
            return NULL;
        }
        if (dep == NULL) {
            continue;
        }
        if (!scan_dict(dep)) {
            Py_RETURN_NONE;
        }
        if ((r = scan_subdict(dep, keys[U_LITELLM_PARAMS], &lp)) != SCAN_OK ||
            (r = scan_subdict(dep, keys[U_MODEL_INFO], &mi)) != SCAN_OK ||
            (r = limit_of(dep, lp, mi, keys[U_TPM], &tpm)) != SCAN_OK ||
            (r = limit_of(dep, lp, mi, keys[U_RPM], &rpm)) != SCAN_OK ||
            (r = scan_pynum(item_tpm, &v)) != SCAN_OK) {
            goto not_ok;
        }
        if (fl_select_exceeds(&v, &tokens, &tpm, 0, &over) != FL_OK) {
            Py_RETURN_NONE;
        }
        if (!over && rpm_dict != Py_None) {
            if (scan_lookup(rpm_dict, item, &used) < 0) {
                return NULL;
            }
            if (used != NULL) {
                if ((r = scan_pynum(used, &u)) != SCAN_OK) {
                    goto not_ok;
                }
                if (fl_select_exceeds(&u, &one, &rpm, 1, &over) != FL_OK) {
                    Py_RETURN_NONE;
                }
            }
        }
        if (over) {
            continue;
        }
        if (fl_pynum_lt(&v, &lowest)) {
            lowest = v;
            best = dep;
        }
    }
    return PyTuple_Pack(1, best);
not_ok:
    if (r == SCAN_ERR) {
        return NULL;
    }
    Py_RETURN_NONE;
}
