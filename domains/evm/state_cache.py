"""State reads shared across state views: process-wide caches keyed by trie root.

Every `eth_call`, `eth_getBalance`, pool admission check and block build opens a fresh py-evm
state over some state root, and each new `AccountDB` walks the account trie from the root
again: a handful of node reads, RLP decodes and nibble conversions per account, five or more
accounts per call, and the same again for each storage slot it reads. A trie is
content-addressed, so "the value stored under key `k` in the trie with root `R`" never
changes: `RootCachedAccountDB` answers account and storage reads from shared LRUs keyed by
(root, key), and asks the trie only on a miss.

Only reads of the trie as committed under its current root are cached; writes pass through,
change the root, and later reads key on the new root. Reads of pending (journaled) changes
never reach this layer: py-evm's journal above it answers them.
"""

from __future__ import annotations

from eth.constants import BLANK_ROOT_HASH
from eth.db.account import AccountDB
from eth.db.backends.base import BaseDB
from eth.db.cache import CacheDB
from eth.db.accesslog import KeyAccessLoggerDB
from eth.db.journal import JournalDB
from eth.db.storage import AccountStorageDB

from domains.evm.db import ExistsByLookup
from domains.evm.recent import Recent

#: (state root, address) -> what the account trie answered (RLP of the account, b"" if absent).
ACCOUNT_READS = Recent(1 << 16)
#: (storage root, big-endian slot) -> what the storage trie answered (RLP of the value, or b"").
STORAGE_READS = Recent(1 << 16)
#: Kept for a read that raised KeyError, so that a hit raises it again.
_KEY_ERROR = object()


class RootKeyedReads(ExistsByLookup, BaseDB):
    """A read-through view of `source` (a trie as a key-value map) whose reads are cached by
    (`root()`, key), where `root()` names the trie the next read of `source` would walk."""

    def __init__(self, source, root, cache: Recent) -> None:
        self._source = source
        self._root = root
        self._cache = cache

    def __getitem__(self, key: bytes) -> bytes:
        slot = (self._root(), key)
        value = self._cache.get(slot)
        if value is None:
            try:
                value = self._source[key]
            except KeyError:
                value = _KEY_ERROR
            self._cache.put(slot, value)
        if value is _KEY_ERROR:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._source[key] = value

    def __delitem__(self, key: bytes) -> None:
        del self._source[key]


class RootCachedAccountStorageDB(AccountStorageDB):
    """py-evm's `AccountStorageDB` with its storage-trie reads going through `RootKeyedReads`
    (journal → locked changes → per-root cache → shared cache → storage trie)."""

    def __init__(self, db, storage_root, address) -> None:
        super().__init__(db, storage_root, address)
        lookup = self._storage_lookup

        def root() -> bytes:  # the trie `StorageLookup._get_read_trie` would read
            write_trie = lookup._write_trie
            return lookup._starting_root_hash if write_trie is None else write_trie.root_hash

        shared = RootKeyedReads(lookup, root, STORAGE_READS)
        self._storage_cache = CacheDB(shared)
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)


class RootCachedAccountDB(AccountDB):
    """py-evm's `AccountDB` with its account-trie and storage-trie reads going through
    `RootKeyedReads`.

    The layering is py-evm's own (journal → per-root cache → access logger → trie); the shared
    cache sits between the access logger and the trie, so the accessed-keys log, which block
    witnesses use, still sees every read."""

    def __init__(self, db, state_root=BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        trie = self._trie
        self._trie_logger = KeyAccessLoggerDB(RootKeyedReads(trie, lambda: trie.root_hash, ACCOUNT_READS),
                                              log_missing_keys=False)
        self._trie_cache = CacheDB(self._trie_logger)
        self._journaltrie = JournalDB(self._trie_cache)

    def _get_address_store(self, address):
        """py-evm's, with the caching storage view."""
        store = self._account_stores.get(address)
        if store is None:
            store = RootCachedAccountStorageDB(self._raw_store_db, self._get_storage_root(address), address)
            self._account_stores[address] = store
        return store
