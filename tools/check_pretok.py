"""Differential check of the C pre-tokeniser (csrc/core/fl_pretok.c) against
oracles, for the three tiktoken patterns.

    python tools/check_pretok.py              # the `regex` module oracle
    python tools/check_pretok.py --tiktoken   # and tiktoken itself, exactly

Needs a C compiler, `pip install -r tools/requirements-unicode.txt`, and
tiktoken for --tiktoken.  Builds a small shared library (fl_pretok.c,
fl_uniprops_data.c and the driver below) in a temporary directory and
calls it with ctypes.

Oracle 1, the PyPI `regex` module running tiktoken's own pattern strings
(possessives and \\p{..} included; its `$` also matches before a final
newline, which cannot change these patterns: `$` only follows `\\s++`, which
has already taken any newline).  It compares piece ends, in code points, on
  * tables: fl_uniprops() for every code point vs unicodedata2 (must be
    equal) and vs the regex module's \\p{L}, \\p{N}, the two o200k classes
    and \\s;
  * every code point c (surrogates excepted) in the contexts c, "a"c"a",
    " "c"1", "1"c, c"'s", "A"c"A", "'"c"x", c c" ";
  * random strings from pools of letters of several scripts, Lt/Lm/Lo,
    marks, digits (Nd/Nl/No), every White_Space character, U+001C..U+001F,
    U+180E, U+200B, CR/LF, apostrophes, U+017F, the Kelvin sign, emoji with
    ZWJ and variation selectors, slashes, format and unassigned characters;
  * long runs (spaces, newlines, digits, one letter, mixed case, marks,
    apostrophes, emoji);
  * byte strings with ill-formed UTF-8, where the documented rule (each
    ill-formed byte is one code point without properties) is checked against
    the regex module on the text decoded with one U+FFFD per such byte.
The regex module has newer Unicode data than tiktoken (regex 2026.11.19:
Unicode 18.0.0; tiktoken 0.14.0: 16.0.0).  Code points
whose flags differ between the two are listed, and any text containing one
is left out of oracle 1 (counted); oracle 2 covers them.

Oracle 2 (--tiktoken), tiktoken 0.14.0 itself: every code point (surrogates
excepted: tiktoken replaces them) in contexts, plus random strings.  For a
batch of texts it builds tiktoken.Encoding(pat_str=<the real pattern>,
mergeable_ranks=<the 256 bytes + every substring of every text>): each piece
tiktoken's regex cuts is then in the vocabulary and comes back as exactly one
token, so the token sequence is the piece sequence, and it must equal the C
scanner's pieces mapped to the same tokens.
"""

import argparse
import ctypes
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from array import array

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "csrc", "core")

GPT2 = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$"""
    r"""|\s+(?!\S)|\s"""
)
CL100K = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
    r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PARTS = [
    (r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*"""
     r"""[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"""),
    (r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"""
     r"""[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"""),
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
]
O200K = "|".join(O200K_PARTS)
PATTERNS = [("gpt2", 0, GPT2), ("cl100k", 1, CL100K), ("o200k", 2, O200K)]

FL_UP_L, FL_UP_N, FL_UP_U, FL_UP_W, FL_UP_WS = 1, 2, 4, 8, 16
MAX_CP = 0x10FFFF

DRIVER = r"""
#include <stddef.h>
#include <stdint.h>
#include "fl_pretok.h"
#include "fl_uniprops.h"

unsigned
drv_props(uint32_t cp)
{
    return fl_uniprops(cp);
}

/* Split each text buf[off[k]..off[k+1]), k < n.  Per piece, write its end
 * from the text's start, in code points (cps != 0: bytes that are not
 * 10xxxxxx) or in bytes.  counts[k] = pieces of text k.  Returns the number
 * of ends, -1 if a length breaks the contract, -2 if cap is too small, -3 if
 * (cps != 0) a piece ends inside a UTF-8 sequence. */
long
drv_split(int pat, const unsigned char *buf, const size_t *off, size_t n,
          int cps, uint32_t *ends, size_t cap, uint32_t *counts)
{
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        const unsigned char *t = buf + off[k];
        size_t len = off[k + 1] - off[k], pos = 0, cp = 0;
        uint32_t c = 0;
        while (pos < len) {
            size_t m = fl_pretok_next((fl_pattern)pat, t, len, pos);
            if (m < 1 || m > len - pos) {
                return -1;
            }
            if (cps) {
                for (size_t i = pos; i < pos + m; i++) {
                    cp += (t[i] & 0xC0) != 0x80;
                }
                if (pos + m < len && (t[pos + m] & 0xC0) == 0x80) {
                    return -3;
                }
            }
            pos += m;
            if (w == cap) {
                return -2;
            }
            ends[w++] = (uint32_t)(cps ? cp : pos);
            c++;
        }
        counts[k] = c;
    }
    return (long)w;
}
"""


def build_lib(tmp):
    src = os.path.join(tmp, "driver.c")
    lib = os.path.join(tmp, "libpretok_check.so")
    with open(src, "w") as f:
        f.write(DRIVER)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-shared",
           "-fPIC", "-I" + CORE, "-o", lib, src,
           os.path.join(CORE, "fl_pretok.c"),
           os.path.join(CORE, "fl_uniprops_data.c")]
    subprocess.run(cmd, check=True)
    dll = ctypes.CDLL(lib)
    dll.drv_props.restype = ctypes.c_uint
    dll.drv_props.argtypes = [ctypes.c_uint32]
    dll.drv_split.restype = ctypes.c_long
    dll.drv_split.argtypes = [
        ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    return dll


def c_split(dll, pat_id, blobs, cps=True):
    """Piece ends of each bytes in `blobs`: (flat ends, per-text counts)."""
    off = array("Q", [0])
    off.extend(itertools.accumulate(len(b) for b in blobs))
    buf = b"".join(blobs)
    cap = len(buf) + 1
    ends = array("I", bytes(4 * cap))
    counts = array("I", bytes(4 * max(1, len(blobs))))
    got = dll.drv_split(pat_id, buf, off.buffer_info()[0], len(blobs),
                        1 if cps else 0, ends.buffer_info()[0], cap,
                        counts.buffer_info()[0])
    if got < 0:
        raise SystemExit(f"drv_split failed with {got} (contract broken)")
    del ends[got:]
    del counts[len(blobs):]
    return ends, counts


def unflatten(ends, counts):
    out, i = [], 0
    for c in counts:
        out.append(list(ends[i:i + c]))
        i += c
    return out


class Report:
    def __init__(self):
        self.failures = 0

    def compare(self, label, dll, regex_pat, pat_id, texts, show=5):
        """texts: list of str (valid); compares code point ends."""
        flat = array("I")
        counts = array("I")
        for t in texts:
            n0 = len(flat)
            flat.extend(m.end() for m in regex_pat.finditer(t))
            counts.append(len(flat) - n0)
        blobs = [t.encode("utf-8") for t in texts]
        c_ends, c_counts = c_split(dll, pat_id, blobs)
        if c_ends == flat and c_counts == counts:
            print(f"  {label}: {len(texts)} texts, 0 differences")
            return
        a = unflatten(flat, counts)
        b = unflatten(c_ends, c_counts)
        bad = [i for i in range(len(texts)) if a[i] != b[i]]
        self.failures += len(bad)
        print(f"  {label}: {len(texts)} texts, {len(bad)} DIFFERENCES")
        for i in bad[:show]:
            t = texts[i]
            print(f"    {t!r}: regex {pieces(t, a[i])!r} "
                  f"C {pieces(t, b[i])!r}")


def pieces(text, ends):
    out, p = [], 0
    for e in ends:
        out.append(text[p:e])
        p = e
    return out


def regex_flags():
    """Per code point, the FL_UP_* flags of the regex module's classes."""
    import regex

    every = "".join(chr(c) for c in range(MAX_CP + 1))
    flags = bytearray(MAX_CP + 1)
    for bit, cls in ((FL_UP_L, r"\p{L}"), (FL_UP_N, r"\p{N}"),
                     (FL_UP_U, r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"),
                     (FL_UP_W, r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"),
                     (FL_UP_WS, r"\s")):
        for m in regex.finditer(cls + "+", every):
            for c in range(m.start(), m.end()):
                flags[c] |= bit
    return flags


def ranges(cps):
    out = []
    for _, grp in itertools.groupby(enumerate(sorted(cps)),
                                    lambda x: x[1] - x[0]):
        grp = [c for _, c in grp]
        out.append(f"U+{grp[0]:04X}" if len(grp) == 1
                   else f"U+{grp[0]:04X}..U+{grp[-1]:04X}")
    return out


def check_tables(dll, rep):
    import unicodedata2

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import gen_unicode_tables as gen

    c_flags = bytes(dll.drv_props(c) for c in range(MAX_CP + 1))
    ud_flags = bytearray(gen.category_flags(unicodedata2.category(chr(c)))
                         for c in range(MAX_CP + 1))
    rx = regex_flags()
    for c in range(MAX_CP + 1):
        ud_flags[c] |= rx[c] & FL_UP_WS
    bad = [c for c in range(MAX_CP + 1) if c_flags[c] != ud_flags[c]]
    for c in (0x110000, 0x7FFFFFFF, 0xFFFFFFFF):
        if dll.drv_props(c) != 0:
            bad.append(c)
    print(f"tables: fl_uniprops vs unicodedata2 {unicodedata2.unidata_version}"
          f" + White_Space: {len(bad)} differences")
    rep.failures += len(bad)
    diff = [c for c in range(MAX_CP + 1) if c_flags[c] != rx[c]]
    unassigned = [c for c in diff
                  if unicodedata2.category(chr(c)) == "Cn"]
    unassigned_set = set(unassigned)
    changed = [c for c in diff if c not in unassigned_set]
    print(f"tables: vs the regex module's classes: {len(diff)} code points "
          f"differ (Unicode version), {len(unassigned)} unassigned in "
          f"{unicodedata2.unidata_version}, {len(changed)} re-categorised:")
    for c in changed:
        print(f"    U+{c:04X} {unicodedata2.category(chr(c))} here, "
              f"flags {c_flags[c]} here vs {rx[c]} in regex")
    rs = ranges(unassigned)
    print(f"    unassigned here, assigned in regex's data ({len(rs)} ranges):")
    for i in range(0, len(rs), 5):
        print("      " + ", ".join(rs[i:i + 5]))
    if any(rx[c] & FL_UP_WS != c_flags[c] & FL_UP_WS for c in diff):
        print("  White_Space differs: not a version difference")
        rep.failures += 1
    return set(diff), c_flags


def every_cp_texts(exclude_surrogates=True):
    contexts = [
        lambda c: c, lambda c: "a" + c + "a", lambda c: " " + c + "1",
        lambda c: "1" + c, lambda c: c + "'s", lambda c: "A" + c + "A",
        lambda c: "'" + c + "x", lambda c: c + c + " ",
    ]
    cps = [c for c in range(MAX_CP + 1)
           if not (exclude_surrogates and 0xD800 <= c <= 0xDFFF)]
    return contexts, cps


def pools():
    ws = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
          "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f"
          "\u3000")
    return {
        "lower": ("abcdefghijklmnopqrstuvwxyz", 6),
        "upper": ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 3),
        "contraction": ("'sdmtlvreSDMTLVRE\u017f\u212aK'\u2019", 5),
        "digits": (("0123456789\u0660\u0661\uff10\uff11\xb2\xb3\xb9"
                    "\u216b\xbd\U0001d7d8\u0966"), 4),
        "space": (" ", 6),
        "ws": (ws + "\x1c\x1d\x1e\x1f\u180e\u200b\r\n\r\n", 4),
        "crlf": ("\r\n\n\r ", 3),
        "punct": (("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\u2018\u201c\u201d"
                   "\xab\xbb\u2026\u2014\u2013\xb7\u2022///"), 4),
        "latin": (("\xe9\xc9\xdf\xe7\xf1\xf8\xc5\xe6\u0152\u01c5\u02b0"
                   "\xaa\u01c8\u1e9e"), 3),
        "greek": ("\u03b1\u03b2\u03b3\u0394\u03a3\u03c3\u03c2\u1f88", 2),
        "cyrillic": ("\u043f\u0440\u0438\u0432\u0435\u0442\u041c\u0418\u0440",
                     2),
        "cjk": ("\u65e5\u672c\u8a9e\u4e2d\u6587\u3042\u30a2\u3005\u30fc", 2),
        "hangul": ("\ud55c\uad6d\uc5b4\u1100\u1161", 1),
        "arabic": (("\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u064b\u0651"
                    "\u0640"), 2),
        "indic": (("\u0915\u093f\u0928\u094d\u0926\u0940\u0903\u0e01\u0e31"
                   "\u0e49"), 2),
        "marks": ("\u0300\u0301\u0308\u20dd\u0903\ufe0f\u0345\u1ab0", 3),
        "emoji": (("\U0001f600\U0001f44d\U0001f3fd\U0001f468\u200d"
                   "\U0001f469\u2764\ufe0f\U0001f1fa\U0001f1f8"), 2),
        "other": (("\xad\u200d\u200e\ufeff\ue000\U000e0001\u0378\ufffd"
                   "\U0010ffff"), 1),
    }


def random_texts(rng, n, maxlen, exclude):
    table = [(chars, w) for chars, w in pools().values()]
    table = [("".join(ch for ch in chars if ord(ch) not in exclude), w)
             for chars, w in table]
    names = [c for c, _ in table]
    weights = [w for _, w in table]
    out = []
    for _ in range(n):
        target = rng.randint(1, maxlen)
        parts = []
        size = 0
        while size < target:
            chars = rng.choices(names, weights)[0]
            k = min(target - size, rng.choice((1, 1, 2, 3, 5, 8)))
            parts.append("".join(rng.choice(chars) for _ in range(k)))
            size += k
        out.append("".join(parts))
    return out


def long_texts():
    n = 5000
    return [
        "a" * n, " " * n, "1" * n, "\n" * n, " \n" * n, "\r\n" * n,
        " " * n + "a", "\t" * n + "x", "\U0001f600" * n, "aB" * n,
        "A" * n, "\u0300" * n + "A" * n, "\u0300" + "A" * n, "'" * n,
        "'s" * n, "'S" * n, "\u65e5" * n + "A", "\u02b0A" * n,
        "A\u0300" * n, "a'" * n, "/" * n + "\n" * n, " !" * n,
        "\u3000" * n + "x", "x " * n, "1 " * n, "\u00a0" * n + "\n",
        "\u017f" * n, "a" * n + " " * n + "1" * n,
    ]


def invalid_blobs(rng, n):
    atoms = [b"a", b"A", b" ", b"1", b"\n", b"\r", b"'", b"s", b"/", b"!",
             b"\xc3\xa9", b"\xe6\x97\xa5", b"\xf0\x9f\x98\x80",
             b"\xcc\x80", b"\xe3\x80\x80", b"\xc5\xbf",
             b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1", b"\xf5", b"\xff",
             b"\xc3", b"\xe6\x97", b"\xf0\x9f\x98", b"\xed\xa0\x80",
             b"\xe0\x80\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80"]
    return [b"".join(rng.choice(atoms) for _ in range(rng.randint(1, 16)))
            for _ in range(n)]


def decode_per_byte(blob):
    """(text, byte offset of each code point + the end): each ill-formed
    byte becomes one U+FFFD, as fl_pretok.h documents."""
    text, offs, p = [], [], 0
    while p < len(blob):
        b = blob[p]
        k = 1 if b < 0x80 else 2 if 0xC2 <= b <= 0xDF else \
            3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
        try:
            ch = blob[p:p + k].decode("utf-8") if k else None
        except UnicodeDecodeError:
            ch = None
        if ch is None or len(blob[p:p + k]) != k:
            ch, k = "\ufffd", 1
        text.append(ch)
        offs.append(p)
        p += k
    offs.append(p)
    return "".join(text), offs


def check_invalid(dll, rep, rng, n):
    import regex

    blobs = invalid_blobs(rng, n)
    for name, pid, pat in PATTERNS:
        rx = regex.compile(pat)
        ends, counts = c_split(dll, pid, blobs, cps=False)
        bad = 0
        for blob, c_ends in zip(blobs, unflatten(ends, counts)):
            text, offs = decode_per_byte(blob)
            want = [offs[m.end()] for m in rx.finditer(text)]
            if want != c_ends:
                bad += 1
                if bad <= 5:
                    print(f"    {blob!r}: want {want} C {c_ends}")
        rep.failures += bad
        print(f"  ill-formed UTF-8, {name}: {len(blobs)} byte strings, "
              f"{bad} differences")


def tiktoken_check(dll, rep, texts, label, batch=40000):
    import tiktoken

    for name, pid, pat in PATTERNS:
        bad = 0
        t0 = time.time()
        for i in range(0, len(texts), batch):
            chunk = texts[i:i + batch]
            blobs = [t.encode("utf-8") for t in chunk]
            ends, counts = c_split(dll, pid, blobs, cps=False)
            vocab = {bytes([b]): b for b in range(256)}
            for t in chunk:
                for a in range(len(t)):
                    for b in range(a + 1, len(t) + 1):
                        s = t[a:b].encode("utf-8")
                        if s not in vocab:
                            vocab[s] = len(vocab)
            enc = tiktoken.Encoding(f"check_{name}", pat_str=pat,
                                    mergeable_ranks=vocab, special_tokens={})
            for blob, t, c_ends in zip(blobs, chunk, unflatten(ends, counts)):
                want = []
                p = 0
                for e in c_ends:
                    want.append(vocab[blob[p:e]])
                    p = e
                got = enc.encode_ordinary(t)
                if got != want:
                    bad += 1
                    if bad <= 5:
                        tk = [enc.decode_single_token_bytes(x) for x in got]
                        mine = [blob[a:b]
                                for a, b in zip([0] + c_ends, c_ends)]
                        print(f"    {t!r}: tiktoken {tk!r} C {mine!r}")
        rep.failures += bad
        print(f"  tiktoken, {label}, {name}: {len(texts)} texts, {bad} "
              f"differences ({time.time() - t0:.0f} s)")


def check_pattern_strings():
    import inspect

    import tiktoken_ext.openai_public as op

    src = inspect.getsource(op)
    assert op.r50k_pat_str == GPT2, "r50k pattern changed in tiktoken"
    for part in [CL100K] + O200K_PARTS:
        assert part in src, f"pattern not found in tiktoken: {part}"


def main(argv=None):
    import regex

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261119)
    parser.add_argument("--random", type=int, default=300000,
                        help="random strings per pattern")
    parser.add_argument("--tiktoken", action="store_true",
                        help="also compare with tiktoken itself")
    args = parser.parse_args(argv)
    rep = Report()
    rng = random.Random(args.seed)
    print(f"regex {regex.__version__}, seed {args.seed}")
    check_pattern_strings()
    with tempfile.TemporaryDirectory(prefix="fl_check_pretok_") as tmp:
        dll = build_lib(tmp)
        excluded, _ = check_tables(dll, rep)

        contexts, cps = every_cp_texts()
        rand = random_texts(rng, args.random, 40, excluded)
        longs = long_texts()
        for name, pid, pat in PATTERNS:
            rx = regex.compile(pat)
            print(f"{name}:")
            for k, ctx in enumerate(contexts):
                texts = [ctx(chr(c)) for c in cps]
                keep = [t for t in texts
                        if not any(ord(ch) in excluded for ch in t)]
                rep.compare(f"every code point, context {ctx(chr(0x2022))!r}"
                            f" ({len(texts) - len(keep)} left out)",
                            dll, rx, pid, keep)
            rep.compare("random strings", dll, rx, pid, rand)
            rep.compare("long runs", dll, rx, pid, longs)
        check_invalid(dll, rep, rng, 20000)

        if args.tiktoken:
            cps_tt = cps
            texts = [ctx(chr(c)) for c in cps_tt for ctx in
                     (contexts[1], contexts[2], contexts[4], contexts[5],
                      contexts[6])]
            tiktoken_check(dll, rep, texts, "every code point x 5 contexts")
            tiktoken_check(dll, rep, random_texts(rng, 50000, 24, set()),
                           "random strings", batch=2000)
            tiktoken_check(dll, rep, [t[:200] for t in longs], "long runs",
                           batch=40)
    print(f"{'FAILED' if rep.failures else 'OK'}: {rep.failures} differences")
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
