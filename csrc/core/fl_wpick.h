/* fl_wpick.h - a weighted pick over a fixed list of weights: the cumulative
 * table Python's random.Random.choices(population, weights=w) builds, and
 * the index it picks for one random() draw.
 *
 * Contract (CPython 3.11-3.13 Lib/random.py, choices with weights, k=1):
 *     cum = list(accumulate(w))          (left-to-right double additions)
 *     total = cum[-1] + 0.0              (ValueError unless 0 < total < inf)
 *     index = bisect_right(cum, u * total, 0, n - 1)
 * fl_wpick_build does the first two lines; fl_wpick_index the last, for a
 * draw u.  Every sum, product and comparison is the C double operation
 * Python's float operations are, so the index is Python's for the same u.
 *
 * Limits: 1 <= n <= FL_WPICK_MAX.  The table owns its array (n doubles);
 * one table is built once and then read any number of times (no
 * allocation per pick: the pick is a bisection, O(log n)).
 *
 * Thread-safety: plain data; callers serialise building against reading.
 */
#ifndef FL_WPICK_H
#define FL_WPICK_H

#include <stddef.h>

#include "fl_status.h"

#define FL_WPICK_MAX ((size_t)1 << 28) /* weights per table */

struct fl_wpick {
    double *cum;  /* n cumulative sums, owned (NULL when empty) */
    size_t n;
    double total; /* cum[n - 1] + 0.0 */
};

/* An empty table (no allocation). */
void fl_wpick_init(struct fl_wpick *t);

/* Build the table of the n weights w[0..n-1] into t, replacing what t held.
 *   FL_OK        built;
 *   FL_EINVAL    n is 0 or above FL_WPICK_MAX, or the total is not a
 *                finite number > 0 (NaN included): Python's choices
 *                raises ValueError there;
 *   FL_ENOMEM    the array could not be allocated.
 * On any error t is left empty (its old array freed). */
enum fl_status fl_wpick_build(struct fl_wpick *t, const double *w, size_t n);

/* The index in [0, n - 1] picked for the draw u (random() in [0, 1)).  t
 * must be a built table. */
size_t fl_wpick_index(const struct fl_wpick *t, double u);

/* Free t's array; t is empty again. */
void fl_wpick_free(struct fl_wpick *t);

#endif /* FL_WPICK_H */
