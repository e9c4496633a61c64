/* libFuzzer target: csrc/core/fl_rlstep.c on a map whose three descriptor
 * keys hold arbitrary values (any bytes as strings, ints, doubles) with
 * arbitrary TTLs and clock moves, and steps with arbitrary limits, window
 * sizes and increments.  Checks: a declined step (FL_EAGAIN) and an
 * over-the-limit one leave the three keys' values as they were (a get
 * removes only what was already expired); an admitted complete step leaves
 * the counter it reports in its key; several counters over two
 * descriptors (fl_rl_reserve_all) write nothing when declined or over;
 * fl_rl_json_int agrees with a plain
 * reference parser.  ASan/UBSan watch the rest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_rlstep.h"
#include "fl_ttlmap.h"

static const unsigned char HKEY[16] = {3, 1, 4, 1, 5, 9, 2, 6,
                                       5, 3, 5, 8, 9, 7, 9, 3};
static const char P[] = "{api_key:fuzz}:";
static const char Q[] = "{team:t}:";
static const char *const SUF[3] = {"window", "requests", "tokens"};

struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint64_t
take(struct cursor *c, size_t bytes)
{
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < bytes; i++) {
        v = (v << 8) | (c->n ? (c->n--, *c->p++) : 0u);
    }
    return v;
}

/* JSON integer, the slow way: optional '-', digits, no leading zero, <= 18 digits */
static int
ref_json_int(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = (n > 0 && s[0] == '-') ? 1 : 0, d = n - i, k;
    long long acc = 0;
    if (d < 1 || d > 18 || (s[i] == '0' && d > 1)) {
        return 0;
    }
    for (k = i; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') {
            return 0;
        }
        acc = acc * 10 + (s[k] - '0');
    }
    *v = i ? -acc : acc;
    return 1;
}

struct snap {
    int present[3];
    struct fl_ttl_value v[3];
    unsigned char s[3][64];
};

static void
take_snap_of(struct fl_ttlmap *m, const char *pre, double now, struct snap *out)
{
    int i;
    for (i = 0; i < 3; i++) {
        char key[40];
        size_t kl = strlen(pre);
        memcpy(key, pre, kl);
        memcpy(key + kl, SUF[i], strlen(SUF[i]));
        kl += strlen(SUF[i]);
        out->present[i] = fl_ttlmap_get(m, key, kl, now, &out->v[i], NULL) == 1;
        if (out->present[i] && out->v[i].kind == FL_TTL_STR) {
            size_t l = out->v[i].slen < 64 ? out->v[i].slen : 64;
            memcpy(out->s[i], out->v[i].s, l);
            out->v[i].s = out->s[i];
            out->v[i].slen = l;
        }
    }
}

static void
take_snap(struct fl_ttlmap *m, double now, struct snap *out)
{
    take_snap_of(m, P, now, out);
}

static int
same_snap(const struct snap *a, const struct snap *b)
{
    int i;
    for (i = 0; i < 3; i++) {
        if (a->present[i] != b->present[i]) {
            return 0;
        }
        if (!a->present[i]) {
            continue;
        }
        if (a->v[i].kind != b->v[i].kind) {
            return 0;
        }
        if (a->v[i].kind == FL_TTL_INT && a->v[i].i != b->v[i].i) {
            return 0;
        }
        if (a->v[i].kind == FL_TTL_FLOAT && memcmp(&a->v[i].f, &b->v[i].f, sizeof(double)) != 0) {
            return 0;
        }
        if (a->v[i].kind == FL_TTL_STR &&
            (a->v[i].slen != b->v[i].slen || memcmp(a->v[i].s, b->v[i].s, a->v[i].slen) != 0)) {
            return 0;
        }
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    struct fl_ttlmap *m = NULL;
    double now = 1.7e9;
    int steps = 0;

    if (fl_ttlmap_new(HKEY, (size_t)(take(&c, 1) ? 0 : 2048 + take(&c, 1) * 8), &m) != FL_OK) {
        /* a cap below an empty map */
        if (fl_ttlmap_new(HKEY, 0, &m) != FL_OK) {
            abort();
        }
    }
    while (c.n > 0 && steps++ < 64) {
        unsigned op = (unsigned)take(&c, 1);
        now += (double)(take(&c, 1) % 90) * 0.5;
        if (op % 3 == 0) { /* store something in one of the three keys */
            char key[40];
            size_t kl = strlen(P), sl;
            struct fl_ttl_value v;
            unsigned char s[32];
            int which = (int)(take(&c, 1) % 3);
            memcpy(key, P, kl);
            memcpy(key + kl, SUF[which], strlen(SUF[which]));
            kl += strlen(SUF[which]);
            memset(&v, 0, sizeof v);
            switch (take(&c, 1) % 4) {
            case 0:
                v.kind = FL_TTL_INT;
                v.i = (int64_t)take(&c, 8);
                break;
            case 1:
                v.kind = FL_TTL_FLOAT;
                v.f = (double)(int64_t)take(&c, 4) / 3.0;
                break;
            case 2: /* a decimal string near now */
                v.kind = FL_TTL_STR;
                sl = (size_t)snprintf((char *)s, sizeof s, "%lld",
                                      (long long)now - (long long)(take(&c, 1) % 130));
                v.s = s;
                v.slen = sl;
                break;
            default: /* any bytes */
                sl = (size_t)(take(&c, 1) % 24);
                for (size_t k = 0; k < sl; k++) {
                    s[k] = (unsigned char)take(&c, 1);
                }
                v.kind = FL_TTL_STR;
                v.s = s;
                v.slen = sl;
                {
                    int64_t a = 0, b = 0;
                    int ra = fl_rl_json_int(s, sl, &a), rb = ref_json_int(s, sl, &b);
                    if (ra != rb || (ra && a != b)) {
                        abort();
                    }
                }
                break;
            }
            (void)fl_ttlmap_set(m, key, kl, &v, now, (double)(take(&c, 1) % 120) - 5.0);
        } else {
            struct fl_rl_result r;
            struct snap before, after;
            enum fl_status st;
            int64_t limit = (int64_t)take(&c, 1) - 8 + (take(&c, 1) == 255 ? INT64_MAX - 300 : 0);
            int64_t ws = (int64_t)(take(&c, 1) % 130) - 4;
            int64_t now_int = (int64_t)now + (int64_t)(take(&c, 1) % 5) - 2;
            int64_t inc = (int64_t)(take(&c, 1) % 50) - 3;
            int reserve = op % 3 == 2;
            if (reserve && (op & 8)) { /* several counters over P and Q */
                struct fl_rl_meta metas[4];
                struct fl_rl_multi mu;
                struct snap bq, aq;
                size_t nm = 1 + (size_t)(take(&c, 1) % 4), j;
                for (j = 0; j < nm; j++) {
                    unsigned b = (unsigned)take(&c, 1);
                    metas[j].prefix = (b & 1) ? Q : P;
                    metas[j].plen = strlen(metas[j].prefix);
                    metas[j].tokens = (b >> 1) & 1;
                    metas[j].increment = (int64_t)(take(&c, 1) % 50) - 3;
                    metas[j].limit = (int64_t)take(&c, 1) - 8;
                    metas[j].window_size = (int64_t)(take(&c, 1) % 130) - 4;
                    metas[j].ttl = metas[j].window_size;
                }
                take_snap(m, now, &before);
                take_snap_of(m, Q, now, &bq);
                st = fl_rl_reserve_all(m, metas, nm, now_int, now, &mu);
                take_snap(m, now, &after);
                take_snap_of(m, Q, now, &aq);
                if (st == FL_EAGAIN || (st == FL_OK && mu.over_index < nm)) {
                    if (!same_snap(&before, &after) || !same_snap(&bq, &aq)) {
                        abort();
                    }
                } else if (st == FL_OK) {
                    if (mu.over_index != nm) {
                        abort();
                    }
                } else if (st != FL_EFULL && st != FL_ENOMEM) {
                    abort();
                }
                continue;
            }
            take_snap(m, now, &before);
            st = reserve ? fl_rl_reserve(m, P, strlen(P), inc, limit, now_int, ws, ws, now, &r)
                         : fl_rl_requests(m, P, strlen(P), limit, now_int, ws, now, &r);
            take_snap(m, now, &after);
            if (st == FL_EAGAIN || (st == FL_OK && r.over)) {
                if (!same_snap(&before, &after)) {
                    abort();
                }
            } else if (st == FL_OK) {
                /* the counter's key holds the counter reported (unless a
                 * ttl <= 0 made it expire at once) */
                int ci = reserve ? 2 : 1;
                if (ws > 0 && (!after.present[ci] || after.v[ci].kind != FL_TTL_INT ||
                               after.v[ci].i != r.counter)) {
                    abort();
                }
            } else if (st != FL_EFULL && st != FL_ENOMEM) {
                abort();
            }
        }
    }
    fl_ttlmap_free(m);
    return 0;
}
