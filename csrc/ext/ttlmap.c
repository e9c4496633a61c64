/* ttlmap.c - the heap type `TTLMap`: counters with expiry (csrc/core/fl_ttlmap).
 *
 *   TTLMap(hash_key: bytes, mem_cap: int = 0)   hash_key: 16 bytes
 *   .set(key, value, now, ttl) -> int    0 stored, 1 not storable here
 *                                        (key or value outside the map's
 *                                        types or limits), 2 full (mem_cap)
 *   .get(key, now) -> int | float | str | None
 *   .incr(key, delta, now, ttl) -> int | None   None: do it the general way
 *   .expiry(key) -> float | None,  .delete(key) -> bool,  .clear()
 *   .sweep(now),  .reclaim() -> int,  .items() -> list[(key, exp, value)]
 *   len(map),  .memory
 *   .requests_step(prefix, limit, now_int, window_size, now)
 *       -> None (not this case: do it the general way) or
 *          (over, counter, window_start, reset, sets_done, complete)
 *       the limiter's RPM pass on one descriptor
 *       (csrc/core/fl_rlstep.h says which gets and sets, in which order);
 *       complete False: a set met the memory cap (or no memory) after
 *       sets_done of the planned sets - the caller makes the rest.
 *   .get_many(keys, now, objects) -> list | None   CounterCache's batch get
 *   .window_pairs(keys, now_int, window_size, now)   the sliding window over
 *       [P1"window", P1"requests", ...] pairs;
 *   .reserve_all(metas, now_int, now)   the all-or-nothing reservation of
 *       several counters (see each function below)
 *
 * Keys are str (taken as UTF-8).  Any other key, or a str that has no
 * UTF-8 form (lone surrogates) or is empty or longer than FL_TTLMAP_MAX_KEY
 * bytes, is "not storable": set answers 1, get and expiry None, delete
 * False.
 * Values are int (exactly int, within int64), float (exactly float) or str.
 * Every call runs with the GIL held: each is a fraction of a microsecond.
 */
#include "fl_ext.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fl_rlstep.h"
#include "fl_ttlmap.h"

typedef struct {
    PyObject_HEAD
    struct fl_ttlmap *map;
} TTLMapObject;

enum { SET_STORED = 0, SET_NOT_STORABLE = 1, SET_FULL = 2 };

static PyObject *
status_error(enum fl_status st)
{
    if (st == FL_ENOMEM) {
        return PyErr_NoMemory();
    }
    PyErr_Format(PyExc_ValueError, "ttlmap: invalid argument (status %d)",
                 (int)st);
    return NULL;
}

/* The UTF-8 of a str key: 1 with *buf and *len; 0 (no exception) when the key
 * is not a str, has no UTF-8 form or is out of the map's limits: such a key
 * is never in the map; -1 with an exception (memory). */
static int
key_utf8(PyObject *key, const char **buf, Py_ssize_t *len)
{
    if (!PyUnicode_CheckExact(key)) {
        return 0;
    }
    *buf = PyUnicode_AsUTF8AndSize(key, len);
    if (*buf == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    if (*len == 0 || (size_t)*len > FL_TTLMAP_MAX_KEY) {
        return 0;
    }
    return 1;
}

static PyObject *
value_to_py(const struct fl_ttl_value *v)
{
    switch (v->kind) {
    case FL_TTL_INT:
        return PyLong_FromLongLong(v->i);
    case FL_TTL_FLOAT:
        return PyFloat_FromDouble(v->f);
    case FL_TTL_STR:
        return PyUnicode_DecodeUTF8((const char *)v->s, (Py_ssize_t)v->slen,
                                    "strict");
    }
    PyErr_SetString(PyExc_SystemError, "ttlmap: unknown value kind");
    return NULL;
}

static PyObject *
TTLMap_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"hash_key", "mem_cap", NULL};
    Py_buffer hk = {0};
    int have_hk = 0;
    Py_ssize_t mem_cap = 0;
    TTLMapObject *self = NULL;
    struct fl_ttlmap *map = NULL;
    enum fl_status st;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*|n:TTLMap", kwlist, &hk,
                                     &mem_cap)) {
        goto error;
    }
    have_hk = 1;
    if (hk.len != 16) {
        PyErr_SetString(PyExc_ValueError, "hash_key must be 16 bytes");
        goto error;
    }
    if (mem_cap < 0) {
        PyErr_SetString(PyExc_ValueError, "mem_cap must be >= 0");
        goto error;
    }
    st = fl_ttlmap_new((const unsigned char *)hk.buf, (size_t)mem_cap, &map);
    if (st != FL_OK) {
        if (st == FL_EINVAL) {
            PyErr_SetString(PyExc_ValueError,
                            "mem_cap is smaller than an empty map");
        } else {
            status_error(st);
        }
        goto error;
    }
    self = (TTLMapObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto error;
    }
    self->map = map;
    PyBuffer_Release(&hk);
    return (PyObject *)self;
error:
    fl_ttlmap_free(map);
    if (have_hk) {
        PyBuffer_Release(&hk);
    }
    return NULL;
}

static void
TTLMap_dealloc(TTLMapObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    fl_ttlmap_free(self->map);
    self->map = NULL;
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Convert a value for the map: 1 with *v, 0 when it is not storable here,
 * -1 with an exception. */
static int
value_from_py(PyObject *value, struct fl_ttl_value *v)
{
    if (PyLong_CheckExact(value)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow) {
            return 0;
        }
        v->kind = FL_TTL_INT;
        v->i = (int64_t)x;
        return 1;
    }
    if (PyFloat_CheckExact(value)) {
        v->kind = FL_TTL_FLOAT;
        v->f = PyFloat_AS_DOUBLE(value);
        return 1;
    }
    if (PyUnicode_CheckExact(value)) {
        Py_ssize_t n = 0;
        const char *s = PyUnicode_AsUTF8AndSize(value, &n);
        if (s == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                return -1;
            }
            PyErr_Clear();
            return 0;
        }
        if ((size_t)n > FL_TTLMAP_MAX_STR) {
            return 0;
        }
        v->kind = FL_TTL_STR;
        v->s = (const unsigned char *)s;
        v->slen = (size_t)n;
        return 1;
    }
    return 0;
}

static PyObject *
TTLMap_set(TTLMapObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const char *k = NULL;
    Py_ssize_t klen = 0;
    struct fl_ttl_value v = {0};
    double now, ttl;
    int r;
    enum fl_status st;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "set(key, value, now, ttl) takes 4 arguments");
        return NULL;
    }
    now = PyFloat_AsDouble(args[2]);
    if (now == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    ttl = PyFloat_AsDouble(args[3]);
    if (ttl == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    r = key_utf8(args[0], &k, &klen);
    if (r <= 0) {
        return r < 0 ? NULL : PyLong_FromLong(SET_NOT_STORABLE);
    }
    r = value_from_py(args[1], &v);
    if (r <= 0) {
        return r < 0 ? NULL : PyLong_FromLong(SET_NOT_STORABLE);
    }
    if (!isfinite(now) || !isfinite(ttl)) {
        return PyLong_FromLong(SET_NOT_STORABLE);
    }
    st = fl_ttlmap_set(self->map, k, (size_t)klen, &v, now, ttl);
    if (st == FL_OK) {
        return PyLong_FromLong(SET_STORED);
    }
    if (st == FL_EFULL) {
        return PyLong_FromLong(SET_FULL);
    }
    if (st == FL_EINVAL) {
        return PyLong_FromLong(SET_NOT_STORABLE);
    }
    return status_error(st);
}

static PyObject *
TTLMap_get(TTLMapObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const char *k = NULL;
    Py_ssize_t klen = 0;
    struct fl_ttl_value v = {0};
    double now;
    int r;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "get(key, now) takes 2 arguments");
        return NULL;
    }
    now = PyFloat_AsDouble(args[1]);
    if (now == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    r = key_utf8(args[0], &k, &klen);
    if (r <= 0) {
        if (r < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    r = fl_ttlmap_get(self->map, k, (size_t)klen, now, &v, NULL);
    if (r != 1) {
        Py_RETURN_NONE;
    }
    return value_to_py(&v);
}

static PyObject *
TTLMap_incr(TTLMapObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const char *k = NULL;
    Py_ssize_t klen = 0;
    long long delta;
    int overflow = 0;
    double now, ttl;
    int64_t result = 0;
    int r;
    enum fl_status st;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "incr(key, delta, now, ttl) takes 4 arguments");
        return NULL;
    }
    if (!PyLong_CheckExact(args[1])) {
        Py_RETURN_NONE;
    }
    delta = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (delta == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow) {
        Py_RETURN_NONE;
    }
    now = PyFloat_AsDouble(args[2]);
    if (now == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    ttl = PyFloat_AsDouble(args[3]);
    if (ttl == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (!isfinite(now) || !isfinite(ttl)) {
        Py_RETURN_NONE;
    }
    r = key_utf8(args[0], &k, &klen);
    if (r <= 0) {
        if (r < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    st = fl_ttlmap_incr_int(self->map, k, (size_t)klen, (int64_t)delta, now,
                            ttl, &result);
    if (st == FL_OK) {
        return PyLong_FromLongLong(result);
    }
    if (st == FL_ENOMEM) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE; /* FL_EAGAIN, FL_EFULL, FL_EINVAL: the general way */
}

static PyObject *
TTLMap_expiry(TTLMapObject *self, PyObject *key)
{
    const char *k = NULL;
    Py_ssize_t klen = 0;
    double exp = 0.0;
    int r = key_utf8(key, &k, &klen);

    if (r <= 0) {
        if (r < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (fl_ttlmap_expiry(self->map, k, (size_t)klen, &exp) != 1) {
        Py_RETURN_NONE;
    }
    return PyFloat_FromDouble(exp);
}

static PyObject *
TTLMap_delete(TTLMapObject *self, PyObject *key)
{
    const char *k = NULL;
    Py_ssize_t klen = 0;
    int r = key_utf8(key, &k, &klen);

    if (r <= 0) {
        if (r < 0) {
            return NULL;
        }
        Py_RETURN_FALSE;
    }
    return PyBool_FromLong(fl_ttlmap_delete(self->map, k, (size_t)klen));
}

static PyObject *
TTLMap_clear(TTLMapObject *self, PyObject *Py_UNUSED(arg))
{
    fl_ttlmap_clear(self->map);
    Py_RETURN_NONE;
}

static PyObject *
TTLMap_sweep(TTLMapObject *self, PyObject *arg)
{
    double now = PyFloat_AsDouble(arg);
    if (now == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (isfinite(now)) {
        fl_ttlmap_sweep(self->map, now);
    }
    Py_RETURN_NONE;
}

static PyObject *
TTLMap_reclaim(TTLMapObject *self, PyObject *Py_UNUSED(arg))
{
    return PyLong_FromSize_t(fl_ttlmap_reclaim(self->map));
}

static PyObject *
TTLMap_items(TTLMapObject *self, PyObject *Py_UNUSED(arg))
{
    PyObject *list = NULL;
    PyObject *item = NULL;
    size_t pos = 0;
    const unsigned char *k = NULL;
    size_t klen = 0;
    double exp = 0.0;
    struct fl_ttl_value v = {0};

    list = PyList_New(0);
    if (list == NULL) {
        goto error;
    }
    while (fl_ttlmap_next(self->map, &pos, &k, &klen, &exp, &v)) {
        PyObject *part = NULL;
        item = PyTuple_New(3);
        if (item == NULL) {
            goto error;
        }
        part = PyUnicode_DecodeUTF8((const char *)k, (Py_ssize_t)klen,
                                    "strict");
        if (part == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(item, 0, part);
        part = PyFloat_FromDouble(exp);
        if (part == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(item, 1, part);
        part = value_to_py(&v);
        if (part == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(item, 2, part);
        if (PyList_Append(list, item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
    }
    return list;
error:
    Py_XDECREF(item);
    Py_XDECREF(list);
    return NULL;
}

/* An exact int within int64: 1 with *v; 0 (no exception) outside int64;
 * -1 with an exception (TypeError for anything but an exact int). */
static int
step_int(PyObject *o, const char *what, int64_t *v)
{
    int overflow = 0;
    long long x;

    if (!PyLong_CheckExact(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int", what);
        return -1;
    }
    x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow) {
        return 0;
    }
    *v = (int64_t)x;
    return 1;
}

/* The step's answer: None on FL_EAGAIN, a tuple on FL_OK or a set's error,
 * an exception for anything else. */
static PyObject *
step_result(enum fl_status st, const struct fl_rl_result *r)
{
    if (st == FL_EAGAIN) {
        Py_RETURN_NONE;
    }
    if (st != FL_OK && st != FL_EFULL && st != FL_ENOMEM) {
        return status_error(st);
    }
    return Py_BuildValue("(NLLNIN)", PyBool_FromLong(r->over),
                         (long long)r->counter, (long long)r->window_start,
                         PyBool_FromLong(r->window_reset), r->sets_done,
                         PyBool_FromLong(st == FL_OK));
}

/* Shared argument work: the prefix's UTF-8 and the int arguments.
 * 1 ready, 0 decline (None), -1 exception. */
static int
step_args(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t nints,
          const char *const *names, const char **prefix, Py_ssize_t *plen,
          int64_t *ints, double *now)
{
    Py_ssize_t i;
    int r, decline = 0;

    if (nargs != nints + 2) {
        PyErr_Format(PyExc_TypeError, "takes %zd arguments", nints + 2);
        return -1;
    }
    if (!PyUnicode_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "prefix must be a str");
        return -1;
    }
    for (i = 0; i < nints; i++) {
        r = step_int(args[1 + i], names[i], &ints[i]);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            decline = 1;
        }
    }
    if (!PyFloat_CheckExact(args[nargs - 1])) {
        PyErr_SetString(PyExc_TypeError, "now must be a float");
        return -1;
    }
    *now = PyFloat_AS_DOUBLE(args[nargs - 1]);
    if (decline || !isfinite(*now)) {
        return 0;
    }
    r = key_utf8(args[0], prefix, plen);
    if (r <= 0 || (size_t)*plen > FL_RLSTEP_MAX_PREFIX) {
        return r < 0 ? -1 : 0;
    }
    return 1;
}

static PyObject *
TTLMap_requests_step(TTLMapObject *self, PyObject *const *args,
                     Py_ssize_t nargs)
{
    static const char *const names[] = {"limit", "now_int", "window_size"};
    const char *prefix = NULL;
    Py_ssize_t plen = 0;
    int64_t v[3];
    double now = 0.0;
    struct fl_rl_result res;
    enum fl_status st;
    int r = step_args(args, nargs, 3, names, &prefix, &plen, v, &now);

    if (r <= 0) {
        if (r < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    st = fl_rl_requests(self->map, prefix, (size_t)plen, v[0], v[1], v[2],
                        now, &res);
    return step_result(st, &res);
}

/* get_many(keys, now, objects) -> list or None
 * CounterCache.batch_get_cache in one call when it is this simple: keys an
 * exact list of exact strs none of which is a key of `objects` (the wrapped
 * InMemoryCache's cache_dict: an exact dict of exact str keys), now an exact
 * float.  Per key: the table's live value, a str given back as the int it
 * spells when it is a JSON integer of at most 18 digits (what CounterCache's
 * get parses), None when absent.  None (nothing but dead entries removed)
 * when any of that does not hold or a str value is anything else: the
 * caller asks CounterCache key by key. */
static PyObject *
TTLMap_get_many(TTLMapObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *keys, *objects, *out = NULL, *item = NULL;
    double now;
    Py_ssize_t n, i;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "get_many(keys, now, objects) takes 3 arguments");
        return NULL;
    }
    keys = args[0];
    objects = args[2];
    if (!PyList_CheckExact(keys) || !PyFloat_CheckExact(args[1]) || !fl_ext_plain_dict(objects)) {
        Py_RETURN_NONE;
    }
    now = PyFloat_AS_DOUBLE(args[1]);
    n = PyList_GET_SIZE(keys);
    /* every key an exact str that the object store does not hold (exact str
     * keys on both sides: the lookups run no Python code) */
    for (i = 0; i < n; i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        int r;
        if (!PyUnicode_CheckExact(k)) {
            Py_RETURN_NONE;
        }
        r = PyDict_Contains(objects, k);
        if (r != 0) {
            if (r < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
    }
    out = PyList_New(n);
    if (out == NULL) {
        goto error;
    }
    for (i = 0; i < n; i++) {
        const char *k = NULL;
        Py_ssize_t klen = 0;
        struct fl_ttl_value v = {0};
        int64_t num = 0;
        int r = key_utf8(PyList_GET_ITEM(keys, i), &k, &klen);
        if (r < 0) {
            goto error;
        }
        if (r == 0 || fl_ttlmap_get(self->map, k, (size_t)klen, now, &v, NULL) != 1) {
            item = Py_NewRef(Py_None);
        } else if (v.kind == FL_TTL_STR) {
            if (!fl_rl_json_int(v.s, v.slen, &num)) {
                Py_DECREF(out);
                Py_RETURN_NONE;
            }
            item = PyLong_FromLongLong(num);
        } else {
            item = value_to_py(&v);
        }
        if (item == NULL) {
            goto error;
        }
        PyList_SET_ITEM(out, i, item);
        item = NULL;
    }
    return out;
error:
    Py_XDECREF(out);
    return NULL;
}

/* The prefix P of a key that is P + suffix (suffix: "window", "requests" or
 * "tokens"), as UTF-8: 1 with the prefix's pointer and length, 0 when the
 * key is not such an exact str, -1 with an exception (memory). */
static int
key_prefix(PyObject *key, const char *suffix, const char **p, Py_ssize_t *plen)
{
    const char *k = NULL;
    Py_ssize_t klen = 0;
    size_t sl = strlen(suffix);
    int r = key_utf8(key, &k, &klen);

    if (r <= 0) {
        return r;
    }
    if ((size_t)klen <= sl || memcmp(k + klen - (Py_ssize_t)sl, suffix, sl) != 0 ||
        (size_t)klen - sl > FL_RLSTEP_MAX_PREFIX) {
        return 0;
    }
    *p = k;
    *plen = klen - (Py_ssize_t)sl;
    return 1;
}

/* window_pairs(keys, now_int, window_size, now) -> (results, done, partial)
 * keys: [P1"window", P1"requests", P2"window", ...] (a list).  The sliding
 * window (fl_rl_window) for each pair in order while the pair is of that
 * form and the step answers.  results: per pair made, the window start
 * (str(now_int) on a restart, else the live start as an int) and the new
 * counter.  done: the pairs made.  partial: None, or (sets_done, reset,
 * counter) when the pair at index `done` stopped at a set (its two results
 * are in `results`; the caller makes its remaining sets).  Pairs from `done`
 * (or done + 1 after a partial one) on are the caller's. */
static PyObject *
TTLMap_window_pairs(TTLMapObject *self, PyObject *const *args,
                    Py_ssize_t nargs)
{
    static const char *const names[] = {"now_int", "window_size"};
    PyObject *keys, *results = NULL, *partial = NULL, *item = NULL;
    int64_t v[2];
    double now;
    Py_ssize_t i;
    int r;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "window_pairs takes 4 arguments");
        return NULL;
    }
    keys = args[0];
    if (!PyList_CheckExact(keys)) {
        PyErr_SetString(PyExc_TypeError, "keys must be a list");
        return NULL;
    }
    for (i = 0; i < 2; i++) {
        r = step_int(args[1 + i], names[i], &v[i]);
        if (r <= 0) {
            if (r < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
    }
    if (!PyFloat_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "now must be a float");
        return NULL;
    }
    now = PyFloat_AS_DOUBLE(args[3]);
    if (!isfinite(now)) {
        Py_RETURN_NONE;
    }
    results = PyList_New(0);
    if (results == NULL) {
        goto error;
    }
    /* (the size read per pair: the objects made below could, in theory, let a
     * collection run code that changes the list) */
    for (i = 0; 2 * i + 1 < PyList_GET_SIZE(keys); i++) {
        const char *wp = NULL, *cp = NULL;
        Py_ssize_t wl = 0, cl = 0;
        struct fl_rl_result res;
        enum fl_status st;
        /* (a list item read per pair: nothing here runs Python code) */
        r = key_prefix(PyList_GET_ITEM(keys, 2 * i), "window", &wp, &wl);
        if (r < 0) {
            goto error;
        }
        if (r == 0 || wl == 0 || wp[wl - 1] != ':') {
            break; /* LiteLLM's siblings are the window key minus ":window" */
        }
        r = key_prefix(PyList_GET_ITEM(keys, 2 * i + 1), "requests", &cp, &cl);
        if (r < 0) {
            goto error;
        }
        if (r == 0 || cl != wl || memcmp(cp, wp, (size_t)wl) != 0) {
            break;
        }
        st = fl_rl_window(self->map, wp, (size_t)wl, v[0], v[1], now, &res);
        if (st == FL_EAGAIN) {
            break;
        }
        if (st != FL_OK && st != FL_EFULL && st != FL_ENOMEM) {
            status_error(st);
            goto error;
        }
        item = res.window_reset ? PyUnicode_FromFormat("%lld", (long long)res.window_start)
                                : PyLong_FromLongLong(res.window_start);
        if (item == NULL || PyList_Append(results, item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
        item = PyLong_FromLongLong(res.counter);
        if (item == NULL || PyList_Append(results, item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
        if (st != FL_OK) {
            partial = Py_BuildValue("(INL)", res.sets_done, PyBool_FromLong(res.window_reset),
                                    (long long)res.counter);
            if (partial == NULL) {
                goto error;
            }
            break;
        }
    }
    if (partial == NULL) {
        partial = Py_NewRef(Py_None);
    }
    return Py_BuildValue("(NnN)", results, i, partial);
error:
    Py_XDECREF(item);
    Py_XDECREF(partial);
    Py_XDECREF(results);
    return NULL;
}

/* reserve_all(metas, now_int, now) -> None (not this case) or
 * (over_index, counter, states, sets_done, complete)
 * metas: a list of (window_key, counter_key, increment, limit, window_size,
 * ttl) tuples with window_key P"window" and counter_key P"tokens" or
 * P"requests" (P ending in ":"), the rest exact ints (anything else:
 * None).  fl_rl_reserve_all; over_index is
 * len(metas) when every counter fits; states: per counter read (up to the
 * over one), (expired, current, new counter, window start). */
static PyObject *
TTLMap_reserve_all(TTLMapObject *self, PyObject *const *args,
                   Py_ssize_t nargs)
{
    static const char *const names[] = {"increment", "limit", "window_size", "ttl"};
    struct fl_rl_meta metas[FL_RLSTEP_MAX_METAS];
    struct fl_rl_multi mu;
    PyObject *list, *states = NULL, *item = NULL;
    int64_t now_int;
    double now;
    Py_ssize_t n, i, upto;
    enum fl_status st;
    int r;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "reserve_all takes 3 arguments");
        return NULL;
    }
    list = args[0];
    if (!PyList_CheckExact(list)) {
        PyErr_SetString(PyExc_TypeError, "metas must be a list");
        return NULL;
    }
    r = step_int(args[1], "now_int", &now_int);
    if (r <= 0) {
        if (r < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (!PyFloat_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "now must be a float");
        return NULL;
    }
    now = PyFloat_AS_DOUBLE(args[2]);
    n = PyList_GET_SIZE(list);
    if (!isfinite(now) || n > (Py_ssize_t)FL_RLSTEP_MAX_METAS) {
        Py_RETURN_NONE;
    }
    for (i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(list, i);
        const char *wp = NULL, *cp = NULL;
        Py_ssize_t wl = 0, cl = 0;
        int64_t iv[4];
        int j, tokens = 1;
        if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 6) {
            PyErr_SetString(PyExc_TypeError, "each meta must be a 6-tuple");
            return NULL;
        }
        r = key_prefix(PyTuple_GET_ITEM(t, 0), "window", &wp, &wl);
        if (r <= 0 || wl == 0 || wp[wl - 1] != ':') {
            if (r < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
        r = key_prefix(PyTuple_GET_ITEM(t, 1), "tokens", &cp, &cl);
        if (r == 0) {
            tokens = 0;
            r = key_prefix(PyTuple_GET_ITEM(t, 1), "requests", &cp, &cl);
        }
        if (r <= 0 || cl != wl || memcmp(cp, wp, (size_t)wl) != 0) {
            if (r < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
        for (j = 0; j < 4; j++) {
            PyObject *o = PyTuple_GET_ITEM(t, 2 + j);
            if (!PyLong_CheckExact(o)) {
                Py_RETURN_NONE; /* LiteLLM's int() decides */
            }
            r = step_int(o, names[j], &iv[j]);
            if (r <= 0) {
                if (r < 0) {
                    return NULL;
                }
                Py_RETURN_NONE;
            }
        }
        metas[i].prefix = wp;
        metas[i].plen = (size_t)wl;
        metas[i].tokens = tokens;
        metas[i].increment = iv[0];
        metas[i].limit = iv[1];
        metas[i].window_size = iv[2];
        metas[i].ttl = iv[3];
    }
    /* (the UTF-8 buffers belong to the key strs, which the list holds: no
     * Python code runs from here on) */
    st = fl_rl_reserve_all(self->map, metas, (size_t)n, now_int, now, &mu);
    if (st == FL_EAGAIN) {
        Py_RETURN_NONE;
    }
    if (st != FL_OK && st != FL_EFULL && st != FL_ENOMEM) {
        return status_error(st);
    }
    upto = mu.over_index < (size_t)n ? (Py_ssize_t)mu.over_index + 1 : n;
    states = PyList_New(upto);
    if (states == NULL) {
        goto error;
    }
    for (i = 0; i < upto; i++) {
        const struct fl_rl_state *s = &mu.state[i];
        item = Py_BuildValue("(NLLL)", PyBool_FromLong(s->expired), (long long)s->current,
                             (long long)s->counter, (long long)s->window_start);
        if (item == NULL) {
            goto error;
        }
        PyList_SET_ITEM(states, i, item);
        item = NULL;
    }
    return Py_BuildValue("(nLNIN)", (Py_ssize_t)mu.over_index, (long long)mu.counter, states,
                         mu.sets_done, PyBool_FromLong(st == FL_OK));
error:
    Py_XDECREF(item);
    Py_XDECREF(states);
    return NULL;
}

static Py_ssize_t
TTLMap_len(TTLMapObject *self)
{
    return (Py_ssize_t)fl_ttlmap_len(self->map);
}

static PyObject *
TTLMap_get_memory(TTLMapObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSize_t(fl_ttlmap_memory(self->map));
}

static PyMethodDef TTLMap_methods[] = {
    {"set", (PyCFunction)(void (*)(void))TTLMap_set, METH_FASTCALL,
     "set(key, value, now, ttl) -> 0 stored, 1 not storable, 2 full"},
    {"requests_step", (PyCFunction)(void (*)(void))TTLMap_requests_step,
     METH_FASTCALL,
     "requests_step(prefix, limit, now_int, window_size, now) -> None or "
     "(over, counter, window_start, reset, sets_done, complete)"},
    {"get_many", (PyCFunction)(void (*)(void))TTLMap_get_many, METH_FASTCALL,
     "get_many(keys, now, objects) -> list or None: do it key by key"},
    {"window_pairs", (PyCFunction)(void (*)(void))TTLMap_window_pairs,
     METH_FASTCALL,
     "window_pairs(keys, now_int, window_size, now) -> None or "
     "(results, done, partial)"},
    {"reserve_all", (PyCFunction)(void (*)(void))TTLMap_reserve_all,
     METH_FASTCALL,
     "reserve_all(metas, now_int, now) -> None or "
     "(over_index, counter, states, sets_done, complete)"},
    {"get", (PyCFunction)(void (*)(void))TTLMap_get, METH_FASTCALL,
     "get(key, now) -> value or None"},
    {"incr", (PyCFunction)(void (*)(void))TTLMap_incr, METH_FASTCALL,
     "incr(key, delta, now, ttl) -> new int, or None: not this case"},
    {"expiry", (PyCFunction)TTLMap_expiry, METH_O,
     "expiry(key) -> the stored expiry or None"},
    {"delete", (PyCFunction)TTLMap_delete, METH_O,
     "delete(key) -> True if an entry was removed"},
    {"clear", (PyCFunction)TTLMap_clear, METH_NOARGS, "remove every entry"},
    {"sweep", (PyCFunction)TTLMap_sweep, METH_O,
     "sweep(now): a set elsewhere swept at now"},
    {"reclaim", (PyCFunction)TTLMap_reclaim, METH_NOARGS,
     "remove dead entries now; returns how many"},
    {"items", (PyCFunction)TTLMap_items, METH_NOARGS,
     "[(key, expiry, value)] of the entries no sweep has removed"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef TTLMap_getset[] = {
    {"memory", (getter)TTLMap_get_memory, NULL,
     "bytes allocated by the map", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot TTLMap_slots[] = {
    {Py_tp_new, TTLMap_new},
    {Py_tp_dealloc, TTLMap_dealloc},
    {Py_tp_methods, TTLMap_methods},
    {Py_tp_getset, TTLMap_getset},
    {Py_mp_length, TTLMap_len},
    {Py_tp_doc, "TTLMap(hash_key, mem_cap=0): counters with expiry, in C."},
    {0, NULL},
};

static PyType_Spec TTLMap_spec = {
    .name = "fast_litellm._native.TTLMap",
    .basicsize = sizeof(TTLMapObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = TTLMap_slots,
};

int
fl_ext_add_ttlmap_type(PyObject *module, PyTypeObject **type)
{
    *type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &TTLMap_spec,
                                                     NULL);
    if (*type == NULL) {
        return -1;
    }
    if (PyModule_AddType(module, *type) < 0) {
        Py_CLEAR(*type);
        return -1;
    }
    return 0;
}
