/* One BLAKE3 compression: the whole hash of an input of at most 64 bytes.
 *
 * BLAKE3 of a message that fits one block is one call of the compression function with
 * flags CHUNK_START | CHUNK_END | ROOT (plus KEYED_HASH and the key as chaining value in
 * keyed mode), counter 0 and block_len = the message length; the hash is the first 32
 * bytes of the output (the BLAKE3 paper, sections 2.2-2.5). Consensus hashes everything
 * short this way: PoS fn inputs (<= 48 bytes at K <= 25) and audited 32-byte chunks.
 *
 * Header-only so each native kernel that needs it compiles it inline.
 */
#ifndef AUTONOMYS_BLAKE3_BLOCK_H
#define AUTONOMYS_BLAKE3_BLOCK_H

#include <stdint.h>
#include <string.h>

enum {
    B3_CHUNK_START = 1u << 0,
    B3_CHUNK_END = 1u << 1,
    B3_ROOT = 1u << 3,
    B3_KEYED_HASH = 1u << 4,
};

static const uint32_t B3_IV[8] = {
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

static const uint8_t B3_SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t b3_rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t b3_load32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void b3_store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

#define B3_G(a, b, c, d, x, y)                 \
    do {                                       \
        v[a] = v[a] + v[b] + (x);              \
        v[d] = b3_rotr(v[d] ^ v[a], 16);       \
        v[c] = v[c] + v[d];                    \
        v[b] = b3_rotr(v[b] ^ v[c], 12);       \
        v[a] = v[a] + v[b] + (y);              \
        v[d] = b3_rotr(v[d] ^ v[a], 8);        \
        v[c] = v[c] + v[d];                    \
        v[b] = b3_rotr(v[b] ^ v[c], 7);        \
    } while (0)

/* The compression function on one 64-byte block; writes the 8-word output (the hash). */
static inline void b3_compress(const uint32_t cv[8], const uint32_t m[16], uint32_t block_len,
                               uint32_t flags, uint32_t out[8]) {
    uint32_t v[16] = {
        cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
        B3_IV[0], B3_IV[1], B3_IV[2], B3_IV[3], 0u, 0u, block_len, flags,
    };
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = B3_SCHEDULE[r];
        B3_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        B3_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        B3_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        B3_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        B3_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        B3_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        B3_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        B3_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) out[i] = v[i] ^ v[i + 8];
}

/* BLAKE3 (unkeyed if key == NULL, else keyed with the 32-byte key) of len <= 64 bytes. */
static inline void b3_hash_short(const uint8_t *key, const uint8_t *data, uint32_t len, uint8_t hash[32]) {
    uint8_t block[64];
    uint32_t m[16], cv[8], out[8];
    memset(block, 0, sizeof block);
    memcpy(block, data, len);
    for (int i = 0; i < 16; i++) m[i] = b3_load32(block + 4 * i);
    uint32_t flags = B3_CHUNK_START | B3_CHUNK_END | B3_ROOT;
    if (key) {
        for (int i = 0; i < 8; i++) cv[i] = b3_load32(key + 4 * i);
        flags |= B3_KEYED_HASH;
    } else {
        memcpy(cv, B3_IV, sizeof cv);
    }
    b3_compress(cv, m, len, flags, out);
    for (int i = 0; i < 8; i++) b3_store32(hash + 4 * i, out[i]);
}

#endif
