/* fl_ttlrec.c - see fl_ttlrec.h. */
#include "fl_ttlrec.h"

#include <string.h>

static const struct {
    const char *s;
    size_t len;
} SUFFIX[NFIELDS] = {
    {"", 0},
    {":window", 7},
    {":requests", 9},
    {":tokens", 7},
};


const char *
fl_ttlrec_suffix(unsigned f, size_t *len)
{
    *len = SUFFIX[f].len;
    return SUFFIX[f].s;
}



/* The prefix length and field of a key. */
size_t
fl_ttlrec_split_key(const unsigned char *key, size_t klen, unsigned *field)
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
size_t
fl_ttlrec_encode_prefix(const unsigned char *p, size_t n, unsigned char *out,
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
size_t
fl_ttlrec_decode_prefix(const unsigned char *e, size_t elen, unsigned packed,
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

void
fl_ttlrec_decode(const struct rec *r, struct drec *d)
{
    const unsigned char *p = r->data + fl_ttlrec_plen(r);
    double prev = 0.0;
    d->fields = fl_ttlrec_fields(r);
    for (unsigned f = 0; f < NFIELDS; f++) {
        if (d->fields & (1u << f)) {
            p = field_get(p, &d->f[f], prev);
            prev = d->f[f].exp;
        }
    }
}

/* the block size of a record of prefix length plen holding d */
size_t
fl_ttlrec_size(size_t plen, const struct drec *d)
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
void
fl_ttlrec_encode(unsigned char *out, uint32_t hash, const unsigned char *prefix,
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
int
fl_ttlrec_parse_decimal(const unsigned char *s, size_t n, int64_t *v)
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

