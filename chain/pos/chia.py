"""The Chia-style Proof-of-Space rules, one function each (spec/consensus.md §3).

Everything here works on plain Python integers and reads like the spec: `f1`, `fn`,
`has_match`, `challenge_first_k`, `unpack_proof`/`pack_proof` and `is_proof_valid`. The table
builder (`chain.pos.tables`) uses the same rules on whole tables at once, in C or numpy.

Bad input raises `PosError` (a `ValueError`): a seed that is not 32 bytes, K outside 15..25, a
challenge index outside u32, x or y out of range. The one exception is a proof of the wrong
length given to `is_proof_valid`: that is simply an invalid proof, so the answer is False.
"""

from __future__ import annotations

import struct

import blake3

from chain import chacha

try:
    from chain import _pos_native
except ImportError:  # not built: f1_many computes in Python
    _pos_native = None

# --- Constants (spec §3 "Construction"; upstream chiapos/constants.rs) ---
PARAM_EXT = 6
PARAM_M = 1 << PARAM_EXT  # 64
PARAM_B = 119
PARAM_C = 127
PARAM_BC = PARAM_B * PARAM_C  # 15113
#: Each bucket keeps its first 512 entries by position (upstream REDUCED_BUCKET_SIZE).
REDUCED_BUCKET_SIZE = 512
#: Each bucket pair keeps its first 512 matches in emission order (upstream REDUCED_MATCHES_COUNT).
REDUCED_MATCHES_COUNT = 512
K_MIN, K_MAX = 15, 25
SEED_SIZE = 32
#: Metadata width per table as a multiple of K (index = table number).
METADATA_MULTIPLIER = (0, 1, 2, 4, 4, 3, 2, 0)

_U32 = 0xFFFFFFFF


class PosError(ValueError):
    """Bad input to a PoS function: wrong seed size, K outside 15..25, value out of range."""


def ensure_seed(seed: bytes) -> bytes:
    """A PoS seed is exactly 32 bytes (`PosSeed`)."""
    if not isinstance(seed, (bytes, bytearray, memoryview)) or len(seed) != SEED_SIZE:
        size = len(seed) if hasattr(seed, "__len__") else type(seed).__name__
        raise PosError(f"PoS seed must be {SEED_SIZE} bytes, got {size}")
    return bytes(seed)


def ensure_k(k: int) -> int:
    """Real (Chia) tables support K in 15..25 (the fn bit packing is only correct there)."""
    if not isinstance(k, int) or not K_MIN <= k <= K_MAX:
        raise PosError(f"PoS K must be an integer in {K_MIN}..{K_MAX}, got {k!r}")
    return k


def ensure_challenge_index(challenge_index: int) -> int:
    """Challenge indices are u32 (in practice the s-bucket, < 2^16)."""
    if not isinstance(challenge_index, int) or not 0 <= challenge_index <= _U32:
        raise PosError(f"challenge index must be a u32, got {challenge_index!r}")
    return challenge_index


def proof_size(k: int) -> int:
    """`PosProof::SIZE` = 64 x values of K bits = 8K bytes (160 at K=20)."""
    return 8 * k


def num_buckets(k: int) -> int:
    """Number of y buckets, ceil(2^(K+6) / BC) (4441 at K=20) (spec §3 "Construction")."""
    return -(-(1 << (k + PARAM_EXT)) // PARAM_BC)


def metadata_bits(k: int, table: int) -> int:
    """Metadata width of table 1..7 in bits: K x {1, 2, 4, 4, 3, 2, 0} (spec §3 "fn")."""
    return k * METADATA_MULTIPLIER[table]


# --- f1 (spec §3 "f1(x)") ---
def keystream_bytes(seed: bytes, offset: int, length: int) -> bytes:
    """Bytes [offset, offset+length) of the f1 keystream (ChaCha8 keyed by the seed, zero nonce)."""
    return chacha.keystream_range(seed, offset, length, rounds=8)


def f1(seed: bytes, x: int, k: int) -> int:
    """f1(x) (spec §3 "f1(x)").

    The keystream is ChaCha8 keyed by the 32-byte seed itself (zero nonce, counter 0), read as a
    big-endian bit string; `partial` = bits [K*x, K*x+K); y = (partial << 6) | (x >> (K-6)).
    """
    seed, k = ensure_seed(seed), ensure_k(k)
    if not 0 <= x < (1 << k):
        raise PosError(f"x={x} is not a {k}-bit value")
    bit = k * x
    window = keystream_bytes(seed, bit // 8, (bit % 8 + k + 7) // 8)
    nbits = 8 * len(window)
    partial = (int.from_bytes(window, "big") >> (nbits - bit % 8 - k)) & ((1 << k) - 1)
    return (partial << PARAM_EXT) | (x >> (k - PARAM_EXT))


def f1_many(seed: bytes, xs, k: int) -> list[int]:
    """`f1` of each x in `xs` (spec §3 "f1(x)"), in the native PoS kernel when it is built (a
    proof's 64 values in microseconds instead of milliseconds); tests hold both equal."""
    seed, k = ensure_seed(seed), ensure_k(k)
    xs = list(xs)
    if _pos_native is None:
        return [f1(seed, x, k) for x in xs]
    for x in xs:
        if not 0 <= x < (1 << k):
            raise PosError(f"x={x} is not a {k}-bit value")
    raw = _pos_native.f1_many(seed, k, struct.pack(f"<{len(xs)}I", *xs))
    return list(struct.unpack(f"<{len(xs)}I", raw))


# --- fn (spec §3 "fn (tables 2..7)") ---
def fn(table_number: int, y: int, left_metadata: int, right_metadata: int, k: int) -> tuple[int, int]:
    """fn for table 2..7: (y_new, metadata_new) from the left y and both parents' metadata.

    input = y_left (K+6 bits) ‖ md_left ‖ md_right (parent width each), MSB first, zero-padded
    to whole bytes; h = blake3(input); y_new = first K+6 bits of h; metadata_new is
    md_left ‖ md_right for tables 2-3, bits [K+6, K+6+width) of h for tables 4-6, 0 for table 7.
    """
    k = ensure_k(k)
    if not 2 <= table_number <= 7:
        raise PosError(f"fn is defined for tables 2..7, got {table_number}")
    y_bits = k + PARAM_EXT
    parent_bits = metadata_bits(k, table_number - 1)
    if not 0 <= y < (1 << y_bits):
        raise PosError(f"y={y} is not a {y_bits}-bit value")
    for md in (left_metadata, right_metadata):
        if not 0 <= md < (1 << parent_bits):
            raise PosError(f"metadata {md} is not a {parent_bits}-bit value")
    total_bits = y_bits + 2 * parent_bits
    packed = (y << (2 * parent_bits)) | (left_metadata << parent_bits) | right_metadata
    nbytes = (total_bits + 7) // 8
    h = blake3.blake3((packed << (8 * nbytes - total_bits)).to_bytes(nbytes, "big")).digest()
    y_new = int.from_bytes(h[:4], "big") >> (32 - y_bits)
    width = metadata_bits(k, table_number)
    if table_number < 4:
        metadata = (left_metadata << parent_bits) | right_metadata
    elif width:
        metadata = (int.from_bytes(h, "big") >> (256 - y_bits - width)) & ((1 << width) - 1)
    else:
        metadata = 0
    return y_new, metadata


# --- Matching (spec §3 "Matching") ---
def left_target(parity: int, r: int, m: int) -> int:
    """The m-th right r a left entry with this r and bucket parity matches (m in 0..63)."""
    return ((r // PARAM_C + m) % PARAM_B) * PARAM_C + (((2 * m + parity) ** 2 + r) % PARAM_C)


def left_targets(parity: int, r: int) -> list[int]:
    """All 64 targets of a left r, ascending: the order in which matches are emitted."""
    return sorted(left_target(parity, r, m) for m in range(PARAM_M))


def has_match(left_y: int, right_y: int) -> bool:
    """Whether two y values match (spec §3 "Matching", verifier form).

    parity = (y_L / BC) mod 2, r = y mod BC; the right r must be one of the left's 64 targets.
    Like upstream, this does not check that the right bucket is the left bucket + 1.
    """
    parity = (left_y // PARAM_BC) % 2
    left_r, right_r = left_y % PARAM_BC, right_y % PARAM_BC
    return any(left_target(parity, left_r, m) == right_r for m in range(PARAM_M))


# --- Challenges and proofs (spec §3 "find_proof", "Verify") ---
def challenge_first_k(challenge_index: int, k: int) -> int:
    """first_k = u32_from_be(u32_to_le_bytes(challenge_index)) >> (32 - K).

    The byte swap is intentional (upstream chia.rs passes `challenge_index.to_le_bytes()` as the
    first four challenge bytes, read big-endian). A proof answers the challenge iff its table-7
    y satisfies y >> 6 == first_k.
    """
    ensure_challenge_index(challenge_index)
    return int.from_bytes(challenge_index.to_bytes(4, "little"), "big") >> (32 - ensure_k(k))


def unpack_proof(proof: bytes, k: int) -> list[int]:
    """The 64 x values of a proof: K bits each, concatenated MSB first."""
    k = ensure_k(k)
    if len(proof) != proof_size(k):
        raise PosError(f"a K={k} proof is {proof_size(k)} bytes, got {len(proof)}")
    value = int.from_bytes(proof, "big")
    mask = (1 << k) - 1
    return [(value >> (k * (63 - i))) & mask for i in range(64)]


def pack_proof(xs: list[int], k: int) -> bytes:
    """Inverse of `unpack_proof`: 64 x values of K bits, MSB first (8K bytes)."""
    k = ensure_k(k)
    if len(xs) != 64 or any(not 0 <= x < (1 << k) for x in xs):
        raise PosError(f"a proof is 64 values of {k} bits")
    value = 0
    for x in xs:
        value = (value << k) | x
    return value.to_bytes(proof_size(k), "big")


def is_proof_valid(seed: bytes, challenge_index: int, proof: bytes, k: int) -> bool:
    """Verify a proof of space (spec §3 "Verify").

    1. Unpack the 64 x values and compute f1 for each (metadata = x).
    2. For tables 2..7, pair adjacent entries (0,1), (2,3), ...: each pair must `has_match`,
       then fn gives the next entry.
    3. The final y must satisfy y >> 6 == first_k(challenge_index).

    A proof of the wrong length is invalid (False); a bad seed, K or challenge raises PosError.
    """
    seed, k = ensure_seed(seed), ensure_k(k)
    first_k = challenge_first_k(challenge_index, k)
    if not isinstance(proof, (bytes, bytearray, memoryview)) or len(proof) != proof_size(k):
        return False
    xs = unpack_proof(bytes(proof), k)
    entries = list(zip(f1_many(seed, xs, k), xs))
    for table_number in range(2, 8):
        next_entries = []
        for (left_y, left_md), (right_y, right_md) in zip(entries[0::2], entries[1::2]):
            if not has_match(left_y, right_y):
                return False
            next_entries.append(fn(table_number, left_y, left_md, right_md, k))
        entries = next_entries
    return entries[0][0] >> PARAM_EXT == first_k


def proof_hash(proof: bytes) -> bytes:
    """`PosProof::hash()` = blake3(proof): the mask a record chunk is encoded with (spec §3)."""
    return blake3.blake3(bytes(proof)).digest()
