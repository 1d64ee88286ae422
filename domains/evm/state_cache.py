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

The account trie of a `RootCachedAccountDB` is also not pruned as it changes. py-evm's
`AccountDB` prunes every node a trie update replaces (reference counts kept per node, each
replaced node re-encoded and re-hashed to find its key), a large part of each state root; a
traced domain block computes one per transaction (`DomainChain.build_block(trace=True)`), and
pruning was a quarter of its build time. Instead, every node written while the state changes
stays in the state's write batch, and `ReachableNodesBatch` writes only those reachable from
the final root when the state is persisted. The store then holds what py-evm's would, less the
nodes py-evm's pruning left behind of roots made between persists (no persisted root reaches
them; the tests compare the two stores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from eth.constants import BLANK_ROOT_HASH
from eth.db.account import AccountDB
from eth.db.backends.base import BaseDB
from eth.db.batch import BatchDB
from eth.db.cache import CacheDB
from eth.db.accesslog import KeyAccessLoggerDB
from eth.db.hash_trie import HashTrie
from eth.db.journal import JournalDB
from eth.db.storage import AccountStorageDB
from trie import HexaryTrie
from trie.constants import NODE_TYPE_BRANCH, NODE_TYPE_EXTENSION
from trie.utils.nodes import decode_node, get_node_type

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


class UnprunedHexaryTrie(HexaryTrie):
    """py-trie's `HexaryTrie` that never prunes, also in the memory tries of its
    `squash_changes` (which asks for pruning ones)."""

    __slots__ = ()

    def __init__(self, db, root_hash=HexaryTrie.BLANK_NODE_HASH, prune=False, ref_count=None) -> None:
        super().__init__(db, root_hash, prune=False)


def node_references(encoded_node: bytes) -> list[bytes]:
    """The hashes of the nodes a trie node refers to (an embedded node, under 32 bytes, holds
    none: a reference alone takes 33)."""
    node = decode_node(encoded_node)
    kind = get_node_type(node)
    if kind == NODE_TYPE_BRANCH:
        return [child for child in node[:16] if isinstance(child, bytes) and len(child) == 32]
    if kind == NODE_TYPE_EXTENSION and isinstance(node[1], bytes) and len(node[1]) == 32:
        return [node[1]]
    return []


def reachable_nodes(pending: Mapping[bytes, bytes], roots: Iterable[bytes]) -> set[bytes]:
    """The keys of `pending` (node hash -> encoded node) reachable from `roots` through
    pending nodes only: a node not pending is in the store already, and so is all below it."""
    kept: set[bytes] = set()
    stack = list(roots)
    while stack:
        key = stack.pop()
        if key in kept or key not in pending:
            continue
        kept.add(key)
        stack.extend(node_references(pending[key]))
    return kept


class ReachableNodesBatch(BatchDB):
    """The account trie's write batch (py-evm's, reading through deletes): a commit writes
    only the pending nodes reachable from `root()` (module docstring)."""

    def __init__(self, wrapped_db, root: Callable[[], bytes]) -> None:
        super().__init__(wrapped_db, read_through_deletes=True)
        self._root = root

    def commit_to(self, target_db, apply_deletes: bool = True) -> None:
        pending = dict(self.diff().pending_items())
        kept = reachable_nodes(pending, [self._root()])
        self.clear()
        for key in kept:
            self[key] = pending[key]
        super().commit_to(target_db, apply_deletes)


class RootCachedAccountDB(AccountDB):
    """py-evm's `AccountDB` with its account-trie and storage-trie reads going through
    `RootKeyedReads`, and its account trie unpruned until persisted (module docstring).

    The layering is py-evm's own (journal → per-root cache → access logger → trie); the shared
    cache sits between the access logger and the trie, so the accessed-keys log, which block
    witnesses use, still sees every read."""

    def __init__(self, db, state_root=BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        self._batchtrie = ReachableNodesBatch(self._raw_store_db, lambda: self._trie.root_hash)
        self._trie = HashTrie(UnprunedHexaryTrie(self._batchtrie, state_root))
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
