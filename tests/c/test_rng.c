/* Plain C tests of csrc/core/fl_rng.c; prints "N passed, N failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "fl_check.h"
#include "fl_rng.h"

static void
test_seed_determinism(void)
{
    struct fl_rng a, b, c;
    fl_rng_seed(&a, 42);
    fl_rng_seed(&b, 42);
    fl_rng_seed(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = fl_rng_next(&a), y = fl_rng_next(&b), z = fl_rng_next(&c);
        same &= (x == y);
        differ |= (x != z);
    }
    CHECK(same);
    CHECK(differ);
}

static void
test_zero_seed_not_stuck(void)
{
    struct fl_rng r;
    fl_rng_seed(&r, 0);
    uint64_t first = fl_rng_next(&r);
    int moved = 0;
    for (int i = 0; i < 10; i++) {
        moved |= fl_rng_next(&r) != first;
    }
    CHECK(moved);
}

static void
test_threshold_bounds(void)
{
    uint64_t t = 7;
    int always = 7;
    CHECK(fl_rng_threshold(-0.001, &t, &always) == FL_EINVAL);
    CHECK(t == 7 && always == 7); /* untouched on error */
    CHECK(fl_rng_threshold(100.001, &t, &always) == FL_EINVAL);
    CHECK(fl_rng_threshold(NAN, &t, &always) == FL_EINVAL);
    CHECK(fl_rng_threshold(INFINITY, &t, &always) == FL_EINVAL);
    CHECK(fl_rng_threshold(0.0, &t, &always) == FL_OK);
    CHECK(t == 0 && always == 0);
    CHECK(fl_rng_threshold(100.0, &t, &always) == FL_OK);
    CHECK(always == 1);
    CHECK(fl_rng_threshold(50.0, &t, &always) == FL_OK);
    CHECK(t == UINT64_C(1) << 63 && always == 0);
}

static void
test_sampling_rate(void)
{
    const double pcts[] = {0.0, 1.0, 10.0, 50.0, 99.0, 100.0};
    struct fl_rng r;
    fl_rng_seed(&r, 12345);
    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
        uint64_t t;
        int always;
        CHECK(fl_rng_threshold(pcts[k], &t, &always) == FL_OK);
        const int n = 200000;
        int hits = 0;
        for (int i = 0; i < n; i++) {
            hits += fl_rng_sample(&r, t, always);
        }
        double p = pcts[k] / 100.0;
        double sd = sqrt(n * p * (1 - p));
        /* 6 standard deviations: a false failure is ~1e-9 */
        CHECK(fabs(hits - n * p) <= 6 * sd + 1);
    }
}

int
main(void)
{
    test_seed_determinism();
    test_zero_seed_not_stuck();
    test_threshold_bounds();
    test_sampling_rate();
    return fl_check_report();
}
