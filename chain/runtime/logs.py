"""The consensus log classes the runtime deposits in the header digest (spec/consensus.md §8
"Header": `ConsensusLog` indices 0..6).

They are defined with their encoding in `chain.block`; this module re-exports them so that the
runtime's pallets have one place to import from.
"""

from __future__ import annotations

from chain.block import (
    EnableSolutionRangeAdjustmentAndOverride,
    NextSolutionRange,
    PotParametersChange,
    PotSlotIterations,
    RootPlotPublicKeyUpdate,
    SegmentCommitment,
    SolutionRange,
)

__all__ = [
    "PotSlotIterations",
    "SolutionRange",
    "PotParametersChange",
    "NextSolutionRange",
    "SegmentCommitment",
    "EnableSolutionRangeAdjustmentAndOverride",
    "RootPlotPublicKeyUpdate",
]
