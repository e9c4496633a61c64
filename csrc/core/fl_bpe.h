/* fl_bpe.h - tiktoken-compatible byte-pair encoding over a rank table.
 *
 * A `struct fl_bpe` holds one encoding's mergeable ranks (the contents of a
 * tiktoken rank file: lines "<base64 token bytes> <rank>") and the
 * pre-tokenisation pattern it splits text with (fl_pretok.h).  It is built
 * once by fl_bpe_load() and is immutable afterwards: any number of threads
 * may encode with it at once, and after fork() a child reads the parent's
 * pages without copying them.
 *
 * Encoding follows tiktoken's CoreBPE exactly:
 *   - the text is split into pieces by the pattern;
 *   - a piece that is itself a token is that one token;
 *   - otherwise the piece starts as single bytes and, repeatedly, the
 *     adjacent pair whose concatenation has the lowest rank is merged (the
 *     leftmost such pair on ties) until no adjacent pair is a token.
 * Special tokens are not this layer's business: callers split the text at
 * allowed special tokens and encode the segments between them.
 *
 * Limits: at most FL_BPE_MAX_RANKS tokens, ranks below FL_BPE_MAX_RANKS,
 * tokens of at most FL_BPE_MAX_TOKEN_LEN bytes, rank files of at most
 * FL_BPE_MAX_FILE bytes.  Texts of any length (a piece of any length is
 * merged in O(n log n)).
 */
#ifndef FL_BPE_H
#define FL_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "fl_pretok.h"
#include "fl_status.h"

#define FL_BPE_MAX_RANKS (1u << 22)
#define FL_BPE_MAX_TOKEN_LEN 1024u
#define FL_BPE_MAX_FILE ((size_t)1 << 28)

struct fl_bpe;

/* Growable output of token ids.  Start it zeroed; release with
 * fl_tokbuf_free().  On FL_ENOMEM the ids appended so far stay valid. */
struct fl_tokbuf {
    uint32_t *ids;
    size_t len;
    size_t cap;
};

void fl_tokbuf_free(struct fl_tokbuf *buf);

/* Parse a rank file.  Lines are "<base64> <rank>", '\n' separated (a
 * trailing '\r' is accepted), empty lines skipped.  The base64 must be
 * standard and padded.  Every single byte 0..255 must be a token, ranks and
 * token bytes must be unique.
 * Returns FL_OK and *out (free with fl_bpe_free), or FL_EINVAL with
 * *bad_line set to the 1-based offending line (0 when the problem is not a
 * line, e.g. a missing single byte), FL_ENOMEM, FL_EOVERFLOW (limits).
 * `data` is only read during the call. */
enum fl_status fl_bpe_load(const unsigned char *data, size_t len,
                           fl_pattern pattern, struct fl_bpe **out,
                           size_t *bad_line);

void fl_bpe_free(struct fl_bpe *bpe);

/* Number of mergeable tokens, the largest rank, and the bytes of heap the
 * object owns. */
uint32_t fl_bpe_size(const struct fl_bpe *bpe);
uint32_t fl_bpe_max_rank(const struct fl_bpe *bpe);
size_t fl_bpe_memory(const struct fl_bpe *bpe);

/* The bytes of token `rank` (borrowed, valid while bpe lives) and their
 * length, or NULL when no token has that rank. */
const unsigned char *fl_bpe_token(const struct fl_bpe *bpe, uint32_t rank,
                                  size_t *len);

/* 1 and *rank when bytes[0..len) is a token, else 0. */
int fl_bpe_lookup(const struct fl_bpe *bpe, const unsigned char *bytes,
                  size_t len, uint32_t *rank);

/* Encode text[0..len) (UTF-8; invalid bytes are never read out of bounds)
 * as ordinary text.  When `out` is NULL only *count is produced and no ids
 * are stored; otherwise ids are appended to `out` and *count receives the
 * number appended.  Returns FL_OK or FL_ENOMEM.
 * For inputs of 4 KiB or more the call keeps the merges of short pieces
 * that are not tokens in a memo of its own (about 70 KiB, freed before it
 * returns): repeated pieces are merged once.  The result is the same. */
enum fl_status fl_bpe_encode(const struct fl_bpe *bpe,
                             const unsigned char *text, size_t len,
                             struct fl_tokbuf *out, size_t *count);

/* The sum of fl_bpe_encode's counts over consecutive slices of text, each
 * `chunk` code points long (the last one shorter): what counting
 * text[i:i + chunk] separately for every i in range(0, len, chunk) gives
 * in Python.  Code points are counted as UTF-8 lead bytes (any byte that is
 * not 10xxxxxx); text is expected to be valid UTF-8 and is never read out
 * of bounds when it is not.  FL_EINVAL when chunk is 0. */
enum fl_status fl_bpe_count_chunked(const struct fl_bpe *bpe,
                                    const unsigned char *text, size_t len,
                                    size_t chunk, size_t *count);

/* Count n texts in one call: counts[i] is fl_bpe_encode's count of
 * texts[i][0..lens[i]), or fl_bpe_count_chunked's with chunks[i] when
 * chunks is not NULL and chunks[i] > 0.  The texts share one merge memo
 * (see fl_bpe_encode).  On an error the counts from the failing text on
 * are unspecified. */
enum fl_status fl_bpe_count_batch(const struct fl_bpe *bpe, size_t n,
                                  const unsigned char *const *texts,
                                  const size_t *lens, const size_t *chunks,
                                  size_t *counts);

/* Merge one piece, appending its ids to out (or only counting when out is
 * NULL).  Exposed for tests and the fuzzer; `reference` selects the plain
 * quadratic merge that mirrors tiktoken's loop, used as the slow
 * reference for the heap merge. */
enum fl_status fl_bpe_merge_piece(const struct fl_bpe *bpe,
                                  const unsigned char *piece, size_t len,
                                  int reference, struct fl_tokbuf *out,
                                  size_t *count);

/* Concatenate the bytes of tokens ids[0..n) into a fresh buffer (*buf,
 * free()) of *len bytes.  FL_EINVAL with *bad set to the index of the first
 * id that is no token (the caller handles special tokens beforehand). */
enum fl_status fl_bpe_decode(const struct fl_bpe *bpe, const uint32_t *ids,
                             size_t n, unsigned char **buf, size_t *len,
                             size_t *bad);

#endif /* FL_BPE_H */
