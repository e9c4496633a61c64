/* fl_ttlmap.c - see fl_ttlmap.h for the contract.
 *
 * Layout.  One array of slots (open addressing, linear probing from
 * hash & mask, backward-shift deletion, so there are no tombstones), a
 * power-of-two capacity of at least 16 slots, grown x2 to keep
 * count <= 3/4 of the capacity; it never shrinks.  A slot is empty when
 * its blob pointer is NULL.  An entry's key, and its value when that is a
 * string, live in a heap blob of BLOB_HEAD + klen + slen bytes; an int or
 * double value lives in the slot.  A slot is 40 bytes on 64-bit hosts:
 *
 *   hash       SipHash-2-4 of the key under the map's hash key
 *   exp        expiry (a double on the caller's clock; may be +-inf when
 *              now + ttl overflows: such an entry simply never expires, or
 *              is always expired; both are valid doubles to compare)
 *   v          the int64 or double value (unused for strings)
 *   blob       key bytes then string value bytes; NULL: empty slot
 *   seq_kind   seq << 8 | kind: the sweep sequence number of the set that
 *              stored the entry, and its fl_ttl_kind
 *
 * Sequence numbers are below SEQ_LIMIT (2^56 - 1, so seq << 8 fits in 64
 * bits).  When the map's sweep counter reaches it, every entry's seq is
 * renumbered to 0 or 1 and the counter restarts (renumber_seqs): that keeps
 * each entry's dead/alive state exactly.  At 10^7 sets a second that
 * happens once in two centuries; tests may define FL_TTLMAP_SEQ_LIMIT
 * smaller to exercise it.
 *
 * Sweeps.  The map remembers only the latest sweep (sweep_time, sweep_seq).
 * An entry is dead iff seq < sweep_seq && exp <= sweep_time (is_dead).  A
 * set at `now` first records a sweep (sweep_seq += 1, sweep_time = now),
 * so right after it an entry that was already present is dead iff
 * exp <= now.  The set then stores, following this truth table:
 *
 *   entry for the key        exp after the set       seq after the set
 *   ---------------------    --------------------    ------------------
 *   none                     now + ttl               sweep_seq
 *   present, exp <= now      now + ttl (was gone)    sweep_seq
 *   present, exp >  now      unchanged (no extend)   sweep_seq
 *
 * (Updating seq for a kept expiry changes nothing observable: the entry
 * survived this sweep, and any later sweep has a larger sequence number
 * than either value.)  The value and its kind are replaced in every row.
 *
 * Get: an entry that is dead, or has now > exp, is removed and reported as
 * absent; otherwise it is returned (so exp == now is still found: a get
 * uses now > exp, a sweep exp <= now, as LiteLLM does).  A NaN `now` passed
 * to get compares false, so the entry is returned, as in LiteLLM.  A sweep
 * recorded with a non-finite `now` is ignored (a NaN sweep time would
 * bring entries killed by earlier sweeps back to life; set rejects such a
 * `now` with FL_EINVAL for the same reason).
 *
 * Memory.  m->mem is always sizeof(struct fl_ttlmap) + capacity *
 * sizeof(struct slot) + the sum of every blob's requested size.  With
 * mem_cap > 0 a set computes the total it would reach; if that is over the
 * cap it removes every dead entry (reclaim), looks the key up again (the
 * reclaim may have moved or removed it) and recomputes; still over the cap
 * -> FL_EFULL.  A table size that cannot be represented is reported as
 * FL_ENOMEM (it could not be allocated; unreachable on 64-bit hosts given
 * FL_TTLMAP_MAX_ENTRIES); more than FL_TTLMAP_MAX_ENTRIES entries as
 * FL_EFULL.
 *
 * A string value passed to fl_ttlmap_set may be the key's own current
 * value (as returned by fl_ttlmap_get); it must not point into another
 * entry's blob, which the set's reclaim may free.
 */
#include "fl_ttlmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 16u
#define KIND_BITS 8u
#define KIND_MASK ((uint64_t)0xff)
#ifndef FL_TTLMAP_SEQ_LIMIT
#define FL_TTLMAP_SEQ_LIMIT ((UINT64_C(1) << 56) - 1)
#endif
#define SEQ_LIMIT ((uint64_t)(FL_TTLMAP_SEQ_LIMIT))

struct blob {
    uint32_t klen;
    uint32_t slen;
    unsigned char data[]; /* klen key bytes, then slen string bytes */
};

#define BLOB_HEAD offsetof(struct blob, data)

union slot_value {
    int64_t i;
    double f;
};

struct slot {
    uint64_t hash;
    double exp;
    union slot_value v;
    struct blob *blob;  /* NULL: empty slot */
    uint64_t seq_kind;  /* seq << KIND_BITS | kind */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct slot) == 40,
               "a slot is 40 bytes on 64-bit hosts");

struct fl_ttlmap {
    struct slot *slots;
    size_t mask;        /* capacity - 1; capacity is a power of two */
    size_t count;       /* entries held, dead ones included */
    size_t mem;         /* bytes allocated: struct + table + blobs */
    size_t mem_cap;     /* 0: no cap */
    uint64_t k0, k1;    /* the SipHash key */
    double sweep_time;  /* time of the latest sweep */
    uint64_t sweep_seq; /* its sequence number; entries set since carry it */
};

/* ---- SipHash-2-4 ------------------------------------------------------ */

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

static uint64_t
siphash24(uint64_t k0, uint64_t k1, const unsigned char *p, size_t len)
{
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
    return siphash24(load64_le(key), load64_le(key + 8),
                     (const unsigned char *)data, len);
}

/* ---- slots ------------------------------------------------------------ */

static inline uint64_t
slot_seq(const struct slot *s)
{
    return s->seq_kind >> KIND_BITS;
}

static inline enum fl_ttl_kind
slot_kind(const struct slot *s)
{
    return (enum fl_ttl_kind)(s->seq_kind & KIND_MASK);
}

static inline size_t
blob_size(const struct blob *b)
{
    return BLOB_HEAD + (size_t)b->klen + (size_t)b->slen;
}

static inline int
is_dead(const struct fl_ttlmap *m, const struct slot *s)
{
    return slot_seq(s) < m->sweep_seq && s->exp <= m->sweep_time;
}

static inline int
key_ok(const void *key, size_t klen)
{
    return key != NULL && klen >= 1 && klen <= FL_TTLMAP_MAX_KEY;
}

/* Probe for `key` (hash h).  Returns 1 with *idx = its slot, or 0 with
 * *idx = the empty slot where it would be inserted. */
static int
find(const struct fl_ttlmap *m, const unsigned char *key, size_t klen,
     uint64_t h, size_t *idx)
{
    size_t i = (size_t)h & m->mask;
    for (;;) {
        const struct slot *s = &m->slots[i];
        if (s->blob == NULL) {
            *idx = i;
            return 0;
        }
        if (s->hash == h && s->blob->klen == klen &&
            memcmp(s->blob->data, key, klen) == 0) {
            *idx = i;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
}

/* Remove the entry in slot i, shifting the rest of its cluster back so
 * that every entry stays reachable from its home slot. */
static void
remove_at(struct fl_ttlmap *m, size_t i)
{
    struct slot *slots = m->slots;
    size_t mask = m->mask;
    size_t j = i;

    m->mem -= blob_size(slots[i].blob);
    free(slots[i].blob);
    m->count--;
    for (;;) {
        j = (j + 1) & mask;
        if (slots[j].blob == NULL) {
            break;
        }
        size_t home = (size_t)slots[j].hash & mask;
        /* The entry at j may move to the hole at i iff i lies on its probe
         * path, i.e. cyclically within [home, j). */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i].blob = NULL;
}

static size_t
reclaim(struct fl_ttlmap *m)
{
    size_t cap = m->mask + 1;
    size_t start = 0;
    size_t removed = 0;

    if (m->count == 0) {
        return 0;
    }
    /* Start just after an empty slot (there is one: load <= 3/4), so no
     * cluster straddles the start of the scan and a backward shift only
     * ever moves an entry the scan has not reached yet, or one it already
     * kept, into the slot being looked at. */
    while (m->slots[start].blob != NULL) {
        start++;
    }
    for (size_t k = 1; k <= cap; k++) {
        size_t i = (start + k) & m->mask;
        while (m->slots[i].blob != NULL && is_dead(m, &m->slots[i])) {
            remove_at(m, i);
            removed++;
        }
    }
    return removed;
}

/* Renumber seqs so that sweep_seq can restart at 1: the entries stored at
 * the latest sweep get 1, the others 0.  is_dead gives the same answer for
 * every entry before and after. */
static void
renumber_seqs(struct fl_ttlmap *m)
{
    for (size_t i = 0; i <= m->mask; i++) {
        struct slot *s = &m->slots[i];
        if (s->blob != NULL) {
            uint64_t seq = slot_seq(s) == m->sweep_seq ? 1 : 0;
            s->seq_kind = seq << KIND_BITS | (s->seq_kind & KIND_MASK);
        }
    }
    m->sweep_seq = 1;
}

static void
record_sweep(struct fl_ttlmap *m, double now)
{
    if (m->sweep_seq >= SEQ_LIMIT) {
        renumber_seqs(m);
    }
    m->sweep_seq++;
    m->sweep_time = now;
}

/* Rehash into a table of new_cap slots (a power of two, able to hold
 * count entries below the load limit).  FL_ENOMEM leaves m unchanged. */
static enum fl_status
resize(struct fl_ttlmap *m, size_t new_cap)
{
    size_t old_cap = m->mask + 1;
    struct slot *old = m->slots;
    /* calloc: all-bits-zero is a NULL blob pointer on every host we
     * support, so the new table starts empty */
    struct slot *ns = calloc(new_cap, sizeof(struct slot));
    size_t new_mask = new_cap - 1;

    if (ns == NULL) {
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].blob != NULL) {
            size_t j = (size_t)old[i].hash & new_mask;
            while (ns[j].blob != NULL) {
                j = (j + 1) & new_mask;
            }
            ns[j] = old[i];
        }
    }
    free(old);
    m->slots = ns;
    m->mask = new_mask;
    m->mem = m->mem - old_cap * sizeof(struct slot) +
             new_cap * sizeof(struct slot);
    return FL_OK;
}

/* ---- public API ------------------------------------------------------- */

enum fl_status
fl_ttlmap_new(const unsigned char hash_key[16], size_t mem_cap,
              struct fl_ttlmap **out)
{
    struct fl_ttlmap *m = NULL;
    size_t base = sizeof(struct fl_ttlmap) +
                  (size_t)MIN_CAPACITY * sizeof(struct slot);

    if (hash_key == NULL || out == NULL || (mem_cap != 0 && mem_cap < base)) {
        return FL_EINVAL;
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        return FL_ENOMEM;
    }
    m->slots = calloc(MIN_CAPACITY, sizeof(struct slot));
    if (m->slots == NULL) {
        free(m);
        return FL_ENOMEM;
    }
    m->mask = MIN_CAPACITY - 1;
    m->count = 0;
    m->mem = base;
    m->mem_cap = mem_cap;
    m->k0 = load64_le(hash_key);
    m->k1 = load64_le(hash_key + 8);
    m->sweep_time = -INFINITY;
    m->sweep_seq = 0;
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
        free(m->slots[i].blob);
    }
    free(m->slots);
    free(m);
}

static void
fill_value(const struct slot *s, struct fl_ttl_value *out)
{
    out->kind = slot_kind(s);
    out->i = 0;
    out->f = 0.0;
    out->s = NULL;
    out->slen = 0;
    switch (out->kind) {
    case FL_TTL_INT:
        out->i = s->v.i;
        break;
    case FL_TTL_FLOAT:
        out->f = s->v.f;
        break;
    case FL_TTL_STR:
        out->s = s->blob->data + s->blob->klen;
        out->slen = s->blob->slen;
        break;
    }
}

int
fl_ttlmap_get(struct fl_ttlmap *m, const void *key, size_t klen,
              double now, struct fl_ttl_value *out, double *exp_out)
{
    size_t i;

    if (!key_ok(key, klen) || out == NULL) {
        return -1;
    }
    uint64_t h = siphash24(m->k0, m->k1, key, klen);
    if (!find(m, key, klen, h, &i)) {
        return 0;
    }
    const struct slot *s = &m->slots[i];
    if (is_dead(m, s) || now > s->exp) {
        remove_at(m, i);
        return 0;
    }
    fill_value(s, out);
    if (exp_out != NULL) {
        *exp_out = s->exp;
    }
    return 1;
}

/* The total m->mem would reach by storing a blob of bsize bytes for the
 * key, given find()'s answer; *new_cap: the capacity to grow to, or 0.
 * Returns FL_OK, FL_EFULL (entry limit) or FL_ENOMEM (size overflow). */
static enum fl_status
needed_memory(const struct fl_ttlmap *m, int found, size_t i, size_t bsize,
              size_t *total, size_t *new_cap)
{
    size_t cap = m->mask + 1;

    *new_cap = 0;
    if (found) {
        /* bsize <= BLOB_HEAD + MAX_KEY + MAX_STR, well below m->mem */
        *total = m->mem - blob_size(m->slots[i].blob) + bsize;
        return FL_OK;
    }
    if (m->count >= FL_TTLMAP_MAX_ENTRIES) {
        return FL_EFULL;
    }
    size_t extra = bsize;
    if (m->count + 1 > cap - cap / 4) {
        if (cap > SIZE_MAX / 2 / sizeof(struct slot)) {
            return FL_ENOMEM;
        }
        *new_cap = cap * 2;
        if (extra > SIZE_MAX - cap * sizeof(struct slot)) {
            return FL_ENOMEM;
        }
        extra += cap * sizeof(struct slot); /* the table doubles */
    }
    if (extra > SIZE_MAX - m->mem) {
        return FL_ENOMEM;
    }
    *total = m->mem + extra;
    return FL_OK;
}

/* The store half of a set, after the sweep at `now` was recorded. */
static enum fl_status
store(struct fl_ttlmap *m, const unsigned char *key, size_t klen, uint64_t h,
      const struct fl_ttl_value *val, double now, double ttl)
{
    size_t slen = val->kind == FL_TTL_STR ? val->slen : 0;
    size_t bsize = BLOB_HEAD + klen + slen;
    size_t i, total, new_cap;
    int found;
    enum fl_status st;
    struct blob *b, *old = NULL;
    struct slot *s;

    found = find(m, key, klen, h, &i);
    st = needed_memory(m, found, i, bsize, &total, &new_cap);
    if (st != FL_OK || (m->mem_cap != 0 && total > m->mem_cap)) {
        /* Make room from dead entries only; the reclaim may move or remove
         * the key's slot, so look it up again. */
        if (reclaim(m) == 0) {
            return st != FL_OK ? st : FL_EFULL;
        }
        found = find(m, key, klen, h, &i);
        st = needed_memory(m, found, i, bsize, &total, &new_cap);
        if (st == FL_OK && m->mem_cap != 0 && total > m->mem_cap) {
            st = FL_EFULL;
        }
    }
    if (st != FL_OK) {
        return st;
    }

    if (found) {
        s = &m->slots[i];
        b = s->blob;
        if (blob_size(b) != bsize) {
            struct blob *nb = malloc(bsize);
            if (nb == NULL) {
                return FL_ENOMEM;
            }
            nb->klen = (uint32_t)klen;
            memcpy(nb->data, key, klen);
            m->mem = m->mem - blob_size(b) + bsize;
            old = b; /* freed below, after the value is copied */
            s->blob = b = nb;
        }
        if (!(s->exp > now)) {
            /* swept just now (exp <= now): the key was gone */
            s->exp = now + ttl;
        }
    } else {
        b = malloc(bsize);
        if (b == NULL) {
            return FL_ENOMEM;
        }
        if (new_cap != 0) {
            if (resize(m, new_cap) != FL_OK) {
                free(b);
                return FL_ENOMEM;
            }
            (void)find(m, key, klen, h, &i); /* the new insertion slot */
        }
        b->klen = (uint32_t)klen;
        memcpy(b->data, key, klen);
        s = &m->slots[i];
        s->hash = h;
        s->blob = b;
        s->exp = now + ttl;
        m->count++;
        m->mem += bsize;
    }
    /* The value.  memmove, and `old` freed only now: a caller's string may
     * be this key's own current value (in place, or in the old blob). */
    b->slen = (uint32_t)slen;
    if (slen > 0) {
        memmove(b->data + klen, val->s, slen);
    }
    free(old);
    s->v.i = 0;
    if (val->kind == FL_TTL_INT) {
        s->v.i = val->i;
    } else if (val->kind == FL_TTL_FLOAT) {
        s->v.f = val->f;
    }
    s->seq_kind = m->sweep_seq << KIND_BITS | (uint64_t)val->kind;
    return FL_OK;
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

enum fl_status
fl_ttlmap_set(struct fl_ttlmap *m, const void *key, size_t klen,
              const struct fl_ttl_value *val, double now, double ttl)
{
    if (!key_ok(key, klen) || !value_ok(val) || !isfinite(now) ||
        !isfinite(ttl)) {
        return FL_EINVAL;
    }
    uint64_t h = siphash24(m->k0, m->k1, key, klen);
    record_sweep(m, now);
    return store(m, key, klen, h, val, now, ttl);
}

enum fl_status
fl_ttlmap_incr_int(struct fl_ttlmap *m, const void *key, size_t klen,
                   int64_t delta, double now, double ttl, int64_t *result)
{
    struct fl_ttl_value val = {FL_TTL_INT, delta, 0.0, NULL, 0};
    size_t i;

    if (!key_ok(key, klen) || result == NULL || !isfinite(now) ||
        !isfinite(ttl)) {
        return FL_EINVAL;
    }
    uint64_t h = siphash24(m->k0, m->k1, key, klen);
    if (find(m, key, klen, h, &i)) {
        const struct slot *s = &m->slots[i];
        if (is_dead(m, s) || now > s->exp) {
            remove_at(m, i); /* what the get half does */
        } else if (slot_kind(s) != FL_TTL_INT) {
            return FL_EAGAIN;
        } else if ((delta > 0 && s->v.i > INT64_MAX - delta) ||
                   (delta < 0 && s->v.i < INT64_MIN - delta)) {
            return FL_EAGAIN;
        } else {
            val.i = s->v.i + delta;
        }
    }
    record_sweep(m, now);
    enum fl_status st = store(m, key, klen, h, &val, now, ttl);
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

    if (!key_ok(key, klen) || exp == NULL) {
        return 0;
    }
    uint64_t h = siphash24(m->k0, m->k1, key, klen);
    if (!find(m, key, klen, h, &i) || is_dead(m, &m->slots[i])) {
        return 0;
    }
    *exp = m->slots[i].exp;
    return 1;
}

int
fl_ttlmap_delete(struct fl_ttlmap *m, const void *key, size_t klen)
{
    size_t i;

    if (!key_ok(key, klen)) {
        return 0;
    }
    uint64_t h = siphash24(m->k0, m->k1, key, klen);
    if (!find(m, key, klen, h, &i)) {
        return 0;
    }
    remove_at(m, i);
    return 1;
}

void
fl_ttlmap_clear(struct fl_ttlmap *m)
{
    for (size_t i = 0; i <= m->mask; i++) {
        struct blob *b = m->slots[i].blob;
        if (b != NULL) {
            m->mem -= blob_size(b);
            free(b);
            m->slots[i].blob = NULL;
        }
    }
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

int
fl_ttlmap_next(const struct fl_ttlmap *m, size_t *pos,
               const unsigned char **key, size_t *klen, double *exp,
               struct fl_ttl_value *val)
{
    for (size_t i = *pos; i <= m->mask; i++) {
        const struct slot *s = &m->slots[i];
        if (s->blob == NULL || is_dead(m, s)) {
            continue;
        }
        *key = s->blob->data;
        *klen = s->blob->klen;
        *exp = s->exp;
        fill_value(s, val);
        *pos = i + 1;
        return 1;
    }
    *pos = m->mask + 1;
    return 0;
}
