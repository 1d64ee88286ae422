/* Native kernels for arithmetic over the BLS12-381 scalar field Fr (spec/consensus.md §4).
 *
 * The Python side (chain/kzg.py, chain/erasure.py) holds a pure-Python implementation of every
 * function here with identical results; this module only makes the hot paths fast:
 *
 *   ntt(data, n, inverse)            forward / inverse NTT of rows of n scalars (natural order,
 *                                    domain ω_n = 7^((r-1)/n)); the inverse includes 1/n.
 *   extend(data, n)                  erasure-code extension: rows of n source values -> n parity
 *                                    values P(ω_2n^(2i+1)).
 *   recover(data, mask, n, coeffs)   rows of n values with mask[i]=0 where missing -> all n
 *                                    evaluations (coeffs=0) or the n coefficients (coeffs=1).
 *   div_linear(coeffs, x)            p(X) = q(X)(X - x) + p(x): returns (q, p(x)).
 *   extend_segment(...)              a segment's raw records -> interleaved source/parity records,
 *                                    for a range of chunk columns, written into a caller buffer.
 *   recover_segment(...)             the same columns recovered in place from any half of rows.
 *
 * Scalars cross the boundary as 32-byte big-endian canonical values; inside they are 4x64-bit
 * little-endian limbs in Montgomery form. Non-canonical input (>= r) raises ValueError. Heavy
 * loops run with the GIL released, so Python threads can split columns over cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct {
    uint64_t l[4];
} fr;

static const uint64_t P[4] = {0xffffffff00000001ULL, 0x53bda402fffe5bfeULL, 0x3339d80809a1d805ULL,
                              0x73eda753299d7d48ULL};
static const uint64_t INV = 0xfffffffeffffffffULL; /* -p^-1 mod 2^64 */
static const fr MONT_ONE = {{0x00000001fffffffeULL, 0x5884b7fa00034802ULL, 0x998c4fefecbc4ff5ULL,
                             0x1824b159acc5056fULL}};
static const fr MONT_R2 = {{0xc999e990f3f29c6dULL, 0x2b6cedcb87925c23ULL, 0x05d314967254398fULL,
                            0x0748d9d99f59ff11ULL}};
static const fr PLAIN_ONE = {{1, 0, 0, 0}};

/* ---------------------------------------------------------------- field arithmetic */

static inline int geq_p(const uint64_t *a) {
    for (int i = 3; i >= 0; i--) {
        if (a[i] > P[i]) return 1;
        if (a[i] < P[i]) return 0;
    }
    return 1;
}

static inline void sub_p(uint64_t *a) {
    u128 b = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)a[i] - P[i] - b;
        a[i] = (uint64_t)d;
        b = (d >> 64) & 1;
    }
}

static inline void fr_add(fr *o, const fr *a, const fr *b) {
    uint64_t t[4];
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (u128)a->l[i] + b->l[i];
        t[i] = (uint64_t)c;
        c >>= 64;
    }
    if (geq_p(t)) sub_p(t);
    memcpy(o->l, t, sizeof t);
}

static inline void fr_sub(fr *o, const fr *a, const fr *b) {
    uint64_t t[4];
    u128 br = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)a->l[i] - b->l[i] - br;
        t[i] = (uint64_t)d;
        br = (d >> 64) & 1;
    }
    if (br) {
        u128 c = 0;
        for (int i = 0; i < 4; i++) {
            c += (u128)t[i] + P[i];
            t[i] = (uint64_t)c;
            c >>= 64;
        }
    }
    memcpy(o->l, t, sizeof t);
}

/* Montgomery multiplication (CIOS). p < 2^255, so the result fits in 4 limbs before the final
 * conditional subtraction. */
static inline void fr_mul(fr *o, const fr *a, const fr *b) {
    uint64_t t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        u128 c = 0;
        uint64_t bi = b->l[i];
        for (int j = 0; j < 4; j++) {
            c += (u128)a->l[j] * bi + t[j];
            t[j] = (uint64_t)c;
            c >>= 64;
        }
        c += t[4];
        t[4] = (uint64_t)c;
        t[5] = (uint64_t)(c >> 64);
        uint64_t m = t[0] * INV;
        c = (u128)m * P[0] + t[0];
        c >>= 64;
        for (int j = 1; j < 4; j++) {
            c += (u128)m * P[j] + t[j];
            t[j - 1] = (uint64_t)c;
            c >>= 64;
        }
        c += t[4];
        t[3] = (uint64_t)c;
        t[4] = t[5] + (uint64_t)(c >> 64);
    }
    if (t[4] || geq_p(t)) sub_p(t);
    memcpy(o->l, t, 4 * sizeof(uint64_t));
}

static void fr_pow(fr *o, const fr *base, const uint64_t e[4]) {
    fr acc = MONT_ONE, b = *base;
    for (int i = 0; i < 4; i++) {
        uint64_t w = e[i];
        for (int bit = 0; bit < 64; bit++) {
            if (w & 1) fr_mul(&acc, &acc, &b);
            fr_mul(&b, &b, &b);
            w >>= 1;
        }
    }
    *o = acc;
}

static void fr_inv(fr *o, const fr *a) {
    uint64_t e[4] = {P[0] - 2, P[1], P[2], P[3]};
    fr_pow(o, a, e);
}

static void fr_from_u64(fr *o, uint64_t v) {
    fr t = {{v, 0, 0, 0}};
    fr_mul(o, &t, &MONT_R2);
}

/* ω_(2^s) = 7^((p-1) >> s), in Montgomery form. */
static void root_of_unity(fr *o, int s) {
    uint64_t e[4] = {P[0] - 1, P[1], P[2], P[3]};
    for (int k = 0; k < s; k++) {
        for (int i = 0; i < 4; i++) e[i] = (e[i] >> 1) | (i < 3 ? e[i + 1] << 63 : 0);
    }
    fr seven;
    fr_from_u64(&seven, 7);
    fr_pow(o, &seven, e);
}

static inline uint64_t load_be64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline void store_be64(unsigned char *p, uint64_t v) {
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

/* 32 big-endian bytes -> Montgomery form; returns 0 if not canonical. */
static inline int fr_load(fr *o, const unsigned char *p) {
    fr t;
    t.l[3] = load_be64(p);
    t.l[2] = load_be64(p + 8);
    t.l[1] = load_be64(p + 16);
    t.l[0] = load_be64(p + 24);
    if (geq_p(t.l)) return 0;
    fr_mul(o, &t, &MONT_R2);
    return 1;
}

/* 31 big-endian bytes (a "safe" raw chunk) -> Montgomery form; always canonical. */
static inline void fr_load31(fr *o, const unsigned char *p) {
    unsigned char tmp[32];
    tmp[0] = 0;
    memcpy(tmp + 1, p, 31);
    fr t;
    t.l[3] = load_be64(tmp);
    t.l[2] = load_be64(tmp + 8);
    t.l[1] = load_be64(tmp + 16);
    t.l[0] = load_be64(tmp + 24);
    fr_mul(o, &t, &MONT_R2);
}

static inline void fr_store(unsigned char *p, const fr *a) {
    fr t;
    fr_mul(&t, a, &PLAIN_ONE);
    store_be64(p, t.l[3]);
    store_be64(p + 8, t.l[2]);
    store_be64(p + 16, t.l[1]);
    store_be64(p + 24, t.l[0]);
}

static void batch_inverse(fr *a, size_t n) {
    if (n == 0) return;
    fr *pre = malloc(n * sizeof(fr));
    fr acc = MONT_ONE;
    for (size_t i = 0; i < n; i++) {
        pre[i] = acc;
        fr_mul(&acc, &acc, &a[i]);
    }
    fr inv;
    fr_inv(&inv, &acc);
    for (size_t i = n; i-- > 0;) {
        fr t;
        fr_mul(&t, &inv, &pre[i]);
        fr_mul(&inv, &inv, &a[i]);
        a[i] = t;
    }
    free(pre);
}

/* ---------------------------------------------------------------- NTT */

static int log2_exact(size_t n) {
    int s = 0;
    while (((size_t)1 << s) < n) s++;
    return ((size_t)1 << s) == n ? s : -1;
}

/* n/2 twiddles w^k (w = ω_n or its inverse). */
static fr *make_twiddles(size_t n, int inverse) {
    size_t half = n > 1 ? n / 2 : 1;
    fr *tw = malloc(half * sizeof(fr));
    if (!tw) return NULL;
    fr w;
    root_of_unity(&w, log2_exact(n));
    if (inverse) fr_inv(&w, &w);
    tw[0] = MONT_ONE;
    for (size_t k = 1; k < half; k++) fr_mul(&tw[k], &tw[k - 1], &w);
    return tw;
}

/* Unscaled transform in place: out[i] = sum_j a[j] w^(ij), natural order in and out. */
static void ntt_core(fr *a, size_t n, const fr *tw) {
    if (n <= 1) return;
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            fr t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
    for (size_t i = 0; i < n; i += 2) {
        fr u = a[i], v = a[i + 1];
        fr_add(&a[i], &u, &v);
        fr_sub(&a[i + 1], &u, &v);
    }
    for (size_t len = 4; len <= n; len <<= 1) {
        size_t half = len >> 1, step = n / len;
        for (size_t i = 0; i < n; i += len) {
            fr *x = a + i, *y = a + i + half;
            for (size_t k = 0; k < half; k++) {
                fr t, u = x[k];
                fr_mul(&t, &y[k], &tw[k * step]);
                fr_add(&x[k], &u, &t);
                fr_sub(&y[k], &u, &t);
            }
        }
    }
}

/* Polynomial product via NTT (schoolbook when small). out has la+lb-1 coefficients. */
static void poly_mul(fr *out, const fr *a, size_t la, const fr *b, size_t lb) {
    size_t lo = la + lb - 1;
    if (la < 32 || lb < 32) {
        for (size_t i = 0; i < lo; i++) memset(&out[i], 0, sizeof(fr));
        for (size_t i = 0; i < la; i++)
            for (size_t j = 0; j < lb; j++) {
                fr t;
                fr_mul(&t, &a[i], &b[j]);
                fr_add(&out[i + j], &out[i + j], &t);
            }
        return;
    }
    size_t n = 1;
    while (n < lo) n <<= 1;
    fr *fa = calloc(n, sizeof(fr)), *fb = calloc(n, sizeof(fr));
    memcpy(fa, a, la * sizeof(fr));
    memcpy(fb, b, lb * sizeof(fr));
    fr *tw = make_twiddles(n, 0), *itw = make_twiddles(n, 1);
    ntt_core(fa, n, tw);
    ntt_core(fb, n, tw);
    for (size_t i = 0; i < n; i++) fr_mul(&fa[i], &fa[i], &fb[i]);
    ntt_core(fa, n, itw);
    fr ninv;
    fr_from_u64(&ninv, n);
    fr_inv(&ninv, &ninv);
    for (size_t i = 0; i < lo; i++) fr_mul(&out[i], &fa[i], &ninv);
    free(fa);
    free(fb);
    free(tw);
    free(itw);
}

/* Coefficients (count+1, monic) of prod (X - roots[i]), by a product tree. */
static void poly_from_roots(fr *out, const fr *roots, size_t count) {
    if (count <= 32) {
        memset(out, 0, (count + 1) * sizeof(fr));
        out[0] = MONT_ONE;
        for (size_t i = 0; i < count; i++) {
            /* multiply by (X - r): new[k] = old[k-1] - r*old[k] */
            for (size_t k = i + 1; k > 0; k--) {
                fr t;
                fr_mul(&t, &out[k], &roots[i]);
                fr_sub(&out[k], &out[k - 1], &t);
            }
            fr t;
            fr_mul(&t, &out[0], &roots[i]);
            fr zero = {{0, 0, 0, 0}};
            fr_sub(&out[0], &zero, &t);
        }
        return;
    }
    size_t h = count / 2;
    fr *left = malloc((h + 1) * sizeof(fr)), *right = malloc((count - h + 1) * sizeof(fr));
    poly_from_roots(left, roots, h);
    poly_from_roots(right, roots + h, count - h);
    poly_mul(out, left, h + 1, right, count - h + 1);
    free(left);
    free(right);
}

/* ---------------------------------------------------------------- erasure-code plans */

typedef struct {
    size_t n;
    fr *tw, *itw;
    fr *shift; /* ω_2n^j / n */
} extend_plan;

static int extend_plan_init(extend_plan *p, size_t n) {
    p->n = n;
    p->tw = make_twiddles(n, 0);
    p->itw = make_twiddles(n, 1);
    p->shift = malloc(n * sizeof(fr));
    if (!p->tw || !p->itw || !p->shift) return 0;
    fr w2, ninv;
    root_of_unity(&w2, log2_exact(2 * n));
    fr_from_u64(&ninv, n);
    fr_inv(&ninv, &ninv);
    p->shift[0] = ninv;
    for (size_t j = 1; j < n; j++) fr_mul(&p->shift[j], &p->shift[j - 1], &w2);
    return 1;
}

static void extend_plan_free(extend_plan *p) {
    free(p->tw);
    free(p->itw);
    free(p->shift);
}

/* a: n source values -> n parity values, in place. */
static void extend_row(const extend_plan *p, fr *a) {
    ntt_core(a, p->n, p->itw);
    for (size_t j = 0; j < p->n; j++) fr_mul(&a[j], &a[j], &p->shift[j]);
    ntt_core(a, p->n, p->tw);
}

typedef struct {
    size_t n, missing;
    fr *tw, *itw;
    fr *z_eval;      /* Z(ω^i) */
    fr *coset_fwd;   /* k^j / n */
    fr *coset_bwd;   /* k^-j / n */
    fr *zc_inv;      /* 1 / Z(k ω^i) */
    fr ninv;
} recover_plan;

/* mask[i] != 0 marks a present value. Returns 0 on allocation failure. */
static int recover_plan_init(recover_plan *p, const unsigned char *mask, size_t n) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->tw = make_twiddles(n, 0);
    p->itw = make_twiddles(n, 1);
    fr_from_u64(&p->ninv, n);
    fr_inv(&p->ninv, &p->ninv);
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) missing += mask[i] == 0;
    p->missing = missing;
    if (missing == 0) return p->tw && p->itw;
    fr w;
    root_of_unity(&w, log2_exact(n));
    fr *roots = malloc(missing * sizeof(fr));
    fr *z = calloc(n, sizeof(fr));
    fr pw = MONT_ONE;
    for (size_t i = 0, m = 0; i < n; i++) {
        if (!mask[i]) roots[m++] = pw;
        fr_mul(&pw, &pw, &w);
    }
    poly_from_roots(z, roots, missing); /* missing < n, so missing+1 <= n coefficients */
    free(roots);
    p->z_eval = malloc(n * sizeof(fr));
    memcpy(p->z_eval, z, n * sizeof(fr));
    ntt_core(p->z_eval, n, p->tw);
    fr k, kinv;
    fr_from_u64(&k, 7);
    fr_inv(&kinv, &k);
    p->coset_fwd = malloc(n * sizeof(fr));
    p->coset_bwd = malloc(n * sizeof(fr));
    p->coset_fwd[0] = p->ninv;
    p->coset_bwd[0] = p->ninv;
    for (size_t j = 1; j < n; j++) {
        fr_mul(&p->coset_fwd[j], &p->coset_fwd[j - 1], &k);
        fr_mul(&p->coset_bwd[j], &p->coset_bwd[j - 1], &kinv);
    }
    /* Z on the coset k·ω^i: scale coefficients by k^j (coset_fwd carries 1/n; undo it). */
    p->zc_inv = malloc(n * sizeof(fr));
    fr nn;
    fr_from_u64(&nn, n);
    for (size_t j = 0; j < n; j++) {
        fr_mul(&p->zc_inv[j], &z[j], &p->coset_fwd[j]);
        fr_mul(&p->zc_inv[j], &p->zc_inv[j], &nn);
    }
    free(z);
    ntt_core(p->zc_inv, n, p->tw);
    batch_inverse(p->zc_inv, n);
    return 1;
}

static void recover_plan_free(recover_plan *p) {
    free(p->tw);
    free(p->itw);
    free(p->z_eval);
    free(p->coset_fwd);
    free(p->coset_bwd);
    free(p->zc_inv);
}

/* a: n values (zero where missing) -> coefficients of the data polynomial, in place. */
static void recover_coeffs_row(const recover_plan *p, fr *a) {
    size_t n = p->n;
    if (p->missing == 0) {
        ntt_core(a, n, p->itw);
        for (size_t j = 0; j < n; j++) fr_mul(&a[j], &a[j], &p->ninv);
        return;
    }
    for (size_t i = 0; i < n; i++) fr_mul(&a[i], &a[i], &p->z_eval[i]); /* (D·Z)(ω^i) */
    ntt_core(a, n, p->itw);                                              /* n·(D·Z) coeffs */
    for (size_t j = 0; j < n; j++) fr_mul(&a[j], &a[j], &p->coset_fwd[j]);
    ntt_core(a, n, p->tw);                                               /* (D·Z)(k ω^i) */
    for (size_t i = 0; i < n; i++) fr_mul(&a[i], &a[i], &p->zc_inv[i]);  /* D(k ω^i) */
    ntt_core(a, n, p->itw);
    for (size_t j = 0; j < n; j++) fr_mul(&a[j], &a[j], &p->coset_bwd[j]); /* D coeffs */
}

static void recover_evals_row(const recover_plan *p, fr *a) {
    if (p->missing == 0) return;
    recover_coeffs_row(p, a);
    ntt_core(a, p->n, p->tw);
}

/* ---------------------------------------------------------------- Python helpers */

static int parse_rows(Py_buffer *buf, size_t n, size_t *rows) {
    if (n == 0 || log2_exact(n) < 0 || log2_exact(n) > 32) {
        PyErr_Format(PyExc_ValueError, "size %zu is not a power of two <= 2^32", n);
        return 0;
    }
    if (buf->len % (Py_ssize_t)(32 * n)) {
        PyErr_Format(PyExc_ValueError, "buffer of %zd bytes is not rows of %zu 32-byte scalars",
                     buf->len, n);
        return 0;
    }
    *rows = (size_t)buf->len / (32 * n);
    return 1;
}

/* Load count scalars; on failure set ValueError naming the index and return 0. */
static int load_all(fr *out, const unsigned char *src, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (!fr_load(&out[i], src + 32 * i)) {
            PyErr_Format(PyExc_ValueError, "scalar %zu is not canonical (>= r)", i);
            return 0;
        }
    }
    return 1;
}

static PyObject *store_all(const fr *a, size_t count) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(32 * count));
    if (!out) return NULL;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (size_t i = 0; i < count; i++) fr_store(dst + 32 * i, &a[i]);
    return out;
}

static PyObject *py_ntt(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t n;
    int inverse;
    if (!PyArg_ParseTuple(args, "y*np", &buf, &n, &inverse)) return NULL;
    size_t rows;
    PyObject *res = NULL;
    fr *a = NULL, *tw = NULL;
    if (!parse_rows(&buf, (size_t)n, &rows)) goto done;
    size_t total = rows * (size_t)n;
    a = malloc((total ? total : 1) * sizeof(fr));
    if (!a) {
        PyErr_NoMemory();
        goto done;
    }
    if (!load_all(a, buf.buf, total)) goto done;
    tw = make_twiddles((size_t)n, inverse);
    fr ninv;
    fr_from_u64(&ninv, (uint64_t)n);
    fr_inv(&ninv, &ninv);
    Py_BEGIN_ALLOW_THREADS;
    for (size_t r = 0; r < rows; r++) {
        fr *row = a + r * (size_t)n;
        ntt_core(row, (size_t)n, tw);
        if (inverse)
            for (Py_ssize_t j = 0; j < n; j++) fr_mul(&row[j], &row[j], &ninv);
    }
    Py_END_ALLOW_THREADS;
    res = store_all(a, total);
done:
    free(a);
    free(tw);
    PyBuffer_Release(&buf);
    return res;
}

static PyObject *py_extend(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*n", &buf, &n)) return NULL;
    size_t rows;
    PyObject *res = NULL;
    fr *a = NULL;
    extend_plan plan = {0};
    if (!parse_rows(&buf, (size_t)n, &rows)) goto done;
    size_t total = rows * (size_t)n;
    a = malloc((total ? total : 1) * sizeof(fr));
    if (!a || !extend_plan_init(&plan, (size_t)n)) {
        PyErr_NoMemory();
        goto done;
    }
    if (!load_all(a, buf.buf, total)) goto done;
    Py_BEGIN_ALLOW_THREADS;
    for (size_t r = 0; r < rows; r++) extend_row(&plan, a + r * (size_t)n);
    Py_END_ALLOW_THREADS;
    res = store_all(a, total);
done:
    free(a);
    extend_plan_free(&plan);
    PyBuffer_Release(&buf);
    return res;
}

static PyObject *py_recover(PyObject *self, PyObject *args) {
    Py_buffer buf, mask;
    Py_ssize_t n;
    int coeffs;
    if (!PyArg_ParseTuple(args, "y*y*np", &buf, &mask, &n, &coeffs)) return NULL;
    size_t rows;
    PyObject *res = NULL;
    fr *a = NULL;
    recover_plan plan;
    memset(&plan, 0, sizeof plan);
    if (!parse_rows(&buf, (size_t)n, &rows)) goto done;
    if (mask.len != n) {
        PyErr_Format(PyExc_ValueError, "mask has %zd entries, expected %zd", mask.len, n);
        goto done;
    }
    const unsigned char *m = mask.buf;
    size_t present = 0;
    for (Py_ssize_t i = 0; i < n; i++) present += m[i] != 0;
    if (present == 0) {
        PyErr_SetString(PyExc_ValueError, "no values present");
        goto done;
    }
    size_t total = rows * (size_t)n;
    a = malloc((total ? total : 1) * sizeof(fr));
    if (!a) {
        PyErr_NoMemory();
        goto done;
    }
    const unsigned char *src = buf.buf;
    for (size_t i = 0; i < total; i++) {
        if (!m[i % (size_t)n]) {
            memset(&a[i], 0, sizeof(fr));
        } else if (!fr_load(&a[i], src + 32 * i)) {
            PyErr_Format(PyExc_ValueError, "scalar %zu is not canonical (>= r)", i);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS;
    recover_plan_init(&plan, m, (size_t)n);
    for (size_t r = 0; r < rows; r++) {
        if (coeffs)
            recover_coeffs_row(&plan, a + r * (size_t)n);
        else
            recover_evals_row(&plan, a + r * (size_t)n);
    }
    Py_END_ALLOW_THREADS;
    res = store_all(a, total);
done:
    free(a);
    recover_plan_free(&plan);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&mask);
    return res;
}

static PyObject *py_div_linear(PyObject *self, PyObject *args) {
    Py_buffer buf, xb;
    if (!PyArg_ParseTuple(args, "y*y*", &buf, &xb)) return NULL;
    PyObject *res = NULL, *q = NULL, *v = NULL;
    fr *a = NULL;
    if (buf.len == 0 || buf.len % 32 || xb.len != 32) {
        PyErr_SetString(PyExc_ValueError, "need >= 1 coefficient and a 32-byte point");
        goto done;
    }
    size_t m = (size_t)buf.len / 32;
    a = malloc(m * sizeof(fr));
    fr x;
    if (!load_all(a, buf.buf, m)) goto done;
    if (!fr_load(&x, xb.buf)) {
        PyErr_SetString(PyExc_ValueError, "point is not canonical (>= r)");
        goto done;
    }
    /* Horner from the top: q[m-2] = c[m-1]; q[i-1] = c[i] + x q[i]; p(x) = c[0] + x q[0]. */
    Py_BEGIN_ALLOW_THREADS;
    for (size_t i = m - 1; i > 0; i--) {
        fr t;
        fr_mul(&t, &a[i], &x);
        fr_add(&a[i - 1], &a[i - 1], &t);
    }
    Py_END_ALLOW_THREADS;
    /* now a[i] (i >= 1) = q[i-1], a[0] = p(x) */
    q = store_all(a + 1, m - 1);
    v = store_all(a, 1);
    if (q && v) res = PyTuple_Pack(2, q, v);
done:
    Py_XDECREF(q);
    Py_XDECREF(v);
    free(a);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&xb);
    return res;
}

/* extend_segment(raw, out, num_records, num_chunks, out_stride, col_start, col_end)
 * raw: num_records raw records of num_chunks 31-byte chunks. out: 2*num_records rows (stride
 * out_stride bytes) of num_chunks 32-byte scalars; row 2k = source record k, row 2k+1 = parity. */
static PyObject *py_extend_segment(PyObject *self, PyObject *args) {
    Py_buffer raw, out;
    Py_ssize_t nr, nc, stride, c0, c1;
    if (!PyArg_ParseTuple(args, "y*w*nnnnn", &raw, &out, &nr, &nc, &stride, &c0, &c1)) return NULL;
    PyObject *res = NULL;
    extend_plan plan = {0};
    if (nr < 1 || log2_exact((size_t)nr) < 0 || nc < 1 || raw.len < nr * nc * 31 ||
        stride < nc * 32 || out.len < (2 * nr - 1) * stride + nc * 32 || c0 < 0 || c1 > nc ||
        c0 > c1) {
        PyErr_SetString(PyExc_ValueError, "extend_segment: inconsistent sizes");
        goto done;
    }
    if (!extend_plan_init(&plan, (size_t)nr)) {
        PyErr_NoMemory();
        goto done;
    }
    const unsigned char *src = raw.buf;
    unsigned char *dst = out.buf;
    Py_BEGIN_ALLOW_THREADS;
    /* Columns are processed in blocks of EXT_BLOCK so that each record is read (and each output
     * row written) in contiguous runs rather than one 31/32-byte chunk per page. */
    enum { EXT_BLOCK = 16 };
    fr *col = malloc((size_t)nr * EXT_BLOCK * sizeof(fr));
    size_t rec = (size_t)nc * 31;
    for (Py_ssize_t j0 = c0; j0 < c1; j0 += EXT_BLOCK) {
        Py_ssize_t width = c1 - j0 < EXT_BLOCK ? c1 - j0 : EXT_BLOCK;
        for (Py_ssize_t k = 0; k < nr; k++) {
            const unsigned char *s = src + (size_t)k * rec + (size_t)j0 * 31;
            unsigned char *d = dst + (size_t)(2 * k) * (size_t)stride + (size_t)j0 * 32;
            for (Py_ssize_t b = 0; b < width; b++) {
                fr_load31(&col[(size_t)b * nr + k], s + 31 * b);
                d[32 * b] = 0;
                memcpy(d + 32 * b + 1, s + 31 * b, 31);
            }
        }
        for (Py_ssize_t b = 0; b < width; b++) extend_row(&plan, col + (size_t)b * nr);
        for (Py_ssize_t k = 0; k < nr; k++) {
            unsigned char *d = dst + (size_t)(2 * k + 1) * (size_t)stride + (size_t)j0 * 32;
            for (Py_ssize_t b = 0; b < width; b++) fr_store(d + 32 * b, &col[(size_t)b * nr + k]);
        }
    }
    free(col);
    Py_END_ALLOW_THREADS;
    res = Py_NewRef(Py_None);
done:
    extend_plan_free(&plan);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&out);
    return res;
}

/* recover_segment(buf, stride, mask, num_rows, num_chunks, col_start, col_end)
 * buf: num_rows rows (stride bytes apart) of num_chunks 32-byte scalars; rows with mask 0 are
 * missing. Every row's columns [col_start, col_end) are overwritten with the recovered values. */
static PyObject *py_recover_segment(PyObject *self, PyObject *args) {
    Py_buffer buf, mask;
    Py_ssize_t stride, n, nc, c0, c1;
    if (!PyArg_ParseTuple(args, "w*ny*nnnn", &buf, &stride, &mask, &n, &nc, &c0, &c1)) return NULL;
    PyObject *res = NULL;
    recover_plan plan;
    memset(&plan, 0, sizeof plan);
    if (n < 1 || log2_exact((size_t)n) < 0 || mask.len != n || nc < 1 || stride < nc * 32 ||
        buf.len < (n - 1) * stride + nc * 32 || c0 < 0 || c1 > nc || c0 > c1) {
        PyErr_SetString(PyExc_ValueError, "recover_segment: inconsistent sizes");
        goto done;
    }
    const unsigned char *m = mask.buf;
    unsigned char *base = buf.buf;
    Py_ssize_t bad_row = -1, bad_col = -1;
    Py_BEGIN_ALLOW_THREADS;
    recover_plan_init(&plan, m, (size_t)n);
    fr *col = malloc((size_t)n * sizeof(fr));
    for (Py_ssize_t j = c0; j < c1 && bad_row < 0; j++) {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!m[i]) {
                memset(&col[i], 0, sizeof(fr));
            } else if (!fr_load(&col[i], base + (size_t)i * (size_t)stride + (size_t)j * 32)) {
                bad_row = i;
                bad_col = j;
                break;
            }
        }
        if (bad_row >= 0) break;
        if (plan.missing == 0) continue;
        recover_evals_row(&plan, col);
        for (Py_ssize_t i = 0; i < n; i++)
            if (!m[i]) fr_store(base + (size_t)i * (size_t)stride + (size_t)j * 32, &col[i]);
    }
    free(col);
    Py_END_ALLOW_THREADS;
    if (bad_row >= 0) {
        PyErr_Format(PyExc_ValueError, "row %zd chunk %zd is not a canonical scalar", bad_row,
                     bad_col);
        goto done;
    }
    res = Py_NewRef(Py_None);
done:
    recover_plan_free(&plan);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&mask);
    return res;
}

static PyMethodDef methods[] = {
    {"ntt", py_ntt, METH_VARARGS, "ntt(data, n, inverse) -> bytes"},
    {"extend", py_extend, METH_VARARGS, "extend(data, n) -> parity bytes"},
    {"recover", py_recover, METH_VARARGS, "recover(data, mask, n, coeffs) -> bytes"},
    {"div_linear", py_div_linear, METH_VARARGS, "div_linear(coeffs, x) -> (quotient, value)"},
    {"extend_segment", py_extend_segment, METH_VARARGS, "extend a segment's columns in place"},
    {"recover_segment", py_recover_segment, METH_VARARGS, "recover a segment's columns in place"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fr_native",
                                    "BLS12-381 Fr kernels (NTT, erasure coding)", -1, methods};

PyMODINIT_FUNC PyInit__fr_native(void) { return PyModule_Create(&module); }
