"""Solution verification (spec/consensus.md §6 "Node verification") and the solution-range
arithmetic (§7, vectors C1). Solutions come from the DEV sector of tests/test_farming.py."""

from __future__ import annotations

import pytest

from chain import farming
from chain.params import MAINNET, U64_MAX, pieces_to_solution_range
from tests.test_farming import dev_farm, vector

verification = pytest.importorskip("chain.verification")
from chain.verification import (  # noqa: E402
    InvalidChunkWitness,
    InvalidHistorySize,
    InvalidPieceOffset,
    InvalidProofOfSpace,
    InvalidRecordWitness,
    InvalidSolution,
    OutsideSolutionRange,
    PieceCheckParams,
    SectorExpired,
    UnknownSegmentCommitment,
    derive_next_solution_range,
    verify_solution,
    voting_solution_range,
)

# --- C1: solution ranges --------------------------------------------------------------------


def test_initial_solution_range_vector():
    expected = int(vector(r"^mainnet INITIAL_SOLUTION_RANGE"))
    assert verification.pieces_to_solution_range is pieces_to_solution_range
    assert pieces_to_solution_range(1000, (1, 6), MAINNET.num_chunks) == expected
    assert MAINNET.initial_solution_range == expected == 6_148_914_691_236_495


def test_voting_range_vector():
    expected = int(vector(r"^initial voting range"))
    assert voting_solution_range(MAINNET.initial_solution_range, MAINNET.expected_votes_per_block) == expected
    assert voting_solution_range(U64_MAX, 9) == U64_MAX


def test_next_solution_range_vectors():
    assert derive_next_solution_range(0, 12096, (1, 6), 1_000_000, 2016) == int(vector(r"cur=12096").split()[0])
    assert derive_next_solution_range(0, 6048, (1, 6), 1_000_000, 2016) == int(vector(r"cur=6048").split()[0])
    # clamps to [current/4, current*4]
    assert derive_next_solution_range(0, 1, (1, 6), 1_000_000, 2016) == 250_000
    assert derive_next_solution_range(0, 10**9, (1, 6), 1_000_000, 2016) == 4_000_000
    assert derive_next_solution_range(0, 10**9, (1, 6), U64_MAX, 2016) == U64_MAX


# --- Verification of DEV solutions ----------------------------------------------------------


@pytest.fixture(scope="module")
def case():
    """A valid DEV solution with its slot, PoT output and piece-check parameters."""
    for module in ("chain.pos", "chain.kzg", "chain.erasure"):
        pytest.importorskip(module)
    from chain import pot

    farm = dev_farm()
    p = farm.params
    output = pot.prove(b"\2" * 16, 1024)[-1]
    pkh = farming.public_key_hash(farm.public_key)
    for slot in range(1, 200):
        challenge = farming.global_challenge(output, slot)
        result = farming.audit_sector(pkh, challenge, U64_MAX, farm.sector_path, farm.metadata, p)
        solutions = list(
            farming.prove_audit(result, farm.public_key, farm.reward_address, farm.sector_path, farm.metadata, farm.kzg, p)
        ) if result else []
        if len(solutions) >= 2:
            break
    solution = solutions[0]
    piece_check = PieceCheckParams(farm.history_size, farm.segment_commitments.get)
    distance = verify_solution(solution, slot, output, U64_MAX, p, farm.kzg, piece_check)
    return farm, solution, solutions[1], slot, output, piece_check, distance


def run(case, solution, solution_range=U64_MAX, piece_check=None):
    farm, _, _, slot, output, default_check, _ = case
    return verify_solution(solution, slot, output, solution_range, farm.params, farm.kzg, piece_check or default_check)


def flip_bit(data: bytes, bit: int = 0) -> bytes:
    return data[:-1] + bytes([data[-1] ^ (1 << bit)])


def test_valid_solution_and_its_distance(case):
    farm, solution, _, slot, output, piece_check, distance = case
    assert run(case, solution) == distance
    # a range just wide enough accepts, one notch narrower rejects
    assert run(case, solution, solution_range=2 * distance) == distance
    with pytest.raises(OutsideSolutionRange):
        run(case, solution, solution_range=2 * distance - 2)
    # without piece checks (stateless verifier) too
    assert verify_solution(solution, slot, output, U64_MAX, farm.params, farm.kzg) == distance


def test_wrong_slot_is_rejected(case):
    farm, solution, _, slot, output, piece_check, _ = case
    with pytest.raises(InvalidSolution):
        verify_solution(solution, slot + 1, output, U64_MAX, farm.params, farm.kzg, piece_check)


def test_each_altered_field_fails_its_own_check(case):
    """Each field of the solution altered in turn is rejected by the check that covers it."""
    farm, solution, other, *_ = case
    p = farm.params
    from chain import pos

    sid = farming.sector_id(farming.public_key_hash(solution.public_key), solution.sector_index, solution.history_size)
    s_bucket = farming.s_bucket_audit_index(farming.sector_slot_challenge(sid, farming.global_challenge(case[4], case[3])), p)
    table = pos.table_for(p, farming.evaluation_seed(sid, solution.piece_offset))
    next_challenge = next(c for c in range(s_bucket + 1, s_bucket + 200) if table.find_proof(c) is not None)
    cases = [
        # sector id changes -> seed and s-bucket change: the proof no longer verifies
        ("public_key", solution.with_(public_key=flip_bit(solution.public_key)), InvalidProofOfSpace),
        ("sector_index", solution.with_(sector_index=solution.sector_index + 1), InvalidProofOfSpace),
        ("history_size", solution.with_(history_size=solution.history_size + 1), InvalidProofOfSpace),
        ("history_size (future)", solution.with_(history_size=farm.history_size + 2), InvalidHistorySize),
        ("piece_offset", solution.with_(piece_offset=(solution.piece_offset + 1) % p.max_pieces_in_sector), InvalidProofOfSpace),
        ("piece_offset (bound)", solution.with_(piece_offset=p.max_pieces_in_sector), InvalidPieceOffset),
        ("record_commitment", solution.with_(record_commitment=other.record_commitment), InvalidChunkWitness),
        ("record_witness", solution.with_(record_witness=other.chunk_witness), InvalidRecordWitness),
        ("chunk", solution.with_(chunk=flip_bit(solution.chunk)), InvalidChunkWitness),
        ("chunk_witness", solution.with_(chunk_witness=other.chunk_witness), InvalidChunkWitness),
        ("proof_of_space", solution.with_(proof_of_space=table.find_proof(next_challenge)), InvalidProofOfSpace),
    ]
    if other.record_commitment == solution.record_commitment:  # same record: use another witness
        cases[6] = ("record_commitment", solution.with_(record_commitment=solution.chunk_witness), InvalidChunkWitness)
    for name, altered, error in cases:
        with pytest.raises(error):
            run(case, altered)
        assert issubclass(error, InvalidSolution), name


def test_altered_chunk_leaves_the_solution_range(case):
    """With a range just wide enough for the original, one-bit changes of the chunk move the
    masked chunk's distance out of range (checked before the chunk witness)."""
    _, solution, _, _, _, _, distance = case
    errors = []
    for bit in range(8):
        with pytest.raises((OutsideSolutionRange, InvalidChunkWitness)) as info:
            run(case, solution.with_(chunk=flip_bit(solution.chunk, bit)), solution_range=2 * distance + 1)
        errors.append(info.type)
    assert OutsideSolutionRange in errors


def test_expired_sector(case):
    farm, solution, *_ = case
    h = solution.history_size
    far_future = 4 + 4 * h  # the latest possible expiration is reached
    lookup = lambda i: farm.segment_commitments.get(i, b"\x11" * 48)  # noqa: E731
    with pytest.raises(SectorExpired):
        run(case, solution, piece_check=PieceCheckParams(far_future, lookup))
    # not yet expired just after plotting
    assert run(case, solution, piece_check=PieceCheckParams(h, lookup)) >= 0


def test_unknown_segment_commitment(case):
    _, solution, *_ = case
    with pytest.raises(UnknownSegmentCommitment):
        run(case, solution, piece_check=PieceCheckParams(solution.history_size, lambda i: None))


def test_wrong_segment_commitment(case):
    farm, solution, *_ = case
    wrong = {i: farm.segment_commitments[(i + 1) % len(farm.segment_commitments)] for i in farm.segment_commitments}
    if len(set(wrong.values())) > 1:
        with pytest.raises(InvalidRecordWitness):
            run(case, solution, piece_check=PieceCheckParams(solution.history_size, wrong.get))


def test_solution_roundtrips_through_scale(case):
    farm, solution, *_ = case
    decoded = farming.Solution.decode(solution.encode(), farm.params)
    assert decoded == solution
    assert run(case, decoded) == case[6]
