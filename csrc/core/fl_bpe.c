/* fl_bpe.c - see fl_bpe.h. */
#include "fl_bpe.h"

#include <stdlib.h>
#include <string.h>

#define NO_RANK UINT32_MAX
#define EMPTY_RANK UINT32_MAX
/* The longest probe sequence the table allows (a span has 8 bits); a
 * build that would exceed it retries with twice the slots.  Tests set it
 * lower to exercise that path. */
#ifndef FL_BPE_MAX_SPAN
#define FL_BPE_MAX_SPAN 255u
#endif
#define MAX_DIST FL_BPE_MAX_SPAN

struct slot {
    uint64_t head; /* first 8 bytes, little-endian, zero padded */
    uint32_t rank; /* EMPTY_RANK: free slot */
    /* bits 0-10: token length (FL_BPE_MAX_TOKEN_LEN fits), 11-23: 13 more
     * bits of the hash (KEY_MASK covers both: one compare), 24-31: span:
     * the entries whose home is this slot lie within the next `span` slots
     * from here (0: there are none). */
    uint32_t meta;
};
#define KEY_MASK 0xFFFFFFu
#define SPAN_SHIFT 24u
/* Pieces up to QUADRATIC_MAX bytes are merged with the quadratic loop (a
 * scan of a few parts beats a heap), up to SMALL_PIECE bytes with the heap
 * merge on the stack, longer ones with the heap merge on the heap. */
#ifndef QUADRATIC_MAX
#define QUADRATIC_MAX 16u
#endif
#define SMALL_PIECE 128u

struct slot;

struct fl_bpe {
    fl_pattern pattern;
    uint32_t size;      /* number of tokens */
    uint32_t max_rank;
    uint32_t *offset;   /* [max_rank + 1] start of token in blob */
    uint16_t *length;   /* [max_rank + 1] 0 = no token with this rank */
    unsigned char *blob;
    size_t blob_len;
    /* open addressing, linear probing, load factor at most 0.8, tokens
     * inserted in rank order (the frequent, low ranks sit in their home
     * slot).  Each slot also records how far the entries whose home it is
     * reach (`span`), so a lookup of a string that is no token (half of
     * the lookups inside merges) stops there instead of walking to the
     * next free slot: nearly half of all homes have no entry at all.  A
     * slot holds the token's first 8 bytes (zero padded), its rank, length
     * and an 8-bit tag of the hash: a token of up to 8 bytes is matched,
     * and most non-matching probes are dismissed, without leaving the
     * slot's cache line. */
    struct slot *slots;
    uint32_t mask;      /* slot count - 1 (a power of two minus one) */
    /* rank of every two-byte string (NO_RANK if none), indexed b0 << 8 | b1:
     * the first round of every merge reads this instead of hashing */
    uint32_t *pair_rank;
    /* rank of every single byte (all 256 are tokens) */
    uint32_t byte_rank[256];
};

/* ---- hashing of token bytes ------------------------------------------ */

/* The n < 8 bytes at p as an integer, bytes in memory order from the low
 * end (on a big-endian host a different but equally consistent value: it
 * is only ever hashed and compared with values made by this function).
 * Two possibly overlapping loads instead of a byte loop; the overlapping
 * bytes are equal, so OR-ing them is exact. */
static inline uint64_t
load_le(const unsigned char *p, size_t n)
{
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return (uint64_t)a | ((uint64_t)b << (8 * (n - 4)));
    }
    if (n >= 2) {
        uint16_t a, b;
        memcpy(&a, p, 2);
        memcpy(&b, p + n - 2, 2);
        return (uint64_t)a | ((uint64_t)b << (8 * (n - 2)));
    }
    return n == 1 ? p[0] : 0;
}

/* A fast hash of a short byte string: one multiply on the path of a
 * string of up to 7 bytes (most pieces), whose high bits are folded onto
 * the low ones (the slot index) by a shift.  The table is built from the
 * rank file only, so inputs cannot make it degrade: a lookup probes the
 * same fixed table whatever the text. */
static inline uint64_t
mix_tail(uint64_t h, uint64_t tail)
{
    h = (h ^ tail) * UINT64_C(0x94D049BB133111EB);
    return h ^ (h >> 29);
}

static inline uint64_t
hash_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = (uint64_t)n * UINT64_C(0x9E3779B97F4A7C15);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * UINT64_C(0xBF58476D1CE4E5B9);
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    return mix_tail(h, load_le(p, n));
}

/* hash_bytes(p, n) and head_of(p, n) for 0 < n < 8 when 8 bytes can be
 * read at p: one load and a mask instead of load_le's length tests (whose
 * branches a text's varying piece lengths keep mispredicting).  Little-
 * endian hosts, where the masked word is load_le's value; elsewhere the
 * plain functions. */
static inline uint64_t
hash_short_readable(const unsigned char *p, size_t n, uint64_t *head)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8);
    *head = w & ((UINT64_C(1) << (8 * n)) - 1);
#else
    *head = load_le(p, n);
#endif
    return mix_tail((uint64_t)n * UINT64_C(0x9E3779B97F4A7C15), *head);
}

static inline uint64_t
head_of(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    if (n >= 8) {
        memcpy(&v, p, 8); /* little-endian hosts: same as load_le */
        return v;
    }
    return load_le(p, n);
}

/* The length and hash bits of a slot's meta for a string of len bytes. */
static inline uint32_t
key_of(uint64_t h, size_t len)
{
    return (uint32_t)len | ((uint32_t)(h >> 51) << 11);
}

/* fl_bpe_lookup with h = hash_bytes(bytes, len) and head =
 * head_of(bytes, len) already computed, 0 < len <= FL_BPE_MAX_TOKEN_LEN. */
static inline int
lookup_hashed(const struct fl_bpe *bpe, const unsigned char *bytes,
              size_t len, uint64_t h, uint64_t head, uint32_t *rank)
{
    uint32_t key = key_of(h, len);
    uint32_t i = (uint32_t)h & bpe->mask;
    const struct slot *sl = &bpe->slots[i];
    /* the home slot first (a free slot's key matches nothing): most hits
     * end here without reading the span */
    uint32_t left = sl->meta >> SPAN_SHIFT;
    for (;;) {
        if ((sl->meta & KEY_MASK) == key && sl->head == head &&
            (len <= 8 || memcmp(bpe->blob + bpe->offset[sl->rank] + 8,
                                bytes + 8, len - 8) == 0)) {
            *rank = sl->rank;
            return 1;
        }
        if (left <= 1) {
            return 0;
        }
        left--;
        i = (i + 1) & bpe->mask;
        sl = &bpe->slots[i];
    }
}

int
fl_bpe_lookup(const struct fl_bpe *bpe, const unsigned char *bytes,
              size_t len, uint32_t *rank)
{
    if (len == 0 || len > FL_BPE_MAX_TOKEN_LEN) {
        return 0;
    }
    return lookup_hashed(bpe, bytes, len, hash_bytes(bytes, len),
                         head_of(bytes, len), rank);
}

/* ---- loading ---------------------------------------------------------- */

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Decode padded standard base64 src[0..n) into dst (room for n/4*3).
 * Returns the decoded length, or -1 when src is not valid. */
static long
b64_decode(const unsigned char *src, size_t n, unsigned char *dst)
{
    size_t out = 0;
    if (n == 0 || n % 4 != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = src[i + (size_t)k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) {
                    return -1; /* data after padding */
                }
                v[k] = b64_value(c);
                if (v[k] < 0) {
                    return -1;
                }
            }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) |
                     ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        dst[out++] = (unsigned char)(w >> 16);
        if (pad < 2) {
            dst[out++] = (unsigned char)(w >> 8);
        }
        if (pad < 1) {
            dst[out++] = (unsigned char)w;
        }
    }
    return (long)out;
}

struct line {
    const unsigned char *tok;
    size_t tok_len;
    uint32_t rank;
};

/* Split data into lines; parse "<b64> <rank>".  Fills lines[] (count in
 * *n) when lines is not NULL; always returns the number of non-empty
 * lines or an error. */
static enum fl_status
scan_lines(const unsigned char *data, size_t len, struct line *lines,
           size_t *n, size_t *bad_line)
{
    size_t count = 0;
    size_t lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const unsigned char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t stop = end;
        lineno++;
        if (stop > pos && data[stop - 1] == '\r') {
            stop--;
        }
        if (stop > pos) {
            const unsigned char *sp = memchr(data + pos, ' ', stop - pos);
            if (sp == NULL || sp == data + pos) {
                *bad_line = lineno;
                return FL_EINVAL;
            }
            size_t tok_len = (size_t)(sp - (data + pos));
            size_t d = tok_len + 1;
            uint64_t rank = 0;
            if (pos + d >= stop) {
                *bad_line = lineno;
                return FL_EINVAL;
            }
            for (size_t k = pos + d; k < stop; k++) {
                if (data[k] < '0' || data[k] > '9') {
                    *bad_line = lineno;
                    return FL_EINVAL;
                }
                rank = rank * 10 + (uint64_t)(data[k] - '0');
                if (rank >= FL_BPE_MAX_RANKS) {
                    *bad_line = lineno;
                    return FL_EOVERFLOW;
                }
            }
            if (tok_len > (FL_BPE_MAX_TOKEN_LEN / 3 + 1) * 4) {
                *bad_line = lineno;
                return FL_EOVERFLOW;
            }
            if (lines != NULL) {
                lines[count].tok = data + pos;
                lines[count].tok_len = tok_len;
                lines[count].rank = (uint32_t)rank;
            }
            count++;
            if (count > FL_BPE_MAX_RANKS) {
                *bad_line = lineno;
                return FL_EOVERFLOW;
            }
        }
        pos = end + 1;
    }
    *n = count;
    return FL_OK;
}

void
fl_bpe_free(struct fl_bpe *bpe)
{
    if (bpe == NULL) {
        return;
    }
    free(bpe->offset);
    free(bpe->length);
    free(bpe->blob);
    free(bpe->slots);
    free(bpe->pair_rank);
    free(bpe);
}

/* Place the token of rank `r` (recorded in offset/length/blob) in the
 * first free slot from its home on, and widen the home's span.  Returns 0
 * (nothing placed) when it would land MAX_DIST or more slots from home. */
static int
table_put(struct fl_bpe *bpe, uint32_t r)
{
    const unsigned char *bytes = bpe->blob + bpe->offset[r];
    size_t len = bpe->length[r];
    uint64_t h = hash_bytes(bytes, len);
    uint32_t home = (uint32_t)h & bpe->mask;
    for (unsigned d = 0; d < MAX_DIST; d++) {
        struct slot *sl = &bpe->slots[(home + d) & bpe->mask];
        if (sl->rank == EMPTY_RANK) {
            struct slot *hs = &bpe->slots[home];
            sl->head = head_of(bytes, len);
            sl->rank = r;
            sl->meta = (sl->meta & ~KEY_MASK) | key_of(h, len);
            if ((hs->meta >> SPAN_SHIFT) < d + 1) {
                hs->meta = (hs->meta & KEY_MASK) | (d + 1) << SPAN_SHIFT;
            }
            return 1;
        }
    }
    return 0;
}

/* (Re)build the table with at least `slots` slots (a power of two) from
 * every token recorded so far, doubling while a distance overflows. */
static enum fl_status
table_build(struct fl_bpe *bpe, uint64_t slots)
{
    for (;;) {
        int ok = 1;
        if (slots > ((uint64_t)1 << 31)) {
            return FL_EOVERFLOW;
        }
        free(bpe->slots);
        bpe->slots = malloc((size_t)slots * sizeof(struct slot));
        if (bpe->slots == NULL) {
            return FL_ENOMEM;
        }
        for (uint64_t k = 0; k < slots; k++) {
            bpe->slots[k].rank = EMPTY_RANK;
            bpe->slots[k].meta = 0; /* length 0: matches no lookup */
        }
        bpe->mask = (uint32_t)(slots - 1);
        for (uint32_t r = 0; ok && r <= bpe->max_rank; r++) {
            if (bpe->length[r] != 0) {
                ok = table_put(bpe, r);
            }
        }
        if (ok) {
            return FL_OK;
        }
        slots *= 2;
    }
}

enum fl_status
fl_bpe_load(const unsigned char *data, size_t len, fl_pattern pattern,
            struct fl_bpe **out, size_t *bad_line)
{
    enum fl_status st = FL_OK;
    struct line *lines = NULL;
    struct fl_bpe *bpe = NULL;
    size_t n = 0;
    size_t blob_cap = 0;
    uint32_t max_rank = 0;
    uint64_t slots = 1;

    *out = NULL;
    *bad_line = 0;
    if (len > FL_BPE_MAX_FILE) {
        st = FL_EOVERFLOW;
        goto error;
    }
    st = scan_lines(data, len, NULL, &n, bad_line);
    if (st != FL_OK) {
        goto error;
    }
    if (n == 0) {
        st = FL_EINVAL;
        goto error;
    }
    lines = calloc(n, sizeof(*lines));
    bpe = calloc(1, sizeof(*bpe));
    if (lines == NULL || bpe == NULL) {
        st = FL_ENOMEM;
        goto error;
    }
    st = scan_lines(data, len, lines, &n, bad_line);
    if (st != FL_OK) {
        goto error;
    }
    for (size_t i = 0; i < n; i++) {
        if (lines[i].rank > max_rank) {
            max_rank = lines[i].rank;
        }
        blob_cap += lines[i].tok_len / 4 * 3;
    }
    while (slots * 4 < (uint64_t)n * 5) { /* load factor <= 0.8 */
        slots <<= 1;
    }
    bpe->pattern = pattern;
    bpe->max_rank = max_rank;
    bpe->offset = calloc((size_t)max_rank + 1, sizeof(uint32_t));
    bpe->length = calloc((size_t)max_rank + 1, sizeof(uint16_t));
    bpe->blob = malloc(blob_cap ? blob_cap : 1);
    if (bpe->offset == NULL || bpe->length == NULL || bpe->blob == NULL) {
        st = FL_ENOMEM;
        goto error;
    }
    if (blob_cap > UINT32_MAX) {
        st = FL_EOVERFLOW;
        goto error;
    }
    st = table_build(bpe, slots);
    if (st != FL_OK) {
        goto error;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *dst = bpe->blob + bpe->blob_len;
        long got = b64_decode(lines[i].tok, lines[i].tok_len, dst);
        uint32_t r = lines[i].rank;
        uint32_t dup = 0;
        if (got <= 0 || (size_t)got > FL_BPE_MAX_TOKEN_LEN ||
            bpe->length[r] != 0) {
            *bad_line = i + 1; /* non-empty lines only: see below */
            st = FL_EINVAL;
            goto error;
        }
        if (fl_bpe_lookup(bpe, dst, (size_t)got, &dup)) {
            *bad_line = i + 1;
            st = FL_EINVAL;
            goto error;
        }
        bpe->offset[r] = (uint32_t)bpe->blob_len;
        bpe->length[r] = (uint16_t)got;
        bpe->blob_len += (size_t)got;
        bpe->size++;
        if (!table_put(bpe, r)) {
            st = table_build(bpe, ((uint64_t)bpe->mask + 1) * 2);
            if (st != FL_OK) {
                goto error;
            }
        }
    }
    for (unsigned b = 0; b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        if (!fl_bpe_lookup(bpe, &byte, 1, &bpe->byte_rank[b])) {
            *bad_line = 0;
            st = FL_EINVAL;
            goto error;
        }
    }
    bpe->pair_rank = malloc(65536 * sizeof(uint32_t));
    if (bpe->pair_rank == NULL) {
        st = FL_ENOMEM;
        goto error;
    }
    for (unsigned i = 0; i < 65536; i++) {
        unsigned char two[2] = {(unsigned char)(i >> 8), (unsigned char)i};
        uint32_t r;
        bpe->pair_rank[i] = fl_bpe_lookup(bpe, two, 2, &r) ? r : NO_RANK;
    }
    free(lines);
    *out = bpe;
    return FL_OK;
error:
    free(lines);
    fl_bpe_free(bpe);
    return st;
}

uint32_t
fl_bpe_size(const struct fl_bpe *bpe)
{
    return bpe->size;
}

uint32_t
fl_bpe_max_rank(const struct fl_bpe *bpe)
{
    return bpe->max_rank;
}

size_t
fl_bpe_memory(const struct fl_bpe *bpe)
{
    size_t ranks = (size_t)bpe->max_rank + 1;
    return sizeof(*bpe) + ranks * (sizeof(uint32_t) + sizeof(uint16_t)) +
           bpe->blob_len + ((size_t)bpe->mask + 1) * sizeof(struct slot) +
           65536 * sizeof(uint32_t);
}

const unsigned char *
fl_bpe_token(const struct fl_bpe *bpe, uint32_t rank, size_t *len)
{
    if (rank > bpe->max_rank || bpe->length[rank] == 0) {
        return NULL;
    }
    *len = bpe->length[rank];
    return bpe->blob + bpe->offset[rank];
}

/* ---- output ----------------------------------------------------------- */

void
fl_tokbuf_free(struct fl_tokbuf *buf)
{
    free(buf->ids);
    buf->ids = NULL;
    buf->len = buf->cap = 0;
}

static enum fl_status
tokbuf_push(struct fl_tokbuf *buf, uint32_t id)
{
    if (buf->len == buf->cap) {
        size_t cap = buf->cap ? buf->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof(uint32_t)) {
            return FL_EOVERFLOW;
        }
        uint32_t *ids = realloc(buf->ids, cap * sizeof(uint32_t));
        if (ids == NULL) {
            return FL_ENOMEM;
        }
        buf->ids = ids;
        buf->cap = cap;
    }
    buf->ids[buf->len++] = id;
    return FL_OK;
}

static inline uint32_t
rank_of(const struct fl_bpe *bpe, const unsigned char *p, size_t n)
{
    uint32_t r;
    if (n == 1) {
        return bpe->byte_rank[p[0]];
    }
    if (n == 2) {
        return bpe->pair_rank[(unsigned)p[0] << 8 | p[1]];
    }
    return fl_bpe_lookup(bpe, p, n, &r) ? r : NO_RANK;
}

/* ---- merging ---------------------------------------------------------- */

/* tiktoken's loop: parts hold (start, rank of the pair starting there);
 * repeatedly merge the leftmost lowest-ranked pair.  `start` and `rank`
 * have room for n + 1 entries. */
static enum fl_status
merge_quadratic(const struct fl_bpe *bpe, const unsigned char *p, size_t n,
                size_t *start, uint32_t *rank, struct fl_tokbuf *out,
                size_t *count)
{
    size_t parts = n + 1; /* entries; the last one is the end marker */
    for (size_t i = 0; i < n; i++) {
        start[i] = i;
        rank[i] = i + 2 <= n ? rank_of(bpe, p + i, 2) : NO_RANK;
    }
    start[n] = n;
    rank[n] = NO_RANK;
    for (;;) {
        uint32_t best = NO_RANK;
        size_t at = 0;
        for (size_t i = 0; i + 1 < parts; i++) {
            if (rank[i] < best) {
                best = rank[i];
                at = i;
            }
        }
        if (best == NO_RANK) {
            break;
        }
        /* merge part at+1 into part at */
        memmove(start + at + 1, start + at + 2,
                (parts - at - 2) * sizeof(*start));
        memmove(rank + at + 1, rank + at + 2,
                (parts - at - 2) * sizeof(*rank));
        parts--;
        rank[at] = at + 2 < parts
                       ? rank_of(bpe, p + start[at], start[at + 2] - start[at])
                       : NO_RANK;
        if (at > 0) {
            rank[at - 1] = rank_of(bpe, p + start[at - 1],
                                   start[at + 1] - start[at - 1]);
        }
    }
    for (size_t i = 0; i + 1 < parts; i++) {
        if (out != NULL) {
            uint32_t r = rank_of(bpe, p + start[i], start[i + 1] - start[i]);
            enum fl_status st = tokbuf_push(out, r);
            if (st != FL_OK) {
                return st;
            }
        }
        (*count)++;
    }
    return FL_OK;
}

/* The same merges in O(n log n): a doubly linked list of parts and a
 * binary min-heap of (rank, position) candidates with lazy deletion.  The
 * heap orders by rank, then by position, so it picks exactly the pair the
 * quadratic loop picks. */
struct heap_item {
    uint32_t rank;
    uint32_t pos; /* index of the left part (its byte offset) */
    uint32_t ver; /* the part's version when pushed */
};

static inline int
item_less(const struct heap_item *a, const struct heap_item *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void
heap_push(struct heap_item *h, size_t *n, struct heap_item it)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_less(&it, &h[parent])) {
            break;
        }
        h[i] = h[parent];
        i = parent;
    }
    h[i] = it;
}

static struct heap_item
heap_pop(struct heap_item *h, size_t *n)
{
    struct heap_item top = h[0];
    struct heap_item last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) {
            break;
        }
        if (c + 1 < *n && item_less(&h[c + 1], &h[c])) {
            c++;
        }
        if (!item_less(&h[c], &last)) {
            break;
        }
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) {
        h[i] = last;
    }
    return top;
}

/* The heap merge on caller-provided arrays: next, prev, ver and alive with
 * room for n + 1 entries, heap for 3n items. */
static enum fl_status
merge_heap_in(const struct fl_bpe *bpe, const unsigned char *p, size_t n,
              uint32_t *next, uint32_t *prev, uint32_t *ver,
              unsigned char *alive, struct heap_item *heap,
              struct fl_tokbuf *out, size_t *count)
{
    enum fl_status st = FL_OK;
    size_t hn = 0;
    for (size_t i = 0; i <= n; i++) {
        next[i] = (uint32_t)(i + 1);
        prev[i] = i == 0 ? UINT32_MAX : (uint32_t)(i - 1);
        ver[i] = 0;
        alive[i] = 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t r = rank_of(bpe, p + i, 2);
        if (r != NO_RANK) {
            struct heap_item it = {r, (uint32_t)i, 0};
            heap_push(heap, &hn, it);
        }
    }
    while (hn > 0) {
        struct heap_item it = heap_pop(heap, &hn);
        uint32_t a = it.pos;
        if (!alive[a] || ver[a] != it.ver) {
            continue; /* stale */
        }
        uint32_t b = next[a];
        uint32_t c = next[b]; /* b < n holds: a valid pair exists */
        /* merge b into a */
        alive[b] = 0;
        next[a] = c;
        prev[c] = a;
        ver[a]++;
        if (c < n) {
            uint32_t r = rank_of(bpe, p + a, next[c] - a);
            if (r != NO_RANK) {
                struct heap_item ni = {r, a, ver[a]};
                heap_push(heap, &hn, ni);
            }
        }
        if (prev[a] != UINT32_MAX) {
            uint32_t z = prev[a];
            ver[z]++;
            uint32_t r = rank_of(bpe, p + z, c - z);
            if (r != NO_RANK) {
                struct heap_item ni = {r, z, ver[z]};
                heap_push(heap, &hn, ni);
            }
        }
    }
    for (uint32_t i = 0; i < n; i = next[i]) {
        if (out != NULL) {
            st = tokbuf_push(out, rank_of(bpe, p + i, next[i] - i));
            if (st != FL_OK) {
                goto error;
            }
        }
        (*count)++;
    }
error:
    return st;
}

/* The heap merge for a piece of any length (arrays on the heap). */
static enum fl_status
merge_heap(const struct fl_bpe *bpe, const unsigned char *p, size_t n,
           struct fl_tokbuf *out, size_t *count)
{
    enum fl_status st = FL_OK;
    /* next[i]: start of the part after the part starting at i (n = end);
     * prev[i]: start of the part before; ver[i]: bumped on every change;
     * alive[i]: a part starts at i. */
    uint32_t *next = NULL;
    uint32_t *prev = NULL;
    uint32_t *ver = NULL;
    unsigned char *alive = NULL;
    struct heap_item *heap = NULL;
    /* each merge pushes at most two items: n + 2n bounds the heap */
    size_t heap_cap = 3 * n;

    if (n > UINT32_MAX - 2 || heap_cap / 3 != n) {
        st = FL_EOVERFLOW;
        goto error;
    }
    next = malloc((n + 1) * sizeof(*next));
    prev = malloc((n + 1) * sizeof(*prev));
    ver = malloc((n + 1) * sizeof(*ver));
    alive = malloc(n + 1);
    heap = malloc(heap_cap * sizeof(*heap));
    if (next == NULL || prev == NULL || ver == NULL || alive == NULL ||
        heap == NULL) {
        st = FL_ENOMEM;
        goto error;
    }
    st = merge_heap_in(bpe, p, n, next, prev, ver, alive, heap, out, count);
error:
    free(next);
    free(prev);
    free(ver);
    free(alive);
    free(heap);
    return st;
}

/* ---- the merge memo ---------------------------------------------------
 *
 * Text repeats its pieces (identifiers in code, keys in JSON, words of a
 * script without spaces), and a piece that is not itself a token costs a
 * merge: a dozen table lookups.  One call (a text, its slices, a batch of
 * texts) keeps the merges of short pieces in a direct-mapped memo keyed by
 * the piece's bytes, so a repeated piece costs one compare.  It lives for
 * the call only (no state shared between calls or threads), is allocated
 * for long inputs only (MEMO_MIN_TEXT), and an allocation failure only
 * means no memo. */
#define MEMO_SLOTS 1024u
#define MEMO_MAX_LEN 32u
#define MEMO_MAX_IDS 8u
#define MEMO_MIN_TEXT 4096u

struct memo_entry {
    uint8_t len; /* 0: empty */
    uint8_t nids;
    unsigned char bytes[MEMO_MAX_LEN];
    uint32_t ids[MEMO_MAX_IDS]; /* when the call produces ids */
};

struct memo {
    struct memo_entry *e; /* NULL: none (yet, or not for this call) */
    int enabled;          /* may allocate */
};

static void
memo_free(struct memo *m)
{
    free(m->e);
    m->e = NULL;
}

/* One piece of n > 0 bytes (`avail` >= n bytes readable at p): its ids
 * appended to out (when not NULL), their number added to *count. */
static enum fl_status
encode_piece(const struct fl_bpe *bpe, const unsigned char *p, size_t n,
             size_t avail, struct fl_tokbuf *out, size_t *count,
             struct memo *m)
{
    uint32_t r;
    uint64_t h = 0;
    uint64_t head = 0;
    struct memo_entry *e = NULL;
    if (n <= 2) {
        r = rank_of(bpe, p, n);
        if (r != NO_RANK) {
            (*count)++;
            return out != NULL ? tokbuf_push(out, r) : FL_OK;
        }
    } else if (n <= FL_BPE_MAX_TOKEN_LEN) {
        if (n < 8 && avail >= 8) {
            h = hash_short_readable(p, n, &head);
        } else {
            h = hash_bytes(p, n);
            head = head_of(p, n);
        }
        if (lookup_hashed(bpe, p, n, h, head, &r)) {
            (*count)++;
            return out != NULL ? tokbuf_push(out, r) : FL_OK;
        }
        if (n <= MEMO_MAX_LEN && m->enabled) {
            if (m->e == NULL) {
                m->e = calloc(MEMO_SLOTS, sizeof(*m->e));
                m->enabled = m->e != NULL;
            }
            if (m->e != NULL) {
                e = &m->e[(h >> 40) & (MEMO_SLOTS - 1)];
            }
        }
    }
    if (e != NULL && e->len == n && memcmp(e->bytes, p, n) == 0) {
        *count += e->nids;
        for (unsigned k = 0; out != NULL && k < e->nids; k++) {
            enum fl_status st = tokbuf_push(out, e->ids[k]);
            if (st != FL_OK) {
                return st;
            }
        }
        return FL_OK;
    }
    size_t before = *count;
    size_t at = out != NULL ? out->len : 0;
    enum fl_status st;
    if (n > SMALL_PIECE) {
        st = merge_heap(bpe, p, n, out, count);
    } else if (n > QUADRATIC_MAX) {
        uint32_t next[SMALL_PIECE + 1], prev[SMALL_PIECE + 1];
        uint32_t ver[SMALL_PIECE + 1];
        unsigned char alive[SMALL_PIECE + 1];
        struct heap_item heap[3 * SMALL_PIECE];
        st = merge_heap_in(bpe, p, n, next, prev, ver, alive, heap, out,
                           count);
    } else {
        size_t s_start[QUADRATIC_MAX + 1];
        uint32_t s_rank[QUADRATIC_MAX + 1];
        st = merge_quadratic(bpe, p, n, s_start, s_rank, out, count);
    }
    size_t got = *count - before;
    if (st == FL_OK && e != NULL && (out == NULL || got <= MEMO_MAX_IDS) &&
        got <= UINT8_MAX) {
        e->len = (uint8_t)n;
        e->nids = (uint8_t)got;
        memcpy(e->bytes, p, n);
        if (out != NULL) {
            memcpy(e->ids, out->ids + at, got * sizeof(uint32_t));
        }
    }
    return st;
}

static enum fl_status
encode_text(const struct fl_bpe *bpe, const unsigned char *text, size_t len,
            struct fl_tokbuf *out, size_t *count, struct memo *m)
{
    size_t pos = 0;
    while (pos < len) {
        size_t n = fl_pretok_next(bpe->pattern, text, len, pos);
        enum fl_status st = encode_piece(bpe, text + pos, n, len - pos, out,
                                         count, m);
        if (st != FL_OK) {
            return st;
        }
        pos += n;
    }
    return FL_OK;
}

enum fl_status
fl_bpe_encode(const struct fl_bpe *bpe, const unsigned char *text,
              size_t len, struct fl_tokbuf *out, size_t *count)
{
    struct memo m = {NULL, len >= MEMO_MIN_TEXT};
    *count = 0;
    enum fl_status st = encode_text(bpe, text, len, out, count, &m);
    memo_free(&m);
    return st;
}

/* Code points (UTF-8 lead bytes: not 10xxxxxx) among the 8 bytes at p. */
static inline unsigned
leads8(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    const uint64_t hi = UINT64_C(0x8080808080808080);
    uint64_t cont = w & hi & ~(w << 1); /* bit 7 set, bit 6 clear */
#if defined(__GNUC__)
    return 8u - (unsigned)__builtin_popcountll(cont);
#else
    unsigned n = 0;
    for (; cont != 0; cont &= cont - 1) {
        n++;
    }
    return 8u - n;
#endif
}

/* The end of the slice starting at text[pos] (a lead byte) that holds
 * `chunk` code points, or len. */
static size_t
slice_end(const unsigned char *text, size_t len, size_t pos, size_t chunk)
{
    if (len - pos <= chunk) {
        return len; /* no more code points than bytes left */
    }
    size_t end = pos + 1;
    size_t left = chunk - 1; /* code points after text[pos] still in the slice */
    /* 64 bytes at a time while they are ASCII, then whole words, while they
     * cannot hold the next slice's first byte */
    while (left >= 64 && len - end >= 64) {
        uint64_t any = 0;
        for (int k = 0; k < 8; k++) {
            uint64_t w;
            memcpy(&w, text + end + 8 * k, 8);
            any |= w;
        }
        if (any & UINT64_C(0x8080808080808080)) {
            break;
        }
        left -= 64;
        end += 64;
    }
    while (left >= 8 && len - end >= 8) {
        left -= leads8(text + end);
        end += 8;
    }
    for (; end < len; end++) {
        if ((text[end] & 0xC0) != 0x80) {
            if (left == 0) {
                break;
            }
            left--;
        }
    }
    return end;
}

enum fl_status
fl_bpe_merge_piece(const struct fl_bpe *bpe, const unsigned char *piece,
                   size_t len, int reference, struct fl_tokbuf *out,
                   size_t *count)
{
    enum fl_status st = FL_OK;
    size_t *start = NULL;
    uint32_t *rank = NULL;

    if (len == 0) {
        return FL_OK;
    }
    if (!reference) {
        struct memo none = {NULL, 0};
        return encode_piece(bpe, piece, len, len, out, count, &none);
    }
    /* the reference: tiktoken's loop as written, any length */
    if (len + 1 > SIZE_MAX / sizeof(size_t)) {
        return FL_EOVERFLOW;
    }
    start = malloc((len + 1) * sizeof(*start));
    rank = malloc((len + 1) * sizeof(*rank));
    if (start == NULL || rank == NULL) {
        st = FL_ENOMEM;
        goto error;
    }
    {
        uint32_t whole;
        if (fl_bpe_lookup(bpe, piece, len, &whole)) {
            (*count)++;
            st = out != NULL ? tokbuf_push(out, whole) : FL_OK;
            goto error;
        }
    }
    st = merge_quadratic(bpe, piece, len, start, rank, out, count);
error:
    free(start);
    free(rank);
    return st;
}

/* fl_bpe_count_chunked's work, adding to *count and sharing m. */
static enum fl_status
count_chunked(const struct fl_bpe *bpe, const unsigned char *text,
              size_t len, size_t chunk, size_t *count, struct memo *m)
{
    size_t pos = 0;
    while (pos < len) {
        size_t end = slice_end(text, len, pos, chunk);
        enum fl_status st = encode_text(bpe, text + pos, end - pos, NULL,
                                        count, m);
        if (st != FL_OK) {
            return st;
        }
        pos = end;
    }
    return FL_OK;
}

enum fl_status
fl_bpe_count_chunked(const struct fl_bpe *bpe, const unsigned char *text,
                     size_t len, size_t chunk, size_t *count)
{
    struct memo m = {NULL, len >= MEMO_MIN_TEXT};
    *count = 0;
    if (chunk == 0) {
        return FL_EINVAL;
    }
    enum fl_status st = count_chunked(bpe, text, len, chunk, count, &m);
    memo_free(&m);
    return st;
}

enum fl_status
fl_bpe_count_batch(const struct fl_bpe *bpe, size_t n,
                   const unsigned char *const *texts, const size_t *lens,
                   const size_t *chunks, size_t *counts)
{
    size_t total = 0;
    enum fl_status st = FL_OK;
    for (size_t i = 0; i < n; i++) {
        total += lens[i];
    }
    struct memo m = {NULL, total >= MEMO_MIN_TEXT};
    for (size_t i = 0; i < n && st == FL_OK; i++) {
        counts[i] = 0;
        if (chunks != NULL && chunks[i] > 0) {
            st = count_chunked(bpe, texts[i], lens[i], chunks[i], &counts[i],
                               &m);
        } else {
            st = encode_text(bpe, texts[i], lens[i], NULL, &counts[i], &m);
        }
    }
    memo_free(&m);
    return st;
}

enum fl_status
fl_bpe_decode(const struct fl_bpe *bpe, const uint32_t *ids, size_t n,
              unsigned char **buf, size_t *len, size_t *bad)
{
    size_t total = 0;
    unsigned char *dst = NULL;
    *buf = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] > bpe->max_rank || bpe->length[ids[i]] == 0) {
            *bad = i;
            return FL_EINVAL;
        }
        total += bpe->length[ids[i]]; /* <= n * 1024: no overflow */
    }
    dst = malloc(total ? total : 1);
    if (dst == NULL) {
        return FL_ENOMEM;
    }
    total = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + total, bpe->blob + bpe->offset[ids[i]],
               bpe->length[ids[i]]);
        total += bpe->length[ids[i]];
    }
    *buf = dst;
    *len = total;
    return FL_OK;
}
