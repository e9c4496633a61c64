/* fl_ttlrec.h - the records of fl_ttlmap: how a key splits into a prefix
 * and a field, and how a record of up to NFIELDS fields is laid out,
 * encoded and decoded.  Internal to fl_ttlmap.c (and its tests).
 *
 * Records.  A key is split into a prefix and a field: a key that ends in
 * one of the shared suffixes ":window", ":requests", ":tokens" (fields
 * 1..3; and is longer than it) is field f of the record of
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
 *          64 digits take 32 bytes; see fl_ttlrec_encode_prefix), then each present
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
 * Every function here is pure: it reads its arguments and writes only its
 * output buffer.
 */
#ifndef FL_TTLREC_H
#define FL_TTLREC_H

#include <stddef.h>
#include <stdint.h>

#include "fl_ttlmap.h"

#define NFIELDS 4u

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

static inline size_t
fl_ttlrec_plen(const struct rec *r)
{
    return r->plen_fields & PLEN_MASK;
}

static inline unsigned
fl_ttlrec_fields(const struct rec *r)
{
    return ((unsigned)r->plen_fields & FIELD_MASK) >> PLEN_BITS;
}


/* The prefix length of a key and (in *field) the field its suffix names:
 * a key that ends in one of the shared suffixes (and is longer than it) is
 * that field of the record of the rest; any other key is field 0 of the
 * record of the whole key. */
size_t fl_ttlrec_split_key(const unsigned char *key, size_t klen,
                           unsigned *field);

/* The suffix of field f (0 <= f < NFIELDS): its bytes, length in *len. */
const char *fl_ttlrec_suffix(unsigned f, size_t *len);

/* Store the prefix p (n <= FL_TTLMAP_MAX_KEY bytes) into out (ENC_MAX
 * bytes): returns the stored length, *packed whether it is hex-packed.  The
 * form is a function of the prefix alone, so equal prefixes store equal
 * bytes, and different prefixes different (stored bytes, packed) pairs. */
size_t fl_ttlrec_encode_prefix(const unsigned char *p, size_t n,
                               unsigned char *out, unsigned *packed);

/* The prefix back from its stored form (into out, FL_TTLMAP_MAX_KEY
 * bytes); returns its length. */
size_t fl_ttlrec_decode_prefix(const unsigned char *e, size_t elen,
                               unsigned packed, unsigned char *out);

/* The fields of record r; strings point into r. */
void fl_ttlrec_decode(const struct rec *r, struct drec *d);

/* The block size of a record whose stored prefix is plen bytes and whose
 * fields are d. */
size_t fl_ttlrec_size(size_t plen, const struct drec *d);

/* Encode a whole record (size bytes, as fl_ttlrec_size gave) into out.
 * `prefix` is the stored prefix; out must not overlap it or d's strings. */
void fl_ttlrec_encode(unsigned char *out, uint32_t hash,
                      const unsigned char *prefix, size_t plen,
                      unsigned packed, const struct drec *d, size_t size);

/* 1 with *v when s (n bytes) is the canonical decimal form of an int64
 * ("0", "-12"; never "012", "-0", "+1"), else 0. */
int fl_ttlrec_parse_decimal(const unsigned char *s, size_t n, int64_t *v);

#endif /* FL_TTLREC_H */
