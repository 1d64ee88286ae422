"""The slot challenge and the audit (spec/consensus.md §6 "Challenge", "Audit";
`crates/subspace-farmer-components/src/auditing.rs`, `subspace_verification`).

The per-chunk distance is one keyed BLAKE3 compression. It runs in the native kernel
`chain._audit_native` when it is built, else in a numpy version of the same compression over
all chunks at once; both give identical results (`BACKEND` says which is in use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from blake3 import blake3

from chain.farming.identifiers import sector_id as derive_sector_id
from chain.farming.layout import read_s_bucket as read_s_bucket_from_file
from chain.params import Params
from chain.pot import derive_global_challenge, global_challenge, global_randomness  # noqa: F401 (re-exported)

try:
    from chain import _audit_native as _native
except ImportError:  # the kernel was not built: the numpy fallback is used
    _native = None

#: "native" (C kernel) or "numpy" (fallback).
BACKEND = "native" if _native is not None else "numpy"

_U64 = (1 << 64) - 1


# --- Challenge (spec §6 "Challenge", §2 "Derived values") ---------------------------------


# `global_randomness = blake3(pot_output)`, `derive_global_challenge(randomness, slot) =
# blake3(randomness || u64_le(slot))` and `global_challenge(pot_output, slot)` (spec §2
# "Derived values", §6 "Challenge") are Proof-of-Time rules and live in chain.pot.


def sector_slot_challenge(sector_id: bytes, global_challenge: bytes) -> bytes:
    """`sector_id XOR global_challenge` (spec §6 "Challenge")."""
    return bytes(a ^ b for a, b in zip(sector_id, global_challenge, strict=True))


def s_bucket_audit_index(sector_slot_challenge: bytes, params: Params) -> int:
    """`U256_le(sector_slot_challenge) mod NUM_S_BUCKETS` (spec §6 "Challenge"; equals
    `u16_le(ssc[0..2])` at mainnet)."""
    return int.from_bytes(sector_slot_challenge, "little") % params.num_s_buckets


# --- Distance (spec §6 "Audit") -----------------------------------------------------------


def bidirectional_distance(a: int, b: int) -> int:
    """`min(a - b, b - a) mod 2^64` (`solutions::bidirectional_distance`)."""
    return min((a - b) & _U64, (b - a) & _U64)


def calculate_solution_distance(global_challenge: bytes, chunk: bytes, sector_slot_challenge: bytes) -> int:
    """Audit distance of one 32-byte (encoded) chunk (spec §6 "Audit"):
    `a = u64_le(keyed(ssc, chunk)[0..8])`, `g = u64_le(global_challenge[0..8])`, `min(a-g, g-a)`."""
    a = int.from_bytes(blake3(chunk, key=sector_slot_challenge).digest()[:8], "little")
    g = int.from_bytes(global_challenge[:8], "little")
    return bidirectional_distance(a, g)


def is_within_solution_range(
    global_challenge: bytes, chunk: bytes, sector_slot_challenge: bytes, solution_range: int
) -> int | None:
    """The distance if `distance <= solution_range / 2` (integer division), else None
    (spec §6 "Audit"; `subspace_verification::is_within_solution_range`)."""
    distance = calculate_solution_distance(global_challenge, chunk, sector_slot_challenge)
    return distance if distance <= solution_range // 2 else None


# --- Batch distances: numpy fallback --------------------------------------------------------

_IV = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)
_SCHEDULE = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8),
    (3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1),
    (10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6),
    (12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4),
    (9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7),
    (11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13),
)
#: CHUNK_START | CHUNK_END | ROOT | KEYED_HASH
_KEYED_ROOT_FLAGS = 1 | 2 | 8 | 16
_BATCH = 1 << 15


def _keyed_hash_first_u64_numpy(key: bytes, chunks: np.ndarray) -> np.ndarray:
    """First 8 bytes (as u64 LE) of `keyed(key, chunk)` for every row of `chunks` (n x 8 u32):
    one BLAKE3 compression with block_len 32, vectorised over the rows."""
    n = chunks.shape[0]
    cv = np.frombuffer(key, dtype="<u4").astype(np.uint32)
    zero = np.zeros(n, dtype=np.uint32)
    m = [np.ascontiguousarray(chunks[:, i]) for i in range(8)] + [zero] * 8
    v = [np.full(n, cv[i], dtype=np.uint32) for i in range(8)]
    v += [np.full(n, _IV[i], dtype=np.uint32) for i in range(4)]
    v += [zero.copy(), zero.copy(), np.full(n, 32, np.uint32), np.full(n, _KEYED_ROOT_FLAGS, np.uint32)]

    def g(a, b, c, d, x, y):
        v[a] += v[b]
        v[a] += x
        t = v[d] ^ v[a]
        v[d] = (t >> 16) | (t << 16)
        v[c] += v[d]
        t = v[b] ^ v[c]
        v[b] = (t >> 12) | (t << 20)
        v[a] += v[b]
        v[a] += y
        t = v[d] ^ v[a]
        v[d] = (t >> 8) | (t << 24)
        v[c] += v[d]
        t = v[b] ^ v[c]
        v[b] = (t >> 7) | (t << 25)

    for s in _SCHEDULE:
        g(0, 4, 8, 12, m[s[0]], m[s[1]])
        g(1, 5, 9, 13, m[s[2]], m[s[3]])
        g(2, 6, 10, 14, m[s[4]], m[s[5]])
        g(3, 7, 11, 15, m[s[6]], m[s[7]])
        g(0, 5, 10, 15, m[s[8]], m[s[9]])
        g(1, 6, 11, 12, m[s[10]], m[s[11]])
        g(2, 7, 8, 13, m[s[12]], m[s[13]])
        g(3, 4, 9, 14, m[s[14]], m[s[15]])
    lo = (v[0] ^ v[8]).astype(np.uint64)
    hi = (v[1] ^ v[9]).astype(np.uint64)
    return lo | (hi << np.uint64(32))


def _audit_distances_numpy(sector_slot_challenge: bytes, chunks: bytes, g: int) -> np.ndarray:
    words = np.frombuffer(chunks, dtype="<u4").reshape(-1, 8)
    out = np.empty(words.shape[0], dtype=np.uint64)
    g64 = np.uint64(g)
    for start in range(0, words.shape[0], _BATCH):
        a = _keyed_hash_first_u64_numpy(sector_slot_challenge, words[start : start + _BATCH])
        out[start : start + _BATCH] = np.minimum(a - g64, g64 - a)
    return out


# --- Batch distances: the entry points ----------------------------------------------------


def _check_audit_inputs(sector_slot_challenge: bytes, chunks) -> None:
    if len(sector_slot_challenge) != 32:
        raise ValueError(f"sector slot challenge must be 32 bytes, got {len(sector_slot_challenge)}")
    if len(chunks) % 32:
        raise ValueError(f"chunks length {len(chunks)} is not a multiple of 32")


def audit_distances(
    sector_slot_challenge: bytes, chunks: bytes, global_challenge: bytes, backend: str | None = None
) -> np.ndarray:
    """Audit distance (spec §6 "Audit") of every 32-byte chunk of `chunks`, as a uint64 array.

    `backend` is "native" or "numpy"; by default the native kernel when built."""
    _check_audit_inputs(sector_slot_challenge, chunks)
    g = int.from_bytes(global_challenge[:8], "little")
    backend = backend or BACKEND
    if backend == "native":
        if _native is None:
            raise RuntimeError("the native audit kernel chain._audit_native is not built")
        return np.frombuffer(_native.distances(sector_slot_challenge, chunks, g), dtype="<u8")
    if backend == "numpy":
        return _audit_distances_numpy(sector_slot_challenge, chunks, g)
    raise ValueError(f"unknown audit backend {backend!r}")


def audit_chunks(
    sector_slot_challenge: bytes,
    chunks: bytes,
    global_challenge: bytes,
    solution_range: int,
    backend: str | None = None,
) -> list[tuple[int, int]]:
    """Candidates of one audited s-bucket: `(chunk_offset, distance)` for every chunk with
    `distance <= solution_range / 2`, sorted by distance, then offset (spec §6 "Audit";
    `map_winning_chunks`). Farmers audit with the voting range."""
    _check_audit_inputs(sector_slot_challenge, chunks)
    half = solution_range // 2
    backend = backend or BACKEND
    if backend == "native" and _native is not None:
        g = int.from_bytes(global_challenge[:8], "little")
        found = _native.candidates(sector_slot_challenge, chunks, g, half)
    else:
        distances = audit_distances(sector_slot_challenge, chunks, global_challenge, backend)
        offsets = np.nonzero(distances <= np.uint64(half))[0]
        found = [(int(i), int(distances[i])) for i in offsets]
    return sorted(found, key=lambda c: (c[1], c[0]))


# --- Auditing a plotted sector --------------------------------------------------------------


@dataclass(frozen=True)
class AuditResult:
    """The winning chunks of one sector for one slot (spec §6 "Audit")."""

    sector_index: int
    sector_id: bytes
    s_bucket: int
    #: `(chunk_offset within the s-bucket, distance)`, sorted by distance.
    candidates: list[tuple[int, int]]


def audit_sector(
    public_key_hash: bytes,
    global_challenge: bytes,
    solution_range: int,
    sector_path,
    metadata,
    params: Params,
    read_s_bucket: Callable | None = None,
) -> AuditResult | None:
    """Audit one plotted sector (spec §6 "Audit"; `auditing::audit_sector_sync`): derive the
    sector's slot challenge and s-bucket, read only that s-bucket from the sector file, and keep
    the chunks within `solution_range / 2`. None when nothing is within range."""
    sid = derive_sector_id(public_key_hash, metadata.sector_index, metadata.history_size)
    ssc = sector_slot_challenge(sid, global_challenge)
    s_bucket = s_bucket_audit_index(ssc, params)
    if metadata.s_bucket_sizes[s_bucket] == 0:
        return None
    chunks = (read_s_bucket or read_s_bucket_from_file)(sector_path, metadata, s_bucket, params)
    candidates = audit_chunks(ssc, chunks, global_challenge, solution_range)
    if not candidates:
        return None
    return AuditResult(metadata.sector_index, sid, s_bucket, candidates)
