/* fl_ttlmap.c - see fl_ttlmap.h for the contract.
 *
 * Records.  A key is split into a prefix and a field: a key that ends in
 * one of SUFFIX[1..] (and is longer than it) is field f of the record of
 * the rest; any other key is field 0 of the record of the whole key.  So
 * "{api_key:k}:window", ":requests" and ":tokens" share the record of
 * "{api_key:k}", and that record's field 0 is the key "{api_key:k}"
 * itself.  A record is one malloc'd block:
 *
 *   head   hash (low 32 bits of the stored prefix's SipHash-2-4), stored
 *          prefix length, the bitmask of fields present and the hex-packed
 *          flag (one uint16), block size
 *   data   the stored prefix (the prefix, or with its longest run of 16 or
 *          more lowercase hex digits two digits a byte: a hashed API key's
 *          64 digits take 32 bytes; see encode_prefix), then each present
 *          field in field order:
 *            tag     kind (int, double, string, decimal string),
 *                    the int's width, the expiry's width
 *            value   int / decimal string: 1, 2, 4 or 8 bytes (the
 *                    narrowest two's complement form); double: 8 bytes;
 *                    string: a 2-byte length and the bytes
 *            expiry  the first field's as a double; a later field's as the
 *                    difference of its bit pattern from the previous
 *                    field's expiry, in 1, 2 or 4 bytes when it fits, else
 *                    the double (exact for every double, inf included)
 *
 * A decimal string is a string value that is the canonical form of an
 * int64 ("0", "-12", never "012", "-0", "+1"), kept as the int and written
 * back in the same form, so the bytes given back are the bytes stored.
 *
 * A record is rewritten as a whole (decode, change, encode into a buffer on
 * the stack, copy back or into a new block when the size changed):
 * records are small and the limiter touches one or two fields at a time.
 * A set also drops the record's other fields that its sweep made dead (no
 * observable difference: they are absent everywhere).
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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 16u
#define MAX_CAPACITY ((size_t)1 << 31)
#define NFIELDS 4u

static const struct {
    const char *s;
    size_t len;
} SUFFIX[NFIELDS] = {
    {"", 0},
    {":window", 7},
    {":requests", 9},
    {":tokens", 7},
};

/* The head's uint16: the stored prefix's length (11 bits: a prefix of at
 * most FL_TTLMAP_MAX_KEY bytes, plus HEX_HEAD when packed), the fields
 * present (4 bits) and whether the prefix is hex-packed (the top bit). */
#define PLEN_BITS 11u
#define PLEN_MASK ((1u << PLEN_BITS) - 1u)
#define FIELD_MASK (((1u << NFIELDS) - 1u) << PLEN_BITS)
#define PACKED_BIT 0x8000u
/* Hex packing: the longest run of lowercase hex digits (the first of the
 * longest), when at least HEX_MIN_RUN long, is stored two digits a byte;
 * the stored prefix is then: the run's offset and its packed byte count
 * (uint16 each), the bytes before the run, the packed digits (an even
 * number of them; an odd last digit stays a plain byte), the bytes after. */
#define HEX_MIN_RUN 16u
#define HEX_HEAD 4u
#define ENC_MAX (FL_TTLMAP_MAX_KEY + HEX_HEAD)
_Static_assert(ENC_MAX <= PLEN_MASK, "stored prefix length fits");
_Static_assert(NFIELDS <= 16u - PLEN_BITS - 1u, "field bits fit");

struct rec {
    uint32_t hash;
    uint16_t plen_fields; /* stored prefix length | fields | PACKED_BIT */
    uint16_t size;        /* bytes of the whole block */
    unsigned char data[]; /* prefix, then the fields */
};

#define REC_HEAD offsetof(struct rec, data)
/* the largest record: every field a string of the longest length */
#define REC_MAX                                                             \
    (REC_HEAD + ENC_MAX + NFIELDS * (1u + 2u + FL_TTLMAP_MAX_STR + 8u))
_Static_assert(REC_MAX <= UINT16_MAX, "record size fits");

/* the tag byte */
enum { K_INT = 0, K_FLOAT = 1, K_STR = 2, K_DEC = 3 };
#define TAG(kind, iw, ew) ((unsigned char)((kind) | (iw) << 2 | (ew) << 4))
#define TAG_KIND(t) ((unsigned)(t) & 3u)
#define TAG_IW(t) (((unsigned)(t) >> 2) & 3u)
#define TAG_EW(t) (((unsigned)(t) >> 4) & 3u)

/* a decoded field; `s` points into the record, the scratch copy of a
 * caller's string, or nowhere */
struct field {
    unsigned kind;
    int64_t i;
    double f;
    const unsigned char *s;
    size_t slen;
    double exp;
};

/* a decoded record */
struct drec {
    unsigned fields;
    struct field f[NFIELDS];
};

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

/* ---- keys --------------------------------------------------------------- */

static inline int
key_ok(const void *key, size_t klen)
{
    return key != NULL && klen >= 1 && klen <= FL_TTLMAP_MAX_KEY;
}

/* The prefix length and field of a key. */
static inline size_t
split_key(const unsigned char *key, size_t klen, unsigned *field)
{
    for (unsigned f = 1; f < NFIELDS; f++) {
        size_t n = SUFFIX[f].len;
        if (klen > n && memcmp(key + klen - n, SUFFIX[f].s, n) == 0) {
            *field = f;
            return klen - n;
        }
    }
    *field = 0;
    return klen;
}

static inline size_t
rec_plen(const struct rec *r)
{
    return r->plen_fields & PLEN_MASK;
}

static inline unsigned
rec_fields(const struct rec *r)
{
    return ((unsigned)r->plen_fields & FIELD_MASK) >> PLEN_BITS;
}

static inline int
hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Store the prefix p (n bytes) into out (ENC_MAX bytes): returns the
 * stored length, *packed whether it is hex-packed.  The form is a function
 * of the prefix alone, so equal prefixes store equal bytes. */
static size_t
encode_prefix(const unsigned char *p, size_t n, unsigned char *out,
              unsigned *packed)
{
    size_t best = 0, best_len = 0, run = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && hex_digit(p[i]) >= 0) {
            run++;
            continue;
        }
        if (run > best_len) {
            best_len = run;
            best = i - run;
        }
        run = 0;
    }
    if (best_len < HEX_MIN_RUN) {
        *packed = 0;
        memcpy(out, p, n);
        return n;
    }
    uint16_t pos = (uint16_t)best, npk = (uint16_t)(best_len / 2);
    unsigned char *q = out;
    memcpy(q, &pos, 2);
    memcpy(q + 2, &npk, 2);
    q += HEX_HEAD;
    memcpy(q, p, best);
    q += best;
    for (size_t j = 0; j < npk; j++) {
        *q++ = (unsigned char)(hex_digit(p[best + 2 * j]) << 4 |
                               hex_digit(p[best + 2 * j + 1]));
    }
    size_t after = best + 2u * npk;
    memcpy(q, p + after, n - after);
    *packed = 1;
    return HEX_HEAD + n - npk;
}

/* The prefix back from its stored form; returns its length. */
static size_t
decode_prefix(const unsigned char *e, size_t elen, unsigned packed,
              unsigned char *out)
{
    static const char HEX[] = "0123456789abcdef";
    if (!packed) {
        memcpy(out, e, elen);
        return elen;
    }
    uint16_t pos, npk;
    memcpy(&pos, e, 2);
    memcpy(&npk, e + 2, 2);
    const unsigned char *q = e + HEX_HEAD;
    unsigned char *o = out;
    memcpy(o, q, pos);
    o += pos;
    q += pos;
    for (size_t j = 0; j < npk; j++) {
        *o++ = (unsigned char)HEX[q[j] >> 4];
        *o++ = (unsigned char)HEX[q[j] & 15];
    }
    q += npk;
    size_t rest = elen - HEX_HEAD - pos - npk;
    memcpy(o, q, rest);
    return (size_t)(o - out) + rest;
}

/* ---- the field codec ---------------------------------------------------- */

static inline uint64_t
dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static inline double
bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

/* width code (0..3 -> 1, 2, 4, 8 bytes) of the narrowest form of v */
static inline unsigned
int_width(int64_t v)
{
    if (v >= INT8_MIN && v <= INT8_MAX) {
        return 0;
    }
    if (v >= INT16_MIN && v <= INT16_MAX) {
        return 1;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        return 2;
    }
    return 3;
}

static inline size_t
width_bytes(unsigned w)
{
    return (size_t)1 << w;
}

static inline unsigned char *
put_int(unsigned char *p, int64_t v, unsigned w)
{
    switch (w) {
    case 0: {
        int8_t x = (int8_t)v;
        memcpy(p, &x, 1);
        break;
    }
    case 1: {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case 2: {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    default:
        memcpy(p, &v, 8);
        break;
    }
    return p + width_bytes(w);
}

static inline const unsigned char *
get_int(const unsigned char *p, unsigned w, int64_t *v)
{
    switch (w) {
    case 0: {
        int8_t x;
        memcpy(&x, p, 1);
        *v = x;
        break;
    }
    case 1: {
        int16_t x;
        memcpy(&x, p, 2);
        *v = x;
        break;
    }
    case 2: {
        int32_t x;
        memcpy(&x, p, 4);
        *v = x;
        break;
    }
    default:
        memcpy(v, p, 8);
        break;
    }
    return p + width_bytes(w);
}

/* the expiry's width code: 0 a full double, 1..3 a difference of 1, 2, 4
 * bytes from prev's bit pattern; first: no previous field */
static inline unsigned
exp_width(double exp, double prev, int first, int64_t *delta)
{
    if (first) {
        return 0;
    }
    *delta = (int64_t)(dbits(exp) - dbits(prev));
    unsigned w = int_width(*delta);
    return w == 3 ? 0 : w + 1;
}

static size_t
field_size(const struct field *f, double prev, int first)
{
    int64_t d = 0;
    size_t n = 1;
    switch (f->kind) {
    case K_INT:
    case K_DEC:
        n += width_bytes(int_width(f->i));
        break;
    case K_FLOAT:
        n += 8;
        break;
    default:
        n += 2 + f->slen;
        break;
    }
    unsigned ew = exp_width(f->exp, prev, first, &d);
    return n + (ew == 0 ? 8 : width_bytes(ew - 1));
}

static unsigned char *
field_put(unsigned char *p, const struct field *f, double prev, int first)
{
    int64_t d = 0;
    unsigned ew = exp_width(f->exp, prev, first, &d);
    unsigned iw = 0;
    if (f->kind == K_INT || f->kind == K_DEC) {
        iw = int_width(f->i);
    }
    *p++ = TAG(f->kind, iw, ew);
    switch (f->kind) {
    case K_INT:
    case K_DEC:
        p = put_int(p, f->i, iw);
        break;
    case K_FLOAT:
        memcpy(p, &f->f, 8);
        p += 8;
        break;
    default: {
        uint16_t n = (uint16_t)f->slen;
        memcpy(p, &n, 2);
        p += 2;
        if (f->slen > 0) {
            memcpy(p, f->s, f->slen);
        }
        p += f->slen;
        break;
    }
    }
    if (ew == 0) {
        memcpy(p, &f->exp, 8);
        return p + 8;
    }
    return put_int(p, d, ew - 1);
}

static const unsigned char *
field_get(const unsigned char *p, struct field *f, double prev)
{
    unsigned t = *p++;
    f->kind = TAG_KIND(t);
    f->i = 0;
    f->f = 0.0;
    f->s = NULL;
    f->slen = 0;
    switch (f->kind) {
    case K_INT:
    case K_DEC:
        p = get_int(p, TAG_IW(t), &f->i);
        break;
    case K_FLOAT:
        memcpy(&f->f, p, 8);
        p += 8;
        break;
    default: {
        uint16_t n;
        memcpy(&n, p, 2);
        p += 2;
        f->s = p;
        f->slen = n;
        p += n;
        break;
    }
    }
    unsigned ew = TAG_EW(t);
    if (ew == 0) {
        memcpy(&f->exp, p, 8);
        return p + 8;
    }
    int64_t d;
    p = get_int(p, ew - 1, &d);
    f->exp = bitsd(dbits(prev) + (uint64_t)d);
    return p;
}

static void
rec_decode(const struct rec *r, struct drec *d)
{
    const unsigned char *p = r->data + rec_plen(r);
    double prev = 0.0;
    d->fields = rec_fields(r);
    for (unsigned f = 0; f < NFIELDS; f++) {
        if (d->fields & (1u << f)) {
            p = field_get(p, &d->f[f], prev);
            prev = d->f[f].exp;
        }
    }
}

/* the block size of a record of prefix length plen holding d */
static size_t
drec_size(size_t plen, const struct drec *d)
{
    size_t n = REC_HEAD + plen;
    double prev = 0.0;
    int first = 1;
    for (unsigned f = 0; f < NFIELDS; f++) {
        if (d->fields & (1u << f)) {
            n += field_size(&d->f[f], prev, first);
            prev = d->f[f].exp;
            first = 0;
        }
    }
    return n;
}

/* Encode a whole record into out (size bytes).  `prefix` may point into
 * another record; out must not overlap it or d's strings. */
static void
drec_encode(unsigned char *out, uint32_t hash, const unsigned char *prefix,
            size_t plen, unsigned packed, const struct drec *d, size_t size)
{
    struct rec head;
    unsigned char *p = out + REC_HEAD;
    double prev = 0.0;
    int first = 1;

    head.hash = hash;
    head.plen_fields = (uint16_t)(plen | d->fields << PLEN_BITS |
                                  (packed ? PACKED_BIT : 0u));
    head.size = (uint16_t)size;
    memcpy(out, &head, REC_HEAD);
    memcpy(p, prefix, plen);
    p += plen;
    for (unsigned f = 0; f < NFIELDS; f++) {
        if (d->fields & (1u << f)) {
            p = field_put(p, &d->f[f], prev, first);
            prev = d->f[f].exp;
            first = 0;
        }
    }
}

/* A string that is the canonical decimal form of an int64: *v. */
static int
parse_decimal(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    uint64_t acc = 0;
    uint64_t limit = (uint64_t)INT64_MAX;

    if (n == 0 || n > 20) {
        return 0;
    }
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        limit = (uint64_t)INT64_MAX + 1u;
        if (n == 1) {
            return 0;
        }
    }
    if (s[i] == '0' && (n - i > 1 || neg)) {
        return 0; /* "012", "-0" */
    }
    for (; i < n; i++) {
        unsigned dgt = (unsigned)s[i] - '0';
        if (dgt > 9 || acc > (limit - dgt) / 10) {
            return 0;
        }
        acc = acc * 10 + dgt;
    }
    if (neg) {
        *v = acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc;
    } else {
        *v = (int64_t)acc;
    }
    return 1;
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
    size_t plen = rec_plen(r);
    size_t size = drec_size(plen, d);
    drec_encode(scratch, r->hash, r->data, plen,
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
    rec_decode(m->slots[i], &d);
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
    rec_decode(r, &d);
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
    size_t plen = split_key(p, klen, &k->field);
    k->elen = encode_prefix(p, plen, k->enc, &k->packed);
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
        if (parse_decimal(val->s, val->slen, &out->i)) {
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
        rec_decode(r, &p->d);
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
    p->size = drec_size(k->elen, &p->d);
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
        drec_encode((unsigned char *)nr, k->hash, k->enc, k->elen, k->packed,
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
    if (!(rec_fields(r) & (1u << k.field))) {
        return 0;
    }
    rec_decode(r, &d);
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
        (rec_fields(m->slots[i]) & (1u << k.field))) {
        const struct rec *r = m->slots[i];
        rec_decode(r, &d);
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
    if (!(rec_fields(r) & (1u << k.field))) {
        return 0;
    }
    rec_decode(r, &d);
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
        !(rec_fields(m->slots[i]) & (1u << k.field))) {
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
        if (!(rec_fields(r) & (1u << f))) {
            continue;
        }
        rec_decode(r, &d);
        if (is_dead(m, r, f, d.f[f].exp)) {
            continue;
        }
        size_t plen = decode_prefix(r->data, rec_plen(r),
                                    (unsigned)r->plen_fields & PACKED_BIT,
                                    m->kbuf);
        memcpy(m->kbuf + plen, SUFFIX[f].s, SUFFIX[f].len);
        *key = m->kbuf;
        *klen = plen + SUFFIX[f].len;
        *exp = d.f[f].exp;
        field_value(m, &d.f[f], val);
        *pos = q + 1;
        return 1;
    }
    *pos = end;
    return 0;
}
