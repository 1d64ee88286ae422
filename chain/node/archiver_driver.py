"""Archiver driver rules (spec/consensus.md §4 "Input", §8 "Segment headers in blocks").

* Blocks are archived once they are K = `confirmation_depth_k` deep on the best chain: when
  block N becomes best, every canonical block up to N − K not yet archived is added
  (`blocks_to_archive`). Genesis is archived (padded) when the node is created.
* Block N carries exactly the headers of the segments whose last archived block is
  N − 1 − K (several when a block spans segments); block 1 carries segment 0
  (`segment_headers_for_block`, upstream `SegmentHeadersStore::segment_headers_for_block`).
* Archiving is final: a block whose branch leaves the best chain at or below the archived
  height is rejected (`ForkBelowArchivedHeight`; upstream rejects blocks below best − K), so a
  reorg never has to un-archive anything.
"""

from __future__ import annotations

from typing import Sequence

from chain.archiving import SegmentHeader
from chain.block import InvalidBlock


class ForkBelowArchivedHeight(InvalidBlock):
    """The block's branch forks off the best chain at or below the archived height (spec §8
    "Fork choice": blocks below best − K are rejected; the archive cannot be reorganised)."""


def blocks_to_archive(archived_to: int, best_number: int, confirmation_depth_k: int) -> range:
    """Heights to archive when the best block is `best_number`: archived_to+1 ..= best − K
    (spec §4 "Input": blocks are archived once K deep)."""
    return range(archived_to + 1, best_number - confirmation_depth_k + 1)


def segment_headers_for_block(
    number: int, headers: Sequence[SegmentHeader], confirmation_depth_k: int
) -> list[SegmentHeader]:
    """The segment headers block `number` must include (spec §8 "Segment headers in blocks").

    Block 1 carries segment 0 (the genesis segment). Otherwise the segments (other than
    segment 0) whose `last_archived_block.number + 1 + K == number`, in index order.
    """
    if not headers:
        return []
    if number == 1:
        return [headers[0]]
    return [
        h
        for h in headers[1:]
        if h.last_archived_block.number + 1 + confirmation_depth_k == number
    ]


def check_fork_above_archived_height(
    ancestor_hash_at_archived: bytes | None, canonical_hash_at_archived: bytes | None, archived_to: int, label: dict
) -> None:
    """A block's ancestor at the archived height must be the canonical block there (spec §8
    "Fork choice": deep forks are rejected; archived history is final)."""
    if ancestor_hash_at_archived != canonical_hash_at_archived:
        raise ForkBelowArchivedHeight(
            f"its branch leaves the best chain at or below the archived height {archived_to}", **label
        )
