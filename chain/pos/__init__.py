"""Proof-of-Space: Chia-style tables at K, `find_proof`, `is_proof_valid`, and the shim table
(spec/consensus.md §3).

* `chain.pos.chia`: the rules, one function each (f1, fn, has_match, challenge_first_k,
  is_proof_valid, proof_hash) on plain integers.
* `chain.pos.tables`: `generate_table(seed, k)` -> `Table` with `find_proof` / `find_proofs`,
  built by the C kernel `chain._pos_native` or, without it, by numpy (same output).
  `BACKEND` says which one is the default.
* `chain.pos.shim`: the shim table for tests.

`table_for(params, seed)` and `proof_valid_for(params, seed, challenge_index, proof)` pick the
shim or the Chia table from `params.pos_shim` and `params.pos_k`.

Errors: `PosError` (a ValueError) for a seed that is not 32 bytes, K outside 15..25 or a
challenge index that is not a u32. `is_proof_valid` returns False (no error) for a proof of the
wrong length.
"""

from __future__ import annotations

from chain.pos.chia import (
    K_MAX,
    K_MIN,
    PARAM_B,
    PARAM_BC,
    PARAM_C,
    PARAM_EXT,
    PARAM_M,
    REDUCED_BUCKET_SIZE,
    REDUCED_MATCHES_COUNT,
    PosError,
    challenge_first_k,
    f1,
    fn,
    has_match,
    is_proof_valid,
    left_targets,
    metadata_bits,
    num_buckets,
    pack_proof,
    proof_hash,
    proof_size,
    unpack_proof,
)
from chain.pos.shim import SHIM_PROOF_SIZE, ShimTable, generate_shim_table, is_shim_proof_valid, shim_proof
from chain.pos.tables import BACKEND, Table, generate_table


def table_for(params, seed: bytes) -> Table | ShimTable:
    """The PoS table plotting and proving use under `params`: shim if `params.pos_shim`, else
    the Chia tables at K = `params.pos_k` (spec §3)."""
    if params.pos_shim:
        return generate_shim_table(seed)
    return generate_table(seed, params.pos_k)


def proof_valid_for(params, seed: bytes, challenge_index: int, proof: bytes) -> bool:
    """Verify a PoS proof under `params` (shim or Chia at `params.pos_k`)."""
    if params.pos_shim:
        return is_shim_proof_valid(seed, challenge_index, proof)
    return is_proof_valid(seed, challenge_index, proof, params.pos_k)


__all__ = [
    "BACKEND",
    "K_MAX",
    "K_MIN",
    "PARAM_B",
    "PARAM_BC",
    "PARAM_C",
    "PARAM_EXT",
    "PARAM_M",
    "REDUCED_BUCKET_SIZE",
    "REDUCED_MATCHES_COUNT",
    "SHIM_PROOF_SIZE",
    "PosError",
    "ShimTable",
    "Table",
    "challenge_first_k",
    "f1",
    "fn",
    "generate_shim_table",
    "generate_table",
    "has_match",
    "is_proof_valid",
    "is_shim_proof_valid",
    "left_targets",
    "metadata_bits",
    "num_buckets",
    "pack_proof",
    "proof_hash",
    "proof_size",
    "proof_valid_for",
    "shim_proof",
    "table_for",
    "unpack_proof",
]
