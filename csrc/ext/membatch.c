/* membatch.c - mem_batch_get(cache, keys, module_globals, json_loads):
 * LiteLLM 1.108.7's InMemoryCache.batch_get_cache / async_batch_get_cache
 * loop, step by step in C.
 *
 * LiteLLM's loop calls self.get_cache(key=k) for each key, which is:
 *
 *     if key in self.cache_dict:
 *         if self.evict_element_if_expired(key):   # -> _is_key_expired:
 *             return None      # key in self.ttl_dict and self._clock() > self.ttl_dict[key]
 *         original = self.cache_dict[key]          #    then self._remove_key(key)
 *         try:
 *             return json.loads(original)
 *         except Exception:
 *             return original
 *     return None
 *
 * This function performs the same operations in the same order: the same
 * attribute reads on `cache`, the same `in` tests and item reads on the
 * objects found (through the generic protocols, so a dict's colliding key
 * runs its __eq__ as it would), the same calls of _clock and _remove_key,
 * and `json` read from `module_globals` (the in_memory_cache module's) for
 * every value, its `loads` called on the value -- except when that `loads`
 * is `json_loads` (the standard library's, passed by the caller) and the
 * value is an exact int, float, bool, None, dict, list or tuple: then
 * json.loads would raise TypeError before running any code, LiteLLM
 * catches it and keeps the value, and so does this function without the
 * call.  Exceptions that LiteLLM's `except Exception` catches are caught;
 * any other propagates, as do errors outside the try.
 *
 * The caller checks that get_cache, evict_element_if_expired and
 * _is_key_expired are LiteLLM's own (not replaced on the class or the
 * instance): their bodies are what this function performs.
 *
 * keys: an exact list or tuple, read by index with its length re-read at
 * every step (Python's `for k in keys` over a list that code called from
 * the loop could change).
 *
 * clock_code (optional fifth argument): the code object of InMemoryCache's
 * default clock, `lambda: time.time()`.  A `_clock` that is a plain
 * function with that code is performed rather than called: `time` looked
 * up in the function's globals, its attribute `time` read and called --
 * the lambda's operations, without its frame (only a tracer could tell).
 * When the globals have no `time` (the lambda would look in builtins), the
 * function is called.
 *
 * The shortcut (CPython 3.11 to 3.13, batches of FAST_MIN_KEYS keys or more).
 * LiteLLM's loop reads self.cache_dict, self.ttl_dict and self._clock
 * again at every step; on a plain instance each read is a lookup in the
 * instance's __dict__ with no code run and no other effect.  The shortcut
 * reads them once and answers later reads from what it read while nothing
 * they depend on can have changed: the instance's type is the same object
 * with the same type version tag (any change to the class or a base gives
 * it a new one), has generic attribute access and no class attribute of
 * those names (_PyType_Lookup: no code runs); the
 * instance's __dict__ is the same dict with the same dict version tag.  It
 * also does the dict operations on cache_dict and ttl_dict itself when both
 * are exact dicts whose keys were all exact strs at their current version
 * tags and the key is an exact str: a lookup then compares strs only (no
 * __eq__ can run), so `key in d` followed by `d[key]` with no code between
 * is one lookup.  Those facts are checked again after every step that can
 * run Python code (a clock call, json.loads, _remove_key, a comparison
 * of other than floats and ints, a generic step); when one no longer holds,
 * the remaining steps are the generic ones above.  A dict whose tag moved is
 * scanned again, within a budget proportional to the batch (a huge cache
 * read for a few keys is not scanned: generic steps). */
#include "fl_ext.h"

#include <string.h>

enum { N_CACHE_DICT, N_TTL_DICT, N_CLOCK, N_REMOVE_KEY, N_JSON, N_LOADS,
       N_TIME, N_COUNT };
static const char *const name_text[N_COUNT] = {
    "cache_dict", "ttl_dict", "_clock", "_remove_key", "json", "loads", "time"};

_Static_assert(N_COUNT == FL_EXT_MEM_NAMES, "fl_ext.h: FL_EXT_MEM_NAMES");

int
fl_ext_mem_names(PyObject **names)
{
    return fl_ext_intern_keys(name_text, N_COUNT, names);
}

/* `key in getattr(cache, attr)`: 1, 0 or -1 */
static int
attr_contains(PyObject *cache, PyObject *attr, PyObject *key)
{
    int r;
    PyObject *d = PyObject_GetAttr(cache, attr);
    if (d == NULL) {
        return -1;
    }
    r = PySequence_Contains(d, key);
    Py_DECREF(d);
    return r;
}

/* getattr(cache, attr)[key]: a new reference or NULL */
static PyObject *
attr_item(PyObject *cache, PyObject *attr, PyObject *key)
{
    PyObject *v, *d = PyObject_GetAttr(cache, attr);
    if (d == NULL) {
        return NULL;
    }
    v = PyObject_GetItem(d, key);
    Py_DECREF(d);
    return v;
}

/* A module attribute read through a namespace dict -- `time` in the clock's
 * globals then its `time`, `json` in the module's globals then its `loads`
 * -- remembered for the shortcut (see the header): while the namespace and
 * the module's dict keep their version tags, the two reads give the same
 * object with no code run (CPython's own LOAD_GLOBAL and module LOAD_ATTR
 * caches rest on the same fact). */
typedef struct {
    PyObject *owner; /* owned: the clock function, or the globals dict */
    PyObject *ns;    /* the namespace read first (kept alive by owner) */
    PyObject *mod;   /* owned: the exact module found there */
    PyObject *value; /* owned: the module's attribute */
    uint64_t nstag, modtag;
} mod_cell;

static void
cell_clear(mod_cell *c)
{
    if (c != NULL) {
        Py_CLEAR(c->owner);
        Py_CLEAR(c->mod);
        Py_CLEAR(c->value);
    }
}

/* the remembered attribute (borrowed) when it still stands, else NULL */
static PyObject *
cell_get(const mod_cell *c, PyObject *owner, PyObject *ns)
{
#if FL_DICT_TAGS
    if (c != NULL && c->value != NULL && c->owner == owner && c->ns == ns &&
        fl_dict_tag(ns) == c->nstag &&
        fl_dict_tag(PyModule_GetDict(c->mod)) == c->modtag) {
        return c->value;
    }
#else
    (void)c;
    (void)owner;
    (void)ns;
#endif
    return NULL;
}

/* remember mod.<name> == value read through ns (nothing when the reads
 * were not plain): 0, or -1 with an exception */
static int
cell_put(mod_cell *c, PyObject *owner, PyObject *ns, PyObject *mod,
         PyObject *name, PyObject *value)
{
#if FL_DICT_TAGS
    PyObject *found;
    if (c == NULL || !PyDict_CheckExact(ns) || !PyModule_CheckExact(mod)) {
        return 0;
    }
    found = PyDict_GetItemWithError(PyModule_GetDict(mod), name);
    if (found != value) {
        return PyErr_Occurred() ? -1 : 0;
    }
    cell_clear(c);
    c->owner = Py_NewRef(owner);
    c->ns = ns;
    c->mod = Py_NewRef(mod);
    c->value = Py_NewRef(value);
    c->nstag = fl_dict_tag(ns);
    c->modtag = fl_dict_tag(PyModule_GetDict(mod));
#else
    (void)c;
    (void)owner;
    (void)ns;
    (void)mod;
    (void)name;
    (void)value;
#endif
    return 0;
}

/* self._clock(): a new reference or NULL (clock_code: see the header) */
static PyObject *
clock_now(PyObject *const *names, PyObject *clock, PyObject *clock_code,
          mod_cell *cell)
{
    PyObject *globals, *time_mod, *fn, *now;
    if (clock_code == NULL || !PyFunction_Check(clock) ||
        PyFunction_GET_CODE(clock) != clock_code) {
        return PyObject_CallNoArgs(clock);
    }
    globals = PyFunction_GET_GLOBALS(clock);
    fn = cell_get(cell, clock, globals);
    if (fn != NULL) {
        return PyObject_CallNoArgs(fn);
    }
    time_mod = PyDict_CheckExact(globals)
                   ? PyDict_GetItemWithError(globals, names[N_TIME])
                   : NULL;
    if (time_mod == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        return PyObject_CallNoArgs(clock);
    }
    Py_INCREF(time_mod);
    fn = PyObject_GetAttr(time_mod, names[N_TIME]);
    if (fn != NULL && cell_put(cell, clock, globals, time_mod, names[N_TIME], fn) < 0) {
        Py_CLEAR(fn);
    }
    Py_DECREF(time_mod);
    if (fn == NULL) {
        return NULL;
    }
    now = PyObject_CallNoArgs(fn);
    Py_DECREF(fn);
    return now;
}

/* _is_key_expired(key): 1, 0 or -1 */
static int
expired(PyObject *const *names, PyObject *cache, PyObject *key,
        PyObject *clock_code)
{
    PyObject *clock = NULL, *now = NULL, *ttl = NULL;
    int r = attr_contains(cache, names[N_TTL_DICT], key);
    if (r <= 0) {
        goto done;
    }
    r = -1;
    clock = PyObject_GetAttr(cache, names[N_CLOCK]);
    if (clock == NULL) {
        goto done;
    }
    now = clock_now(names, clock, clock_code, NULL);
    if (now == NULL) {
        goto done;
    }
    ttl = attr_item(cache, names[N_TTL_DICT], key);
    if (ttl == NULL) {
        goto done;
    }
    r = PyObject_RichCompareBool(now, ttl, Py_GT);
done:
    Py_XDECREF(clock);
    Py_XDECREF(now);
    Py_XDECREF(ttl);
    return r;
}

/* json.loads would raise TypeError on v without running code */
static int
not_json_text(PyObject *v)
{
    return v == Py_None || PyLong_CheckExact(v) || PyBool_Check(v) ||
           PyFloat_CheckExact(v) || PyDict_CheckExact(v) ||
           PyList_CheckExact(v) || PyTuple_CheckExact(v);
}

/* try: json.loads(v) except Exception: v -- a new reference or NULL */
static PyObject *
decoded(PyObject *const *names, PyObject *globals, PyObject *json_loads,
        PyObject *v, mod_cell *cell)
{
    PyObject *json, *loads, *res;
    loads = cell_get(cell, globals, globals);
    if (loads != NULL) {
        Py_INCREF(loads);
    } else {
        json = PyDict_GetItemWithError(globals, names[N_JSON]); /* borrowed */
        if (json == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_NameError, "name 'json' is not defined");
            }
            return NULL;
        }
        Py_INCREF(json);
        loads = PyObject_GetAttr(json, names[N_LOADS]);
        if (loads != NULL &&
            cell_put(cell, globals, globals, json, names[N_LOADS], loads) < 0) {
            Py_CLEAR(loads);
        }
        Py_DECREF(json);
        if (loads == NULL) {
            return NULL;
        }
    }
    if (loads == json_loads && not_json_text(v)) {
        Py_DECREF(loads);
        return Py_NewRef(v);
    }
    res = PyObject_CallOneArg(loads, v);
    Py_DECREF(loads);
    if (res == NULL && PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        res = Py_NewRef(v);
    }
    return res;
}

/* get_cache(key): a new reference or NULL */
static PyObject *
get_one(PyObject *const *names, PyObject *cache, PyObject *globals,
        PyObject *json_loads, PyObject *clock_code, PyObject *key)
{
    PyObject *v, *res, *rm;
    int r = attr_contains(cache, names[N_CACHE_DICT], key);
    if (r < 0) {
        return NULL;
    }
    if (r == 0) {
        Py_RETURN_NONE;
    }
    r = expired(names, cache, key, clock_code);
    if (r < 0) {
        return NULL;
    }
    if (r == 1) {
        rm = PyObject_CallMethodOneArg(cache, names[N_REMOVE_KEY], key);
        if (rm == NULL) {
            return NULL;
        }
        Py_DECREF(rm);
        Py_RETURN_NONE;
    }
    v = attr_item(cache, names[N_CACHE_DICT], key);
    if (v == NULL) {
        return NULL;
    }
    res = decoded(names, globals, json_loads, v, NULL);
    Py_DECREF(v);
    return res;
}

/* ---- the shortcut (see the header) ------------------------------------ */

/* a scan reads an entry in about a nanosecond, a generic step costs tens:
 * up to FAST_BUDGET_PER_KEY entries per key are worth scanning */
enum { FAST_MIN_KEYS = 8, FAST_BUDGET_PER_KEY = 8, FAST_BUDGET_BASE = 64 };

typedef struct {
    int usable;        /* set up, and no check has failed since */
    int dirty;         /* Python code may have run since the last check */
    PyObject *cache;   /* borrowed (the caller's argument) */
    PyObject *idict;   /* owned: the instance __dict__ at set-up */
    PyTypeObject *tp;  /* type(cache) at set-up, with its version tag */
    unsigned int tptag;
    uint64_t itag, cdtag, tdtag;
    PyObject *cd, *td, *clock; /* borrowed from idict: alive while itag holds */
    Py_ssize_t budget; /* dict entries the key scans may still read */
    mod_cell time_cell, json_cell; /* time.time, json.loads */
} fast_t;

#if FL_DICT_TAGS
/* 1 when every key of the exact dict d is an exact str (budget allowing) */
static int
str_keys_only(PyObject *d, Py_ssize_t *budget)
{
    *budget -= PyDict_GET_SIZE(d);
    return *budget >= 0 && fl_all_str_keys(d);
}

static int
type_tag_holds(const fast_t *f)
{
    return Py_TYPE(f->cache) == f->tp && f->tp->tp_version_tag == f->tptag &&
           PyType_HasFeature(f->tp, Py_TPFLAGS_VALID_VERSION_TAG);
}
#endif

/* Set the shortcut up when its conditions hold (f->usable 1), else leave
 * it off (f->usable 0).  0, or -1 with an exception. */
static int
fast_setup(PyObject *const *names, PyObject *cache, Py_ssize_t nkeys, fast_t *f)
{
    memset(f, 0, sizeof(*f));
    f->cache = cache;
#if FL_DICT_TAGS
    PyTypeObject *tp = Py_TYPE(cache);
    PyObject *idict, *v[3];
    static const int which[3] = {N_CACHE_DICT, N_TTL_DICT, N_CLOCK};
    if (nkeys < FAST_MIN_KEYS || tp->tp_getattro != PyObject_GenericGetAttr ||
        tp->tp_dictoffset == 0) {
        return 0;
    }
    for (int k = 0; k < 3; k++) {
        if (_PyType_Lookup(tp, names[which[k]]) != NULL) {
            return 0;
        }
    }
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG) || tp->tp_version_tag == 0) {
        return 0;
    }
    idict = PyObject_GenericGetDict(cache, NULL);
    if (idict == NULL) {
        goto error;
    }
    f->idict = idict;
    f->budget = FAST_BUDGET_PER_KEY * nkeys + FAST_BUDGET_BASE;
    /* str keys only: the lookups below run no __eq__ */
    if (!PyDict_CheckExact(idict) || !str_keys_only(idict, &f->budget)) {
        return 0;
    }
    for (int k = 0; k < 3; k++) {
        v[k] = PyDict_GetItemWithError(idict, names[which[k]]);
        if (v[k] == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            return 0; /* (a generic read raises AttributeError) */
        }
    }
    if (!PyDict_CheckExact(v[0]) || !PyDict_CheckExact(v[1]) ||
        PyDict_GET_SIZE(v[0]) + PyDict_GET_SIZE(v[1]) > f->budget ||
        !str_keys_only(v[0], &f->budget) || !str_keys_only(v[1], &f->budget)) {
        return 0;
    }
    f->tp = tp;
    f->tptag = tp->tp_version_tag;
    f->itag = fl_dict_tag(idict);
    f->cd = v[0];
    f->td = v[1];
    f->clock = v[2];
    f->cdtag = fl_dict_tag(v[0]);
    f->tdtag = fl_dict_tag(v[1]);
    f->usable = 1;
    return 0;
error:
    return -1;
#else
    (void)names;
    (void)nkeys;
    return 0;
#endif
}

static void
fast_done(fast_t *f)
{
    Py_CLEAR(f->idict);
    cell_clear(&f->time_cell);
    cell_clear(&f->json_cell);
    f->usable = 0;
}

/* 1 when the shortcut's facts hold now (checked again if dirty), else 0
 * (and the shortcut is off for the rest of the batch). */
static int
fast_holds(fast_t *f)
{
#if FL_DICT_TAGS
    PyObject *d;
    if (!f->usable) {
        return 0;
    }
    if (!f->dirty) {
        return 1;
    }
    d = PyObject_GenericGetDict(f->cache, NULL);
    if (d == NULL) {
        PyErr_Clear(); /* (the generic steps meet the same failure) */
        goto off;
    }
    Py_DECREF(d); /* (identity only: f->idict keeps the one compared) */
    if (d != f->idict || fl_dict_tag(d) != f->itag || !type_tag_holds(f)) {
        goto off;
    }
    if (fl_dict_tag(f->cd) != f->cdtag) {
        if (!str_keys_only(f->cd, &f->budget)) {
            goto off;
        }
        f->cdtag = fl_dict_tag(f->cd);
    }
    if (fl_dict_tag(f->td) != f->tdtag) {
        if (!str_keys_only(f->td, &f->budget)) {
            goto off;
        }
        f->tdtag = fl_dict_tag(f->td);
    }
    f->dirty = 0;
    return 1;
off:
    fast_done(f);
    return 0;
#else
    (void)f;
    return 0;
#endif
}

/* d[key] for the shortcut's dict d (which: N_CACHE_DICT or N_TTL_DICT),
 * or the generic self.<which>[key] when the shortcut is off or the key is
 * missing (the generic read raises LiteLLM's KeyError): a new reference
 * or NULL */
static PyObject *
fast_item(fast_t *f, PyObject *const *names, int which, PyObject *key)
{
    PyObject *v = NULL;
    if (fast_holds(f)) {
        v = PyDict_GetItemWithError(which == N_CACHE_DICT ? f->cd : f->td, key);
        if (v != NULL) {
            return Py_NewRef(v);
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    f->dirty = 1;
    return attr_item(f->cache, names[which], key);
}

static inline int
is_number(PyObject *o)
{
    return PyFloat_CheckExact(o) || PyLong_CheckExact(o);
}

/* get_cache(key) with the shortcut: the same steps as get_one */
static PyObject *
get_one_fast(PyObject *const *names, fast_t *f, PyObject *globals,
             PyObject *json_loads, PyObject *clock_code, PyObject *key)
{
    PyObject *v, *clock, *now, *ttl, *rm, *res;
    int r;
    if (!PyUnicode_CheckExact(key) || !fast_holds(f)) {
        f->dirty = 1;
        return get_one(names, f->cache, globals, json_loads, clock_code, key);
    }
    /* `key in self.cache_dict` */
    v = PyDict_GetItemWithError(f->cd, key);
    if (v == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    /* _is_key_expired: `key in self.ttl_dict` */
    v = PyDict_GetItemWithError(f->td, key);
    if (v == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (v != NULL) {
        /* self._clock() */
        clock = Py_NewRef(f->clock);
        now = clock_now(names, clock, clock_code, &f->time_cell);
        Py_DECREF(clock);
        f->dirty = 1;
        if (now == NULL) {
            return NULL;
        }
        /* self.ttl_dict[key] */
        ttl = fast_item(f, names, N_TTL_DICT, key);
        if (ttl == NULL) {
            Py_DECREF(now);
            return NULL;
        }
        r = PyObject_RichCompareBool(now, ttl, Py_GT);
        if (!is_number(now) || !is_number(ttl)) {
            f->dirty = 1;
        }
        Py_DECREF(now);
        Py_DECREF(ttl);
        if (r < 0) {
            return NULL;
        }
        if (r == 1) {
            f->dirty = 1;
            rm = PyObject_CallMethodOneArg(f->cache, names[N_REMOVE_KEY], key);
            if (rm == NULL) {
                return NULL;
            }
            Py_DECREF(rm);
            Py_RETURN_NONE;
        }
    }
    /* original = self.cache_dict[key] */
    v = fast_item(f, names, N_CACHE_DICT, key);
    if (v == NULL) {
        return NULL;
    }
    res = decoded(names, globals, json_loads, v, &f->json_cell);
    f->dirty = 1; /* (json's lookups or loads may have run code) */
    Py_DECREF(v);
    return res;
}

PyObject *
fl_ext_mem_batch_get(PyObject *const *names, PyObject *const *args,
                     Py_ssize_t nargs)
{
    PyObject *res = NULL;
    PyObject *cache, *keys, *globals, *json_loads, *clock_code = NULL;
    fast_t f = {0};
    if ((nargs != 4 && nargs != 5) || !PyDict_Check(args[2]) ||
        (!PyList_CheckExact(args[1]) && !PyTuple_CheckExact(args[1])) ||
        (nargs == 5 && args[4] != Py_None && !PyCode_Check(args[4]))) {
        PyErr_SetString(PyExc_TypeError,
                        "mem_batch_get() expects (cache, list | tuple, dict, "
                        "json_loads[, clock_code])");
        goto error;
    }
    cache = args[0];
    keys = args[1];
    globals = args[2];
    json_loads = args[3];
    if (nargs == 5 && args[4] != Py_None) {
        clock_code = args[4];
    }
    res = PyList_New(0);
    if (res == NULL) {
        goto error;
    }
    if (fast_setup(names, cache, PySequence_Fast_GET_SIZE(keys), &f) < 0) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(keys); i++) {
        PyObject *key = Py_NewRef(PySequence_Fast_GET_ITEM(keys, i));
        PyObject *v = get_one_fast(names, &f, globals, json_loads, clock_code, key);
        Py_DECREF(key);
        if (v == NULL) {
            goto error;
        }
        if (PyList_Append(res, v) < 0) {
            Py_DECREF(v);
            goto error;
        }
        Py_DECREF(v);
    }
    fast_done(&f);
    return res;
error:
    fast_done(&f);
    Py_XDECREF(res);
    return NULL;
}
