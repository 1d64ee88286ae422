"""Fork choice (spec/consensus.md §8 "Fork choice"): pure rules over block weights and routes.

* A block weighs `calculate_block_fork_weight(solution_range)` = u64::MAX − solution_range;
  a chain weighs the sum over its blocks (genesis weighs 0).
* The best chain switches only if the new total is strictly greater (ties keep the first seen).
* On a switch the canonical number → hash index follows the tree route between the old and
  the new best block (`tree_route`): retracted heights are rewritten or removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from chain.verification import calculate_block_fork_weight


def block_fork_weight(solution_range: int) -> int:
    """The weight of one block: `u64::MAX − solution_range` (spec §8 "Fork choice")."""
    return calculate_block_fork_weight(solution_range)


def cumulative_weight(parent_total: int, solution_range: int) -> int:
    """A chain's weight is the sum of its blocks' weights (spec §8 "Fork choice")."""
    return parent_total + block_fork_weight(solution_range)


def is_new_best(total_weight: int, best_total_weight: int) -> bool:
    """Switch the best chain only if `total > best_total`: ties keep the first seen (spec §8)."""
    return total_weight > best_total_weight


@dataclass(frozen=True)
class TreeRoute:
    """The route from an old best block to a new one: down to the common ancestor, then up."""

    common: bytes
    common_number: int
    retracted: list[tuple[int, bytes]]  # (number, hash) of old-chain blocks, highest first
    enacted: list[tuple[int, bytes]]  # (number, hash) of new-chain blocks, lowest first


def tree_route(
    from_hash: bytes,
    to_hash: bytes,
    number_of: Callable[[bytes], int],
    parent_of: Callable[[bytes], bytes],
) -> TreeRoute:
    """Walk both blocks back to their common ancestor (the usual Substrate `tree_route`)."""
    a, b = from_hash, to_hash
    na, nb = number_of(a), number_of(b)
    retracted, enacted = [], []
    while na > nb:
        retracted.append((na, a))
        a, na = parent_of(a), na - 1
    while nb > na:
        enacted.append((nb, b))
        b, nb = parent_of(b), nb - 1
    while a != b:
        retracted.append((na, a))
        enacted.append((nb, b))
        a, na = parent_of(a), na - 1
        b, nb = parent_of(b), nb - 1
    enacted.reverse()
    return TreeRoute(a, na, retracted, enacted)
