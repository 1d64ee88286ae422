"""The consensus log classes the runtime deposits in the header digest (spec/consensus.md §8
"Header": `ConsensusLog` indices 0..6).

They are defined in `chain.block` (owned by the block format); this module re-exports them so
that the runtime's pallets have one place to import from. If `chain.block` is not importable
(it is written in parallel), equivalent frozen dataclasses with the same names and fields are
used instead, so that the runtime and its tests still run.
"""

from __future__ import annotations

from dataclasses import dataclass

try:  # pragma: no cover - depends on chain/block.py being present
    from chain.block import (  # type: ignore[attr-defined]
        EnableSolutionRangeAdjustmentAndOverride,
        NextSolutionRange,
        PotParametersChange,
        PotSlotIterations,
        RootPlotPublicKeyUpdate,
        SegmentCommitment,
        SolutionRange,
    )

    FROM_CHAIN_BLOCK = True
except Exception:  # noqa: BLE001 - any import failure falls back to local definitions
    FROM_CHAIN_BLOCK = False

    @dataclass(frozen=True)
    class PotSlotIterations:  # type: ignore[no-redef]
        """ConsensusLog 0: the PoT slot iterations in force after the parent block."""

        slot_iterations: int

    @dataclass(frozen=True)
    class SolutionRange:  # type: ignore[no-redef]
        """ConsensusLog 1: the solution range of this block."""

        solution_range: int

    @dataclass(frozen=True)
    class PotParametersChange:  # type: ignore[no-redef]
        """ConsensusLog 2: the next PoT parameters change (spec §2)."""

        slot: int
        slot_iterations: int
        entropy: bytes

    @dataclass(frozen=True)
    class NextSolutionRange:  # type: ignore[no-redef]
        """ConsensusLog 3: the solution range of the next block, when computed here."""

        solution_range: int

    @dataclass(frozen=True)
    class SegmentCommitment:  # type: ignore[no-redef]
        """ConsensusLog 4: a segment commitment stored by this block."""

        segment_index: int
        segment_commitment: bytes

    @dataclass(frozen=True)
    class EnableSolutionRangeAdjustmentAndOverride:  # type: ignore[no-redef]
        """ConsensusLog 5: solution range adjustment enabled, with an optional override."""

        solution_range: int | None

    @dataclass(frozen=True)
    class RootPlotPublicKeyUpdate:  # type: ignore[no-redef]
        """ConsensusLog 6: the root plot public key changed (unused by this runtime)."""

        public_key: bytes | None


__all__ = [
    "PotSlotIterations",
    "SolutionRange",
    "PotParametersChange",
    "NextSolutionRange",
    "SegmentCommitment",
    "EnableSolutionRangeAdjustmentAndOverride",
    "RootPlotPublicKeyUpdate",
    "FROM_CHAIN_BLOCK",
]
