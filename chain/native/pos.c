/* Chia-style Proof-of-Space table builder (spec/consensus.md §3), built as `chain._pos_native`.
 *
 * build_tables(seed32, k) -> (x1, left2, delta2, ..., left7, delta7, y7)   (all bytes)
 *
 * Builds the seven tables of one PoS seed and returns them in the compact form that
 * chain/pos/tables.py reads (the numpy builder there produces the same arrays):
 *
 *   x1          u32[n1]  table 1 in sorted order: the x (= position) of each entry
 *   left_t      u32[n_t] table t (2..7) in sorted order: index of the left parent in the
 *                        sorted table t-1
 *   delta_t     u16[n_t] right parent index minus left parent index (< 1024: the parents sit in
 *                        adjacent buckets of at most 512 entries each)
 *   y7          u32[n7]  table 7's y values, ascending
 *
 * "Sorted order" is the order of spec §3: buckets y / BC ascending, inside a bucket (y, position)
 * with position = x in table 1 and the emission index in later tables; each bucket keeps only
 * its first REDUCED_BUCKET_SIZE = 512 entries by position. Identifying a parent by its sorted
 * index instead of its position changes nothing observable: matching and proof expansion only
 * ever follow these links, and the emission order (which decides ties) is computed from the
 * sorted parent table.
 *
 * Per table t >= 2, for each bucket pair (b, b+1): left entries in sorted order, for each its 64
 * targets in ascending r order, for each target the right entries with that r in sorted order;
 * at most REDUCED_MATCHES_COUNT = 512 matches per pair (the first ones in this order). The 64
 * targets of a left r = c*C + d lie in the distinct rows (c + m) mod B, so ascending order is m
 * order rotated to start where the rows wrap; they are tested against the right bucket 8 at a
 * time (AVX2 gather when the CPU has it; AUTONOMYS_POS_NO_SIMD=1 forces the scalar loop). Each
 * match is hashed with fn (one BLAKE3 block, eight lanes at a time). The GIL is released for
 * the whole build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blake3_block.h"

#define PARAM_EXT 6
#define PARAM_M 64
#define PARAM_B 119
#define PARAM_C 127
#define PARAM_BC 15113
#define REDUCED_BUCKET_SIZE 512
#define REDUCED_MATCHES_COUNT 512
#define K_MIN 15
#define K_MAX 25
#define LANES 8

typedef unsigned __int128 u128;

/* SQ_MOD_C[parity][m] = (2m + parity)^2 mod C. A left entry r = c*C + d (bucket parity p) matches
 * the right r values ((c + m) mod B) * C + (SQ_MOD_C[p][m] + d) mod C, m = 0..63 (its targets). */
static uint32_t SQ_MOD_C[2][PARAM_M];

static void init_targets(void) {
    for (uint32_t parity = 0; parity < 2; parity++)
        for (uint32_t m = 0; m < PARAM_M; m++)
            SQ_MOD_C[parity][m] = ((2 * m + parity) * (2 * m + parity)) % PARAM_C;
}

/* ---------------------------------------------------------------- ChaCha8 (f1 keystream) */

#define ROTL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define QR(a, b, c, d)                                   \
    do {                                                 \
        a += b; d ^= a; d = ROTL32(d, 16);               \
        c += d; b ^= c; b = ROTL32(b, 12);               \
        a += b; d ^= a; d = ROTL32(d, 8);                \
        c += d; b ^= c; b = ROTL32(b, 7);                \
    } while (0)

/* One 64-byte ChaCha8 keystream block: key = seed, nonce = 0, block counter `counter`. */
static void chacha8_block(const uint32_t key[8], uint32_t counter, uint8_t out[64]) {
    uint32_t s[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u,
                      key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
                      counter, 0, 0, 0};
    uint32_t x[16];
    memcpy(x, s, sizeof x);
    for (int i = 0; i < 4; i++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++) b3_store32(out + 4 * i, x[i] + s[i]);
}

/* f1 for every x in 0..2^k (spec §3 "f1"): ys[x] = (keystream bits [k*x, k*x+k)) << 6 | x >> (k-6).
 * 512 consecutive x use exactly k keystream blocks, so the stream is made 512 x at a time. */
static void compute_f1_all(const uint8_t seed[32], int k, uint32_t *ys) {
    uint32_t key[8];
    for (int i = 0; i < 8; i++) key[i] = b3_load32(seed + 4 * i);
    uint8_t buf[64 * K_MAX + 8];
    const uint32_t kmask = (1u << k) - 1;
    const uint32_t n = 1u << k;
    for (uint32_t chunk = 0; chunk < n / 512; chunk++) {
        for (int j = 0; j < k; j++) chacha8_block(key, chunk * (uint32_t)k + (uint32_t)j, buf + 64 * j);
        memset(buf + 64 * k, 0, 8);
        for (uint32_t i = 0; i < 512; i++) {
            uint32_t bit = i * (uint32_t)k;
            const uint8_t *p = buf + (bit >> 3);
            uint64_t v = ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
                         ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24);
            uint32_t partial = (uint32_t)(v >> (64 - k - (bit & 7))) & kmask;
            uint32_t x = chunk * 512 + i;
            ys[x] = (partial << PARAM_EXT) | (x >> (k - PARAM_EXT));
        }
    }
}

/* ---------------------------------------------------------------- grouping into buckets */

/* Sort `n` records (r << 32 | position) of one bucket by r, stably (positions are ascending on
 * input, so the result is (y, position) order). Two 7-bit counting passes; r < 2^14. */
static void sort_bucket(uint64_t *rec, uint32_t n, uint64_t *tmp) {
    if (n < 2) return;
    uint32_t cnt[128];
    for (int pass = 0; pass < 2; pass++) {
        int shift = 32 + 7 * pass;
        memset(cnt, 0, sizeof cnt);
        for (uint32_t i = 0; i < n; i++) cnt[(rec[i] >> shift) & 127]++;
        uint32_t sum = 0;
        for (int d = 0; d < 128; d++) { uint32_t c = cnt[d]; cnt[d] = sum; sum += c; }
        for (uint32_t i = 0; i < n; i++) tmp[cnt[(rec[i] >> shift) & 127]++] = rec[i];
        memcpy(rec, tmp, n * sizeof(uint64_t));
    }
}

/* Group the table's entries (ys[position], positions 0..n) into buckets y / BC, keep the first
 * REDUCED_BUCKET_SIZE by position in each, sort each bucket by (y, position).
 * Writes bstart[0..nb] (bucket b = sorted indices bstart[b]..bstart[b+1]), sy[] (y in sorted
 * order) and perm[] (position of each sorted entry); returns the number kept. */
static uint32_t group_buckets(const uint32_t *ys, uint32_t n, uint32_t nb, uint32_t *bstart,
                              uint32_t *sy, uint32_t *perm, uint64_t *rec) {
    uint32_t *fill = calloc(nb, sizeof(uint32_t));
    if (!fill) return UINT32_MAX;
    for (uint32_t p = 0; p < n; p++) fill[ys[p] / PARAM_BC]++;
    bstart[0] = 0;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t c = fill[b] < REDUCED_BUCKET_SIZE ? fill[b] : REDUCED_BUCKET_SIZE;
        bstart[b + 1] = bstart[b] + c;
        fill[b] = 0;
    }
    for (uint32_t p = 0; p < n; p++) {
        uint32_t y = ys[p];
        uint32_t b = y / PARAM_BC;
        if (fill[b] < REDUCED_BUCKET_SIZE) {
            rec[bstart[b] + fill[b]++] = ((uint64_t)(y - b * PARAM_BC) << 32) | p;
        }
    }
    free(fill);
    uint64_t tmp[REDUCED_BUCKET_SIZE];
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t s = bstart[b], e = bstart[b + 1];
        sort_bucket(rec + s, e - s, tmp);
        for (uint32_t i = s; i < e; i++) {
            sy[i] = b * PARAM_BC + (uint32_t)(rec[i] >> 32);
            perm[i] = (uint32_t)rec[i];
        }
    }
    return bstart[nb];
}

/* ---------------------------------------------------------------- fn (tables 2..7) */

static inline unsigned metadata_bits(int k, int table) {
    static const unsigned mult[8] = {0, 1, 2, 4, 4, 3, 2, 0};
    return (unsigned)k * mult[table];
}

/* OR `v` (n bits) into the 256-bit big-endian accumulator acc[0] (high) ‖ acc[1] (low),
 * its most significant bit at bit offset `off` from the top. */
static inline void put_bits(u128 acc[2], unsigned off, u128 v, unsigned n) {
    if (n == 0) return;
    unsigned shift = 256 - off - n;
    if (shift >= 128) {
        acc[0] |= v << (shift - 128);
    } else {
        acc[1] |= v << shift;
        if (shift + n > 128) acc[0] |= v >> (128 - shift);
    }
}

/* The fn message: y_left (k+6 bits) ‖ md_left ‖ md_right (pw bits each), MSB first, as the 16
 * little-endian words of the zero-padded block (input bits <= 231 < 256, so words 8..15 are 0). */
static inline void fn_message(int k, unsigned pw, uint32_t y, u128 ml, u128 mr, uint32_t m[16]) {
    u128 acc[2] = {0, 0};
    unsigned yb = (unsigned)k + PARAM_EXT;
    put_bits(acc, 0, y, yb);
    put_bits(acc, yb, ml, pw);
    put_bits(acc, yb + pw, mr, pw);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++) m[4 * h + i] = __builtin_bswap32((uint32_t)(acc[h] >> (96 - 32 * i)));
    for (int i = 8; i < 16; i++) m[i] = 0;
}

/* The fn output from the hash words: y = first k+6 bits; metadata = the concatenation for
 * tables 2-3, hash bits [k+6, k+6+width) for tables 4-6, nothing for table 7. */
static inline void fn_output(int k, int table, unsigned pw, u128 ml, u128 mr, const uint32_t h[8],
                             uint32_t *y_out, u128 *md_out) {
    uint32_t be[8]; /* the hash as big-endian 32-bit words */
    for (int i = 0; i < 8; i++) be[i] = __builtin_bswap32(h[i]);
    *y_out = be[0] >> (32 - (k + PARAM_EXT));
    unsigned w = metadata_bits(k, table);
    if (table < 4) {
        *md_out = (ml << pw) | mr;
    } else if (w > 0) {
        unsigned s = (unsigned)k + PARAM_EXT;
        u128 hi = ((u128)be[0] << 96) | ((u128)be[1] << 64) | ((u128)be[2] << 32) | be[3];
        u128 lo = ((u128)be[4] << 96) | ((u128)be[5] << 64) | ((u128)be[6] << 32) | be[7];
        u128 top = (hi << s) | (lo >> (128 - s));
        *md_out = top >> (128 - w);
    } else {
        *md_out = 0;
    }
}

typedef uint32_t v8u __attribute__((vector_size(4 * LANES)));

#define V_ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define V_G(a, b, c, d, x, y)                  \
    do {                                       \
        v[a] = v[a] + v[b] + (x);              \
        v[d] = V_ROTR(v[d] ^ v[a], 16);        \
        v[c] = v[c] + v[d];                    \
        v[b] = V_ROTR(v[b] ^ v[c], 12);        \
        v[a] = v[a] + v[b] + (y);              \
        v[d] = V_ROTR(v[d] ^ v[a], 8);         \
        v[c] = v[c] + v[d];                    \
        v[b] = V_ROTR(v[b] ^ v[c], 7);         \
    } while (0)

/* Unkeyed one-block BLAKE3 of LANES messages at once (same length); msg[word][lane]. */
/* target_clones: an AVX2 build and a baseline one, picked at load time. */
__attribute__((target_clones("avx2", "default")))
void pos_b3_lanes(const uint32_t msg[16][LANES], uint32_t block_len, uint32_t out[8][LANES]) {
    v8u m[16], v[16];
    for (int i = 0; i < 16; i++) memcpy(&m[i], msg[i], sizeof(v8u));
    for (int i = 0; i < 8; i++) v[i] = (v8u){0} + B3_IV[i];
    for (int i = 0; i < 4; i++) v[8 + i] = (v8u){0} + B3_IV[i];
    v[12] = (v8u){0};
    v[13] = (v8u){0};
    v[14] = (v8u){0} + block_len;
    v[15] = (v8u){0} + (uint32_t)(B3_CHUNK_START | B3_CHUNK_END | B3_ROOT);
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = B3_SCHEDULE[r];
        V_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        V_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        V_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        V_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        V_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        V_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        V_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        V_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) {
        v8u o = v[i] ^ v[i + 8];
        memcpy(out[i], &o, sizeof(v8u));
    }
}

/* ---------------------------------------------------------------- table state */

typedef struct {
    uint32_t n;        /* entries kept (sorted) */
    uint32_t *sy;      /* y in sorted order */
    uint32_t *bstart;  /* nb + 1 bucket boundaries */
    u128 *meta;        /* metadata in sorted order (NULL for table 1: meta = x1[i]; table 7) */
    uint32_t *x1;      /* table 1 only: x of each sorted entry */
    uint32_t *left;    /* tables 2..7: left parent sorted index */
    uint16_t *delta;   /* tables 2..7: right - left */
} Tab;

typedef struct {
    uint32_t n, cap;
    uint32_t *y, *left;
    uint16_t *delta;
    u128 *meta;
    int with_meta;
} Emit;

static int emit_reserve(Emit *e, uint32_t extra) {
    if (e->n + extra <= e->cap) return 0;
    uint32_t cap = e->cap + e->cap / 2 + extra;
    uint32_t *y = realloc(e->y, (size_t)cap * sizeof(uint32_t));
    if (!y) return -1;
    e->y = y;
    uint32_t *l = realloc(e->left, (size_t)cap * sizeof(uint32_t));
    if (!l) return -1;
    e->left = l;
    uint16_t *d = realloc(e->delta, (size_t)cap * sizeof(uint16_t));
    if (!d) return -1;
    e->delta = d;
    if (e->with_meta) {
        u128 *m = realloc(e->meta, (size_t)cap * sizeof(u128));
        if (!m) return -1;
        e->meta = m;
    }
    e->cap = cap;
    return 0;
}

static inline u128 parent_meta(const Tab *p, uint32_t i) { return p->meta ? p->meta[i] : (u128)p->x1[i]; }

/* Hash a batch of `cnt` (<= LANES) matches and append them to the emission arrays. */
static void flush_batch(int k, int table, unsigned pw, const Tab *p, const uint32_t *li, const uint32_t *ri,
                        int cnt, uint32_t block_len, Emit *e) {
    uint32_t msg[16][LANES], out[8][LANES];
    u128 ml[LANES], mr[LANES];
    uint32_t m[16];
    for (int j = 0; j < LANES; j++) {
        int src = j < cnt ? j : 0;
        ml[j] = parent_meta(p, li[src]);
        mr[j] = parent_meta(p, ri[src]);
        fn_message(k, pw, p->sy[li[src]], ml[j], mr[j], m);
        for (int w = 0; w < 16; w++) msg[w][j] = m[w];
    }
    pos_b3_lanes((const uint32_t(*)[LANES])msg, block_len, out);
    for (int j = 0; j < cnt; j++) {
        uint32_t h[8];
        for (int w = 0; w < 8; w++) h[w] = out[w][j];
        uint32_t idx = e->n++;
        u128 md;
        fn_output(k, table, pw, ml[j], mr[j], h, &e->y[idx], &md);
        if (e->with_meta) e->meta[idx] = md;
        e->left[idx] = li[j];
        e->delta[idx] = (uint16_t)(ri[j] - li[j]);
    }
}

/* Bit m of the result: whether target m (row (c+m) mod B, column (sq[m] + d) mod C) of a left
 * r = c*C + d has an entry in the right bucket (`present`, indexed by r, 4 bytes of padding). */
static uint64_t scan_hits_scalar(const uint8_t *present, uint32_t c, uint32_t d, const uint32_t *sq) {
    uint64_t hits = 0;
    for (uint32_t mi = 0; mi < PARAM_M; mi++) {
        uint32_t row = c + mi, col = sq[mi] + d;
        row -= row >= PARAM_B ? PARAM_B : 0;
        col -= col >= PARAM_C ? PARAM_C : 0;
        hits |= (uint64_t)(present[row * PARAM_C + col] != 0) << mi;
    }
    return hits;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2")))
static uint64_t scan_hits_avx2(const uint8_t *present, uint32_t c, uint32_t d, const uint32_t *sq) {
    const __m256i vb = _mm256_set1_epi32(PARAM_B), vb1 = _mm256_set1_epi32(PARAM_B - 1);
    const __m256i vc = _mm256_set1_epi32(PARAM_C), vc1 = _mm256_set1_epi32(PARAM_C - 1);
    const __m256i byte = _mm256_set1_epi32(0xFF), zero = _mm256_setzero_si256();
    const __m256i vd = _mm256_set1_epi32((int)d);
    __m256i row = _mm256_add_epi32(_mm256_set1_epi32((int)c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i eight = _mm256_set1_epi32(8);
    uint64_t hits = 0;
    for (int g = 0; g < PARAM_M / 8; g++) {
        __m256i rw = _mm256_sub_epi32(row, _mm256_and_si256(_mm256_cmpgt_epi32(row, vb1), vb));
        __m256i col = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(sq + 8 * g)), vd);
        col = _mm256_sub_epi32(col, _mm256_and_si256(_mm256_cmpgt_epi32(col, vc1), vc));
        __m256i t = _mm256_add_epi32(_mm256_sub_epi32(_mm256_slli_epi32(rw, 7), rw), col);
        __m256i v = _mm256_and_si256(_mm256_i32gather_epi32((const int *)present, t, 1), byte);
        uint32_t empty = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, zero)));
        hits |= (uint64_t)(~empty & 0xFFu) << (8 * g);
        row = _mm256_add_epi32(row, eight);
    }
    return hits;
}
#endif

static uint64_t (*scan_hits)(const uint8_t *, uint32_t, uint32_t, const uint32_t *) = scan_hits_scalar;

/* Matches of the sorted parent table, in emission order, hashed into table `table`. */
static int match_and_compute(int k, int table, uint32_t nb, const Tab *p, Emit *e) {
    unsigned pw = metadata_bits(k, table - 1);
    unsigned in_bits = (unsigned)k + PARAM_EXT + 2 * pw;
    uint32_t block_len = (in_bits + 7) / 8;
    uint16_t *rcount = calloc(PARAM_BC, sizeof(uint16_t));
    uint32_t *rstart = malloc(PARAM_BC * sizeof(uint32_t));
    if (!rcount || !rstart) { free(rcount); free(rstart); return -1; }
    uint32_t li[LANES], ri[LANES];
    uint8_t present[PARAM_BC + 4]; /* 1 where the right bucket has an entry with that r */
    memset(present, 0, sizeof present);
    for (uint32_t b = 0; b + 1 < nb; b++) {
        uint32_t ls = p->bstart[b], le = p->bstart[b + 1], rs = le, re = p->bstart[b + 2];
        if (ls == le || rs == re) continue;
        if (emit_reserve(e, REDUCED_MATCHES_COUNT)) { free(rcount); free(rstart); return -1; }
        uint32_t rbase = (b + 1) * PARAM_BC, lbase = b * PARAM_BC;
        for (uint32_t j = rs; j < re; j++) {
            uint32_t r = p->sy[j] - rbase;
            if (!rcount[r]) rstart[r] = j;
            rcount[r]++;
            present[r] = 1;
        }
        const uint32_t *sq = SQ_MOD_C[b & 1];
        uint32_t count = 0;
        int nbatch = 0;
        for (uint32_t i = ls; i < le && count < REDUCED_MATCHES_COUNT; i++) {
            /* Target m of a left r = c*C + d is row (c+m) mod B, column (SQ[m] + d) mod C. Rows
             * are distinct, so ascending target order is m = m0..63, 0..m0-1 with m0 = B - c when
             * the rows wrap (else 0): test all 64 in the right bucket's bitmap, then rotate. */
            uint32_t r = p->sy[i] - lbase, c = r / PARAM_C, d = r - c * PARAM_C;
            uint64_t hits = scan_hits(present, c, d, sq);
            uint32_t m0 = c + PARAM_M > PARAM_B ? PARAM_B - c : 0;
            if (m0) hits = (hits >> m0) | (hits << (64 - m0));
            for (; hits && count < REDUCED_MATCHES_COUNT; hits &= hits - 1) {
                uint32_t mi = ((uint32_t)__builtin_ctzll(hits) + m0) & (PARAM_M - 1);
                uint32_t row = c + mi, col = sq[mi] + d;
                row -= row >= PARAM_B ? PARAM_B : 0;
                col -= col >= PARAM_C ? PARAM_C : 0;
                uint32_t t = row * PARAM_C + col, n_right = rcount[t], st = rstart[t];
                for (uint32_t q = 0; q < n_right && count < REDUCED_MATCHES_COUNT; q++) {
                    li[nbatch] = i;
                    ri[nbatch] = st + q;
                    nbatch++;
                    count++;
                    if (nbatch == LANES) {
                        flush_batch(k, table, pw, p, li, ri, nbatch, block_len, e);
                        nbatch = 0;
                    }
                }
            }
        }
        if (nbatch) flush_batch(k, table, pw, p, li, ri, nbatch, block_len, e);
        for (uint32_t j = rs; j < re; j++) rcount[p->sy[j] - rbase] = 0;
        for (uint32_t j = rs; j < re; j++) present[p->sy[j] - rbase] = 0;
    }
    free(rcount);
    free(rstart);
    return 0;
}

static void tab_free(Tab *t) {
    free(t->sy); free(t->bstart); free(t->meta); free(t->x1); free(t->left); free(t->delta);
    memset(t, 0, sizeof *t);
}

/* Build all seven tables; out[1] is table 1 (x1), out[2..7] tables 2..7 (left, delta; y for 7). */
static int build_all(const uint8_t seed[32], int k, Tab out[8]) {
    const uint32_t n1 = 1u << k;
    const uint32_t nb = (uint32_t)(((1ull << (k + PARAM_EXT)) + PARAM_BC - 1) / PARAM_BC);
    memset(out, 0, 8 * sizeof(Tab));
    int rc = -1;
    uint32_t *ys = malloc((size_t)n1 * sizeof(uint32_t));
    uint64_t *rec = NULL;
    uint32_t *perm = NULL;
    Emit e = {0};
    if (!ys) goto done;
    compute_f1_all(seed, k, ys);

    Tab *t1 = &out[1];
    t1->bstart = malloc((size_t)(nb + 1) * sizeof(uint32_t));
    t1->sy = malloc((size_t)n1 * sizeof(uint32_t));
    t1->x1 = malloc((size_t)n1 * sizeof(uint32_t));
    rec = malloc((size_t)n1 * sizeof(uint64_t));
    if (!t1->bstart || !t1->sy || !t1->x1 || !rec) goto done;
    t1->n = group_buckets(ys, n1, nb, t1->bstart, t1->sy, t1->x1, rec);
    if (t1->n == UINT32_MAX) goto done;
    free(ys); ys = NULL;
    free(rec); rec = NULL;

    for (int table = 2; table <= 7; table++) {
        Tab *p = &out[table - 1], *t = &out[table];
        e.n = 0;
        e.with_meta = table < 7;
        if (emit_reserve(&e, n1 + n1 / 8)) goto done;
        if (match_and_compute(k, table, nb, p, &e)) goto done;
        /* The parent's y and metadata are no longer needed (its links are). */
        free(p->sy); p->sy = NULL;
        free(p->bstart); p->bstart = NULL;
        free(p->meta); p->meta = NULL;

        uint32_t n = e.n;
        size_t cap = n ? n : 1;
        t->bstart = malloc((size_t)(nb + 1) * sizeof(uint32_t));
        t->sy = malloc(cap * sizeof(uint32_t));
        perm = malloc(cap * sizeof(uint32_t));
        rec = malloc(cap * sizeof(uint64_t));
        if (!t->bstart || !t->sy || !perm || !rec) goto done;
        uint32_t kept = group_buckets(e.y, n, nb, t->bstart, t->sy, perm, rec);
        if (kept == UINT32_MAX) goto done;
        free(rec); rec = NULL;
        t->n = kept;
        size_t kcap = kept ? kept : 1;
        t->left = malloc(kcap * sizeof(uint32_t));
        t->delta = malloc(kcap * sizeof(uint16_t));
        if (!t->left || !t->delta) goto done;
        if (e.with_meta) {
            t->meta = malloc(kcap * sizeof(u128));
            if (!t->meta) goto done;
        }
        for (uint32_t i = 0; i < kept; i++) {
            uint32_t src = perm[i];
            t->left[i] = e.left[src];
            t->delta[i] = e.delta[src];
            if (e.with_meta) t->meta[i] = e.meta[src];
        }
        free(perm); perm = NULL;
    }
    rc = 0;
done:
    free(ys); free(rec); free(perm);
    free(e.y); free(e.left); free(e.delta); free(e.meta);
    if (rc) for (int i = 0; i < 8; i++) tab_free(&out[i]);
    return rc;
}

static PyObject *bytes_of(const void *p, size_t len) {
    return PyBytes_FromStringAndSize(len ? (const char *)p : "", (Py_ssize_t)len);
}

static PyObject *py_build_tables(PyObject *self, PyObject *args) {
    Py_buffer seed;
    int k;
    if (!PyArg_ParseTuple(args, "y*i", &seed, &k)) return NULL;
    if (seed.len != 32) {
        PyBuffer_Release(&seed);
        PyErr_Format(PyExc_ValueError, "PoS seed must be 32 bytes, got %zd", seed.len);
        return NULL;
    }
    if (k < K_MIN || k > K_MAX) {
        PyBuffer_Release(&seed);
        PyErr_Format(PyExc_ValueError, "PoS k must be in %d..%d, got %d", K_MIN, K_MAX, k);
        return NULL;
    }
    uint8_t s[32];
    memcpy(s, seed.buf, 32);
    PyBuffer_Release(&seed);
    Tab t[8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = build_all(s, k, t);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    PyObject *res = PyTuple_New(14);
    if (!res) goto fail;
    PyTuple_SET_ITEM(res, 0, bytes_of(t[1].x1, (size_t)t[1].n * 4));
    for (int table = 2; table <= 7; table++) {
        PyTuple_SET_ITEM(res, 2 * table - 3, bytes_of(t[table].left, (size_t)t[table].n * 4));
        PyTuple_SET_ITEM(res, 2 * table - 2, bytes_of(t[table].delta, (size_t)t[table].n * 2));
    }
    PyTuple_SET_ITEM(res, 13, bytes_of(t[7].sy, (size_t)t[7].n * 4));
    for (int i = 0; i < 14; i++) {
        if (!PyTuple_GET_ITEM(res, i)) { Py_CLEAR(res); break; }
    }
fail:
    for (int i = 0; i < 8; i++) tab_free(&t[i]);
    return res;
}

/* f1 of every x (tests compare it with the numpy keystream): returns u32[2^k] little-endian. */
static PyObject *py_f1_all(PyObject *self, PyObject *args) {
    Py_buffer seed;
    int k;
    if (!PyArg_ParseTuple(args, "y*i", &seed, &k)) return NULL;
    if (seed.len != 32 || k < K_MIN || k > K_MAX) {
        PyBuffer_Release(&seed);
        PyErr_SetString(PyExc_ValueError, "seed must be 32 bytes and k in 15..25");
        return NULL;
    }
    uint8_t s[32];
    memcpy(s, seed.buf, 32);
    PyBuffer_Release(&seed);
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(4ull << k));
    if (!out) return NULL;
    uint32_t *ys = (uint32_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    compute_f1_all(s, k, ys);
    Py_END_ALLOW_THREADS
    return out;
}

/* f1 of the given x values (proof verification needs 64 of them, not all 2^k): xs and the result
 * are u32 little-endian arrays. Each x reads 5 keystream bytes at bit k*x, from at most two
 * ChaCha8 blocks; a block is kept while consecutive x values stay in it. */
static PyObject *py_f1_many(PyObject *self, PyObject *args) {
    Py_buffer seed, xs;
    int k;
    if (!PyArg_ParseTuple(args, "y*iy*", &seed, &k, &xs)) return NULL;
    PyObject *out = NULL;
    if (seed.len != 32 || k < K_MIN || k > K_MAX || xs.len % 4) {
        PyErr_SetString(PyExc_ValueError, "seed must be 32 bytes, k in 15..25 and xs u32 values");
        goto done;
    }
    const size_t n = (size_t)xs.len / 4;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(4 * n));
    if (!out) goto done;
    uint32_t key[8];
    for (int i = 0; i < 8; i++) key[i] = b3_load32((const uint8_t *)seed.buf + 4 * i);
    const uint8_t *in = xs.buf;
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    const uint32_t kmask = (1u << k) - 1;
    uint8_t buf[128];
    uint64_t have = UINT64_MAX; /* first block held in buf (two blocks: have, have + 1) */
    for (size_t i = 0; i < n; i++) {
        const uint32_t x = b3_load32(in + 4 * i);
        if (x > kmask) {
            Py_CLEAR(out);
            PyErr_Format(PyExc_ValueError, "x[%zu] = %u is not a %d-bit value", i, x, k);
            goto done;
        }
        const uint64_t bit = (uint64_t)x * (uint64_t)k, byte = bit >> 3, block = byte / 64;
        if (block != have) {
            chacha8_block(key, (uint32_t)block, buf);
            chacha8_block(key, (uint32_t)block + 1, buf + 64);
            have = block;
        }
        const uint8_t *p = buf + (byte - 64 * block);
        const uint64_t v = ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
                           ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24);
        const uint32_t partial = (uint32_t)(v >> (64 - k - (bit & 7))) & kmask;
        b3_store32(o + 4 * i, (partial << PARAM_EXT) | (x >> (k - PARAM_EXT)));
    }
done:
    PyBuffer_Release(&seed);
    PyBuffer_Release(&xs);
    return out;
}

static PyMethodDef methods[] = {
    {"f1_many", py_f1_many, METH_VARARGS, "f1_many(seed32, k, xs_u32le) -> u32le: f1(x) for each given x."},
    {"build_tables", py_build_tables, METH_VARARGS,
     "build_tables(seed32, k) -> (x1, left2, delta2, ..., left7, delta7, y7): the PoS tables."},
    {"f1_all", py_f1_all, METH_VARARGS, "f1_all(seed32, k) -> u32[2^k] bytes: f1(x) for every x."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pos_native",
                                    "Chia-style PoS table builder (spec/consensus.md §3).", -1, methods};

PyMODINIT_FUNC PyInit__pos_native(void) {
    init_targets();
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && !getenv("AUTONOMYS_POS_NO_SIMD")) scan_hits = scan_hits_avx2;
#endif
    return PyModule_Create(&module);
}
