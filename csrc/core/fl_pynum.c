/* fl_pynum.c - see fl_pynum.h. */
#include "fl_pynum.h"

#include <math.h>

/* 2**63 as a double (exact) */
#define TWO_63 9223372036854775808.0

struct fl_pynum
fl_pynum_int(int64_t i)
{
    struct fl_pynum x = {0, i, 0.0};
    return x;
}

struct fl_pynum
fl_pynum_float(double f)
{
    struct fl_pynum x = {1, 0, f};
    return x;
}

double
fl_pynum_as_double(const struct fl_pynum *x)
{
    return x->is_float ? x->f : (double)x->i;
}

enum fl_status
fl_pynum_add(const struct fl_pynum *a, const struct fl_pynum *b,
             struct fl_pynum *out)
{
    if (!a->is_float && !b->is_float) {
        if ((b->i > 0 && a->i > INT64_MAX - b->i) ||
            (b->i < 0 && a->i < INT64_MIN - b->i)) {
            return FL_EOVERFLOW;
        }
        *out = fl_pynum_int(a->i + b->i);
        return FL_OK;
    }
    *out = fl_pynum_float(fl_pynum_as_double(a) + fl_pynum_as_double(b));
    return FL_OK;
}

/* how the int i compares with the double d, exactly */
static int
cmp_int_double(int64_t i, double d)
{
    double t;
    int64_t ti;
    if (isnan(d)) {
        return FL_PYNUM_UNORDERED;
    }
    if (d >= TWO_63) {
        return FL_PYNUM_LT; /* (+inf included) */
    }
    if (d < -TWO_63) {
        return FL_PYNUM_GT; /* (-inf included) */
    }
    t = trunc(d); /* in [-2**63, 2**63): the conversion is exact */
    ti = (int64_t)t;
    if (i != ti) {
        return i < ti ? FL_PYNUM_LT : FL_PYNUM_GT;
    }
    if (d > t) {
        return FL_PYNUM_LT; /* i == trunc(d) < d */
    }
    if (d < t) {
        return FL_PYNUM_GT;
    }
    return FL_PYNUM_EQ;
}

int
fl_pynum_cmp(const struct fl_pynum *a, const struct fl_pynum *b)
{
    if (!a->is_float && !b->is_float) {
        return a->i < b->i ? FL_PYNUM_LT : a->i > b->i ? FL_PYNUM_GT : FL_PYNUM_EQ;
    }
    if (a->is_float && b->is_float) {
        if (isnan(a->f) || isnan(b->f)) {
            return FL_PYNUM_UNORDERED;
        }
        return a->f < b->f ? FL_PYNUM_LT : a->f > b->f ? FL_PYNUM_GT : FL_PYNUM_EQ;
    }
    if (!a->is_float) {
        return cmp_int_double(a->i, b->f);
    }
    {
        int r = cmp_int_double(b->i, a->f);
        return r == FL_PYNUM_UNORDERED ? r : -r;
    }
}

int
fl_pynum_lt(const struct fl_pynum *a, const struct fl_pynum *b)
{
    return fl_pynum_cmp(a, b) == FL_PYNUM_LT;
}

int
fl_pynum_le(const struct fl_pynum *a, const struct fl_pynum *b)
{
    int r = fl_pynum_cmp(a, b);
    return r == FL_PYNUM_LT || r == FL_PYNUM_EQ;
}

int
fl_pynum_gt(const struct fl_pynum *a, const struct fl_pynum *b)
{
    return fl_pynum_cmp(a, b) == FL_PYNUM_GT;
}
