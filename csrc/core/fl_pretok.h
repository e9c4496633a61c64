/* fl_pretok.h - tiktoken's pre-tokenisation ("split into pieces") without a
 * regex engine.
 *
 * tiktoken splits text with a regex and runs BPE on each piece separately.
 * fl_pretok_next() is a hand-written scanner for each of the three patterns
 * tiktoken ships (tiktoken_ext/openai_public.py), with the semantics of
 * tiktoken's engine (Rust fancy-regex / regex crate): leftmost-first
 * alternation, greedy quantifiers with backtracking, possessive quantifiers
 * where written, `$` = end of the subject only, `\s` = White_Space,
 * `(?i:...)` with simple case folding (so `'ſ` is a contraction like `'s`),
 * and the Unicode 16.0.0 properties of fl_uniprops.h.  Calling it from the
 * end of the previous piece (pieces tile the text) gives exactly
 * Regex::find_iter's pieces.
 *
 *   FL_PAT_GPT2    r50k_base, p50k_base, p50k_edit, gpt2:
 *     '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$
 *     |\s+(?!\S)|\s
 *   FL_PAT_CL100K  cl100k_base:
 *     '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
 *     | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
 *   FL_PAT_O200K   o200k_base:
 *     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*
 *       [\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *     |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+
 *       [\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *     |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * Input: UTF-8 bytes.  A byte that does not start a well-formed sequence
 * (Unicode Table 3-7: no overlongs, surrogates or values above U+10FFFF;
 * a sequence cut short by `len` counts as ill-formed) is read as one code
 * point of length 1 with no properties, i.e. like U+FFFD (General_Category
 * So): it is "other" to every pattern.  tiktoken never sees such bytes (it
 * takes a Python str); the rule only makes any byte string safe to scan.
 *
 * Cost: linear.  Each call reads O(length of the piece it returns + the
 * run of same-class code points around it), and a run is re-read at most a
 * small constant number of times over a whole text, so splitting a text of
 * n bytes by repeated calls is O(n) whatever its content.  No allocation,
 * no recursion, no global state: reentrant and thread-safe.
 */
#ifndef FL_PRETOK_H
#define FL_PRETOK_H

#include <stddef.h>

typedef enum fl_pattern {
    FL_PAT_GPT2 = 0,
    FL_PAT_CL100K = 1,
    FL_PAT_O200K = 2
} fl_pattern;

/* Byte length of the piece that starts at text[pos], scanning text[0..len)
 * as the whole subject (so `$` means len).
 *
 * Requires pos < len; then always returns a value in [1, len - pos], never
 * ends a piece inside a well-formed UTF-8 sequence, and reads only
 * text[pos..len).  Returns 0 (and reads nothing) if pos >= len, text is
 * NULL or pat is not one of the fl_pattern values.  The caller owns `text`;
 * it is not retained.
 *
 * Typical use:  for (p = 0; p < len; p += n) n = fl_pretok_next(..., p);
 */
size_t fl_pretok_next(fl_pattern pat, const unsigned char *text, size_t len,
                      size_t pos);

#endif /* FL_PRETOK_H */
