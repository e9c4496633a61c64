/* Plain C tests of csrc/core/fl_ttlmap.c; prints "N passed, N failed".
 *
 * Unit tests of each rule of fl_ttlmap.h, then a randomized differential
 * test against the reference model in ttlmap_model.h.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_check.h"
#include "fl_ttlmap.h"
#include "ttlmap_model.h"

static const unsigned char HKEY[16] = {1, 2, 3, 4, 5, 6, 7, 8,
                                       9, 10, 11, 12, 13, 14, 15, 16};

/* SipHash-2-4 of 00 01 .. (len-1) under key 00 01 .. 0f, len 0..63: the
 * published reference vectors (checked against an independent Python
 * implementation of the algorithm). */
static const uint64_t SIP_VECTORS[64] = {
    UINT64_C(0x726fdb47dd0e0e31),
    UINT64_C(0x74f839c593dc67fd),
    UINT64_C(0x0d6c8009d9a94f5a),
    UINT64_C(0x85676696d7fb7e2d),
    UINT64_C(0xcf2794e0277187b7),
    UINT64_C(0x18765564cd99a68d),
    UINT64_C(0xcbc9466e58fee3ce),
    UINT64_C(0xab0200f58b01d137),
    UINT64_C(0x93f5f5799a932462),
    UINT64_C(0x9e0082df0ba9e4b0),
    UINT64_C(0x7a5dbbc594ddb9f3),
    UINT64_C(0xf4b32f46226bada7),
    UINT64_C(0x751e8fbc860ee5fb),
    UINT64_C(0x14ea5627c0843d90),
    UINT64_C(0xf723ca908e7af2ee),
    UINT64_C(0xa129ca6149be45e5),
    UINT64_C(0x3f2acc7f57c29bdb),
    UINT64_C(0x699ae9f52cbe4794),
    UINT64_C(0x4bc1b3f0968dd39c),
    UINT64_C(0xbb6dc91da77961bd),
    UINT64_C(0xbed65cf21aa2ee98),
    UINT64_C(0xd0f2cbb02e3b67c7),
    UINT64_C(0x93536795e3a33e88),
    UINT64_C(0xa80c038ccd5ccec8),
    UINT64_C(0xb8ad50c6f649af94),
    UINT64_C(0xbce192de8a85b8ea),
    UINT64_C(0x17d835b85bbb15f3),
    UINT64_C(0x2f2e6163076bcfad),
    UINT64_C(0xde4daaaca71dc9a5),
    UINT64_C(0xa6a2506687956571),
    UINT64_C(0xad87a3535c49ef28),
    UINT64_C(0x32d892fad841c342),
    UINT64_C(0x7127512f72f27cce),
    UINT64_C(0xa7f32346f95978e3),
    UINT64_C(0x12e0b01abb051238),
    UINT64_C(0x15e034d40fa197ae),
    UINT64_C(0x314dffbe0815a3b4),
    UINT64_C(0x027990f029623981),
    UINT64_C(0xcadcd4e59ef40c4d),
    UINT64_C(0x9abfd8766a33735c),
    UINT64_C(0x0e3ea96b5304a7d0),
    UINT64_C(0xad0c42d6fc585992),
    UINT64_C(0x187306c89bc215a9),
    UINT64_C(0xd4a60abcf3792b95),
    UINT64_C(0xf935451de4f21df2),
    UINT64_C(0xa9538f0419755787),
    UINT64_C(0xdb9acddff56ca510),
    UINT64_C(0xd06c98cd5c0975eb),
    UINT64_C(0xe612a3cb9ecba951),
    UINT64_C(0xc766e62cfcadaf96),
    UINT64_C(0xee64435a9752fe72),
    UINT64_C(0xa192d576b245165a),
    UINT64_C(0x0a8787bf8ecb74b2),
    UINT64_C(0x81b3e73d20b49b6f),
    UINT64_C(0x7fa8220ba3b2ecea),
    UINT64_C(0x245731c13ca42499),
    UINT64_C(0xb78dbfaf3a8d83bd),
    UINT64_C(0xea1ad565322a1a0b),
    UINT64_C(0x60e61c23a3795013),
    UINT64_C(0x6606d7e446282b93),
    UINT64_C(0x6ca4ecb15c5f91e1),
    UINT64_C(0x9f626da15c9625f3),
    UINT64_C(0xe51b38608ef25f57),
    UINT64_C(0x958a324ceb064572),
};

static struct fl_ttl_value
ival(int64_t i)
{
    struct fl_ttl_value v = {FL_TTL_INT, i, 0.0, NULL, 0};
    return v;
}

static struct fl_ttl_value
fval(double f)
{
    struct fl_ttl_value v = {FL_TTL_FLOAT, 0, f, NULL, 0};
    return v;
}

static struct fl_ttl_value
sval(const char *s)
{
    struct fl_ttl_value v = {FL_TTL_STR, 0, 0.0, (const unsigned char *)s,
                             strlen(s)};
    return v;
}

static struct fl_ttlmap *
new_map(size_t cap)
{
    struct fl_ttlmap *m = NULL;
    enum fl_status st = fl_ttlmap_new(HKEY, cap, &m);
    CHECK(st == FL_OK && m != NULL);
    return m;
}

static enum fl_status
set_s(struct fl_ttlmap *m, const char *k, struct fl_ttl_value v, double now,
      double ttl)
{
    return fl_ttlmap_set(m, k, strlen(k), &v, now, ttl);
}

static int
get_s(struct fl_ttlmap *m, const char *k, double now, struct fl_ttl_value *v,
      double *exp)
{
    return fl_ttlmap_get(m, k, strlen(k), now, v, exp);
}

static int
has(struct fl_ttlmap *m, const char *k, double now)
{
    struct fl_ttl_value v;
    return get_s(m, k, now, &v, NULL);
}

static size_t
live_count(struct fl_ttlmap *m)
{
    size_t pos = 0, n = 0, kl;
    const unsigned char *k;
    double exp;
    struct fl_ttl_value v;
    while (fl_ttlmap_next(m, &pos, &k, &kl, &exp, &v)) {
        n++;
    }
    return n;
}

/* ---- unit tests --------------------------------------------------------- */

static void
test_siphash_vectors(void)
{
    unsigned char key[16], msg[64];
    for (int i = 0; i < 16; i++) {
        key[i] = (unsigned char)i;
    }
    for (int i = 0; i < 64; i++) {
        msg[i] = (unsigned char)i;
    }
    int ok = 1;
    for (size_t len = 0; len < 64; len++) {
        if (fl_siphash24(key, msg, len) != SIP_VECTORS[len]) {
            fprintf(stderr, "siphash len %zu differs\n", len);
            ok = 0;
        }
    }
    CHECK(ok);
    CHECK(fl_siphash24(key, msg, 0) == UINT64_C(0x726fdb47dd0e0e31));
    CHECK(fl_siphash24(key, msg, 63) == UINT64_C(0x958a324ceb064572));
    /* a different key gives a different hash */
    key[0] ^= 1;
    CHECK(fl_siphash24(key, msg, 8) != SIP_VECTORS[8]);
}

static void
test_new_free(void)
{
    struct fl_ttlmap *m = NULL;
    fl_ttlmap_free(NULL);
    CHECK(fl_ttlmap_new(HKEY, 0, &m) == FL_OK);
    size_t empty = fl_ttlmap_memory(m);
    CHECK(empty > 16 * 40 && fl_ttlmap_len(m) == 0);
    fl_ttlmap_free(m);
    m = NULL;
    CHECK(fl_ttlmap_new(HKEY, empty - 1, &m) == FL_EINVAL && m == NULL);
    CHECK(fl_ttlmap_new(HKEY, 1, &m) == FL_EINVAL && m == NULL);
    CHECK(fl_ttlmap_new(NULL, 0, &m) == FL_EINVAL);
    CHECK(fl_ttlmap_new(HKEY, 0, NULL) == FL_EINVAL);
    CHECK(fl_ttlmap_new(HKEY, empty, &m) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == empty);
    /* at the exact cap nothing fits, and nothing changes */
    CHECK(set_s(m, "a", ival(1), 0.0, 10.0) == FL_EFULL);
    CHECK(fl_ttlmap_len(m) == 0 && fl_ttlmap_memory(m) == empty);
    fl_ttlmap_free(m);
}

static void
test_kinds(void)
{
    struct fl_ttlmap *m = new_map(0);
    struct fl_ttl_value v;
    double exp = 0;
    CHECK(set_s(m, "i", ival(-42), 100.0, 5.0) == FL_OK);
    CHECK(set_s(m, "f", fval(2.5), 100.0, 5.0) == FL_OK);
    CHECK(set_s(m, "s", sval("hello"), 100.0, 5.0) == FL_OK);
    CHECK(set_s(m, "e", sval(""), 100.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_len(m) == 4);
    CHECK(get_s(m, "i", 101.0, &v, &exp) == 1);
    CHECK(v.kind == FL_TTL_INT && v.i == -42 && exp == 105.0);
    CHECK(get_s(m, "f", 101.0, &v, NULL) == 1);
    CHECK(v.kind == FL_TTL_FLOAT && v.f == 2.5);
    CHECK(get_s(m, "s", 101.0, &v, NULL) == 1);
    CHECK(v.kind == FL_TTL_STR && v.slen == 5 &&
          memcmp(v.s, "hello", 5) == 0);
    CHECK(get_s(m, "e", 101.0, &v, NULL) == 1);
    CHECK(v.kind == FL_TTL_STR && v.slen == 0 && v.s != NULL);
    CHECK(get_s(m, "x", 101.0, &v, NULL) == 0);
    /* changing kinds and string sizes; memory follows exactly */
    size_t mem0 = fl_ttlmap_memory(m);
    CHECK(set_s(m, "s", sval("hello world"), 101.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == mem0 + 6);
    CHECK(set_s(m, "s", sval("hi"), 101.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == mem0 - 3);
    CHECK(set_s(m, "s", ival(7), 101.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == mem0 - 6); /* 2 + 5 bytes -> 1 */
    CHECK(get_s(m, "s", 101.0, &v, NULL) == 1);
    CHECK(v.kind == FL_TTL_INT && v.i == 7);
    CHECK(set_s(m, "i", sval("now a string"), 101.0, 5.0) == FL_OK);
    CHECK(get_s(m, "i", 101.0, &v, NULL) == 1);
    CHECK(v.kind == FL_TTL_STR && v.slen == 12 &&
          memcmp(v.s, "now a string", 12) == 0);
    CHECK(set_s(m, "f", fval(-0.0), 101.0, 5.0) == FL_OK);
    CHECK(get_s(m, "f", 101.0, &v, NULL) == 1);
    CHECK(v.kind == FL_TTL_FLOAT && v.f == 0.0 && signbit(v.f));
    CHECK(set_s(m, "f", fval(NAN), 101.0, 5.0) == FL_OK); /* a value */
    CHECK(get_s(m, "f", 101.0, &v, NULL) == 1 && isnan(v.f));
    /* a set from the key's own current value, same size and another */
    CHECK(get_s(m, "i", 101.0, &v, NULL) == 1);
    CHECK(fl_ttlmap_set(m, "i", 1, &v, 101.0, 5.0) == FL_OK);
    CHECK(get_s(m, "i", 101.0, &v, NULL) == 1 && v.slen == 12 &&
          memcmp(v.s, "now a string", 12) == 0);
    v.s += 4;
    v.slen = 8;
    CHECK(fl_ttlmap_set(m, "i", 1, &v, 101.0, 5.0) == FL_OK);
    CHECK(get_s(m, "i", 101.0, &v, NULL) == 1 && v.slen == 8 &&
          memcmp(v.s, "a string", 8) == 0);
    /* binary keys with NULs, max-length key and string */
    unsigned char bk[FL_TTLMAP_MAX_KEY];
    static unsigned char big[FL_TTLMAP_MAX_STR];
    memset(bk, 0, sizeof(bk));
    memset(big, 0xab, sizeof(big));
    struct fl_ttl_value bv = {FL_TTL_STR, 0, 0.0, big, sizeof(big)};
    CHECK(fl_ttlmap_set(m, bk, 3, &bv, 101.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_set(m, bk, 2, &bv, 101.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_set(m, bk, sizeof(bk), &bv, 101.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_get(m, bk, 3, 101.0, &v, NULL) == 1 &&
          v.slen == sizeof(big) && memcmp(v.s, big, sizeof(big)) == 0);
    CHECK(fl_ttlmap_get(m, bk, sizeof(bk), 101.0, &v, NULL) == 1);
    CHECK(fl_ttlmap_get(m, bk, 1, 101.0, &v, NULL) == 0);
    CHECK(fl_ttlmap_len(m) == 7);
    fl_ttlmap_free(m);
}

static void
test_ttl_not_extended(void)
{
    struct fl_ttlmap *m = new_map(0);
    struct fl_ttl_value v;
    double exp = 0;
    CHECK(set_s(m, "k", ival(1), 10.0, 5.0) == FL_OK); /* exp 15 */
    CHECK(set_s(m, "k", ival(2), 12.0, 100.0) == FL_OK);
    CHECK(get_s(m, "k", 14.0, &v, &exp) == 1 && v.i == 2 && exp == 15.0);
    CHECK(fl_ttlmap_expiry(m, "k", 1, &exp) == 1 && exp == 15.0);
    /* get at exactly exp still finds it; a later get does not */
    CHECK(get_s(m, "k", 15.0, &v, &exp) == 1 && exp == 15.0);
    CHECK(get_s(m, "k", 15.5, &v, &exp) == 0);
    CHECK(fl_ttlmap_len(m) == 0); /* the get removed it */
    /* once it is gone, a set gives a fresh expiry */
    CHECK(set_s(m, "k", ival(3), 16.0, 5.0) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "k", 1, &exp) == 1 && exp == 21.0);
    /* a set at exactly exp sweeps it first: fresh expiry */
    CHECK(set_s(m, "k", ival(4), 21.0, 3.0) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "k", 1, &exp) == 1 && exp == 24.0);
    CHECK(get_s(m, "k", 21.0, &v, &exp) == 1 && v.i == 4);
    /* a set of another key sweeps too */
    CHECK(set_s(m, "other", ival(0), 24.0, 50.0) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "k", 1, &exp) == 0);
    CHECK(has(m, "k", 24.0) == 0);
    CHECK(set_s(m, "k", ival(5), 24.0, 1.0) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "k", 1, &exp) == 1 && exp == 25.0);
    fl_ttlmap_free(m);
}

static void
test_exp_equals_now(void)
{
    struct fl_ttlmap *m = new_map(0);
    struct fl_ttl_value v;
    double exp;
    CHECK(set_s(m, "z", ival(9), 50.0, 0.0) == FL_OK); /* exp == 50 */
    CHECK(get_s(m, "z", 50.0, &v, &exp) == 1 && v.i == 9 && exp == 50.0);
    CHECK(live_count(m) == 1);
    /* the same key again at 50: it is swept first, value replaced, exp 50 */
    CHECK(set_s(m, "z", ival(10), 50.0, 0.0) == FL_OK);
    CHECK(get_s(m, "z", 50.0, &v, &exp) == 1 && v.i == 10);
    /* another key at 50: z is dead everywhere */
    CHECK(set_s(m, "y", ival(1), 50.0, 0.0) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "z", 1, &exp) == 0);
    CHECK(live_count(m) == 1);
    CHECK(fl_ttlmap_len(m) == 2); /* z still held until removed */
    CHECK(get_s(m, "z", 50.0, &v, &exp) == 0);
    CHECK(fl_ttlmap_len(m) == 1);
    /* a sweep by someone else at 50 kills y */
    CHECK(has(m, "y", 50.0) == 1);
    fl_ttlmap_sweep(m, 50.0);
    CHECK(has(m, "y", 50.0) == 0);
    /* a NaN or infinite sweep is ignored */
    CHECK(set_s(m, "w", ival(1), 60.0, 0.0) == FL_OK);
    fl_ttlmap_sweep(m, NAN);
    fl_ttlmap_sweep(m, INFINITY);
    CHECK(fl_ttlmap_expiry(m, "w", 1, &exp) == 1);
    fl_ttlmap_sweep(m, 59.0);
    CHECK(fl_ttlmap_expiry(m, "w", 1, &exp) == 1);
    fl_ttlmap_sweep(m, 60.0);
    CHECK(fl_ttlmap_expiry(m, "w", 1, &exp) == 0);
    fl_ttlmap_free(m);
}

static void
test_negative_ttl(void)
{
    struct fl_ttlmap *m = new_map(0);
    struct fl_ttl_value v;
    double exp;
    CHECK(set_s(m, "n", ival(1), 10.0, -1.0) == FL_OK); /* exp 9 */
    /* until a sweep, expiry() reports it (LiteLLM's get_ttl does) */
    CHECK(fl_ttlmap_expiry(m, "n", 1, &exp) == 1 && exp == 9.0);
    CHECK(live_count(m) == 1);
    CHECK(get_s(m, "n", 10.0, &v, &exp) == 0); /* now > exp: removed */
    CHECK(fl_ttlmap_len(m) == 0);
    CHECK(set_s(m, "n", ival(1), 10.0, -1.0) == FL_OK);
    CHECK(set_s(m, "n", ival(2), 10.0, -1.0) == FL_OK); /* swept: fresh */
    CHECK(fl_ttlmap_expiry(m, "n", 1, &exp) == 1 && exp == 9.0);
    CHECK(fl_ttlmap_len(m) == 1);
    /* ttl huge but finite: exp overflows to +inf, never expires */
    CHECK(set_s(m, "inf", ival(3), DBL_MAX, DBL_MAX) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "inf", 3, &exp) == 1 && isinf(exp) &&
          exp > 0);
    CHECK(get_s(m, "inf", DBL_MAX, &v, &exp) == 1 && v.i == 3);
    CHECK(set_s(m, "ninf", ival(4), -DBL_MAX, -DBL_MAX) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "ninf", 4, &exp) == 1 && isinf(exp) &&
          exp < 0);
    CHECK(get_s(m, "ninf", -DBL_MAX, &v, &exp) == 0);
    /* a NaN get time compares false: found, not removed (as in Python) */
    CHECK(set_s(m, "q", ival(5), 0.0, 1.0) == FL_OK);
    CHECK(get_s(m, "q", NAN, &v, &exp) == 1 && v.i == 5);
    fl_ttlmap_free(m);
}

static void
test_delete_clear_reclaim_next(void)
{
    struct fl_ttlmap *m = new_map(0);
    size_t empty = fl_ttlmap_memory(m);
    double exp;
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "key%d", i);
        CHECK(set_s(m, k, ival(i), 0.0, (double)i + 1.0) == FL_OK);
    }
    CHECK(fl_ttlmap_len(m) == 10 && live_count(m) == 10);
    CHECK(fl_ttlmap_delete(m, "key3", 4) == 1);
    CHECK(fl_ttlmap_delete(m, "key3", 4) == 0);
    CHECK(fl_ttlmap_delete(m, "", 0) == 0);
    CHECK(fl_ttlmap_len(m) == 9);
    CHECK(fl_ttlmap_reclaim(m) == 0);
    /* a sweep at 5 kills key0..key4 (key3 already deleted): 4 dead */
    fl_ttlmap_sweep(m, 5.0);
    CHECK(fl_ttlmap_len(m) == 9 && live_count(m) == 5);
    CHECK(fl_ttlmap_expiry(m, "key4", 4, &exp) == 0);
    CHECK(fl_ttlmap_expiry(m, "key5", 4, &exp) == 1 && exp == 6.0);
    /* delete removes a dead entry too, and says so */
    CHECK(fl_ttlmap_delete(m, "key0", 4) == 1);
    CHECK(fl_ttlmap_reclaim(m) == 3);
    CHECK(fl_ttlmap_len(m) == 5 && live_count(m) == 5);
    /* next: every live key once, with its value and expiry */
    int seen[10] = {0};
    size_t pos = 0, kl;
    const unsigned char *kp;
    struct fl_ttl_value v;
    while (fl_ttlmap_next(m, &pos, &kp, &kl, &exp, &v)) {
        int i = kp[3] - '0';
        CHECK(kl == 4 && memcmp(kp, "key", 3) == 0);
        CHECK(v.kind == FL_TTL_INT && v.i == i && exp == (double)i + 1.0);
        seen[i]++;
    }
    CHECK(fl_ttlmap_next(m, &pos, &kp, &kl, &exp, &v) == 0);
    for (int i = 0; i < 10; i++) {
        CHECK(seen[i] == (i >= 5));
    }
    fl_ttlmap_clear(m);
    CHECK(fl_ttlmap_len(m) == 0 && live_count(m) == 0);
    CHECK(fl_ttlmap_memory(m) == empty);
    CHECK(has(m, "key7", 5.0) == 0);
    /* the map is usable after clear */
    CHECK(set_s(m, "key7", ival(1), 5.0, 1.0) == FL_OK);
    CHECK(has(m, "key7", 5.0) == 1);
    fl_ttlmap_free(m);
}

static void
test_growth(void)
{
    struct fl_ttlmap *m = new_map(0);
    size_t empty = fl_ttlmap_memory(m);
    const int N = 100000;
    char k[32];
    int ok = 1;
    size_t blobs = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "user:%d", i);
        /* head, key, tag, the int in 1/2/4 bytes, the expiry */
        blobs += 8 + (size_t)n + 1 + (i < 128 ? 1 : i < 32768 ? 2 : 4) + 8;
        ok &= set_s(m, k, ival(i), 0.0, 1000.0) == FL_OK;
    }
    CHECK(ok);
    CHECK(fl_ttlmap_len(m) == (size_t)N);
    /* 100000 entries at load <= 3/4: 262144 slots */
    if (sizeof(void *) == 8) {
        CHECK(fl_ttlmap_memory(m) == empty + (262144 - 16) * 8 + blobs);
    }
    ok = 1;
    for (int i = 0; i < N; i++) {
        struct fl_ttl_value v;
        snprintf(k, sizeof(k), "user:%d", i);
        ok &= get_s(m, k, 1.0, &v, NULL) == 1 && v.i == i;
        snprintf(k, sizeof(k), "nouser:%d", i);
        ok &= get_s(m, k, 1.0, &v, NULL) == 0;
    }
    CHECK(ok);
    CHECK(live_count(m) == (size_t)N);
    /* delete every other key, check, then the rest */
    ok = 1;
    for (int i = 0; i < N; i += 2) {
        snprintf(k, sizeof(k), "user:%d", i);
        ok &= fl_ttlmap_delete(m, k, strlen(k)) == 1;
    }
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "user:%d", i);
        ok &= has(m, k, 1.0) == (i % 2);
    }
    for (int i = 1; i < N; i += 2) {
        snprintf(k, sizeof(k), "user:%d", i);
        ok &= fl_ttlmap_delete(m, k, strlen(k)) == 1;
    }
    CHECK(ok);
    CHECK(fl_ttlmap_len(m) == 0 && live_count(m) == 0);
    if (sizeof(void *) == 8) {
        CHECK(fl_ttlmap_memory(m) == empty + (262144 - 16) * 8);
    }
    /* and back up, then all expire at once and are reclaimed */
    ok = 1;
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "user:%d", i);
        ok &= set_s(m, k, ival(i), 2.0, 1.0) == FL_OK;
    }
    CHECK(ok);
    fl_ttlmap_sweep(m, 3.0);
    CHECK(live_count(m) == 0);
    CHECK(fl_ttlmap_reclaim(m) == (size_t)N);
    CHECK(fl_ttlmap_len(m) == 0);
    fl_ttlmap_free(m);
}

/* Keys whose hash lands in one home slot, and at the table's last slot,
 * so clusters wrap around: insert, delete in every rotation, and look up. */
static void
test_collisions(void)
{
    char keys[11][16];
    int nk = 0;
    for (int i = 0; nk < 11; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "c%d", i);
        if ((fl_siphash24(HKEY, k, (size_t)n) & 15) == 15) {
            memcpy(keys[nk++], k, (size_t)n + 1);
        }
    }
    int ok = 1;
    for (int rot = 0; rot < 11; rot++) {
        struct fl_ttlmap *m = new_map(0);
        size_t mem = fl_ttlmap_memory(m);
        for (int i = 0; i < 11; i++) {
            ok &= set_s(m, keys[i], ival(i), 0.0, 10.0) == FL_OK;
        }
        for (int j = 0; j < 11; j++) {
            int d = (rot + j * 3) % 11;
            ok &= fl_ttlmap_delete(m, keys[d], strlen(keys[d])) == 1;
            for (int i = 0; i <= j; i++) {
                int g = (rot + i * 3) % 11;
                ok &= has(m, keys[g], 1.0) == 0;
            }
            for (int i = j + 1; i < 11; i++) {
                struct fl_ttl_value v;
                int g = (rot + i * 3) % 11;
                ok &= get_s(m, keys[g], 1.0, &v, NULL) == 1 && v.i == g;
            }
        }
        /* all deleted, and the table never grew (11 <= 12 entries) */
        ok &= fl_ttlmap_memory(m) == mem && fl_ttlmap_len(m) == 0;
        fl_ttlmap_free(m);
    }
    CHECK(ok);
    /* reclaim over wrapped clusters: half of them dead */
    struct fl_ttlmap *m = new_map(0);
    for (int i = 0; i < 11; i++) {
        CHECK(set_s(m, keys[i], ival(i), 0.0, (i % 2) ? 1.0 : 10.0) == FL_OK);
    }
    fl_ttlmap_sweep(m, 1.0);
    CHECK(fl_ttlmap_reclaim(m) == 5);
    for (int i = 0; i < 11; i++) {
        CHECK(has(m, keys[i], 1.0) == !(i % 2));
    }
    fl_ttlmap_free(m);
}

static void
test_mem_cap(void)
{
    struct fl_ttlmap *probe = new_map(0);
    size_t empty = fl_ttlmap_memory(probe);
    fl_ttlmap_free(probe);
    /* room for the table and ten records of 8 + 2 + 1 + 2 + 5 + 8 bytes
     * (head, key, tag, string length, string, expiry), not for growth */
    size_t cap = empty + 10 * 26;
    struct fl_ttlmap *m = new_map(cap);
    char k[8];
    struct fl_ttl_value v = sval("vvvvv");
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        CHECK(set_s(m, k, v, 0.0, 10.0 + i) == FL_OK);
    }
    CHECK(fl_ttlmap_memory(m) == cap);
    /* full of live entries: nothing is evicted */
    CHECK(set_s(m, "kx", v, 5.0, 10.0) == FL_EFULL);
    CHECK(fl_ttlmap_len(m) == 10 && live_count(m) == 10);
    CHECK(fl_ttlmap_memory(m) == cap);
    /* a longer string value for an existing key does not fit either */
    CHECK(set_s(m, "k0", sval("vvvvvv"), 5.0, 10.0) == FL_EFULL);
    CHECK(get_s(m, "k0", 5.0, &v, NULL) == 1 && v.slen == 5);
    /* same size or smaller does */
    CHECK(set_s(m, "k0", sval("wwwww"), 5.0, 10.0) == FL_OK);
    CHECK(set_s(m, "k1", ival(1), 5.0, 10.0) == FL_OK); /* 26 -> 20 */
    CHECK(fl_ttlmap_memory(m) == cap - 6);
    CHECK(set_s(m, "k2", sval("vvvvvvvvvvv"), 5.0, 10.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == cap);
    /* incr of a new key: EFULL, unchanged */
    int64_t r = 77;
    CHECK(fl_ttlmap_incr_int(m, "kx", 2, 1, 5.0, 10.0, &r) == FL_EFULL);
    CHECK(r == 77 && fl_ttlmap_len(m) == 10);
    /* at 11.0 k0 (exp 10) and k1 (exp 11) expire: a set sweeps and
     * reclaims them to make room */
    CHECK(set_s(m, "kx", sval("vvvvv"), 11.0, 10.0) == FL_OK);
    CHECK(fl_ttlmap_len(m) == 9 && live_count(m) == 9);
    CHECK(has(m, "k0", 11.0) == 0 && has(m, "kx", 11.0) == 1);
    CHECK(fl_ttlmap_memory(m) <= cap);
    /* a cap that allows exactly one growth (16 -> 32 slots at the 13th
     * record): g0..g9 take 20 bytes, g10.. 21 */
    struct fl_ttlmap *g = new_map(empty + 16 * 8 + 10 * 20 + 3 * 21);
    int n_ok = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "g%d", i);
        n_ok += set_s(g, k, ival(i), 0.0, 1.0) == FL_OK;
    }
    CHECK(n_ok == 13);
    /* after they expire the same keys fit again (dead ones reclaimed) */
    n_ok = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "h%d", i);
        n_ok += set_s(g, k, ival(i), 5.0, 1.0) == FL_OK;
    }
    CHECK(n_ok == 13 && fl_ttlmap_len(g) == 13);
    fl_ttlmap_free(g);
    /* the dead entries are reclaimed but that is not enough: FL_EFULL,
     * with the dead ones gone and the live ones kept */
    g = new_map(empty + 100);
    CHECK(set_s(g, "a", ival(1), 0.0, 1.0) == FL_OK);  /* 19 bytes */
    CHECK(set_s(g, "b", ival(1), 0.0, 1.0) == FL_OK);  /* 19 bytes */
    CHECK(set_s(g, "c", sval("0123456789012345678901234567890123456789"),
                0.0, 10.0) == FL_OK);                  /* 60 bytes */
    CHECK(set_s(g, "d", sval("01234567890123456789012"), 2.0, 10.0) ==
          FL_EFULL);                                   /* 43 > 100-60 */
    CHECK(fl_ttlmap_len(g) == 1 && has(g, "c", 2.0) == 1);
    CHECK(fl_ttlmap_memory(g) == empty + 60);
    CHECK(set_s(g, "d", sval("01234567890123456789"), 2.0, 10.0) ==
          FL_OK);                                      /* 40: fits */
    CHECK(fl_ttlmap_memory(g) == empty + 100);
    fl_ttlmap_free(g);
    fl_ttlmap_free(m);
}

/* The record layout: a descriptor's three keys share one record, the
 * window start given as a decimal string is held as an int and comes back
 * as the same bytes, and memory() follows the header's layout exactly. */
static void
test_records(void)
{
    struct fl_ttlmap *m = new_map(0);
    size_t empty = fl_ttlmap_memory(m);
    struct fl_ttl_value v;
    double exp;
    const char *d = "{api_key:k}"; /* 11 bytes */
    char k[64];

    snprintf(k, sizeof(k), "%s:requests", d);
    CHECK(set_s(m, k, ival(1), 1000.0, 60.0) == FL_OK);
    /* head 8, prefix 11, tag 1, int 1, expiry 8 */
    CHECK(fl_ttlmap_memory(m) == empty + 29);
    snprintf(k, sizeof(k), "%s:window", d);
    CHECK(set_s(m, k, sval("1700000000"), 1000.0, 60.0) == FL_OK);
    /* + window: tag 1, int 4, expiry 8 (first field: a double); the
     * requests field's expiry becomes a 1-byte difference: 29 + 13 - 7 */
    CHECK(fl_ttlmap_memory(m) == empty + 35);
    snprintf(k, sizeof(k), "%s:tokens", d);
    CHECK(set_s(m, k, ival(300), 1000.0, 60.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == empty + 35 + 1 + 2 + 1);
    CHECK(fl_ttlmap_len(m) == 3 && live_count(m) == 3);
    snprintf(k, sizeof(k), "%s:window", d);
    CHECK(get_s(m, k, 1001.0, &v, &exp) == 1 && v.kind == FL_TTL_STR &&
          v.slen == 10 && memcmp(v.s, "1700000000", 10) == 0 &&
          exp == 1060.0);
    /* the bare prefix is a key of its own, in the same record */
    CHECK(set_s(m, d, sval("x"), 1000.0, 30.0) == FL_OK);
    CHECK(fl_ttlmap_len(m) == 4);
    CHECK(get_s(m, d, 1001.0, &v, &exp) == 1 && v.slen == 1 &&
          exp == 1030.0);
    snprintf(k, sizeof(k), "%s:tokens", d);
    CHECK(get_s(m, k, 1001.0, &v, &exp) == 1 && v.kind == FL_TTL_INT &&
          v.i == 300 && exp == 1060.0);
    /* expiries a few microseconds apart, as the proxy's clock gives them */
    snprintf(k, sizeof(k), "%s:requests", d);
    CHECK(fl_ttlmap_delete(m, k, strlen(k)) == 1);
    CHECK(set_s(m, k, ival(5), 1000.000003, 60.0) == FL_OK);
    CHECK(get_s(m, k, 1001.0, &v, &exp) == 1 && v.i == 5 &&
          exp == 1000.000003 + 60.0);
    /* the bare key expires alone; its siblings stay */
    CHECK(get_s(m, d, 1030.5, &v, NULL) == 0);
    CHECK(fl_ttlmap_len(m) == 3 && live_count(m) == 3);
    /* keys the iteration gives back are whole */
    size_t pos = 0, kl, seen = 0;
    const unsigned char *kp;
    while (fl_ttlmap_next(m, &pos, &kp, &kl, &exp, &v)) {
        CHECK(kl > 11 && memcmp(kp, d, 11) == 0 && kp[11] == ':');
        seen++;
    }
    CHECK(seen == 3);
    /* a suffix alone, or a key that only contains one, is a key of its
     * own */
    CHECK(set_s(m, ":window", ival(1), 1031.0, 60.0) == FL_OK);
    CHECK(set_s(m, "a:windows", ival(2), 1031.0, 60.0) == FL_OK);
    CHECK(get_s(m, ":window", 1031.0, &v, NULL) == 1 && v.i == 1);
    CHECK(get_s(m, "a:windows", 1031.0, &v, NULL) == 1 && v.i == 2);
    CHECK(get_s(m, "a", 1031.0, &v, NULL) == 0);
    fl_ttlmap_free(m);

    /* a hashed API key (64 hex digits): stored 32 bytes shorter (two digits
     * a byte, after a 4-byte head), given back as it was */
    m = new_map(0);
    empty = fl_ttlmap_memory(m);
    static const char *const hk[] = {
        "{api_key:88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b}",
        "{api_key:88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4c}",
        "{user:0123456789abcde}",         /* a run of 15: not packed */
        "{user:0123456789abcdef0}",       /* 17: 16 packed, one plain */
        "{t:ab:0123456789abcdef:ffff}",   /* runs of 2, 16, 4 */
        "{t:0123456789ABCDEF0123}",       /* upper case: not hex here */
        "0123456789abcdef0123456789abcdef", /* the whole key */
    };
    static const size_t stored[] = {74 - 32 + 4, 74 - 32 + 4, 22,
                                    24 - 8 + 4, 28 - 8 + 4, 24,
                                    32 - 16 + 4};
    for (size_t i = 0; i < sizeof(hk) / sizeof(hk[0]); i++) {
        size_t before = fl_ttlmap_memory(m);
        CHECK(set_s(m, hk[i], ival((int64_t)i), 1.0, 60.0) == FL_OK);
        /* head 8, stored prefix, tag 1, int 1, expiry 8 */
        CHECK(fl_ttlmap_memory(m) - before == 8 + stored[i] + 1 + 1 + 8);
    }
    for (size_t i = 0; i < sizeof(hk) / sizeof(hk[0]); i++) {
        CHECK(get_s(m, hk[i], 2.0, &v, NULL) == 1 && v.i == (int64_t)i);
    }
    pos = 0;
    seen = 0;
    while (fl_ttlmap_next(m, &pos, &kp, &kl, &exp, &v)) {
        CHECK(v.i >= 0 && (size_t)v.i < sizeof(hk) / sizeof(hk[0]) &&
              kl == strlen(hk[v.i]) && memcmp(kp, hk[v.i], kl) == 0);
        seen++;
    }
    CHECK(seen == sizeof(hk) / sizeof(hk[0]));
    /* a plain key whose bytes equal another key's stored form is still
     * another key */
    CHECK(get_s(m, "{api_key:", 2.0, &v, NULL) == 0);
    fl_ttlmap_free(m);
    (void)empty;

    /* decimal strings: only the canonical form of an int64 is held as an
     * int; every string comes back as the bytes stored */
    static const char *const strs[] = {
        "0", "-1", "7", "-128", "127", "128", "-32769", "2147483648",
        "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-9223372036854775809", "-0", "00", "012",
        "+1", " 1", "1 ", "1.0", "1e3", "-", "", "18446744073709551616",
        "99999999999999999999", "123456789012345678901"};
    m = new_map(0);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        size_t n = strlen(strs[i]);
        struct fl_ttl_value sv = {FL_TTL_STR, 0, 0.0,
                                  (const unsigned char *)strs[i], n};
        CHECK(fl_ttlmap_set(m, "w", 1, &sv, 1.0, 60.0) == FL_OK);
        CHECK(get_s(m, "w", 1.0, &v, NULL) == 1 && v.kind == FL_TTL_STR &&
              v.slen == n && (n == 0 || memcmp(v.s, strs[i], n) == 0));
        CHECK(fl_ttlmap_delete(m, "w", 1) == 1);
    }
    /* held as an int: "2147483648" takes 8 bytes, not 2 + 10 */
    struct fl_ttl_value big = {FL_TTL_STR, 0, 0.0,
                               (const unsigned char *)"2147483648", 10};
    size_t e0 = fl_ttlmap_memory(m);
    CHECK(fl_ttlmap_set(m, "w", 1, &big, 1.0, 60.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == e0 + 8 + 1 + 1 + 8 + 8);
    struct fl_ttl_value lead = {FL_TTL_STR, 0, 0.0,
                                (const unsigned char *)"02147483648", 11};
    CHECK(fl_ttlmap_set(m, "w", 1, &lead, 1.0, 60.0) == FL_OK);
    CHECK(fl_ttlmap_memory(m) == e0 + 8 + 1 + 1 + 2 + 11 + 8);
    /* an int and the decimal string of it stay different kinds */
    CHECK(set_s(m, "w", ival(5), 1.0, 60.0) == FL_OK);
    CHECK(get_s(m, "w", 1.0, &v, NULL) == 1 && v.kind == FL_TTL_INT);
    CHECK(set_s(m, "w", sval("5"), 1.0, 60.0) == FL_OK);
    CHECK(get_s(m, "w", 1.0, &v, NULL) == 1 && v.kind == FL_TTL_STR &&
          v.slen == 1 && v.s[0] == '5');
    /* a set from a value the map gave back (its own bytes) */
    CHECK(set_s(m, "w", sval("a longer string value"), 1.0, 60.0) == FL_OK);
    CHECK(get_s(m, "w", 1.0, &v, NULL) == 1);
    CHECK(fl_ttlmap_set(m, "w:window", 8, &v, 1.0, 60.0) == FL_OK);
    CHECK(get_s(m, "w", 1.0, &v, NULL) == 1);
    CHECK(fl_ttlmap_set(m, "w", 1, &v, 2.0, 60.0) == FL_OK);
    CHECK(get_s(m, "w:window", 2.0, &v, NULL) == 1 && v.slen == 21 &&
          memcmp(v.s, "a longer string value", 21) == 0);
    fl_ttlmap_free(m);
}

static void
test_invalid_args(void)
{
    struct fl_ttlmap *m = new_map(0);
    static unsigned char big[FL_TTLMAP_MAX_STR + 1];
    static unsigned char bk[FL_TTLMAP_MAX_KEY + 1];
    struct fl_ttl_value v = ival(1), out = ival(99);
    double exp = 5.0;
    int64_t r = 3;
    CHECK(fl_ttlmap_set(m, "k", 0, &v, 0.0, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, bk, sizeof(bk), &v, 0.0, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, bk, sizeof(bk) - 1, &v, 0.0, 1.0) == FL_OK);
    CHECK(fl_ttlmap_set(m, NULL, 1, &v, 0.0, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, "k", 1, NULL, 0.0, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, "k", 1, &v, NAN, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, "k", 1, &v, INFINITY, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, "k", 1, &v, 0.0, NAN) == FL_EINVAL);
    CHECK(fl_ttlmap_set(m, "k", 1, &v, 0.0, -INFINITY) == FL_EINVAL);
    struct fl_ttl_value sv = {FL_TTL_STR, 0, 0.0, big, sizeof(big)};
    CHECK(fl_ttlmap_set(m, "k", 1, &sv, 0.0, 1.0) == FL_EINVAL);
    sv.slen = sizeof(big) - 1;
    CHECK(fl_ttlmap_set(m, "k", 1, &sv, 0.0, 1.0) == FL_OK);
    sv.s = NULL;
    CHECK(fl_ttlmap_set(m, "k", 1, &sv, 0.0, 1.0) == FL_EINVAL);
    sv.slen = 0;
    CHECK(fl_ttlmap_set(m, "k", 1, &sv, 0.0, 1.0) == FL_OK);
    struct fl_ttl_value bad = ival(1);
    bad.kind = (enum fl_ttl_kind)0;
    CHECK(fl_ttlmap_set(m, "k", 1, &bad, 0.0, 1.0) == FL_EINVAL);
    bad.kind = (enum fl_ttl_kind)4;
    CHECK(fl_ttlmap_set(m, "k", 1, &bad, 0.0, 1.0) == FL_EINVAL);
    CHECK(fl_ttlmap_len(m) == 2);
    /* a rejected set does not sweep: k (exp 1) survives a NaN/early set */
    CHECK(fl_ttlmap_set(m, "j", 1, &v, 5.0, NAN) == FL_EINVAL);
    CHECK(fl_ttlmap_expiry(m, "k", 1, &exp) == 1 && exp == 1.0);
    CHECK(fl_ttlmap_get(m, "k", 0, 0.0, &out, &exp) == -1);
    CHECK(fl_ttlmap_get(m, bk, sizeof(bk), 0.0, &out, &exp) == -1);
    CHECK(out.kind == FL_TTL_INT && out.i == 99 && exp == 1.0);
    CHECK(fl_ttlmap_expiry(m, "k", 0, &exp) == 0);
    CHECK(fl_ttlmap_expiry(m, bk, sizeof(bk), &exp) == 0);
    CHECK(fl_ttlmap_incr_int(m, "k", 0, 1, 0.0, 1.0, &r) == FL_EINVAL);
    CHECK(fl_ttlmap_incr_int(m, bk, sizeof(bk), 1, 0.0, 1.0, &r) ==
          FL_EINVAL);
    CHECK(fl_ttlmap_incr_int(m, "k", 1, 1, NAN, 1.0, &r) == FL_EINVAL);
    CHECK(fl_ttlmap_incr_int(m, "k", 1, 1, 0.0, INFINITY, &r) == FL_EINVAL);
    CHECK(r == 3);
    CHECK(fl_ttlmap_delete(m, bk, sizeof(bk)) == 0);
    CHECK(fl_ttlmap_len(m) == 2);
    fl_ttlmap_free(m);
}

static void
test_incr(void)
{
    struct fl_ttlmap *m = new_map(0);
    struct fl_ttl_value v;
    double exp;
    int64_t r = 0;
    CHECK(fl_ttlmap_incr_int(m, "c", 1, 5, 10.0, 60.0, &r) == FL_OK);
    CHECK(r == 5);
    CHECK(fl_ttlmap_incr_int(m, "c", 1, -2, 20.0, 1.0, &r) == FL_OK);
    CHECK(r == 3);
    CHECK(get_s(m, "c", 30.0, &v, &exp) == 1 && v.kind == FL_TTL_INT &&
          v.i == 3 && exp == 70.0); /* the TTL was not extended */
    /* expired by the get rule: starts again from delta, fresh TTL */
    CHECK(fl_ttlmap_incr_int(m, "c", 1, 4, 71.0, 5.0, &r) == FL_OK);
    CHECK(r == 4);
    CHECK(fl_ttlmap_expiry(m, "c", 1, &exp) == 1 && exp == 76.0);
    /* at exactly exp: the get half still sees 4, the set half sweeps it
     * first and gives a fresh TTL */
    CHECK(fl_ttlmap_incr_int(m, "c", 1, 1, 76.0, 5.0, &r) == FL_OK);
    CHECK(r == 5);
    CHECK(fl_ttlmap_expiry(m, "c", 1, &exp) == 1 && exp == 81.0);
    /* dead by a sweep: starts again from delta */
    fl_ttlmap_sweep(m, 81.0);
    CHECK(fl_ttlmap_incr_int(m, "c", 1, 2, 81.0, 5.0, &r) == FL_OK);
    CHECK(r == 2);
    /* not an int: FL_EAGAIN, nothing changed, no sweep */
    CHECK(set_s(m, "f", fval(1.5), 100.0, 10.0) == FL_OK);
    CHECK(set_s(m, "s", sval("7"), 100.0, 10.0) == FL_OK);
    CHECK(set_s(m, "short", ival(1), 100.0, 1.0) == FL_OK); /* exp 101 */
    r = 99;
    CHECK(fl_ttlmap_incr_int(m, "f", 1, 1, 105.0, 10.0, &r) == FL_EAGAIN);
    CHECK(fl_ttlmap_incr_int(m, "s", 1, 1, 105.0, 10.0, &r) == FL_EAGAIN);
    CHECK(r == 99);
    CHECK(fl_ttlmap_expiry(m, "short", 5, &exp) == 1); /* not swept */
    CHECK(get_s(m, "f", 105.0, &v, NULL) == 1 && v.kind == FL_TTL_FLOAT &&
          v.f == 1.5);
    CHECK(get_s(m, "s", 105.0, &v, NULL) == 1 && v.kind == FL_TTL_STR);
    /* an expired float/str is no live entry: incr starts from delta */
    CHECK(fl_ttlmap_incr_int(m, "f", 1, 3, 111.0, 10.0, &r) == FL_OK);
    CHECK(r == 3);
    /* overflow both ways */
    CHECK(set_s(m, "max", ival(INT64_MAX), 200.0, 10.0) == FL_OK);
    CHECK(set_s(m, "min", ival(INT64_MIN), 200.0, 10.0) == FL_OK);
    r = 99;
    CHECK(fl_ttlmap_incr_int(m, "max", 3, 1, 201.0, 10.0, &r) == FL_EAGAIN);
    CHECK(fl_ttlmap_incr_int(m, "min", 3, -1, 201.0, 10.0, &r) ==
          FL_EAGAIN);
    CHECK(fl_ttlmap_incr_int(m, "max", 3, INT64_MIN, 201.0, 10.0, &r) ==
          FL_OK);
    CHECK(r == -1);
    CHECK(fl_ttlmap_incr_int(m, "min", 3, INT64_MAX, 201.0, 10.0, &r) ==
          FL_OK);
    CHECK(r == -1);
    CHECK(fl_ttlmap_incr_int(m, "min", 3, INT64_MIN, 201.0, 10.0, &r) ==
          FL_EAGAIN);
    CHECK(fl_ttlmap_incr_int(m, "new", 3, INT64_MIN, 201.0, 10.0, &r) ==
          FL_OK);
    CHECK(r == INT64_MIN);
    CHECK(fl_ttlmap_incr_int(m, "new", 3, 0, 201.0, 10.0, &r) == FL_OK);
    CHECK(r == INT64_MIN);
    /* an incr is a set: it sweeps */
    CHECK(set_s(m, "t", ival(1), 300.0, 0.0) == FL_OK);
    CHECK(fl_ttlmap_incr_int(m, "u", 1, 1, 300.0, 0.0, &r) == FL_OK);
    CHECK(fl_ttlmap_expiry(m, "t", 1, &exp) == 0);
    fl_ttlmap_free(m);
}

/* ---- randomized differential test ------------------------------------ */

static uint64_t rs;

static uint64_t
rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void
run_differential(uint64_t seed, long nops, size_t cap_extra, int nkeys)
{
    struct ttm_pair p;
    unsigned char keys[64][40];
    size_t klens[64];
    unsigned char sbuf[64];
    static const double ttls[] = {-1.0, -0.25, 0.0, 0.0, 0.25, 0.5,
                                  1.0,  2.0,   3.75, 10.0};
    double now = 1000.0;
    long f0 = ttm_failures;

    rs = seed;
    CHECK(ttm_pair_new(&p, HKEY, 0) == FL_OK);
    if (cap_extra != 0) {
        size_t base = fl_ttlmap_memory(p.m);
        fl_ttlmap_free(p.m);
        p.mem_cap = base + cap_extra;
        CHECK(fl_ttlmap_new(HKEY, p.mem_cap, &p.m) == FL_OK);
    }
    /* distinct short random keys over a small alphabet */
    for (int i = 0; i < nkeys; i++) {
        for (;;) {
            static const char *const sfx[6] = {"", "", ":window",
                                               ":requests", ":tokens", ":w"};
            klens[i] = 1 + rnd() % 3;
            for (size_t j = 0; j < klens[i]; j++) {
                keys[i][j] = (unsigned char)('a' + rnd() % 4);
            }
            if (rnd() % 4 == 0) {
                /* long keys with hex runs (packed from 16 digits on) */
                static const char alpha[] = "0a9fg";
                klens[i] = 14 + rnd() % 16;
                for (size_t j = 0; j < klens[i]; j++) {
                    keys[i][j] =
                        (unsigned char)alpha[rnd() % (rnd() % 8 ? 4 : 5)];
                }
            }
            /* a suffix that shares a record with the bare prefix's key */
            const char *sf = sfx[rnd() % 6];
            memcpy(keys[i] + klens[i], sf, strlen(sf));
            klens[i] += strlen(sf);
            int dup = 0;
            for (int q = 0; q < i; q++) {
                dup |= klens[q] == klens[i] &&
                       memcmp(keys[q], keys[i], klens[i]) == 0;
            }
            if (!dup) {
                break;
            }
        }
    }
    for (long op = 0; op < nops; op++) {
        uint64_t x = rnd();
        int ki = (int)((x >> 8) % (uint64_t)nkeys);
        const unsigned char *k = keys[ki];
        size_t kl = klens[ki];
        double ttl = ttls[(x >> 16) % 10];
        if ((x >> 24) % 3 != 0) {
            now += 0.25 * (double)((x >> 28) % 5);
        } else if ((x >> 50) % 2 == 0) {
            /* a few ulps on: expiries that differ by a little, as the
             * three keys of a descriptor set microseconds apart do */
            uint64_t b;
            memcpy(&b, &now, 8);
            b += (x >> 52) % 300;
            memcpy(&now, &b, 8);
        }
        switch (x % 16) {
        case 0:
        case 1:
        case 2: {
            struct fl_ttl_value v = ival((int64_t)(rnd() % 7) - 3);
            if ((x >> 40) % 8 == 0) {
                v.i = (x >> 44) % 2 ? INT64_MAX - 1 : INT64_MIN + 1;
            }
            ttm_do_set(&p, k, kl, &v, now, ttl);
            break;
        }
        case 3: {
            struct fl_ttl_value v = fval((double)(rnd() % 100) / 8.0);
            ttm_do_set(&p, k, kl, &v, now, ttl);
            break;
        }
        case 4: {
            size_t n = rnd() % 24;
            for (size_t j = 0; j < n; j++) {
                sbuf[j] = (unsigned char)rnd();
            }
            if (n % 3 == 0) {
                /* a decimal number: canonical ones are kept as ints */
                static const char *const pre[4] = {"", "", "0", "-"};
                long long xv = (long long)rnd() >> (rnd() % 64);
                int w = snprintf((char *)sbuf, sizeof(sbuf), "%s%lld",
                                 pre[rnd() % 4], xv);
                n = w > 0 ? (size_t)w : 0;
            }
            struct fl_ttl_value v = {FL_TTL_STR, 0, 0.0, sbuf, n};
            ttm_do_set(&p, k, kl, &v, now, ttl);
            break;
        }
        case 5:
        case 6:
        case 7:
        case 8:
            ttm_do_get(&p, k, kl, now);
            break;
        case 9:
        case 10:
        case 11: {
            int64_t d = (int64_t)(rnd() % 5) - 2;
            ttm_do_incr(&p, k, kl, d, now, ttl);
            break;
        }
        case 12:
            ttm_do_delete(&p, k, kl);
            break;
        case 13:
            ttm_do_expiry(&p, k, kl);
            break;
        case 14:
            if ((x >> 32) % 8 == 0) {
                ttm_do_reclaim(&p);
            } else {
                ttm_do_sweep(&p, now);
            }
            break;
        default:
            if ((x >> 32) % 64 == 0) {
                ttm_do_clear(&p);
            } else {
                ttm_do_expiry(&p, k, kl);
            }
            break;
        }
        if (op % 61 == 0) {
            ttm_check_iter(&p);
        }
        if (ttm_failures - f0 > 20) {
            break;
        }
    }
    ttm_check_iter(&p);
    ttm_do_reclaim(&p);
    CHECK(ttm_failures == f0);
    ttm_pair_free(&p);
}

int
main(void)
{
    test_siphash_vectors();
    test_new_free();
    test_kinds();
    test_ttl_not_extended();
    test_exp_equals_now();
    test_negative_ttl();
    test_delete_clear_reclaim_next();
    test_growth();
    test_collisions();
    test_mem_cap();
    test_records();
    test_invalid_args();
    test_incr();
    run_differential(0x9E3779B97F4A7C15u, 200000, 0, 64);
    run_differential(12345, 50000, 0, 8);
    run_differential(777, 100000, 40 * 16 + 300, 64);
    run_differential(778, 50000, 200, 64);
    return fl_check_report();
}
