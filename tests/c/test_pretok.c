/* Plain C tests of csrc/core/fl_pretok.c and fl_uniprops; prints
 * "N passed, N failed".  The exhaustive comparison with the regex module
 * and with tiktoken is tools/check_pretok.py; these are the tricky spots of
 * each pattern, the contract, ill-formed UTF-8 and linear time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_pretok.h"
#include "fl_uniprops.h"
#include "fl_check.h"

static const char *const pat_names[] = {"gpt2", "cl100k", "o200k"};

static void
print_escaped(const unsigned char *s, size_t n)
{
    fputc('"', stderr);
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\') {
            fputc(s[i], stderr);
        } else {
            fprintf(stderr, "\\x%02x", s[i]);
        }
    }
    fputc('"', stderr);
}

/* Split `text` (len bytes) into a heap copy of exactly len bytes, so ASan
 * and valgrind see any read past the end.  Returns the number of pieces
 * written to ends[] (at most cap), or -1 if the contract is broken. */
static long
split(fl_pattern pat, const char *text, size_t len, size_t *ends, size_t cap)
{
    unsigned char *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return -1;
    }
    memcpy(buf, text, len);
    size_t pos = 0, k = 0;
    long result = 0;
    while (pos < len) {
        size_t n = fl_pretok_next(pat, buf, len, pos);
        if (n < 1 || n > len - pos || k == cap) {
            result = -1;
            break;
        }
        pos += n;
        ends[k++] = pos;
    }
    free(buf);
    return result < 0 ? -1 : (long)k;
}

/* The pieces of `text` must be exactly the NULL-terminated `want`. */
static void
expect(int line, fl_pattern pat, const char *text, const char *const *want)
{
    size_t len = strlen(text), ends[64];
    long n = split(pat, text, len, ends, 64);
    int ok = n >= 0;
    size_t start = 0;
    long i = 0;
    for (; ok && want[i] != NULL; i++) {
        size_t wl = strlen(want[i]);
        ok = i < n && ends[i] - start == wl &&
             memcmp(text + start, want[i], wl) == 0;
        start = i < n ? ends[i] : start;
    }
    ok = ok && i == n;
    if (ok) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAIL %s:%d: %s ", __FILE__, line, pat_names[pat]);
    print_escaped((const unsigned char *)text, len);
    fprintf(stderr, " -> ");
    start = 0;
    for (long j = 0; j < n; j++) {
        print_escaped((const unsigned char *)text + start, ends[j] - start);
        fputc(j + 1 < n ? '|' : '\n', stderr);
        start = ends[j];
    }
    if (n <= 0) {
        fprintf(stderr, "(%ld)\n", n);
    }
}

#define SPLIT(pat, text, ...)                                             \
    expect(__LINE__, (pat), (text), (const char *const[]){__VA_ARGS__, NULL})

static void
test_gpt2(void)
{
    const fl_pattern P = FL_PAT_GPT2;
    SPLIT(P, "hello world", "hello", " world");
    SPLIT(P, "I'm here", "I", "'m", " here");
    SPLIT(P, "we'll've'd're's't", "we", "'ll", "'ve", "'d", "'re", "'s",
          "'t");
    /* case-sensitive: 'T is punctuation then a letter */
    SPLIT(P, "DON'T", "DON", "'", "T");
    SPLIT(P, "x'\xc5\xbf", "x", "'", "\xc5\xbf"); /* no folding: 'ſ */
    SPLIT(P, "'", "'");
    SPLIT(P, "'l", "'", "l");
    SPLIT(P, " 'll", " '", "ll");
    SPLIT(P, "  hello", " ", " hello");
    SPLIT(P, "a \n b", "a", " \n", " b");
    SPLIT(P, "hello   ", "hello", "   "); /* \s++$ */
    SPLIT(P, "a  ", "a", "  ");
    SPLIT(P, " ", " ");
    SPLIT(P, "a\tb", "a", "\t", "b"); /* \s: one char before \S */
    SPLIT(P, "a\t\tb", "a", "\t", "\t", "b"); /* only ' ' prefixes */
    SPLIT(P, "123456 789", "123456", " 789");
    SPLIT(P, "!!!  ?", "!!!", " ", " ?");
    SPLIT(P, "\xc2\xa0word", "\xc2\xa0", "word"); /* NBSP is \s, not ' ' */
    SPLIT(P, "a\x1c" "b", "a", "\x1c", "b");     /* U+001C is not \s */
    SPLIT(P, "x\r\n\r\ny", "x", "\r\n\r", "\n", "y");
    SPLIT(P, "x \t\ty", "x", " \t", "\t", "y");
    SPLIT(P, "caf\x65\xcc\x81s", "cafe", "\xcc\x81", "s"); /* M is not L */
}

static void
test_cl100k(void)
{
    const fl_pattern P = FL_PAT_CL100K;
    SPLIT(P, "hello world", "hello", " world");
    SPLIT(P, "I'M HERE", "I", "'M", " HERE"); /* (?i:...) */
    SPLIT(P, "WE'LL'Ve'RE", "WE", "'LL", "'Ve", "'RE");
    SPLIT(P, "x'\xc5\xbf" "a", "x", "'\xc5\xbf", "a"); /* ſ folds to s */
    SPLIT(P, "x'\xe2\x84\xaa", "x", "'\xe2\x84\xaa"); /* Kelvin: letter */
    SPLIT(P, "'hello", "'hello");
    SPLIT(P, "(hello)", "(hello", ")");
    SPLIT(P, "\thello", "\thello");
    SPLIT(P, "\nhello", "\n", "hello"); /* \r\n not in the prefix class */
    SPLIT(P, "\xe3\x80\x80x", "\xe3\x80\x80x");
    SPLIT(P, "1234567", "123", "456", "7");
    SPLIT(P, "12abc", "12", "abc");
    SPLIT(P, "\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6", "\xd9\xa3\xd9\xa4\xd9\xa5",
          "\xd9\xa6");
    SPLIT(P, "hello\n\nworld", "hello", "\n\n", "world");
    SPLIT(P, "a  \n  b", "a", "  \n", " ", " b"); /* \s*[\r\n] */
    SPLIT(P, "abc  ", "abc", "  ");               /* \s++$ */
    SPLIT(P, "x\n  ", "x", "\n  ");
    SPLIT(P, "x\r\n", "x", "\r\n");
    SPLIT(P, "...\n\nx", "...\n\n", "x");
    SPLIT(P, "x ...\r\n", "x", " ...\r\n");
    SPLIT(P, "x  ;", "x", " ", " ;");
    SPLIT(P, " \xe3\x80\x80x", " ", "\xe3\x80\x80x");
    SPLIT(P, "a\x1c" "b", "a", "\x1c" "b");
    SPLIT(P, "a\xc2\x85" "b", "a", "\xc2\x85" "b"); /* NEL: \s, prefix */
    SPLIT(P, "caf\x65\xcc\x81s", "cafe", "\xcc\x81s");
    SPLIT(P, " \xf0\x9f\x98\x80\xe2\x80\x8d\xf0\x9f\x98\x80!",
          " \xf0\x9f\x98\x80\xe2\x80\x8d\xf0\x9f\x98\x80!");
}

static void
test_o200k(void)
{
    const fl_pattern P = FL_PAT_O200K;
    SPLIT(P, "HelloWorld", "Hello", "World");
    SPLIT(P, "helloWorld", "hello", "World");
    SPLIT(P, "HELLOworld", "HELLOworld");
    SPLIT(P, "HTMLParser", "HTMLParser");
    SPLIT(P, "getHTTPResponse", "get", "HTTPResponse");
    SPLIT(P, "ABC DEF", "ABC", " DEF");
    SPLIT(P, "I'M", "I'M"); /* the second branch, with the suffix */
    SPLIT(P, "don't", "don't");
    SPLIT(P, "DON'T", "DON'T");
    SPLIT(P, "x'\xc5\xbf", "x'\xc5\xbf");
    SPLIT(P, "x'\xc5\xbf" "a", "x'\xc5\xbf", "a");
    SPLIT(P, "it'sok", "it's", "ok");
    SPLIT(P, "'s", "'s");
    SPLIT(P, "x'", "x", "'");
    SPLIT(P, "\xc7\x85ungla", "\xc7\x85ungla"); /* Lt then Ll */
    SPLIT(P, "cafe\xcc\x81s", "cafe\xcc\x81s");  /* marks are in both */
    /* a mark, then Lu: U* must give back the letter, W+ is the mark */
    SPLIT(P, "\xcc\x81" "A", "\xcc\x81", "A");
    SPLIT(P, "\xcc\x81" "Ab", "\xcc\x81" "Ab");
    /* Lo is in both classes: backtracking ends the piece after it */
    SPLIT(P, "\xe6\x97\xa5\xe6\x9c\xac" "A", "\xe6\x97\xa5\xe6\x9c\xac", "A");
    SPLIT(P, "\xe6\x97\xa5" "A\xe6\x97\xa5" "AB",
          "\xe6\x97\xa5" "A\xe6\x97\xa5", "AB");
    SPLIT(P, "\xca\xb0" "AB", "\xca\xb0", "AB"); /* Lm */
    SPLIT(P, "1234567", "123", "456", "7");
    SPLIT(P, "a/b//\n/c", "a", "/b", "//\n/", "c"); /* [\r\n/]* */
    SPLIT(P, "...\r\n/x", "...\r\n/", "x");
    SPLIT(P, " ?!", " ?!");
    SPLIT(P, "foo  \n\n  bar", "foo", "  \n\n", " ", " bar");
    SPLIT(P, "x  ", "x", "  "); /* \s+(?!\S) at the end */
    SPLIT(P, "x \n ", "x", " \n", " ");
    SPLIT(P, "a\r\nb", "a", "\r\n", "b");
    SPLIT(P, "a\tb", "a", "\tb");
    SPLIT(P, "a \xc2\xa0 b", "a", " \xc2\xa0", " b");
    SPLIT(P, "\xe2\x9d\xa4\xef\xb8\x8f", "\xe2\x9d\xa4\xef\xb8\x8f");
    SPLIT(P, "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd!",
          "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd!");
    SPLIT(P, "a\xe1\xa0\x8e" "b", "a", "\xe1\xa0\x8e" "b"); /* U+180E */
    SPLIT(P, "a\xe2\x80\xa8" "b", "a", "\xe2\x80\xa8" "b"); /* U+2028 */
}

static void
test_ill_formed(void)
{
    SPLIT(FL_PAT_O200K, "\xff\xfe", "\xff\xfe");
    SPLIT(FL_PAT_CL100K, "a\xff" "b", "a", "\xff" "b");
    SPLIT(FL_PAT_CL100K, "\xe6\x97", "\xe6\x97"); /* cut short */
    SPLIT(FL_PAT_CL100K, "\xc3" "a", "\xc3" "a");
    SPLIT(FL_PAT_GPT2, "a\xed\xa0\x80" "b", "a", "\xed\xa0\x80", "b");
    SPLIT(FL_PAT_GPT2, "\xc0\xaf/", "\xc0\xaf/");          /* overlong */
    SPLIT(FL_PAT_GPT2, "\xf4\x90\x80\x80", "\xf4\x90\x80\x80"); /* >10FFFF */
    SPLIT(FL_PAT_O200K, "\x80" "abc", "\x80" "abc");

    /* Random bytes: the contract holds and no piece splits a well-formed
     * sequence.  ASan / valgrind check the reads (exact-size buffers). */
    uint32_t x = 12345;
    int ok = 1;
    for (int round = 0; round < 20000 && ok; round++) {
        char text[24];
        size_t len = 1 + round % 23;
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            unsigned r = x >> 16;
            static const unsigned char pick[] = {
                'a', 'A', ' ', '\n', '\r', '\'', 's', '1', '/',
                0x80, 0xBF, 0xC3, 0xA9, 0xE6, 0x97, 0xA5, 0xF0, 0x9F,
                0x98, 0xCC, 0xC5, 0xED, 0xA0, 0xF4, 0x90, 0xFF, 0xE3};
            text[i] = (char)pick[r % sizeof pick];
        }
        for (int p = 0; p < 3 && ok; p++) {
            size_t ends[32];
            long n = split((fl_pattern)p, text, len, ends, 32);
            ok = n >= 1 && ends[n - 1] == len;
        }
    }
    CHECK(ok);
}

static void
test_contract(void)
{
    const unsigned char t[] = "ab";
    CHECK(fl_pretok_next(FL_PAT_GPT2, t, 2, 2) == 0);
    CHECK(fl_pretok_next(FL_PAT_GPT2, t, 2, 5) == 0);
    CHECK(fl_pretok_next(FL_PAT_GPT2, NULL, 2, 0) == 0);
    CHECK(fl_pretok_next((fl_pattern)3, t, 2, 0) == 0);
    CHECK(fl_pretok_next(FL_PAT_O200K, t, 2, 1) == 1);
    /* the subject is text[0..len): `$` is len, not the NUL */
    const unsigned char u[] = "ab  cd";
    CHECK(fl_pretok_next(FL_PAT_CL100K, u, 4, 2) == 2);
    CHECK(fl_pretok_next(FL_PAT_CL100K, u, 6, 2) == 1);
}

static void
test_uniprops(void)
{
    const unsigned L = FL_UP_L, N = FL_UP_N, U = FL_UP_UPPERISH,
                   W = FL_UP_LOWERISH, S = FL_UP_WS;
    CHECK(strcmp(fl_uniprops_unicode_version, "16.0.0") == 0);
    CHECK(fl_uniprops('a') == (L | W));
    CHECK(fl_uniprops('A') == (L | U));
    CHECK(fl_uniprops('7') == N);
    CHECK(fl_uniprops(' ') == S);
    CHECK(fl_uniprops('\'') == 0);
    CHECK(fl_uniprops(0x1C) == 0); /* not White_Space */
    CHECK(fl_uniprops(0x85) == S);
    CHECK(fl_uniprops(0xA0) == S);
    CHECK(fl_uniprops(0x180E) == 0);
    CHECK(fl_uniprops(0x200B) == 0);
    CHECK(fl_uniprops(0x2028) == S);
    CHECK(fl_uniprops(0x3000) == S);
    CHECK(fl_uniprops(0x01C5) == (L | U));     /* Lt */
    CHECK(fl_uniprops(0x02B0) == (L | U | W)); /* Lm */
    CHECK(fl_uniprops(0x65E5) == (L | U | W)); /* Lo */
    CHECK(fl_uniprops(0x0301) == (U | W));     /* Mn */
    CHECK(fl_uniprops(0x0903) == (U | W));     /* Mc */
    CHECK(fl_uniprops(0x20DD) == (U | W));     /* Me */
    CHECK(fl_uniprops(0xE0100) == (U | W));    /* VS17, Mn */
    CHECK(fl_uniprops(0x2163) == N);           /* Nl */
    CHECK(fl_uniprops(0xBD) == N);             /* No */
    CHECK(fl_uniprops(0x017F) == (L | W));
    CHECK(fl_uniprops(0x212A) == (L | U));
    /* Unicode 16.0 exactly: new in 16.0 yes, new in 17.0 no */
    CHECK(fl_uniprops(0x1CCF0) == N);
    CHECK(fl_uniprops(0x0897) == (U | W));
    CHECK(fl_uniprops(0x2EBF0) == (L | U | W)); /* 15.1 */
    CHECK(fl_uniprops(0x0295) == (L | W));      /* Lo from 17.0 */
    CHECK(fl_uniprops(0x10940) == 0);           /* Sidetic, 17.0 */
    CHECK(fl_uniprops(0xD800) == 0);
    CHECK(fl_uniprops(0xE000) == 0);
    CHECK(fl_uniprops(0x10FFFF) == 0);
    CHECK(fl_uniprops(0x110000) == 0);
    CHECK(fl_uniprops(0xFFFFFFFFu) == 0);
    int same = 1;
    for (unsigned c = 0; c < 128; c++) {
        same &= fl_uniprops(c) == fl_uniprops_ascii[c];
    }
    CHECK(same);
}

/* Seconds to split buf[0..len) with `pat`; -1 if the contract breaks. */
static double
split_time(fl_pattern pat, const unsigned char *buf, size_t len)
{
    clock_t t0 = clock();
    size_t pos = 0;
    while (pos < len) {
        size_t n = fl_pretok_next(pat, buf, len, pos);
        if (n < 1 || n > len - pos) {
            return -1;
        }
        pos += n;
    }
    return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* 1 MB of a repeated unit must split in about 16x the time of 64 KB (a
 * quadratic scanner would take 256x, or hours). */
static void
test_linear_time(void)
{
    static const char *const units[] = {
        "a", " ", "1", "\n", " \n", "\xf0\x9f\x98\x80", "aB", "A", "'",
        "'s", "'S", "\xe6\x97\xa5", "\xca\xb0" "A", "A\xcc\x81", "/", "x ",
        "\xcc\x81", "\xe3\x80\x80", "\xff", "\r\n", " !", "Hello",
    };
    const size_t big = (size_t)1 << 20, small = (size_t)1 << 16;
    unsigned char *buf = malloc(big + 8);
    if (buf == NULL) {
        CHECK(0);
        return;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]), len = 0;
        while (len + ul <= big) {
            memcpy(buf + len, units[u], ul);
            len += ul;
        }
        /* a tail that makes every run end at a different class */
        const unsigned char *tails[] = {
            (const unsigned char *)"", (const unsigned char *)"A",
            (const unsigned char *)"\xcc\x81" "A"};
        for (size_t k = 0; k < 3; k++) {
            size_t tl = strlen((const char *)tails[k]);
            size_t n_big = len, n_small = small - small % ul;
            memcpy(buf + n_big, tails[k], tl);
            for (int p = 0; p < 3; p++) {
                /* the small run is a prefix of the big one plus the tail */
                unsigned char *sb = malloc(n_small + tl);
                if (sb == NULL) {
                    CHECK(0);
                    continue;
                }
                memcpy(sb, buf, n_small);
                memcpy(sb + n_small, tails[k], tl);
                double ts = split_time((fl_pattern)p, sb, n_small + tl);
                double tb = split_time((fl_pattern)p, buf, n_big + tl);
                free(sb);
                int ok = ts >= 0 && tb >= 0 && tb <= 48 * ts + 0.25;
                if (!ok) {
                    fprintf(stderr, "FAIL linear: %s unit %zu tail %zu: "
                            "64K %.4fs 1M %.4fs\n", pat_names[p], u, k, ts,
                            tb);
                }
                CHECK(ok);
            }
        }
    }
    free(buf);
}

int
main(void)
{
    test_gpt2();
    test_cl100k();
    test_o200k();
    test_ill_formed();
    test_contract();
    test_uniprops();
    test_linear_time();
    return fl_check_report();
}
