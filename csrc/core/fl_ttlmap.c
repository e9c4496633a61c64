/* fl_ttlmap.c - see fl_ttlmap.h for the contract.
 *
 * Records: see fl_ttlrec.h (a key's prefix and field, the record layout,
 * its encoder and decoder).  A record is rewritten as a whole (decode,
 * change, encode into a buffer on the stack, copy back or into a new block
 * when the size changed): records are small and the limiter touches one or
 * two fields at a time.  A set also drops the record's other fields that
 * its sweep made dead (no observable difference: they are absent
 * everywhere).
 *
 * Table.  Open addressing over record pointers, linear probing from
 * hash & mask, backward-shift deletion (no tombstones), a power-of-two
 * capacity of at least 16, doubled to keep records <= 3/4 of it.  The
 * capacity never exceeds 2^31, so 32 bits of hash pick any slot.
 *
 * Sweeps.  The map keeps the time of the latest sweep and the field the set
 * that made it stored (fresh, fresh_f; NULL after fl_ttlmap_sweep).  A
 * field is dead iff exp <= sweep_time and it is not that fresh field
 * (is_dead).  That is the rule "the entry's TTL was given before the latest
 * sweep and exp <= that sweep's time": every set sweeps before it stores,
 * so every entry except the one the latest set stored got its TTL before
 * the latest sweep.  (A set that keeps a live entry's expiry still makes it
 * the fresh one; that changes nothing observable: it survived this sweep.)
 * The set's truth table for the field it stores:
 *
 *   field for the key        exp after the set
 *   ---------------------    --------------------
 *   none                     now + ttl
 *   present, exp <= now      now + ttl (was gone)
 *   present, exp >  now      unchanged (no extend)
 *
 * Get: a field that is dead, or has now > exp, is removed and reported as
 * absent; otherwise it is returned (so exp == now is still found: a get
 * uses now > exp, a sweep exp <= now, as LiteLLM does).  A NaN `now` passed
 * to get compares false, so the entry is returned, as in LiteLLM.  A sweep
 * with a non-finite `now` is ignored (a NaN sweep time would bring entries
 * killed by earlier sweeps back to life; set rejects such a `now` with
 * FL_EINVAL for the same reason).
 *
 * Memory.  m->mem is always sizeof(struct fl_ttlmap) + capacity *
 * sizeof(pointer) + the sum of every record's size.  A set plans its
 * result first (plan(): the record it would write and the total memory);
 * with mem_cap > 0 and a total over the cap it removes every dead field
 * (reclaim), plans again (the reclaim may have moved, shrunk or removed the
 * record) and returns FL_EFULL if still over.  A table size that cannot be
 * represented is reported as FL_ENOMEM; more than FL_TTLMAP_MAX_ENTRIES
 * entries as FL_EFULL.
 */
#include "fl_ttlmap.h"
#include "fl_ttlrec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 16u
#define MAX_CAPACITY ((size_t)1 << 31)
struct fl_ttlmap {
    struct rec **slots;
    size_t mask;          /* capacity - 1 */
    size_t nrec;          /* records held */
    size_t count;         /* fields held, dead ones included */
    size_t mem;           /* bytes allocated: struct + table + records */
    size_t mem_cap;       /* 0: no cap */
    uint64_t k0, k1;      /* the SipHash key */
    double sweep_time;    /* time of the latest sweep */
    const struct rec *fresh; /* the record the latest sweep's set stored */
    unsigned fresh_f;        /* and the field */
    unsigned char kbuf[FL_TTLMAP_MAX_KEY];      /* keys given by next() */
    char dbuf[24];                              /* decimal strings */
};

/* ---- keys ---------------------------------------------------------------- */

static inline int
key_ok(const void *key, size_t klen)
{
    return key != NULL && klen >= 1 && klen <= FL_TTLMAP_MAX_KEY;
}

/* The value a field gives back; decimal strings are written into dbuf. */
static void
field_value(struct fl_ttlmap *m, const struct field *f,
            struct fl_ttl_value *out)
{
    out->i = 0;
    out->f = 0.0;
    out->s = NULL;
    out->slen = 0;
    switch (f->kind) {
    case K_INT:
        out->kind = FL_TTL_INT;
        out->i = f->i;
        break;
    case K_FLOAT:
        out->kind = FL_TTL_FLOAT;
        out->f = f->f;
        break;
    case K_DEC: {
        int n = snprintf(m->dbuf, sizeof(m->dbuf), "%lld", (long long)f->i);
        out->kind = FL_TTL_STR;
        out->s = (const unsigned char *)m->dbuf;
        out->slen = n > 0 ? (size_t)n : 0;
        break;
    }
    default:
        out->kind = FL_TTL_STR;
        out->s = f->s;
        out->slen = f->slen;
        break;
    }
}

/* ---- table -------------------------------------------------------------- */

static inline int
is_dead(const struct fl_ttlmap *m, const struct rec *r, unsigned f,
        double exp)
{
    return exp <= m->sweep_time && !(r == m->fresh && f == m->fresh_f);
}

static inline uint32_t
hash_prefix(const struct fl_ttlmap *m, const unsigned char *p, size_t n)
{
    return (uint32_t)fl_siphash24_k(m->k0, m->k1, p, n);
}

/* A key split, its prefix in stored form, hashed. */
struct keyref {
    unsigned char enc[ENC_MAX];
    size_t elen;     /* stored prefix length */
    unsigned packed; /* hex-packed */
    unsigned field;
    uint32_t hash;
};

/* Probe for the record of k's prefix.  Returns 1 with *idx = its slot, or
 * 0 with *idx = the empty slot where it would go. */
static int
find(const struct fl_ttlmap *m, const struct keyref *k, size_t *idx)
{
    unsigned head = (unsigned)k->elen | (k->packed ? PACKED_BIT : 0u);
    size_t i = (size_t)k->hash & m->mask;
    for (;;) {
        const struct rec *r = m->slots[i];
        if (r == NULL) {
            *idx = i;
            return 0;
        }
        if (r->hash == k->hash &&
            ((unsigned)r->plen_fields & ~FIELD_MASK) == head &&
            memcmp(r->data, k->enc, k->elen) == 0) {
            *idx = i;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
}

static void
rec_free(struct fl_ttlmap *m, struct rec *r)
{
    if (m->fresh == r) {
        m->fresh = NULL;
    }
    m->mem -= r->size;
    free(r);
}

/* Remove the record in slot i, shifting the rest of its cluster back so
 * that every record stays reachable from its home slot. */
static void
remove_at(struct fl_ttlmap *m, size_t i)
{
    struct rec **slots = m->slots;
    size_t mask = m->mask;
    size_t j = i;

    rec_free(m, slots[i]);
    m->nrec--;
    for (;;) {
        j = (j + 1) & mask;
        if (slots[j] == NULL) {
            break;
        }
        size_t home = (size_t)slots[j]->hash & mask;
        /* The record at j may move to the hole at i iff i lies on its
         * probe path, i.e. cyclically within [home, j). */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i] = NULL;
}

/* Give the record in slot i the contents d (fields counted by the caller).
 * No fields left: the record is removed.  Returns FL_OK, or FL_ENOMEM (the
 * record unchanged) when it has to grow and no block is to be had; a record
 * that shrinks always succeeds (in its old block if need be). */
static enum fl_status
rewrite(struct fl_ttlmap *m, size_t i, const struct drec *d)
{
    struct rec *r = m->slots[i];
    if (d->fields == 0) {
        remove_at(m, i);
        return FL_OK;
    }
    /* d's strings and the prefix point into r: encode aside first */
    unsigned char scratch[REC_MAX];
    size_t plen = fl_ttlrec_plen(r);
    size_t size = fl_ttlrec_size(plen, d);
    fl_ttlrec_encode(scratch, r->hash, r->data, plen,
                (unsigned)r->plen_fields & PACKED_BIT, d, size);
    struct rec *nr = size == r->size ? NULL : malloc(size);
    if (nr == NULL) {
        if (size > r->size) {
            return FL_ENOMEM;
        }
        /* the same size, or smaller and no new block: in place, the block
         * keeps its size (and its count in m->mem) */
        size_t block = r->size;
        memcpy(r, scratch, size);
        r->size = (uint16_t)block;
        return FL_OK;
    }
    memcpy(nr, scratch, size);
    m->mem = m->mem - r->size + size;
    if (m->fresh == r) {
        m->fresh = nr;
    }
    free(r);
    m->slots[i] = nr;
    return FL_OK;
}

/* Drop one field of the record in slot i. */
static void
drop_field(struct fl_ttlmap *m, size_t i, unsigned f)
{
    struct drec d;
    fl_ttlrec_decode(m->slots[i], &d);
    d.fields &= ~(1u << f);
    m->count--;
    rewrite(m, i, &d);
}

/* Remove every dead field of the record in slot i; returns how many, and
 * whether the whole record went (*gone: slot i now holds another record
 * shifted back, or nothing). */
static size_t
reclaim_rec(struct fl_ttlmap *m, size_t i, int *gone)
{
    struct drec d;
    const struct rec *r = m->slots[i];
    size_t n = 0;
    fl_ttlrec_decode(r, &d);
    for (unsigned f = 0; f < NFIELDS; f++) {
        if ((d.fields & (1u << f)) && is_dead(m, r, f, d.f[f].exp)) {
            d.fields &= ~(1u << f);
            n++;
        }
    }
    *gone = d.fields == 0;
    if (n != 0) {
        m->count -= n;
        rewrite(m, i, &d);
    }
    return n;
}

static size_t
reclaim(struct fl_ttlmap *m)
{
    size_t cap = m->mask + 1;
    size_t start = 0;
    size_t removed = 0;

    if (m->nrec == 0) {
        return 0;
    }
    /* Start just after an empty slot (there is one: load <= 3/4), so no
     * cluster straddles the start of the scan and a backward shift only
     * ever moves a record the scan has not reached yet, or one it already
     * kept, into the slot being looked at. */
    while (m->slots[start] != NULL) {
        start++;
    }
    for (size_t k = 1; k <= cap; k++) {
        size_t i = (start + k) & m->mask;
        int gone = 1;
        while (gone && m->slots[i] != NULL) {
            removed += reclaim_rec(m, i, &gone);
        }
    }
    return removed;
}

/* Rehash into a table of new_cap slots.  FL_ENOMEM leaves m unchanged. */
static enum fl_status
resize(struct fl_ttlmap *m, size_t new_cap)
{
    size_t old_cap = m->mask + 1;
    struct rec **old = m->slots;
    struct rec **ns = calloc(new_cap, sizeof(*ns));
    size_t nmask = new_cap - 1;

    if (ns == NULL) {
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] != NULL) {
            size_t j = (size_t)old[i]->hash & nmask;
            while (ns[j] != NULL) {
                j = (j + 1) & nmask;
            }
            ns[j] = old[i];
        }
    }
    free(old);
    m->slots = ns;
    m->mask = nmask;
    m->mem = m->mem - old_cap * sizeof(*ns) + new_cap * sizeof(*ns);
    return FL_OK;
}

static void
record_sweep(struct fl_ttlmap *m, double now)
{
    m->sweep_time = now;
    m->fresh = NULL;
}

/* ---- planning a set ------------------------------------------------------ */

static void
key_ref(const struct fl_ttlmap *m, const void *key, size_t klen,
        struct keyref *k)
{
    const unsigned char *p = (const unsigned char *)key;
    size_t plen = fl_ttlrec_split_key(p, klen, &k->field);
    k->elen = fl_ttlrec_encode_prefix(p, plen, k->enc, &k->packed);
    k->hash = hash_prefix(m, k->enc, k->elen);
}

/* What a set leaves. */
struct plan {
    int found;     /* the record exists, at slot idx */
    size_t idx;
    struct drec d; /* the record's new contents */
    size_t size;   /* its block size */
    int added;     /* fields added (1 or 0) */
    size_t dropped; /* dead fields dropped */
    size_t new_cap; /* the table grows to this, or 0 */
    size_t total;  /* memory afterwards */
};

/* The field a set stores, from the caller's value (strings must already
 * sit where they stay valid until the record is encoded). */
static void
value_field(const struct fl_ttl_value *val, struct field *out)
{
    out->i = 0;
    out->f = 0.0;
    out->s = NULL;
    out->slen = 0;
    switch (val->kind) {
    case FL_TTL_INT:
        out->kind = K_INT;
        out->i = val->i;
        break;
    case FL_TTL_FLOAT:
        out->kind = K_FLOAT;
        out->f = val->f;
        break;
    default:
        if (fl_ttlrec_parse_decimal(val->s, val->slen, &out->i)) {
            out->kind = K_DEC;
        } else {
            out->kind = K_STR;
            out->s = val->s;
            out->slen = val->slen;
        }
        break;
    }
}

/* Plan a set of field k.field to *val as if a sweep at `now` had just been
 * recorded (fresh = none, sweep_time = now).  Changes nothing. */
static enum fl_status
plan_set(const struct fl_ttlmap *m, const struct keyref *k,
         const struct fl_ttl_value *val, double now, double ttl,
         struct plan *p)
{
    size_t cap = m->mask + 1;
    size_t old = 0;
    unsigned bit = 1u << k->field;

    p->found = find(m, k, &p->idx);
    p->added = 1;
    p->dropped = 0;
    p->new_cap = 0;
    p->d.fields = 0;
    double exp = now + ttl;
    if (p->found) {
        const struct rec *r = m->slots[p->idx];
        old = r->size;
        fl_ttlrec_decode(r, &p->d);
        for (unsigned f = 0; f < NFIELDS; f++) {
            if (!(p->d.fields & (1u << f))) {
                continue;
            }
            if (f == k->field) {
                p->added = 0;
                if (p->d.f[f].exp > now) {
                    exp = p->d.f[f].exp; /* live: the TTL is kept */
                }
            } else if (p->d.f[f].exp <= now) {
                /* dead after the sweep at now */
                p->d.fields &= ~(1u << f);
                p->dropped++;
            }
        }
    }
    value_field(val, &p->d.f[k->field]);
    p->d.f[k->field].exp = exp;
    p->d.fields |= bit;
    p->size = fl_ttlrec_size(k->elen, &p->d);
    if (p->added && m->count - p->dropped >= FL_TTLMAP_MAX_ENTRIES) {
        return FL_EFULL;
    }
    size_t extra = p->size;
    if (!p->found && m->nrec + 1 > cap - cap / 4) {
        if (cap >= MAX_CAPACITY) {
            return FL_EFULL;
        }
        p->new_cap = cap * 2;
        extra += cap * sizeof(struct rec *); /* the table doubles */
    }
    /* m->mem >= old; sizes are far below SIZE_MAX on any host */
    p->total = m->mem - old + extra;
    return FL_OK;
}

/* Carry out a plan after the sweep was recorded. */
static enum fl_status
apply(struct fl_ttlmap *m, const struct keyref *k, struct plan *p)
{
    struct rec *nr;

    if (p->found) {
        enum fl_status st = rewrite(m, p->idx, &p->d);
        if (st != FL_OK) {
            return st;
        }
        nr = m->slots[p->idx];
    } else {
        nr = malloc(p->size);
        if (nr == NULL) {
            return FL_ENOMEM;
        }
        if (p->new_cap != 0) {
            if (resize(m, p->new_cap) != FL_OK) {
                free(nr);
                return FL_ENOMEM;
            }
            (void)find(m, k, &p->idx);
        }
        /* the prefix is the caller's key, strings are in the caller's
         * copy: nothing points into the map */
        fl_ttlrec_encode((unsigned char *)nr, k->hash, k->enc, k->elen, k->packed,
                    &p->d, p->size);
        m->slots[p->idx] = nr;
        m->nrec++;
        m->mem += p->size;
    }
    m->count = m->count + (size_t)p->added - p->dropped;
    m->fresh = nr;
    m->fresh_f = k->field;
    return FL_OK;
}

/* The store half of a set: plan, make room if needed, apply.  The sweep at
 * `now` is already recorded. */
static enum fl_status
store(struct fl_ttlmap *m, const struct keyref *k,
      const struct fl_ttl_value *val, double now, double ttl)
{
    struct plan p;
    enum fl_status st = plan_set(m, k, val, now, ttl, &p);
    if (st != FL_OK || (m->mem_cap != 0 && p.total > m->mem_cap)) {
        /* Make room from dead fields only; the reclaim may move, shrink or
         * remove the record, so plan again. */
        if (reclaim(m) == 0) {
            return st != FL_OK ? st : FL_EFULL;
        }
        st = plan_set(m, k, val, now, ttl, &p);
        if (st == FL_OK && m->mem_cap != 0 && p.total > m->mem_cap) {
            st = FL_EFULL;
        }
    }
    if (st != FL_OK) {
        return st;
    }
    return apply(m, k, &p);
}

static int
value_ok(const struct fl_ttl_value *val)
{
    if (val == NULL) {
        return 0;
    }
    switch (val->kind) {
    case FL_TTL_INT:
    case FL_TTL_FLOAT:
        return 1;
    case FL_TTL_STR:
        return val->slen <= FL_TTLMAP_MAX_STR &&
               (val->s != NULL || val->slen == 0);
    }
    return 0;
}

/* ---- public API ----------------------------------------------------------- */

enum fl_status
fl_ttlmap_new(const unsigned char hash_key[16], size_t mem_cap,
              struct fl_ttlmap **out)
{
    struct fl_ttlmap *m = NULL;
    size_t base = sizeof(struct fl_ttlmap) +
                  (size_t)MIN_CAPACITY * sizeof(struct rec *);

    if (hash_key == NULL || out == NULL || (mem_cap != 0 && mem_cap < base)) {
        return FL_EINVAL;
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        return FL_ENOMEM;
    }
    m->slots = calloc(MIN_CAPACITY, sizeof(struct rec *));
    if (m->slots == NULL) {
        free(m);
        return FL_ENOMEM;
    }
    m->mask = MIN_CAPACITY - 1;
    m->nrec = 0;
    m->count = 0;
    m->mem = base;
    m->mem_cap = mem_cap;
    fl_siphash_key(hash_key, &m->k0, &m->k1);
    m->sweep_time = -INFINITY;
    m->fresh = NULL;
    m->fresh_f = 0;
    *out = m;
    return FL_OK;
}

void
fl_ttlmap_free(struct fl_ttlmap *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i <= m->mask; i++) {
        free(m->slots[i]);
    }
    free(m->slots);
    free(m);
}

int
fl_ttlmap_get(struct fl_ttlmap *m, const void *key, size_t klen,
              double now, struct fl_ttl_value *out, double *exp_out)
{
    size_t i;
    struct drec d;

    if (!key_ok(key, klen) || out == NULL) {
        return -1;
    }
    struct keyref k;
    key_ref(m, key, klen, &k);
    if (!find(m, &k, &i)) {
        return 0;
    }
    const struct rec *r = m->slots[i];
    if (!(fl_ttlrec_fields(r) & (1u << k.field))) {
        return 0;
    }
    fl_ttlrec_decode(r, &d);
    const struct field *f = &d.f[k.field];
    if (is_dead(m, r, k.field, f->exp) || now > f->exp) {
        drop_field(m, i, k.field);
        return 0;
    }
    field_value(m, f, out);
    if (exp_out != NULL) {
        *exp_out = f->exp;
    }
    return 1;
}

enum fl_status
fl_ttlmap_set(struct fl_ttlmap *m, const void *key, size_t klen,
              const struct fl_ttl_value *val, double now, double ttl)
{
    struct fl_ttl_value v;
    unsigned char vcopy[FL_TTLMAP_MAX_STR];

    if (!key_ok(key, klen) || !value_ok(val) || !isfinite(now) ||
        !isfinite(ttl)) {
        return FL_EINVAL;
    }
    v = *val;
    if (v.kind == FL_TTL_STR) {
        /* the caller's bytes may live in this map (a value it got back),
         * which the store may move or free */
        if (v.slen > 0) {
            memcpy(vcopy, v.s, v.slen);
        }
        v.s = vcopy;
    }
    struct keyref k;
    key_ref(m, key, klen, &k);
    record_sweep(m, now);
    return store(m, &k, &v, now, ttl);
}

enum fl_status
fl_ttlmap_set_cost(const struct fl_ttlmap *m, const void *key, size_t klen,
                   const struct fl_ttl_value *val, double now, double ttl,
                   size_t *total)
{
    struct plan p;

    if (!key_ok(key, klen) || !value_ok(val) || !isfinite(now) ||
        !isfinite(ttl) || total == NULL) {
        return FL_EINVAL;
    }
    struct keyref k;
    key_ref(m, key, klen, &k);
    enum fl_status st = plan_set(m, &k, val, now, ttl, &p);
    if (st == FL_OK) {
        *total = p.total;
    }
    return st;
}

enum fl_status
fl_ttlmap_incr_int(struct fl_ttlmap *m, const void *key, size_t klen,
                   int64_t delta, double now, double ttl, int64_t *result)
{
    struct fl_ttl_value val = {FL_TTL_INT, delta, 0.0, NULL, 0};
    struct drec d;
    size_t i;

    if (!key_ok(key, klen) || result == NULL || !isfinite(now) ||
        !isfinite(ttl)) {
        return FL_EINVAL;
    }
    struct keyref k;
    key_ref(m, key, klen, &k);
    if (find(m, &k, &i) &&
        (fl_ttlrec_fields(m->slots[i]) & (1u << k.field))) {
        const struct rec *r = m->slots[i];
        fl_ttlrec_decode(r, &d);
        const struct field *f = &d.f[k.field];
        if (is_dead(m, r, k.field, f->exp) || now > f->exp) {
            drop_field(m, i, k.field); /* what the get half does */
        } else if (f->kind != K_INT) {
            return FL_EAGAIN;
        } else if ((delta > 0 && f->i > INT64_MAX - delta) ||
                   (delta < 0 && f->i < INT64_MIN - delta)) {
            return FL_EAGAIN;
        } else {
            val.i = f->i + delta;
        }
    }
    record_sweep(m, now);
    enum fl_status st = store(m, &k, &val, now, ttl);
    if (st == FL_OK) {
        *result = val.i;
    }
    return st;
}

void
fl_ttlmap_sweep(struct fl_ttlmap *m, double now)
{
    if (isfinite(now)) {
        record_sweep(m, now);
    }
}

int
fl_ttlmap_expiry(const struct fl_ttlmap *m, const void *key, size_t klen,
                 double *exp)
{
    size_t i;
    struct drec d;

    if (!key_ok(key, klen) || exp == NULL) {
        return 0;
    }
    struct keyref k;
    key_ref(m, key, klen, &k);
    if (!find(m, &k, &i)) {
        return 0;
    }
    const struct rec *r = m->slots[i];
    if (!(fl_ttlrec_fields(r) & (1u << k.field))) {
        return 0;
    }
    fl_ttlrec_decode(r, &d);
    if (is_dead(m, r, k.field, d.f[k.field].exp)) {
        return 0;
    }
    *exp = d.f[k.field].exp;
    return 1;
}

int
fl_ttlmap_delete(struct fl_ttlmap *m, const void *key, size_t klen)
{
    size_t i;

    if (!key_ok(key, klen)) {
        return 0;
    }
    struct keyref k;
    key_ref(m, key, klen, &k);
    if (!find(m, &k, &i) ||
        !(fl_ttlrec_fields(m->slots[i]) & (1u << k.field))) {
        return 0;
    }
    drop_field(m, i, k.field);
    return 1;
}

void
fl_ttlmap_clear(struct fl_ttlmap *m)
{
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->slots[i] != NULL) {
            rec_free(m, m->slots[i]);
            m->slots[i] = NULL;
        }
    }
    m->nrec = 0;
    m->count = 0;
}

size_t
fl_ttlmap_reclaim(struct fl_ttlmap *m)
{
    return reclaim(m);
}

size_t
fl_ttlmap_len(const struct fl_ttlmap *m)
{
    return m->count;
}

size_t
fl_ttlmap_memory(const struct fl_ttlmap *m)
{
    return m->mem;
}

size_t
fl_ttlmap_capacity(const struct fl_ttlmap *m)
{
    return m->mask + 1;
}

int
fl_ttlmap_next(struct fl_ttlmap *m, size_t *pos, const unsigned char **key,
               size_t *klen, double *exp, struct fl_ttl_value *val)
{
    struct drec d;
    size_t end = (m->mask + 1) * NFIELDS;

    for (size_t q = *pos; q < end; q++) {
        const struct rec *r = m->slots[q / NFIELDS];
        unsigned f = (unsigned)(q % NFIELDS);
        if (r == NULL) {
            q = q - f + NFIELDS - 1; /* the next slot */
            continue;
        }
        if (!(fl_ttlrec_fields(r) & (1u << f))) {
            continue;
        }
        fl_ttlrec_decode(r, &d);
        if (is_dead(m, r, f, d.f[f].exp)) {
            continue;
        }
        size_t plen = fl_ttlrec_decode_prefix(r->data, fl_ttlrec_plen(r),
                                    (unsigned)r->plen_fields & PACKED_BIT,
                                    m->kbuf);
        size_t slen;
        const char *sfx = fl_ttlrec_suffix(f, &slen);
        memcpy(m->kbuf + plen, sfx, slen);
        *key = m->kbuf;
        *klen = plen + slen;
        *exp = d.f[f].exp;
        field_value(m, &d.f[f], val);
        *pos = q + 1;
        return 1;
    }
    *pos = end;
    return 0;
}
