"""Subspace pallet (index 2): solution ranges and eras (spec §7), PoT parameters and entropy
injection (spec §2), segment commitments and history size (spec §8).

Storage (pallet "Subspace"; integers little-endian):

* `SolutionRanges`: `current u64 ‖ next Option<u64> ‖ voting_current u64 ‖ voting_next Option<u64>`.
* `ShouldAdjustSolutionRange`: bool.
* `EraStartSlot`: u64 (absent until the first era change: the first era starts at slot 0).
* `GenesisSlot`: u64, the slot of block 1. `CurrentSlot`: u64, the slot of the latest block.
* `PotSlotIterations`: `slot_iterations u32 ‖ Option<(slot_iterations u32, target_slot Option<u64>)>`
  (the count in force and a requested update, `chain.pot.PotSlotIterations`).
* `PotEntropy`: `Vec<(block u32, target_slot Option<u64>, entropy [u8; 32])>`, sorted by block.
* `SegmentCommitment` ‖ segment_index u64: [u8; 48]. `SegmentCount`: u64 (segments stored).

Consensus logs this pallet deposits, in this order within a header:
`SolutionRange` (every block, `on_initialize`), `PotSlotIterations` (every block),
`PotParametersChange` (when the block's entropy source has an entry), `SegmentCommitment` per
stored segment header and `EnableSolutionRangeAdjustmentAndOverride` (from the extrinsics, in
extrinsic order), `NextSolutionRange` (in `on_finalize`, when this block computed one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain import pot, scale
from chain.archiving import InvalidSegmentHeader, SegmentHeader
from chain.params import U64_MAX, Params
from chain.runtime import logs, values
from chain.runtime.errors import InvalidBlockContext, UnknownCall
from chain.runtime.extrinsics import SUBSPACE_INDEX
from chain.runtime.pallet import BlockContext, DispatchError, Origin
from chain.verification import derive_next_solution_range, voting_solution_range

NAME = "Subspace"
STORE_SEGMENT_HEADERS = 0
ENABLE_SOLUTION_RANGE_ADJUSTMENT = 1
SET_POT_SLOT_ITERATIONS = 5
U32_MAX = (1 << 32) - 1


# --- Solution ranges (spec §7) --------------------------------------------------------------


@dataclass(frozen=True)
class SolutionRanges:
    """`SolutionRanges{current, next, voting_current, voting_next}` (spec §7)."""

    current: int
    next: int | None = None
    voting_current: int = 0
    voting_next: int | None = None

    def for_next_block(self) -> tuple[int, int]:
        """(block range, voting range) that a child of this state's block is checked against:
        `next ?? current` (spec §7 "Header logs": the new range takes effect one block later)."""
        block = self.next if self.next is not None else self.current
        voting = self.voting_next if self.voting_next is not None else self.voting_current
        return block, voting

    def encode(self) -> bytes:
        return (
            scale.encode_u64(self.current)
            + scale.encode_option(self.next, scale.encode_u64)
            + scale.encode_u64(self.voting_current)
            + scale.encode_option(self.voting_next, scale.encode_u64)
        )

    @classmethod
    def decode(cls, data: bytes) -> SolutionRanges:
        current, at = scale.decode_u64(data, 0, "solution range")
        nxt, at = scale.decode_option(data, at, scale.decode_u64, "next solution range")
        voting, at = scale.decode_u64(data, at, "voting solution range")
        voting_next, at = scale.decode_option(data, at, scale.decode_u64, "next voting solution range")
        scale.ensure_consumed(data, at, "SolutionRanges")
        return cls(current, nxt, voting, voting_next)


def read_solution_ranges(storage) -> SolutionRanges:
    raw = values.get_raw(storage, "SolutionRanges")
    if raw is None:
        raise InvalidBlockContext("state has no Subspace.SolutionRanges (not a genesis-initialised state)")
    return SolutionRanges.decode(raw)


def write_solution_ranges(storage, ranges: SolutionRanges) -> None:
    values.set_raw(storage, "SolutionRanges", ranges.encode())


def genesis_solution_ranges(initial: int, adjustment_enabled: bool, expected_votes_per_block: int) -> SolutionRanges:
    """Spec §7 "Adjustment switch": with adjustment disabled the voting range equals the block
    range (no votes possible); enabled, it is range · (votes + 1)."""
    voting = voting_solution_range(initial, expected_votes_per_block) if adjustment_enabled else initial
    return SolutionRanges(current=initial, voting_current=voting)


def apply_next_solution_range(ranges: SolutionRanges) -> SolutionRanges:
    """Spec §7: a range computed in block N takes effect in block N + 1 (`next` becomes
    `current` at the start of the following block)."""
    return SolutionRanges(
        current=ranges.next if ranges.next is not None else ranges.current,
        next=None,
        voting_current=ranges.voting_next if ranges.voting_next is not None else ranges.voting_current,
        voting_next=None,
    )


def is_era_change(block_number: int, era_duration: int) -> bool:
    """Spec §7 "Era adjustment": the era changes at every block number divisible by the era
    duration (never at genesis)."""
    return block_number > 0 and block_number % era_duration == 0


def next_era_solution_ranges(
    ranges: SolutionRanges, should_adjust: bool, era_start_slot: int, current_slot: int, params: Params
) -> SolutionRanges:
    """Spec §7 "Era adjustment": at an era change the next range is
    `derive_next_solution_range(era_start_slot, current_slot, ...)` (clamped to [current/4,
    current·4]) and the next voting range is it · (votes + 1); with adjustment disabled both
    stay the current block range."""
    if not should_adjust:
        nxt, voting = ranges.current, ranges.current
    else:
        nxt = derive_next_solution_range(
            era_start_slot, current_slot, params.slot_probability, ranges.current, params.era_duration
        )
        voting = voting_solution_range(nxt, params.expected_votes_per_block)
    return SolutionRanges(ranges.current, nxt, ranges.voting_current, voting)


# --- PoT parameters (spec §2) ---------------------------------------------------------------


def encode_pot_slot_iterations(state: pot.PotSlotIterations) -> bytes:
    def update(u: pot.PotSlotIterationsUpdate) -> bytes:
        return scale.encode_u32(u.slot_iterations) + scale.encode_option(u.target_slot, scale.encode_u64)

    return scale.encode_u32(state.slot_iterations) + scale.encode_option(state.update, update)


def decode_pot_slot_iterations(data: bytes) -> pot.PotSlotIterations:
    def update(d, o):
        iterations, o = scale.decode_u32(d, o, "update slot_iterations")
        target, o = scale.decode_option(d, o, scale.decode_u64, "update target_slot")
        return pot.PotSlotIterationsUpdate(iterations, target), o

    iterations, at = scale.decode_u32(data, 0, "slot_iterations")
    upd, at = scale.decode_option(data, at, update, "PotSlotIterations update")
    scale.ensure_consumed(data, at, "PotSlotIterations")
    return pot.PotSlotIterations(iterations, upd)


def read_pot_slot_iterations(storage) -> pot.PotSlotIterations:
    raw = values.get_raw(storage, "PotSlotIterations")
    if raw is None:
        raise InvalidBlockContext("state has no Subspace.PotSlotIterations (not a genesis-initialised state)")
    return decode_pot_slot_iterations(raw)


#: block number -> (target slot or None, entropy)
PotEntropy = dict[int, tuple[int | None, bytes]]


def encode_pot_entropy(entropy: PotEntropy) -> bytes:
    return scale.encode_vec(
        sorted(entropy.items()),
        lambda kv: scale.encode_u32(kv[0]) + scale.encode_option(kv[1][0], scale.encode_u64) + scale.encode_fixed(kv[1][1], 32, "entropy"),
    )


def decode_pot_entropy(data: bytes) -> PotEntropy:
    def entry(d, o):
        block, o = scale.decode_u32(d, o, "entropy block")
        target, o = scale.decode_option(d, o, scale.decode_u64, "entropy target slot")
        value, o = scale.decode_fixed(d, o, 32, "entropy")
        return (block, (target, value)), o

    items, at = scale.decode_vec(data, 0, entry, "PotEntropy")
    scale.ensure_consumed(data, at, "PotEntropy")
    return dict(items)


def read_pot_entropy(storage) -> PotEntropy:
    raw = values.get_raw(storage, "PotEntropy")
    return decode_pot_entropy(raw) if raw else {}


def write_pot_entropy(storage, entropy: PotEntropy) -> None:
    if entropy:
        values.set_raw(storage, "PotEntropy", encode_pot_entropy(entropy))
    else:
        values.delete(storage, "PotEntropy")


def inject_entropy(
    entropy: PotEntropy, state: pot.PotSlotIterations, ctx: BlockContext, params: Params
) -> tuple[PotEntropy, pot.PotSlotIterations]:
    """Spec §2 "Entropy injection" 1-3: an entropy block N stores `derive_pot_entropy(chunk,
    pot_output)` for itself; it sets the target slot (its slot + delay) of block
    N − interval·lookback's entry, if that exists, and schedules any waiting iteration update
    for the same slot."""
    if not pot.is_entropy_block(ctx.number, params):
        return entropy, state
    entropy = dict(entropy)
    entropy[ctx.number] = (None, pot.derive_pot_entropy(ctx.solution_chunk, ctx.pot_output))
    source = pot.entropy_source_block(ctx.number, params)
    if source is not None and source in entropy:
        target = pot.entropy_target_slot(ctx.slot, params)
        entropy[source] = (target, entropy[source][1])
        state = pot.schedule_pot_slot_iterations_update(state, target)
    return entropy, state


def next_pot_parameters_change(
    entropy: PotEntropy, state: pot.PotSlotIterations, block_number: int, params: Params
) -> pot.PotParametersChange | None:
    """Spec §2 "Entropy injection" 4-5: the change announced by block N (and returned by
    `pot_parameters()` at N): the entry of N's source block `floor(N/interval)·interval −
    interval·lookback`, with the iterations in force at its target slot."""
    source = pot.entropy_source_block(block_number, params)
    if source is None or source not in entropy:
        return None
    target, value = entropy[source]
    if target is None:  # cannot happen: the source's target is set when N's entropy block ran
        return None
    return pot.pot_parameters_change(state, target, value)


def prune_pot_entropy(entropy: PotEntropy, current_slot: int) -> PotEntropy:
    """Spec §2 "Entropy injection" 7: the oldest entry is dropped once a block's slot has
    passed its target slot."""
    if not entropy:
        return entropy
    first = min(entropy)
    target = entropy[first][0]
    if target is not None and target < current_slot:
        entropy = dict(entropy)
        del entropy[first]
    return entropy


def as_log(change: pot.PotParametersChange) -> Any:
    return logs.PotParametersChange(slot=change.slot, slot_iterations=change.slot_iterations, entropy=change.entropy)


# --- Segment commitments (spec §8) ----------------------------------------------------------


def segment_count(storage) -> int:
    return values.get_uint(storage, "SegmentCount", 64)


def history_size(storage) -> int:
    """`HistorySize` = number of archived segments stored, at least 1 (spec §1, §8)."""
    return max(1, segment_count(storage))


def segment_commitment(storage, segment_index: int) -> bytes | None:
    return values.get_raw(storage, "SegmentCommitment", scale.encode_u64(segment_index))


def decode_segment_headers(args: bytes) -> list[SegmentHeader]:
    try:
        headers, at = scale.decode_vec(args, 0, SegmentHeader.decode_from, "segment headers")
    except InvalidSegmentHeader as exc:
        raise scale.ScaleError(f"segment headers: {exc}") from exc
    scale.ensure_consumed(args, at, "store_segment_headers args")
    return headers


def store_segment_headers(storage, headers: list[SegmentHeader], commitment_size: int) -> None:
    """Spec §8 "Segment headers in blocks": the inherent stores each header's commitment under
    its segment index, in order (each index must be the next one), and deposits a
    `SegmentCommitment` log for each."""
    if not headers:
        raise DispatchError(NAME, "NoSegmentHeaders", "store_segment_headers needs at least one header")
    count = segment_count(storage)
    for header in headers:
        if header.segment_index != count:
            raise DispatchError(NAME, "SegmentHeaderOutOfOrder", f"segment {header.segment_index} stored when segment {count} is next")
        if len(header.segment_commitment) != commitment_size:
            raise DispatchError(NAME, "BadSegmentCommitment", f"segment {header.segment_index}: commitment of {len(header.segment_commitment)} bytes")
        values.set_raw(storage, "SegmentCommitment", bytes(header.segment_commitment), scale.encode_u64(header.segment_index))
        storage.deposit_log(logs.SegmentCommitment(segment_index=header.segment_index, segment_commitment=bytes(header.segment_commitment)))
        storage.deposit_event("SegmentHeaderStored", segment_index=header.segment_index)
        count += 1
    values.set_uint(storage, "SegmentCount", 64, count)


# --- The pallet -----------------------------------------------------------------------------


def ensure_slot_increases(previous_slot: int, slot: int) -> None:
    """Spec §8 "claim_slot": a block's slot is greater than its parent's."""
    if slot <= previous_slot:
        raise InvalidBlockContext(f"slot {slot} is not after the parent's slot {previous_slot}")


class Subspace:
    """The Subspace pallet (`Pallet` protocol)."""

    name = NAME
    index = SUBSPACE_INDEX
    inherent_calls = (STORE_SEGMENT_HEADERS,)

    def __init__(self, params: Params) -> None:
        self.params = params

    def genesis(self, storage, config: dict[str, Any]) -> None:
        initial = int(config.get("initial_solution_range", self.params.initial_solution_range))
        enabled = bool(config.get("enable_solution_range_adjustment", False))
        iterations = int(config.get("pot_slot_iterations", self.params.pot_iterations))
        pot.check_slot_iterations(iterations)
        if not 0 < initial <= U64_MAX:
            raise ValueError(f"initial solution range {initial} is not a positive u64")
        if iterations > U32_MAX:
            raise ValueError(f"pot slot iterations {iterations} do not fit a u32")
        write_solution_ranges(storage, genesis_solution_ranges(initial, enabled, self.params.expected_votes_per_block))
        values.set_bool(storage, "ShouldAdjustSolutionRange", enabled)
        values.set_uint(storage, "CurrentSlot", 64, 0)
        values.set_raw(storage, "PotSlotIterations", encode_pot_slot_iterations(pot.PotSlotIterations(iterations)))
        values.set_uint(storage, "SegmentCount", 64, 0)

    def on_initialize(self, storage, ctx: BlockContext) -> None:
        self.track_slots(storage, ctx)
        self.update_solution_ranges(storage, ctx)
        self.update_pot_parameters(storage, ctx)

    def track_slots(self, storage, ctx: BlockContext) -> None:
        """The block's slot must increase; block 1 records the genesis slot."""
        ensure_slot_increases(values.get_uint(storage, "CurrentSlot", 64), ctx.slot)
        if ctx.number == 1:
            values.set_uint(storage, "GenesisSlot", 64, ctx.slot)
        values.set_uint(storage, "CurrentSlot", 64, ctx.slot)

    def update_solution_ranges(self, storage, ctx: BlockContext) -> None:
        """Spec §7: apply the parent's next range, log this block's `SolutionRange`, and at an
        era change compute the next ranges (logged as `NextSolutionRange` in on_finalize)."""
        ranges = apply_next_solution_range(read_solution_ranges(storage))
        storage.deposit_log(logs.SolutionRange(solution_range=ranges.current))
        if is_era_change(ctx.number, self.params.era_duration):
            era_start = values.get_uint(storage, "EraStartSlot", 64, default=0)
            should_adjust = values.get_bool(storage, "ShouldAdjustSolutionRange")
            ranges = next_era_solution_ranges(ranges, should_adjust, era_start, ctx.slot, self.params)
            values.set_uint(storage, "EraStartSlot", 64, ctx.slot)
        write_solution_ranges(storage, ranges)

    def update_pot_parameters(self, storage, ctx: BlockContext) -> None:
        """Spec §2: log the iterations in force after the parent (`PotSlotIterations`), apply
        an update whose target slot has come, inject entropy, announce the next
        `PotParametersChange`, prune old entropy."""
        state = read_pot_slot_iterations(storage)
        storage.deposit_log(logs.PotSlotIterations(slot_iterations=state.slot_iterations))
        state = pot.apply_pot_slot_iterations_update(state, ctx.slot)
        entropy, state = inject_entropy(read_pot_entropy(storage), state, ctx, self.params)
        change = next_pot_parameters_change(entropy, state, ctx.number, self.params)
        if change is not None:
            storage.deposit_log(as_log(change))
        write_pot_entropy(storage, prune_pot_entropy(entropy, ctx.slot))
        values.set_raw(storage, "PotSlotIterations", encode_pot_slot_iterations(state))

    def dispatch(self, storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        if call_index == STORE_SEGMENT_HEADERS:
            headers = decode_segment_headers(args)
            if not origin.is_inherent:
                raise DispatchError(NAME, "BadOrigin", "store_segment_headers is an inherent")
            store_segment_headers(storage, headers, self.params.commitment_size)
        elif call_index == ENABLE_SOLUTION_RANGE_ADJUSTMENT:
            block_override, at = scale.decode_option(args, 0, scale.decode_u64, "solution range override")
            voting_override, at = scale.decode_option(args, at, scale.decode_u64, "voting solution range override")
            scale.ensure_consumed(args, at, "enable_solution_range_adjustment args")
            ensure_root(origin, "enable_solution_range_adjustment")
            enable_solution_range_adjustment(storage, ctx, block_override, voting_override, self.params)
        elif call_index == SET_POT_SLOT_ITERATIONS:
            iterations, at = scale.decode_u32(args, 0, "slot_iterations")
            scale.ensure_consumed(args, at, "set_pot_slot_iterations args")
            ensure_root(origin, "set_pot_slot_iterations")
            set_pot_slot_iterations(storage, iterations)
        else:
            raise UnknownCall(f"Subspace has no call {call_index}")

    def on_finalize(self, storage, ctx: BlockContext) -> None:
        ranges = read_solution_ranges(storage)
        if ranges.next is not None:
            storage.deposit_log(logs.NextSolutionRange(solution_range=ranges.next))


def ensure_root(origin: Origin, call: str) -> None:
    if not origin.root:
        raise DispatchError(NAME, "BadOrigin", f"{call} needs the root origin")


def enable_solution_range_adjustment(
    storage, ctx: BlockContext, block_override: int | None, voting_override: int | None, params: Params
) -> None:
    """Spec §7 "Adjustment switch": root turns era adjustment on (once). An override becomes
    the *next* range (and voting range: the override given, else range · (votes + 1)), so it
    takes effect in the following block like every new range, and the era restarts here.
    Deposits `EnableSolutionRangeAdjustmentAndOverride(override)`."""
    if values.get_bool(storage, "ShouldAdjustSolutionRange"):
        raise DispatchError(NAME, "SolutionRangeAdjustmentAlreadyEnabled")
    values.set_bool(storage, "ShouldAdjustSolutionRange", True)
    if block_override is not None:
        voting = voting_override if voting_override is not None else voting_solution_range(block_override, params.expected_votes_per_block)
        ranges = read_solution_ranges(storage)
        write_solution_ranges(storage, SolutionRanges(ranges.current, block_override, ranges.voting_current, voting))
        values.set_uint(storage, "EraStartSlot", 64, ctx.slot)
    storage.deposit_log(logs.EnableSolutionRangeAdjustmentAndOverride(solution_range=block_override))


def set_pot_slot_iterations(storage, slot_iterations: int) -> None:
    """Spec §2 "Changing iterations" (`chain.pot.set_pot_slot_iterations`): a multiple of 16,
    strictly greater than the current count, and no update already scheduled."""
    state = read_pot_slot_iterations(storage)
    try:
        state = pot.set_pot_slot_iterations(state, slot_iterations)
    except pot.PotError as exc:
        raise DispatchError(NAME, type(exc).__name__, str(exc)) from exc
    values.set_raw(storage, "PotSlotIterations", encode_pot_slot_iterations(state))


def pot_parameters(storage, block_number: int, params: Params) -> tuple[int, Any]:
    """The runtime API `pot_parameters()` (spec §2 "Entropy injection" 5): the iterations in
    force and the next change (a `PotParametersChange`, the consensus log class, or None),
    computed as block `block_number` announced it."""
    state = read_pot_slot_iterations(storage)
    change = next_pot_parameters_change(read_pot_entropy(storage), state, block_number, params)
    return state.slot_iterations, (as_log(change) if change is not None else None)
