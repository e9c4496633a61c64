"""Generate csrc/core/fl_uniprops_data.c, the Unicode property tables of the
pre-tokeniser (csrc/core/fl_pretok.c).

    python tools/gen_unicode_tables.py           # (re)write the file
    python tools/gen_unicode_tables.py --check   # exit 1 if the file is stale

Inputs, pinned in tools/requirements-unicode.txt (the script refuses other
versions, so the output is a pure function of the pins):
  * unicodedata2: the General_Category of every code point;
  * regex: White_Space (``\\p{White_Space}``).  Python's unicodedata has no
    White_Space, and the property has not changed since Unicode 6.3 (U+180E
    left it), so the regex module's own Unicode version does not matter; the
    generator still checks that every White_Space code point is Zs, Zl, Zp or
    Cc in the pinned unicodedata2.

Output: one flag byte per code point (FL_UP_* in csrc/core/fl_uniprops.h):
  FL_UP_L         General_Category L*            (\\p{L})
  FL_UP_N         General_Category N*            (\\p{N})
  FL_UP_UPPERISH  Lu | Lt | Lm | Lo | M*          (o200k's first class)
  FL_UP_LOWERISH  Ll | Lm | Lo | M*               (o200k's second class)
  FL_UP_WS        White_Space                    (\\s of the regex crate)
stored as a three-stage table: stage0[cp >> 9] picks a block of 32 entries
of stage1, stage1[...] picks a block of 16 flag bytes of stage2.  Blocks are
deduplicated in first-seen order, so the output is deterministic.  Unassigned,
surrogate and private-use code points get 0.

Which Unicode version: tiktoken 0.14.0 is built on fancy-regex 0.19.0 /
regex-syntax 0.8.11 (crate names and versions are visible in the strings of
tiktoken/_tiktoken*.so), and the tables must match the Unicode data compiled
into that crate.  Proved empirically, against tiktoken itself, not the crate's
changelog:

  1. For each of Unicode 14.0 (Python 3.11's unicodedata), 15.0, 15.1, 16.0,
     17.0 and 18.0 (unicodedata2 15.0.0, 15.1.0, 16.0.0, 17.0.1, 18.0.0) the
     flag byte above was computed for every code point.  27,045 code points
     have a flag byte that differs between at least two of these versions
     (e.g. U+2EBF0.. CJK Ext. I, Lo from 15.1; U+0897 Mn and U+1CCF0.. Nd from
     16.0; U+0C5C Lo and U+10940.. Sidetic from 17.0; U+0558.. from 18.0).
  2. Each such code point X was put in 9 contexts ("a"X"a", "A"X"a", X"a",
     "1"X"1", "!"X"a", X"A", "a"X, "A"X"A", X X"a"): 243,405 texts.
  3. For every version, the expected split of each text was computed with the
     `regex` module running the three tiktoken patterns with every \\p{..} and
     \\s replaced by an explicit character class built from that version's
     data.  tiktoken's actual split was read off
     tiktoken.Encoding(pat_str=<real pattern>, mergeable_ranks=<the 256 bytes
     plus every expected piece of >= 3 bytes>).encode_ordinary(text): with no
     two-byte token no BPE merge can happen, so a piece comes back as one
     token exactly when the regex produced that piece.
  4. Texts whose tiktoken tokens equal the version's prediction, per pattern
     (r50k / cl100k / o200k), out of 243,405:
        14.0: 168,989 / 186,933 / 177,091
        15.0: 203,853 / 213,301 / 208,101
        15.1: 208,829 / 217,033 / 212,455
        16.0: 243,405 / 243,405 / 243,405   <- every text
        17.0: 206,227 / 215,450 / 210,596
        18.0: 105,581 / 138,189 / 120,636
  So tiktoken 0.14.0 uses Unicode 16.0.0, and this generator is pinned to
  unicodedata2==16.0.0.  `python tools/check_pretok.py --tiktoken` re-checks
  the generated tables against tiktoken for every code point (exact splits,
  all three patterns) whenever tiktoken is upgraded.
"""

import argparse
import importlib.metadata
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "csrc", "core", "fl_uniprops_data.c")
REQUIREMENTS = os.path.join(ROOT, "tools", "requirements-unicode.txt")

MAX_CP = 0x10FFFF
LEAF_SHIFT = 4  # 16 code points per stage2 block
MID_SHIFT = 5  # 32 stage1 entries per stage0 slot
STAGE0_SHIFT = LEAF_SHIFT + MID_SHIFT

# Must equal the FL_UP_* values in csrc/core/fl_uniprops.h (the output
# asserts this at compile time).
FL_UP_L = 1 << 0
FL_UP_N = 1 << 1
FL_UP_UPPERISH = 1 << 2
FL_UP_LOWERISH = 1 << 3
FL_UP_WS = 1 << 4


def pinned_versions():
    """{package: version} from tools/requirements-unicode.txt."""
    pins = {}
    with open(REQUIREMENTS, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, version = line.partition("==")
                pins[name.strip()] = version.strip()
    return pins


def check_installed(pins):
    for name, version in sorted(pins.items()):
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have != version:
            sys.exit(
                f"gen_unicode_tables: need {name}=={version}, found {have}; "
                f"pip install -r tools/requirements-unicode.txt"
            )


def category_flags(cat):
    flags = 0
    if cat[0] == "L":
        flags |= FL_UP_L
    if cat[0] == "N":
        flags |= FL_UP_N
    if cat in ("Lu", "Lt", "Lm", "Lo") or cat[0] == "M":
        flags |= FL_UP_UPPERISH
    if cat in ("Ll", "Lm", "Lo") or cat[0] == "M":
        flags |= FL_UP_LOWERISH
    return flags


def compute_flags():
    import regex
    import unicodedata2

    flags = bytearray(MAX_CP + 1)
    cache = {}
    for cp in range(MAX_CP + 1):
        cat = unicodedata2.category(chr(cp))
        f = cache.get(cat)
        if f is None:
            f = cache[cat] = category_flags(cat)
        flags[cp] = f
    ws = regex.compile(r"\p{White_Space}")
    every = "".join(chr(cp) for cp in range(MAX_CP + 1))
    spaces = [m.start() for m in ws.finditer(every)]
    for cp in spaces:
        cat = unicodedata2.category(chr(cp))
        if cat not in ("Zs", "Zl", "Zp", "Cc"):
            sys.exit(f"gen_unicode_tables: White_Space U+{cp:04X} is {cat}")
        flags[cp] |= FL_UP_WS
    return unicodedata2.unidata_version, flags, len(spaces)


def dedup(items):
    """(unique items in first-seen order, index of each item)."""
    seen = {}
    index = []
    for item in items:
        index.append(seen.setdefault(item, len(seen)))
    return list(seen), index


def build_stages(flags):
    leaf_size = 1 << LEAF_SHIFT
    mid_size = 1 << MID_SHIFT
    leaves, leaf_index = dedup(
        bytes(flags[i : i + leaf_size])
        for i in range(0, MAX_CP + 1, leaf_size)
    )
    mids, mid_index = dedup(
        tuple(leaf_index[i : i + mid_size])
        for i in range(0, len(leaf_index), mid_size)
    )
    if len(mids) > 0x100 or len(leaves) > 0x10000:
        sys.exit("gen_unicode_tables: a stage index outgrew its type")
    stage0 = mid_index
    stage1 = [i for mid in mids for i in mid]
    stage2 = b"".join(leaves)
    # Self-check: the tables give back every code point's flags.
    for cp in range(MAX_CP + 1):
        m = stage0[cp >> STAGE0_SHIFT]
        leaf = stage1[(m << MID_SHIFT) | ((cp >> LEAF_SHIFT) & (mid_size - 1))]
        if stage2[(leaf << LEAF_SHIFT) | (cp & (leaf_size - 1))] != flags[cp]:
            sys.exit(f"gen_unicode_tables: lookup of U+{cp:04X} is wrong")
    return stage0, stage1, stage2


def c_array(ctype, name, values, fmt, per_line):
    lines = [f"const {ctype} {name}[{len(values)}] = {{"]
    for i in range(0, len(values), per_line):
        chunk = ", ".join(fmt % v for v in values[i : i + per_line])
        lines.append(f"    {chunk},")
    lines.append("};")
    return "\n".join(lines)


def render(pins):
    unicode_version, flags, n_spaces = compute_flags()
    stage0, stage1, stage2 = build_stages(flags)
    total = len(stage0) + 2 * len(stage1) + len(stage2) + 128
    out = [
        "/* fl_uniprops_data.c - GENERATED by tools/gen_unicode_tables.py; do",
        " * not edit.  Regenerate with `python tools/gen_unicode_tables.py`.",
        " *",
        (f" * Unicode {unicode_version}: General_Category from "
         f"unicodedata2=={pins['unicodedata2']},"),
        (f" * White_Space ({n_spaces} code points) from "
         f"regex=={pins['regex']}."),
        (f" * Sizes: stage0 {len(stage0)} B, stage1 {2 * len(stage1)} B, "
         f"stage2 {len(stage2)} B,"),
        f" * ascii 128 B; {total} B in all.  Lookup: see fl_uniprops.h.",
        " */",
        '#include "fl_uniprops.h"',
        "",
        (f"#if FL_UNIPROPS_LEAF_SHIFT != {LEAF_SHIFT} || "
         f"FL_UNIPROPS_MID_SHIFT != {MID_SHIFT}"),
        "#error fl_uniprops.h and tools/gen_unicode_tables.py disagree",
        "#endif",
        (f"_Static_assert(FL_UP_L == {FL_UP_L} && FL_UP_N == {FL_UP_N} && "
         f"FL_UP_UPPERISH == {FL_UP_UPPERISH} &&"),
        (f"                   FL_UP_LOWERISH == {FL_UP_LOWERISH} && "
         f"FL_UP_WS == {FL_UP_WS},"),
        '               "flag bits differ from the generator");',
        "",
        f'const char fl_uniprops_unicode_version[] = "{unicode_version}";',
        "",
        c_array("uint8_t", "fl_uniprops_ascii", list(flags[:128]), "%2d", 16),
        "",
        c_array("uint8_t", "fl_uniprops_stage0", stage0, "%3d", 15),
        "",
        c_array("uint16_t", "fl_uniprops_stage1", stage1, "%4d", 12),
        "",
        c_array("uint8_t", "fl_uniprops_stage2", list(stage2), "%2d", 16),
        "",
    ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the committed file differs from the generated one",
    )
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args(argv)
    pins = pinned_versions()
    check_installed(pins)
    text = render(pins)
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{args.output} is stale: run tools/gen_unicode_tables.py")
            return 1
        print(f"{args.output} is up to date")
        return 0
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
