"""The shim PoS table (spec/consensus.md §3 "Shim PoS"; upstream shim.rs), for tests only.

    q = blake3(u32_le(challenge_index))
    a proof exists iff U256_le(q) mod 3 != 0
    proof = (seed ‖ q ‖ q ‖ q ‖ q)[0..160)

Verification recomputes the proof and compares. It proves nothing about storage; the `TEST`
params preset uses it so that unit tests need not build real tables.
"""

from __future__ import annotations

import blake3

from chain.pos.chia import ensure_challenge_index, ensure_seed

#: Shim proofs have the size of a K=20 proof (`PosProof::SIZE`).
SHIM_PROOF_SIZE = 160


def shim_proof(seed: bytes, challenge_index: int) -> bytes | None:
    """The shim proof for a challenge, or None when U256_le(q) is divisible by 3."""
    seed = ensure_seed(seed)
    q = blake3.blake3(ensure_challenge_index(challenge_index).to_bytes(4, "little")).digest()
    if int.from_bytes(q, "little") % 3 == 0:
        return None
    return (seed + q * 4)[:SHIM_PROOF_SIZE]


class ShimTable:
    """Same interface as `chain.pos.tables.Table`, backed by `shim_proof`."""

    def __init__(self, seed: bytes):
        self.seed = ensure_seed(seed)

    def find_proof(self, challenge_index: int) -> bytes | None:
        """The shim proof for `challenge_index`, or None."""
        return shim_proof(self.seed, challenge_index)

    def find_proofs(self, challenge_indices) -> list[bytes | None]:
        """`find_proof` for each challenge."""
        return [shim_proof(self.seed, int(c)) for c in challenge_indices]


def generate_shim_table(seed: bytes) -> ShimTable:
    """The shim table of a seed."""
    return ShimTable(seed)


def is_shim_proof_valid(seed: bytes, challenge_index: int, proof: bytes) -> bool:
    """A shim proof is valid iff it equals the recomputed one (wrong length: False)."""
    expected = shim_proof(seed, challenge_index)
    return expected is not None and bytes(proof) == expected
