/* libFuzzer target: csrc/core/fl_wpick.c on arbitrary weights (every bit
 * pattern of a double: NaN, infinities, negatives, subnormals) and draws.
 * Checks: a table is built exactly when the running sum's total is a finite
 * number > 0 (Python's choices raises otherwise), every picked index is in
 * range, and it is Python's bisect_right(cum, u * total, 0, n - 1) on the
 * sums recomputed here.  ASan/UBSan watch the rest. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fl_wpick.h"

static size_t
python_bisect(const double *cum, size_t n, double x)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x < cum[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_wpick t;
    size_t n = size / sizeof(double);
    double *w, *cum;
    int ok;
    if (n < 2) {
        return 0;
    }
    n -= 1; /* the last double seeds the draws */
    w = malloc(n * sizeof *w);
    cum = malloc(n * sizeof *cum);
    if (w == NULL || cum == NULL) {
        abort();
    }
    memcpy(w, data, n * sizeof *w);
    for (size_t k = 0; k < n; k++) {
        cum[k] = k == 0 ? w[0] : cum[k - 1] + w[k];
    }
    ok = cum[n - 1] + 0.0 > 0.0 && isfinite(cum[n - 1]);
    fl_wpick_init(&t);
    if ((fl_wpick_build(&t, w, n) == FL_OK) != ok) {
        abort();
    }
    if (ok) {
        uint64_t seed;
        memcpy(&seed, data + n * sizeof(double), sizeof seed);
        for (int d = 0; d < 16; d++) {
            double u = (double)((seed >> 11) ^ (uint64_t)d * UINT64_C(0x9E3779B97F4A7C15) >> 11) *
                       0x1.0p-53;
            size_t got = fl_wpick_index(&t, u);
            if (got >= n || got != python_bisect(cum, n, u * (cum[n - 1] + 0.0))) {
                abort();
            }
        }
    }
    fl_wpick_free(&t);
    free(w);
    free(cum);
    return 0;
}
