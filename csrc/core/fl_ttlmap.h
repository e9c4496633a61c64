/* fl_ttlmap.h - a keyed table of counters with expiry times: the state of
 * LiteLLM's in-memory rate-limit counters, held in C.
 *
 * The map follows the rules of LiteLLM's InMemoryCache (litellm 1.108.7,
 * litellm/caching/in_memory_cache.py) for the values it can hold, except
 * that it never drops a live entry to make room (LiteLLM evicts live
 * counters once 200 entries exist; see fl_ttlmap_set and FL_EFULL):
 *
 *   - Every entry has an expiry time `exp` on the caller's clock (seconds,
 *     a double).  The caller passes the current time `now` to each call.
 *   - A *set* first sweeps: every entry with exp <= now is gone.  (LiteLLM
 *     removes those eagerly at every set; this map does it lazily, with the
 *     same observable result: see "dead" below.)  Then the value is stored.
 *     The expiry of a key that still exists after the sweep is kept (the
 *     TTL is not extended); a new key, or one that was gone, gets
 *     exp = now + ttl.
 *   - A *get* finds an entry only if now <= exp; an entry with now > exp is
 *     removed by the get.
 *   - An entry is *dead* (behaves as absent everywhere) when a get at a time
 *     now > exp saw it, or when a set that happened after the entry's TTL
 *     was last given swept at a time t >= exp.  This map records the time
 *     of the latest sweep and which entry the set that made it stored (none
 *     for fl_ttlmap_sweep).  An entry is dead when entry.exp <=
 *     map.sweep_time and it is not the entry that latest set stored (every
 *     set sweeps, so every other entry got its TTL before that sweep).
 *     That is exactly LiteLLM's rule when the clock never goes backwards
 *     (wall time); with a clock that goes backwards it may keep an entry
 *     that LiteLLM had swept at an earlier, later-dated sweep.
 *
 * Keys are byte strings of 1..FL_TTLMAP_MAX_KEY bytes.  Values are an
 * int64, a double, or a byte string of 0..FL_TTLMAP_MAX_STR bytes.
 * Keys are hashed with SipHash-2-4 under a 128-bit key the caller supplies
 * (draw it from the OS at first use; never at import), so clients that
 * choose keys cannot force collisions.
 *
 * Memory.  Keys that end in ":window", ":requests" or ":tokens" (the three
 * keys LiteLLM's limiter keeps per descriptor, "{api_key:...}:requests")
 * share one record per prefix; any other key is a record of its own.  A
 * record is one heap block: an 8-byte head, the prefix (its longest run of
 * 16 or more lowercase hex digits, a hashed API key's for one, two digits
 * a byte), then per key a tag
 * byte, its value in 1, 2, 4 or 8 bytes (an int; a string that is the
 * canonical decimal form of an int64, such as the window start "1732000000",
 * is kept as that int and given back as the same string) or 8 (a double) or
 * 2 + n (another string), and its expiry as a full double or as a 1-, 2- or
 * 4-byte difference from the previous key's expiry in the record.  The
 * table holds one pointer per slot (open addressing, linear probing,
 * backward-shift deletion, power-of-two capacity, load factor <= 3/4 of
 * records).  fl_ttlmap_memory() is the exact number of bytes this map has
 * allocated (record sizes as requested from malloc).  A map created with
 * mem_cap > 0 never grows beyond it: a set that would need more first
 * removes every dead entry, and if that is not enough returns FL_EFULL and
 * changes nothing - it never removes a live entry.
 *
 * Thread safety: none.  A map is used by one thread at a time (the Python
 * binding calls it with the GIL held).  After fork() a child may keep using
 * its copy.
 */
#ifndef FL_TTLMAP_H
#define FL_TTLMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fl_siphash.h"
#include "fl_status.h"

#define FL_TTLMAP_MAX_KEY 1024u
#define FL_TTLMAP_MAX_STR 4096u
/* FL_TTLMAP_MAX_ENTRIES: the most live-or-dead entries a map holds */
#define FL_TTLMAP_MAX_ENTRIES ((size_t)1 << 30)

enum fl_ttl_kind {
    FL_TTL_INT = 1,
    FL_TTL_FLOAT = 2,
    FL_TTL_STR = 3
};

/* A value.  For FL_TTL_STR, `s`/`slen` point into the map when returned by
 * fl_ttlmap_get or fl_ttlmap_next (valid until the next call on the map)
 * and into the caller's buffer when passed to fl_ttlmap_set (copied first;
 * it may point into the map). */
struct fl_ttl_value {
    enum fl_ttl_kind kind;
    int64_t i;
    double f;
    const unsigned char *s;
    size_t slen;
};

struct fl_ttlmap;

/* A new empty map.  `hash_key` is copied.  mem_cap: 0 for no cap, else the
 * most bytes the map may allocate (at least fl_ttlmap_memory() of an empty
 * map, else FL_EINVAL).  Returns FL_OK and *out (free with fl_ttlmap_free),
 * FL_EINVAL or FL_ENOMEM. */
enum fl_status fl_ttlmap_new(const unsigned char hash_key[16], size_t mem_cap,
                             struct fl_ttlmap **out);

void fl_ttlmap_free(struct fl_ttlmap *m); /* NULL is accepted */

/* Look `key` up at time `now`.  Returns 1 and fills *out when a live entry
 * exists; 0 when there is none (a dead entry is removed); -1 (FL_EINVAL
 * cases: klen 0 or > FL_TTLMAP_MAX_KEY) with *out untouched.  *exp_out, when
 * not NULL, receives the entry's expiry on 1. */
int fl_ttlmap_get(struct fl_ttlmap *m, const void *key, size_t klen,
                  double now, struct fl_ttl_value *out, double *exp_out);

/* Set `key` to *val at time `now` (a sweep at `now`, then the store, as
 * described above; a new expiry is now + ttl).  Returns FL_OK, FL_EINVAL
 * (bad key length, string longer than FL_TTLMAP_MAX_STR, bad kind, ttl or
 * now not finite), FL_ENOMEM, or FL_EFULL (mem_cap reached with only live
 * entries).  On any error the map is unchanged except that the sweep may
 * have happened and dead entries may have been removed. */
enum fl_status fl_ttlmap_set(struct fl_ttlmap *m, const void *key,
                             size_t klen, const struct fl_ttl_value *val,
                             double now, double ttl);

/* LiteLLM's increment_cache for the common case, in one call:
 * value = (get(key) or 0) + delta; set(key, value, ttl).  Handles only: no
 * live entry, or a live FL_TTL_INT entry, with int64 arithmetic that does
 * not overflow.  Returns FL_OK with *result; FL_EAGAIN (nothing changed, no
 * sweep) when the live entry is not an int or the sum would overflow - the
 * caller then does the general case itself; or fl_ttlmap_set's errors. */
enum fl_status fl_ttlmap_incr_int(struct fl_ttlmap *m, const void *key,
                                  size_t klen, int64_t delta, double now,
                                  double ttl, int64_t *result);

/* Record a sweep at `now` made by someone else (a set into a companion
 * store): entries with exp <= now become dead as for fl_ttlmap_set. */
void fl_ttlmap_sweep(struct fl_ttlmap *m, double now);

/* The stored expiry of `key` if an entry exists that is not dead by the
 * sweep rule (a get's now > exp rule is NOT applied: LiteLLM's
 * async_get_ttl reports expired entries no get has removed yet).  Returns 1
 * with *exp, or 0. */
int fl_ttlmap_expiry(const struct fl_ttlmap *m, const void *key, size_t klen,
                     double *exp);

/* Remove `key`.  Returns 1 if an entry (dead or not) was removed, else 0. */
int fl_ttlmap_delete(struct fl_ttlmap *m, const void *key, size_t klen);

/* Remove every entry; keep the table's capacity. */
void fl_ttlmap_clear(struct fl_ttlmap *m);

/* Remove every dead entry now (they are otherwise removed lazily).
 * Returns how many were removed. */
size_t fl_ttlmap_reclaim(struct fl_ttlmap *m);

/* Number of entries held, dead ones not yet removed included. */
size_t fl_ttlmap_len(const struct fl_ttlmap *m);

/* Bytes allocated by the map (table + records + the struct). */
size_t fl_ttlmap_memory(const struct fl_ttlmap *m);

/* Slots in the table (a power of two, at least 16). */
size_t fl_ttlmap_capacity(const struct fl_ttlmap *m);

/* What fl_ttlmap_memory() would be right after fl_ttlmap_set(m, key, klen,
 * val, now, ttl) if that set needed no reclaim (the set's own sweep
 * included).  Returns FL_OK with *total, or the set's FL_EINVAL, FL_EFULL
 * (entry limit) or FL_ENOMEM (size not representable).  Changes nothing. */
enum fl_status fl_ttlmap_set_cost(const struct fl_ttlmap *m, const void *key,
                                  size_t klen, const struct fl_ttl_value *val,
                                  double now, double ttl, size_t *total);

/* Iterate over entries that are not dead by the sweep rule: start with
 * *pos = 0; each call returns 1 with the key, its expiry and value (valid
 * until the next call on the map) and advances *pos, or 0 at the end.  The
 * map must not be modified during an iteration. */
int fl_ttlmap_next(struct fl_ttlmap *m, size_t *pos,
                   const unsigned char **key, size_t *klen, double *exp,
                   struct fl_ttl_value *val);

#endif /* FL_TTLMAP_H */
