/* fl_ext.h - what the binding's files share with module.c. */
#ifndef FL_EXT_H
#define FL_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

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

/* plain_deployments(deployments, marker_prefix) (routefilt.c): whether the
 * Router's per-deployment filters are no-ops on the list.  `keys` from
 * fl_ext_route_keys (module state). */
#define FL_EXT_ROUTE_KEYS 8
int fl_ext_route_keys(PyObject **keys);
PyObject *fl_ext_plain_deployments(PyObject *const *keys, PyObject *const *args,
                                   Py_ssize_t nargs);
/* named_deployments(model_list, indices, name) and metric_weights(
 * deployments, metric) (routefilt.c): get_all_deployments' and
 * simple-shuffle's per-deployment loops, None outside the plain case. */
PyObject *fl_ext_named_deployments(PyObject *const *keys, PyObject *const *args,
                                   Py_ssize_t nargs);
PyObject *fl_ext_metric_weights(PyObject *const *keys, PyObject *const *args,
                                Py_ssize_t nargs);
/* ids_present(deployments), scaled(weights, largest) (routefilt.c): the
 * cooldown filter's id reads and simple-shuffle's normalization. */
PyObject *fl_ext_ids_present(PyObject *const *keys, PyObject *seq);
PyObject *fl_ext_scaled(PyObject *const *args, Py_ssize_t nargs);

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

/* repr_is_pure(obj) (purerepr.c): formatting obj runs no Python code and
 * cannot raise. */
PyObject *fl_ext_repr_is_pure(PyObject *obj);

#endif /* FL_EXT_H */
