/* sample.c - sample_all(getrandbits, population): what
 * random.Random.sample(population, len(population)) returns, drawing
 * through the same getrandbits, for latency-based routing's shuffle of its
 * cached map (LiteLLM 1.108.7: random.sample(list(items), len(items))).
 *
 * CPython 3.11-3.13's Lib/random.py (the same code in all three), for
 * k == n: setsize = 21 + 4 ** ceil(log(3k, 4)) > n, so the pool branch:
 *
 *     pool = list(population); result = [None] * n
 *     for i in range(n):
 *         j = randbelow(n - i)
 *         result[i] = pool[j]
 *         pool[j] = pool[n - i - 1]
 *
 * with randbelow = _randbelow_with_getrandbits:
 *
 *     k = m.bit_length(); r = getrandbits(k)
 *     while r >= m: r = getrandbits(k)
 *
 * getrandbits is called as LiteLLM's call would call it (the instance's
 * own bound method, the same arguments in the same order), so the
 * generator's state afterwards is the same.  The caller checks that the
 * instance is an exact random.Random whose sample, _randbelow and
 * getrandbits are the standard library's (routing.py); population must be
 * an exact list (None is returned otherwise).  A getrandbits that returns
 * something other than an exact int is an error (TypeError). */
#include "fl_ext.h"

/* the bit length of m >= 1 */
static int
bit_length(Py_ssize_t m)
{
    int k = 0;
    size_t v = (size_t)m;
    while (v != 0) {
        k++;
        v >>= 1;
    }
    return k;
}

/* randbelow(m) through getrandbits: 0 with *j set, -1 with an exception */
static int
randbelow(PyObject *getrandbits, PyObject *bits, Py_ssize_t m, Py_ssize_t *j)
{
    for (;;) {
        PyObject *r = PyObject_CallOneArg(getrandbits, bits);
        Py_ssize_t v;
        if (r == NULL) {
            return -1;
        }
        if (!PyLong_CheckExact(r)) {
            Py_DECREF(r);
            PyErr_SetString(PyExc_TypeError, "sample_all: getrandbits() returned a non-int");
            return -1;
        }
        v = PyLong_AsSsize_t(r);
        Py_DECREF(r);
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (v >= 0 && v < m) {
            *j = v;
            return 0;
        }
    }
}

PyObject *
fl_ext_sample_all(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *getrandbits, *population, *pool = NULL, *result = NULL, *bits = NULL;
    Py_ssize_t n;
    int k_last = -1;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "sample_all() expects (getrandbits, population)");
        return NULL;
    }
    getrandbits = args[0];
    population = args[1];
    if (!PyList_CheckExact(population)) {
        Py_RETURN_NONE;
    }
    pool = PyList_GetSlice(population, 0, PyList_GET_SIZE(population));
    if (pool == NULL) {
        goto error;
    }
    n = PyList_GET_SIZE(pool);
    result = PyList_New(n);
    if (result == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t m = n - i, j = 0;
        int k = bit_length(m);
        PyObject *picked, *last;
        if (k != k_last) {
            Py_XDECREF(bits);
            bits = PyLong_FromLong(k);
            if (bits == NULL) {
                goto error;
            }
            k_last = k;
        }
        if (randbelow(getrandbits, bits, m, &j) < 0) {
            goto error;
        }
        if (PyList_GET_SIZE(pool) != n) {
            /* (getrandbits ran code that could not reach the pool: a copy of
             * ours; checked anyway before indexing it) */
            PyErr_SetString(PyExc_RuntimeError, "sample_all: pool changed");
            goto error;
        }
        picked = PyList_GET_ITEM(pool, j);
        last = PyList_GET_ITEM(pool, m - 1);
        PyList_SET_ITEM(result, i, Py_NewRef(picked));
        /* pool[j] = pool[m - 1] (the slot's old reference moved to result) */
        Py_INCREF(last);
        PyList_SET_ITEM(pool, j, last);
        Py_DECREF(picked);
    }
    Py_XDECREF(bits);
    Py_DECREF(pool);
    return result;
error:
    Py_XDECREF(bits);
    Py_XDECREF(pool);
    Py_XDECREF(result);
    return NULL;
}
