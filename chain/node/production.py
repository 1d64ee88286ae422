"""Block production rules (spec/consensus.md §8 "Slot worker", "claim_slot", "Header").

Pure helpers; `ConsensusNode.produce_block` does the I/O (PoT chain, farmer, runtime, store).

* `slot_to_claim`: on PoT slot t the node claims t − BLOCK_AUTHORING_DELAY.
* `can_claim_slot`: the slot must be after the parent's.
* `justification_slots`: the PoT checkpoints of slots parent_future_slot + 1 ..= slot + delay.
* `first_solution_in_range`: the first solution with distance ≤ range/2 is the pre-digest.
* `author_timestamp`: the time the author puts in the block's `Timestamp.set` inherent.
* `block_context`: what the runtime learns of the block from its header and timestamp.
* `assemble_block`: header (pre-digest, the runtime's consensus logs), extrinsics root, seal.
"""

from __future__ import annotations

from typing import Sequence

from chain import pot
from chain.block import (
    Block,
    Header,
    PotCheckpointsJustification,
    PreDigest,
    SignedBlock,
    extrinsics_root,
    make_digest,
    seal_header,
)
from chain.farming.solution import Solution
from chain.node.pot_worker import PotSlot
from chain.params import Params
from chain.runtime.pallet import BlockContext


def slot_to_claim(pot_slot: int, params: Params) -> int:
    """When the PoT of slot t arrives the node claims slot t − BLOCK_AUTHORING_DELAY (spec §8
    "Slot worker"), so a farmer has `delay` slots to prove."""
    return pot_slot - params.block_authoring_delay


def can_claim_slot(slot: int, parent_slot: int) -> bool:
    """`claim_slot`: the slot must be greater than the parent's slot (spec §8)."""
    return slot > parent_slot


def first_solution_in_range(solutions: Sequence[tuple[int, Solution]], solution_range: int) -> tuple[int, Solution] | None:
    """The first solution (farmer order: by distance) with `distance ≤ solution_range / 2`
    becomes the pre-digest (spec §8 "claim_slot"); others could become votes."""
    for distance, solution in solutions:
        if distance <= solution_range // 2:
            return distance, solution
    return None


def justification_of(slots: Sequence[PotSlot]) -> PotCheckpointsJustification:
    """`SubspaceJustification::PotCheckpoints{seed, checkpoints}` over consecutive slots: the
    seed of the first slot and the checkpoints of each (spec §8 "claim_slot")."""
    return PotCheckpointsJustification(slots[0].seed, tuple(s.checkpoints for s in slots))


def author_timestamp(parent_timestamp_ms: int, wall_clock_ms: int) -> int:
    """The block's time in ms, as its author sets it with the `Timestamp.set` inherent (Substrate's
    timestamp inherent, which the live chain uses): the author's wall clock, and always after
    the parent's time (the runtime refuses a time that does not increase). So block times, and
    the EVM domain's `block.timestamp` derived from them, follow real time, also after a node
    was stopped for a while; importers check the time is not too far ahead of their own clock
    (`chain.node.import_checks.check_timestamp_not_in_future`)."""
    return max(int(wall_clock_ms), parent_timestamp_ms + 1)


def block_context(number: int, parent_hash: bytes, pre_digest: PreDigest, timestamp_ms: int) -> BlockContext:
    """What the runtime knows of a block, from its header and its timestamp inherent
    (chain.runtime.pallet.BlockContext)."""
    solution = pre_digest.solution
    return BlockContext(
        number=number,
        parent_hash=parent_hash,
        slot=pre_digest.slot,
        timestamp=timestamp_ms,
        farmer_public_key=solution.public_key,
        reward_address=solution.reward_address,
        solution_chunk=solution.chunk,
        pot_output=pre_digest.proof_of_time,
        randomness=pot.global_randomness(pre_digest.proof_of_time),
    )


def assemble_block(
    parent_hash: bytes,
    number: int,
    state_root: bytes,
    pre_digest: PreDigest,
    consensus_logs: Sequence,
    extrinsics: Sequence[bytes],
    justification: PotCheckpointsJustification,
    signer,
) -> SignedBlock:
    """Header = pre-digest then the runtime's consensus logs (spec §8 "Header"), the extrinsics
    root, sealed by the farmer's key over the pre-seal hash; with the PoT justification."""
    header = Header(
        parent_hash=parent_hash,
        number=number,
        state_root=state_root,
        extrinsics_root=extrinsics_root(extrinsics),
        digest=make_digest(pre_digest, consensus_logs),
    )
    return SignedBlock(Block(seal_header(header, signer), tuple(extrinsics)), justification)
