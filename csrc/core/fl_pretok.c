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
#include <string.h>

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

/* ASCII fast paths.  Most pieces of English text and code start with an
 * ASCII byte and are made of ASCII letters, digits or spaces; the helpers
 * below return for them exactly what the general scanners compute, without
 * decode(), and return 0 (defer to the general scanner) whenever a
 * non-ASCII byte could change the answer.  In ASCII, \p{L} is A-Z and a-z,
 * the o200k upper class is A-Z, the lower class a-z, and \p{N} is 0-9. */
static inline int
ascii_lower(unsigned char c)
{
    return (unsigned)(c - 'a') < 26;
}

static inline int
ascii_letter(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26;
}

static inline int
ascii_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10;
}

/* Runs of ASCII letters eight bytes at a time where the host allows it
 * (little-endian, a count-trailing-zeros builtin), else a byte at a time;
 * the same result either way.  A word's bytes are tested as lanes: a lane
 * x (high bit clear) is in [lo, hi] iff x + (0x80 - lo) reaches bit 7 and
 * x + (0x7F - hi) does not (no lane carries into the next: x <= 0x7F). */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FL_SWAR 1
#define LANES(b) ((uint64_t)(b) * UINT64_C(0x0101010101010101))
#define HIGH LANES(0x80)

/* Lanes (bit 7 of each byte) of the 8 bytes at p in [lo, hi], after OR-ing
 * each byte with `fold` (0x20 folds A-Z onto a-z). */
static inline uint64_t
lanes_in(const unsigned char *p, unsigned char lo, unsigned char hi,
         unsigned char fold)
{
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t x = (w & LANES(0x7F)) | LANES(fold);
    uint64_t ge = x + LANES(0x80 - lo);
    uint64_t gt = x + LANES(0x7F - hi);
    return ~w & ge & ~gt & HIGH;
}
#endif

/* End of the run from i of ASCII bytes that are in [lo, hi] once OR-ed with
 * `fold`. */
static inline size_t
run_ascii(const unsigned char *t, size_t len, size_t i, unsigned char lo,
          unsigned char hi, unsigned char fold)
{
#ifdef FL_SWAR
    while (len - i >= 8) {
        uint64_t out = ~lanes_in(t + i, lo, hi, fold) & HIGH;
        if (out != 0) {
            return i + (size_t)(__builtin_ctzll(out) >> 3);
        }
        i += 8;
    }
#endif
    while (i < len && (unsigned)((t[i] | fold) - lo) <= (unsigned)(hi - lo)) {
        i++;
    }
    return i;
}

/* The run of \p{L} from i, ASCII letters first. */
static inline size_t
run_letters(const unsigned char *t, size_t len, size_t i)
{
    i = run_ascii(t, len, i, 'a', 'z', 0x20);
    if (i < len && t[i] >= 0x80) {
        i = run_any(t, len, i, FL_UP_L);
    }
    return i;
}

/* t[pos] == ' ' (cl100k and o200k): two or more spaces followed by an ASCII
 * byte that is not White_Space.  Nothing before \s+(?!\S) can match (the
 * letter alternatives fail on the second space, the others need a non-space
 * or a CR/LF), and that takes the run minus its last space. */
static inline size_t
spaces_fast(const unsigned char *t, size_t len, size_t pos)
{
    size_t j = pos + 1;
    while (j < len && t[j] == ' ') {
        j++;
    }
    if (j - pos < 2 || j == len || t[j] >= 0x80 ||
        (fl_uniprops_ascii[t[j]] & FL_UP_WS)) {
        return 0;
    }
    return j - 1 - pos;
}

/* o200k and cl100k, t[pos] ASCII and neither a letter nor a digit, and no
 * letter alternative can match (the next byte, if any, is an ASCII
 * non-letter): the piece of ` ?[^\s\p{L}\p{N}]+` + newlines, the single
 * space before a digit, or the LF before an ASCII non-space.  0 if none of
 * these applies.  `slash` as in run_newlines. */
static inline size_t
other_fast(const unsigned char *t, size_t len, size_t pos, int slash)
{
    unsigned char b = t[pos];
    unsigned char c = pos + 1 < len ? t[pos + 1] : 0; /* 0: no next byte */
    if (c >= 0x80 || ascii_letter(c)) {
        return 0;
    }
    unsigned fb = fl_uniprops_ascii[b], fc = fl_uniprops_ascii[c];
    size_t q;
    if (!(fb & UP_LNW)) {
        q = pos; /* [^\s\p{L}\p{N}]+ from b */
    } else if (b == ' ' && pos + 1 < len && !(fc & UP_LNW)) {
        q = pos + 1; /* ' ' then [^\s\p{L}\p{N}]+ from c */
    } else if (b == ' ' && (fc & FL_UP_N)) {
        return 1; /* \s+(?!\S) fails, \s+ takes the space */
    } else if (b == '\n' && (pos + 1 == len || !(fc & FL_UP_WS))) {
        return 1; /* \s*[\r\n]+ (cl100k: \s++$ or \s*[\r\n]) */
    } else {
        return 0;
    }
    return run_newlines(t, len, run_other(t, len, q + 1), slash) - pos;
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
    if (b < 0x80) {
        /* [^\r\n\p{L}\p{N}]?+\p{L}++, \p{N}{1,3}+ and runs of spaces */
        if (ascii_letter(b)) {
            return run_letters(t, len, pos + 1) - pos;
        }
        if (ascii_digit(b)) {
            return run_digits(t, len, pos, 3) - pos;
        }
        if (b != '\r' && b != '\n' && pos + 1 < len &&
            ascii_letter(t[pos + 1])) {
            return run_letters(t, len, pos + 2) - pos;
        }
        size_t n = b == ' ' ? spaces_fast(t, len, pos) : 0;
        if (n == 0) {
            n = other_fast(t, len, pos, 0);
        }
        if (n) {
            return n;
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

/* o200k, t[pos] ASCII: the letter alternatives when their letters start
 * with an ASCII letter, at pos or after a one-byte prefix.  Then one of
 * them matches: U* is the run of A-Z; if an a-z follows, the first
 * alternative takes the W-run from there; otherwise it fails (no ASCII
 * upper letter is in W) and the second takes the A-Z run alone.  Defers
 * if the A-Z run stops at a non-ASCII byte. */
static inline size_t
o200k_ascii(const unsigned char *t, size_t len, size_t pos)
{
    unsigned char b = t[pos];
    size_t s = pos;
    if (!ascii_letter(b)) {
        if (ascii_digit(b) || b == '\r' || b == '\n' || pos + 1 == len ||
            !ascii_letter(t[pos + 1])) {
            return 0;
        }
        s = pos + 1; /* [^\r\n\p{L}\p{N}]? takes b */
    }
    size_t i;
#ifdef FL_SWAR
    /* one load for the common case: the word's A-Z run and a-z run end
     * within these 8 bytes */
    if (len - s >= 8) {
        uint64_t up = lanes_in(t + s, 'A', 'Z', 0);
        uint64_t lo = lanes_in(t + s, 'a', 'z', 0);
        uint64_t not_up = ~up & HIGH;
        if (not_up != 0) {
            unsigned k = (unsigned)__builtin_ctzll(not_up); /* bit 7 of lane */
            uint64_t not_lo = ~lo & HIGH & (~UINT64_C(0) << k);
            if (((lo >> k) & 1) && not_lo != 0) {
                size_t e = s + (size_t)(__builtin_ctzll(not_lo) >> 3);
                if (t[e] < 0x80) {
                    return o200k_suffix(t, len, e) - pos;
                }
            } else if (!((lo >> k) & 1) && t[s + (k >> 3)] < 0x80) {
                return o200k_suffix(t, len, s + (k >> 3)) - pos;
            }
        }
    }
#endif
    i = run_ascii(t, len, s, 'A', 'Z', 0);
    if (i < len && t[i] >= 0x80) {
        return 0;
    }
    size_t e = i;
    if (i < len && ascii_lower(t[i])) {
        e = run_ascii(t, len, i + 1, 'a', 'z', 0);
        if (e < len && t[e] >= 0x80) {
            e = run_any(t, len, e, UP_W); /* a-z, then any other W */
        }
    }
    return o200k_suffix(t, len, e) - pos;
}

/* The general scanners stay out of line: the ASCII fast paths, which end
 * most calls, then need few registers saved and restored per piece. */
#if defined(__GNUC__)
#define FL_COLD __attribute__((noinline))
#else
#define FL_COLD
#endif

static FL_COLD size_t next_o200k_general(const unsigned char *t, size_t len,
                                         size_t pos);

/* o200k: see the header for the pattern. */
static inline size_t
next_o200k(const unsigned char *t, size_t len, size_t pos)
{
    unsigned char b = t[pos];
    if (b < 0x80) {
        if (ascii_digit(b)) {
            return run_digits(t, len, pos, 3) - pos;
        }
        size_t n = o200k_ascii(t, len, pos);
        if (n == 0 && b == ' ') {
            n = spaces_fast(t, len, pos);
        }
        if (n == 0) {
            n = other_fast(t, len, pos, 1);
        }
        if (n) {
            return n;
        }
    }
    return next_o200k_general(t, len, pos);
}

static size_t
next_o200k_general(const unsigned char *t, size_t len, size_t pos)
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
