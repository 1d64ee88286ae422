"""The node's extrinsic pool (transaction pool).

* `submit` validates an extrinsic against the best block's state through the runtime's
  validator (a callable returning the extrinsic's `(signer, nonce)`, raising the runtime's
  `InvalidExtrinsic` subclass for a bad one) and keeps it.
* `ready()` lists the pooled extrinsics ordered by (signer, nonce): what block production
  includes after the inherents; an extrinsic that fails in a block is dropped by the producer.
* `remove_included(extrinsics)` drops the ones a newly imported block contains;
  `drop_stale(nonce_of)` drops those whose nonce the best state has passed.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Callable, Iterable


def extrinsic_hash(data: bytes) -> bytes:
    """`blake2b-256(extrinsic bytes)`: the pool identifier (as `chain.runtime.extrinsics`)."""
    return hashlib.blake2b(bytes(data), digest_size=32).digest()


@dataclass(frozen=True)
class PoolEntry:
    data: bytes
    signer: bytes
    nonce: int


class ExtrinsicPool:
    def __init__(self, validate: Callable[[bytes], tuple[bytes, int]], *, limit: int = 10_000):
        self._validate = validate
        self._entries: dict[bytes, PoolEntry] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ext_hash: bytes) -> bool:
        return ext_hash in self._entries

    def submit(self, data: bytes) -> bytes:
        """Validate and keep `data`; returns its hash. Raises the validator's error."""
        data = bytes(data)
        signer, nonce = self._validate(data)
        h = extrinsic_hash(data)
        with self._lock:
            if len(self._entries) >= self.limit and h not in self._entries:
                raise OverflowError(f"extrinsic pool is full ({self.limit} extrinsics)")
            self._entries[h] = PoolEntry(data, bytes(signer), int(nonce))
        return h

    def ready(self) -> list[bytes]:
        """Pooled extrinsics ordered by (signer, nonce)."""
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: (e.signer, e.nonce))
        return [e.data for e in entries]

    def remove(self, extrinsics: Iterable[bytes]) -> None:
        with self._lock:
            for data in extrinsics:
                self._entries.pop(extrinsic_hash(data), None)

    remove_included = remove

    def drop_stale(self, nonce_of: Callable[[bytes], int]) -> None:
        """Drop entries whose nonce is below the signer's nonce in the best state."""
        with self._lock:
            entries = list(self._entries.items())
        nonces: dict[bytes, int] = {}
        stale = []
        for h, e in entries:
            if e.signer not in nonces:
                nonces[e.signer] = nonce_of(e.signer)
            if e.nonce < nonces[e.signer]:
                stale.append(h)
        with self._lock:
            for h in stale:
                self._entries.pop(h, None)
