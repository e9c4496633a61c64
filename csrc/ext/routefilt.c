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
 * exact dict with (extra model_info keys given after the prefix must be
 * absent or None too; with None for the prefix, litellm_params is not
 * looked at, for filters that only read model_info):
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
       K_PTU_SHARES, K_ID, K_MODEL_NAME, K_COUNT };
static const char *const key_text[K_COUNT] = {
    "litellm_params", "model", "order", "model_info", "access_windows",
    "ptu_shares", "id", "model_name"};

_Static_assert(K_COUNT == FL_EXT_ROUTE_KEYS, "fl_ext.h: FL_EXT_ROUTE_KEYS");

/* the kinds of test whose verdicts depmemo.c keeps */
enum { MEMO_PLAIN, MEMO_NAMED, MEMO_WEIGHT };

int
fl_ext_route_keys(PyObject **keys)
{
    return fl_ext_intern_keys(key_text, K_COUNT, keys);
}

/* d[key] (borrowed) or NULL when absent; -1 on an error. */
static int
get(PyObject *d, PyObject *key, PyObject **out)
{
    *out = PyDict_GetItemWithError(d, key);
    return *out == NULL && PyErr_Occurred() ? -1 : 0;
}

/* 1 when k (an exact str) equals `name` (an exact str). */
static inline int
same_key(PyObject *k, PyObject *name)
{
    return k == name ||
           (PyUnicode_GET_LENGTH(k) == PyUnicode_GET_LENGTH(name) &&
            PyUnicode_Compare(k, name) == 0);
}

/* The litellm_params half of the test: an exact dict whose "model" is not
 * a marker and which has no "order".  1, 0 or -1 as plain_one. */
static int
plain_params(PyObject *const *keys, PyObject *d, PyObject *prefix)
{
    PyObject *lp, *v;
    int r;
    if (get(d, keys[K_LITELLM_PARAMS], &lp) < 0) {
        return -1;
    }
    if (lp == NULL || !fl_ext_plain_dict(lp)) {
        return 0;
    }
    /* litellm_params holds a dozen keys once the Router has filled in its
     * defaults: two probes cost less than a walk */
    if (get(lp, keys[K_MODEL], &v) < 0) {
        return -1;
    }
    if (v != NULL && v != Py_None) {
        if (!PyUnicode_CheckExact(v)) {
            return 0;
        }
        r = (int)PyUnicode_Tailmatch(v, prefix, 0, PY_SSIZE_T_MAX, -1);
        if (r != 0) {
            return r < 0 ? -1 : 0; /* a marker */
        }
    }
    if (get(lp, keys[K_ORDER], &v) < 0) {
        return -1;
    }
    return v == NULL || v == Py_None;
}

/* 1 plain, 0 not, -1 error (see the file comment); `extra[0..n_extra)`:
 * more model_info keys that must be absent or None.  model_info is walked
 * once (it holds a few keys) instead of being probed for every name; a key
 * there that is not an exact str makes the deployment not plain (a str
 * subclass could equal one of the names). */
static int
plain_one(PyObject *const *keys, PyObject *d, PyObject *prefix,
          PyObject *const *extra, Py_ssize_t n_extra)
{
    PyObject *mi, *k, *v;
    Py_ssize_t pos = 0;
    int r;
    if (!fl_ext_plain_dict(d)) {
        return 0;
    }
    if (prefix != Py_None) {
        if ((r = plain_params(keys, d, prefix)) != 1) {
            return r;
        }
    }
    if (get(d, keys[K_MODEL_INFO], &mi) < 0) {
        return -1;
    }
    if (mi == NULL) {
        return 1;
    }
    if (!fl_ext_plain_dict(mi)) {
        return 0;
    }
    pos = 0;
    while (PyDict_Next(mi, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) {
            return 0;
        }
        if (v == Py_None) {
            continue; /* None is what every name below allows */
        }
        if (same_key(k, keys[K_ID])) {
            if (!PyUnicode_CheckExact(v) && !PyLong_CheckExact(v)) {
                return 0;
            }
            continue;
        }
        if (same_key(k, keys[K_ACCESS_WINDOWS]) ||
            same_key(k, keys[K_PTU_SHARES]) || same_key(k, keys[K_ORDER])) {
            return 0;
        }
        for (Py_ssize_t e = 0; e < n_extra; e++) {
            if (same_key(k, extra[e])) {
                return 0;
            }
        }
    }
    return 1;
}

/* the verdict of test `sig` on d: remembered, or computed by plain_one
 * (and then remembered); 1, 0 or -1 */
static int
plain_memo(PyObject *const *keys, fl_depmemo *memo, int sig, PyObject *d,
           PyObject *prefix, PyObject *const *extra, Py_ssize_t n_extra)
{
    fl_depmemo_snapshot snap;
    int r = fl_depmemo_get(memo, d, sig, NULL);
    if (r >= 0) {
        return r;
    }
    if (sig >= 0 &&
        fl_depmemo_snap(keys[K_LITELLM_PARAMS], keys[K_MODEL_INFO], d, &snap) < 0) {
        return -1;
    }
    r = plain_one(keys, d, prefix, extra, n_extra);
    if (r >= 0 && sig >= 0 && fl_depmemo_put(memo, &snap, sig, r, 0.0) < 0) {
        return -1;
    }
    return r;
}

/* the dicts a whole-list record snapshots below each deployment: subkeys
 * filled with the litellm_params and model_info names */
static PyObject *const *
route_subkeys(PyObject *const *keys, PyObject **subkeys)
{
    subkeys[0] = keys[K_LITELLM_PARAMS];
    subkeys[1] = keys[K_MODEL_INFO];
    return subkeys;
}

/* 1 when every item of seq has a remembered verdict of test sig that
 * stands under its current tags and equals `want` */
static int
all_known(fl_depmemo *memo, int sig, PyObject *seq, int want)
{
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        if (fl_depmemo_get(memo, PySequence_Fast_GET_ITEM(seq, i), sig, NULL) != want) {
            return 0;
        }
    }
    return 1;
}

PyObject *
fl_ext_plain_deployments(PyObject *const *keys, fl_depmemo *memo,
                         PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *seq, *prefix, *subkeys[FL_DEPMEMO_SUBS];
    Py_ssize_t n;
    int sig;
    if (nargs < 2 || (args[1] != Py_None && !PyUnicode_CheckExact(args[1]))) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_deployments() expects (deployments, str | None, "
                        "*model_info_keys)");
        goto error;
    }
    for (Py_ssize_t k = 2; k < nargs; k++) {
        if (!PyUnicode_CheckExact(args[k])) {
            PyErr_SetString(PyExc_TypeError,
                            "plain_deployments(): model_info keys are str");
            goto error;
        }
    }
    seq = args[0];
    prefix = args[1];
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        Py_RETURN_FALSE;
    }
    sig = fl_depmemo_sig(memo, MEMO_PLAIN, 0, args + 1, nargs - 1);
    if (sig == FL_DEPMEMO_ERROR) {
        goto error;
    }
    if (fl_depmemo_list_find(memo, sig, seq, NULL) != NULL) {
        Py_RETURN_TRUE; /* the same items, unchanged, as a list said plain */
    }
    n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        int r;
        if (PySequence_Fast_GET_SIZE(seq) != n) {
            Py_RETURN_FALSE; /* (a colliding key's __eq__ changed the list) */
        }
        r = plain_memo(keys, memo, sig, PySequence_Fast_GET_ITEM(seq, i), prefix, args + 2,
                       nargs - 2);
        if (r < 0) {
            goto error;
        }
        if (r == 0) {
            Py_RETURN_FALSE;
        }
    }
    /* remembered as a whole only when every deployment's own verdict stands
     * under its current tags (recorded before its test ran: code run by a
     * later test that changed an earlier deployment shows here) */
    if (n >= FL_MEMO_LIST_MIN && all_known(memo, sig, seq, 1) &&
        fl_depmemo_list_put(memo, sig, seq, route_subkeys(keys, subkeys), NULL) < 0) {
        goto error;
    }
    Py_RETURN_TRUE;
error:
    return NULL;
}

/* named_deployments' test on one deployment: 1 it is plain and its
 * model_name is `name`, 0 plain and another name, 2 not plain, -1 error */
static int
named_one(PyObject *const *keys, PyObject *d, PyObject *name)
{
    PyObject *dn, *mi;
    if (!fl_ext_plain_dict(d)) {
        return 2;
    }
    if (get(d, keys[K_MODEL_NAME], &dn) < 0) {
        return -1;
    }
    if (dn == NULL || !PyUnicode_CheckExact(dn)) {
        return 2;
    }
    if (get(d, keys[K_MODEL_INFO], &mi) < 0) {
        return -1;
    }
    if (mi != NULL && mi != Py_None && !fl_ext_plain_dict(mi)) {
        return 2;
    }
    /* (two exact strs: Compare cannot fail) */
    return PyUnicode_Compare(dn, name) == 0;
}

/* named_deployments(model_list, indices, model_name): what LiteLLM's
 * Router.get_all_deployments(model_name) returns (no team, no alias) for
 * the index list the Router keeps for that name: [model_list[i] for i in
 * indices if model_list[i]["model_name"] == model_name], or None when
 * anything is not the plain case (then LiteLLM's function answers):
 * model_list and indices exact lists, every index an exact int in range,
 * every deployment an exact dict with an exact str "model_name" and a
 * "model_info" that is absent, None or an exact dict (LiteLLM reads
 * (model_info or {}).get("team_id") for the ones that match). */
/* remember named_deployments' answer res for models and indices: 0 or -1 */
static int
remember_named(PyObject *const *keys, fl_depmemo *memo, int sig, PyObject *models,
               PyObject *indices, PyObject *res)
{
    PyObject *subkeys[FL_DEPMEMO_SUBS];
    PyObject *ix, *got, *extra;
    int rc;
    if (sig < 0 || PyList_GET_SIZE(models) < FL_MEMO_LIST_MIN) {
        return 0;
    }
    /* the answer again from the verdicts standing now (see plain_deployments) */
    for (Py_ssize_t k = 0, j = 0; k <= PyList_GET_SIZE(indices); k++) {
        PyObject *d;
        Py_ssize_t i;
        int r;
        if (k == PyList_GET_SIZE(indices)) {
            if (j != PyList_GET_SIZE(res)) {
                return 0;
            }
            break;
        }
        i = PyLong_AsSsize_t(PyList_GET_ITEM(indices, k)); /* (ints checked) */
        if (i < 0 || i >= PyList_GET_SIZE(models)) {
            PyErr_Clear();
            return 0;
        }
        d = PyList_GET_ITEM(models, i);
        r = fl_depmemo_get(memo, d, sig, NULL);
        if (r < 0 || (r == 1 && (j >= PyList_GET_SIZE(res) || PyList_GET_ITEM(res, j++) != d))) {
            return 0;
        }
    }
    ix = PyList_AsTuple(indices);
    got = ix == NULL ? NULL : PyList_AsTuple(res);
    extra = got == NULL ? NULL : PyTuple_Pack(2, ix, got);
    Py_XDECREF(ix);
    Py_XDECREF(got);
    if (extra == NULL) {
        return -1;
    }
    rc = fl_depmemo_list_put(memo, sig, models, route_subkeys(keys, subkeys), extra);
    Py_DECREF(extra);
    return rc;
}

PyObject *
fl_ext_named_deployments(PyObject *const *keys, fl_depmemo *memo,
                         PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *res = NULL;
    PyObject *models, *indices, *name, *rec;
    int sig;
    if (nargs != 3 || !PyUnicode_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "named_deployments() expects (list, list, str)");
        goto error;
    }
    models = args[0];
    indices = args[1];
    name = args[2];
    if (!PyList_CheckExact(models) || !PyList_CheckExact(indices)) {
        Py_RETURN_NONE;
    }
    sig = fl_depmemo_sig(memo, MEMO_NAMED, 0, &name, 1);
    if (sig == FL_DEPMEMO_ERROR) {
        goto error;
    }
    /* the same model list, unchanged, and the same index objects as a list
     * answered: that answer (a new list of it) */
    rec = fl_depmemo_list_find(memo, sig, models, indices);
    if (rec != NULL && PyTuple_GET_SIZE(rec) == 3) {
        return PySequence_List(PyTuple_GET_ITEM(rec, 2));
    }
    res = PyList_New(0);
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(indices); k++) {
        PyObject *ix = PyList_GET_ITEM(indices, k);
        PyObject *d;
        Py_ssize_t i;
        int r;
        if (!PyLong_CheckExact(ix)) {
            goto plain_no;
        }
        i = PyLong_AsSsize_t(ix);
        if (i == -1 && PyErr_Occurred()) {
            PyErr_Clear(); /* a huge index: LiteLLM's IndexError */
            goto plain_no;
        }
        if (i < 0 || i >= PyList_GET_SIZE(models)) {
            goto plain_no;
        }
        d = PyList_GET_ITEM(models, i);
        r = fl_depmemo_get(memo, d, sig, NULL);
        if (r < 0) {
            fl_depmemo_snapshot snap;
            if (sig >= 0 && fl_depmemo_snap(keys[K_LITELLM_PARAMS],
                                            keys[K_MODEL_INFO], d, &snap) < 0) {
                goto error;
            }
            if ((r = named_one(keys, d, name)) < 0) {
                goto error;
            }
            if (r == 2) {
                goto plain_no;
            }
            if (sig >= 0 && fl_depmemo_put(memo, &snap, sig, r, 0.0) < 0) {
                goto error;
            }
        }
        if (r == 1 && PyList_Append(res, d) < 0) {
            goto error;
        }
    }
    if (remember_named(keys, memo, sig, models, indices, res) < 0) {
        goto error;
    }
    return res;
plain_no:
    Py_DECREF(res);
    Py_RETURN_NONE;
error:
    Py_XDECREF(res);
    return NULL;
}

/* metric_weights' test on one deployment: 1 with the weight in *w, 0 not
 * plain, -1 error */
static int
weight_one(PyObject *const *keys, PyObject *d, PyObject *metric, double *w)
{
    PyObject *lp, *v;
    *w = 0.0;
    if (!fl_ext_plain_dict(d)) {
        return 0;
    }
    if (get(d, keys[K_LITELLM_PARAMS], &lp) < 0) {
        return -1;
    }
    if (lp == NULL || lp == Py_None) {
        return 1;
    }
    if (!fl_ext_plain_dict(lp)) {
        return 0;
    }
    if (get(lp, metric, &v) < 0) {
        return -1;
    }
    if (v == NULL || v == Py_None) {
        return 1;
    }
    if (PyFloat_CheckExact(v)) {
        *w = PyFloat_AS_DOUBLE(v);
        return 1;
    }
    if (PyLong_CheckExact(v) || PyBool_Check(v)) {
        *w = PyLong_AsDouble(v);
        if (*w == -1.0 && PyErr_Occurred()) {
            PyErr_Clear(); /* too large: LiteLLM's OverflowError */
            return 0;
        }
        return 1;
    }
    return 0; /* LiteLLM raises (or a subclass converts) */
}

/* metric_weights(deployments, metric): LiteLLM's simple-shuffle weights
 * tuple(_metric_weight(d, metric) for d in deployments), or None when a
 * deployment is not the plain case (LiteLLM's function then answers, and
 * raises where it raises): an exact list or tuple of exact dicts whose
 * "litellm_params" is absent, None or an exact dict, whose value for
 * `metric` is absent, None, an exact int or bool that converts to a
 * float, or an exact float. */
PyObject *
fl_ext_metric_weights(PyObject *const *keys, fl_depmemo *memo,
                      PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *res = NULL;
    PyObject *seq, *metric, *rec, *subkeys[FL_DEPMEMO_SUBS];
    Py_ssize_t n;
    int sig, rc;
    if (nargs != 2 || !PyUnicode_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "metric_weights() expects (deployments, str)");
        goto error;
    }
    seq = args[0];
    metric = args[1];
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        Py_RETURN_NONE;
    }
    sig = fl_depmemo_sig(memo, MEMO_WEIGHT, 1, &metric, 1);
    if (sig == FL_DEPMEMO_ERROR) {
        goto error;
    }
    /* the same items, unchanged, as a list answered: that answer (the same
     * tuple: it is immutable, and its callers key their own steps on it) */
    rec = fl_depmemo_list_find(memo, sig, seq, NULL);
    if (rec != NULL && PyTuple_GET_SIZE(rec) == 2) {
        return Py_NewRef(PyTuple_GET_ITEM(rec, 1));
    }
    n = PySequence_Fast_GET_SIZE(seq);
    res = PyTuple_New(n);
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *d, *f;
        double w = 0.0;
        int r;
        if (PySequence_Fast_GET_SIZE(seq) != n) {
            Py_DECREF(res); /* (a colliding key's __eq__ changed the list) */
            Py_RETURN_NONE;
        }
        d = PySequence_Fast_GET_ITEM(seq, k);
        r = fl_depmemo_get(memo, d, sig, &w);
        if (r < 0) {
            fl_depmemo_snapshot snap;
            if (sig >= 0 && fl_depmemo_snap(keys[K_LITELLM_PARAMS],
                                            keys[K_MODEL_INFO], d, &snap) < 0) {
                goto error;
            }
            if ((r = weight_one(keys, d, metric, &w)) < 0) {
                goto error;
            }
            if (r == 0) {
                goto plain_no;
            }
            if (sig >= 0 && fl_depmemo_put(memo, &snap, sig, 1, w) < 0) {
                goto error;
            }
        }
        f = PyFloat_FromDouble(w);
        if (f == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(res, k, f);
    }
    /* as a whole only while every verdict (and so every weight) stands:
     * code run by a later item's lookups that changed an earlier one shows
     * here (see plain_deployments) */
    if (n >= FL_MEMO_LIST_MIN && all_known(memo, sig, seq, 1)) {
        PyObject *extra = PyTuple_Pack(1, res);
        if (extra == NULL) {
            goto error;
        }
        rc = fl_depmemo_list_put(memo, sig, seq, route_subkeys(keys, subkeys), extra);
        Py_DECREF(extra);
        if (rc < 0) {
            goto error;
        }
    }
    return res;
plain_no:
    Py_DECREF(res);
    Py_RETURN_NONE;
error:
    Py_XDECREF(res);
    return NULL;
}

/* ids_present's test on one deployment: 1, 0 or -1 */
static int
id_readable(PyObject *const *keys, PyObject *d)
{
    PyObject *mi, *id;
    if (!fl_ext_plain_dict(d)) {
        return 0;
    }
    if (get(d, keys[K_MODEL_INFO], &mi) < 0) {
        return -1;
    }
    if (mi == NULL || !fl_ext_plain_dict(mi)) {
        return 0;
    }
    if (get(mi, keys[K_ID], &id) < 0) {
        return -1;
    }
    return id != NULL && (id == Py_None || PyUnicode_CheckExact(id) ||
                          PyLong_CheckExact(id));
}

PyObject *
fl_ext_ids_present(PyObject *const *keys, fl_depmemo *memo, PyObject *seq)
{
    PyObject *subkeys[FL_DEPMEMO_SUBS];
    Py_ssize_t n;
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        Py_RETURN_FALSE;
    }
    if (fl_depmemo_list_find(memo, FL_DEPMEMO_IDS, seq, NULL) != NULL) {
        Py_RETURN_TRUE; /* the same items, unchanged, as a list said yes to */
    }
    n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d;
        fl_depmemo_snapshot snap;
        int r;
        if (PySequence_Fast_GET_SIZE(seq) != n) {
            Py_RETURN_FALSE; /* (a colliding key's __eq__ changed the list) */
        }
        d = PySequence_Fast_GET_ITEM(seq, i);
        r = fl_depmemo_get(memo, d, FL_DEPMEMO_IDS, NULL);
        if (r < 0) {
            if (fl_depmemo_snap(keys[K_LITELLM_PARAMS], keys[K_MODEL_INFO], d,
                                &snap) < 0) {
                goto error;
            }
            if ((r = id_readable(keys, d)) < 0) {
                goto error;
            }
            if (fl_depmemo_put(memo, &snap, FL_DEPMEMO_IDS, r, 0.0) < 0) {
                goto error;
            }
        }
        if (r == 0) {
            Py_RETURN_FALSE;
        }
    }
    /* as a whole only while every verdict stands (see plain_deployments) */
    if (n >= FL_MEMO_LIST_MIN && all_known(memo, FL_DEPMEMO_IDS, seq, 1) &&
        fl_depmemo_list_put(memo, FL_DEPMEMO_IDS, seq, route_subkeys(keys, subkeys), NULL) < 0) {
        goto error;
    }
    Py_RETURN_TRUE;
error:
    return NULL;
}

/* scaled(weights, largest): tuple(w / largest for w in weights) for an
 * exact tuple of exact floats and an exact float largest that is not 0
 * (IEEE division, as Python's float division when it does not raise); None
 * for anything else (the caller divides in Python). */
PyObject *
fl_ext_scaled(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *res = NULL;
    PyObject *weights;
    double largest;
    Py_ssize_t n;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "scaled() expects (weights, largest)");
        goto error;
    }
    weights = args[0];
    if (!PyTuple_CheckExact(weights) || !PyFloat_CheckExact(args[1])) {
        Py_RETURN_NONE;
    }
    largest = PyFloat_AS_DOUBLE(args[1]);
    if (largest == 0.0) {
        Py_RETURN_NONE; /* Python raises ZeroDivisionError */
    }
    n = PyTuple_GET_SIZE(weights);
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!PyFloat_CheckExact(PyTuple_GET_ITEM(weights, k))) {
            Py_RETURN_NONE;
        }
    }
    res = PyTuple_New(n);
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *f = PyFloat_FromDouble(
            PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(weights, k)) / largest);
        if (f == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(res, k, f);
    }
    return res;
error:
    Py_XDECREF(res);
    return NULL;
}
