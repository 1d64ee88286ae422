"""Record encoding with proofs of space (spec/consensus.md §5 "Record encoding";
`crates/subspace-farmer-components/src/plotting.rs::record_encoding`, `reading.rs`).

Chunks are handled as numpy arrays of shape (n, 32) uint8; a record is NUM_CHUNKS chunks,
its erasure-coded extension NUM_S_BUCKETS chunks in s-bucket order (source, parity, source, …).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from blake3 import blake3

from chain import erasure, pos
from chain.params import Params


def as_chunks(data) -> np.ndarray:
    """View 32-byte chunks as an (n, 32) uint8 array."""
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, 32)


def proof_mask(proof: bytes) -> bytes:
    """`PosProof::hash` = `blake3(proof)`: the 32 bytes a chunk is XORed with (spec §3
    "Proof hash / mask")."""
    return blake3(proof).digest()


def extend_record(record: bytes, params: Params) -> np.ndarray:
    """Erasure-code a record's NUM_CHUNKS scalars to NUM_S_BUCKETS and interleave them:
    s-bucket 2j = source chunk j, 2j+1 = parity chunk j (spec §5 "Record encoding" 1-2)."""
    if len(record) != params.record_size:
        raise ValueError(f"record is {len(record)} bytes, expected {params.record_size}")
    parity = erasure.extend(bytes(record))
    return as_chunks(erasure.interleave(bytes(record), parity))


def pos_table(seed: bytes, params: Params):
    """The PoS table of one record, built from its evaluation seed (spec §5 step 3)."""
    return pos.table_for(params, seed)


def proof_masks(table, s_buckets, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(has_proof bool[n], masks uint8[n, 32]) for the given s-buckets of one table."""
    s_buckets = [int(s) for s in s_buckets]
    proofs = table.find_proofs(s_buckets)
    masks = np.zeros((len(s_buckets), 32), dtype=np.uint8)
    has = np.zeros(len(s_buckets), dtype=bool)
    for i, proof in enumerate(proofs):
        if proof is not None:
            masks[i] = np.frombuffer(proof_mask(proof), dtype=np.uint8)
            has[i] = True
    return has, masks


@dataclass(frozen=True)
class EncodedRecord:
    """A record as plotted: NUM_CHUNKS chunks (encoded ones first, in s-bucket order, then the
    unencoded fill) and its `encoded_chunks_used` bitfield over the s-buckets."""

    chunks: np.ndarray  # (NUM_CHUNKS, 32) uint8
    encoded: np.ndarray  # bool[NUM_S_BUCKETS]


def encode_record(record: bytes, seed: bytes, params: Params, table=None) -> EncodedRecord:
    """`record_encoding` (spec §5 "Record encoding"):

    1. extend the record to NUM_S_BUCKETS chunks and interleave source and parity;
    2. build the PoS table from the evaluation seed;
    3. for every s-bucket with a proof, encoded chunk = chunk XOR blake3(proof); an all-zero
       result counts as "no proof";
    4. keep the first NUM_CHUNKS encoded chunks (s-bucket order) and set their bits;
    5. fill up to NUM_CHUNKS with the unencoded chunks of the first unset s-buckets.
    """
    extended = extend_record(record, params)
    table = table if table is not None else pos_table(seed, params)
    has, masks = proof_masks(table, range(params.num_s_buckets), params)
    encoded_all = extended ^ masks
    has &= encoded_all.any(axis=1)
    used = np.nonzero(has)[0][: params.num_chunks]
    bitfield = np.zeros(params.num_s_buckets, dtype=bool)
    bitfield[used] = True
    unencoded = np.nonzero(~bitfield)[0][: params.num_chunks - len(used)]
    chunks = np.concatenate((encoded_all[used], extended[unencoded]))
    return EncodedRecord(np.ascontiguousarray(chunks), bitfield)


def decode_chunks(chunks: np.ndarray, s_buckets, encoded: np.ndarray, table, params: Params) -> np.ndarray:
    """Undo the encoding of the chunks whose `encoded` flag is set: XOR with the mask of the
    proof for their s-bucket (spec §5, §6 "Proving" 2). Raises LookupError if a proof is
    missing for an encoded chunk (the plot does not match the table)."""
    out = np.array(chunks, dtype=np.uint8, copy=True)
    idx = np.nonzero(encoded)[0]
    if len(idx):
        s_buckets = np.asarray(s_buckets)
        has, masks = proof_masks(table, s_buckets[idx], params)
        if not has.all():
            missing = int(s_buckets[idx][np.argmin(has)])
            raise LookupError(f"no proof of space for encoded s-bucket {missing}")
        out[idx] ^= masks
    return out
