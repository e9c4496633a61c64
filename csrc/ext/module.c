/* module.c - the CPython binding `fast_litellm._native`.
 *
 * Multi-phase initialisation, per-module state, heap types only, no global
 * PyObject pointers.  The binding converts arguments and calls csrc/core; it
 * implements no algorithm of its own.
 *
 * Exposed:
 *   Sampler(percent)      callable; True for `percent` % of calls (canary).
 *   seed(n) / reseed()    fix or renew the sampling stream of this process.
 *   abi_version()         integer; bumped when the binding's contract changes.
 *   BPE(data, pattern)    a tiktoken rank table (tokenizer.c).
 *   format_tools(tools)   the tools text token_counter counts (toolfmt.c).
 *   plain_deployments(deployments, prefix)   routing's no-op filter test
 *   ids_present(deployments), scaled(w, m)   routing's cooldown filter and
 *                                            simple-shuffle's normalization
 *   float_max(w), weighted_draw(p, w, rand)  simple-shuffle's draw (shuffle.c)
 *   latency_scan(items, index, minute, n)    latency-based routing's loop
 *   cost_scan(items, index, minute, n, map)  cost-based routing's loop
 *   usage_scan(tpm, index, rpm, n)           usage-based routing v1's loop (v1scan.c)
 *   candidate_ids(healthy, cached)           the selectors' id pass (candids.c)
 *   sample_all(getrandbits, population)      latency's shuffle (sample.c)
 *   first_min(p), shortlist(p, buffer)       the choice after those loops
 *   dict_str_keyed(d), dict_kind_fast()      the scans' dict test (dictkind.c)
 *   select_admits(...)                       their usage test (selectbind.c,
 *                                            csrc/core/fl_select.c)
 *   memo_stats()                             the routing tests' memo (depmemo.c)
 *   dict_tags(objs)                          dicts' version tags (depmemo.c)
 *   mem_batch_get(cache, keys, g, loads[, code])  InMemoryCache's batch read
 *                                            (membatch.c)
 *   busy_keys(group, deps, memo), least_index(r, n)  least-busy (busyscan.c)
 *   usage_keys(deps, minute[, memo])         usage-based v2's keys (usagekeys.c)
 *   v2_dicts(...)                            usage-based v2's maps (v2scan.c)
 *   v2_select(...), v2_keys_ok(...)          v2 without the usage maps (v2scan.c)
 *   dict_values_for(d, keys)                 v2's prefetched usage read (v2scan.c)
 *   same_items(a, b)                         the same objects, same order (seqsnap.c)
 *   dict_with_changes(old, keys, new, prev)  the prefetched usage dict again (v2scan.c)
 *   repr_is_pure(obj)                        dual_cache's skipped debug strings
 *                         (routefilt.c).
 */
#include "fl_ext.h" /* Python.h first */

#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "fl_rng.h"
#include "fl_wpick.h"

#define FL_ABI_VERSION 13

typedef struct {
    PyTypeObject *sampler_type;
    PyTypeObject *bpe_type;
    PyTypeObject *ttlmap_type;
    PyObject *tool_keys[FL_EXT_TOOL_KEYS]; /* format_tools' dict keys */
    PyObject *route_keys[FL_EXT_ROUTE_KEYS]; /* plain_deployments' keys */
    PyObject *lat_keys[FL_EXT_LAT_KEYS];     /* latency_scan's keys */
    PyObject *usage_v1_keys[FL_EXT_USAGE_V1_KEYS]; /* usage_scan's keys */
    PyObject *ids_keys[FL_EXT_IDS_KEYS];     /* candidate_ids' keys */
    PyObject *cost_keys[FL_EXT_COST_KEYS];   /* cost_scan's keys */
    fl_depmemo *memo; /* routing tests' verdicts per deployment (depmemo.c) */
    PyObject *mem_names[FL_EXT_MEM_NAMES];   /* mem_batch_get's names */
    PyObject *busy_keys[FL_EXT_BUSY_KEYS];   /* busy_keys' dict keys */
    PyObject *usage_keys[FL_EXT_USAGE_KEYS]; /* usage_keys' keys and texts */
    PyObject *v2_keys[FL_EXT_V2_KEYS];       /* v2_select's dict keys */
    struct fl_ext_draws draws;     /* weighted_draw's tables (shuffle.c) */
    struct fl_rng rng;
    pid_t seeded_pid; /* pid the stream was seeded in; 0 = never seeded */
    int fixed_seed;   /* seed(n) was called: keep the stream across fork */
} fl_state;

static inline fl_state *
get_state(PyObject *module)
{
    return (fl_state *)PyModule_GetState(module);
}

/* Seed from the kernel; falls back to time and pid if getrandom fails. */
static void
seed_from_entropy(fl_state *st)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = ((uint64_t)ts.tv_sec * UINT64_C(1000000007)) ^
               (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    fl_rng_seed(&st->rng, seed);
    st->seeded_pid = getpid();
}

/* Lazily (re)seed: nothing random exists until the first sample, and a
 * forked child never shares its parent's stream. */
static inline void
ensure_seeded(fl_state *st)
{
    pid_t pid = getpid();
    if (st->seeded_pid != pid) {
        if (st->fixed_seed && st->seeded_pid != 0) {
            st->seeded_pid = pid; /* deterministic mode: keep the stream */
            return;
        }
        seed_from_entropy(st);
    }
}

/* ---- Sampler -------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    double percent;
    uint64_t threshold;
    int always;
} SamplerObject;

static PyObject *
Sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"percent", NULL};
    double percent = 0.0;
    SamplerObject *self = NULL;
    uint64_t threshold = 0;
    int always = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "d:Sampler", kwlist,
                                     &percent)) {
        goto error;
    }
    if (fl_rng_threshold(percent, &threshold, &always) != FL_OK) {
        PyErr_Format(PyExc_ValueError,
                     "Sampler percent must be a number from 0 to 100, got %R",
                     PyTuple_GET_SIZE(args) ? PyTuple_GET_ITEM(args, 0)
                                            : Py_None);
        goto error;
    }
    self = (SamplerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto error;
    }
    self->percent = percent;
    self->threshold = threshold;
    self->always = always;
    return (PyObject *)self;
error:
    return NULL;
}

static void
Sampler_dealloc(SamplerObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
Sampler_call(SamplerObject *self, PyObject *args, PyObject *kwds)
{
    fl_state *st = NULL;

    if (PyTuple_GET_SIZE(args) != 0 || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "Sampler() takes no arguments");
        goto error;
    }
    st = (fl_state *)PyType_GetModuleState(Py_TYPE(self));
    if (st == NULL) {
        goto error;
    }
    ensure_seeded(st);
    return PyBool_FromLong(fl_rng_sample(&st->rng, self->threshold,
                                         self->always));
error:
    return NULL;
}

static PyObject *
Sampler_get_percent(SamplerObject *self, void *Py_UNUSED(closure))
{
    return PyFloat_FromDouble(self->percent);
}

static PyObject *
Sampler_repr(SamplerObject *self)
{
    PyObject *pct = NULL;
    PyObject *res = NULL;
    pct = PyFloat_FromDouble(self->percent);
    if (pct == NULL) {
        goto error;
    }
    res = PyUnicode_FromFormat("Sampler(%R)", pct);
error:
    Py_XDECREF(pct);
    return res;
}

static PyGetSetDef Sampler_getset[] = {
    {"percent", (getter)Sampler_get_percent, NULL,
     "Share of calls sampled, in percent.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Sampler_slots[] = {
    {Py_tp_new, Sampler_new},
    {Py_tp_dealloc, Sampler_dealloc},
    {Py_tp_call, Sampler_call},
    {Py_tp_repr, Sampler_repr},
    {Py_tp_getset, Sampler_getset},
    {Py_tp_doc, "Sampler(percent)\n--\n\n"
                "Callable that returns True for `percent` % of calls, "
                "decided per call\nfrom a per-process stream that is "
                "independent of Python's `random`."},
    {0, NULL},
};

static PyType_Spec Sampler_spec = {
    .name = "fast_litellm._native.Sampler",
    .basicsize = sizeof(SamplerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Sampler_slots,
};

/* ---- module functions ------------------------------------------------ */

static PyObject *
mod_seed(PyObject *module, PyObject *arg)
{
    fl_state *st = get_state(module);
    unsigned long long seed = PyLong_AsUnsignedLongLongMask(arg);
    if (seed == (unsigned long long)-1 && PyErr_Occurred()) {
        goto error;
    }
    fl_rng_seed(&st->rng, (uint64_t)seed);
    st->seeded_pid = getpid();
    st->fixed_seed = 1;
    Py_RETURN_NONE;
error:
    return NULL;
}

static PyObject *
mod_reseed(PyObject *module, PyObject *Py_UNUSED(arg))
{
    fl_state *st = get_state(module);
    st->fixed_seed = 0;
    seed_from_entropy(st);
    Py_RETURN_NONE;
}

static PyObject *
mod_abi_version(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(arg))
{
    return PyLong_FromLong(FL_ABI_VERSION);
}

int
fl_ext_intern_keys(const char *const *text, int n, PyObject **keys)
{
    int k = 0;
    for (; k < n; k++) {
        keys[k] = PyUnicode_InternFromString(text[k]);
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

static PyObject *
mod_format_tools(PyObject *module, PyObject *tools)
{
    return fl_ext_format_tools(get_state(module)->tool_keys, tools);
}

static PyObject *
mod_plain_deployments(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    fl_state *st = get_state(module);
    return fl_ext_plain_deployments(st->route_keys, st->memo, args, nargs);
}

static PyObject *
mod_named_deployments(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    fl_state *st = get_state(module);
    return fl_ext_named_deployments(st->route_keys, st->memo, args, nargs);
}

static PyObject *
mod_metric_weights(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    fl_state *st = get_state(module);
    return fl_ext_metric_weights(st->route_keys, st->memo, args, nargs);
}

static PyObject *
mod_ids_present(PyObject *module, PyObject *seq)
{
    fl_state *st = get_state(module);
    return fl_ext_ids_present(st->route_keys, st->memo, seq);
}

static PyObject *
mod_mem_batch_get(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_mem_batch_get(get_state(module)->mem_names, args, nargs);
}

static PyObject *
mod_busy_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_busy_keys(get_state(module)->busy_keys, args, nargs);
}

static PyObject *
mod_usage_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_usage_keys(get_state(module)->usage_keys, args, nargs);
}

static PyObject *
mod_v2_dicts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_v2_dicts(args, nargs);
}

static PyObject *
mod_dict_values_for(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_dict_values_for(args, nargs);
}

static PyObject *
mod_same_items(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_same_items(args, nargs);
}

static PyObject *
mod_dict_with_changes(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_dict_with_changes(args, nargs);
}

static PyObject *
mod_v2_select(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_v2_select(get_state(module)->v2_keys, args, nargs);
}

static PyObject *
mod_v2_keys_ok(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_v2_keys_ok(args, nargs);
}

static PyObject *
mod_least_index(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_least_index(args, nargs);
}

static PyObject *
mod_memo_stats(PyObject *module, PyObject *unused)
{
    uint64_t hits, misses, list_hits;
    (void)unused;
    fl_depmemo_counts(get_state(module)->memo, &hits, &misses, &list_hits);
    return Py_BuildValue("{sKsKsK}", "hits", (unsigned long long)hits, "misses",
                         (unsigned long long)misses, "list_hits",
                         (unsigned long long)list_hits);
}

static PyObject *
mod_scaled(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_scaled(args, nargs);
}

static PyObject *
mod_dict_tags(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_dict_tags(args, nargs);
}

static PyObject *
mod_float_max(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_float_max(args, nargs);
}

static PyObject *
mod_weighted_draw(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    fl_state *st = get_state(module);
    return fl_ext_weighted_draw(&st->draws, args, nargs);
}

static PyObject *
mod_latency_scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_latency_scan(get_state(module)->lat_keys, args, nargs);
}

static PyObject *
mod_cost_scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_cost_scan(get_state(module)->cost_keys, args, nargs);
}

static PyObject *
mod_usage_scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_usage_scan(get_state(module)->usage_v1_keys, args, nargs);
}

static PyObject *
mod_dict_str_keyed(PyObject *module, PyObject *d)
{
    (void)module;
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "dict_str_keyed() expects a dict");
        return NULL;
    }
    return PyBool_FromLong(fl_dict_str_keyed(d));
}

static PyObject *
mod_dict_kind_fast(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(fl_dict_kind_fast());
}

static PyObject *
mod_candidate_ids(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fl_ext_candidate_ids(get_state(module)->ids_keys, args, nargs);
}

static PyObject *
mod_sample_all(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_sample_all(args, nargs);
}

static PyObject *
mod_first_min(PyObject *module, PyObject *potential)
{
    (void)module;
    return fl_ext_first_min(potential);
}

static PyObject *
mod_shortlist(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_shortlist(args, nargs);
}

static PyObject *
mod_select_admits(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return fl_ext_select_admits(args, nargs);
}

static PyObject *
mod_repr_is_pure(PyObject *module, PyObject *obj)
{
    (void)module;
    return fl_ext_repr_is_pure(obj);
}

static PyMethodDef module_methods[] = {
    {"seed", mod_seed, METH_O,
     "seed(n)\n--\n\nMake this process's sampling stream deterministic "
     "(tests)."},
    {"reseed", mod_reseed, METH_NOARGS,
     "reseed()\n--\n\nRenew the sampling stream from the kernel's entropy."},
    {"format_tools", mod_format_tools, METH_O,
     "format_tools(tools: list) -> str | None: LiteLLM's _format_function_definitions "
     "for JSON-shaped tools; None where LiteLLM's own function must answer"},
    {"plain_deployments", (PyCFunction)(void (*)(void))mod_plain_deployments,
     METH_FASTCALL,
     "plain_deployments(deployments, marker_prefix) -> bool: every Router "
     "candidate a plain dict on which the per-deployment filters keep it "
     "(routefilt.c)"},
    {"named_deployments", (PyCFunction)(void (*)(void))mod_named_deployments,
     METH_FASTCALL,
     "named_deployments(model_list, indices, name) -> list | None: "
     "Router.get_all_deployments(name) without team or alias (routefilt.c)"},
    {"metric_weights", (PyCFunction)(void (*)(void))mod_metric_weights,
     METH_FASTCALL,
     "metric_weights(deployments, metric) -> tuple | None: simple-shuffle's "
     "weights for one metric (routefilt.c)"},
    {"ids_present", mod_ids_present, METH_O,
     "ids_present(deployments) -> bool: every candidate a plain dict with "
     "a str, int or None model_info id (routefilt.c)"},
    {"mem_batch_get", (PyCFunction)(void (*)(void))mod_mem_batch_get,
     METH_FASTCALL,
     "mem_batch_get(cache, keys, module_globals, json_loads[, clock_code]) -> "
     "list: "
     "InMemoryCache's batch read, operation for operation (membatch.c)"},
    {"busy_keys", (PyCFunction)(void (*)(void))mod_busy_keys, METH_FASTCALL,
     "busy_keys(model_group, deployments, memo) -> tuple | None: least-busy's "
     "in-flight count keys (busyscan.c)"},
    {"least_index", (PyCFunction)(void (*)(void))mod_least_index,
     METH_FASTCALL,
     "least_index(raw, n) -> int | None: least-busy's pick from the cached "
     "counts (busyscan.c)"},
    {"usage_keys", (PyCFunction)(void (*)(void))mod_usage_keys, METH_FASTCALL,
     "usage_keys(deployments, minute[, memo]) -> (list, list) | None: "
     "usage-based-routing-v2's counter keys (usagekeys.c)"},
    {"v2_dicts", (PyCFunction)(void (*)(void))mod_v2_dicts, METH_FASTCALL,
     "v2_dicts(tpm_keys, tpm_values, rpm_keys, rpm_values[, heads]) -> "
     "(dict, dict) | "
     "None: usage-based v2's usage maps (v2scan.c)"},
    {"dict_values_for", (PyCFunction)(void (*)(void))mod_dict_values_for,
     METH_FASTCALL,
     "dict_values_for(d, keys) -> list | None: [d.get(k) for k in keys] for "
     "an exact dict and exact str keys (v2scan.c)"},
    {"v2_select", (PyCFunction)(void (*)(void))mod_v2_select, METH_FASTCALL,
     "v2_select(healthy, tpm_keys, tpm_values, rpm_keys, rpm_values, input_tokens"
     "[, memo]) -> list | None: usage-based v2's candidates without the usage "
     "maps (v2scan.c)"},
    {"v2_keys_ok", (PyCFunction)(void (*)(void))mod_v2_keys_ok, METH_FASTCALL,
     "v2_keys_ok(tpm_keys, tpm_values, rpm_keys, rpm_values) -> bool: the lists "
     "v2_select reads are plain (v2scan.c)"},
    {"dict_with_changes", (PyCFunction)(void (*)(void))mod_dict_with_changes,
     METH_FASTCALL,
     "dict_with_changes(old, keys, values, old_values) -> dict | None: a copy "
     "of old with the changed values set (v2scan.c)"},
    {"same_items", (PyCFunction)(void (*)(void))mod_same_items, METH_FASTCALL,
     "same_items(a, b) -> bool: a and b (lists or tuples) hold the same "
     "objects in the same order (seqsnap.c)"},
    {"memo_stats", mod_memo_stats, METH_NOARGS,
     "memo_stats() -> dict: hits and misses of the routing tests' memo, "
     "and its whole-list hits (depmemo.c)"},
    {"scaled", (PyCFunction)(void (*)(void))mod_scaled, METH_FASTCALL,
     "scaled(weights, largest) -> tuple | None: tuple(w / largest for w in "
     "weights) for floats (routefilt.c)"},
    {"dict_tags", (PyCFunction)(void (*)(void))mod_dict_tags, METH_FASTCALL,
     "dict_tags(objs) -> tuple | None: the version tags of dicts (a class: "
     "its namespace); None where CPython keeps none (depmemo.c)"},
    {"float_max", (PyCFunction)(void (*)(void))mod_float_max, METH_FASTCALL,
     "float_max(weights) -> float | None: max(weights, default=0.0) for a "
     "tuple of floats (shuffle.c)"},
    {"weighted_draw", (PyCFunction)(void (*)(void))mod_weighted_draw,
     METH_FASTCALL,
     "weighted_draw(population, weights, rand) -> item | None: "
     "random.choices(population, weights=weights)[0] with rand as random() "
     "(shuffle.c)"},
    {"latency_scan", (PyCFunction)(void (*)(void))mod_latency_scan,
     METH_FASTCALL,
     "latency_scan(items, index, minute, input_tokens) -> (dict, list) | None: "
     "latency-based routing's loop (latscan.c)"},
    {"usage_scan", (PyCFunction)(void (*)(void))mod_usage_scan, METH_FASTCALL,
     "usage_scan(tpm_dict, index, rpm_dict, input_tokens) -> (dep | None,) | "
     "None: usage-based routing (v1)'s selection loop (v1scan.c)"},
    {"dict_str_keyed", mod_dict_str_keyed, METH_O,
     "dict_str_keyed(d) -> bool: every key an exact str, so that the scans' "
     "lookups run no Python code (dictkind.c)"},
    {"dict_kind_fast", mod_dict_kind_fast, METH_NOARGS,
     "dict_kind_fast() -> bool: dict_str_keyed reads CPython's dict kind "
     "(O(1)) on this interpreter (dictkind.c)"},
    {"candidate_ids", (PyCFunction)(void (*)(void))mod_candidate_ids, METH_FASTCALL,
     "candidate_ids(healthy, cached) -> (dict, list) | None: the latency, cost "
     "and v1 selectors' id pass (candids.c)"},
    {"sample_all", (PyCFunction)(void (*)(void))mod_sample_all, METH_FASTCALL,
     "sample_all(getrandbits, population) -> list | None: "
     "random.sample(population, len(population)) through that getrandbits "
     "(sample.c)"},
    {"first_min", mod_first_min, METH_O,
     "first_min(potential) -> deployment | None: the first item of the "
     "first smallest (dep, score) pair, as a stable sort puts it "
     "(csrc/core/fl_select.c)"},
    {"shortlist", (PyCFunction)(void (*)(void))mod_shortlist, METH_FASTCALL,
     "shortlist(potential, buffer) -> list | None: latency-based routing's "
     "candidates within the buffer of the lowest, ranked "
     "(csrc/core/fl_select.c)"},
    {"select_admits", (PyCFunction)(void (*)(void))mod_select_admits,
     METH_FASTCALL,
     "select_admits(tpm_now, tokens, tpm, rpm_now, rpm) -> bool | None: the "
     "selectors' usage test (csrc/core/fl_select.c)"},
    {"cost_scan", (PyCFunction)(void (*)(void))mod_cost_scan, METH_FASTCALL,
     "cost_scan(items, index, minute, input_tokens, model_cost) -> list | "
     "None: cost-based routing's loop (costscan.c)"},
    {"repr_is_pure", mod_repr_is_pure, METH_O,
     "repr_is_pure(obj) -> bool: formatting obj runs no Python code and cannot "
     "raise (purerepr.c)"},
    {"abi_version", mod_abi_version, METH_NOARGS,
     "abi_version()\n--\n\nVersion of the binding's contract."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    fl_state *st = get_state(module);
    st->seeded_pid = 0;
    st->fixed_seed = 0;
    fl_ext_draws_init(&st->draws);
    if (fl_dict_kind_check() < 0) {
        goto error;
    }
    st->sampler_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &Sampler_spec, NULL);
    if (st->sampler_type == NULL) {
        goto error;
    }
    if (PyModule_AddType(module, st->sampler_type) < 0) {
        goto error;
    }
    if (fl_ext_add_bpe_type(module, &st->bpe_type) < 0) {
        goto error;
    }
    if (fl_ext_add_ttlmap_type(module, &st->ttlmap_type) < 0) {
        goto error;
    }
    if (fl_ext_tool_keys(st->tool_keys) < 0) {
        goto error;
    }
    if (fl_ext_route_keys(st->route_keys) < 0) {
        goto error;
    }
    if (fl_ext_usage_v1_keys(st->usage_v1_keys) < 0) {
        goto error;
    }
    if (fl_ext_ids_keys(st->ids_keys) < 0) {
        goto error;
    }
    if (fl_ext_lat_keys(st->lat_keys) < 0) {
        goto error;
    }
    if (fl_ext_cost_keys(st->cost_keys) < 0) {
        goto error;
    }
    if (fl_ext_mem_names(st->mem_names) < 0) {
        goto error;
    }
    if (fl_ext_busy_keys_names(st->busy_keys) < 0) {
        goto error;
    }
    if (fl_ext_usage_keys_names(st->usage_keys) < 0) {
        goto error;
    }
    if (fl_ext_v2_keys(st->v2_keys) < 0) {
        goto error;
    }
    st->memo = fl_depmemo_new();
    if (st->memo == NULL) {
        goto error;
    }
    if (PyModule_AddIntConstant(module, "ABI_VERSION", FL_ABI_VERSION) < 0) {
        goto error;
    }
    return 0;
error:
    return -1;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    fl_state *st = get_state(module);
    Py_VISIT(st->sampler_type);
    Py_VISIT(st->bpe_type);
    Py_VISIT(st->ttlmap_type);
    for (int k = 0; k < FL_EXT_TOOL_KEYS; k++) {
        Py_VISIT(st->tool_keys[k]);
    }
    for (int k = 0; k < FL_EXT_ROUTE_KEYS; k++) {
        Py_VISIT(st->route_keys[k]);
    }
    for (int k = 0; k < FL_EXT_LAT_KEYS; k++) {
        Py_VISIT(st->lat_keys[k]);
    }
    for (int k = 0; k < FL_EXT_USAGE_V1_KEYS; k++) {
        Py_VISIT(st->usage_v1_keys[k]);
    }
    for (int k = 0; k < FL_EXT_IDS_KEYS; k++) {
        Py_VISIT(st->ids_keys[k]);
    }
    for (int k = 0; k < FL_EXT_COST_KEYS; k++) {
        Py_VISIT(st->cost_keys[k]);
    }
    for (int k = 0; k < FL_EXT_MEM_NAMES; k++) {
        Py_VISIT(st->mem_names[k]);
    }
    for (int k = 0; k < FL_EXT_BUSY_KEYS; k++) {
        Py_VISIT(st->busy_keys[k]);
    }
    for (int k = 0; k < FL_EXT_USAGE_KEYS; k++) {
        Py_VISIT(st->usage_keys[k]);
    }
    for (int k = 0; k < FL_EXT_V2_KEYS; k++) {
        Py_VISIT(st->v2_keys[k]);
    }
    for (int k = 0; k < FL_EXT_DRAW_TABLES; k++) {
        Py_VISIT(st->draws.held[k]);
    }
    return fl_depmemo_traverse(st->memo, visit, arg);
}

static int
module_clear(PyObject *module)
{
    fl_state *st = get_state(module);
    Py_CLEAR(st->sampler_type);
    Py_CLEAR(st->bpe_type);
    Py_CLEAR(st->ttlmap_type);
    for (int k = 0; k < FL_EXT_TOOL_KEYS; k++) {
        Py_CLEAR(st->tool_keys[k]);
    }
    for (int k = 0; k < FL_EXT_ROUTE_KEYS; k++) {
        Py_CLEAR(st->route_keys[k]);
    }
    for (int k = 0; k < FL_EXT_LAT_KEYS; k++) {
        Py_CLEAR(st->lat_keys[k]);
    }
    for (int k = 0; k < FL_EXT_USAGE_V1_KEYS; k++) {
        Py_CLEAR(st->usage_v1_keys[k]);
    }
    for (int k = 0; k < FL_EXT_IDS_KEYS; k++) {
        Py_CLEAR(st->ids_keys[k]);
    }
    for (int k = 0; k < FL_EXT_COST_KEYS; k++) {
        Py_CLEAR(st->cost_keys[k]);
    }
    for (int k = 0; k < FL_EXT_MEM_NAMES; k++) {
        Py_CLEAR(st->mem_names[k]);
    }
    for (int k = 0; k < FL_EXT_BUSY_KEYS; k++) {
        Py_CLEAR(st->busy_keys[k]);
    }
    for (int k = 0; k < FL_EXT_USAGE_KEYS; k++) {
        Py_CLEAR(st->usage_keys[k]);
    }
    for (int k = 0; k < FL_EXT_V2_KEYS; k++) {
        Py_CLEAR(st->v2_keys[k]);
    }
    fl_ext_draws_clear(&st->draws);
    fl_depmemo_clear(st->memo);
    return 0;
}

static void
module_free(void *module)
{
    fl_state *st = get_state((PyObject *)module);
    (void)module_clear((PyObject *)module);
    fl_depmemo_free(st->memo);
    st->memo = NULL;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fast_litellm._native",
    .m_doc = "C core of fast_litellm (binding layer).",
    .m_size = sizeof(fl_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
