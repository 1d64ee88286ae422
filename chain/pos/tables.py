"""Building the seven PoS tables and finding proofs in them (spec/consensus.md §3).

`generate_table(seed, k)` builds a `Table` with the native kernel (`chain._pos_native`, C) when
it is built, else with the numpy builder below; both give identical arrays. A table is held
compactly, in the order of spec §3 "Table building order":

* `x1[i]`: the x of the i-th entry of table 1 in sorted order (buckets y / BC ascending, then
  (y, x) inside a bucket, each bucket capped to its first 512 entries by x);
* for tables t = 2..7, `left[t][i]` and `delta[t][i]`: the i-th sorted entry of table t was made
  from the sorted entries `left` and `left + delta` of table t-1;
* `y7`: table 7's y values in sorted (= ascending) order.

Positions in tables 2..7 are emission indices; the (y, position) sort and the per-bucket caps use
them, after which an entry is known by its sorted index (which is all that proofs follow).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from chain import chacha
from chain.pos.chia import (
    PARAM_B,
    PARAM_BC,
    PARAM_C,
    PARAM_EXT,
    PARAM_M,
    REDUCED_BUCKET_SIZE,
    REDUCED_MATCHES_COUNT,
    PosError,
    ensure_challenge_index,
    ensure_k,
    ensure_seed,
    metadata_bits,
    num_buckets,
    proof_size,
)

try:
    from chain import _pos_native
except ImportError:  # the kernel was not built: the numpy builder is used
    _pos_native = None

#: Which table builder `generate_table` uses by default: "native" (C) or "numpy".
BACKEND = "native" if _pos_native is not None and os.environ.get("AUTONOMYS_POS_BACKEND") != "numpy" else "numpy"


@dataclass(frozen=True, eq=False)
class Table:
    """The seven tables of one seed, as compact arrays (see the module docstring)."""

    k: int
    x1: np.ndarray  # uint32[n1]
    left: dict  # table -> uint32[n_t]
    delta: dict  # table -> uint16[n_t]
    y7: np.ndarray  # uint32[n7], ascending

    def find_proof(self, challenge_index: int) -> bytes | None:
        """The first proof for a challenge, or None (spec §3 "find_proof")."""
        return self.find_proofs([ensure_challenge_index(challenge_index)])[0]

    def find_proofs(self, challenge_indices) -> list[bytes | None]:
        """`find_proof` for many challenges at once (plotting asks for every s-bucket).

        first_k = byte-swapped challenge >> (32-K); the proof is the first table-7 entry (in
        (y, position) order) with y >> 6 == first_k, expanded through the back-pointers left
        before right into 64 x values, packed K bits each MSB first.
        """
        k = self.k
        challenges = np.asarray(challenge_indices, dtype=np.int64).reshape(-1)
        if challenges.size and (challenges.min() < 0 or challenges.max() > 0xFFFFFFFF):
            raise PosError("challenge indices must be u32")
        first_k = challenges.astype(np.uint32).byteswap().astype(np.int64) >> (32 - k)
        where = np.searchsorted(self.y7, first_k << PARAM_EXT)
        found = where < len(self.y7)
        found[found] &= (self.y7[where[found]].astype(np.int64) >> PARAM_EXT) == first_k[found]
        result: list[bytes | None] = [None] * len(challenges)
        rows = np.nonzero(found)[0]
        size = proof_size(k)
        for start in range(0, len(rows), 8192):
            chunk = rows[start : start + 8192]
            packed = _pack_proofs(self._expand(where[chunk]), k)
            for row, offset in zip(chunk.tolist(), range(0, len(chunk) * size, size)):
                result[row] = packed[offset : offset + size]
        return result

    def _expand(self, table7_indices: np.ndarray) -> np.ndarray:
        """The 64 x values (tree order, left before right) under each table-7 entry: (n, 64)."""
        idx = table7_indices.astype(np.int64).reshape(-1, 1)
        for table in range(7, 1, -1):
            left = self.left[table][idx].astype(np.int64)
            right = left + self.delta[table][idx]
            idx = np.stack([left, right], axis=2).reshape(len(idx), -1)
        return self.x1[idx]

    def table7_entries(self) -> int:
        """Number of entries in table 7 (about 2^K; used by density checks)."""
        return len(self.y7)


def _pack_proofs(xs: np.ndarray, k: int) -> bytes:
    """Pack rows of 64 x values into proofs of 8K bytes each, K bits per x, MSB first."""
    be = xs.astype(">u4").view(np.uint8).reshape(len(xs), 64, 4)
    bits = np.unpackbits(be, axis=2)[:, :, 32 - k :].reshape(len(xs), 64 * k)
    return np.packbits(bits, axis=1).tobytes()


def generate_table(seed: bytes, k: int, *, backend: str | None = None) -> Table:
    """Build the PoS tables of `seed` at K (spec §3); `backend` "native" or "numpy" forces one."""
    seed, k = ensure_seed(seed), ensure_k(k)
    backend = backend or BACKEND
    if backend == "native":
        if _pos_native is None:
            raise PosError("the native PoS kernel (chain._pos_native) is not built")
        arrays = _pos_native.build_tables(seed, k)
        x1 = np.frombuffer(arrays[0], dtype=np.uint32)
        left = {t: np.frombuffer(arrays[2 * t - 3], dtype=np.uint32) for t in range(2, 8)}
        delta = {t: np.frombuffer(arrays[2 * t - 2], dtype=np.uint16) for t in range(2, 8)}
        y7 = np.frombuffer(arrays[13], dtype=np.uint32)
        return Table(k, x1, left, delta, y7)
    if backend == "numpy":
        return build_table_numpy(seed, k)
    raise PosError(f"unknown PoS backend {backend!r}")


# ----------------------------------------------------------------------------------------------
# The numpy builder (the fallback; same arrays as the C kernel).
# ----------------------------------------------------------------------------------------------


def chacha8_keystream_np(seed: bytes, num_blocks: int) -> np.ndarray:
    """ChaCha8 keystream blocks 0..num_blocks (key = seed, zero nonce) as uint8[64 * num_blocks]."""
    return chacha.keystream_blocks(seed, 0, num_blocks, rounds=8)


def f1_all_np(seed: bytes, k: int) -> np.ndarray:
    """f1(x) for every x in 0..2^K (spec §3 "f1(x)") as uint32[2^K]."""
    n = 1 << k
    stream = chacha8_keystream_np(seed, k * n // 512)  # K*2^K bits = K*2^K/512 blocks
    stream = np.concatenate([stream, np.zeros(8, dtype=np.uint8)])
    x = np.arange(n, dtype=np.int64)
    bit = x * k
    byte = bit >> 3
    window = np.zeros(n, dtype=np.int64)
    for j in range(5):
        window = (window << 8) | stream[byte + j]
    partial = (window >> (40 - k - (bit & 7))) & ((1 << k) - 1)
    return ((partial << PARAM_EXT) | (x >> (k - PARAM_EXT))).astype(np.uint32)


def group_buckets_np(ys: np.ndarray) -> np.ndarray:
    """Sorted order of a table whose y values are given in position order.

    Buckets y / BC; each keeps its first REDUCED_BUCKET_SIZE entries by position; inside a
    bucket (y, position). Returns the positions in sorted order.
    """
    ys = ys.astype(np.int64)
    buckets = ys // PARAM_BC
    by_bucket = np.argsort(buckets, kind="stable")  # positions ascending inside each bucket
    sorted_buckets = buckets[by_bucket]
    rank = np.arange(len(ys)) - np.searchsorted(sorted_buckets, sorted_buckets, side="left")
    kept = np.sort(by_bucket[rank < REDUCED_BUCKET_SIZE])
    return kept[np.argsort(ys[kept], kind="stable")]


@lru_cache(maxsize=1)
def left_targets_np() -> np.ndarray:
    """LEFT_TARGETS[parity, r] = the 64 targets of a left r, ascending: int64[2, BC, 64]."""
    r = np.arange(PARAM_BC, dtype=np.int64)[None, :, None]
    m = np.arange(PARAM_M, dtype=np.int64)[None, None, :]
    parity = np.arange(2, dtype=np.int64)[:, None, None]
    targets = ((r // PARAM_C + m) % PARAM_B) * PARAM_C + (((2 * m + parity) ** 2 + r) % PARAM_C)
    return np.sort(targets, axis=2)


def find_matches_np(sy: np.ndarray, k: int, buckets_per_chunk: int = 256):
    """All matches of a sorted table in emission order: (left, right) sorted indices.

    For each bucket pair (b, b+1): left entries in sorted order, each left's 64 targets in
    ascending r order, for each target the right entries with that r in sorted order; the
    first REDUCED_MATCHES_COUNT matches of each pair are kept.
    """
    sy = sy.astype(np.int64)
    nb = num_buckets(k)
    bstart = np.searchsorted(sy, np.arange(nb + 1, dtype=np.int64) * PARAM_BC)
    targets = left_targets_np()
    lefts, rights = [], []
    for b0 in range(0, nb - 1, buckets_per_chunk):
        b1 = min(b0 + buckets_per_chunk, nb - 1)  # left buckets b0..b1-1, right b0+1..b1
        left = np.arange(bstart[b0], bstart[b1])
        if not len(left):
            continue
        right_lo, right_hi = bstart[b0 + 1], bstart[b1 + 1]
        right_base = (b0 + 1) * PARAM_BC
        span = (b1 - b0) * PARAM_BC
        first = np.zeros(span, dtype=np.int64)
        count = np.zeros(span, dtype=np.int64)
        values, index, counts = np.unique(sy[right_lo:right_hi] - right_base, return_index=True, return_counts=True)
        first[values] = right_lo + index
        count[values] = counts
        lb = sy[left] // PARAM_BC
        want = (lb + 1 - b0 - 1)[:, None] * PARAM_BC + targets[lb & 1, sy[left] - lb * PARAM_BC]
        c = count[want].reshape(-1)
        s = first[want].reshape(-1)
        total = int(c.sum())
        if not total:
            continue
        left_of = np.repeat(np.repeat(left, PARAM_M), c)
        offsets = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
        right_of = np.repeat(s, c) + offsets
        pair = sy[left_of] // PARAM_BC
        rank = np.arange(total) - np.searchsorted(pair, pair, side="left")
        keep = rank < REDUCED_MATCHES_COUNT
        lefts.append(left_of[keep])
        rights.append(right_of[keep])
    if not lefts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(lefts), np.concatenate(rights)


_B3_IV = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)
_B3_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)


def blake3_short_np(blocks: np.ndarray, length: int) -> np.ndarray:
    """Unkeyed BLAKE3 of n messages of `length` <= 64 bytes (zero-padded to 64): uint8[n, 32].

    A message of at most one block is one compression with CHUNK_START | CHUNK_END | ROOT.
    """
    n = len(blocks)
    words = np.ascontiguousarray(blocks).view("<u4").reshape(n, 16).T.astype(np.uint32)
    m = list(words)
    v = [np.full(n, _B3_IV[i], dtype=np.uint32) for i in range(8)]
    v += [np.full(n, _B3_IV[i], dtype=np.uint32) for i in range(4)]
    v += [np.zeros(n, np.uint32), np.zeros(n, np.uint32), np.full(n, length, np.uint32), np.full(n, 11, np.uint32)]

    def rotr(x, r):
        return (x >> np.uint32(r)) | (x << np.uint32(32 - r))

    def g(a, b, c, d, mx, my):
        v[a] = v[a] + v[b] + mx
        v[d] = rotr(v[d] ^ v[a], 16)
        v[c] = v[c] + v[d]
        v[b] = rotr(v[b] ^ v[c], 12)
        v[a] = v[a] + v[b] + my
        v[d] = rotr(v[d] ^ v[a], 8)
        v[c] = v[c] + v[d]
        v[b] = rotr(v[b] ^ v[c], 7)

    for rnd in range(7):
        g(0, 4, 8, 12, m[0], m[1])
        g(1, 5, 9, 13, m[2], m[3])
        g(2, 6, 10, 14, m[4], m[5])
        g(3, 7, 11, 15, m[6], m[7])
        g(0, 5, 10, 15, m[8], m[9])
        g(1, 6, 11, 12, m[10], m[11])
        g(2, 7, 8, 13, m[12], m[13])
        g(3, 4, 9, 14, m[14], m[15])
        if rnd < 6:
            m = [m[i] for i in _B3_PERMUTATION]
    out = np.stack([v[i] ^ v[i + 8] for i in range(8)]).T
    return np.ascontiguousarray(out).astype("<u4").view(np.uint8).reshape(n, 32)


def _bits(values_be: np.ndarray, width: int) -> np.ndarray:
    """The low `width` bits of big-endian byte rows, as a bit matrix (MSB first)."""
    bits = np.unpackbits(values_be, axis=1)
    return bits[:, bits.shape[1] - width :]


def _from_bits(bits: np.ndarray) -> np.ndarray:
    """Bit rows (MSB first, <= 128 bits) -> right-aligned 16-byte big-endian rows."""
    padded = np.zeros((len(bits), 128), dtype=np.uint8)
    padded[:, 128 - bits.shape[1] :] = bits
    return np.packbits(padded, axis=1)


def fn_np(table: int, ys: np.ndarray, left_md: np.ndarray, right_md: np.ndarray, k: int):
    """Vectorised `chain.pos.chia.fn`: metadata as 16-byte big-endian rows; returns (y, md)."""
    y_bits = k + PARAM_EXT
    parent_bits = metadata_bits(k, table - 1)
    width = metadata_bits(k, table)
    n = len(ys)
    y_be = ys.astype(">u4").view(np.uint8).reshape(n, 4)
    left_bits, right_bits = _bits(left_md, parent_bits), _bits(right_md, parent_bits)
    message_bits = np.concatenate([_bits(y_be, y_bits), left_bits, right_bits], axis=1)
    message = np.packbits(message_bits, axis=1)
    length = message.shape[1]
    blocks = np.zeros((n, 64), dtype=np.uint8)
    blocks[:, :length] = message
    h = blake3_short_np(blocks, length)
    y_new = h[:, :4].copy().view(">u4").reshape(n).astype(np.int64) >> (32 - y_bits)
    if table < 4:
        md = _from_bits(np.concatenate([left_bits, right_bits], axis=1))
    elif width:
        md = _from_bits(np.unpackbits(h, axis=1)[:, y_bits : y_bits + width])
    else:
        md = np.zeros((n, 16), dtype=np.uint8)
    return y_new, md


def build_table_numpy(seed: bytes, k: int, chunk: int = 1 << 18) -> Table:
    """The numpy table builder: f1, then for tables 2..7 match, fn, group and sort."""
    ys = f1_all_np(seed, k)
    x1 = group_buckets_np(ys).astype(np.uint32)
    sy = ys[x1].astype(np.int64)
    meta = np.zeros((len(x1), 16), dtype=np.uint8)
    meta[:, 12:] = x1.astype(">u4").view(np.uint8).reshape(-1, 4)
    left_of, delta_of = {}, {}
    for table in range(2, 8):
        left, right = find_matches_np(sy, k)
        new_y = np.empty(len(left), dtype=np.int64)
        new_md = np.empty((len(left), 16), dtype=np.uint8)
        for s in range(0, len(left), chunk):
            sl = slice(s, s + chunk)
            new_y[sl], new_md[sl] = fn_np(table, sy[left[sl]], meta[left[sl]], meta[right[sl]], k)
        order = group_buckets_np(new_y)
        sy, meta = new_y[order], new_md[order]
        left_of[table] = left[order].astype(np.uint32)
        delta_of[table] = (right[order] - left[order]).astype(np.uint16)
    return Table(k, x1, left_of, delta_of, sy.astype(np.uint32))
