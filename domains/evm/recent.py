"""`Recent`: a small thread-safe least-recently-used map (recent blocks and receipts of a domain
chain, senders already recovered, the gateway's block views)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class Recent:
    """At most `size` items; reading or writing an item makes it the most recent, and the least
    recent goes when a new one does not fit. `None` is not a storable value (`get` means "absent")."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items
