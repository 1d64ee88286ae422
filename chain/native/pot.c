/* Proof-of-Time kernel (spec/consensus.md §2), built as `chain._pot_native`: proving's AES
 * chain, and verification.
 *
 * PoT proves by chaining AES-128 encryptions of one block under one key; verifying a proof
 * of 8 checkpoints is a meet in the middle: the 8 inputs (seed, cp0..cp6) are encrypted c/2
 * times and the 8 outputs (cp0..cp7) are decrypted c/2 times, and the proof is valid iff the
 * two sides meet. These 16 chains are independent, so they are interleaved here to keep the
 * AES unit full (a single chain is bound by the latency of one AES round, 16 chains by its
 * throughput).
 *
 * Two code paths, chosen at run time:
 *   - "vaes-avx512": 4 blocks per instruction (_mm512_aesenc_epi128), 16 chains in 4 registers;
 *   - "aesni":       one block per instruction (_mm_aesenc_si128), 16 chains in 16 registers.
 * If the CPU has no AES-NI at all, `backend()` returns "none" and the Python side uses its
 * OpenSSL fallback.
 *
 * Functions (all release the GIL while computing; the caller validates lengths, and so do they):
 *   meet_in_the_middle(key16, inputs16n, outputs16n, half_iterations) -> int
 *       -1 if every lane meets, else the index of the first lane that does not.
 *   encrypt_checkpoints(key16, block16, step, count) -> bytes (count x 16)
 *       the block after every `step` chained encryptions, `count` times: a slot's proof
 *       (plain AES-NI, whatever backend verification uses).
 *   encrypt_chain(key16, block16, iterations) -> bytes16   (AES-128 applied `iterations` times)
 *   decrypt_chain(key16, block16, iterations) -> bytes16   (the inverse)
 *   backend() -> str
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>
#include <immintrin.h>
#include <wmmintrin.h>
#include <smmintrin.h>

#define BLOCK 16
#define MAX_LANES 8
#define ROUNDS 10

/* ---------- AES-128 key schedule (FIPS-197 §5.2) ---------- */

static inline __m128i key_step(__m128i key, __m128i assist)
{
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

#define KEY_ROUND(i, rcon) ek[i] = key_step(ek[i - 1], _mm_aeskeygenassist_si128(ek[i - 1], rcon))

/* Encryption round keys ek[0..10] and the Equivalent Inverse Cipher keys dk[0..10]
 * (FIPS-197 §5.3.5): dk[0] = ek[10], dk[i] = InvMixColumns(ek[10 - i]), dk[10] = ek[0]. */
static void expand_key(const uint8_t key[BLOCK], __m128i ek[ROUNDS + 1], __m128i dk[ROUNDS + 1])
{
    ek[0] = _mm_loadu_si128((const __m128i *)key);
    KEY_ROUND(1, 0x01);
    KEY_ROUND(2, 0x02);
    KEY_ROUND(3, 0x04);
    KEY_ROUND(4, 0x08);
    KEY_ROUND(5, 0x10);
    KEY_ROUND(6, 0x20);
    KEY_ROUND(7, 0x40);
    KEY_ROUND(8, 0x80);
    KEY_ROUND(9, 0x1b);
    KEY_ROUND(10, 0x36);
    dk[0] = ek[ROUNDS];
    for (int i = 1; i < ROUNDS; i++)
        dk[i] = _mm_aesimc_si128(ek[ROUNDS - i]);
    dk[ROUNDS] = ek[0];
}

/* ---------- single chains ---------- */

static void encrypt_chain_aesni(const __m128i ek[ROUNDS + 1], uint8_t block[BLOCK], uint64_t n)
{
    __m128i x = _mm_loadu_si128((const __m128i *)block);
    for (uint64_t i = 0; i < n; i++) {
        x = _mm_xor_si128(x, ek[0]);
        for (int r = 1; r < ROUNDS; r++)
            x = _mm_aesenc_si128(x, ek[r]);
        x = _mm_aesenclast_si128(x, ek[ROUNDS]);
    }
    _mm_storeu_si128((__m128i *)block, x);
}

static void decrypt_chain_aesni(const __m128i dk[ROUNDS + 1], uint8_t block[BLOCK], uint64_t n)
{
    __m128i x = _mm_loadu_si128((const __m128i *)block);
    for (uint64_t i = 0; i < n; i++) {
        x = _mm_xor_si128(x, dk[0]);
        for (int r = 1; r < ROUNDS; r++)
            x = _mm_aesdec_si128(x, dk[r]);
        x = _mm_aesdeclast_si128(x, dk[ROUNDS]);
    }
    _mm_storeu_si128((__m128i *)block, x);
}

/* ---------- meet in the middle: AES-NI, one block per register ---------- */

/* `in` and `out` hold MAX_LANES blocks each (unused lanes padded); all 2 x MAX_LANES chains
 * advance together, round by round, so the CPU always has 16 independent AES ops in flight. */
static inline __attribute__((always_inline)) void
mitm_aesni_lanes(const __m128i ek[ROUNDS + 1], const __m128i dk[ROUNDS + 1],
                 uint8_t in[MAX_LANES][BLOCK], uint8_t out[MAX_LANES][BLOCK], uint64_t half, const int lanes)
{
    __m128i e[MAX_LANES], d[MAX_LANES];
    for (int j = 0; j < lanes; j++) {
        e[j] = _mm_loadu_si128((const __m128i *)in[j]);
        d[j] = _mm_loadu_si128((const __m128i *)out[j]);
    }
    for (uint64_t i = 0; i < half; i++) {
        for (int j = 0; j < lanes; j++) {
            e[j] = _mm_xor_si128(e[j], ek[0]);
            d[j] = _mm_xor_si128(d[j], dk[0]);
        }
        for (int r = 1; r < ROUNDS; r++) {
            for (int j = 0; j < lanes; j++) {
                e[j] = _mm_aesenc_si128(e[j], ek[r]);
                d[j] = _mm_aesdec_si128(d[j], dk[r]);
            }
        }
        for (int j = 0; j < lanes; j++) {
            e[j] = _mm_aesenclast_si128(e[j], ek[ROUNDS]);
            d[j] = _mm_aesdeclast_si128(d[j], dk[ROUNDS]);
        }
    }
    for (int j = 0; j < lanes; j++) {
        _mm_storeu_si128((__m128i *)in[j], e[j]);
        _mm_storeu_si128((__m128i *)out[j], d[j]);
    }
}

static void mitm_aesni(const __m128i ek[ROUNDS + 1], const __m128i dk[ROUNDS + 1],
                       uint8_t in[MAX_LANES][BLOCK], uint8_t out[MAX_LANES][BLOCK], uint64_t half, int lanes)
{
    if (lanes <= 4)
        mitm_aesni_lanes(ek, dk, in, out, half, 4);
    else
        mitm_aesni_lanes(ek, dk, in, out, half, MAX_LANES);
}

/* ---------- meet in the middle: VAES + AVX-512, four blocks per register ---------- */

#if defined(__GNUC__) && (__GNUC__ >= 8 || defined(__clang__))
#define HAVE_VAES_PATH 1
#define VAES_TARGET __attribute__((target("avx512f,vaes")))

/* 8 lanes: 2 registers encrypt (lanes 0-3, 4-7), 2 decrypt; 4 lanes: 1 register each. */
VAES_TARGET
static void mitm_vaes(const __m128i ek128[ROUNDS + 1], const __m128i dk128[ROUNDS + 1],
                      uint8_t in[MAX_LANES][BLOCK], uint8_t out[MAX_LANES][BLOCK], uint64_t half, int lanes)
{
    __m512i ek[ROUNDS + 1], dk[ROUNDS + 1];
    for (int r = 0; r <= ROUNDS; r++) {
        ek[r] = _mm512_broadcast_i32x4(ek128[r]);
        dk[r] = _mm512_broadcast_i32x4(dk128[r]);
    }
    __m512i e0 = _mm512_loadu_si512((const void *)in[0]);
    __m512i e1 = _mm512_loadu_si512((const void *)in[4]);
    __m512i d0 = _mm512_loadu_si512((const void *)out[0]);
    __m512i d1 = _mm512_loadu_si512((const void *)out[4]);
    if (lanes <= 4) {
        for (uint64_t i = 0; i < half; i++) {
            e0 = _mm512_xor_si512(e0, ek[0]);
            d0 = _mm512_xor_si512(d0, dk[0]);
            for (int r = 1; r < ROUNDS; r++) {
                e0 = _mm512_aesenc_epi128(e0, ek[r]);
                d0 = _mm512_aesdec_epi128(d0, dk[r]);
            }
            e0 = _mm512_aesenclast_epi128(e0, ek[ROUNDS]);
            d0 = _mm512_aesdeclast_epi128(d0, dk[ROUNDS]);
        }
    } else {
        for (uint64_t i = 0; i < half; i++) {
            e0 = _mm512_xor_si512(e0, ek[0]);
            e1 = _mm512_xor_si512(e1, ek[0]);
            d0 = _mm512_xor_si512(d0, dk[0]);
            d1 = _mm512_xor_si512(d1, dk[0]);
            for (int r = 1; r < ROUNDS; r++) {
                e0 = _mm512_aesenc_epi128(e0, ek[r]);
                e1 = _mm512_aesenc_epi128(e1, ek[r]);
                d0 = _mm512_aesdec_epi128(d0, dk[r]);
                d1 = _mm512_aesdec_epi128(d1, dk[r]);
            }
            e0 = _mm512_aesenclast_epi128(e0, ek[ROUNDS]);
            e1 = _mm512_aesenclast_epi128(e1, ek[ROUNDS]);
            d0 = _mm512_aesdeclast_epi128(d0, dk[ROUNDS]);
            d1 = _mm512_aesdeclast_epi128(d1, dk[ROUNDS]);
        }
    }
    _mm512_storeu_si512((void *)in[0], e0);
    _mm512_storeu_si512((void *)in[4], e1);
    _mm512_storeu_si512((void *)out[0], d0);
    _mm512_storeu_si512((void *)out[4], d1);
}
#else
#define HAVE_VAES_PATH 0
#endif

/* ---------- run-time dispatch ---------- */

enum { BACKEND_NONE, BACKEND_AESNI, BACKEND_VAES };
static int backend_id = BACKEND_NONE;
/* What the CPU has, whatever set_backend chose for verification. */
static int cpu_has_aesni = 0;
static const char *backend_names[] = {"none", "aesni", "vaes-avx512"};

static void detect_backend(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("aes")) {
        backend_id = BACKEND_NONE;
        return;
    }
    backend_id = BACKEND_AESNI;
#if HAVE_VAES_PATH
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vaes"))
        backend_id = BACKEND_VAES;
#endif
}

/* ---------- Python bindings ---------- */

static int get_block_arg(Py_buffer *buf, const char *what, Py_ssize_t multiple, Py_ssize_t max_blocks)
{
    if (buf->len % multiple != 0 || buf->len / multiple > max_blocks) {
        PyErr_Format(PyExc_ValueError, "%s must be %zd bytes (or n x %zd, n <= %zd), got %zd bytes",
                     what, multiple, multiple, max_blocks, buf->len);
        return -1;
    }
    return 0;
}

static int require_backend(void)
{
    if (backend_id == BACKEND_NONE) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU has no AES-NI; use the OpenSSL fallback");
        return -1;
    }
    return 0;
}

static PyObject *py_meet_in_the_middle(PyObject *self, PyObject *args)
{
    Py_buffer key, inputs, outputs;
    unsigned long long half;
    (void)self;
    if (require_backend() < 0)
        return NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*K", &key, &inputs, &outputs, &half))
        return NULL;
    PyObject *result = NULL;
    uint8_t key16[BLOCK];
    uint8_t in[MAX_LANES][BLOCK], out[MAX_LANES][BLOCK];
    Py_ssize_t lanes = inputs.len / BLOCK;
    if (key.len != BLOCK) {
        PyErr_Format(PyExc_ValueError, "key must be 16 bytes, got %zd", key.len);
        goto done;
    }
    if (get_block_arg(&inputs, "inputs", BLOCK, MAX_LANES) < 0 ||
        get_block_arg(&outputs, "outputs", BLOCK, MAX_LANES) < 0)
        goto done;
    if (outputs.len != inputs.len || lanes == 0) {
        PyErr_Format(PyExc_ValueError, "inputs (%zd bytes) and outputs (%zd bytes) must be equal and non-empty",
                     inputs.len, outputs.len);
        goto done;
    }
    memcpy(key16, key.buf, BLOCK);
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    memcpy(in, inputs.buf, (size_t)inputs.len);
    memcpy(out, outputs.buf, (size_t)outputs.len);

    Py_BEGIN_ALLOW_THREADS
    __m128i ek[ROUNDS + 1], dk[ROUNDS + 1];
    expand_key(key16, ek, dk);
#if HAVE_VAES_PATH
    if (backend_id == BACKEND_VAES)
        mitm_vaes(ek, dk, in, out, half, (int)lanes);
    else
#endif
        mitm_aesni(ek, dk, in, out, half, (int)lanes);
    Py_END_ALLOW_THREADS

    long first_bad = -1;
    for (Py_ssize_t j = 0; j < lanes; j++) {
        if (memcmp(in[j], out[j], BLOCK) != 0) {
            first_bad = (long)j;
            break;
        }
    }
    result = PyLong_FromLong(first_bad);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&inputs);
    PyBuffer_Release(&outputs);
    return result;
}

/* Copy the 16-byte key and block out of their buffers; -1 (ValueError set) if either is not
 * 16 bytes. */
static int take_key_and_block(const Py_buffer *key, const Py_buffer *block, uint8_t key16[BLOCK], uint8_t b[BLOCK])
{
    if (key->len != BLOCK || block->len != BLOCK) {
        PyErr_Format(PyExc_ValueError, "key and block must be 16 bytes, got %zd and %zd", key->len, block->len);
        return -1;
    }
    memcpy(key16, key->buf, BLOCK);
    memcpy(b, block->buf, BLOCK);
    return 0;
}

static PyObject *chain_common(PyObject *args, int decrypt)
{
    Py_buffer key, block;
    long long n;
    if (require_backend() < 0)
        return NULL;
    if (!PyArg_ParseTuple(args, "y*y*L", &key, &block, &n))
        return NULL;
    PyObject *result = NULL;
    uint8_t key16[BLOCK], b[BLOCK];
    if (take_key_and_block(&key, &block, key16, b) < 0)
        goto done;
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "the iteration count must not be negative, got %lld", n);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    __m128i ek[ROUNDS + 1], dk[ROUNDS + 1];
    expand_key(key16, ek, dk);
    if (decrypt)
        decrypt_chain_aesni(dk, b, (uint64_t)n);
    else
        encrypt_chain_aesni(ek, b, (uint64_t)n);
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)b, BLOCK);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&block);
    return result;
}

/* encrypt_checkpoints(key16, block16, step, count): the block after every `step` chained
 * encryptions, `count` times (the chain runs on across checkpoints): a slot's proof in one call,
 * with the GIL released throughout. Proving needs only AES-NI, whatever verifier is selected. */
static PyObject *py_encrypt_checkpoints(PyObject *self, PyObject *args)
{
    Py_buffer key, block;
    long long step, count;
    (void)self;
    if (!cpu_has_aesni) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU has no AES-NI; use the OpenSSL fallback");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*y*LL", &key, &block, &step, &count))
        return NULL;
    PyObject *result = NULL;
    uint8_t key16[BLOCK], b[BLOCK];
    if (take_key_and_block(&key, &block, key16, b) < 0)
        goto done;
    if (step <= 0 || count <= 0 || count > 1024) {
        PyErr_Format(PyExc_ValueError, "step must be positive and count in 1..1024, got step=%lld count=%lld",
                     step, count);
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(count * BLOCK));
    if (result == NULL)
        goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    __m128i ek[ROUNDS + 1], dk[ROUNDS + 1];
    expand_key(key16, ek, dk);
    for (long long i = 0; i < count; i++) {
        encrypt_chain_aesni(ek, b, (uint64_t)step);
        memcpy(out + i * BLOCK, b, BLOCK);
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&block);
    return result;
}

static PyObject *py_encrypt_chain(PyObject *self, PyObject *args)
{
    (void)self;
    return chain_common(args, 0);
}

static PyObject *py_decrypt_chain(PyObject *self, PyObject *args)
{
    (void)self;
    return chain_common(args, 1);
}

static PyObject *py_backend(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyUnicode_FromString(backend_names[backend_id]);
}

static PyObject *py_set_backend(PyObject *self, PyObject *args)
{
    const char *name;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    int previous = backend_id;
    detect_backend();
    int best = backend_id;
    int wanted = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(name, backend_names[i]) == 0)
            wanted = i;
    if (wanted < 0 || wanted > best) {
        backend_id = previous;
        PyErr_Format(PyExc_ValueError, "backend %s is unknown or not supported by this CPU (best: %s)",
                     name, backend_names[best]);
        return NULL;
    }
    backend_id = wanted;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"meet_in_the_middle", py_meet_in_the_middle, METH_VARARGS,
     "meet_in_the_middle(key16, inputs, outputs, half_iterations) -> -1 or first failing lane"},
    {"encrypt_checkpoints", py_encrypt_checkpoints, METH_VARARGS,
     "encrypt_checkpoints(key16, block16, step, count) -> count x 16 bytes (GIL released)"},
    {"encrypt_chain", py_encrypt_chain, METH_VARARGS, "encrypt_chain(key16, block16, n) -> block16"},
    {"decrypt_chain", py_decrypt_chain, METH_VARARGS, "decrypt_chain(key16, block16, n) -> block16"},
    {"backend", py_backend, METH_NOARGS, "backend() -> 'vaes-avx512' | 'aesni' | 'none'"},
    {"set_backend", py_set_backend, METH_VARARGS,
     "set_backend(name): force a code path no better than the CPU supports (tests, benchmarks)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "chain._pot_native", "Proof-of-Time AES-NI kernels (spec/consensus.md §2).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pot_native(void)
{
    detect_backend();
    cpu_has_aesni = backend_id != BACKEND_NONE;
    return PyModule_Create(&module);
}
