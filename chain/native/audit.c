/* Audit kernel (spec/consensus.md §6 "Audit"), built as `chain._audit_native`.
 *
 * For every 32-byte chunk of an audited s-bucket:
 *     a        = u64_le(keyed_blake3(key = sector_slot_challenge, data = chunk)[0..8])
 *     distance = min(a - g, g - a) mod 2^64          (g = u64_le(global_challenge[0..8]))
 * A 32-byte message is a single BLAKE3 block, so each hash is one compression
 * (blake3_block.h); only the first two output words are needed.
 *
 * distances(key32, chunks, g) -> bytes             n little-endian u64 distances
 * candidates(key32, chunks, g, half_range) -> list [(chunk_offset, distance)] with
 *                                                   distance <= half_range, in chunk order
 * Both release the GIL while hashing. The numpy fallback in chain/farming/audit.py gives
 * identical results.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "blake3_block.h"

/* Distance of one 32-byte chunk; `cv` is the key as 8 words. */
static inline uint64_t audit_distance(const uint32_t cv[8], const uint8_t *chunk, uint64_t g) {
    uint32_t m[16], out[8];
    for (int i = 0; i < 8; i++) m[i] = b3_load32(chunk + 4 * i);
    for (int i = 8; i < 16; i++) m[i] = 0;
    b3_compress(cv, m, 32, B3_CHUNK_START | B3_CHUNK_END | B3_ROOT | B3_KEYED_HASH, out);
    uint64_t a = (uint64_t)out[0] | ((uint64_t)out[1] << 32);
    uint64_t d1 = a - g, d2 = g - a;
    return d1 < d2 ? d1 : d2;
}

static int parse_inputs(PyObject *args, Py_buffer *key, Py_buffer *chunks, unsigned long long *g,
                        unsigned long long *half_range, int want_range, uint32_t cv[8]) {
    int ok;
    if (want_range)
        ok = PyArg_ParseTuple(args, "y*y*KK", key, chunks, g, half_range);
    else
        ok = PyArg_ParseTuple(args, "y*y*K", key, chunks, g);
    if (!ok) return -1;
    if (key->len != 32) {
        PyErr_Format(PyExc_ValueError, "key must be 32 bytes, got %zd", key->len);
        goto fail;
    }
    if (chunks->len % 32) {
        PyErr_Format(PyExc_ValueError, "chunks length %zd is not a multiple of 32", chunks->len);
        goto fail;
    }
    for (int i = 0; i < 8; i++) cv[i] = b3_load32((const uint8_t *)key->buf + 4 * i);
    return 0;
fail:
    PyBuffer_Release(key);
    PyBuffer_Release(chunks);
    return -1;
}

static PyObject *py_distances(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer key, chunks;
    unsigned long long g, unused = 0;
    uint32_t cv[8];
    if (parse_inputs(args, &key, &chunks, &g, &unused, 0, cv) < 0) return NULL;
    Py_ssize_t n = chunks.len / 32;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 8);
    if (out == NULL) goto done;
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    const uint8_t *src = (const uint8_t *)chunks.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t d = audit_distance(cv, src + 32 * i, (uint64_t)g);
        b3_store32(dst + 8 * i, (uint32_t)d);
        b3_store32(dst + 8 * i + 4, (uint32_t)(d >> 32));
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&chunks);
    return out;
}

static PyObject *py_candidates(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer key, chunks;
    unsigned long long g, half_range;
    uint32_t cv[8];
    if (parse_inputs(args, &key, &chunks, &g, &half_range, 1, cv) < 0) return NULL;
    Py_ssize_t n = chunks.len / 32, found = 0, cap = 16;
    PyObject *result = NULL;
    uint64_t *hits = PyMem_RawMalloc((size_t)cap * 2 * sizeof(uint64_t));
    if (hits == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *src = (const uint8_t *)chunks.buf;
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t d = audit_distance(cv, src + 32 * i, (uint64_t)g);
        if (d <= (uint64_t)half_range) {
            if (found == cap) {
                uint64_t *grown = PyMem_RawRealloc(hits, (size_t)cap * 4 * sizeof(uint64_t));
                if (grown == NULL) { oom = 1; break; }
                hits = grown;
                cap *= 2;
            }
            hits[2 * found] = (uint64_t)i;
            hits[2 * found + 1] = d;
            found++;
        }
    }
    Py_END_ALLOW_THREADS
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyList_New(found);
    if (result == NULL) goto done;
    for (Py_ssize_t j = 0; j < found; j++) {
        PyObject *item = Py_BuildValue("(nK)", (Py_ssize_t)hits[2 * j], (unsigned long long)hits[2 * j + 1]);
        if (item == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, j, item);
    }
done:
    PyMem_RawFree(hits);
    PyBuffer_Release(&key);
    PyBuffer_Release(&chunks);
    return result;
}

static PyMethodDef methods[] = {
    {"distances", py_distances, METH_VARARGS,
     "distances(key32, chunks, global_challenge_u64) -> bytes of n u64 LE audit distances"},
    {"candidates", py_candidates, METH_VARARGS,
     "candidates(key32, chunks, global_challenge_u64, half_range) -> [(chunk_offset, distance)]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "chain._audit_native",
    "Keyed-BLAKE3 audit distances of 32-byte chunks (spec/consensus.md §6).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__audit_native(void) { return PyModule_Create(&module); }
