"""The farmer's cache of recently built PoS tables, bounded by memory.

Proving a solution (spec §6 "Proving") rebuilds the PoS table of the winning record from its
evaluation seed. A table depends on the seed alone, and the seed on the sector id (so on the
history size the sector was plotted at) and the piece offset, so a table kept under its seed
stays right for as long as it is kept. On a small farm the same records win again and again
(a DEV farm has 16 records), and each rebuild is a K=16 table (~34 ms native, a full second
with the numpy fallback) on the slot worker's path; at K=20 a table is ~16x larger and the
memory bound keeps only a few.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

#: The default memory bound: 64 MiB (about 60 DEV tables or 4 mainnet ones).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def table_bytes(table) -> int:
    """The memory of a table's arrays (Chia tables: x1, the per-table back-pointers and y7;
    shim tables: whatever arrays they hold)."""
    total = 0
    for value in vars(table).values():
        if isinstance(value, dict):
            total += sum(getattr(v, "nbytes", 0) for v in value.values())
        else:
            total += getattr(value, "nbytes", 0)
    return total


class PosTableCache:
    """Tables by evaluation seed, least recently used first out, at most `max_bytes` in all (a
    table larger than the bound is built and returned but not kept). Thread-safe; two threads
    asking for the same missing table may both build it."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._tables: OrderedDict[bytes, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def table(self, seed: bytes, build: Callable[[bytes], object]):
        """The table of `seed`: kept, or `build(seed)` (then kept if it fits)."""
        with self._lock:
            kept = self._tables.get(seed)
            if kept is not None:
                self._tables.move_to_end(seed)
                self.hits += 1
                return kept[0]
            self.misses += 1
        table = build(seed)  # outside the lock: the build is the slow part
        size = table_bytes(table)
        if size > self.max_bytes:
            return table
        with self._lock:
            if seed not in self._tables:
                self._tables[seed] = (table, size)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, dropped) = self._tables.popitem(last=False)
                    self._bytes -= dropped
        return table

    def __len__(self) -> int:
        return len(self._tables)

    @property
    def bytes(self) -> int:
        return self._bytes
