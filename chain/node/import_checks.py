"""The checks of block import (spec/consensus.md §8 "PoT checks at import", "claim_slot",
"Segment headers in blocks", "Fork choice"; §6 "Node verification"; §7 "Header logs").

Each rule is one pure function named for it; it raises the `chain.block.InvalidBlock` subclass
for its failure, with a message naming the block (`label` = number and hash) and the check.
`chain.node.importer` calls them in order and does the I/O (parent lookups, execution, store).
"""

from __future__ import annotations

from typing import Callable, Sequence

from chain import pot
from chain.archiving import SegmentHeader
from chain.block import (
    FutureSlot,
    InvalidPotJustification,
    InvalidPotSeed,
    InvalidSolutionForSlot,
    PotCheckpointsJustification,
    PreDigest,
    SegmentCommitment,
    SlotNotIncreasing,
    SolutionOutOfRange,
    SolutionRange,
    TimestampInFuture,
    WrongConsensusLogs,
    WrongSegmentHeaders,
    WrongStateRoot,
    short_hex,
)
from chain.node.pot_worker import PotParameters, PotSlot, next_slot_input
from chain.params import Params
from chain.verification import InvalidSolution, OutsideSolutionRange, PieceCheckParams, verify_solution


class WrongSolutionRange(WrongConsensusLogs):
    """The header's SolutionRange log is not the parent's next ?? current range (spec §7
    "Header logs")."""


# --- slots (spec §8 "claim_slot") ---------------------------------------------------------


def check_slot_increasing(slot: int, parent_slot: int, label: dict) -> None:
    """The block's slot must be greater than its parent's (spec §8 "claim_slot")."""
    if slot <= parent_slot:
        raise SlotNotIncreasing(f"slot {slot} is not greater than the parent's slot {parent_slot}", **label)


def check_slot_not_in_future(slot: int, current_pot_slot: int, params: Params, label: dict) -> None:
    """The block's slot may be at most the node's current PoT slot + `pot_max_slots_in_the_future`
    (spec §2 "Gossip" MAX_SLOTS_IN_THE_FUTURE; §8)."""
    limit = current_pot_slot + params.pot_max_slots_in_the_future
    if slot > limit:
        raise FutureSlot(
            f"slot {slot} is beyond the current PoT slot {current_pot_slot} + "
            f"{params.pot_max_slots_in_the_future} slots in the future",
            **label,
        )


#: How far ahead of the importer's clock a block's time may be: 30 s, the drift Substrate-style
#: runtimes allow their timestamp inherent (e.g. `MaxTimestampDriftMillis` in gosemble).
MAX_TIMESTAMP_DRIFT_MS = 30_000


def check_timestamp_not_in_future(timestamp_ms: int | None, wall_clock_ms: int, label: dict) -> None:
    """The block's `Timestamp.set` time may be at most `MAX_TIMESTAMP_DRIFT_MS` after the
    importer's clock (the timestamp inherent check: `TooFarInFuture`). A block without a
    readable time is left to the runtime, which refuses it (`MissingInherent`)."""
    if timestamp_ms is not None and timestamp_ms > wall_clock_ms + MAX_TIMESTAMP_DRIFT_MS:
        raise TimestampInFuture(
            f"timestamp {timestamp_ms} ms is {timestamp_ms - wall_clock_ms} ms ahead of this node's clock "
            f"(at most {MAX_TIMESTAMP_DRIFT_MS} ms)",
            **label,
        )


# --- PoT (spec §8 "PoT checks at import") -------------------------------------------------


def parent_future_slot(parent_number: int, parent_slot: int, params: Params) -> int:
    """The last slot the parent's justification covers: parent slot + authoring delay, or 0 for
    genesis (block 1's justification starts at slot 1, spec §8 "PoT checks at import")."""
    return 0 if parent_number == 0 else parent_slot + params.block_authoring_delay


def expected_justification_input(
    parent_number: int,
    parent_future: int,
    parent_future_proof_of_time: bytes | None,
    genesis_input: pot.PotNextSlotInput,
    pot_params: PotParameters,
) -> pot.PotNextSlotInput:
    """The input of the first justified slot: `derive(parent_future_slot,
    parent.future_proof_of_time, change)`, or the genesis seed for block 1 (spec §8)."""
    if parent_number == 0:
        return next_slot_input(None, genesis_input, pot_params)
    return pot.derive_next_slot_input(
        pot_params.slot_iterations, parent_future, parent_future_proof_of_time, pot_params.next_change
    )


def check_pot_seed(justification: PotCheckpointsJustification, expected: pot.PotNextSlotInput, label: dict) -> None:
    """The justification seed must equal the derived seed of the first slot it covers (spec §8)."""
    if justification.seed != expected.seed:
        raise InvalidPotSeed(
            f"justification seed {short_hex(justification.seed)} is not the seed {short_hex(expected.seed)} "
            f"derived for slot {expected.slot} from the parent's future PoT",
            **label,
        )


def check_checkpoint_count(
    justification: PotCheckpointsJustification, slot: int, parent_future: int, params: Params, label: dict
) -> None:
    """The justification has `slot + delay − parent_future_slot` slots of checkpoints
    (block 1: `slot + delay`) (spec §8 "PoT checks at import")."""
    expected = slot + params.block_authoring_delay - parent_future
    if len(justification.checkpoints) != expected:
        raise InvalidPotJustification(
            f"justification has {len(justification.checkpoints)} slots of checkpoints, expected "
            f"{expected} (slots {parent_future + 1}..={slot + params.block_authoring_delay})",
            **label,
        )


def check_future_proof_of_time(justification: PotCheckpointsJustification, pre_digest: PreDigest, label: dict) -> None:
    """The last checkpoint must equal the pre-digest's `future_proof_of_time` (spec §8)."""
    last = justification.checkpoints[-1][-1] if justification.checkpoints else None
    if last != pre_digest.future_proof_of_time:
        raise InvalidPotJustification(
            f"last checkpoint {short_hex(last)} is not the future proof of time "
            f"{short_hex(pre_digest.future_proof_of_time)}",
            **label,
        )


def verify_justification_checkpoints(
    justification: PotCheckpointsJustification,
    first_input: pot.PotNextSlotInput,
    genesis_input: pot.PotNextSlotInput,
    pot_params: PotParameters,
    label: dict,
    known: Callable[[int], PotSlot | None] = lambda slot: None,
) -> list[PotSlot]:
    """Every checkpoint set proves its slot from the previous slot's output, with any parameter
    change applied (`chain.pot.verify`, spec §2 "Verify", §8 "PoT checks at import"). Slots
    the node already holds with identical checkpoints are not verified again (upstream's
    verifier cache). Returns the verified slots."""
    out: list[PotSlot] = []
    slot_input = first_input
    for checkpoints in justification.checkpoints:
        entry = PotSlot(slot_input.slot, slot_input.seed, slot_input.slot_iterations, tuple(checkpoints))
        if known(entry.slot) != entry and not pot.verify(entry.seed, entry.slot_iterations, entry.checkpoints):
            raise InvalidPotJustification(
                f"checkpoints of slot {entry.slot} do not prove {entry.slot_iterations} iterations "
                f"from seed {short_hex(entry.seed)}",
                **label,
            )
        out.append(entry)
        slot_input = next_slot_input(entry, genesis_input, pot_params)
    return out


def check_proof_of_time(pre_digest: PreDigest, slot_output: bytes | None, label: dict) -> None:
    """The pre-digest's `proof_of_time` is the PoT output (last checkpoint) of its slot (spec §8)."""
    if slot_output is None or pre_digest.proof_of_time != slot_output:
        raise InvalidPotJustification(
            f"proof of time {short_hex(pre_digest.proof_of_time)} is not the PoT output "
            f"{short_hex(slot_output)} of slot {pre_digest.slot}",
            **label,
        )


# --- solution (spec §6, §7) ---------------------------------------------------------------


def expected_solution_range(current: int, next_range: int | None) -> int:
    """A block's solution range is its parent's next range if one was computed, else the
    parent's current range (spec §7 "Header logs": `parent.next ?? parent.current`)."""
    return next_range if next_range is not None else current


def check_solution_range_digest(logs: Sequence, expected: int, label: dict) -> None:
    """The header's SolutionRange log equals the expected range (spec §7 "Header logs")."""
    found = [log.solution_range for log in logs if isinstance(log, SolutionRange)]
    if found != [expected]:
        raise WrongSolutionRange(f"solution range digest {found} is not [{expected}] (parent next ?? current)", **label)


def check_solution(
    pre_digest: PreDigest,
    solution_range: int,
    slot_output: bytes,
    params: Params,
    kzg,
    piece_check: PieceCheckParams,
    label: dict,
) -> int:
    """`verify_solution` for the block's slot with the parent's solution range and piece-check
    parameters (spec §6 "Node verification"); a block needs `distance ≤ range/2` (§6 step 6).
    Returns the distance."""
    try:
        return verify_solution(
            pre_digest.solution, pre_digest.slot, slot_output, solution_range, params, kzg, piece_check
        )
    except OutsideSolutionRange as err:
        raise SolutionOutOfRange(f"solution for slot {pre_digest.slot}: {err}", **label) from None
    except InvalidSolution as err:
        raise InvalidSolutionForSlot(
            f"solution does not verify for slot {pre_digest.slot}: {type(err).__name__}: {err}", **label
        ) from None


# --- segment headers (spec §8 "Segment headers in blocks") --------------------------------


def check_segment_headers(logs: Sequence, expected: Sequence[SegmentHeader], label: dict) -> None:
    """The block's SegmentCommitment logs are exactly the locally archived headers the block
    must carry (spec §8): none missing, none extra, in order."""
    found = [(log.segment_index, bytes(log.segment_commitment)) for log in logs if isinstance(log, SegmentCommitment)]
    wanted = [(h.segment_index, bytes(h.segment_commitment)) for h in expected]
    if found != wanted:
        missing = [i for i, c in wanted if (i, c) not in found]
        extra = [i for i, c in found if (i, c) not in wanted]
        raise WrongSegmentHeaders(
            f"segment headers {[i for i, _ in found]} but the local archive expects {[i for i, _ in wanted]} "
            f"(missing {missing}, extra or wrong {extra})",
            **label,
        )


# --- execution results (spec §8) ----------------------------------------------------------


def check_state_root(header_root: bytes, executed_root: bytes, label: dict) -> None:
    """Executing the block must give the header's state root."""
    if header_root != executed_root:
        raise WrongStateRoot(
            f"state root {short_hex(header_root)} but execution gives {short_hex(executed_root)}", **label
        )


def check_consensus_logs(header_logs: Sequence, runtime_logs: Sequence, label: dict) -> None:
    """The header's consensus logs are exactly those the runtime emitted, in order (spec §8)."""
    if list(header_logs) != list(runtime_logs):
        raise WrongConsensusLogs(
            f"header consensus logs {list(header_logs)!r:.300} differ from the runtime's {list(runtime_logs)!r:.300}",
            **label,
        )
