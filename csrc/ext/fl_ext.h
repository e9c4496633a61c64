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

/* format_tools(tools) (toolfmt.c): LiteLLM's _format_function_definitions
 * for JSON-shaped tools, or None where LiteLLM's function must answer. */
PyObject *fl_ext_format_tools(PyObject *module, PyObject *tools);

#endif /* FL_EXT_H */
