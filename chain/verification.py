"""What a node checks in a solution, and the solution-range arithmetic (spec/consensus.md §6
"Node verification", §7; `crates/subspace-verification/src/lib.rs`).

`verify_solution` takes the slot's **PoT output** (16 bytes), as upstream's
`VerifySolutionParams::proof_of_time` does: the global randomness and challenge are derived
from it (spec §2, §6). Every failed check raises its own subclass of `InvalidSolution`.

Check order: the cheap bounds on the solution's own numbers (history size, piece offset) come
first, then upstream's order: proof of space, solution range, chunk witness, expiration,
record witness. Which checks run, and so whether a solution is accepted, is exactly upstream's;
only which error is reported first differs when a solution fails several checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from chain import pos
from chain.farming.audit import (
    calculate_solution_distance,
    global_challenge,
    is_within_solution_range,  # noqa: F401 (re-exported: spec §6 "Audit")
    s_bucket_audit_index,
    sector_slot_challenge,
)
from chain.farming.encoding import proof_mask
from chain.farming.identifiers import (
    derive_expiration_history_size,
    evaluation_seed,
    is_sector_expired,
    piece_index,
    piece_position,
    piece_segment_index,
    public_key_hash,
    sector_expiration_check_segment_index,
    sector_id,
)
from chain.farming.solution import Solution, proof_of_space_size
from chain.kzg import blake3_254_hash_to_scalar
from chain.params import U64_MAX, Params, pieces_to_solution_range

__all__ = [
    "InvalidSolution",
    "InvalidHistorySize",
    "InvalidPieceOffset",
    "InvalidProofOfSpace",
    "OutsideSolutionRange",
    "InvalidChunk",
    "InvalidChunkWitness",
    "SectorExpired",
    "UnknownSegmentCommitment",
    "InvalidRecordWitness",
    "PieceCheckParams",
    "verify_solution",
    "pieces_to_solution_range",
    "derive_next_solution_range",
    "voting_solution_range",
    "is_within_solution_range",
    "calculate_block_fork_weight",
]

#: BLS12-381 scalar field modulus r (a chunk must be a canonical scalar, spec §1).
BLS12_381_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


# --- Errors -------------------------------------------------------------------------------


class InvalidSolution(Exception):
    """A solution failed a check of spec §6 "Node verification"."""


class InvalidHistorySize(InvalidSolution):
    """`history_size > current_history_size + 1` (check 5a), or no expiration can be derived."""


class InvalidPieceOffset(InvalidSolution):
    """`piece_offset >= max_pieces_in_sector` (check 5b)."""


class InvalidProofOfSpace(InvalidSolution):
    """The PoS proof is wrong for the evaluation seed and the audited s-bucket (check 2)."""


class OutsideSolutionRange(InvalidSolution):
    """The audit distance of the encoded chunk exceeds `solution_range / 2` (check 3)."""


class InvalidChunk(InvalidSolution):
    """The chunk is not a canonical BLS12-381 scalar (check 4)."""


class InvalidChunkWitness(InvalidSolution):
    """The chunk does not open the record commitment at the audited s-bucket (check 4)."""


class SectorExpired(InvalidSolution):
    """The sector's expiration history size has been reached (check 5c)."""


class UnknownSegmentCommitment(InvalidSolution):
    """The commitment of the segment holding the piece is not known (check 5d)."""


class InvalidRecordWitness(InvalidSolution):
    """The record commitment does not open the segment commitment at the piece's position
    (check 5d; upstream `InvalidPiece`)."""


def ensure(condition: bool, error: type[InvalidSolution], message: str) -> None:
    if not condition:
        raise error(message)


# --- Verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PieceCheckParams:
    """What block import adds to the stateless checks (`PieceCheckParams`, spec §6 check 5).

    `segment_commitment(segment_index)` returns the commitment of an archived segment, or None
    if it is not known. `max_pieces_in_sector` / `min_sector_lifetime` default to the params.
    """

    current_history_size: int
    segment_commitment: Callable[[int], bytes | None]
    max_pieces_in_sector: int | None = None
    min_sector_lifetime: int | None = None


def verify_solution(
    solution: Solution,
    slot: int,
    pot_output: bytes,
    solution_range: int,
    params: Params,
    kzg,
    piece_check: PieceCheckParams | None = None,
) -> int:
    """`subspace_verification::verify_solution` (spec §6 "Node verification"); returns the
    solution distance. `pot_output` is the slot's 16-byte PoT output."""
    max_pieces = params.max_pieces_in_sector
    if piece_check is not None:
        max_pieces = piece_check.max_pieces_in_sector or max_pieces
        ensure(
            solution.history_size <= piece_check.current_history_size + 1,
            InvalidHistorySize,
            f"history size {solution.history_size} is in the future (current {piece_check.current_history_size})",
        )
        ensure(
            solution.piece_offset < max_pieces,
            InvalidPieceOffset,
            f"piece offset {solution.piece_offset} >= max pieces in sector {max_pieces}",
        )

    # 1. sector id, global challenge, sector slot challenge, s-bucket
    sid = sector_id(public_key_hash(solution.public_key), solution.sector_index, solution.history_size)
    challenge = global_challenge(pot_output, slot)
    ssc = sector_slot_challenge(sid, challenge)
    s_bucket = s_bucket_audit_index(ssc, params)

    # 2. proof of space for the audited s-bucket
    ensure(
        len(solution.proof_of_space) == proof_of_space_size(params)
        and pos.proof_valid_for(params, evaluation_seed(sid, solution.piece_offset), s_bucket, solution.proof_of_space),
        InvalidProofOfSpace,
        f"proof of space is invalid for piece offset {solution.piece_offset}, s-bucket {s_bucket}",
    )

    # 3. the encoded chunk is within the solution range
    masked = bytes(a ^ b for a, b in zip(solution.chunk, proof_mask(solution.proof_of_space)))
    distance = calculate_solution_distance(challenge, masked, ssc)
    ensure(
        distance <= solution_range // 2,
        OutsideSolutionRange,
        f"solution distance {distance} is outside half the solution range {solution_range // 2}",
    )

    # 4. the chunk belongs to the record (KZG, domain NUM_S_BUCKETS, index s-bucket)
    ensure(int.from_bytes(solution.chunk, "big") < BLS12_381_R, InvalidChunk, "chunk is not a canonical scalar")
    ensure(
        _kzg_verify(kzg, solution.record_commitment, params.num_s_buckets, s_bucket, solution.chunk, solution.chunk_witness),
        InvalidChunkWitness,
        f"chunk witness does not open the record commitment at s-bucket {s_bucket}",
    )

    if piece_check is not None:
        # 5c. expiration, when the commitment of the expiration-check segment is known
        lifetime = piece_check.min_sector_lifetime or params.min_sector_lifetime
        check_segment = sector_expiration_check_segment_index(solution.history_size, lifetime)
        check_commitment = piece_check.segment_commitment(check_segment)
        if check_commitment is not None:
            expires = derive_expiration_history_size(sid, solution.history_size, check_commitment, lifetime)
            ensure(expires is not None, InvalidHistorySize, "no expiration can be derived for this history size")
            ensure(
                not is_sector_expired(expires, piece_check.current_history_size),
                SectorExpired,
                f"sector expired at history size {expires} (current {piece_check.current_history_size})",
            )

        # 5d. the record commitment is in the segment commitment (KZG, domain NUM_PIECES)
        index = piece_index(sid, solution.piece_offset, solution.history_size, params.with_(max_pieces_in_sector=max_pieces))
        segment = piece_segment_index(index, params)
        segment_commitment = piece_check.segment_commitment(segment)
        ensure(segment_commitment is not None, UnknownSegmentCommitment, f"segment {segment} commitment is not known")
        position = piece_position(index, params)
        ensure(
            _kzg_verify(
                kzg,
                segment_commitment,
                params.num_pieces,
                position,
                blake3_254_hash_to_scalar(solution.record_commitment),
                solution.record_witness,
            ),
            InvalidRecordWitness,
            f"record witness does not open segment {segment} commitment at position {position}",
        )

    return distance


def _kzg_verify(kzg, commitment: bytes, num_values: int, index: int, value: bytes, witness: bytes) -> bool:
    """KZG verification; chain.kzg returns False (never raises) for malformed points."""
    return bool(kzg.verify(commitment, num_values, index, value, witness))


# --- Solution ranges (spec §7) ------------------------------------------------------------


def derive_next_solution_range(
    start_slot: int,
    current_slot: int,
    slot_probability: tuple[int, int],
    current_solution_range: int,
    era_duration: int,
) -> int:
    """The range for the next era (spec §7 "Era adjustment"; `derive_next_solution_range`):
    `current * era_slot_count * num / era / den` (integer, saturating at u64::MAX), clamped to
    `[current / 4, current * 4]`, where `era_slot_count = current_slot - start_slot`."""
    era_slot_count = current_slot - start_slot
    num, den = slot_probability
    u128_max = (1 << 128) - 1
    product = min(min(current_solution_range * era_slot_count, u128_max) * num, u128_max)
    next_range = min(product // era_duration // den, U64_MAX)
    low, high = current_solution_range // 4, min(current_solution_range * 4, U64_MAX)
    return max(low, min(next_range, high))


def voting_solution_range(solution_range: int, expected_votes_per_block: int) -> int:
    """`solution_range * (EXPECTED_VOTES_PER_BLOCK + 1)`, saturating (spec §7 "Voting range")."""
    return min(solution_range * (expected_votes_per_block + 1), U64_MAX)


def calculate_block_fork_weight(solution_range: int) -> int:
    """`u64::MAX - solution_range` (spec §8 "Fork choice")."""
    return U64_MAX - solution_range
