/* fl_rlstep.h - two steps of LiteLLM's in-memory rate limiter on one
 * descriptor, each as one call on a fl_ttlmap.
 *
 * LiteLLM 1.108.7's v3 limiter (proxy/hooks/parallel_request_limiter_v3.py)
 * keeps three keys per descriptor in its in-memory cache: P"window" (the
 * window start, stored as the str of an int), P"requests" and P"tokens"
 * (ints), where P is "{<descriptor key>:<descriptor value>}:".  With no
 * Redis, one request's RPM pass and its TPM reservation are a fixed sequence
 * of gets and sets on those keys; each function below makes the same
 * sequence of fl_ttlmap_get / fl_ttlmap_set calls (the same keys, values and
 * ttls, in the same order) at one time `now`, and decides with the same
 * arithmetic.
 *
 * What LiteLLM's get gives back and what int() makes of it ("the number" of
 * an entry): an int entry is its value; a str entry is the int it spells
 * when it matches JSON's integer syntax with at most 18 digits (what
 * CounterCache's get parses); any other live entry (a float, another str)
 * makes the function decline.
 *
 * Declining: FL_EAGAIN means "not this function's case" and is returned only
 * before the first set (the gets made so far removed dead entries, which a
 * caller repeating the step the general way would remove too).  A set that
 * fails (FL_EFULL at the map's memory cap, FL_ENOMEM) stops the step: the
 * status is returned with out->sets_done = the number of planned sets made
 * (the plan is documented per function) and the caller makes the rest the
 * general way; the decision in *out is already final then.
 *
 * Limits: the prefix is 1..FL_RLSTEP_MAX_PREFIX bytes (so that every key
 * fits in FL_TTLMAP_MAX_KEY), else FL_EAGAIN.  Arithmetic is int64; a sum
 * or difference that would overflow makes the function decline.
 */
#ifndef FL_RLSTEP_H
#define FL_RLSTEP_H

#include <stddef.h>
#include <stdint.h>

#include "fl_status.h"
#include "fl_ttlmap.h"

#define FL_RLSTEP_MAX_PREFIX (FL_TTLMAP_MAX_KEY - 8u) /* 8: "requests" */

struct fl_rl_result {
    int over;              /* 1: over the limit; nothing was written */
    int64_t counter;       /* over: the counter read; else the one written */
    int window_reset;      /* 1: the window was (re)started at now_int */
    int64_t window_start;  /* the window start in force after the step */
    unsigned sets_done;    /* planned sets made (all of them on FL_OK) */
};

/* The sliding window alone (_in_memory_cache_sliding_window for one pair
 * P"window", P"requests", increment 1): the second half of fl_rl_requests
 * below.  out->window_start is now_int on a restart, else the live start. */
enum fl_status fl_rl_window(struct fl_ttlmap *m, const char *prefix,
                            size_t plen, int64_t now_int,
                            int64_t window_size, double now,
                            struct fl_rl_result *out);

/* The RPM pass for one descriptor with a requests-per-unit `limit`:
 *   pre-check (_batch_get_counter_values; is_cache_list_over_limit):
 *     get(P"window"); c = get(P"requests"); if c is live and c > limit:
 *     over, out->counter = c, no set.
 *   sliding window (_in_memory_cache_sliding_window, increment 1):
 *     w = get(P"window");
 *     if w is absent or now_int - w >= window_size, the plan is
 *       set(P"requests", 0), set(P"tokens", 0), set(P"window", str(now_int)),
 *       set(P"requests", 1)   (every ttl window_size);
 *     else c = get(P"requests") (absent: 0) and the plan is
 *       set(P"requests", c + 1, ttl window_size).
 *   out->counter is the new counter (the caller compares it with limit).
 * Returns FL_OK, FL_EAGAIN, or a set's error as described above. */
enum fl_status fl_rl_requests(struct fl_ttlmap *m, const char *prefix,
                              size_t plen, int64_t limit, int64_t now_int,
                              int64_t window_size, double now,
                              struct fl_rl_result *out);

/* The TPM reservation for one descriptor (_atomic_check_and_increment_in_
 * memory with one counter P"tokens", `increment` >= 0 tokens against
 * `limit`):
 *     w = get(P"window"); expired = w absent or now_int - w >= window_size;
 *     cur = 0 if expired else the number of get(P"tokens") (absent: 0);
 *     over = cur + increment > limit if increment > 0 else cur >= limit;
 *     over: out->counter = cur, no set.
 *   The plan: when expired, set(P"requests", 0), set(P"tokens", 0),
 *   set(P"window", str(now_int)) (ttl window_size); then
 *   set(P"tokens", new, ttl) with new = increment if expired else
 *   cur + increment.  out->window_start: now_int if expired, else w.
 * Returns FL_OK, FL_EAGAIN, or a set's error as described above. */
enum fl_status fl_rl_reserve(struct fl_ttlmap *m, const char *prefix,
                             size_t plen, int64_t increment, int64_t limit,
                             int64_t now_int, int64_t window_size,
                             int64_t ttl, double now,
                             struct fl_rl_result *out);

/* One counter of an all-or-nothing reservation (AtomicCounterMeta). */
struct fl_rl_meta {
    const char *prefix; /* P: the keys are P"window" and P"requests"/P"tokens" */
    size_t plen;
    int tokens;         /* 1: the counter is P"tokens", 0: P"requests" */
    int64_t increment;
    int64_t limit;
    int64_t window_size;
    int64_t ttl;
};

struct fl_rl_state {
    int expired;          /* the window was absent or over */
    int64_t current;      /* the counter read (0 when expired) */
    int64_t counter;      /* current + increment: the value written */
    int64_t window_start; /* now_int when expired, else the live start */
};

#define FL_RLSTEP_MAX_METAS 64u

struct fl_rl_multi {
    size_t over_index;    /* the first counter over its limit, n if none */
    int64_t counter;      /* that counter's current value */
    unsigned sets_done;   /* planned sets made (see below) */
    struct fl_rl_state state[FL_RLSTEP_MAX_METAS]; /* filled up to over_index */
};

/* _atomic_check_and_increment_in_memory for n (1..FL_RLSTEP_MAX_METAS)
 * counters: for each in order, get(P"window") and, unless the window is
 * expired, get(P counter); the first counter over its limit (cur + inc >
 * limit for inc > 0, else cur >= limit) ends the call with over_index set
 * and nothing written.  Else the plan: for each expired window once, in
 * first-appearance order, set(P"requests", 0) and set(P"tokens", 0) with the
 * window size of the last counter naming that window; then for each counter
 * in order, set(P"window", str(now_int), its window size) when its window
 * was expired, and set(P counter, current + increment, its ttl).
 * Returns FL_OK; FL_EAGAIN (only reads made; also for n too large or a
 * prefix out of range); or a set's error with sets_done counting the
 * planned sets made (the caller makes the rest).  n == 0: FL_OK, nothing. */
enum fl_status fl_rl_reserve_all(struct fl_ttlmap *m,
                                 const struct fl_rl_meta *metas, size_t n,
                                 int64_t now_int, double now,
                                 struct fl_rl_multi *out);

/* The number JSON's integer syntax gives for s[0..n) ("-"? then "0" or a
 * nonzero digit and at most 17 more digits, nothing else): 1 with *v, else
 * 0. */
int fl_rl_json_int(const unsigned char *s, size_t n, int64_t *v);

#endif /* FL_RLSTEP_H */
