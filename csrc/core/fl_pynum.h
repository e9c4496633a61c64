/* fl_pynum.h - Python's int and float arithmetic and comparisons, on a C
 * number that is either an int in the int64 range or a double.
 *
 * The Router's selectors (LiteLLM 1.108.7) test limits and rank
 * candidates with `+`, `<`, `<=` and `>` on values that are ints or floats,
 * mixed.  These functions give, for such values, exactly what CPython
 * 3.11-3.13 gives:
 *   int + int      the exact sum (Python's ints do not overflow: a sum
 *                  outside int64 is FL_EOVERFLOW here, and the caller
 *                  leaves the case to Python);
 *   int + float    float(int) + float, float(int) correctly rounded to
 *                  nearest, ties to even (PyLong_AsDouble; the C
 *                  conversion of an int64 under the default rounding
 *                  mode is the same), then one double addition;
 *   comparisons    exact: an int and a float compare as the real numbers
 *                  they are (float_richcompare), not after a conversion;
 *                  a NaN is unordered with everything (every ordering
 *                  comparison with it is false).
 *
 * Limits: ints in [INT64_MIN, INT64_MAX]; doubles any (NaN and the
 * infinities included).  No allocation, no state: safe from any thread.
 */
#ifndef FL_PYNUM_H
#define FL_PYNUM_H

#include <stdint.h>

#include "fl_status.h"

struct fl_pynum {
    int is_float; /* 0: the int i; 1: the double f */
    int64_t i;
    double f;
};

/* The results of fl_pynum_cmp. */
enum {
    FL_PYNUM_LT = -1,
    FL_PYNUM_EQ = 0,
    FL_PYNUM_GT = 1,
    FL_PYNUM_UNORDERED = 2 /* one side is a NaN */
};

/* An int / a float. */
struct fl_pynum fl_pynum_int(int64_t i);
struct fl_pynum fl_pynum_float(double f);

/* *out = a + b as Python computes it.  FL_OK, or FL_EOVERFLOW when both
 * are ints and the exact sum is outside int64 (*out untouched). */
enum fl_status fl_pynum_add(const struct fl_pynum *a, const struct fl_pynum *b,
                            struct fl_pynum *out);

/* How a compares with b, exactly (FL_PYNUM_LT, _EQ, _GT or _UNORDERED). */
int fl_pynum_cmp(const struct fl_pynum *a, const struct fl_pynum *b);

/* Python's `a < b`, `a <= b`, `a > b` (false when unordered). */
int fl_pynum_lt(const struct fl_pynum *a, const struct fl_pynum *b);
int fl_pynum_le(const struct fl_pynum *a, const struct fl_pynum *b);
int fl_pynum_gt(const struct fl_pynum *a, const struct fl_pynum *b);

/* float(x) as Python computes it (an int correctly rounded). */
double fl_pynum_as_double(const struct fl_pynum *x);

#endif /* FL_PYNUM_H */
