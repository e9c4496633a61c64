/* fl_select.h - the Router's choice among scored candidates (LiteLLM
 * 1.108.7's selectors, litellm/router_strategy/), on C numbers.
 *
 * The bindings (latscan.c, costscan.c, busyscan.c in csrc/ext) read each candidate's limits, usage and
 * score out of LiteLLM's dicts into struct fl_pynum / double arrays; these
 * functions make the decisions LiteLLM's loops make on them, with Python's
 * arithmetic and comparisons (fl_pynum.h).  The random draw that follows
 * some of them stays Python's (random.choice on the list the binding
 * builds), so seeded runs draw what LiteLLM draws.
 *
 * Contract of each function: the answer LiteLLM's expression gives for the
 * same numbers, or FL_EAGAIN when the case is one these functions leave to
 * Python (an int sum outside int64, a NaN where Python's sort order would
 * depend on the sorting algorithm): nothing is written then.
 *
 * Limits: n <= FL_SELECT_MAX.  No allocation: callers pass the arrays.
 * No state: safe from any thread.
 */
#ifndef FL_SELECT_H
#define FL_SELECT_H

#include <stddef.h>

#include "fl_pynum.h"
#include "fl_status.h"

#define FL_SELECT_MAX ((size_t)1 << 28) /* candidates per call */

/* The usage test every selector loop ends with:
 *     if tpm_now + tokens > tpm or rpm_now + 1 > rpm: continue
 * *admitted = 1 when the candidate stays (neither is true).  FL_OK, or
 * FL_EAGAIN (an int sum outside int64). */
enum fl_status fl_select_admits(const struct fl_pynum *tpm_now,
                                const struct fl_pynum *tokens,
                                const struct fl_pynum *tpm,
                                const struct fl_pynum *rpm_now,
                                const struct fl_pynum *rpm, int *admitted);

/* `now + extra > limit`, or `now + extra >= limit` when or_equal:
 * *result 1 / 0.  FL_OK, or FL_EAGAIN (an int sum outside int64). */
enum fl_status fl_select_exceeds(const struct fl_pynum *now,
                                 const struct fl_pynum *extra,
                                 const struct fl_pynum *limit, int or_equal,
                                 int *result);

/* One step of a loop that keeps the lowest value so far and every
 * candidate tied with it (usage-based-routing-v2's
 * _return_potential_deployments):
 *     if v == lowest: potential.append(c)                -> FL_SELECT_APPEND
 *     elif v < lowest: lowest = v; potential = [c]       -> FL_SELECT_RESTART
 *     else: skipped                                      -> FL_SELECT_SKIP
 * *lowest is updated on FL_SELECT_RESTART.  (A NaN is never equal nor
 * smaller: skipped, as in Python.) */
enum { FL_SELECT_SKIP = 0, FL_SELECT_APPEND = 1, FL_SELECT_RESTART = 2 };
int fl_select_lowest_step(struct fl_pynum *lowest, const struct fl_pynum *v);

/* The first index of the smallest of v[0..n-1]: what both
 *     sorted(candidates, key=score)[0]       (a stable sort)
 * and a loop keeping the first strictly smaller value find, for numbers
 * that are totally ordered.  FL_OK with *index set; FL_EINVAL for n == 0
 * or n > FL_SELECT_MAX; FL_EAGAIN when a value is a NaN (the sort's
 * answer then depends on the sorting algorithm). */
enum fl_status fl_select_first_min(const struct fl_pynum *v, size_t n,
                                   size_t *index);

/* Latency-based routing's shortlist:
 *     ranked = sorted(potential, key=latency)          (stable)
 *     lowest = ranked[0].latency
 *     ceiling = lowest + buffer * lowest               (two roundings)
 *     valid = [x for x in ranked if x.latency <= ceiling]
 * for the latencies lat[0..n-1] (doubles: LiteLLM's averages are floats)
 * and a buffer already float(buffer).  Writes the indices of valid, in
 * ranked order, to out[0..*nout-1]; scratch is n more size_t of the
 * caller's.  *nout may be 0 (a NaN ceiling, or -inf lowest with a 0
 * buffer: LiteLLM then draws from an empty list and raises, and so does
 * the caller).  FL_OK; FL_EINVAL for n == 0 or n > FL_SELECT_MAX;
 * FL_EAGAIN when a latency is a NaN. */
enum fl_status fl_select_within_buffer(const double *lat, size_t n,
                                       double buffer, size_t *out,
                                       size_t *scratch, size_t *nout);

#endif /* FL_SELECT_H */
