/* fl_wpick.c - see fl_wpick.h. */
#include "fl_wpick.h"

#include <math.h>
#include <stdlib.h>

void
fl_wpick_init(struct fl_wpick *t)
{
    t->cum = NULL;
    t->n = 0;
    t->total = 0.0;
}

void
fl_wpick_free(struct fl_wpick *t)
{
    free(t->cum);
    fl_wpick_init(t);
}

enum fl_status
fl_wpick_build(struct fl_wpick *t, const double *w, size_t n)
{
    double *cum;
    fl_wpick_free(t);
    if (n == 0 || n > FL_WPICK_MAX) {
        return FL_EINVAL;
    }
    cum = malloc(n * sizeof *cum);
    if (cum == NULL) {
        return FL_ENOMEM;
    }
    cum[0] = w[0];
    for (size_t k = 1; k < n; k++) {
        cum[k] = cum[k - 1] + w[k];
    }
    if (!(cum[n - 1] + 0.0 > 0.0) || !isfinite(cum[n - 1])) {
        free(cum);
        return FL_EINVAL;
    }
    t->cum = cum;
    t->n = n;
    t->total = cum[n - 1] + 0.0;
    return FL_OK;
}

size_t
fl_wpick_index(const struct fl_wpick *t, double u)
{
    double x = u * t->total;
    size_t lo = 0, hi = t->n - 1;
    while (lo < hi) { /* bisect_right over cum[0 .. n-2] */
        size_t mid = lo + (hi - lo) / 2;
        if (x < t->cum[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}
