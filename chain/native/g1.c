/* Native fixed-base multi-scalar multiplication over BLS12-381 G1 (spec/consensus.md §4.3,
 * KZG record commitments).
 *
 * The record commitments of a segment are 256 MSMs over the same bases, the first n powers
 * [τ^i]G1 of the trusted setup. Because the bases never change, this kernel precomputes, for
 * each base P_i and each c-bit window j, the affine point 2^(c·j)·P_i. An MSM then needs no
 * per-window bucket aggregation: every signed c-bit digit of every scalar goes into one shared
 * set of 2^(c-1) buckets, which are summed once at the end (Pippenger with a precomputed
 * window table). py-arkworks' general MSM remains the reference and the fallback; tests hold
 * both equal.
 *
 *   precompute(points, c)        points: n·96 bytes of affine (x, y), big-endian, all zero for
 *                                the identity, as `G1Point.to_xy_bytes_be` gives. Returns the
 *                                window table (opaque bytes) for windows of c bits.
 *   msm(table, n, c, scalars)    scalars: m·32 bytes big-endian canonical (< r), m <= n; uses
 *                                the first m bases. Returns Σ s_i·P_i as 96 bytes (x, y)
 *                                big-endian, all zero for the identity.
 *   entry_size(), backend(), use_ifma(flag)
 *                                the table layout and the field arithmetic in use (below).
 *
 * Bucket additions are affine and go in batches that share one field inversion (Montgomery's
 * trick); an addition that cannot join the current batch (its bucket is already in it, or the
 * two x-coordinates are equal: a doubling or a cancellation) goes into a per-bucket XYZZ
 * accumulator instead (x = X/ZZ, y = Y/ZZZ, mixed addition 8M + 2S), which the final sum adds.
 *
 * Field arithmetic, chosen when the module is imported:
 *   avx512ifma   where the CPU has AVX-512 IFMA: eight bucket additions per vector operation,
 *                elements as 8 limbs of 52 bits (Montgomery R = 2^416); table entries are
 *                `affine52` (128 bytes).
 *   mulx         x86-64 otherwise: 6x64-bit limbs (R = 2^384), the product in mulx/adox/adcx
 *                asm; table entries are `affine` (96 bytes). The import fails on a CPU
 *                without BMI2/ADX, and chain.kzg falls back to arkworks.
 *   portable     other CPUs and compilers (or -DG1_PORTABLE): the same in plain C.
 * Both functions run with the GIL released, so Python threads can compute several MSMs on
 * several cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct {
    uint64_t l[6];
} fp;
typedef struct {
    fp x, y;
} affine; /* (0, 0) is the identity: it is not on y^2 = x^3 + 4 */
typedef struct {
    fp x, y, zz, zzz;
} xyzz; /* zz = 0 is the identity */

/* ---------------------------------------------------------------- Fp, p = BLS12-381 base field */

static const uint64_t P[6] = {0xb9feffffffffaaabULL, 0x1eabfffeb153ffffULL, 0x6730d2a0f6b0f624ULL,
                              0x64774b84f38512bfULL, 0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL};
static const uint64_t INV = 0x89f3fffcfffcfffdULL; /* -p^-1 mod 2^64 */
static const fp R2 = {{0xf4df1f341c341746ULL, 0x0a76e6a609d104f1ULL, 0x8de5476c4c95b6d5ULL,
                       0x67eb88a9939d83c0ULL, 0x9a793e85b519952dULL, 0x11988fe592cae3aaULL}};
static const fp MONT_ONE = {{0x760900000002fffdULL, 0xebf4000bc40c0002ULL, 0x5f48985753c758baULL,
                             0x77ce585370525745ULL, 0x5c071a97a256ec6dULL, 0x15f65ec3fa80e493ULL}};
static const uint64_t P_MINUS_2[6] = {0xb9feffffffffaaa9ULL, 0x1eabfffeb153ffffULL,
                                      0x6730d2a0f6b0f624ULL, 0x64774b84f38512bfULL,
                                      0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL};
/* r, the scalar field order, as 4 little-endian limbs */
static const uint64_t R_ORDER[4] = {0xffffffff00000001ULL, 0x53bda402fffe5bfeULL,
                                    0x3339d80809a1d805ULL, 0x73eda753299d7d48ULL};

static inline int fp_geq_p(const uint64_t *a) {
    for (int i = 5; i >= 0; i--) {
        if (a[i] != P[i]) return a[i] > P[i];
    }
    return 1;
}

static inline void fp_sub_p(uint64_t *a) {
    uint64_t borrow = 0;
    for (int i = 0; i < 6; i++) {
        u128 d = (u128)a[i] - P[i] - borrow;
        a[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
}

static inline int fp_is_zero(const fp *a) {
    return (a->l[0] | a->l[1] | a->l[2] | a->l[3] | a->l[4] | a->l[5]) == 0;
}

static inline int fp_eq(const fp *a, const fp *b) { return memcmp(a, b, sizeof(fp)) == 0; }

static inline void fp_add(fp *o, const fp *a, const fp *b) {
    uint64_t carry = 0;
    for (int i = 0; i < 6; i++) {
        u128 s = (u128)a->l[i] + b->l[i] + carry;
        o->l[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    /* p < 2^381, so a + b < 2^383 never carries out of six limbs */
    if (fp_geq_p(o->l)) fp_sub_p(o->l);
}

static inline void fp_sub(fp *o, const fp *a, const fp *b) {
    uint64_t borrow = 0;
    for (int i = 0; i < 6; i++) {
        u128 d = (u128)a->l[i] - b->l[i] - borrow;
        o->l[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    if (borrow) {
        uint64_t carry = 0;
        for (int i = 0; i < 6; i++) {
            u128 s = (u128)o->l[i] + P[i] + carry;
            o->l[i] = (uint64_t)s;
            carry = (uint64_t)(s >> 64);
        }
    }
}

static inline void fp_dbl(fp *o, const fp *a) { fp_add(o, a, a); }

static inline void fp_neg(fp *o, const fp *a) {
    if (fp_is_zero(a)) {
        *o = *a;
        return;
    }
    uint64_t borrow = 0;
    for (int i = 0; i < 6; i++) {
        u128 d = (u128)P[i] - a->l[i] - borrow;
        o->l[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
}

/* Montgomery product a·b·2^-384 mod p (CIOS). p's top limb is below 2^62, so the running
 * value fits seven limbs and the last reduction is one conditional subtraction. */
static inline void fp_mul_portable(fp *o, const fp *a, const fp *b) {
    uint64_t t[7] = {0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        uint64_t carry = 0;
        const uint64_t bi = b->l[i];
        for (int j = 0; j < 6; j++) {
            u128 s = (u128)a->l[j] * bi + t[j] + carry;
            t[j] = (uint64_t)s;
            carry = (uint64_t)(s >> 64);
        }
        t[6] = carry;
        const uint64_t m = t[0] * INV;
        u128 s = (u128)m * P[0] + t[0];
        carry = (uint64_t)(s >> 64);
        for (int j = 1; j < 6; j++) {
            s = (u128)m * P[j] + t[j] + carry;
            t[j - 1] = (uint64_t)s;
            carry = (uint64_t)(s >> 64);
        }
        t[5] = t[6] + carry;
    }
    memcpy(o->l, t, sizeof(o->l));
    if (fp_geq_p(o->l)) fp_sub_p(o->l);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(G1_PORTABLE)
#define HAVE_MULX_ASM 1
/* The same product with mulx and two carry chains (adox for the low words, adcx for the high
 * words), one round per limb of b with the limb registers rotating, so the running value never
 * leaves registers. BMI2 + ADX are checked when the module is imported. The round text is
 * produced by chain/native/gen_fp_mul_asm.py. */
static inline void fp_mul(fp *o, const fp *a, const fp *b) {
    uint64_t t0, t1, t2, t3, t4, t5, t6, lo, hi, z;
    __asm__(
        /* result limbs in t6, t0, t1, t2, t3, t4 */
        "xorl %k[t0], %k[t0]\n\t"
        "xorl %k[t1], %k[t1]\n\t"
        "xorl %k[t2], %k[t2]\n\t"
        "xorl %k[t3], %k[t3]\n\t"
        "xorl %k[t4], %k[t4]\n\t"
        "xorl %k[t5], %k[t5]\n\t"
        "xorl %k[z], %k[z]\n\t"
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 32(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 40(%[a]), %[lo], %[t6]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[z], %[t6]\n\t"
        "adoxq %[z], %[t6]\n\t"
        "movq %[t0], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[z], %k[z]\n\t"
        "mulxq 0+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 8+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 16+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 24+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 32+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 40+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "adoxq %[z], %[t6]\n\t"
        "xorl %k[z], %k[z]\n\t"
        "movq 8(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 32(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 40(%[a]), %[lo], %[t0]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[z], %[t0]\n\t"
        "adoxq %[z], %[t0]\n\t"
        "movq %[t1], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[z], %k[z]\n\t"
        "mulxq 0+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 8+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 16+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 24+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 32+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 40+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "adoxq %[z], %[t0]\n\t"
        "xorl %k[z], %k[z]\n\t"
        "movq 16(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 32(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 40(%[a]), %[lo], %[t1]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[z], %[t1]\n\t"
        "adoxq %[z], %[t1]\n\t"
        "movq %[t2], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[z], %k[z]\n\t"
        "mulxq 0+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 8+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 16+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 24+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 32+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 40+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "adoxq %[z], %[t1]\n\t"
        "xorl %k[z], %k[z]\n\t"
        "movq 24(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 32(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 40(%[a]), %[lo], %[t2]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[z], %[t2]\n\t"
        "adoxq %[z], %[t2]\n\t"
        "movq %[t3], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[z], %k[z]\n\t"
        "mulxq 0+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 8+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 16+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 24+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 32+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 40+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "adoxq %[z], %[t2]\n\t"
        "xorl %k[z], %k[z]\n\t"
        "movq 32(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 32(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 40(%[a]), %[lo], %[t3]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[z], %[t3]\n\t"
        "adoxq %[z], %[t3]\n\t"
        "movq %[t4], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[z], %k[z]\n\t"
        "mulxq 0+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t5]\n\t"
        "mulxq 8+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 16+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 24+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 32+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 40+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "adoxq %[z], %[t3]\n\t"
        "xorl %k[z], %k[z]\n\t"
        "movq 40(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 32(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 40(%[a]), %[lo], %[t4]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[z], %[t4]\n\t"
        "adoxq %[z], %[t4]\n\t"
        "movq %[t5], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[z], %k[z]\n\t"
        "mulxq 0+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t5]\n\t"
        "adcxq %[hi], %[t6]\n\t"
        "mulxq 8+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t6]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 16+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 24+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 32+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 40+%[p], %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "adoxq %[z], %[t4]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
          [t5] "=&r"(t5), [t6] "=&r"(t6), [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z)
        : [a] "r"(a->l), [b] "r"(b->l), [p] "m"(*(const uint64_t(*)[6])P), [inv] "m"(INV),
          "m"(*(const uint64_t(*)[6])a->l), "m"(*(const uint64_t(*)[6])b->l)
        : "rdx", "cc");
    const uint64_t r[6] = {t6, t0, t1, t2, t3, t4}; /* where the rotation leaves the limbs */
    uint64_t s[6], borrow = 0;
    for (int i = 0; i < 6; i++) {
        u128 d = (u128)r[i] - P[i] - borrow;
        s[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    memcpy(o->l, borrow ? r : s, sizeof(o->l));
}
#else
#define fp_mul fp_mul_portable
#endif

static inline void fp_sqr(fp *o, const fp *a) { fp_mul(o, a, a); }

static void fp_inv(fp *o, const fp *a) {
    /* a^(p-2); a != 0 */
    fp result = MONT_ONE, base = *a;
    for (int i = 0; i < 6; i++) {
        uint64_t e = P_MINUS_2[i];
        for (int bit = 0; bit < 64; bit++) {
            if (e & 1) fp_mul(&result, &result, &base);
            fp_sqr(&base, &base);
            e >>= 1;
        }
    }
    *o = result;
}

static inline uint64_t load_be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static inline void store_be64(unsigned char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* 48 big-endian bytes -> Montgomery form; 0 if not canonical */
static int fp_load(fp *o, const unsigned char *p) {
    fp plain;
    for (int i = 0; i < 6; i++) plain.l[i] = load_be64(p + 8 * (5 - i));
    if (fp_geq_p(plain.l)) return 0;
    fp_mul(o, &plain, &R2);
    return 1;
}

static void fp_store(unsigned char *p, const fp *a) {
    static const fp one = {{1, 0, 0, 0, 0, 0}};
    fp plain;
    fp_mul(&plain, a, &one);
    for (int i = 0; i < 6; i++) store_be64(p + 8 * (5 - i), plain.l[i]);
}

/* ---------------------------------------------------------------- G1 in XYZZ coordinates */

static inline int affine_is_identity(const affine *a) { return fp_is_zero(&a->x) && fp_is_zero(&a->y); }

static inline void xyzz_set_identity(xyzz *p) { memset(p, 0, sizeof(*p)); }

static inline void xyzz_from_affine(xyzz *p, const affine *a) {
    p->x = a->x;
    p->y = a->y;
    p->zz = MONT_ONE;
    p->zzz = MONT_ONE;
}

/* p = 2·p (dbl-2008-s-1, a = 0) */
static void xyzz_dbl(xyzz *p) {
    if (fp_is_zero(&p->zz)) return;
    fp u, v, w, s, m, t;
    fp_dbl(&u, &p->y);      /* U = 2Y */
    fp_sqr(&v, &u);         /* V = U^2 */
    fp_mul(&w, &u, &v);     /* W = U·V */
    fp_mul(&s, &p->x, &v);  /* S = X·V */
    fp_sqr(&m, &p->x);      /* M = 3X^2 */
    fp_dbl(&t, &m);
    fp_add(&m, &m, &t);
    fp_sqr(&t, &m); /* X3 = M^2 - 2S */
    fp_sub(&t, &t, &s);
    fp_sub(&p->x, &t, &s);
    fp_sub(&t, &s, &p->x); /* Y3 = M(S - X3) - W·Y */
    fp_mul(&t, &m, &t);
    fp_mul(&u, &w, &p->y);
    fp_sub(&p->y, &t, &u);
    fp_mul(&p->zz, &p->zz, &v);
    fp_mul(&p->zzz, &p->zzz, &w);
}

/* p = 2·a for affine a (mdbl-2008-s-1) */
static void xyzz_dbl_affine(xyzz *p, const affine *a) {
    xyzz_from_affine(p, a);
    xyzz_dbl(p);
}

/* The chord step madd-2008-s and add-2008-s share, for P = U2 − U1 ≠ 0 and R = S2 − S1:
 * X3 = R² − PPP − 2Q and Y3 = R(Q − X3) − S1·PPP with PP = P², PPP = P·PP, Q = U1·PP. Writes
 * X3, Y3 into p (u1 and s1 may be p's own x and y) and leaves PP, PPP for ZZ3 and ZZZ3. */
static void xyzz_chord(xyzz *p, const fp *u1, const fp *s1, const fp *diff, const fp *r, fp *pp, fp *ppp) {
    fp q, t, s1ppp;
    fp_sqr(pp, diff);
    fp_mul(ppp, diff, pp);
    fp_mul(&q, u1, pp);
    fp_mul(&s1ppp, s1, ppp);
    fp_sqr(&t, r);
    fp_sub(&t, &t, ppp);
    fp_sub(&t, &t, &q);
    fp_sub(&p->x, &t, &q);
    fp_sub(&t, &q, &p->x);
    fp_mul(&t, r, &t);
    fp_sub(&p->y, &t, &s1ppp);
}

/* p += a, a affine, negated if `negate` (madd-2008-s) */
static void xyzz_add_affine(xyzz *p, const affine *a, int negate) {
    fp ay;
    if (negate)
        fp_neg(&ay, &a->y);
    else
        ay = a->y;
    if (fp_is_zero(&p->zz)) {
        p->x = a->x;
        p->y = ay;
        p->zz = MONT_ONE;
        p->zzz = MONT_ONE;
        return;
    }
    fp u2, s2, pp, ppp, r;
    fp_mul(&u2, &a->x, &p->zz); /* U2 = X2·ZZ1 */
    fp_mul(&s2, &ay, &p->zzz);  /* S2 = Y2·ZZZ1 */
    fp_sub(&u2, &u2, &p->x);    /* P = U2 - X1 */
    fp_sub(&r, &s2, &p->y);     /* R = S2 - Y1 */
    if (fp_is_zero(&u2)) {
        if (fp_is_zero(&r)) {
            affine same = {a->x, ay};
            xyzz_dbl_affine(p, &same);
        } else {
            xyzz_set_identity(p);
        }
        return;
    }
    xyzz_chord(p, &p->x, &p->y, &u2, &r, &pp, &ppp); /* U1 = X1, S1 = Y1 for an affine addend */
    fp_mul(&p->zz, &p->zz, &pp);
    fp_mul(&p->zzz, &p->zzz, &ppp);
}

/* p += b, both XYZZ (add-2008-s) */
static void xyzz_add(xyzz *p, const xyzz *b) {
    if (fp_is_zero(&b->zz)) return;
    if (fp_is_zero(&p->zz)) {
        *p = *b;
        return;
    }
    fp u1, u2, s1, s2, pp, ppp, r;
    fp_mul(&u1, &p->x, &b->zz);
    fp_mul(&u2, &b->x, &p->zz);
    fp_mul(&s1, &p->y, &b->zzz);
    fp_mul(&s2, &b->y, &p->zzz);
    fp_sub(&u2, &u2, &u1); /* P */
    fp_sub(&r, &s2, &s1);  /* R */
    if (fp_is_zero(&u2)) {
        if (fp_is_zero(&r))
            xyzz_dbl(p);
        else
            xyzz_set_identity(p);
        return;
    }
    xyzz_chord(p, &u1, &s1, &u2, &r, &pp, &ppp);
    fp_mul(&p->zz, &p->zz, &b->zz);
    fp_mul(&p->zz, &p->zz, &pp);
    fp_mul(&p->zzz, &p->zzz, &b->zzz);
    fp_mul(&p->zzz, &p->zzz, &ppp);
}

/* Convert n XYZZ points to affine with one field inversion (Montgomery's trick on ZZZ). */
static int xyzz_batch_to_affine(affine *out, const xyzz *in, size_t n) {
    fp *prefix = malloc(sizeof(fp) * (n ? n : 1));
    if (!prefix) return 0;
    fp acc = MONT_ONE;
    for (size_t i = 0; i < n; i++) {
        prefix[i] = acc;
        if (!fp_is_zero(&in[i].zzz)) fp_mul(&acc, &acc, &in[i].zzz);
    }
    fp inv;
    fp_inv(&inv, &acc);
    for (size_t i = n; i-- > 0;) {
        if (fp_is_zero(&in[i].zzz)) {
            memset(&out[i], 0, sizeof(affine));
            continue;
        }
        fp w, z, zinv;
        fp_mul(&w, &inv, &prefix[i]);     /* 1/ZZZ_i */
        fp_mul(&inv, &inv, &in[i].zzz);   /* drop ZZZ_i from the running inverse */
        fp_mul(&zinv, &w, &in[i].zz);     /* ZZ/ZZZ = 1/Z */
        fp_sqr(&z, &zinv);                /* 1/ZZ */
        fp_mul(&out[i].x, &in[i].x, &z);
        fp_mul(&out[i].y, &in[i].y, &w);
    }
    free(prefix);
    return 1;
}

/* ---------------------------------------------------------------- Fp in 52-bit limbs (AVX-512 IFMA) */

#ifdef HAVE_MULX_ASM
#define HAVE_IFMA 1
#include <immintrin.h>
#define VEC __attribute__((target("avx512f,avx512ifma")))

/* One element as 8 limbs of 52 bits in Montgomery form for R = 2^416, canonical (< p): the
 * layout of window-table entries and buckets when the IFMA path is on. */
typedef struct {
    uint64_t l[8];
} fp52;
typedef struct {
    fp52 x, y;
} affine52; /* (0, 0) is the identity, as for `affine` */
/* Eight elements side by side: l[k] holds limb k of each lane. */
typedef struct {
    __m512i l[8];
} fp8;

#define MASK52 0xfffffffffffffULL
#define INV52 0x3fffcfffcfffdULL /* -p^-1 mod 2^52 */
static const uint64_t P52[8] = {0xeffffffffaaabULL, 0xfeb153ffffb9fULL, 0x6b0f6241eabffULL, 0x12bf6730d2a0fULL,
                                0x764774b84f385ULL, 0x1ba7b6434bacdULL, 0x1ea397fe69a4bULL, 0x000000001a011ULL};
static const uint64_t ONE52[8] = {0x6480ea8e9b9afULL, 0x65766c8fe444fULL, 0x8b540fea96f7dULL, 0x3b2ee82efd422ULL,
                                  0xa6723e5f0ade5ULL, 0xff6eb6fdd4230ULL, 0xe06ef23c24a25ULL, 0x0000000014c8eULL};
/* 2^416 mod p and 2^352 mod p, plain integers: Montgomery products with them move an element
 * between R = 2^384 (the scalar code) and R = 2^416. */
static const fp K_TO52 = {{0x44f6480ea8e9b9afULL, 0xa96f7d65766c8fe4ULL, 0xe82efd4228b540feULL,
                           0x6723e5f0ade53b2eULL, 0x25ff6eb6fdd4230aULL, 0x14c8ee06ef23c24aULL}};
static const fp K_FROM52 = {{0, 0, 0, 0, 0, 0x100000000ULL}};

/* Whether the MSM uses the IFMA path: the CPU has it (checked at import) and no one turned it off. */
static int ifma_enabled = 0;

static void fp_to52(fp52 *o, const fp *a) {
    fp t;
    fp_mul(&t, a, &K_TO52);
    for (int k = 0; k < 8; k++) {
        const int bit = 52 * k, limb = bit / 64, off = bit % 64;
        uint64_t v = t.l[limb] >> off;
        if (off > 12 && limb + 1 < 6) v |= t.l[limb + 1] << (64 - off);
        o->l[k] = v & MASK52;
    }
}

static void fp_from52(fp *o, const fp52 *a) {
    fp t = {{0, 0, 0, 0, 0, 0}};
    for (int k = 0; k < 8; k++) {
        const int bit = 52 * k, limb = bit / 64, off = bit % 64;
        t.l[limb] |= a->l[k] << off;
        if (off > 12 && limb + 1 < 6) t.l[limb + 1] |= a->l[k] >> (64 - off);
    }
    fp_mul(o, &t, &K_FROM52);
}

static int fp52_is_zero(const fp52 *a) {
    uint64_t acc = 0;
    for (int k = 0; k < 8; k++) acc |= a->l[k];
    return acc == 0;
}

static void fp52_neg(fp52 *o, const fp52 *a) {
    if (fp52_is_zero(a)) {
        *o = *a;
        return;
    }
    int64_t borrow = 0;
    for (int k = 0; k < 8; k++) {
        int64_t d = (int64_t)P52[k] - (int64_t)a->l[k] + borrow;
        borrow = d >> 52; /* arithmetic: -1 or 0 */
        o->l[k] = (uint64_t)d & MASK52;
    }
}

static inline int affine52_is_identity(const affine52 *a) { return fp52_is_zero(&a->x) && fp52_is_zero(&a->y); }

static void affine_from52(affine *o, const affine52 *a) {
    if (affine52_is_identity(a)) {
        memset(o, 0, sizeof(*o));
        return;
    }
    fp_from52(&o->x, &a->x);
    fp_from52(&o->y, &a->y);
}

static void affine_to52(affine52 *o, const affine *a) {
    if (affine_is_identity(a)) {
        memset(o, 0, sizeof(*o));
        return;
    }
    fp_to52(&o->x, &a->x);
    fp_to52(&o->y, &a->y);
}

static inline VEC __m512i v_set(uint64_t x) { return _mm512_set1_epi64((long long)x); }

/* t (limbs of any size up to 2^63, value < 2p) -> canonical o (< p, 52-bit limbs). */
static inline VEC void v_reduce(fp8 *o, __m512i t[8]) {
    const __m512i mask = v_set(MASK52);
    for (int k = 0; k < 7; k++) {
        t[k + 1] = _mm512_add_epi64(t[k + 1], _mm512_srli_epi64(t[k], 52));
        t[k] = _mm512_and_si512(t[k], mask);
    }
    __m512i d[8], borrow = _mm512_setzero_si512();
    for (int k = 0; k < 8; k++) {
        const __m512i x = _mm512_add_epi64(_mm512_sub_epi64(t[k], v_set(P52[k])), borrow);
        borrow = _mm512_srai_epi64(x, 52);
        d[k] = _mm512_and_si512(x, mask);
    }
    const __mmask8 at_least_p = _mm512_cmpeq_epi64_mask(borrow, _mm512_setzero_si512());
    for (int k = 0; k < 8; k++) o->l[k] = _mm512_mask_blend_epi64(at_least_p, t[k], d[k]);
}

/* o = a·b·2^-416 mod p, lane by lane (Montgomery, operand scanning over b's limbs). */
static VEC void v_mul(fp8 *o, const fp8 *a, const fp8 *b) {
    __m512i t[9];
    const __m512i zero = _mm512_setzero_si512(), inv = v_set(INV52);
    for (int k = 0; k < 9; k++) t[k] = zero;
    for (int i = 0; i < 8; i++) {
        const __m512i bi = b->l[i];
        for (int j = 0; j < 8; j++) {
            t[j] = _mm512_madd52lo_epu64(t[j], a->l[j], bi);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], a->l[j], bi);
        }
        const __m512i m = _mm512_madd52lo_epu64(zero, t[0], inv);
        for (int j = 0; j < 8; j++) {
            const __m512i pj = v_set(P52[j]);
            t[j] = _mm512_madd52lo_epu64(t[j], m, pj);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, pj);
        }
        t[1] = _mm512_add_epi64(t[1], _mm512_srli_epi64(t[0], 52)); /* t[0] ≡ 0 mod 2^52 now */
        for (int j = 0; j < 8; j++) t[j] = t[j + 1];
        t[8] = zero;
    }
    v_reduce(o, t);
}

static VEC void v_add(fp8 *o, const fp8 *a, const fp8 *b) {
    __m512i t[8];
    for (int k = 0; k < 8; k++) t[k] = _mm512_add_epi64(a->l[k], b->l[k]);
    v_reduce(o, t);
}

static VEC void v_sub(fp8 *o, const fp8 *a, const fp8 *b) {
    const __m512i mask = v_set(MASK52);
    __m512i d[8], borrow = _mm512_setzero_si512();
    for (int k = 0; k < 8; k++) {
        const __m512i x = _mm512_add_epi64(_mm512_sub_epi64(a->l[k], b->l[k]), borrow);
        borrow = _mm512_srai_epi64(x, 52);
        d[k] = _mm512_and_si512(x, mask);
    }
    const __mmask8 negative = _mm512_cmpneq_epi64_mask(borrow, _mm512_setzero_si512());
    __m512i carry = _mm512_setzero_si512();
    for (int k = 0; k < 8; k++) { /* d + p, the carry out of the top limb dropped */
        const __m512i x = _mm512_add_epi64(_mm512_add_epi64(d[k], v_set(P52[k])), carry);
        carry = _mm512_srli_epi64(x, 52);
        o->l[k] = _mm512_mask_blend_epi64(negative, d[k], _mm512_and_si512(x, mask));
    }
}

static VEC void v_set_one(fp8 *o) {
    for (int k = 0; k < 8; k++) o->l[k] = v_set(ONE52[k]);
}

/* o = 1/a lane by lane, every lane nonzero: the eight lanes share one scalar inversion
 * (Montgomery's trick), which costs less than eight vector exponentiations. */
static VEC void v_inv(fp8 *o, const fp8 *a) {
    uint64_t limbs[8][8]; /* [limb][lane] */
    for (int k = 0; k < 8; k++) _mm512_storeu_si512(limbs[k], a->l[k]);
    fp value[8], prefix[8], product = MONT_ONE;
    for (int lane = 0; lane < 8; lane++) {
        fp52 e;
        for (int k = 0; k < 8; k++) e.l[k] = limbs[k][lane];
        fp_from52(&value[lane], &e);
        prefix[lane] = product;
        fp_mul(&product, &product, &value[lane]);
    }
    fp inv;
    fp_inv(&inv, &product);
    for (int lane = 8; lane-- > 0;) {
        fp r;
        fp52 e;
        fp_mul(&r, &inv, &prefix[lane]);
        fp_mul(&inv, &inv, &value[lane]);
        fp_to52(&e, &r);
        for (int k = 0; k < 8; k++) limbs[k][lane] = e.l[k];
    }
    for (int k = 0; k < 8; k++) o->l[k] = _mm512_loadu_si512(limbs[k]);
}

/* Limb k of lane l is at base + index[l] + 8k; lanes off in `lanes` read 0. */
static inline VEC void v_gather(fp8 *o, const void *base, __m512i index, __mmask8 lanes) {
    for (int k = 0; k < 8; k++)
        o->l[k] = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), lanes, index, (const char *)base + 8 * k, 1);
}

static inline VEC void v_scatter(void *base, __m512i index, __mmask8 lanes, const fp8 *a) {
    for (int k = 0; k < 8; k++) _mm512_mask_i64scatter_epi64((char *)base + 8 * k, lanes, index, a->l[k], 1);
}
#endif

/* ---------------------------------------------------------------- the window table */

/* Windows of c bits needed for a scalar below r < 2^255 with signed digits: the top window
 * then holds at most c-1 bits plus a carry, so its digit stays within 2^(c-1). */
static int num_windows(int c) { return 255 / c + 1; }

/* Signed c-bit digits of a 256-bit scalar (4 little-endian limbs): d_j in [-2^(c-1), 2^(c-1)]. */
static void signed_digits(int32_t *out, const uint64_t s[4], int c, int windows) {
    const int32_t half = 1 << (c - 1), full = 1 << c;
    int32_t carry = 0;
    for (int j = 0; j < windows; j++) {
        int bit = j * c;
        uint64_t v = 0;
        if (bit < 256) {
            int limb = bit / 64, off = bit % 64;
            v = s[limb] >> off;
            if (off + c > 64 && limb + 1 < 4) v |= s[limb + 1] << (64 - off);
            v &= (uint64_t)full - 1;
        }
        int32_t d = (int32_t)v + carry;
        if (d > half) {
            d -= full;
            carry = 1;
        } else {
            carry = 0;
        }
        out[j] = d;
    }
}

/* Bytes per table entry: `affine52` on the IFMA path, else `affine`. */
static size_t entry_size(void) {
#ifdef HAVE_IFMA
    if (ifma_enabled) return sizeof(affine52);
#endif
    return sizeof(affine);
}

/* Write `row` (n affine points) as table row j, in the layout of the path in use. */
static void store_row(char *table, size_t n, int j, const affine *row) {
#ifdef HAVE_IFMA
    if (ifma_enabled) {
        affine52 *out = (affine52 *)table + (size_t)j * n;
        for (size_t i = 0; i < n; i++) affine_to52(&out[i], &row[i]);
        return;
    }
#endif
    memcpy((affine *)table + (size_t)j * n, row, n * sizeof(affine));
}

static PyObject *py_precompute(PyObject *self, PyObject *args) {
    Py_buffer buf;
    int c;
    if (!PyArg_ParseTuple(args, "y*i", &buf, &c)) return NULL;
    if (c < 2 || c > 20 || buf.len % 96) {
        PyBuffer_Release(&buf);
        return PyErr_Format(PyExc_ValueError, "precompute: need n*96 bytes of points and 2 <= c <= 20");
    }
    const size_t n = (size_t)buf.len / 96;
    const int windows = num_windows(c);
    affine *row = malloc(sizeof(affine) * (n ? n : 1));
    xyzz *work = malloc(sizeof(xyzz) * (n ? n : 1));
    PyObject *table = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * windows * entry_size()));
    if (!row || !work || !table) {
        PyBuffer_Release(&buf);
        free(row);
        free(work);
        Py_XDECREF(table);
        return table ? PyErr_NoMemory() : NULL;
    }
    const unsigned char *src = buf.buf;
    for (size_t i = 0; i < n; i++) {
        if (!fp_load(&row[i].x, src + 96 * i) || !fp_load(&row[i].y, src + 96 * i + 48)) {
            PyBuffer_Release(&buf);
            free(row);
            free(work);
            Py_DECREF(table);
            return PyErr_Format(PyExc_ValueError, "precompute: point %zu has a non-canonical coordinate", i);
        }
    }
    PyBuffer_Release(&buf);
    char *t = PyBytes_AS_STRING(table);
    int ok = 1;
    Py_BEGIN_ALLOW_THREADS;
    for (int j = 0; ok && j < windows; j++) {
        if (j) { /* row = 2^c · row */
            for (size_t i = 0; i < n; i++) {
                if (affine_is_identity(&row[i])) {
                    xyzz_set_identity(&work[i]);
                    continue;
                }
                xyzz_dbl_affine(&work[i], &row[i]);
                for (int k = 1; k < c; k++) xyzz_dbl(&work[i]);
            }
            ok = xyzz_batch_to_affine(row, work, n);
        }
        if (ok) store_row(t, n, j, row);
    }
    Py_END_ALLOW_THREADS;
    free(row);
    free(work);
    if (!ok) {
        Py_DECREF(table);
        return PyErr_NoMemory();
    }
    return table;
}

/* ---------------------------------------------------------------- the MSM */

/* Additions per batch: one field inversion is shared by this many affine bucket additions. */
#define BATCH 1024

/* A batch takes each bucket once (a second addition to it goes the XYZZ way), so with few
 * buckets a long batch would send most additions there: at most a quarter of the buckets. */
static size_t batch_limit(size_t batch, size_t buckets_n) {
    const size_t quarter = buckets_n / 4;
    return quarter < 8 ? 8 : (quarter < batch ? quarter : batch);
}

typedef struct {
    uint32_t bucket;
    uint32_t negate;
    const affine *point;
} bucket_add;

typedef struct {
    affine *buckets;  /* affine bucket sums; identity while empty */
    xyzz *overflow;   /* additions that could not go in a batch: a bucket already in it, or x equal */
    uint32_t *mark;   /* batch number that last took each bucket */
    bucket_add *ops;
    fp *prefix;
    size_t count;
    size_t limit; /* additions per batch: BATCH, fewer when there are few buckets */
    uint32_t batch;
} accumulator;

/* Run the pending batch: bucket_k += ±Q for every pending pair, affine, with one inversion
 * (λ = (y_Q − y_B)/(x_Q − x_B), x' = λ² − x_B − x_Q, y' = λ(x_B − x') − y_B). */
static void flush_batch(accumulator *acc) {
    const size_t count = acc->count;
    if (!count) return;
    fp run = MONT_ONE;
    for (size_t i = 0; i < count; i++) {
        const bucket_add *op = &acc->ops[i];
        fp dx;
        fp_sub(&dx, &op->point->x, &acc->buckets[op->bucket].x);
        acc->prefix[i] = run;
        fp_mul(&run, &run, &dx);
    }
    fp inv;
    fp_inv(&inv, &run);
    for (size_t i = count; i-- > 0;) {
        const bucket_add *op = &acc->ops[i];
        affine *b = &acc->buckets[op->bucket];
        fp dx, dy, inv_dx, lambda, x3, t;
        fp_sub(&dx, &op->point->x, &b->x);
        fp_mul(&inv_dx, &inv, &acc->prefix[i]);
        fp_mul(&inv, &inv, &dx);
        if (op->negate) {
            fp_add(&dy, &op->point->y, &b->y);
            fp_neg(&dy, &dy);
        } else {
            fp_sub(&dy, &op->point->y, &b->y);
        }
        fp_mul(&lambda, &dy, &inv_dx);
        fp_sqr(&x3, &lambda);
        fp_sub(&x3, &x3, &b->x);
        fp_sub(&x3, &x3, &op->point->x);
        fp_sub(&t, &b->x, &x3);
        fp_mul(&t, &lambda, &t);
        fp_sub(&b->y, &t, &b->y);
        b->x = x3;
    }
    acc->count = 0;
    acc->batch++;
}

/* bucket_k += ±Q: into the next batch when it can go there, else through XYZZ. */
static inline void add_to_bucket(accumulator *acc, uint32_t k, const affine *q, int negate) {
    affine *b = &acc->buckets[k];
    if (acc->mark[k] == acc->batch) {
        xyzz_add_affine(&acc->overflow[k], q, negate);
        return;
    }
    if (affine_is_identity(b)) {
        b->x = q->x;
        if (negate)
            fp_neg(&b->y, &q->y);
        else
            b->y = q->y;
        return;
    }
    if (fp_eq(&b->x, &q->x)) { /* doubling or cancellation: the rare exact cases */
        xyzz_add_affine(&acc->overflow[k], q, negate);
        return;
    }
    acc->mark[k] = acc->batch;
    acc->ops[acc->count++] = (bucket_add){k, (uint32_t)negate, q};
    if (acc->count == acc->limit) flush_batch(acc);
}

/* Σ d_ij·(2^(c·j)·P_i) over every digit: bucket accumulation, then Σ (k+1)·B_k by running sums
 * from the top bucket. The point-at-infinity bases of the table are skipped. */
/* total = Σ (k+1)·(buckets[k] + overflow[k]), by running sums from the top bucket. */
static void running_sum(xyzz *total, const affine *buckets, const xyzz *overflow, size_t buckets_n) {
    xyzz sum;
    xyzz_set_identity(&sum);
    xyzz_set_identity(total);
    for (size_t k = buckets_n; k-- > 0;) {
        if (!affine_is_identity(&buckets[k])) xyzz_add_affine(&sum, &buckets[k], 0);
        xyzz_add(&sum, &overflow[k]);
        xyzz_add(total, &sum);
    }
}

static void msm_core(accumulator *acc, const affine *table, size_t n, size_t m, int windows,
                     const int32_t *digits, size_t buckets_n, xyzz *total) {
    for (int j = 0; j < windows; j++) {
        const affine *row = table + (size_t)j * n;
        for (size_t i = 0; i < m; i++) {
            const int32_t d = digits[(size_t)windows * i + j];
            if (d == 0 || affine_is_identity(&row[i])) continue;
            if (d > 0)
                add_to_bucket(acc, (uint32_t)(d - 1), &row[i], 0);
            else
                add_to_bucket(acc, (uint32_t)(-d - 1), &row[i], 1);
        }
    }
    flush_batch(acc);
    running_sum(total, acc->buckets, acc->overflow, buckets_n);
}

static void accumulator_free(accumulator *acc);

/* Σ over the digits through the scalar path; 0 when memory ran out. */
static int msm_scalar(const affine *table, size_t n, size_t m, int windows, const int32_t *digits,
                      size_t buckets_n, xyzz *total) {
    accumulator acc = {
        .buckets = calloc(buckets_n, sizeof(affine)),
        .overflow = calloc(buckets_n, sizeof(xyzz)),
        .mark = calloc(buckets_n, sizeof(uint32_t)),
        .ops = malloc(sizeof(bucket_add) * BATCH),
        .prefix = malloc(sizeof(fp) * BATCH),
        .count = 0,
        .limit = batch_limit(BATCH, buckets_n),
        .batch = 1,
    };
    int ok = acc.buckets && acc.overflow && acc.mark && acc.ops && acc.prefix;
    if (ok) msm_core(&acc, table, n, m, windows, digits, buckets_n, total);
    accumulator_free(&acc);
    return ok;
}

static void accumulator_free(accumulator *acc) {
    free(acc->buckets);
    free(acc->overflow);
    free(acc->mark);
    free(acc->ops);
    free(acc->prefix);
}

#ifdef HAVE_IFMA
/* The IFMA path: the same accumulation with table entries and buckets as `affine52`, eight
 * pending additions per vector operation. Additions per batch (and per inversion): more than
 * the scalar path's, because the eight inversions of a batch are one vector Fermat power. */
#define BATCH52 2048

typedef struct {
    uint32_t bucket;
    uint32_t negate;
    size_t point; /* the entry's index in the table */
} bucket_add52;

/* Per group of eight pending additions: the running product before it, x_Q - x_B, and the
 * four coordinates (y_Q already negated where asked). */
enum { G_PREFIX, G_DX, G_XQ, G_YQ, G_XB, G_YB, G_FIELDS };

typedef struct {
    const affine52 *table;
    affine52 *buckets;
    xyzz *overflow;
    uint32_t *mark;
    bucket_add52 *ops;
    fp8 *groups;
    size_t count;
    size_t limit;
    uint32_t batch;
} accumulator52;

static VEC __mmask8 group_lanes(const accumulator52 *acc, size_t g, __m512i *qidx, __m512i *bidx, __mmask8 *neg) {
    const size_t first = 8 * g, n = acc->count - first < 8 ? acc->count - first : 8;
    int64_t qi[8] = {0, 0, 0, 0, 0, 0, 0, 0}, bi[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    __mmask8 negate = 0;
    for (size_t l = 0; l < n; l++) {
        const bucket_add52 *op = &acc->ops[first + l];
        qi[l] = (int64_t)(op->point * sizeof(affine52));
        bi[l] = (int64_t)((size_t)op->bucket * sizeof(affine52));
        if (op->negate) negate |= (__mmask8)(1u << l);
    }
    *qidx = _mm512_loadu_si512(qi);
    *bidx = _mm512_loadu_si512(bi);
    *neg = negate;
    return (__mmask8)((1u << n) - 1);
}

/* `flush_batch` eight lanes at a time: lane l chains the pending additions l, l+8, l+16, ...;
 * the lanes' eight products are inverted together; missing lanes of the last group carry 1. */
static VEC void flush_batch52(accumulator52 *acc) {
    if (!acc->count) return;
    const size_t groups = (acc->count + 7) / 8;
    fp8 run, one, zero;
    v_set_one(&run);
    v_set_one(&one);
    for (int k = 0; k < 8; k++) zero.l[k] = _mm512_setzero_si512();
    for (size_t g = 0; g < groups; g++) {
        fp8 *f = acc->groups + (size_t)G_FIELDS * g;
        __m512i qidx, bidx;
        __mmask8 neg;
        const __mmask8 lanes = group_lanes(acc, g, &qidx, &bidx, &neg);
        v_gather(&f[G_XQ], acc->table, qidx, lanes);
        v_gather(&f[G_YQ], (const char *)acc->table + sizeof(fp52), qidx, lanes);
        v_gather(&f[G_XB], acc->buckets, bidx, lanes);
        v_gather(&f[G_YB], (const char *)acc->buckets + sizeof(fp52), bidx, lanes);
        if (neg) {
            fp8 negated;
            v_sub(&negated, &zero, &f[G_YQ]);
            for (int k = 0; k < 8; k++) f[G_YQ].l[k] = _mm512_mask_blend_epi64(neg, f[G_YQ].l[k], negated.l[k]);
        }
        v_sub(&f[G_DX], &f[G_XQ], &f[G_XB]);
        for (int k = 0; k < 8; k++) f[G_DX].l[k] = _mm512_mask_blend_epi64(lanes, one.l[k], f[G_DX].l[k]);
        f[G_PREFIX] = run;
        v_mul(&run, &run, &f[G_DX]);
    }
    fp8 inv;
    v_inv(&inv, &run);
    for (size_t g = groups; g-- > 0;) {
        fp8 *f = acc->groups + (size_t)G_FIELDS * g;
        __m512i qidx, bidx;
        __mmask8 neg;
        const __mmask8 lanes = group_lanes(acc, g, &qidx, &bidx, &neg);
        fp8 inv_dx, dy, lambda, x3, t;
        v_mul(&inv_dx, &inv, &f[G_PREFIX]);
        v_mul(&inv, &inv, &f[G_DX]);
        v_sub(&dy, &f[G_YQ], &f[G_YB]);
        v_mul(&lambda, &dy, &inv_dx);
        v_mul(&x3, &lambda, &lambda);
        v_sub(&x3, &x3, &f[G_XB]);
        v_sub(&x3, &x3, &f[G_XQ]);
        v_sub(&t, &f[G_XB], &x3);
        v_mul(&t, &lambda, &t);
        v_sub(&t, &t, &f[G_YB]);
        v_scatter(acc->buckets, bidx, lanes, &x3);
        v_scatter((char *)acc->buckets + sizeof(fp52), bidx, lanes, &t);
    }
    acc->count = 0;
    acc->batch++;
}

static void add_to_bucket52(accumulator52 *acc, uint32_t k, size_t point, int negate) {
    affine52 *b = &acc->buckets[k];
    const affine52 *q = &acc->table[point];
    const int empty = affine52_is_identity(b);
    if (acc->mark[k] == acc->batch || (!empty && memcmp(&b->x, &q->x, sizeof(fp52)) == 0)) {
        affine scalar; /* a bucket already in this batch, or a doubling / cancellation */
        affine_from52(&scalar, q);
        xyzz_add_affine(&acc->overflow[k], &scalar, negate);
        return;
    }
    if (empty) {
        b->x = q->x;
        if (negate)
            fp52_neg(&b->y, &q->y);
        else
            b->y = q->y;
        return;
    }
    acc->mark[k] = acc->batch;
    acc->ops[acc->count++] = (bucket_add52){k, (uint32_t)negate, point};
    if (acc->count == acc->limit) flush_batch52(acc);
}

/* The final sum Σ (k+1)·B_k on the IFMA path, eight lanes at once: lane l runs the running sums
 * over its own eighth of the buckets (weights counted from the start of its range, `start_l`),
 * and the lanes are combined as Σ_l (total_l + start_l·sum_l). Lanes stay in XYZZ; a lane
 * whose addition meets equal x-coordinates (a doubling or a cancellation, rare) is redone in
 * scalar code. Overflow accumulators are folded into their buckets first. */
typedef struct {
    fp8 x, y, zz, zzz;
} xyzz8;

static inline VEC __mmask8 v_is_zero(const fp8 *a) {
    __mmask8 m = 0xff;
    for (int k = 0; k < 8; k++) m &= _mm512_cmpeq_epi64_mask(a->l[k], _mm512_setzero_si512());
    return m;
}

static inline VEC void v_blend(fp8 *o, __mmask8 take_b, const fp8 *a, const fp8 *b) {
    for (int k = 0; k < 8; k++) o->l[k] = _mm512_mask_blend_epi64(take_b, a->l[k], b->l[k]);
}

static VEC void lane_get(fp *o, const fp8 *a, int lane) {
    uint64_t limbs[8];
    fp52 e;
    for (int k = 0; k < 8; k++) {
        _mm512_storeu_si512(limbs, a->l[k]);
        e.l[k] = limbs[lane];
    }
    if (fp52_is_zero(&e))
        memset(o, 0, sizeof(*o));
    else
        fp_from52(o, &e);
}

static VEC void lane_set(fp8 *a, int lane, const fp *v) {
    uint64_t limbs[8];
    fp52 e;
    if (fp_is_zero(v))
        memset(&e, 0, sizeof(e));
    else
        fp_to52(&e, v);
    for (int k = 0; k < 8; k++) {
        _mm512_storeu_si512(limbs, a->l[k]);
        limbs[lane] = e.l[k];
        a->l[k] = _mm512_loadu_si512(limbs);
    }
}

static VEC void xyzz8_get(xyzz *o, const xyzz8 *a, int lane) {
    lane_get(&o->x, &a->x, lane);
    lane_get(&o->y, &a->y, lane);
    lane_get(&o->zz, &a->zz, lane);
    lane_get(&o->zzz, &a->zzz, lane);
}

static VEC void xyzz8_set(xyzz8 *a, int lane, const xyzz *v) {
    lane_set(&a->x, lane, &v->x);
    lane_set(&a->y, lane, &v->y);
    lane_set(&a->zz, lane, &v->zz);
    lane_set(&a->zzz, lane, &v->zzz);
}

/* `xyzz_chord` in eight lanes, into x3 and y3. */
static VEC void v_chord(fp8 *x3, fp8 *y3, fp8 *pp, fp8 *ppp, const fp8 *u1, const fp8 *s1, const fp8 *diff,
                        const fp8 *r) {
    fp8 q, t;
    v_mul(pp, diff, diff);
    v_mul(ppp, diff, pp);
    v_mul(&q, u1, pp);
    v_mul(x3, r, r);
    v_sub(x3, x3, ppp);
    v_sub(x3, x3, &q);
    v_sub(x3, x3, &q);
    v_sub(&t, &q, x3);
    v_mul(&t, r, &t);
    v_mul(y3, s1, ppp);
    v_sub(y3, &t, y3);
}

/* s += (bx, by) in the lanes of `has_b` (madd-2008-s; identity and equal-x lanes handled). */
static VEC void xyzz8_add_affine(xyzz8 *s, const fp8 *bx, const fp8 *by, __mmask8 has_b) {
    if (!has_b) return;
    fp8 u2, s2, p, r, pp, ppp, x3, y3, zz3, zzz3, one;
    v_set_one(&one);
    const __mmask8 empty = v_is_zero(&s->zz);
    v_mul(&u2, bx, &s->zz);
    v_mul(&s2, by, &s->zzz);
    v_sub(&p, &u2, &s->x);
    v_sub(&r, &s2, &s->y);
    const __mmask8 special = v_is_zero(&p) & has_b & (__mmask8)~empty;
    v_chord(&x3, &y3, &pp, &ppp, &s->x, &s->y, &p, &r);
    v_mul(&zz3, &s->zz, &pp);
    v_mul(&zzz3, &s->zzz, &ppp);
    const __mmask8 general = has_b & (__mmask8)~empty;
    const __mmask8 fresh = has_b & empty;
    xyzz8 before = *s;
    v_blend(&s->x, general, &s->x, &x3);
    v_blend(&s->y, general, &s->y, &y3);
    v_blend(&s->zz, general, &s->zz, &zz3);
    v_blend(&s->zzz, general, &s->zzz, &zzz3);
    v_blend(&s->x, fresh, &s->x, bx);
    v_blend(&s->y, fresh, &s->y, by);
    v_blend(&s->zz, fresh, &s->zz, &one);
    v_blend(&s->zzz, fresh, &s->zzz, &one);
    for (int lane = 0; lane < 8; lane++) {
        if (!((special >> lane) & 1)) continue;
        xyzz acc;
        affine b;
        xyzz8_get(&acc, &before, lane);
        lane_get(&b.x, bx, lane);
        lane_get(&b.y, by, lane);
        xyzz_add_affine(&acc, &b, 0);
        xyzz8_set(s, lane, &acc);
    }
}

/* a += b, both XYZZ (add-2008-s; identity and equal-x lanes handled). */
static VEC void xyzz8_add(xyzz8 *a, const xyzz8 *b) {
    const __mmask8 a_empty = v_is_zero(&a->zz), b_empty = v_is_zero(&b->zz);
    const __mmask8 both = (__mmask8)~a_empty & (__mmask8)~b_empty;
    if (both) {
        fp8 u1, u2, s1, s2, p, r, pp, ppp, x3, y3, zz3, zzz3;
        v_mul(&u1, &a->x, &b->zz);
        v_mul(&u2, &b->x, &a->zz);
        v_mul(&s1, &a->y, &b->zzz);
        v_mul(&s2, &b->y, &a->zzz);
        v_sub(&p, &u2, &u1);
        v_sub(&r, &s2, &s1);
        const __mmask8 special = v_is_zero(&p) & both;
        v_chord(&x3, &y3, &pp, &ppp, &u1, &s1, &p, &r);
        v_mul(&zz3, &a->zz, &b->zz);
        v_mul(&zz3, &zz3, &pp);
        v_mul(&zzz3, &a->zzz, &b->zzz);
        v_mul(&zzz3, &zzz3, &ppp);
        xyzz8 before = *a;
        v_blend(&a->x, both, &a->x, &x3);
        v_blend(&a->y, both, &a->y, &y3);
        v_blend(&a->zz, both, &a->zz, &zz3);
        v_blend(&a->zzz, both, &a->zzz, &zzz3);
        for (int lane = 0; lane < 8; lane++) {
            if (!((special >> lane) & 1)) continue;
            xyzz x, y;
            xyzz8_get(&x, &before, lane);
            xyzz8_get(&y, b, lane);
            xyzz_add(&x, &y);
            xyzz8_set(a, lane, &x);
        }
    }
    const __mmask8 take = a_empty & (__mmask8)~b_empty;
    v_blend(&a->x, take, &a->x, &b->x);
    v_blend(&a->y, take, &a->y, &b->y);
    v_blend(&a->zz, take, &a->zz, &b->zz);
    v_blend(&a->zzz, take, &a->zzz, &b->zzz);
}

/* o = k·a for a small k (double and add). */
static void xyzz_mul_small(xyzz *o, const xyzz *a, uint32_t k) {
    xyzz r;
    xyzz_set_identity(&r);
    for (int bit = 31; bit >= 0; bit--) {
        xyzz_dbl(&r);
        if ((k >> bit) & 1) xyzz_add(&r, a);
    }
    *o = r;
}

/* buckets[k] += overflow[k] wherever an overflow accumulator is non-empty, the results made
 * affine with one inversion; 0 when memory ran out. */
static int fold_overflow52(affine52 *buckets, const xyzz *overflow, size_t buckets_n) {
    size_t count = 0;
    for (size_t k = 0; k < buckets_n; k++) count += !fp_is_zero(&overflow[k].zz);
    if (!count) return 1;
    size_t *index = malloc(sizeof(size_t) * count);
    xyzz *sums = malloc(sizeof(xyzz) * count);
    affine *flat = malloc(sizeof(affine) * count);
    int ok = index && sums && flat;
    if (ok) {
        size_t i = 0;
        for (size_t k = 0; k < buckets_n; k++) {
            if (fp_is_zero(&overflow[k].zz)) continue;
            index[i] = k;
            sums[i] = overflow[k];
            if (!affine52_is_identity(&buckets[k])) {
                affine b;
                affine_from52(&b, &buckets[k]);
                xyzz_add_affine(&sums[i], &b, 0);
            }
            i++;
        }
        ok = xyzz_batch_to_affine(flat, sums, count);
        for (size_t j = 0; ok && j < count; j++) affine_to52(&buckets[index[j]], &flat[j]);
    }
    free(index);
    free(sums);
    free(flat);
    return ok;
}

static VEC void aggregate52(const affine52 *buckets, size_t buckets_n, xyzz *total) {
    const size_t span = buckets_n / 8;
    xyzz8 sum, tot;
    memset(&sum, 0, sizeof(sum));
    memset(&tot, 0, sizeof(tot));
    int64_t base[8];
    for (int l = 0; l < 8; l++) base[l] = (int64_t)((size_t)l * span * sizeof(affine52));
    const __m512i starts = _mm512_loadu_si512(base);
    for (size_t step = span; step-- > 0;) {
        const __m512i idx = _mm512_add_epi64(starts, _mm512_set1_epi64((long long)(step * sizeof(affine52))));
        fp8 bx, by;
        v_gather(&bx, buckets, idx, 0xff);
        v_gather(&by, (const char *)buckets + sizeof(fp52), idx, 0xff);
        const __mmask8 has_b = (__mmask8)~(v_is_zero(&bx) & v_is_zero(&by));
        xyzz8_add_affine(&sum, &bx, &by, has_b);
        xyzz8_add(&tot, &sum);
    }
    xyzz_set_identity(total);
    for (int l = 0; l < 8; l++) {
        xyzz t, s, weighted;
        xyzz8_get(&t, &tot, l);
        xyzz8_get(&s, &sum, l);
        xyzz_mul_small(&weighted, &s, (uint32_t)((size_t)l * span));
        xyzz_add(total, &t);
        xyzz_add(total, &weighted);
    }
}

/* Below this many buckets the final sum stays scalar (the eight-lane sum has fixed costs). */
#define VECTOR_SUM_MIN_BUCKETS 1024

static int msm_core52(accumulator52 *acc, size_t n, size_t m, int windows, const int32_t *digits,
                      size_t buckets_n, xyzz *total) {
    for (int j = 0; j < windows; j++) {
        for (size_t i = 0; i < m; i++) {
            const int32_t d = digits[(size_t)windows * i + j];
            const size_t point = (size_t)j * n + i;
            if (d == 0 || affine52_is_identity(&acc->table[point])) continue;
            if (d > 0)
                add_to_bucket52(acc, (uint32_t)(d - 1), point, 0);
            else
                add_to_bucket52(acc, (uint32_t)(-d - 1), point, 1);
        }
    }
    flush_batch52(acc);
    if (buckets_n >= VECTOR_SUM_MIN_BUCKETS) {
        if (!fold_overflow52(acc->buckets, acc->overflow, buckets_n)) return 0;
        aggregate52(acc->buckets, buckets_n, total);
        return 1;
    }
    affine *flat = malloc(sizeof(affine) * buckets_n); /* the scalar path's running sum */
    if (!flat) return 0;
    for (size_t k = 0; k < buckets_n; k++) affine_from52(&flat[k], &acc->buckets[k]);
    running_sum(total, flat, acc->overflow, buckets_n);
    free(flat);
    return 1;
}

static void accumulator52_free(accumulator52 *acc) {
    free(acc->buckets);
    free(acc->overflow);
    free(acc->mark);
    free(acc->ops);
    free(acc->groups);
}

/* Σ over the digits through the IFMA path; 0 when memory ran out. */
static int msm_ifma(const affine52 *table, size_t n, size_t m, int windows, const int32_t *digits,
                    size_t buckets_n, xyzz *total) {
    const size_t group_bytes = sizeof(fp8) * G_FIELDS * (BATCH52 / 8);
    accumulator52 acc = {
        .table = table,
        .buckets = calloc(buckets_n, sizeof(affine52)),
        .overflow = calloc(buckets_n, sizeof(xyzz)),
        .mark = calloc(buckets_n, sizeof(uint32_t)),
        .ops = malloc(sizeof(bucket_add52) * BATCH52),
        .groups = aligned_alloc(64, group_bytes),
        .count = 0,
        .limit = batch_limit(BATCH52, buckets_n),
        .batch = 1,
    };
    int ok = acc.buckets && acc.overflow && acc.mark && acc.ops && acc.groups;
    if (ok) ok = msm_core52(&acc, n, m, windows, digits, buckets_n, total);
    accumulator52_free(&acc);
    return ok;
}
#endif

static int scalar_load(uint64_t out[4], const unsigned char *p) {
    for (int i = 0; i < 4; i++) out[i] = load_be64(p + 8 * (3 - i));
    for (int i = 3; i >= 0; i--) {
        if (out[i] != R_ORDER[i]) return out[i] < R_ORDER[i];
    }
    return 0;
}

static PyObject *py_msm(PyObject *self, PyObject *args) {
    Py_buffer table, scalars;
    Py_ssize_t n;
    int c;
    if (!PyArg_ParseTuple(args, "y*niy*", &table, &n, &c, &scalars)) return NULL;
    PyObject *result = NULL;
    const int windows = (c >= 2 && c <= 20) ? num_windows(c) : 0;
    if (!windows || n < 0 || (size_t)table.len != (size_t)n * windows * entry_size() || scalars.len % 32 ||
        scalars.len / 32 > n) {
        PyErr_Format(PyExc_ValueError, "msm: table does not match n=%zd, c=%d, or more scalars than bases", n, c);
        goto done;
    }
    const size_t m = (size_t)scalars.len / 32;
    const size_t buckets_n = (size_t)1 << (c - 1);
    int32_t *digits = malloc(sizeof(int32_t) * windows * (m ? m : 1));
    if (!digits) {
        PyErr_NoMemory();
        goto done;
    }
    const unsigned char *sp = scalars.buf;
    for (size_t i = 0; i < m; i++) {
        uint64_t s[4];
        if (!scalar_load(s, sp + 32 * i)) {
            free(digits);
            PyErr_Format(PyExc_ValueError, "msm: scalar %zu is not canonical (>= r)", i);
            goto done;
        }
        signed_digits(digits + (size_t)windows * i, s, c, windows);
    }
    xyzz total;
    int ok;
    Py_BEGIN_ALLOW_THREADS;
#ifdef HAVE_IFMA
    if (ifma_enabled)
        ok = msm_ifma(table.buf, (size_t)n, m, windows, digits, buckets_n, &total);
    else
#endif
        ok = msm_scalar(table.buf, (size_t)n, m, windows, digits, buckets_n, &total);
    Py_END_ALLOW_THREADS;
    free(digits);
    if (!ok) {
        PyErr_NoMemory();
        goto done;
    }
    affine out;
    if (!xyzz_batch_to_affine(&out, &total, 1)) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, 96);
    if (result) {
        unsigned char *o = (unsigned char *)PyBytes_AS_STRING(result);
        if (affine_is_identity(&out)) {
            memset(o, 0, 96);
        } else {
            fp_store(o, &out.x);
            fp_store(o + 48, &out.y);
        }
    }
done:
    PyBuffer_Release(&table);
    PyBuffer_Release(&scalars);
    return result;
}

static PyObject *py_num_windows(PyObject *self, PyObject *args) {
    int c;
    if (!PyArg_ParseTuple(args, "i", &c)) return NULL;
    if (c < 2 || c > 20) return PyErr_Format(PyExc_ValueError, "window size must be 2..20, got %d", c);
    return PyLong_FromLong(num_windows(c));
}

static PyObject *py_entry_size(PyObject *self, PyObject *args) { return PyLong_FromSize_t(entry_size()); }

static PyObject *py_backend(PyObject *self, PyObject *args) {
#ifdef HAVE_IFMA
    if (ifma_enabled) return PyUnicode_FromString("avx512ifma");
#endif
#ifdef HAVE_MULX_ASM
    return PyUnicode_FromString("mulx");
#else
    return PyUnicode_FromString("portable");
#endif
}

/* use_ifma(flag): turn the IFMA path on (where the CPU has it) or off; returns whether it is on.
 * Tables are laid out for the path in use when they are built (`entry_size`). */
static PyObject *py_use_ifma(PyObject *self, PyObject *args) {
    int flag;
    if (!PyArg_ParseTuple(args, "p", &flag)) return NULL;
#ifdef HAVE_IFMA
    __builtin_cpu_init();
    ifma_enabled = flag && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
    return PyBool_FromLong(ifma_enabled);
#else
    (void)flag;
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"entry_size", py_entry_size, METH_NOARGS, "Bytes per window-table entry for the path in use."},
    {"backend", py_backend, METH_NOARGS, "The field arithmetic in use: avx512ifma, mulx or portable."},
    {"use_ifma", py_use_ifma, METH_VARARGS, "Turn the AVX-512 IFMA path on (where available) or off."},
    {"precompute", py_precompute, METH_VARARGS, "Window table 2^(c·j)·P_i of affine points."},
    {"msm", py_msm, METH_VARARGS, "Σ s_i·P_i from a window table."},
    {"num_windows", py_num_windows, METH_VARARGS, "Windows of c bits for a 255-bit scalar."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_g1_native",
                                    "Fixed-base BLS12-381 G1 MSM for KZG commitments.", -1, methods};

PyMODINIT_FUNC PyInit__g1_native(void) {
#ifdef HAVE_MULX_ASM
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("bmi2") || !__builtin_cpu_supports("adx")) {
        PyErr_SetString(PyExc_ImportError, "_g1_native needs a CPU with BMI2 and ADX (mulx, adox, adcx)");
        return NULL;
    }
#endif
#ifdef HAVE_IFMA
    ifma_enabled = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
#endif
    return PyModule_Create(&module);
}
