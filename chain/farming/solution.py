"""The solution a farmer submits (spec/consensus.md §6 "Proving" 4;
`crates/subspace-core-primitives/src/solutions.rs`), with its SCALE encoding.

Field order and sizes: public_key 32, reward_address 32, sector_index u16, history_size u64
(non-zero), piece_offset u16, record_commitment 48, record_witness 48, chunk 32 (the decoded
scalar), chunk_witness 48, proof_of_space (64*K/8 bytes: 160 at K=20). 412 bytes at mainnet.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from chain.params import Params

#: (field, fixed byte length) for the byte-string fields; the integers are handled apart.
_BYTES_FIELDS = {
    "public_key": 32,
    "reward_address": 32,
    "record_commitment": 48,
    "record_witness": 48,
    "chunk": 32,
    "chunk_witness": 48,
}


class InvalidSolutionEncoding(ValueError):
    """The bytes are not a SCALE-encoded solution (wrong total length, zero history size)."""


def proof_of_space_size(params: Params) -> int:
    """Bytes of `proof_of_space`: 64*K/8 for the Chia tables (160 at K=20), 160 for the shim."""
    return params.pos_proof_size


def solution_size(params: Params) -> int:
    """Encoded size: 32+32+2+8+2+48+48+32+48 + the proof size (412 at mainnet)."""
    return 252 + proof_of_space_size(params)


@dataclass(frozen=True)
class Solution:
    """`Solution<AccountId>` (spec §6 "Proving" 4)."""

    public_key: bytes
    reward_address: bytes
    sector_index: int
    history_size: int
    piece_offset: int
    record_commitment: bytes
    record_witness: bytes
    chunk: bytes
    chunk_witness: bytes
    proof_of_space: bytes

    def __post_init__(self):
        for name, size in _BYTES_FIELDS.items():
            value = getattr(self, name)
            if not isinstance(value, (bytes, bytearray)) or len(value) != size:
                raise InvalidSolutionEncoding(f"solution.{name} must be {size} bytes")
        if not 0 <= self.sector_index <= 0xFFFF or not 0 <= self.piece_offset <= 0xFFFF:
            raise InvalidSolutionEncoding("solution.sector_index and piece_offset must be u16")
        if not 1 <= self.history_size < 1 << 64:
            raise InvalidSolutionEncoding("solution.history_size must be a non-zero u64")

    def with_(self, **changes) -> Solution:
        return replace(self, **changes)

    def encode(self) -> bytes:
        """SCALE encoding, fields in declaration order, integers little-endian."""
        return b"".join(
            (
                self.public_key,
                self.reward_address,
                self.sector_index.to_bytes(2, "little"),
                self.history_size.to_bytes(8, "little"),
                self.piece_offset.to_bytes(2, "little"),
                self.record_commitment,
                self.record_witness,
                self.chunk,
                self.chunk_witness,
                self.proof_of_space,
            )
        )

    @classmethod
    def decode(cls, data: bytes, params: Params) -> Solution:
        """Inverse of `encode`; the proof length comes from `proof_of_space_size(params)`."""
        expected = solution_size(params)
        if len(data) != expected:
            raise InvalidSolutionEncoding(f"solution is {len(data)} bytes, expected {expected}")
        values, at = {}, 0
        for f in fields(cls):
            if f.name in _BYTES_FIELDS:
                size = _BYTES_FIELDS[f.name]
                values[f.name] = bytes(data[at : at + size])
            elif f.name == "proof_of_space":
                size = proof_of_space_size(params)
                values[f.name] = bytes(data[at : at + size])
            else:
                size = 8 if f.name == "history_size" else 2
                values[f.name] = int.from_bytes(data[at : at + size], "little")
            at += size
        return cls(**values)
