/* Plain C tests of csrc/core/fl_pynum.c and fl_select.c; prints "N passed,
 * N failed".  Python itself is the reference in tests/test_select.py (the
 * same functions through the binding, against Python's operators, with
 * Hypothesis); here: the edges written out (ints next to 2**53 and 2**63,
 * NaN, the infinities, signed zeros, int64 overflow) and the shortlist
 * against a plain stable insertion sort on random latencies with ties. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fl_check.h"
#include "fl_pynum.h"
#include "fl_rng.h"
#include "fl_select.h"

static size_t
below(struct fl_rng *rng, size_t n)
{
    return (size_t)(fl_rng_next(rng) % n);
}

static struct fl_pynum
I(int64_t i)
{
    return fl_pynum_int(i);
}

static struct fl_pynum
F(double f)
{
    return fl_pynum_float(f);
}

static int
cmp(struct fl_pynum a, struct fl_pynum b)
{
    return fl_pynum_cmp(&a, &b);
}

static void
test_compare(void)
{
    const double two53 = 9007199254740992.0, two63 = 9223372036854775808.0;
    CHECK(cmp(I(1), I(2)) == FL_PYNUM_LT);
    CHECK(cmp(I(2), I(2)) == FL_PYNUM_EQ);
    CHECK(cmp(I(INT64_MIN), I(INT64_MAX)) == FL_PYNUM_LT);
    CHECK(cmp(F(1.5), F(1.25)) == FL_PYNUM_GT);
    CHECK(cmp(F(0.0), F(-0.0)) == FL_PYNUM_EQ);
    CHECK(cmp(I(0), F(-0.0)) == FL_PYNUM_EQ);
    /* 2**53 + 1 is not a double: converting it first would say equal */
    CHECK(cmp(I(9007199254740993LL), F(two53)) == FL_PYNUM_GT);
    CHECK(cmp(F(two53), I(9007199254740993LL)) == FL_PYNUM_LT);
    CHECK(cmp(I(9007199254740992LL), F(two53)) == FL_PYNUM_EQ);
    /* INT64_MAX converts to 2**63 as a double, yet is smaller */
    CHECK(cmp(I(INT64_MAX), F(two63)) == FL_PYNUM_LT);
    CHECK(cmp(I(INT64_MIN), F(-two63)) == FL_PYNUM_EQ);
    CHECK(cmp(I(INT64_MIN), F(nextafter(-two63, 0.0))) == FL_PYNUM_LT);
    CHECK(cmp(I(INT64_MIN), F(nextafter(-two63, -INFINITY))) == FL_PYNUM_GT);
    CHECK(cmp(I(3), F(3.5)) == FL_PYNUM_LT);
    CHECK(cmp(I(3), F(2.5)) == FL_PYNUM_GT);
    CHECK(cmp(I(-3), F(-3.5)) == FL_PYNUM_GT);
    CHECK(cmp(I(-3), F(-2.5)) == FL_PYNUM_LT);
    CHECK(cmp(F(-2.5), I(-3)) == FL_PYNUM_GT);
    CHECK(cmp(I(INT64_MAX), F(INFINITY)) == FL_PYNUM_LT);
    CHECK(cmp(I(INT64_MIN), F(-INFINITY)) == FL_PYNUM_GT);
    CHECK(cmp(F(INFINITY), I(5)) == FL_PYNUM_GT);
    CHECK(cmp(I(5), F(NAN)) == FL_PYNUM_UNORDERED);
    CHECK(cmp(F(NAN), I(5)) == FL_PYNUM_UNORDERED);
    CHECK(cmp(F(NAN), F(NAN)) == FL_PYNUM_UNORDERED);
    {
        struct fl_pynum n = F(NAN), one = I(1);
        CHECK(!fl_pynum_lt(&n, &one) && !fl_pynum_le(&n, &one) && !fl_pynum_gt(&n, &one));
        CHECK(!fl_pynum_lt(&one, &n) && !fl_pynum_le(&one, &n) && !fl_pynum_gt(&one, &n));
        CHECK(fl_pynum_le(&one, &one) && !fl_pynum_lt(&one, &one));
    }
}

static void
test_add(void)
{
    struct fl_pynum a, b, s = I(7);
    a = I(INT64_MAX);
    b = I(1);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_EOVERFLOW);
    CHECK(!s.is_float && s.i == 7); /* untouched */
    a = I(INT64_MIN);
    b = I(-1);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_EOVERFLOW);
    b = I(INT64_MAX);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && !s.is_float && s.i == -1);
    a = I(INT64_MAX);
    b = I(-1);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && s.i == INT64_MAX - 1);
    /* int + float: the int rounded to nearest even first */
    a = I(9007199254740993LL); /* 2**53 + 1 -> 2**53 */
    b = F(0.0);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && s.is_float && s.f == 9007199254740992.0);
    a = I(9007199254740995LL); /* 2**53 + 3 -> 2**53 + 4 */
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && s.f == 9007199254740996.0);
    a = I(INT64_MAX);
    b = F(1.0);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && s.f == 9223372036854775808.0);
    a = F(0.1);
    b = F(0.2);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && s.f == 0.1 + 0.2);
    a = F(INFINITY);
    b = F(-INFINITY);
    CHECK(fl_pynum_add(&a, &b, &s) == FL_OK && isnan(s.f));
}

static void
test_admits(void)
{
    struct fl_pynum tpm_now = I(90), tokens = I(10), tpm = I(100), rpm_now = I(4), rpm = I(5);
    struct fl_pynum big = I(INT64_MAX), nan = F(NAN), inf = F(INFINITY);
    int a = -1;
    CHECK(fl_select_admits(&tpm_now, &tokens, &tpm, &rpm_now, &rpm, &a) == FL_OK && a == 1);
    tokens = I(11); /* 101 > 100 */
    CHECK(fl_select_admits(&tpm_now, &tokens, &tpm, &rpm_now, &rpm, &a) == FL_OK && a == 0);
    tokens = I(10);
    rpm_now = I(5); /* 6 > 5 */
    CHECK(fl_select_admits(&tpm_now, &tokens, &tpm, &rpm_now, &rpm, &a) == FL_OK && a == 0);
    rpm_now = F(4.0);
    rpm = F(5.0);
    CHECK(fl_select_admits(&tpm_now, &tokens, &tpm, &rpm_now, &rpm, &a) == FL_OK && a == 1);
    /* unlimited (inf) and NaN limits admit: `x > nan` is false */
    CHECK(fl_select_admits(&tpm_now, &tokens, &inf, &rpm_now, &nan, &a) == FL_OK && a == 1);
    /* an int sum outside int64 is Python's case */
    a = -1;
    CHECK(fl_select_admits(&big, &tokens, &tpm, &rpm_now, &rpm, &a) == FL_EAGAIN && a == -1);
    /* ... but only if it is reached: the tpm test already refuses */
    tokens = I(20);
    CHECK(fl_select_admits(&tpm_now, &tokens, &tpm, &big, &rpm, &a) == FL_OK && a == 0);
    tokens = I(10);
    CHECK(fl_select_admits(&tpm_now, &tokens, &tpm, &big, &rpm, &a) == FL_EAGAIN);
}

static void
test_first_min(void)
{
    struct fl_pynum v[6] = {I(3), F(2.5), I(2), F(2.0), I(2), F(INFINITY)};
    size_t at = 99;
    CHECK(fl_select_first_min(v, 6, &at) == FL_OK && at == 2); /* 2 == 2.0: the first */
    CHECK(fl_select_first_min(v, 1, &at) == FL_OK && at == 0);
    CHECK(fl_select_first_min(v, 0, &at) == FL_EINVAL);
    v[4] = F(NAN);
    at = 99;
    CHECK(fl_select_first_min(v, 6, &at) == FL_EAGAIN && at == 99);
    v[4] = F(-0.0);
    v[5] = I(0);
    CHECK(fl_select_first_min(v, 6, &at) == FL_OK && at == 4);
}

/* the reference shortlist: a stable insertion sort of all n, then the
 * prefix within the ceiling */
static size_t
reference_shortlist(const double *lat, size_t n, double buffer, size_t *out)
{
    size_t *order = malloc(n * sizeof *order), m = 0;
    double lowest, ceiling;
    if (order == NULL) {
        abort();
    }
    for (size_t k = 0; k < n; k++) {
        size_t j = k;
        while (j > 0 && lat[k] < lat[order[j - 1]]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    lowest = lat[order[0]];
    ceiling = lowest + buffer * lowest;
    for (size_t k = 0; k < n; k++) {
        if (lat[order[k]] <= ceiling) {
            out[m++] = order[k];
        }
    }
    free(order);
    return m;
}

static void
test_within_buffer(void)
{
    struct fl_rng rng;
    static const double pool[] = {0.0, -0.0, 0.5, 0.25, 0.5, 1.0, 3.0, INFINITY, -INFINITY, 1e-300};
    static const double buffers[] = {0.0, 0.1, 0.5, 1.0, -0.5, INFINITY};
    size_t want[300], got[300], scratch[300], nw, ng;
    double lat[300];
    int all_same = 1;
    fl_rng_seed(&rng, 1234);
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + below(&rng, round % 10 == 0 ? 300 : 12);
        double buffer = buffers[below(&rng, 6)];
        for (size_t k = 0; k < n; k++) {
            int kind = (int)below(&rng, 3);
            lat[k] = kind == 0 ? pool[below(&rng, 10)]
                               : (double)below(&rng, 1000) / 997.0;
            if (round % 7 == 0) {
                lat[k] = pool[below(&rng, 6)]; /* many ties */
            }
        }
        nw = reference_shortlist(lat, n, buffer, want);
        if (fl_select_within_buffer(lat, n, buffer, got, scratch, &ng) != FL_OK || ng != nw) {
            all_same = 0;
            continue;
        }
        for (size_t k = 0; k < ng; k++) {
            all_same &= got[k] == want[k];
        }
    }
    CHECK(all_same);
    /* edges */
    lat[0] = 2.0;
    lat[1] = NAN;
    CHECK(fl_select_within_buffer(lat, 2, 0.5, got, scratch, &ng) == FL_EAGAIN);
    CHECK(fl_select_within_buffer(lat, 0, 0.5, got, scratch, &ng) == FL_EINVAL);
    lat[0] = -INFINITY;
    lat[1] = 1.0;
    CHECK(fl_select_within_buffer(lat, 2, 0.0, got, scratch, &ng) == FL_OK && ng == 0); /* nan ceiling */
    CHECK(fl_select_within_buffer(lat, 2, 1.0, got, scratch, &ng) == FL_OK && ng == 1 && got[0] == 0);
    lat[0] = 3.0;
    lat[1] = 1.0;
    lat[2] = 1.5;
    lat[3] = 1.0;
    CHECK(fl_select_within_buffer(lat, 4, 0.5, got, scratch, &ng) == FL_OK && ng == 3 &&
          got[0] == 1 && got[1] == 3 && got[2] == 2);
}

int
main(void)
{
    test_compare();
    test_add();
    test_admits();
    test_first_min();
    test_within_buffer();
    return fl_check_report();
}
