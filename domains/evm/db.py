"""py-evm's database interface over the project's store, one durable commit per block.

py-evm writes state, headers, transactions, receipts and the canonical head key by key (its
`atomic_batch` over a plain mapping writes the batch one key at a time). To make a whole
block atomic on disk, `BlockWriteDB` collects every write py-evm makes while building or
importing a block in memory, and `commit()` hands them to the store as one transaction.

Readers (the RPC gateway) use `CommittedDB`, which sees only committed data: a block that
a reader can see is a block that survives kill -9.

Every committed value under a 32-byte key is checked as it is read (`read_committed`): py-evm
keys trie nodes, headers and contract code by the keccak-256 of the value (every other key has
a prefix), so a value damaged on disk is refused by name instead of being used.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB

from eth_hash.auto import keccak

from chain.store import KVStore, StoreCorrupted

_DELETED = object()


def read_committed(store: KVStore, key: bytes) -> bytes | None:
    """The committed value under `key` (None if absent); raises `StoreCorrupted` naming the
    file and key when a 32-byte key is not the keccak-256 of its value (module docstring)."""
    value = store.get(key)
    if value is not None and len(key) == 32 and keccak(value) != key:
        raise StoreCorrupted(f"{store.path / 'data.mdb'} is damaged: the value under {bytes(key).hex()} "
                             f"({len(value)} bytes) does not hash to its key")
    return value


class ExistsByLookup:
    """`_exists` for a py-evm database whose `__getitem__` raises KeyError for a missing key
    (mixed in before the py-evm base class)."""

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True


class CommittedDB(BaseAtomicDB):
    """A read view of the store for py-evm. Writes are refused: readers never write."""

    def __init__(self, store: KVStore) -> None:
        self.store = store

    def __getitem__(self, key: bytes) -> bytes:
        value = read_committed(self.store, key)
        if value is None:
            raise KeyError(key)
        return value

    def _exists(self, key: bytes) -> bool:
        return self.store.get(key) is not None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        raise PermissionError("the committed view of the store is read-only")

    def __delitem__(self, key: bytes) -> None:
        raise PermissionError("the committed view of the store is read-only")

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        raise PermissionError("the committed view of the store is read-only")
        yield  # pragma: no cover


class ScratchDB(ExistsByLookup, BaseAtomicDB):
    """Writes kept in memory over the committed store, never committed.

    Used for executions whose results are thrown away (eth_call, eth_estimateGas, tracing,
    pending-state views), so they can run at any historical state without touching disk.
    """

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.pending: dict[bytes, object] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self.pending.get(key)
        if value is None:
            value = read_committed(self.store, key)
            if value is None:
                raise KeyError(key)
            return value
        if value is _DELETED:
            raise KeyError(key)
        return value  # type: ignore[return-value]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self.pending[key] = _DELETED

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch


class BlockWriteDB(ScratchDB):
    """A `ScratchDB` whose writes go to the store in one durable transaction on `commit()`."""

    def commit(self) -> int:
        """Write everything collected since the last commit, atomically. Returns the count."""
        if not self.pending:
            return 0
        batch = {k: (None if v is _DELETED else v) for k, v in self.pending.items()}
        self.store.write_batch(batch)
        count = len(batch)
        self.pending = {}
        return count

    def discard(self) -> None:
        """Forget everything collected since the last commit (a failed block)."""
        self.pending = {}
