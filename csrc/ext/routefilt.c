/* routefilt.c - plain_deployments(deployments, marker_prefix): one pass in C
 * over a Router candidate list, answering whether every per-deployment
 * filter the routing component stands in for is a no-op on it.
 *
 * LiteLLM 1.108.7's Router runs, on every pick, Python filters that look at
 * each candidate and in the common case keep them all: strategy markers
 * (litellm_params.model under "auto_router/"), access windows and PTU
 * shares (model_info.access_windows / ptu_shares), routing order
 * (litellm_params.order / model_info.order) and the video narrowing (which
 * reads model_info.id).  The patches in fast_litellm.components.routing
 * return LiteLLM's own answer for that case when this function says a list
 * is "plain", and call LiteLLM's filters otherwise.
 *
 * A list is plain when it is an exact list or tuple whose every item d is an
 * exact dict with:
 *   - d["litellm_params"] an exact dict, whose "model" is absent, None, or
 *     an exact str not starting with marker_prefix, and whose "order" is
 *     absent or None;
 *   - "model_info" absent, or an exact dict whose "access_windows",
 *     "ptu_shares" and "order" are absent or None and whose "id" is absent,
 *     None, an exact str or an exact int.
 * Only exact builtin types are read, through the dict API with str keys:
 * no Python code runs (short of a non-str dict key whose hash collides
 * with one of these names, whose __eq__ LiteLLM's own .get() would call
 * too), so the answer has no side effects.  Anything else gives False (the
 * caller then runs LiteLLM's filters).
 */
#include "fl_ext.h"

enum { K_LITELLM_PARAMS, K_MODEL, K_ORDER, K_MODEL_INFO, K_ACCESS_WINDOWS,
       K_PTU_SHARES, K_ID, K_COUNT };
static const char *const key_text[K_COUNT] = {
    "litellm_params", "model", "order", "model_info", "access_windows",
    "ptu_shares", "id"};

_Static_assert(K_COUNT == FL_EXT_ROUTE_KEYS, "fl_ext.h: FL_EXT_ROUTE_KEYS");

int
fl_ext_route_keys(PyObject **keys)
{
    int k = 0;
    for (; k < K_COUNT; k++) {
        keys[k] = PyUnicode_InternFromString(key_text[k]);
        if (keys[k] == NULL) {
            goto error;
        }
    }
    return 0;
error:
    while (k-- > 0) {
        Py_CLEAR(keys[k]);
    }
    return -1;
}

/* d[key] (borrowed) or NULL when absent; -1 on an error. */
static int
get(PyObject *d, PyObject *key, PyObject **out)
{
    *out = PyDict_GetItemWithError(d, key);
    return *out == NULL && PyErr_Occurred() ? -1 : 0;
}

/* 1 when d[key] is absent or None, 0 otherwise, -1 on an error. */
static int
absent_or_none(PyObject *d, PyObject *key)
{
    PyObject *v;
    if (get(d, key, &v) < 0) {
        return -1;
    }
    return v == NULL || v == Py_None;
}

/* 1 plain, 0 not, -1 error (see the file comment). */
static int
plain_one(PyObject *const *keys, PyObject *d, PyObject *prefix)
{
    PyObject *lp, *model, *mi, *id;
    int r;
    if (!PyDict_CheckExact(d)) {
        return 0;
    }
    if (get(d, keys[K_LITELLM_PARAMS], &lp) < 0) {
        return -1;
    }
    if (lp == NULL || !PyDict_CheckExact(lp)) {
        return 0;
    }
    if (get(lp, keys[K_MODEL], &model) < 0) {
        return -1;
    }
    if (model != NULL && model != Py_None) {
        if (!PyUnicode_CheckExact(model)) {
            return 0;
        }
        r = (int)PyUnicode_Tailmatch(model, prefix, 0, PY_SSIZE_T_MAX, -1);
        if (r != 0) {
            return r < 0 ? -1 : 0; /* a marker */
        }
    }
    if ((r = absent_or_none(lp, keys[K_ORDER])) != 1) {
        return r;
    }
    if (get(d, keys[K_MODEL_INFO], &mi) < 0) {
        return -1;
    }
    if (mi == NULL) {
        return 1;
    }
    if (!PyDict_CheckExact(mi)) {
        return 0;
    }
    if ((r = absent_or_none(mi, keys[K_ACCESS_WINDOWS])) != 1 ||
        (r = absent_or_none(mi, keys[K_PTU_SHARES])) != 1 ||
        (r = absent_or_none(mi, keys[K_ORDER])) != 1) {
        return r;
    }
    if (get(mi, keys[K_ID], &id) < 0) {
        return -1;
    }
    return id == NULL || id == Py_None || PyUnicode_CheckExact(id) ||
           PyLong_CheckExact(id);
}

PyObject *
fl_ext_plain_deployments(PyObject *const *keys, PyObject *const *args,
                         Py_ssize_t nargs)
{
    PyObject *seq, *prefix;
    Py_ssize_t n;
    if (nargs != 2 || !PyUnicode_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_deployments() expects (deployments, str)");
        goto error;
    }
    seq = args[0];
    prefix = args[1];
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        Py_RETURN_FALSE;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        /* items read by index each time: the list cannot change under the
         * loop (see above) */
        int r = plain_one(keys, PySequence_Fast_GET_ITEM(seq, i), prefix);
        if (r < 0) {
            goto error;
        }
        if (r == 0) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
error:
    return NULL;
}
