/* fuzz_ttlmap.c - libFuzzer target for csrc/core/fl_ttlmap.c.
 *
 * The input is a program: a header byte (memory cap), then operations of
 * a few bytes each - set int/float/str, get, incr_int, delete, sweep,
 * reclaim, clear, expiry, a full iteration, redefining one of the 8 keys
 * in the key pool (any length 0..FL_TTLMAP_MAX_KEY+2, so the bounds are
 * hit), bursts of sets of distinct keys (table growth), and calls with bad
 * arguments.  Keys may carry one of the suffixes that share a record
 * (":window", ":requests", ":tokens") and strings may be decimal numbers,
 * canonical or not, so the record layout's every path is taken.  The clock
 * only moves forward.
 * Every operation runs on the map and on the reference model of
 * tests/c/ttlmap_model.h, which compares results, values, expiries, the
 * live entries, and (with a cap) that memory stays under it and FL_EFULL
 * only happens when the store could not fit.
 *
 *   make build/fuzz/fuzz_ttlmap && build/fuzz/fuzz_ttlmap -max_len=4096
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TTM_FAIL(expr)                                                    \
    do {                                                                  \
        fprintf(stderr, "MODEL MISMATCH %s:%d: %s\n", __FILE__, __LINE__,  \
                expr);                                                    \
        abort();                                                          \
    } while (0)

#include "fl_ttlmap.h"
#include "../c/ttlmap_model.h"

#define POOL 8

struct reader {
    const uint8_t *p;
    size_t n;
};

static int
rd(struct reader *r, uint8_t *b)
{
    if (r->n == 0) {
        return 0;
    }
    *b = *r->p++;
    r->n--;
    return 1;
}

/* up to `len` bytes as a little-endian integer, zero when exhausted */
static uint64_t
rd_u(struct reader *r, int len)
{
    uint64_t v = 0;
    uint8_t b;
    for (int i = 0; i < len && rd(r, &b); i++) {
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static const unsigned char HKEY[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba,
                                       0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67,
                                       0x89, 0xab, 0xcd, 0xef};

static unsigned char pool[POOL][FL_TTLMAP_MAX_KEY + 2];
static size_t pool_len[POOL];
static unsigned char sbuf[FL_TTLMAP_MAX_STR + 1];
static unsigned char skey[FL_TTLMAP_MAX_KEY + 16];
static const char *const SUFFIXES[4] = {":window", ":requests", ":tokens",
                                        ":window:"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = {data, size};
    struct ttm_pair p;
    uint8_t hdr = 0, c1 = 0;
    size_t cap = 0;
    double now = 1.0;
    long ops = 0;

    rd(&r, &hdr);
    rd(&r, &c1);
    if (ttm_pair_new(&p, HKEY, 0) != FL_OK) {
        return 0;
    }
    size_t empty = fl_ttlmap_memory(p.m);
    switch (hdr & 3) {
    case 1:
        cap = empty + (size_t)c1 * 4;
        break;
    case 2:
        cap = empty + 16 * TTM_SLOT + (size_t)c1 * 16;
        break;
    case 3:
        cap = empty + 112 * TTM_SLOT + (size_t)c1 * 64;
        break;
    default:
        break;
    }
    if (cap != 0) {
        fl_ttlmap_free(p.m);
        p.m = NULL;
        p.mem_cap = cap;
        if (fl_ttlmap_new(HKEY, cap, &p.m) != FL_OK) {
            abort();
        }
    }
    for (int i = 0; i < POOL; i++) {
        pool[i][0] = (unsigned char)('a' + i);
        pool[i][1] = (unsigned char)i;
        pool_len[i] = 1 + (size_t)(i % 2);
    }

    uint8_t op, kb, tb;
    while (rd(&r, &op) && rd(&r, &kb) && rd(&r, &tb)) {
        const unsigned char *key = pool[kb % POOL];
        size_t klen = pool_len[kb % POOL];
        unsigned char gkey[2];
        if (kb & 0x40) {
            /* one of 256 two-byte keys, for more entries than the pool */
            gkey[0] = 0xff;
            gkey[1] = (uint8_t)rd_u(&r, 1);
            key = gkey;
            klen = 2;
        }
        if (kb & 0x20) {
            /* the key with a suffix: fields of one record */
            const char *sfx = SUFFIXES[(kb >> 3) & 3];
            size_t sl = strlen(sfx);
            if (klen > 0) {
                memcpy(skey, key, klen);
            }
            memcpy(skey + klen, sfx, sl);
            key = skey;
            klen += sl;
        }
        if (tb & 8) {
            now += 0.25 * (double)(tb & 7);
        }
        double ttl = 0.5 * (double)((int)(tb >> 4) - 4); /* -2 .. 5.5 */
        if (kb & 0x80) {
            ttl *= 100.0;
        }
        ops++;
        switch (op % 15) {
        case 0: {
            struct fl_ttl_value v = {FL_TTL_INT, (int64_t)rd_u(&r, 8), 0.0,
                                     NULL, 0};
            ttm_do_set(&p, key, klen, &v, now, ttl);
            break;
        }
        case 1: {
            uint64_t bits = rd_u(&r, 8);
            double f;
            memcpy(&f, &bits, sizeof(f));
            struct fl_ttl_value v = {FL_TTL_FLOAT, 0, f, NULL, 0};
            ttm_do_set(&p, key, klen, &v, now, ttl);
            break;
        }
        case 2: {
            size_t slen = (size_t)(rd_u(&r, 2) % (FL_TTLMAP_MAX_STR + 2));
            uint8_t seed = (uint8_t)rd_u(&r, 1);
            for (size_t j = 0; j < slen; j++) {
                sbuf[j] = (unsigned char)(seed + j * 7);
            }
            if (seed % 4 == 0) {
                /* a decimal: canonical, or with a leading 0, +, space */
                static const char *const pre[4] = {"", "0", "+", " "};
                long long x = (long long)rd_u(&r, 8);
                if (seed & 0x10) {
                    x >>= 40; /* small numbers, both signs */
                }
                int n = snprintf((char *)sbuf, 32, "%s%lld",
                                 pre[(seed >> 2) & 3], x);
                slen = n > 0 ? (size_t)n : 0;
            }
            struct fl_ttl_value v = {FL_TTL_STR, 0, 0.0, sbuf, slen};
            ttm_do_set(&p, key, klen, &v, now, ttl);
            break;
        }
        case 3:
        case 4:
            ttm_do_get(&p, key, klen, now);
            break;
        case 5: {
            uint8_t d = (uint8_t)rd_u(&r, 1);
            int64_t delta = (int64_t)(int8_t)d;
            if (d == 0x7f) {
                delta = INT64_MAX;
            } else if (d == 0x80) {
                delta = INT64_MIN;
            }
            ttm_do_incr(&p, key, klen, delta, now, ttl);
            break;
        }
        case 6:
            ttm_do_delete(&p, key, klen);
            break;
        case 7:
            ttm_do_sweep(&p, now);
            break;
        case 8:
            ttm_do_reclaim(&p);
            break;
        case 9:
            if ((tb & 0x30) == 0) {
                ttm_do_clear(&p);
            } else {
                ttm_do_expiry(&p, key, klen);
            }
            break;
        case 10:
            ttm_do_expiry(&p, key, klen);
            break;
        case 11:
            ttm_check_iter(&p);
            break;
        case 12: {
            /* redefine a pool key: 0..MAX_KEY+2 bytes from the input */
            size_t n = (size_t)(rd_u(&r, 2) % (FL_TTLMAP_MAX_KEY + 3));
            unsigned char *k = pool[kb % POOL];
            for (size_t j = 0; j < n; j++) {
                uint8_t b = 0;
                if (!rd(&r, &b)) {
                    b = (uint8_t)j;
                }
                k[j] = b;
            }
            pool_len[kb % POOL] = n;
            break;
        }
        case 13: {
            /* a burst of up to 255 int sets of distinct 3-byte keys: the
             * table grows (or, with a cap, fills up) */
            size_t n = (size_t)rd_u(&r, 1);
            unsigned char bk[3] = {0xfe, (uint8_t)kb, 0};
            for (size_t j = 0; j < n; j++) {
                struct fl_ttl_value v = {FL_TTL_INT, (int64_t)j, 0.0, NULL,
                                         0};
                bk[2] = (uint8_t)j;
                ttm_do_set(&p, bk, sizeof(bk), &v, now, ttl);
            }
            break;
        }
        default: {
            /* bad arguments: non-finite time or ttl, bad kind, NULL
             * string, an over-long string; the model says FL_EINVAL */
            struct fl_ttl_value v = {FL_TTL_INT, 1, 0.0, NULL, 0};
            double bn = now, bt = ttl;
            switch (tb % 6) {
            case 0:
                bn = NAN;
                break;
            case 1:
                bt = INFINITY;
                break;
            case 2:
                v.kind = (enum fl_ttl_kind)(kb % 2 ? 0 : 4);
                break;
            case 3:
                v.kind = FL_TTL_STR;
                v.slen = 1;
                break;
            case 4:
                v.kind = FL_TTL_STR;
                v.s = sbuf;
                v.slen = FL_TTLMAP_MAX_STR + 1;
                break;
            default:
                bt = -INFINITY;
                break;
            }
            if (v.kind == FL_TTL_INT || v.kind == FL_TTL_FLOAT ||
                v.kind == FL_TTL_STR) {
                ttm_do_set(&p, key, klen, &v, bn, bt);
                ttm_do_incr(&p, key, klen, 1, bn, bt);
            } else {
                TTM_EXPECT(fl_ttlmap_set(p.m, key, klen, &v, bn, bt) ==
                           FL_EINVAL);
            }
            break;
        }
        }
        if (p.md.n <= 16 || ops % 16 == 0) {
            ttm_check_iter(&p);
        }
    }
    ttm_check_iter(&p);
    ttm_do_reclaim(&p);
    ttm_pair_free(&p);
    return 0;
}
