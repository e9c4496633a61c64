/* fl_select.c - see fl_select.h. */
#include "fl_select.h"

#include <math.h>
#include <string.h>

enum fl_status
fl_select_exceeds(const struct fl_pynum *now, const struct fl_pynum *extra,
                  const struct fl_pynum *limit, int or_equal, int *result)
{
    struct fl_pynum sum;
    if (fl_pynum_add(now, extra, &sum) != FL_OK) {
        return FL_EAGAIN;
    }
    *result = or_equal ? fl_pynum_le(limit, &sum) : fl_pynum_gt(&sum, limit);
    return FL_OK;
}

int
fl_select_lowest_step(struct fl_pynum *lowest, const struct fl_pynum *v)
{
    int c = fl_pynum_cmp(v, lowest);
    if (c == FL_PYNUM_EQ) {
        return FL_SELECT_APPEND;
    }
    if (c == FL_PYNUM_LT) {
        *lowest = *v;
        return FL_SELECT_RESTART;
    }
    return FL_SELECT_SKIP;
}

enum fl_status
fl_select_admits(const struct fl_pynum *tpm_now, const struct fl_pynum *tokens,
                 const struct fl_pynum *tpm, const struct fl_pynum *rpm_now,
                 const struct fl_pynum *rpm, int *admitted)
{
    const struct fl_pynum one = fl_pynum_int(1);
    int o = 0;
    if (fl_select_exceeds(tpm_now, tokens, tpm, 0, &o) != FL_OK) {
        return FL_EAGAIN;
    }
    if (o == 0 && /* (`or`: only when the first is false) */
        fl_select_exceeds(rpm_now, &one, rpm, 0, &o) != FL_OK) {
        return FL_EAGAIN;
    }
    *admitted = !o;
    return FL_OK;
}

enum fl_status
fl_select_first_min(const struct fl_pynum *v, size_t n, size_t *index)
{
    size_t best = 0;
    if (n == 0 || n > FL_SELECT_MAX) {
        return FL_EINVAL;
    }
    for (size_t k = 0; k < n; k++) {
        if (v[k].is_float && isnan(v[k].f)) {
            return FL_EAGAIN;
        }
        if (k > 0 && fl_pynum_lt(&v[k], &v[best])) {
            best = k;
        }
    }
    *index = best;
    return FL_OK;
}

/* stable bottom-up merge sort of idx[0..n-1] by lat[idx[.]] (no NaN),
 * with tmp as the other buffer; the sorted indices end in idx */
static void
sort_by_latency(const double *lat, size_t *idx, size_t *tmp, size_t n)
{
    size_t *src = idx, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) {
                /* the right run's item goes first only when strictly smaller */
                dst[o++] = lat[src[b]] < lat[src[a]] ? src[b++] : src[a++];
            }
            while (a < mid) {
                dst[o++] = src[a++];
            }
            while (b < hi) {
                dst[o++] = src[b++];
            }
        }
        {
            size_t *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != idx) {
        memcpy(idx, src, n * sizeof *idx);
    }
}

enum fl_status
fl_select_within_buffer(const double *lat, size_t n, double buffer,
                        size_t *out, size_t *scratch, size_t *nout)
{
    size_t first = 0, k, m = 0;
    double lowest, product, ceiling;
    if (n == 0 || n > FL_SELECT_MAX) {
        return FL_EINVAL;
    }
    for (k = 0; k < n; k++) {
        if (isnan(lat[k])) {
            return FL_EAGAIN;
        }
        if (lat[k] < lat[first]) {
            first = k; /* ranked[0]: the first of the smallest */
        }
    }
    lowest = lat[first];
    product = buffer * lowest; /* (separate statements: never one fused op) */
    ceiling = lowest + product;
    for (k = 0; k < n; k++) {
        if (lat[k] <= ceiling) {
            out[m++] = k;
        }
    }
    sort_by_latency(lat, out, scratch, m);
    *nout = m;
    return FL_OK;
}
