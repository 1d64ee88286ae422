"""Polling filters: eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter,
eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter.

Semantics (geth's, which web3.py and ape poll against):
- a block filter returns the hashes of blocks committed since the last poll (or install);
- a pending-transaction filter returns the hashes of transactions the pool admitted since;
- a log filter's changes are the matching logs of blocks committed since the last poll (never
  of blocks older than the filter), within its `fromBlock`..`toBlock`; `eth_getFilterLogs`
  runs the whole filter as eth_getLogs would. A `fromBlock` tag other than `earliest` (or no
  `fromBlock`) means the blocks after the head at install: "logs from now on" stays that as
  the head moves; `toBlock` tags follow the head.
- a filter not polled for `timeout` seconds is removed; asking for it then is -32000
  "filter not found", as for an id that never existed.

Block and log filters keep only a cursor (the next block number to look at), so an
unpolled filter costs nothing; pending filters keep the admitted hashes (at most
`max_pending` each) since they cannot be recomputed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from domains.evm.chain import DomainChain
from domains.evm.node import DomainNode
from domains.evm.txpool import PoolTx
from domains.rpc import formatting as fmt
from domains.rpc.errors import LimitExceeded, ServerError
from domains.rpc.logs import LogFilter, block_logs, block_number_of, header_of_hash, query_logs
from domains.rpc.params import BlockRef

DEFAULT_MAX_PENDING = 10_000


@dataclass
class _Filter:
    """One installed filter: its kind, when it was last polled, and where it has got to."""

    kind: str  # "logs" | "blocks" | "pending"
    last_poll: float
    cursor: int = 0
    log_filter: LogFilter | None = None
    from_number: int = 0
    pending: deque = field(default_factory=deque)


class FilterRegistry:
    """The installed filters of one gateway (see the module docstring). Thread-safe."""

    def __init__(self, node: DomainNode, *, timeout: float, block_range_limit: int, result_limit: int,
                 clock: Callable[[], float] = time.monotonic, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.chain: DomainChain = node.chain
        self.timeout = timeout
        self.block_range_limit = block_range_limit
        self.result_limit = result_limit
        self.clock = clock
        self.max_pending = max_pending
        self._filters: dict[int, _Filter] = {}
        self._lock = threading.Lock()
        self.closed = False
        node.on_pending_transaction(self._on_pending_transaction)

    # -- install / uninstall ---------------------------------------------------------------

    def new_log_filter(self, flt: LogFilter) -> str:
        head = self.chain.head().block_number
        if flt.block_hash is not None:
            header_of_hash(self.chain, flt.block_hash)  # unknown hash: refuse now, as geth
        entry = _Filter(kind="logs", last_poll=self.clock(), cursor=head + 1, log_filter=flt,
                        from_number=install_from_block(flt.from_block, head))
        return self._install(entry)

    def new_block_filter(self) -> str:
        return self._install(_Filter(kind="blocks", last_poll=self.clock(),
                                     cursor=self.chain.head().block_number + 1))

    def new_pending_transaction_filter(self) -> str:
        return self._install(_Filter(kind="pending", last_poll=self.clock(),
                                     pending=deque(maxlen=self.max_pending)))

    def uninstall(self, filter_id: int) -> bool:
        with self._lock:
            self._expire()
            return self._filters.pop(filter_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._filters)

    # -- polling -----------------------------------------------------------------------------

    def changes(self, filter_id: int) -> list[Any]:
        """eth_getFilterChanges: what happened since the last poll."""
        entry = self._poll(filter_id)
        if entry.kind == "pending":
            with self._lock:
                hashes = [fmt.hexbytes(h) for h in entry.pending]
                entry.pending.clear()
            return hashes
        head = self.chain.head().block_number
        first = entry.cursor
        if entry.kind == "blocks":
            found = [fmt.hexbytes(self.chain.header_by_number(n).hash) for n in range(first, head + 1)]
        else:
            found = self._new_logs(entry, first, head)
        with self._lock:  # advanced only once the answer exists: a failed poll loses nothing
            entry.cursor = max(entry.cursor, head + 1)
        return found

    def _new_logs(self, entry: _Filter, first: int, head: int) -> list[dict[str, Any]]:
        """A log filter's matches in blocks `first`..`head`, within its own range."""
        flt = entry.log_filter
        assert flt is not None
        if flt.block_hash is not None:
            return []
        first = max(first, entry.from_number)
        last = min(head, block_number_of(self.chain, flt.to_block, head))
        if first > last:
            return []
        return query_logs(self.chain, first, last, flt.criteria, result_limit=self.result_limit)

    def logs(self, filter_id: int) -> list[dict[str, Any]]:
        """eth_getFilterLogs: every log the filter matches, as eth_getLogs."""
        entry = self._poll(filter_id)
        if entry.kind != "logs" or entry.log_filter is None:
            raise ServerError("filter not found")  # geth's answer for a non-log filter id
        flt = entry.log_filter
        if flt.block_hash is not None:
            return block_logs(self.chain, header_of_hash(self.chain, flt.block_hash), flt.criteria)
        head = self.chain.head().block_number
        first = entry.from_number
        last = min(head, block_number_of(self.chain, flt.to_block, head))
        if first > last:
            return []
        if last - first + 1 > self.block_range_limit:
            raise LimitExceeded(f"query exceeds max block range {self.block_range_limit}")
        return query_logs(self.chain, first, last, flt.criteria, result_limit=self.result_limit)

    # -- internals ---------------------------------------------------------------------------

    def _install(self, entry: _Filter) -> str:
        with self._lock:
            self._expire()
            filter_id = new_id()
            while filter_id in self._filters:
                filter_id = new_id()
            self._filters[filter_id] = entry
        return fmt.quantity(filter_id)

    def _poll(self, filter_id: int) -> _Filter:
        with self._lock:
            self._expire()
            entry = self._filters.get(filter_id)
            if entry is None:
                raise ServerError("filter not found")
            entry.last_poll = self.clock()
            return entry

    def _expire(self) -> None:
        """Drop filters not polled within the timeout (call with the lock held)."""
        deadline = self.clock() - self.timeout
        for filter_id in [i for i, f in self._filters.items() if f.last_poll < deadline]:
            del self._filters[filter_id]

    def _on_pending_transaction(self, entry: PoolTx) -> None:
        if self.closed:
            return
        with self._lock:
            for flt in self._filters.values():
                if flt.kind == "pending":
                    flt.pending.append(entry.hash)


def install_from_block(ref: BlockRef | None, head: int) -> int:
    """The first block a log filter covers: a number as given, `earliest` 0, and any other tag
    (or none) the first block after the head at install ("from now on")."""
    if ref is not None and ref.number is not None:
        return ref.number
    if ref is not None and ref.tag == "earliest":
        return 0
    return head + 1


def new_id() -> int:
    """A random 128-bit identifier for a filter or subscription (geth uses random ids too)."""
    return secrets.randbits(128) | (1 << 124)
