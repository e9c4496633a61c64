/* Plain C tests of csrc/core/fl_wpick.c; prints "N passed, N failed".
 * The reference is Python's choices(k=1) written out linearly: the running
 * sums, total = last + 0.0, and the first i in [0, n-2] with u*total <
 * cum[i] (else n-1), as bisect_right(cum, u*total, 0, n-1) finds it for
 * non-negative weights (negative ones, where the sums are not sorted, are
 * checked against Python itself in tests/test_routing_filters.py). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fl_check.h"
#include "fl_rng.h"
#include "fl_wpick.h"

static size_t
reference_index(const double *w, size_t n, double u)
{
    double cum_last = 0.0, total, x;
    double *cum = malloc(n * sizeof *cum);
    size_t i;
    if (cum == NULL) {
        abort();
    }
    for (i = 0; i < n; i++) {
        cum[i] = i == 0 ? w[0] : cum[i - 1] + w[i];
    }
    cum_last = cum[n - 1];
    total = cum_last + 0.0;
    x = u * total;
    for (i = 0; i + 1 < n; i++) {
        if (x < cum[i]) {
            break;
        }
    }
    free(cum);
    return i;
}

static void
test_rejects_what_python_raises_on(void)
{
    struct fl_wpick t;
    double zeros[3] = {0.0, -0.0, 0.0}, neg[2] = {1.0, -2.0};
    double big[2] = {1e308, 1e308}, nan_w[2] = {NAN, 1.0}, inf_w[2] = {1.0, INFINITY};
    double one[1] = {1.0};
    fl_wpick_init(&t);
    CHECK(fl_wpick_build(&t, one, 0) == FL_EINVAL);
    CHECK(fl_wpick_build(&t, zeros, 3) == FL_EINVAL);
    CHECK(fl_wpick_build(&t, neg, 2) == FL_EINVAL);
    CHECK(fl_wpick_build(&t, big, 2) == FL_EINVAL); /* the total overflows */
    CHECK(fl_wpick_build(&t, nan_w, 2) == FL_EINVAL);
    CHECK(fl_wpick_build(&t, inf_w, 2) == FL_EINVAL);
    CHECK(fl_wpick_build(&t, one, FL_WPICK_MAX + 1) == FL_EINVAL);
    CHECK(t.cum == NULL && t.n == 0); /* left empty */
    CHECK(fl_wpick_build(&t, one, 1) == FL_OK && t.n == 1 && t.total == 1.0);
    CHECK(fl_wpick_index(&t, 0.0) == 0 && fl_wpick_index(&t, 0.9999999999999999) == 0);
    CHECK(fl_wpick_build(&t, zeros, 3) == FL_EINVAL && t.cum == NULL); /* old one freed */
    fl_wpick_free(&t);
}

static void
test_boundaries(void)
{
    struct fl_wpick t;
    double w[4] = {0.0, 1.0, 0.0, 1.0};
    fl_wpick_init(&t);
    CHECK(fl_wpick_build(&t, w, 4) == FL_OK);
    /* x == a cumulative sum goes right (bisect_right); zero weights never picked */
    CHECK(fl_wpick_index(&t, 0.0) == 1);
    CHECK(fl_wpick_index(&t, 0.5) == 3);
    CHECK(fl_wpick_index(&t, 0.4999999999999999) == 1);
    CHECK(fl_wpick_index(&t, 0.9999999999999999) == 3);
    fl_wpick_free(&t);
}

static void
test_against_the_reference(void)
{
    struct fl_rng r;
    struct fl_wpick t;
    const double pool[] = {0.0, 1.0, 0.5, 0.25, 1e-300, 3.0, 1.0 / 3, 1e16, 5e-324};
    int same = 1, built = 0;
    fl_rng_seed(&r, 7);
    fl_wpick_init(&t);
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + (size_t)(fl_rng_next(&r) % 300);
        double *w = malloc(n * sizeof *w);
        if (w == NULL) {
            abort();
        }
        for (size_t k = 0; k < n; k++) {
            w[k] = pool[fl_rng_next(&r) % (sizeof pool / sizeof pool[0])];
        }
        if (fl_wpick_build(&t, w, n) == FL_OK) {
            built++;
            for (int d = 0; d < 50; d++) {
                double u = (double)(fl_rng_next(&r) >> 11) * 0x1.0p-53; /* random()'s grid */
                size_t got = fl_wpick_index(&t, u);
                same &= got == reference_index(w, n, u) && got < n;
            }
        }
        free(w);
    }
    fl_wpick_free(&t);
    CHECK(same);
    CHECK(built > 1000);
}

int
main(void)
{
    test_rejects_what_python_raises_on();
    test_boundaries();
    test_against_the_reference();
    return fl_check_report();
}
