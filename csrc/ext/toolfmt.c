/* toolfmt.c - format_tools(tools): LiteLLM's _format_function_definitions
 * (litellm/litellm_core_utils/token_counter.py, 1.108.7) for JSON-shaped
 * tools, the text whose tokens token_counter adds for `tools`.
 *
 * This walks Python objects, so unlike the rest of the binding it is not a
 * conversion in front of csrc/core: there is no C-side data to hand over.
 *
 * Contract: `tools` is a list.  Returns the str LiteLLM's function returns,
 * or None when the input holds anything this file does not reproduce
 * exactly; the caller then calls LiteLLM's function (it is pure, so calling
 * it afterwards is the same as calling it first).  Reproduced: dicts, lists,
 * str, int, float, bool and None, exactly those types (no subclasses, whose
 * truthiness, comparison or formatting could run user code), and the inputs
 * on which LiteLLM returns a string.  Inputs on which LiteLLM raises
 * (a missing "items", a non-dict schema ...) give None.  Limits: nesting up
 * to TOOLFMT_MAX_DEPTH schema levels, then None.
 */
#include "fl_ext.h"

#include <string.h>

#define TOOLFMT_MAX_DEPTH 64

struct buf {
    char *p;
    size_t len;
    size_t cap;
};

/* The dict keys LiteLLM reads (made once per module, in its state). */
enum key_id {
    K_FUNCTION, K_FUNCTION_DECLARATIONS, K_FUNCTIONDECLARATIONS, K_INPUT_SCHEMA,
    K_PARAMETERS, K_NAME, K_DESCRIPTION, K_PROPERTIES, K_REQUIRED, K_TYPE, K_ENUM,
    K_ITEMS, K_COUNT
};
static const char *const key_text[K_COUNT] = {
    "function", "function_declarations", "functionDeclarations", "input_schema",
    "parameters", "name", "description", "properties", "required", "type", "enum",
    "items"};

_Static_assert(K_COUNT == FL_EXT_TOOL_KEYS, "fl_ext.h: FL_EXT_TOOL_KEYS");

struct ctx {
    struct buf b;
    PyObject *const *keys; /* borrowed from the module state */
};

int
fl_ext_tool_keys(PyObject **keys)
{
    return fl_ext_intern_keys(key_text, K_COUNT, keys);
}

/* 1 done, 0 bail (no exception), -1 error (exception set) */
enum { BAIL = 0, OK = 1, ERR = -1 };

static int
put(struct ctx *c, const char *s, size_t n)
{
    struct buf *b = &c->b;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > PY_SSIZE_T_MAX / 2) {
                PyErr_NoMemory();
                return ERR;
            }
            cap *= 2;
        }
        char *np = PyMem_Realloc(b->p, cap);
        if (np == NULL) {
            PyErr_NoMemory();
            return ERR;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return OK;
}

static int
puts_(struct ctx *c, const char *s)
{
    return put(c, s, strlen(s));
}

/* a str's UTF-8; a str that has none (lone surrogates) is a bail */
static int
put_str(struct ctx *c, PyObject *s)
{
    Py_ssize_t n = 0;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            return BAIL;
        }
        return ERR;
    }
    return put(c, u, (size_t)n);
}

static int
put_spaces(struct ctx *c, int n)
{
    for (int i = 0; i < n; i++) {
        if (put(c, " ", 1) != OK) {
            return ERR;
        }
    }
    return OK;
}

/* exactly one of the JSON types: truthiness and == "..." run no user code;
 * an object is a dict of exact str keys (as JSON's are), so that a lookup
 * in it runs no __eq__ that could free what this file holds borrowed */
static int
is_json(PyObject *v)
{
    return v == Py_None || PyUnicode_CheckExact(v) || PyLong_CheckExact(v) ||
           PyFloat_CheckExact(v) || PyBool_Check(v) || PyList_CheckExact(v) ||
           fl_ext_plain_dict(v);
}

/* d.get(key) for an exact dict: borrowed or NULL (absent, *err = 0) or NULL
 * with *err = 1 (exception) */
static PyObject *
get(struct ctx *c, PyObject *d, enum key_id key, int *err)
{
    PyObject *v = PyDict_GetItemWithError(d, c->keys[key]);
    *err = v == NULL && PyErr_Occurred();
    return v;
}

/* .get(key) that must be JSON; *out borrowed (NULL when absent) */
static int
get_json(struct ctx *c, PyObject *d, enum key_id key, PyObject **out)
{
    int err = 0;
    *out = get(c, d, key, &err);
    if (err) {
        return ERR;
    }
    if (*out != NULL && !is_json(*out)) {
        return BAIL;
    }
    return OK;
}

static int
truthy(PyObject *v)
{
    return v == NULL ? 0 : PyObject_IsTrue(v);
}

/* d.get(first) or d.get(second), both JSON */
static int
get_json_or(struct ctx *c, PyObject *d, enum key_id first, enum key_id second, PyObject **out)
{
    int rc = get_json(c, d, first, out);
    int t;
    if (rc != OK) {
        return rc;
    }
    if ((t = truthy(*out)) < 0) {
        return ERR;
    }
    return t ? OK : get_json(c, d, second, out);
}

static int
str_eq(PyObject *s, const char *lit)
{
    return PyUnicode_CheckExact(s) && PyUnicode_CompareWithASCIIString(s, lit) == 0;
}

static int fmt_object(struct ctx *c, PyObject *parameters, int indent, int depth);

/* f'"{item}"' for a JSON scalar */
static int
put_enum_item(struct ctx *c, PyObject *item)
{
    int rc;
    if (put(c, "\"", 1) != OK) {
        return ERR;
    }
    if (PyUnicode_CheckExact(item)) {
        rc = put_str(c, item);
    } else if (item == Py_None || PyBool_Check(item) || PyLong_CheckExact(item) ||
               PyFloat_CheckExact(item)) {
        PyObject *s = PyObject_Str(item); /* format(v, "") == str(v) for these */
        if (s == NULL) {
            return ERR;
        }
        rc = put_str(c, s);
        Py_DECREF(s);
    } else {
        return BAIL;
    }
    if (rc != OK) {
        return rc;
    }
    return put(c, "\"", 1);
}

/* LiteLLM's _format_type */
static int
fmt_type(struct ctx *c, PyObject *props, int indent, int depth)
{
    int err = 0;
    int rc;
    PyObject *ty;

    if (depth > TOOLFMT_MAX_DEPTH || !fl_ext_plain_dict(props)) {
        return BAIL;
    }
    ty = get(c, props, K_TYPE, &err);
    if (err) {
        return ERR;
    }
    if (ty != NULL && !is_json(ty)) {
        return BAIL;
    }
    /* a JSON value that is no str (a list of types, say) equals none of the
     * names below: "any", as in LiteLLM */
    if (ty != NULL && (str_eq(ty, "string") || str_eq(ty, "integer") || str_eq(ty, "number"))) {
        PyObject *en = get(c, props, K_ENUM, &err);
        if (err) {
            return ERR;
        }
        if (en != NULL) {
            if (!PyList_CheckExact(en)) {
                return BAIL;
            }
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(en); i++) {
                if (i > 0 && puts_(c, " | ") != OK) {
                    return ERR;
                }
                rc = put_enum_item(c, PyList_GET_ITEM(en, i));
                if (rc != OK) {
                    return rc;
                }
            }
            return OK;
        }
        return puts_(c, str_eq(ty, "string") ? "string" : "number");
    }
    if (ty != NULL && str_eq(ty, "array")) {
        PyObject *items = get(c, props, K_ITEMS, &err);
        if (err) {
            return ERR;
        }
        if (items == NULL) {
            return BAIL; /* LiteLLM raises KeyError */
        }
        rc = fmt_type(c, items, indent, depth + 1);
        if (rc != OK) {
            return rc;
        }
        return puts_(c, "[]");
    }
    if (ty != NULL && str_eq(ty, "object")) {
        if (puts_(c, "{\n") != OK) {
            return ERR;
        }
        rc = fmt_object(c, props, indent + 2, depth + 1);
        if (rc != OK) {
            return rc;
        }
        return puts_(c, "\n}");
    }
    if (ty != NULL && str_eq(ty, "boolean")) {
        return puts_(c, "boolean");
    }
    if (ty != NULL && str_eq(ty, "null")) {
        return puts_(c, "null");
    }
    return puts_(c, "any");
}

/* LiteLLM's _format_object_parameters; `parameters` is an exact dict */
static int
fmt_object(struct ctx *c, PyObject *parameters, int indent, int depth)
{
    int err = 0;
    int rc;
    int truth;
    int first = 1;
    Py_ssize_t pos = 0;
    PyObject *key;
    PyObject *props;
    PyObject *properties;
    PyObject *required;

    if (depth > TOOLFMT_MAX_DEPTH) {
        return BAIL;
    }
    if ((rc = get_json(c, parameters, K_PROPERTIES, &properties)) != OK) {
        return rc;
    }
    truth = truthy(properties);
    if (truth < 0) {
        return ERR;
    }
    if (!truth) {
        return OK;
    }
    if (!PyDict_CheckExact(properties)) {
        return BAIL; /* LiteLLM calls .items() on it */
    }
    required = get(c, parameters, K_REQUIRED, &err);
    if (err) {
        return ERR;
    }
    if (required != NULL && required != Py_None) {
        if (!PyList_CheckExact(required)) {
            return BAIL;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(required); i++) {
            if (!PyUnicode_CheckExact(PyList_GET_ITEM(required, i))) {
                return BAIL;
            }
        }
    }
    while (PyDict_Next(properties, &pos, &key, &props)) {
        PyObject *desc;
        int is_required = 0;
        if (!PyUnicode_CheckExact(key) || !fl_ext_plain_dict(props)) {
            return BAIL;
        }
        if ((rc = get_json(c, props, K_DESCRIPTION, &desc)) != OK) {
            return rc;
        }
        if (desc != NULL) {
            truth = PyObject_IsTrue(desc);
            if (truth < 0) {
                return ERR;
            }
            if (truth) {
                if (!PyUnicode_CheckExact(desc)) {
                    return BAIL;
                }
                if ((!first && put(c, "\n", 1) != OK) || put_spaces(c, indent) != OK ||
                    puts_(c, "// ") != OK) {
                    return ERR;
                }
                rc = put_str(c, desc);
                if (rc != OK) {
                    return rc;
                }
                first = 0;
            }
        }
        if (required != NULL && required != Py_None) {
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(required); i++) {
                int eq = PyUnicode_Compare(PyList_GET_ITEM(required, i), key);
                if (eq == -1 && PyErr_Occurred()) {
                    return ERR;
                }
                if (eq == 0) {
                    is_required = 1;
                    break;
                }
            }
        }
        if ((!first && put(c, "\n", 1) != OK) || put_spaces(c, indent) != OK) {
            return ERR;
        }
        first = 0;
        rc = put_str(c, key);
        if (rc != OK) {
            return rc;
        }
        if (puts_(c, is_required ? ": " : "?: ") != OK) {
            return ERR;
        }
        rc = fmt_type(c, props, indent, depth + 1);
        if (rc != OK) {
            return rc;
        }
        if (put(c, ",", 1) != OK) {
            return ERR;
        }
    }
    return OK;
}

/* "\n" + line, the separator of "\n".join(lines) (the first line is written
 * without one by format_tools) */
static int
newline(struct ctx *c)
{
    return put(c, "\n", 1);
}

/* LiteLLM's _format_single_function_definition, lines appended */
static int
fmt_function(struct ctx *c, PyObject *name, PyObject *desc, PyObject *params)
{
    int truth;
    int rc;
    int has_desc = 0;
    PyObject *properties = NULL;
    int object_form = 0;

    if (name == NULL) {
        name = Py_None;
    }
    if (desc == NULL) {
        desc = Py_None;
    }
    if (params == NULL) {
        params = Py_None;
    }
    if (!is_json(name) || !is_json(desc) || !is_json(params)) {
        return BAIL;
    }
    truth = PyObject_IsTrue(name);
    if (truth < 0) {
        return ERR;
    }
    if (!truth) {
        return OK; /* () */
    }
    if (!PyUnicode_CheckExact(name)) {
        return BAIL;
    }
    has_desc = PyObject_IsTrue(desc);
    if (has_desc < 0) {
        return ERR;
    }
    if (has_desc && !PyUnicode_CheckExact(desc)) {
        return BAIL;
    }
    /* parameters_value = .get("parameters") or {}; not a Mapping -> {} */
    if (PyDict_CheckExact(params)) {
        if ((rc = get_json(c, params, K_PROPERTIES, &properties)) != OK) {
            return rc;
        }
        if (properties != NULL && PyDict_CheckExact(properties) && PyDict_GET_SIZE(properties) > 0) {
            object_form = 1;
        }
    }
    if (has_desc) {
        if (newline(c) != OK || puts_(c, "// ") != OK) {
            return ERR;
        }
        rc = put_str(c, desc);
        if (rc != OK) {
            return rc;
        }
    }
    if (newline(c) != OK || puts_(c, "type ") != OK) {
        return ERR;
    }
    rc = put_str(c, name);
    if (rc != OK) {
        return rc;
    }
    if (object_form) {
        if (puts_(c, " = (_: {") != OK || newline(c) != OK) {
            return ERR;
        }
        rc = fmt_object(c, params, 0, 0);
        if (rc != OK) {
            return rc;
        }
        if (newline(c) != OK || puts_(c, "}) => any;") != OK) {
            return ERR;
        }
    } else if (puts_(c, " = () => any;") != OK) {
        return ERR;
    }
    return newline(c); /* the empty line after each function */
}

/* a function definition dict: its name, description and parameters */
static int
fmt_definition(struct ctx *c, PyObject *d)
{
    int err = 0;
    PyObject *name = get(c, d, K_NAME, &err);
    PyObject *desc = err ? NULL : get(c, d, K_DESCRIPTION, &err);
    PyObject *params = err ? NULL : get(c, d, K_PARAMETERS, &err);
    if (err) {
        return ERR;
    }
    return fmt_function(c, name, desc, params);
}

static int
fmt_tool(struct ctx *c, PyObject *tool)
{
    PyObject *function;
    PyObject *decls;
    PyObject *params;
    PyObject *name;
    PyObject *desc;
    int rc;

    if (!is_json(tool)) {
        return BAIL;
    }
    if (!PyDict_CheckExact(tool)) {
        return OK; /* not a Mapping: skipped */
    }
    if ((rc = get_json(c, tool, K_FUNCTION, &function)) != OK) {
        return rc;
    }
    if (function != NULL && PyDict_CheckExact(function)) {
        return fmt_definition(c, function);
    }
    if ((rc = get_json_or(c, tool, K_FUNCTION_DECLARATIONS, K_FUNCTIONDECLARATIONS, &decls)) != OK) {
        return rc;
    }
    if (decls != NULL && PyList_CheckExact(decls)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(decls); i++) {
            PyObject *d = PyList_GET_ITEM(decls, i);
            if (!is_json(d)) {
                return BAIL;
            }
            if (!PyDict_CheckExact(d)) {
                continue;
            }
            rc = fmt_definition(c, d);
            if (rc != OK) {
                return rc;
            }
        }
        return OK;
    }
    /* a bare tool: input_schema or parameters, name, description */
    if ((rc = get_json_or(c, tool, K_INPUT_SCHEMA, K_PARAMETERS, &params)) != OK) {
        return rc;
    }
    if ((rc = get_json(c, tool, K_NAME, &name)) != OK) {
        return rc;
    }
    if ((rc = get_json(c, tool, K_DESCRIPTION, &desc)) != OK) {
        return rc;
    }
    return fmt_function(c, name, desc, params);
}

PyObject *
fl_ext_format_tools(PyObject *const *keys, PyObject *tools)
{
    struct ctx c;
    PyObject *res = NULL;
    int rc = OK;

    memset(&c, 0, sizeof(c));
    if (!PyList_CheckExact(tools)) {
        PyErr_SetString(PyExc_TypeError, "format_tools() expects a list");
        goto error;
    }
    c.keys = keys;
    /* lines: "namespace functions {", "", <functions>, "} // namespace functions";
     * every function line is written as "\n" + line */
    if (puts_(&c, "namespace functions {\n") != OK) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(tools); i++) {
        PyObject *tool = PyList_GET_ITEM(tools, i);
        Py_INCREF(tool);
        rc = fmt_tool(&c, tool);
        Py_DECREF(tool);
        if (rc != OK) {
            break;
        }
    }
    if (rc == ERR) {
        goto error;
    }
    if (rc == BAIL) {
        res = Py_NewRef(Py_None);
        goto error;
    }
    if (puts_(&c, "\n} // namespace functions") != OK) {
        goto error;
    }
    res = PyUnicode_DecodeUTF8(c.b.p, (Py_ssize_t)c.b.len, "strict");
error:
    PyMem_Free(c.b.p);
    return res;
}
