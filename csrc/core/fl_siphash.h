/* fl_siphash.h - SipHash-2-4, the keyed hash of client-chosen keys.
 *
 * Tables that hash keys a client can choose (rate-limit descriptors) use
 * SipHash-2-4 under a 128-bit secret drawn from the OS at first use, so
 * that nobody who does not know the secret can make keys collide.
 */
#ifndef FL_SIPHASH_H
#define FL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of `len` bytes of `data` under the key (k0, k1) (the 16-byte
 * key read as two little-endian 64-bit words).  Matches the reference test
 * vectors through fl_siphash24. */
uint64_t fl_siphash24_k(uint64_t k0, uint64_t k1, const void *data,
                        size_t len);

/* SipHash-2-4 of `len` bytes under `key` (16 bytes, read as two
 * little-endian 64-bit words).  Matches the reference test vectors. */
uint64_t fl_siphash24(const unsigned char key[16], const void *data,
                      size_t len);

/* The 16-byte key as the two words fl_siphash24_k takes. */
void fl_siphash_key(const unsigned char key[16], uint64_t *k0, uint64_t *k1);

#endif /* FL_SIPHASH_H */
