/* purerepr.c - repr_is_pure(obj): whether formatting `obj` (str(), repr(),
 * an f-string field) runs no Python code and cannot raise.
 *
 * LiteLLM's DualCache formats every value it reads or writes into a debug
 * string (print_verbose(f"... {value}")) before print_verbose looks at
 * whether debug output is on; for a router's 1,000-deployment latency map
 * that is milliseconds a request.  The dual_cache component skips the
 * formatting when the output is off and this function says it would have
 * had no effect: `obj` is None, a bool, an exact int that fits in 64 bits
 * (longer ints can exceed Python's int-to-str digit limit and raise), an
 * exact float, an exact str or bytes, or an exact dict, list or tuple of
 * such, nested at most FL_PURE_DEPTH deep (deeper, or a container that
 * holds itself, gives False: the caller then formats as LiteLLM does).
 */
#include "fl_ext.h"

#define FL_PURE_DEPTH 32

static int pure(PyObject *o, int depth);

static int
pure_seq(PyObject *const *items, Py_ssize_t n, int depth)
{
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!pure(items[k], depth)) {
            return 0;
        }
    }
    return 1;
}

static int
pure(PyObject *o, int depth)
{
    if (o == Py_None || PyBool_Check(o) || PyFloat_CheckExact(o) ||
        PyUnicode_CheckExact(o) || PyBytes_CheckExact(o)) {
        return 1;
    }
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        (void)PyLong_AsLongLongAndOverflow(o, &overflow);
        return overflow == 0; /* never -1 with an error for an exact int */
    }
    if (depth >= FL_PURE_DEPTH) {
        return 0;
    }
    if (PyList_CheckExact(o)) {
        /* items read by index: no code runs that could change the list */
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(o); k++) {
            if (!pure(PyList_GET_ITEM(o, k), depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    if (PyTuple_CheckExact(o)) {
        return pure_seq(&PyTuple_GET_ITEM(o, 0), PyTuple_GET_SIZE(o),
                        depth + 1);
    }
    if (PyDict_CheckExact(o)) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(o, &pos, &k, &v)) {
            if (!pure(k, depth + 1) || !pure(v, depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

PyObject *
fl_ext_repr_is_pure(PyObject *obj)
{
    return PyBool_FromLong(pure(obj, 0));
}
