/* fl_ext.h - what the binding's files share with module.c. */
#ifndef FL_EXT_H
#define FL_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include "fl_wpick.h"

/* CPython's dict version tag (PEP 509): a new value from a process-wide
 * counter on every change of the dict, never repeated.  Deprecated from
 * 3.12 (still maintained; the low bits carry watcher flags) and gone in
 * 3.14: FL_DICT_TAGS is 1 on 3.11 to 3.13 (not free-threaded), where
 * fl_dict_tag(d) reads it (d an exact dict or a subclass); elsewhere the
 * callers do without.  tests/depmemo_tags.py checks the rule on each. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && \
    !defined(Py_GIL_DISABLED)
#define FL_DICT_TAGS 1
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
static inline uint64_t
fl_dict_tag(PyObject *d)
{
    return ((PyDictObject *)d)->ma_version_tag;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#else
#define FL_DICT_TAGS 0
#endif

/* 1 when every key of the dict d (its own table, read through PyDict_Next:
 * no code runs) is an exact str -- then a lookup with an exact str key
 * compares strs only and runs no __eq__. */
static inline int
fl_all_str_keys(PyObject *d)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) {
            return 0;
        }
    }
    return 1;
}

/* dictkind.c: fl_dict_str_keyed(d) is 1 when every key of the dict d is
 * an exact str, so that a lookup with an exact str key runs no Python code
 * (O(1) for dicts of CPython's UNICODE kind; see dictkind.c).
 * fl_dict_kind_check() checks the kind's layout once (module exec): 0, or
 * -1 with an exception; fl_dict_kind_fast() says whether it held. */
int fl_dict_kind_check(void);
int fl_dict_kind_fast(void);
int fl_dict_str_keyed(PyObject *d);
/* an exact dict that fl_dict_str_keyed accepts: the test of every dict a
 * scan or filter reads through borrowed references */
static inline int
fl_ext_plain_dict(PyObject *d)
{
    return PyDict_CheckExact(d) && fl_dict_str_keyed(d);
}

/* Create the heap type `BPE` for `module` (tokenizer.c) and add it to the
 * module.  Returns a new reference in *type, or -1 with an exception. */
int fl_ext_add_bpe_type(PyObject *module, PyTypeObject **type);

/* Create the heap type `TTLMap` (ttlmap.c) and add it to the module.
 * Returns 0 with a new reference in *type, or -1 with an exception. */
int fl_ext_add_ttlmap_type(PyObject *module, PyTypeObject **type);

/* keys[k] = interned str of text[k] for k < n (new references), or -1
 * with an exception and no references (module.c). */
int fl_ext_intern_keys(const char *const *text, int n, PyObject **keys);

/* The dict keys format_tools reads, made once per module (module state):
 * fl_ext_tool_keys fills keys[0..FL_EXT_TOOL_KEYS) with new references to
 * interned strs, or returns -1 with an exception (and no references). */
#define FL_EXT_TOOL_KEYS 12
int fl_ext_tool_keys(PyObject **keys);

/* format_tools(tools) (toolfmt.c): LiteLLM's _format_function_definitions
 * for JSON-shaped tools, or None where LiteLLM's function must answer.
 * `keys`: the ones fl_ext_tool_keys made. */
PyObject *fl_ext_format_tools(PyObject *const *keys, PyObject *tools);

/* The routing tests' verdicts per deployment dict, kept while the dict,
 * its litellm_params and its model_info are unchanged (depmemo.c explains
 * the rule; CPython 3.11's dict version tags).  One per module state. */
typedef struct fl_depmemo fl_depmemo;
typedef struct {
    PyObject *d, *lp, *mi; /* d NULL: nothing to remember */
    uint64_t dtag, lptag, mitag;
} fl_depmemo_snapshot;
#define FL_DEPMEMO_NONE (-1)  /* a test that is not memoised */
#define FL_DEPMEMO_ERROR (-2) /* an exception is set */
#define FL_DEPMEMO_IDS 31     /* ids_present's signature */
#define FL_DEPMEMO_VALUES 3   /* numbers remembered per deployment */
/* NULL with MemoryError, or an empty memo (its table comes at first use) */
fl_depmemo *fl_depmemo_new(void);
void fl_depmemo_free(fl_depmemo *m);
int fl_depmemo_traverse(fl_depmemo *m, visitproc visit, void *arg);
void fl_depmemo_clear(fl_depmemo *m);
/* The signature number (0..30) of the test of `kind` (the caller's
 * numbering) selected by parts[0..n) (None or exact strs); with_value: the
 * test also gives a number to remember.  FL_DEPMEMO_NONE when it cannot be
 * memoised (other types, too many signatures, no version tags),
 * FL_DEPMEMO_ERROR with an exception. */
int fl_depmemo_sig(fl_depmemo *m, int kind, int with_value, PyObject *const *parts,
                   Py_ssize_t n);
/* The remembered verdict of test `sig` on d (0 or 1), and its number in
 * *value when it has one; -1 when unknown. */
int fl_depmemo_get(fl_depmemo *m, PyObject *d, int sig, double *value);
/* Record d's dicts and tags before running a test on it: 0, or -1 with an
 * exception (a key lookup raised). */
int fl_depmemo_snap(PyObject *lp_key, PyObject *mi_key, PyObject *d,
                    fl_depmemo_snapshot *snap);
/* Remember `verdict` of test `sig` for the snapshot: 0, or -1 with
 * MemoryError (the table's first allocation). */
int fl_depmemo_put(fl_depmemo *m, const fl_depmemo_snapshot *snap, int sig,
                   int verdict, double value);
void fl_depmemo_counts(const fl_depmemo *m, uint64_t *hits, uint64_t *misses,
                       uint64_t *list_hits);
/* Whole lists: a test can remember a list of FL_MEMO_LIST_MIN or more
 * items with what it answered for it (the FL_MEMO_LISTS used last per
 * signature: one per model group a proxy picks from alternately), as a
 * record (snapshot, *extra): seqsnap.c's snapshot of the items and of their
 * dicts, litellm_params and model_info.  list_find: the record (borrowed)
 * whose snapshot holds for seq -- the same items, unchanged -- and, when
 * `also` is not NULL, whose first extra holds the same objects as `also`
 * (a list or tuple); NULL when none (never raises).  list_put: remember seq with extra (a tuple, or NULL for
 * none; subkeys: the litellm_params and model_info names): 0, or -1 with
 * an exception. */
#define FL_MEMO_LIST_MIN 32
#define FL_MEMO_LISTS 8
#define FL_DEPMEMO_SUBS 2
PyObject *fl_depmemo_list_find(fl_depmemo *m, int sig, PyObject *seq, PyObject *also);
int fl_depmemo_list_put(fl_depmemo *m, int sig, PyObject *seq, PyObject *const *subkeys,
                        PyObject *extra);
/* dict_tags(objs) (depmemo.c): the version tags of dicts (a class: its
 * namespace), None where CPython has none. */
PyObject *fl_ext_dict_tags(PyObject *const *args, Py_ssize_t nargs);

/* plain_deployments(deployments, marker_prefix) (routefilt.c): whether the
 * Router's per-deployment filters are no-ops on the list.  `keys` from
 * fl_ext_route_keys (module state). */
#define FL_EXT_ROUTE_KEYS 8
int fl_ext_route_keys(PyObject **keys);
PyObject *fl_ext_plain_deployments(PyObject *const *keys, fl_depmemo *memo,
                                   PyObject *const *args, Py_ssize_t nargs);
/* named_deployments(model_list, indices, name) and metric_weights(
 * deployments, metric) (routefilt.c): get_all_deployments' and
 * simple-shuffle's per-deployment loops, None outside the plain case. */
PyObject *fl_ext_named_deployments(PyObject *const *keys, fl_depmemo *memo,
                                   PyObject *const *args, Py_ssize_t nargs);
PyObject *fl_ext_metric_weights(PyObject *const *keys, fl_depmemo *memo,
                                PyObject *const *args, Py_ssize_t nargs);
/* ids_present(deployments), scaled(weights, largest) (routefilt.c): the
 * cooldown filter's id reads and simple-shuffle's normalization. */
PyObject *fl_ext_ids_present(PyObject *const *keys, fl_depmemo *memo,
                             PyObject *seq);
PyObject *fl_ext_scaled(PyObject *const *args, Py_ssize_t nargs);

/* float_max(weights) and weighted_draw(population, weights, rand)
 * (shuffle.c): simple-shuffle's largest weight and random.choices' draw,
 * None outside the plain case.  weighted_draw keeps the cumulative tables
 * of the FL_EXT_DRAW_TABLES weights tuples it used last (one per model
 * group a proxy picks from alternately), each with its tuple held, most
 * recently used first (the module state's fl_ext_draws). */
#define FL_EXT_DRAW_TABLES 8
struct fl_ext_draws {
    PyObject *held[FL_EXT_DRAW_TABLES]; /* the weights tuples (NULL: free) */
    struct fl_wpick table[FL_EXT_DRAW_TABLES];
};
void fl_ext_draws_init(struct fl_ext_draws *dr);
void fl_ext_draws_clear(struct fl_ext_draws *dr);
PyObject *fl_ext_float_max(PyObject *const *args, Py_ssize_t nargs);
PyObject *fl_ext_weighted_draw(struct fl_ext_draws *dr, PyObject *const *args,
                               Py_ssize_t nargs);

/* latency_scan(items, index, minute, input_tokens) (latscan.c): the loop
 * of latency-based routing, None outside the plain case.  `keys` from
 * fl_ext_lat_keys (module state). */
#define FL_EXT_LAT_KEYS 6
int fl_ext_lat_keys(PyObject **keys);
PyObject *fl_ext_latency_scan(PyObject *const *keys, PyObject *const *args,
                              Py_ssize_t nargs);

/* cost_scan(items, index, minute, input_tokens, model_cost) (costscan.c):
 * the loop of cost-based routing, None outside the plain case.  `keys`
 * from fl_ext_cost_keys (module state). */
#define FL_EXT_COST_KEYS 9
int fl_ext_cost_keys(PyObject **keys);
PyObject *fl_ext_cost_scan(PyObject *const *keys, PyObject *const *args,
                           Py_ssize_t nargs);

/* usage_scan(tpm_dict, index, rpm_dict, input_tokens) (v1scan.c): the
 * loop of usage-based routing (v1), None outside the plain case.  `keys`
 * from fl_ext_usage_v1_keys (module state). */
#define FL_EXT_USAGE_V1_KEYS 4
int fl_ext_usage_v1_keys(PyObject **keys);
PyObject *fl_ext_usage_scan(PyObject *const *keys, PyObject *const *args,
                            Py_ssize_t nargs);

/* candidate_ids(healthy, cached) (candids.c): the id pass of the latency,
 * cost and v1 selectors, None outside the plain case.  `keys` from
 * fl_ext_ids_keys (module state). */
#define FL_EXT_IDS_KEYS 2
int fl_ext_ids_keys(PyObject **keys);
PyObject *fl_ext_candidate_ids(PyObject *const *keys, PyObject *const *args,
                               Py_ssize_t nargs);

/* sample_all(getrandbits, population) (sample.c): random.sample(population,
 * len(population)) drawn through that getrandbits, None unless population
 * is an exact list. */
PyObject *fl_ext_sample_all(PyObject *const *args, Py_ssize_t nargs);

/* first_min(potential), shortlist(potential, buffer) and
 * select_admits(tpm_now, tokens, tpm, rpm_now, rpm) (selectbind.c): the
 * choice among scored candidates (csrc/core/fl_select.c), None outside the
 * plain case. */
PyObject *fl_ext_first_min(PyObject *potential);
PyObject *fl_ext_shortlist(PyObject *const *args, Py_ssize_t nargs);
PyObject *fl_ext_select_admits(PyObject *const *args, Py_ssize_t nargs);

/* A snapshot of a candidate list (seqsnap.c): the items and the version
 * tags of each exact dict item and of its sub-dicts subkeys[0..nsub)
 * (nsub <= 4).  take: a new reference (None without version tags), NULL
 * with an exception.  holds: 1 when seq (a list or tuple) holds the same
 * items with every recorded tag unchanged, else 0; never raises. */
PyObject *fl_seqsnap_take(PyObject *seq, PyObject *const *subkeys, int nsub);
int fl_seqsnap_holds(PyObject *snap, PyObject *seq, int nsub);
/* (snap, tuple(a), tuple(b)[, extra]) -- a remembered answer (a, b) with
 * the snapshot taken before it was computed: a new reference, or NULL with
 * an exception. */
PyObject *fl_seqsnap_record(PyObject *snap, PyObject *a, PyObject *b, PyObject *extra);
/* fl_seqsnap_same(a, b) / same_items(a, b) (seqsnap.c): 1 / True when a and
 * b are exact lists or tuples of the same length holding the same objects
 * in the same order. */
int fl_seqsnap_same(PyObject *a, PyObject *b);
PyObject *fl_ext_same_items(PyObject *const *args, Py_ssize_t nargs);
/* Recent records (seqsnap.c): memo[slot] (memo an exact dict) holds a list
 * of remembered answers, most recently used first, at most `cap` -- one
 * per candidate list a strategy meets in turn (a proxy's model groups).
 * find: the first record for which match(rec, ctx) is 1 (match must not
 * run Python code or raise), moved to the front; a new reference, or NULL
 * (with an exception only when reading memo raised).  put: rec in front,
 * the records past cap dropped: 0, or -1 with an exception. */
typedef int (*fl_recent_match)(PyObject *rec, void *ctx);
PyObject *fl_recent_find(PyObject *memo, PyObject *slot, fl_recent_match match, void *ctx);
int fl_recent_put(PyObject *memo, PyObject *slot, PyObject *rec, Py_ssize_t cap);

/* mem_batch_get(cache, keys, module_globals, json_loads) (membatch.c):
 * InMemoryCache's batch read loop, operation for operation.  `names` from
 * fl_ext_mem_names (module state). */
#define FL_EXT_MEM_NAMES 7
int fl_ext_mem_names(PyObject **names);
PyObject *fl_ext_mem_batch_get(PyObject *const *names, PyObject *const *args,
                               Py_ssize_t nargs);

/* busy_keys(model_group, deployments, memo) and least_index(raw, n)
 * (busyscan.c): least-busy routing's keys and pick, None outside the plain
 * case.  `keys` from fl_ext_busy_keys_names (module state). */
#define FL_EXT_BUSY_KEYS 2
int fl_ext_busy_keys_names(PyObject **keys);
PyObject *fl_ext_busy_keys(PyObject *const *keys, PyObject *const *args,
                           Py_ssize_t nargs);
PyObject *fl_ext_least_index(PyObject *const *args, Py_ssize_t nargs);

/* usage_keys(deployments, minute[, memo]) (usagekeys.c): usage-based-routing-v2's
 * counter keys, None outside the plain case.  `keys` from
 * fl_ext_usage_keys_names (module state). */
#define FL_EXT_USAGE_KEYS 6
int fl_ext_usage_keys_names(PyObject **keys);
PyObject *fl_ext_usage_keys(PyObject *const *keys, PyObject *const *args,
                            Py_ssize_t nargs);

/* v2_dicts(tpm_keys, tpm_values, rpm_keys, rpm_values[, heads]) (v2scan.c):
 * usage-based v2's usage maps, None outside the plain case.  `keys` (for
 * v2_select below) from fl_ext_v2_keys (module state). */
#define FL_EXT_V2_KEYS 5
int fl_ext_v2_keys(PyObject **keys);
PyObject *fl_ext_v2_dicts(PyObject *const *args, Py_ssize_t nargs);
/* v2_select(healthy, tpm_keys, tpm_values, rpm_keys, rpm_values,
 * input_tokens[, memo]) and v2_keys_ok(tpm_keys, tpm_values, rpm_keys,
 * rpm_values) (v2scan.c): usage-based v2's candidates without the usage
 * maps, and whether the key and value lists are plain.  `keys` from
 * fl_ext_v2_keys (module state). */
PyObject *fl_ext_v2_select(PyObject *const *keys, PyObject *const *args, Py_ssize_t nargs);
PyObject *fl_ext_v2_keys_ok(PyObject *const *args, Py_ssize_t nargs);

/* dict_with_changes(old, keys, values, old_values) (v2scan.c): a copy of
 * old with keys[i] set to values[i] wherever values[i] is not old_values[i]
 * -- dict(zip(keys, values)) when old is dict(zip(keys, old_values)) and
 * the keys are distinct (the caller's facts); None unless old is an exact
 * dict of len(keys) entries, the three sequences exact lists or tuples of
 * one length and the keys exact strs. */
PyObject *fl_ext_dict_with_changes(PyObject *const *args, Py_ssize_t nargs);

/* dict_values_for(d, keys) (v2scan.c): [d.get(k) for k in keys] for an exact
 * dict and an exact list or tuple of exact strs; None otherwise. */
PyObject *fl_ext_dict_values_for(PyObject *const *args, Py_ssize_t nargs);

/* repr_is_pure(obj) (purerepr.c): formatting obj runs no Python code and
 * cannot raise. */
PyObject *fl_ext_repr_is_pure(PyObject *obj);

#endif /* FL_EXT_H */
