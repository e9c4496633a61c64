/* fl_rng.c - see fl_rng.h for the contract. */
#include "fl_rng.h"

#include <math.h>

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

void
fl_rng_seed(struct fl_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        rng->s[i] = splitmix64(&x);
    }
    /* xoshiro must not start from the all-zero state. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0) {
        rng->s[0] = 1;
    }
}

uint64_t
fl_rng_next(struct fl_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

enum fl_status
fl_rng_threshold(double percent, uint64_t *threshold, int *always)
{
    if (!isfinite(percent) || percent < 0.0 || percent > 100.0) {
        return FL_EINVAL;
    }
    if (percent >= 100.0) {
        *threshold = UINT64_MAX;
        *always = 1;
        return FL_OK;
    }
    /* percent/100 * 2^64, computed in long double-free steps: 2^64 is
     * exactly representable as a double and the product is < 2^64. */
    double scaled = (percent / 100.0) * 18446744073709551616.0;
    *threshold = scaled >= 18446744073709551615.0 ? UINT64_MAX
                                                  : (uint64_t)scaled;
    *always = 0;
    return FL_OK;
}

int
fl_rng_sample(struct fl_rng *rng, uint64_t threshold, int always)
{
    if (always) {
        return 1;
    }
    return fl_rng_next(rng) < threshold;
}
