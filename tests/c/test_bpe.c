/* Plain C tests of csrc/core/fl_bpe.c's rank table and merges, on a
 * synthetic rank file; prints "N passed, N failed".
 *
 * fl_bpe.c is compiled into this program with FL_BPE_MAX_SPAN set to 2, so
 * loading must rebuild the table (doubling it) several times: the path a
 * real rank file would take only on an unlucky hash.  The Makefile links
 * this test without the library's own copy of fl_bpe.c.
 */
#define FL_BPE_MAX_SPAN 2u
#include "fl_bpe.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_check.h"

#define N_TOKENS 6000
#define MAX_LEN 20

static unsigned char tok[N_TOKENS][MAX_LEN];
static size_t tok_len[N_TOKENS];

static uint64_t rng_state = 0x243F6A8885A308D3u;

static uint64_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Index of the token with these bytes, or -1 (a linear scan: the model). */
static long
find(const unsigned char *p, size_t n)
{
    for (long i = 0; i < N_TOKENS; i++) {
        if (tok_len[i] == n && memcmp(tok[i], p, n) == 0) {
            return i;
        }
    }
    return -1;
}

static size_t
b64(const unsigned char *src, size_t n, char *dst)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)src[i] << 16;
        if (i + 1 < n) {
            w |= (uint32_t)src[i + 1] << 8;
        }
        if (i + 2 < n) {
            w |= src[i + 2];
        }
        dst[o++] = al[(w >> 18) & 63];
        dst[o++] = al[(w >> 12) & 63];
        dst[o++] = i + 1 < n ? al[(w >> 6) & 63] : '=';
        dst[o++] = i + 2 < n ? al[w & 63] : '=';
    }
    return o;
}

/* Tokens: the 256 single bytes, then random strings of 2..MAX_LEN bytes
 * over a small alphabet (so that merges find many tokens), no duplicates.
 * Written as a rank file in random line order. */
static unsigned char *
make_rank_file(size_t *len)
{
    size_t cap = (size_t)N_TOKENS * (MAX_LEN * 2 + 16);
    unsigned char *out = malloc(cap);
    long order[N_TOKENS];
    size_t o = 0;
    for (int i = 0; i < 256; i++) {
        tok[i][0] = (unsigned char)i;
        tok_len[i] = 1;
    }
    for (int i = 256; i < N_TOKENS;) {
        size_t n = 2 + rnd() % (i < 1200 ? 3 : MAX_LEN - 1);
        for (size_t k = 0; k < n; k++) {
            tok[i][k] = (unsigned char)("abcde "[rnd() % 6]);
        }
        tok_len[i] = n;
        if (find(tok[i], n) == i) { /* no earlier duplicate */
            i++;
        }
    }
    for (long i = 0; i < N_TOKENS; i++) {
        order[i] = i;
    }
    for (long i = N_TOKENS - 1; i > 0; i--) {
        long j = (long)(rnd() % (uint64_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (long k = 0; k < N_TOKENS; k++) {
        long i = order[k];
        o += b64(tok[i], tok_len[i], (char *)out + o);
        o += (size_t)sprintf((char *)out + o, " %ld\n", i);
    }
    *len = o;
    return out;
}

static void
test_lookup_after_rebuilds(const struct fl_bpe *bpe)
{
    int all = 1;
    for (long i = 0; i < N_TOKENS; i++) {
        uint32_t r = UINT32_MAX;
        size_t n = 0;
        const unsigned char *b = fl_bpe_token(bpe, (uint32_t)i, &n);
        all &= fl_bpe_lookup(bpe, tok[i], tok_len[i], &r) && r == (uint32_t)i;
        all &= b != NULL && n == tok_len[i] && memcmp(b, tok[i], n) == 0;
    }
    CHECK(all);
    CHECK(fl_bpe_size(bpe) == N_TOKENS);
    CHECK(fl_bpe_max_rank(bpe) == N_TOKENS - 1);
    /* 6000 tokens fit 8192 slots at the load factor; spans of 2 forced
     * the table to grow */
    CHECK(fl_bpe_memory(bpe) > 8192 * sizeof(struct slot));
}

/* Strings near the tokens (one byte changed, one added or dropped): hit
 * exactly when the model says they are tokens. */
static void
test_lookup_misses(const struct fl_bpe *bpe)
{
    int agree = 1, hits = 0, misses = 0;
    for (int k = 0; k < 20000; k++) {
        unsigned char s[MAX_LEN + 1];
        long i = 256 + (long)(rnd() % (N_TOKENS - 256));
        size_t n = tok_len[i];
        memcpy(s, tok[i], n);
        switch (rnd() % 3) {
        case 0:
            s[rnd() % n] = (unsigned char)("abcdef "[rnd() % 7]);
            break;
        case 1:
            s[n++] = (unsigned char)("abcde "[rnd() % 6]);
            break;
        default:
            n--;
            break;
        }
        uint32_t r = UINT32_MAX;
        long want = find(s, n);
        int got = fl_bpe_lookup(bpe, s, n, &r);
        agree &= want >= 0 ? (got && r == (uint32_t)want) : !got;
        hits += want >= 0;
        misses += want < 0;
    }
    CHECK(agree);
    CHECK(hits > 1000 && misses > 1000);
}

/* The heap merge, the stack merge and the reference loop agree. */
static void
test_merges_agree(const struct fl_bpe *bpe)
{
    int agree = 1;
    for (int k = 0; k < 3000; k++) {
        unsigned char s[600];
        size_t n = 1 + rnd() % (k % 10 == 0 ? sizeof(s) : 40);
        struct fl_tokbuf a = {0}, b = {0};
        size_t ca = 0, cb = 0, cc = 0;
        for (size_t j = 0; j < n; j++) {
            s[j] = (unsigned char)("abcdeX "[rnd() % 7]);
        }
        agree &= fl_bpe_merge_piece(bpe, s, n, 0, &a, &ca) == FL_OK;
        agree &= fl_bpe_merge_piece(bpe, s, n, 1, &b, &cb) == FL_OK;
        agree &= fl_bpe_merge_piece(bpe, s, n, 0, NULL, &cc) == FL_OK;
        agree &= ca == cb && cc == ca && a.len == ca && b.len == cb &&
                 memcmp(a.ids, b.ids, a.len * sizeof(uint32_t)) == 0;
        fl_tokbuf_free(&a);
        fl_tokbuf_free(&b);
    }
    CHECK(agree);
}

/* A long text of repeated words (so the encoder's merge memo fills, hits
 * and overwrites its slots): fl_bpe_encode's ids and count equal the
 * reference merge of every piece, and so do count_chunked and count_batch
 * (whose slices are encoded separately). */
static void
test_long_text_with_memo(const struct fl_bpe *bpe)
{
    enum { WORDS = 3000, TEXT = 200000 };
    static unsigned char words[WORDS][24];
    static size_t wlen[WORDS];
    unsigned char *text = malloc(TEXT + 64);
    size_t len = 0;
    for (int w = 0; w < WORDS; w++) {
        wlen[w] = 1 + rnd() % 20;
        for (size_t k = 0; k < wlen[w]; k++) {
            words[w][k] = (unsigned char)("abcdeX"[rnd() % 6]);
        }
    }
    while (len < TEXT) {
        int w = (int)(rnd() % (rnd() % 2 ? 50 : WORDS)); /* some words often */
        text[len++] = ' ';
        memcpy(text + len, words[w], wlen[w]);
        len += wlen[w];
    }
    struct fl_tokbuf got = {0}, want = {0};
    size_t count = 0, count2 = 0, want_count = 0, pos = 0;
    int ok = fl_bpe_encode(bpe, text, len, &got, &count) == FL_OK &&
             fl_bpe_encode(bpe, text, len, NULL, &count2) == FL_OK;
    while (ok && pos < len) {
        size_t n = fl_pretok_next(FL_PAT_GPT2, text, len, pos);
        ok = fl_bpe_merge_piece(bpe, text + pos, n, 1, &want, &want_count) ==
             FL_OK;
        pos += n;
    }
    CHECK(ok);
    CHECK(count == want_count && count2 == want_count && got.len == want.len);
    CHECK(got.len == want.len &&
          memcmp(got.ids, want.ids, got.len * sizeof(uint32_t)) == 0);
    /* slices of 1000 bytes (ASCII: code points) counted separately */
    size_t sliced = 0, chunked = 0;
    for (size_t at = 0; at < len; at += 1000) {
        size_t c = 0;
        fl_bpe_encode(bpe, text + at, len - at < 1000 ? len - at : 1000,
                      NULL, &c);
        sliced += c;
    }
    CHECK(fl_bpe_count_chunked(bpe, text, len, 1000, &chunked) == FL_OK);
    CHECK(chunked == sliced);
    const unsigned char *texts[3] = {text, text + 5, text};
    size_t lens[3] = {len, 100, len}, chunks[3] = {0, 0, 1000}, counts[3];
    CHECK(fl_bpe_count_batch(bpe, 3, texts, lens, chunks, counts) == FL_OK);
    size_t c5 = 0;
    fl_bpe_encode(bpe, text + 5, 100, NULL, &c5);
    CHECK(counts[0] == want_count && counts[1] == c5 && counts[2] == sliced);
    fl_tokbuf_free(&got);
    fl_tokbuf_free(&want);
    free(text);
}

static void
test_duplicate_bytes_rejected(void)
{
    const char *dup = "YQ== 0\nYQ== 1\n"; /* "a" twice */
    struct fl_bpe *bpe = NULL;
    size_t bad = 0;
    CHECK(fl_bpe_load((const unsigned char *)dup, strlen(dup), FL_PAT_GPT2,
                      &bpe, &bad) == FL_EINVAL);
    CHECK(bpe == NULL && bad == 2);
}

int
main(void)
{
    size_t len = 0;
    unsigned char *file = make_rank_file(&len);
    struct fl_bpe *bpe = NULL;
    size_t bad = 0;
    CHECK(fl_bpe_load(file, len, FL_PAT_GPT2, &bpe, &bad) == FL_OK);
    free(file);
    if (bpe != NULL) {
        test_lookup_after_rebuilds(bpe);
        test_lookup_misses(bpe);
        test_merges_agree(bpe);
        test_long_text_with_memo(bpe);
        fl_bpe_free(bpe);
    }
    test_duplicate_bytes_rejected();
    return fl_check_report();
}
