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
 * function is called. */
#include "fl_ext.h"

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

/* self._clock(): a new reference or NULL (clock_code: see the header) */
static PyObject *
clock_now(PyObject *const *names, PyObject *clock, PyObject *clock_code)
{
    PyObject *globals, *time_mod, *fn, *now;
    if (clock_code == NULL || !PyFunction_Check(clock) ||
        PyFunction_GET_CODE(clock) != clock_code) {
        return PyObject_CallNoArgs(clock);
    }
    globals = PyFunction_GET_GLOBALS(clock);
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
    now = clock_now(names, clock, clock_code);
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
        PyObject *v)
{
    PyObject *json, *loads, *res;
    json = PyDict_GetItemWithError(globals, names[N_JSON]); /* borrowed */
    if (json == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_NameError, "name 'json' is not defined");
        }
        return NULL;
    }
    Py_INCREF(json);
    loads = PyObject_GetAttr(json, names[N_LOADS]);
    Py_DECREF(json);
    if (loads == NULL) {
        return NULL;
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
    res = decoded(names, globals, json_loads, v);
    Py_DECREF(v);
    return res;
}

PyObject *
fl_ext_mem_batch_get(PyObject *const *names, PyObject *const *args,
                     Py_ssize_t nargs)
{
    PyObject *res = NULL;
    PyObject *cache, *keys, *globals, *json_loads, *clock_code = NULL;
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
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(keys); i++) {
        PyObject *key = Py_NewRef(PySequence_Fast_GET_ITEM(keys, i));
        PyObject *v = get_one(names, cache, globals, json_loads, clock_code, key);
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
    return res;
error:
    Py_XDECREF(res);
    return NULL;
}
