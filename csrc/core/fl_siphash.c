/* fl_siphash.c - see fl_siphash.h.  Written from the SipHash paper's
 * description (Aumasson and Bernstein, 2012): c = 2 compression rounds per
 * 8-byte block, d = 4 finalization rounds. */
#include "fl_siphash.h"

static inline uint64_t
rotl64(uint64_t v, unsigned k)
{
    return (v << k) | (v >> (64u - k));
}

static inline uint64_t
load64_le(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

#define SIPROUND()                                                          \
    do {                                                                    \
        v0 += v1;                                                           \
        v1 = rotl64(v1, 13);                                                \
        v1 ^= v0;                                                           \
        v0 = rotl64(v0, 32);                                                \
        v2 += v3;                                                           \
        v3 = rotl64(v3, 16);                                                \
        v3 ^= v2;                                                           \
        v0 += v3;                                                           \
        v3 = rotl64(v3, 21);                                                \
        v3 ^= v0;                                                           \
        v2 += v1;                                                           \
        v1 = rotl64(v1, 17);                                                \
        v1 ^= v2;                                                           \
        v2 = rotl64(v2, 32);                                                \
    } while (0)

uint64_t
fl_siphash24_k(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    size_t rest = len;
    uint64_t m;

    while (rest >= 8) {
        m = load64_le(p);
        v3 ^= m;
        SIPROUND();
        SIPROUND();
        v0 ^= m;
        p += 8;
        rest -= 8;
    }
    /* the last block: the 0..7 remaining bytes, zero padded, with the low
     * byte of the total length in the top byte */
    m = (uint64_t)(len & 0xff) << 56;
    for (size_t j = 0; j < rest; j++) {
        m |= (uint64_t)p[j] << (8 * j);
    }
    v3 ^= m;
    SIPROUND();
    SIPROUND();
    v0 ^= m;

    v2 ^= 0xff;
    SIPROUND();
    SIPROUND();
    SIPROUND();
    SIPROUND();
    return v0 ^ v1 ^ v2 ^ v3;
}

#undef SIPROUND

uint64_t
fl_siphash24(const unsigned char key[16], const void *data, size_t len)
{
    return fl_siphash24_k(load64_le(key), load64_le(key + 8), data, len);
}

void
fl_siphash_key(const unsigned char key[16], uint64_t *k0, uint64_t *k1)
{
    *k0 = load64_le(key);
    *k1 = load64_le(key + 8);
}
