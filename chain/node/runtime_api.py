"""The node's calls into the consensus runtime (`chain.runtime.Runtime`), in one place.

The runtime reads the trie db it is given and returns the trie nodes a block created (its
write buffer); the node puts them into the block's durable batch. These helpers normalise the
runtime's answers (solution ranges, PoT parameters) into the node's own small types, so that
the import and production code reads like the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from chain.node.pot_worker import PotParameters, to_pot_change
from chain.verification import voting_solution_range


@dataclass(frozen=True)
class Ranges:
    """The parent state's solution ranges (spec §7), with None for "no next range"."""

    current: int
    next: int | None
    voting_current: int
    voting_next: int | None

    @property
    def block_range(self) -> int:
        """The range of the next block: `next ?? current` (spec §7 "Header logs")."""
        return self.next if self.next is not None else self.current

    @property
    def voting_range(self) -> int:
        return self.voting_next if self.voting_next is not None else self.voting_current


def new_nodes_of(outcome: Any, db: Any) -> dict[bytes, bytes]:
    """The trie nodes a runtime call created: the outcome's write buffer if it reports one,
    else whatever the call wrote into `db`'s overlay."""
    for name in ("new_nodes", "nodes", "trie_nodes"):
        nodes = getattr(outcome, name, None)
        if nodes is not None:
            return dict(nodes)
    return dict(getattr(db, "overlay", {}))


def solution_ranges(runtime, db, root: bytes, params) -> Ranges:
    r = runtime.solution_ranges(db, root)
    current = int(r.current)
    nxt = getattr(r, "next", None)
    voting_current = getattr(r, "voting_current", None)
    if voting_current is None:
        voting_current = voting_solution_range(current, params.expected_votes_per_block)
    return Ranges(current, None if nxt is None else int(nxt), int(voting_current),
                  None if getattr(r, "voting_next", None) is None else int(r.voting_next))


def pot_parameters(runtime, db, root: bytes) -> PotParameters:
    value = runtime.pot_parameters(db, root)
    if isinstance(value, tuple):
        iterations, change = value
    else:
        iterations, change = value.slot_iterations, getattr(value, "next_change", None)
    return PotParameters(int(iterations), to_pot_change(change))


def history_size(runtime, db, root: bytes) -> int:
    return max(1, int(runtime.history_size(db, root)))


def execute_block(runtime, db, parent_root: bytes, ctx, extrinsics: Sequence[bytes]):
    return runtime.execute_block(db, parent_root, ctx, list(extrinsics))
