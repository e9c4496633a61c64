/* fl_pretok.c - see fl_pretok.h for the contract.
 *
 * Each pattern is a function that tries its alternatives in order, as the
 * regex engine would.  Backtracking is replaced by what it computes:
 *   \s+(?!\S)      the whitespace run minus its last code point (if that
 *                  leaves one), or the whole run when it reaches the end;
 *   \s*[\r\n]      the run up to its last CR or LF;
 *   o200k's [U]*[W]+ where U and W overlap (Lm, Lo, M are in both): the
 *                  maximal U-run, then the W-run after it, or else the
 *                  U-run cut after its last W code point.
 * Every helper scans forward from a position and never backs up, so each
 * call costs O(what it scans); see the header for the linear bound.
 */
#include "fl_pretok.h"

#include <stdint.h>

#include "fl_uniprops.h"

#define UP_U FL_UP_UPPERISH
#define UP_W FL_UP_LOWERISH
#define UP_LNW (FL_UP_L | FL_UP_N | FL_UP_WS)

/* Decode the code point at t[i] (i < len): its FL_UP_* flags in *flags,
 * its length in bytes returned.  An ill-formed byte is one code point of
 * length 1 with no flags. */
static inline size_t
decode(const unsigned char *t, size_t len, size_t i, unsigned *flags)
{
    unsigned b0 = t[i];
    if (b0 < 0x80) {
        *flags = fl_uniprops_ascii[b0];
        return 1;
    }
    size_t avail = len - i;
    *flags = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (avail >= 2 && (t[i + 1] & 0xC0) == 0x80) {
            *flags = fl_uniprops(((uint32_t)(b0 & 0x1F) << 6) |
                                 (t[i + 1] & 0x3F));
            return 2;
        }
        return 1;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (avail < 3) {
            return 1;
        }
        unsigned b1 = t[i + 1], b2 = t[i + 2];
        unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
        unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
        if (b1 < lo || b1 > hi || (b2 & 0xC0) != 0x80) {
            return 1;
        }
        *flags = fl_uniprops(((uint32_t)(b0 & 0x0F) << 12) |
                             ((uint32_t)(b1 & 0x3F) << 6) | (b2 & 0x3F));
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (avail < 4) {
            return 1;
        }
        unsigned b1 = t[i + 1], b2 = t[i + 2], b3 = t[i + 3];
        unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
        unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
        if (b1 < lo || b1 > hi || (b2 & 0xC0) != 0x80 ||
            (b3 & 0xC0) != 0x80) {
            return 1;
        }
        *flags = fl_uniprops(((uint32_t)(b0 & 0x07) << 18) |
                             ((uint32_t)(b1 & 0x3F) << 12) |
                             ((uint32_t)(b2 & 0x3F) << 6) | (b3 & 0x3F));
        return 4;
    }
    return 1; /* continuation byte, C0, C1 or F5..FF */
}

/* End of the run of code points from i whose flags meet `mask`. */
static inline size_t
run_any(const unsigned char *t, size_t len, size_t i, unsigned mask)
{
    while (i < len) {
        unsigned char b = t[i];
        if (b < 0x80) {
            if (!(fl_uniprops_ascii[b] & mask)) {
                break;
            }
            i++;
        } else {
            unsigned f;
            size_t n = decode(t, len, i, &f);
            if (!(f & mask)) {
                break;
            }
            i += n;
        }
    }
    return i;
}

/* End of the run of code points from i that are none of L, N, White_Space
 * ([^\s\p{L}\p{N}]). */
static inline size_t
run_other(const unsigned char *t, size_t len, size_t i)
{
    while (i < len) {
        unsigned char b = t[i];
        if (b < 0x80) {
            if (fl_uniprops_ascii[b] & UP_LNW) {
                break;
            }
            i++;
        } else {
            unsigned f;
            size_t n = decode(t, len, i, &f);
            if (f & UP_LNW) {
                break;
            }
            i += n;
        }
    }
    return i;
}

/* End of the run of bytes from i that are CR, LF or (if `slash`) '/':
 * [\r\n]* or [\r\n/]*. */
static inline size_t
run_newlines(const unsigned char *t, size_t len, size_t i, int slash)
{
    while (i < len &&
           (t[i] == '\r' || t[i] == '\n' || (slash && t[i] == '/'))) {
        i++;
    }
    return i;
}

/* End of at most `max` N code points from i. */
static inline size_t
run_digits(const unsigned char *t, size_t len, size_t i, int max)
{
    for (int k = 0; k < max && i < len; k++) {
        unsigned f;
        size_t n = decode(t, len, i, &f);
        if (!(f & FL_UP_N)) {
            break;
        }
        i += n;
    }
    return i;
}

/* The White_Space run starting at a White_Space code point. */
struct ws_run {
    size_t end;      /* end of the run */
    size_t last;     /* start of its last code point */
    size_t crlf_end; /* end of its last CR or LF; 0 if it has none */
};

static inline struct ws_run
scan_ws(const unsigned char *t, size_t len, size_t i)
{
    struct ws_run r = {i, i, 0};
    while (i < len) {
        unsigned char b = t[i];
        size_t n = 1;
        if (b < 0x80) {
            if (!(fl_uniprops_ascii[b] & FL_UP_WS)) {
                break;
            }
            if (b == '\r' || b == '\n') {
                r.crlf_end = i + 1;
            }
        } else {
            unsigned f;
            n = decode(t, len, i, &f);
            if (!(f & FL_UP_WS)) {
                break;
            }
        }
        r.last = i;
        i += n;
    }
    r.end = i;
    return r;
}

static inline int
fold_eq(unsigned char c, char lower)
{
    return (c | 0x20) == (unsigned char)lower;
}

/* Length of a contraction suffix after the apostrophe at t[i - 1]:
 * [sdmt]|ll|ve|re, case-insensitively (s also matches U+017F) when `ci`.
 * 0 if none. */
static size_t
contraction(const unsigned char *t, size_t len, size_t i, int ci)
{
    if (i >= len) {
        return 0;
    }
    unsigned char c = t[i];
    if (ci) {
        if (fold_eq(c, 's') || fold_eq(c, 'd') || fold_eq(c, 'm') ||
            fold_eq(c, 't')) {
            return 1;
        }
        if (c == 0xC5 && i + 1 < len && t[i + 1] == 0xBF) { /* U+017F */
            return 2;
        }
        if (i + 1 < len) {
            unsigned char d = t[i + 1];
            if ((fold_eq(c, 'l') && fold_eq(d, 'l')) ||
                (fold_eq(c, 'v') && fold_eq(d, 'e')) ||
                (fold_eq(c, 'r') && fold_eq(d, 'e'))) {
                return 2;
            }
        }
        return 0;
    }
    if (c == 's' || c == 'd' || c == 'm' || c == 't') {
        return 1;
    }
    if (i + 1 < len) {
        unsigned char d = t[i + 1];
        if ((c == 'l' && d == 'l') || (c == 'v' && d == 'e') ||
            (c == 'r' && d == 'e')) {
            return 2;
        }
    }
    return 0;
}

/* GPT-2: '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++
 *        |\s++$|\s+(?!\S)|\s */
static size_t
next_gpt2(const unsigned char *t, size_t len, size_t pos)
{
    if (t[pos] == '\'') {
        size_t n = contraction(t, len, pos + 1, 0);
        if (n) {
            return 1 + n;
        }
    }
    size_t q = pos + (t[pos] == ' ');
    if (q < len) {
        unsigned f;
        size_t n = decode(t, len, q, &f);
        if (f & FL_UP_L) {
            return run_any(t, len, q + n, FL_UP_L) - pos;
        }
        if (f & FL_UP_N) {
            return run_any(t, len, q + n, FL_UP_N) - pos;
        }
        if (!(f & UP_LNW)) {
            return run_other(t, len, q + n) - pos;
        }
    }
    /* t[pos] is White_Space (anything else matched above). */
    struct ws_run r = scan_ws(t, len, pos);
    if (r.end == len) {
        return len - pos; /* \s++$ */
    }
    if (r.last > pos) {
        return r.last - pos; /* \s+(?!\S) */
    }
    return r.end - pos; /* \s */
}

/* cl100k: '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
 *         | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s */
static size_t
next_cl100k(const unsigned char *t, size_t len, size_t pos)
{
    unsigned char b = t[pos];
    if (b == '\'') {
        size_t n = contraction(t, len, pos + 1, 1);
        if (n) {
            return 1 + n;
        }
    }
    unsigned f0;
    size_t n0 = decode(t, len, pos, &f0);
    if (f0 & FL_UP_L) {
        return run_any(t, len, pos + n0, FL_UP_L) - pos;
    }
    if (!(f0 & FL_UP_N) && b != '\r' && b != '\n' && pos + n0 < len) {
        unsigned f1;
        size_t n1 = decode(t, len, pos + n0, &f1);
        if (f1 & FL_UP_L) {
            return run_any(t, len, pos + n0 + n1, FL_UP_L) - pos;
        }
    }
    if (f0 & FL_UP_N) {
        return run_digits(t, len, pos, 3) - pos;
    }
    size_t q = pos;
    unsigned fq = f0;
    size_t nq = n0;
    if (b == ' ' && pos + 1 < len) {
        q = pos + 1;
        nq = decode(t, len, q, &fq);
    }
    if (!(fq & UP_LNW)) {
        size_t e = run_other(t, len, q + nq);
        return run_newlines(t, len, e, 0) - pos;
    }
    /* t[pos] is White_Space. */
    struct ws_run r = scan_ws(t, len, pos);
    if (r.end == len) {
        return len - pos; /* \s++$ */
    }
    if (r.crlf_end) {
        return r.crlf_end - pos; /* \s*[\r\n] */
    }
    if (r.last > pos) {
        return r.last - pos; /* \s+(?!\S) */
    }
    return r.end - pos; /* \s */
}

/* o200k's optional (?i:'s|'t|'re|'ve|'m|'ll|'d) at e: the end after it. */
static inline size_t
o200k_suffix(const unsigned char *t, size_t len, size_t e)
{
    if (e < len && t[e] == '\'') {
        size_t n = contraction(t, len, e + 1, 1);
        if (n) {
            return e + 1 + n;
        }
    }
    return e;
}

/* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ at s, then the
 * suffix; the end of the match, or 0 if it fails. */
static size_t
o200k_lower(const unsigned char *t, size_t len, size_t s)
{
    size_t i = s, last_w_end = 0;
    unsigned f = 0;
    size_t n = 0;
    while (i < len) {
        n = decode(t, len, i, &f);
        if (!(f & UP_U)) {
            break;
        }
        if (f & UP_W) {
            last_w_end = i + n;
        }
        i += n;
    }
    size_t e;
    if (i < len && (f & UP_W)) {
        e = run_any(t, len, i + n, UP_W); /* the U-run, then a W-run */
    } else if (last_w_end) {
        e = last_w_end; /* backtracked: W+ is the U-run's last W */
    } else {
        return 0;
    }
    return o200k_suffix(t, len, e);
}

/* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* at s, then the
 * suffix; the end of the match, or 0 if it fails. */
static size_t
o200k_upper(const unsigned char *t, size_t len, size_t s)
{
    size_t i = run_any(t, len, s, UP_U);
    if (i == s) {
        return 0;
    }
    return o200k_suffix(t, len, run_any(t, len, i, UP_W));
}

/* o200k: see the header for the pattern. */
static size_t
next_o200k(const unsigned char *t, size_t len, size_t pos)
{
    unsigned char b = t[pos];
    unsigned f0;
    size_t n0 = decode(t, len, pos, &f0);
    /* [^\r\n\p{L}\p{N}]? can take t[pos]; greedy, so it tries that first */
    int prefix = !(f0 & (FL_UP_L | FL_UP_N)) && b != '\r' && b != '\n' &&
                 pos + n0 < len;
    size_t e;
    if (prefix && (e = o200k_lower(t, len, pos + n0)) != 0) {
        return e - pos;
    }
    if ((f0 & (UP_U | UP_W)) && (e = o200k_lower(t, len, pos)) != 0) {
        return e - pos;
    }
    if (prefix && (e = o200k_upper(t, len, pos + n0)) != 0) {
        return e - pos;
    }
    if ((f0 & UP_U) && (e = o200k_upper(t, len, pos)) != 0) {
        return e - pos;
    }
    if (f0 & FL_UP_N) {
        return run_digits(t, len, pos, 3) - pos;
    }
    size_t q = pos;
    unsigned fq = f0;
    size_t nq = n0;
    if (b == ' ' && pos + 1 < len) {
        q = pos + 1;
        nq = decode(t, len, q, &fq);
    }
    if (!(fq & UP_LNW)) {
        size_t e2 = run_other(t, len, q + nq);
        return run_newlines(t, len, e2, 1) - pos;
    }
    /* t[pos] is White_Space. */
    struct ws_run r = scan_ws(t, len, pos);
    if (r.crlf_end) {
        return r.crlf_end - pos; /* \s*[\r\n]+ */
    }
    if (r.end == len) {
        return len - pos; /* \s+(?!\S) at the end */
    }
    if (r.last > pos) {
        return r.last - pos; /* \s+(?!\S) */
    }
    return r.end - pos; /* \s+ */
}

size_t
fl_pretok_next(fl_pattern pat, const unsigned char *text, size_t len,
               size_t pos)
{
    if (text == NULL || pos >= len) {
        return 0;
    }
    switch (pat) {
    case FL_PAT_GPT2:
        return next_gpt2(text, len, pos);
    case FL_PAT_CL100K:
        return next_cl100k(text, len, pos);
    case FL_PAT_O200K:
        return next_o200k(text, len, pos);
    }
    return 0;
}
