/* ttlmap_model.h - a tiny reference model of fl_ttlmap, and a driver that
 * runs each operation on a real map and on the model and compares them.
 * Shared by tests/c/test_ttlmap.c and tests/fuzz/fuzz_ttlmap.c.
 *
 * The model is the header's rules taken literally, the way LiteLLM's
 * InMemoryCache does them: an unsorted array searched linearly; a set
 * first removes every entry with exp <= now (the eager sweep), keeps the
 * expiry of a key still present and gives a new or gone key now + ttl; a
 * get removes an entry with now > exp.  The clock must never go backwards
 * (the map's lazy sweep equals the eager one only then).
 *
 * The driver also checks memory: with a cap the map never exceeds it, and
 * an FL_EFULL is only allowed when even with every dead entry removed the
 * store would not fit (fl_ttlmap_set_cost), a set that fits leaves
 * exactly the memory set_cost predicted, and after a reclaim the memory is
 * what the header's layout gives for the live entries (8-byte slot
 * pointers; one record per prefix, hex runs packed, sizes recomputed here independently
 * from the header's description: ttm_record_bytes); on hosts without
 * 8-byte pointers that last check is skipped.
 *
 * Before including, a file may define TTM_FAIL(expr_string) (default:
 * print the first failures and count them in ttm_failures).
 */
#ifndef TTMAP_MODEL_H
#define TTMAP_MODEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_ttlmap.h"

#ifndef TTM_FAIL
static long ttm_failures;

static void
ttm_default_fail(const char *file, int line, const char *expr)
{
    if (ttm_failures < 20) {
        fprintf(stderr, "MODEL MISMATCH %s:%d: %s\n", file, line, expr);
    }
    ttm_failures++;
}

#define TTM_FAIL(expr) ttm_default_fail(__FILE__, __LINE__, expr)
#endif
#define TTM_EXPECT(c)                                                     \
    do {                                                                  \
        if (!(c)) {                                                       \
            TTM_FAIL(#c);                                                 \
        }                                                                 \
    } while (0)

#define TTM_SLOT 8u
#define TTM_REC_HEAD 8u

static void *
ttm_xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL) {
        fprintf(stderr, "ttlmap_model: out of memory\n");
        abort();
    }
    return p;
}

struct ttm_entry {
    unsigned char *key;
    size_t klen;
    enum fl_ttl_kind kind;
    int64_t i;
    double f;
    unsigned char *s;
    size_t slen;
    double exp;
};

struct ttm_model {
    struct ttm_entry *e;
    size_t n, cap;
};

static void
ttm_entry_free_value(struct ttm_entry *e)
{
    free(e->s);
    e->s = NULL;
    e->slen = 0;
}

static void
ttm_init(struct ttm_model *md)
{
    md->e = NULL;
    md->n = md->cap = 0;
}

static void
ttm_remove(struct ttm_model *md, size_t idx)
{
    free(md->e[idx].key);
    ttm_entry_free_value(&md->e[idx]);
    md->e[idx] = md->e[md->n - 1];
    md->n--;
}

static void
ttm_clear(struct ttm_model *md)
{
    while (md->n > 0) {
        ttm_remove(md, md->n - 1);
    }
}

static void
ttm_free(struct ttm_model *md)
{
    ttm_clear(md);
    free(md->e);
    ttm_init(md);
}

/* index of the key's entry, or md->n */
static size_t
ttm_find(const struct ttm_model *md, const void *key, size_t klen)
{
    for (size_t j = 0; j < md->n; j++) {
        if (md->e[j].klen == klen && memcmp(md->e[j].key, key, klen) == 0) {
            return j;
        }
    }
    return md->n;
}

static void
ttm_sweep(struct ttm_model *md, double now)
{
    if (!isfinite(now)) {
        return; /* the map ignores such a sweep */
    }
    for (size_t j = 0; j < md->n;) {
        if (md->e[j].exp <= now) {
            ttm_remove(md, j);
        } else {
            j++;
        }
    }
}

static int
ttm_key_ok(const void *key, size_t klen)
{
    return key != NULL && klen >= 1 && klen <= FL_TTLMAP_MAX_KEY;
}

static int
ttm_value_ok(const struct fl_ttl_value *v)
{
    if (v->kind == FL_TTL_INT || v->kind == FL_TTL_FLOAT) {
        return 1;
    }
    return v->kind == FL_TTL_STR && v->slen <= FL_TTLMAP_MAX_STR &&
           (v->s != NULL || v->slen == 0);
}

/* set; with apply == 0 only the sweep (what an FL_EFULL set leaves) */
static enum fl_status
ttm_set(struct ttm_model *md, const void *key, size_t klen,
        const struct fl_ttl_value *v, double now, double ttl, int apply)
{
    if (!ttm_key_ok(key, klen) || !ttm_value_ok(v) || !isfinite(now) ||
        !isfinite(ttl)) {
        return FL_EINVAL;
    }
    ttm_sweep(md, now);
    if (!apply) {
        return FL_OK;
    }
    size_t j = ttm_find(md, key, klen);
    struct ttm_entry *e;
    if (j == md->n) {
        if (md->n == md->cap) {
            size_t nc = md->cap ? md->cap * 2 : 16;
            struct ttm_entry *ne = ttm_xmalloc(nc * sizeof(*ne));
            if (md->n > 0) {
                memcpy(ne, md->e, md->n * sizeof(*ne));
            }
            free(md->e);
            md->e = ne;
            md->cap = nc;
        }
        e = &md->e[md->n++];
        e->key = ttm_xmalloc(klen);
        memcpy(e->key, key, klen);
        e->klen = klen;
        e->s = NULL;
        e->slen = 0;
        e->exp = now + ttl;
    } else {
        e = &md->e[j];
        ttm_entry_free_value(e);
        /* still present after the sweep: the expiry is kept */
    }
    e->kind = v->kind;
    e->i = v->kind == FL_TTL_INT ? v->i : 0;
    e->f = v->kind == FL_TTL_FLOAT ? v->f : 0.0;
    if (v->kind == FL_TTL_STR) {
        e->s = ttm_xmalloc(v->slen);
        if (v->slen > 0) {
            memcpy(e->s, v->s, v->slen);
        }
        e->slen = v->slen;
    }
    return FL_OK;
}

static int
ttm_get(struct ttm_model *md, const void *key, size_t klen, double now,
        const struct ttm_entry **out)
{
    if (!ttm_key_ok(key, klen)) {
        return -1;
    }
    size_t j = ttm_find(md, key, klen);
    if (j == md->n) {
        return 0;
    }
    if (now > md->e[j].exp) {
        ttm_remove(md, j);
        return 0;
    }
    *out = &md->e[j];
    return 1;
}

/* incr_int; with apply == 0 everything but the store */
static enum fl_status
ttm_incr(struct ttm_model *md, const void *key, size_t klen, int64_t delta,
         double now, double ttl, int64_t *result, int apply)
{
    if (!ttm_key_ok(key, klen) || !isfinite(now) || !isfinite(ttl)) {
        return FL_EINVAL;
    }
    int64_t v = delta;
    const struct ttm_entry *e = NULL;
    if (ttm_get(md, key, klen, now, &e) == 1) {
        if (e->kind != FL_TTL_INT) {
            return FL_EAGAIN;
        }
        if ((delta > 0 && e->i > INT64_MAX - delta) ||
            (delta < 0 && e->i < INT64_MIN - delta)) {
            return FL_EAGAIN;
        }
        v = e->i + delta;
    }
    struct fl_ttl_value val = {FL_TTL_INT, v, 0.0, NULL, 0};
    ttm_set(md, key, klen, &val, now, ttl, apply);
    *result = v;
    return FL_OK;
}

/* ---- comparing ---------------------------------------------------------- */

static int
ttm_same_value(const struct ttm_entry *e, const struct fl_ttl_value *v)
{
    if (e->kind != v->kind) {
        return 0;
    }
    switch (e->kind) {
    case FL_TTL_INT:
        return e->i == v->i;
    case FL_TTL_FLOAT:
        return memcmp(&e->f, &v->f, sizeof(double)) == 0;
    case FL_TTL_STR:
        return e->slen == v->slen && v->s != NULL &&
               (e->slen == 0 || memcmp(e->s, v->s, e->slen) == 0);
    }
    return 0;
}

static int
ttm_same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof(double)) == 0;
}

/* The header's record layout, restated: the suffixes that share a record,
 * and the bytes of a value / expiry. */
static const char *const TTM_SUFFIX[4] = {"", ":window", ":requests",
                                          ":tokens"};

static size_t
ttm_split(const unsigned char *key, size_t klen, unsigned *field)
{
    for (unsigned f = 1; f < 4; f++) {
        size_t n = strlen(TTM_SUFFIX[f]);
        if (klen > n && memcmp(key + klen - n, TTM_SUFFIX[f], n) == 0) {
            *field = f;
            return klen - n;
        }
    }
    *field = 0;
    return klen;
}

static size_t
ttm_int_bytes(int64_t v)
{
    if (v >= -128 && v <= 127) {
        return 1;
    }
    if (v >= -32768 && v <= 32767) {
        return 2;
    }
    if (v >= -2147483647 - 1 && v <= 2147483647) {
        return 4;
    }
    return 8;
}

/* bytes of a string value: a canonical int64 decimal is kept as the int */
static size_t
ttm_str_bytes(const unsigned char *s, size_t n)
{
    char buf[32];
    long long v;
    if (n >= 1 && n <= 20) {
        memcpy(buf, s, n);
        buf[n] = 0;
        if (memchr(s, 0, n) == NULL && sscanf(buf, "%lld", &v) == 1) {
            char back[32];
            snprintf(back, sizeof(back), "%lld", v);
            if (strcmp(back, buf) == 0) {
                return ttm_int_bytes((int64_t)v);
            }
        }
    }
    return 2 + n;
}

static size_t
ttm_exp_bytes(double exp, double prev)
{
    uint64_t a, b;
    memcpy(&a, &exp, 8);
    memcpy(&b, &prev, 8);
    size_t n = ttm_int_bytes((int64_t)(a - b));
    return n == 8 ? 8 : n;
}

/* the stored length of a prefix: its longest run of lowercase hex digits,
 * when 16 or more, is kept two digits a byte, after a 4-byte head */
static size_t
ttm_prefix_bytes(const unsigned char *p, size_t n)
{
    size_t best = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        int hex = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
        run = hex ? run + 1 : 0;
        if (run > best) {
            best = run;
        }
    }
    return best >= 16 ? n - best / 2 + 4 : n;
}

/* The bytes of every record holding the model's entries. */
static size_t
ttm_record_bytes(const struct ttm_model *md)
{
    size_t sum = 0;
    for (size_t j = 0; j < md->n; j++) {
        unsigned fj;
        size_t pj = ttm_split(md->e[j].key, md->e[j].klen, &fj);
        /* count each record once: at its entry of the lowest field */
        const struct ttm_entry *by_field[4] = {NULL, NULL, NULL, NULL};
        for (size_t q = 0; q < md->n; q++) {
            unsigned fq;
            size_t pq = ttm_split(md->e[q].key, md->e[q].klen, &fq);
            if (pq == pj && memcmp(md->e[q].key, md->e[j].key, pj) == 0) {
                by_field[fq] = &md->e[q];
            }
        }
        unsigned lowest = 0;
        while (by_field[lowest] == NULL) {
            lowest++;
        }
        if (lowest != fj) {
            continue;
        }
        size_t n = TTM_REC_HEAD + ttm_prefix_bytes(md->e[j].key, pj);
        int first = 1;
        double prev = 0.0;
        for (unsigned f = 0; f < 4; f++) {
            const struct ttm_entry *e = by_field[f];
            if (e == NULL) {
                continue;
            }
            n += 1;
            if (e->kind == FL_TTL_INT) {
                n += ttm_int_bytes(e->i);
            } else if (e->kind == FL_TTL_FLOAT) {
                n += 8;
            } else {
                n += ttm_str_bytes(e->s, e->slen);
            }
            n += first ? 8 : ttm_exp_bytes(e->exp, prev);
            prev = e->exp;
            first = 0;
        }
        sum += n;
    }
    return sum;
}

/* The map and the model side by side. */
struct ttm_pair {
    struct fl_ttlmap *m;
    struct ttm_model md;
    size_t mem_cap;
    size_t base; /* sizeof(struct fl_ttlmap): memory minus table minus records */
};

static int
ttm_layout_known(void)
{
    return sizeof(void *) == 8;
}

static enum fl_status
ttm_pair_new(struct ttm_pair *p, const unsigned char hash_key[16],
             size_t mem_cap)
{
    struct fl_ttlmap *probe = NULL;
    enum fl_status st = fl_ttlmap_new(hash_key, 0, &probe);
    if (st != FL_OK) {
        return st;
    }
    p->base = fl_ttlmap_memory(probe) - 16 * TTM_SLOT;
    fl_ttlmap_free(probe);
    p->m = NULL;
    p->mem_cap = mem_cap;
    ttm_init(&p->md);
    return fl_ttlmap_new(hash_key, mem_cap, &p->m);
}

static void
ttm_pair_free(struct ttm_pair *p)
{
    fl_ttlmap_free(p->m);
    ttm_free(&p->md);
    p->m = NULL;
}

/* Every entry the map iterates is in the model, equal, and the counts
 * agree. */
static void
ttm_check_iter(struct ttm_pair *p)
{
    size_t pos = 0, seen = 0;
    const unsigned char *k;
    size_t kl;
    double exp;
    struct fl_ttl_value v;
    while (fl_ttlmap_next(p->m, &pos, &k, &kl, &exp, &v)) {
        size_t j = ttm_find(&p->md, k, kl);
        TTM_EXPECT(j < p->md.n);
        if (j < p->md.n) {
            TTM_EXPECT(ttm_same_double(p->md.e[j].exp, exp));
            TTM_EXPECT(ttm_same_value(&p->md.e[j], &v));
        }
        seen++;
    }
    TTM_EXPECT(seen == p->md.n);
    TTM_EXPECT(fl_ttlmap_len(p->m) >= p->md.n);
    if (p->mem_cap != 0) {
        TTM_EXPECT(fl_ttlmap_memory(p->m) <= p->mem_cap);
    }
}

/* With no dead entry left in the map: memory() is the struct, the table
 * and the live entries' records, exactly. */
static void
ttm_check_layout(struct ttm_pair *p)
{
    TTM_EXPECT(fl_ttlmap_len(p->m) == p->md.n);
    size_t slots = fl_ttlmap_capacity(p->m);
    TTM_EXPECT(slots >= 16 && (slots & (slots - 1)) == 0);
    TTM_EXPECT(p->md.n <= 4 * (slots - slots / 4)); /* records <= 3/4 */
    if (!ttm_layout_known()) {
        return;
    }
    TTM_EXPECT(fl_ttlmap_memory(p->m) ==
               p->base + slots * TTM_SLOT + ttm_record_bytes(&p->md));
}

/* After FL_EFULL (and the model's sweep): every dead entry is gone and the
 * store really did not fit. */
static void
ttm_check_full(struct ttm_pair *p, const void *key, size_t klen,
               const struct fl_ttl_value *v, double now, double ttl)
{
    size_t total = 0;
    TTM_EXPECT(p->mem_cap != 0);
    ttm_check_layout(p);
    enum fl_status st = fl_ttlmap_set_cost(p->m, key, klen, v, now, ttl,
                                           &total);
    TTM_EXPECT(st == FL_EFULL || (st == FL_OK && total > p->mem_cap));
}

static void
ttm_do_set(struct ttm_pair *p, const void *key, size_t klen,
           const struct fl_ttl_value *v, double now, double ttl)
{
    size_t cost = 0;
    enum fl_status cst = fl_ttlmap_set_cost(p->m, key, klen, v, now, ttl,
                                            &cost);
    enum fl_status st = fl_ttlmap_set(p->m, key, klen, v, now, ttl);
    if (st == FL_EFULL) {
        TTM_EXPECT(ttm_set(&p->md, key, klen, v, now, ttl, 0) == FL_OK);
        TTM_EXPECT(cst != FL_OK || cost > p->mem_cap);
        ttm_check_full(p, key, klen, v, now, ttl);
        return;
    }
    TTM_EXPECT(st == ttm_set(&p->md, key, klen, v, now, ttl, 1));
    if (st == FL_OK && cst == FL_OK &&
        (p->mem_cap == 0 || cost <= p->mem_cap)) {
        TTM_EXPECT(fl_ttlmap_memory(p->m) == cost);
    }
    if (p->mem_cap != 0) {
        TTM_EXPECT(fl_ttlmap_memory(p->m) <= p->mem_cap);
    }
}

static void
ttm_do_get(struct ttm_pair *p, const void *key, size_t klen, double now)
{
    struct fl_ttl_value v = {FL_TTL_INT, 0, 0.0, NULL, 0};
    double exp = -1.0;
    const struct ttm_entry *e = NULL;
    int r = fl_ttlmap_get(p->m, key, klen, now, &v, &exp);
    int rm = ttm_get(&p->md, key, klen, now, &e);
    TTM_EXPECT(r == rm);
    if (r == 1 && rm == 1) {
        TTM_EXPECT(ttm_same_value(e, &v));
        TTM_EXPECT(ttm_same_double(e->exp, exp));
    }
}

static void
ttm_do_incr(struct ttm_pair *p, const void *key, size_t klen, int64_t delta,
            double now, double ttl)
{
    int64_t r1 = 12345, r2 = 54321;
    size_t len_before = fl_ttlmap_len(p->m);
    enum fl_status st = fl_ttlmap_incr_int(p->m, key, klen, delta, now, ttl,
                                           &r1);
    if (st == FL_EFULL) {
        TTM_EXPECT(ttm_incr(&p->md, key, klen, delta, now, ttl, &r2, 0) ==
                   FL_OK);
        struct fl_ttl_value v = {FL_TTL_INT, r2, 0.0, NULL, 0};
        ttm_check_full(p, key, klen, &v, now, ttl);
        return;
    }
    enum fl_status sm = ttm_incr(&p->md, key, klen, delta, now, ttl, &r2, 1);
    TTM_EXPECT(st == sm);
    if (st == FL_OK && sm == FL_OK) {
        TTM_EXPECT(r1 == r2);
    }
    if (st == FL_EAGAIN) {
        TTM_EXPECT(fl_ttlmap_len(p->m) == len_before);
    }
    if (p->mem_cap != 0) {
        TTM_EXPECT(fl_ttlmap_memory(p->m) <= p->mem_cap);
    }
}

static void
ttm_do_delete(struct ttm_pair *p, const void *key, size_t klen)
{
    double exp;
    int live = fl_ttlmap_expiry(p->m, key, klen, &exp);
    int r = fl_ttlmap_delete(p->m, key, klen);
    size_t j = ttm_key_ok(key, klen) ? ttm_find(&p->md, key, klen)
                                     : p->md.n;
    int rm = j < p->md.n;
    if (rm) {
        ttm_remove(&p->md, j);
    }
    TTM_EXPECT(live == rm);
    /* the map may also remove a dead entry the model no longer has */
    TTM_EXPECT(r == rm || (r == 1 && !live));
}

static void
ttm_do_expiry(struct ttm_pair *p, const void *key, size_t klen)
{
    double exp = -7.0;
    int r = fl_ttlmap_expiry(p->m, key, klen, &exp);
    size_t j = ttm_key_ok(key, klen) ? ttm_find(&p->md, key, klen)
                                     : p->md.n;
    TTM_EXPECT(r == (j < p->md.n));
    if (r == 1 && j < p->md.n) {
        TTM_EXPECT(ttm_same_double(exp, p->md.e[j].exp));
    }
}

static void
ttm_do_sweep(struct ttm_pair *p, double now)
{
    fl_ttlmap_sweep(p->m, now);
    ttm_sweep(&p->md, now);
}

static void
ttm_do_reclaim(struct ttm_pair *p)
{
    size_t before = fl_ttlmap_len(p->m);
    size_t n = fl_ttlmap_reclaim(p->m);
    TTM_EXPECT(n <= before && fl_ttlmap_len(p->m) == before - n);
    ttm_check_layout(p);
    TTM_EXPECT(fl_ttlmap_reclaim(p->m) == 0);
}

static void
ttm_do_clear(struct ttm_pair *p)
{
    fl_ttlmap_clear(p->m);
    ttm_clear(&p->md);
    TTM_EXPECT(fl_ttlmap_len(p->m) == 0);
    ttm_check_layout(p);
}

#endif /* TTMAP_MODEL_H */
