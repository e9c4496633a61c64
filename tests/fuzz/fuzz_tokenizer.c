/* fuzz_tokenizer.c - libFuzzer target for the C tokenizer (fl_pretok, fl_bpe).
 *
 * Input: one selector byte (encoding), then arbitrary bytes as the text.
 * Checked on every input, for the three patterns:
 *   - fl_pretok_next tiles the text: every piece is 1..rest bytes long;
 *     on well-formed UTF-8 no piece ends inside a code point;
 *   - fl_bpe_encode's ids decode back to exactly the input bytes, and the
 *     count-only mode gives the same number of ids;
 *   - the heap merge equals the quadratic reference (tiktoken's loop) on
 *     the whole input taken as one piece (up to 4 KB);
 *   - (inputs whose selector byte has bit 6 set) the input repeated past 4 KB (so that fl_bpe_encode keeps its merge
 *     memo and hits it): the same ids as the reference merge of every
 *     piece, and fl_bpe_count_chunked equals the counts of its slices.
 * Rank files: FL_FUZZ_RANKS = "<cl100k file>:<o200k file>:<p50k file>".
 *
 *   make fuzz FUZZ_SECONDS=60
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_bpe.h"
#include "fl_pretok.h"

static struct fl_bpe *enc[3];

static unsigned char *
slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)len + 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return buf;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *spec = getenv("FL_FUZZ_RANKS");
    char *copy = spec ? strdup(spec) : NULL;
    char *save = NULL;
    const fl_pattern pats[3] = {FL_PAT_CL100K, FL_PAT_O200K, FL_PAT_GPT2};
    char *path = copy ? strtok_r(copy, ":", &save) : NULL;
    for (int i = 0; i < 3; i++, path = strtok_r(NULL, ":", &save)) {
        size_t n = 0, bad = 0;
        unsigned char *data = path ? slurp(path, &n) : NULL;
        if (data == NULL || fl_bpe_load(data, n, pats[i], &enc[i], &bad)) {
            fprintf(stderr, "FL_FUZZ_RANKS: cannot load rank file %d\n", i);
            abort();
        }
        free(data);
    }
    free(copy);
    return 0;
}

static int
utf8_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

static int
valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || !utf8_continuation(s[i + j])) {
                return 0;
            }
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

/* text repeated to just over 4 KiB: see the header. */
static void
check_repeated(const struct fl_bpe *bpe, fl_pattern pat,
               const unsigned char *text, size_t len)
{
    size_t big_len = 0, pos = 0, ref_count = 0, count = 0, chunked = 0;
    size_t sliced = 0;
    const size_t slice = 700; /* bytes; compared as code points below */
    struct fl_tokbuf got = {0}, ref = {0};
    unsigned char *big = malloc(4200 + len);
    if (big == NULL) {
        return;
    }
    while (big_len < 4200) {
        memcpy(big + big_len, text, len);
        big_len += len;
    }
    if (fl_bpe_encode(bpe, big, big_len, &got, &count) != FL_OK) {
        __builtin_trap();
    }
    while (pos < big_len) {
        size_t n = fl_pretok_next(pat, big, big_len, pos);
        /* (the reference loop is quadratic: long pieces take the heap
         * merge, checked against it above) */
        if (fl_bpe_merge_piece(bpe, big + pos, n, n <= 256, &ref,
                               &ref_count) != FL_OK) {
            __builtin_trap();
        }
        pos += n;
    }
    if (got.len != ref.len || count != ref_count ||
        memcmp(got.ids, ref.ids, got.len * sizeof(uint32_t)) != 0) {
        __builtin_trap();
    }
    /* slices of `slice` code points, found the slow way */
    for (size_t at = 0; at < big_len;) {
        size_t end = at + 1, cps = 1, c = 0;
        while (end < big_len && !((big[end] & 0xC0) != 0x80 && cps++ == slice)) {
            end++;
        }
        if (fl_bpe_encode(bpe, big + at, end - at, NULL, &c) != FL_OK) {
            __builtin_trap();
        }
        sliced += c;
        at = end;
    }
    if (fl_bpe_count_chunked(bpe, big, big_len, slice, &chunked) != FL_OK ||
        chunked != sliced) {
        __builtin_trap();
    }
    fl_tokbuf_free(&got);
    fl_tokbuf_free(&ref);
    free(big);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_tokbuf ids = {0}, a = {0}, b = {0};
    unsigned char *back = NULL;
    size_t back_len = 0, bad = 0, count = 0, count2 = 0, ca = 0, cb = 0;
    const fl_pattern pats[3] = {FL_PAT_CL100K, FL_PAT_O200K, FL_PAT_GPT2};
    if (size < 1) {
        return 0;
    }
    int which = data[0] % 3;
    const uint8_t *text = data + 1;
    size_t len = size - 1;
    int utf8 = valid_utf8(text, len);

    for (size_t p = 0; p < len;) {
        size_t n = fl_pretok_next(pats[which], text, len, p);
        if (n == 0 || n > len - p) {
            __builtin_trap();
        }
        p += n;
        if (utf8 && p < len && utf8_continuation(text[p])) {
            __builtin_trap(); /* a piece ended inside a code point */
        }
    }
    if (fl_bpe_encode(enc[which], text, len, &ids, &count) != FL_OK ||
        fl_bpe_encode(enc[which], text, len, NULL, &count2) != FL_OK ||
        count != ids.len || count2 != count) {
        __builtin_trap();
    }
    if (fl_bpe_decode(enc[which], ids.ids, ids.len, &back, &back_len,
                      &bad) != FL_OK ||
        back_len != len || (len && memcmp(back, text, len) != 0)) {
        __builtin_trap();
    }
    if (len <= 4096) {
        if (fl_bpe_merge_piece(enc[which], text, len, 0, &a, &ca) != FL_OK ||
            fl_bpe_merge_piece(enc[which], text, len, 1, &b, &cb) != FL_OK ||
            a.len != b.len ||
            (a.len && memcmp(a.ids, b.ids, a.len * sizeof(uint32_t)) != 0)) {
            __builtin_trap();
        }
    }
    if ((data[0] & 0x40) && len > 0 && len <= 2048) { /* half the inputs */
        check_repeated(enc[which], pats[which], text, len);
    }
    free(back);
    fl_tokbuf_free(&ids);
    fl_tokbuf_free(&a);
    fl_tokbuf_free(&b);
    return 0;
}
