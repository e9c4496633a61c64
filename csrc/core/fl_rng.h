/* fl_rng.h - a small, fast pseudo-random generator for per-call sampling.
 *
 * Used for canary routing ("N % of calls take the native path").  It is
 * deliberately separate from Python's `random` module: LiteLLM draws routing
 * decisions from `random`, and a sampler that consumed that state would change
 * which deployment a seeded run picks.
 *
 * Algorithm: xoshiro256** (Blackman and Vigna), state expanded from one
 * 64-bit seed with splitmix64.  Not cryptographic.
 *
 * Thread-safety: a `struct fl_rng` is plain data; callers serialise access
 * (the binding holds the GIL).  Fork: the state is copied by fork(); the
 * binding reseeds in the child (see csrc/ext/module.c).
 */
#ifndef FL_RNG_H
#define FL_RNG_H

#include <stdint.h>

#include "fl_status.h"

struct fl_rng {
    uint64_t s[4];
};

/* Seed `rng` from `seed`.  Every seed (0 included) gives a valid state. */
void fl_rng_seed(struct fl_rng *rng, uint64_t seed);

/* Next 64 uniformly distributed bits.  `rng` must have been seeded. */
uint64_t fl_rng_next(struct fl_rng *rng);

/* Fixed-point sampling threshold for a percentage.
 *
 * `percent` must be a finite number in [0, 100]; otherwise FL_EINVAL is
 * returned and `*threshold`/`*always` are untouched.  On FL_OK, a call is
 * sampled iff `always` is set or fl_rng_next() < `threshold`, which happens
 * with probability percent/100 (to within 2^-64).
 */
enum fl_status fl_rng_threshold(double percent, uint64_t *threshold,
                                int *always);

/* One sampling decision: 1 (take) or 0 (skip). */
int fl_rng_sample(struct fl_rng *rng, uint64_t threshold, int always);

#endif /* FL_RNG_H */
