"""The runtime state: a Merkle-Patricia trie over a key-value db, with a write buffer.

Layout
------
* The state is a hexary Merkle-Patricia trie (`trie.HexaryTrie`, Ethereum's trie: keccak-256
  node hashes, RLP nodes); the state root is the trie's root hash (32 bytes).
* Trie nodes live in a key-value db keyed by their keccak-256 hash. The runtime only *reads*
  the db it is given; every node it creates goes into a write buffer (`NodeBuffer.new_nodes`)
  that the caller commits atomically (the node in the same LMDB transaction as the block;
  tests with a plain dict: `commit_nodes(db, nodes)`).
* A db is anything with `get(key) -> bytes | None` (a dict, `chain.store.KVStore`,
  `PrefixedStore`), or failing that `__getitem__` raising KeyError.
* Storage key of an item: `blake3(pallet name)[:16] ‖ blake3(item name)[:16] ‖ map key`
  (`storage_key`), the Substrate layout (`twox128(pallet) ‖ twox128(item) ‖ key`) with BLAKE3.
  Map keys are used as they are (the identity hasher): accounts are 32 bytes, indices are
  SCALE fixed-width integers. Values are SCALE encodings and never empty (an empty value is
  a deletion in the trie).

During a block, reads and writes go through `BlockState`: a stack of overlay layers above the
trie (a layer per extrinsic, so that a failed call is reverted), plus the block's events and
consensus logs. `BlockState.commit_to_trie()` writes the overlay into the trie once, in sorted
key order, and returns the new root.

Proofs: `get_proof(db, root, key)` returns the trie nodes on the path to `key` (each
RLP-encoded); `verify_proof(root, key, proof)` returns the proven value (None for a proven
absence) or raises `InvalidProof`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rlp
from blake3 import blake3
from trie import HexaryTrie
from trie.exceptions import BadTrieProof, MissingTrieNode

#: The root of the empty trie (keccak-256 of RLP(b"")).
EMPTY_ROOT = HexaryTrie.BLANK_NODE_HASH

PREFIX_SIZE = 16


class StateError(Exception):
    """The state cannot be read (unknown root, missing trie node)."""


class InvalidProof(StateError):
    """A storage proof does not verify against the state root."""


# --- Storage keys ---------------------------------------------------------------------------


def pallet_prefix(pallet: str) -> bytes:
    """`blake3(pallet name)[:16]`: every key of a pallet starts with it."""
    return blake3(pallet.encode()).digest()[:PREFIX_SIZE]


def item_key(item: str, key: bytes = b"") -> bytes:
    """A pallet-relative key: `blake3(item name)[:16] ‖ map key`."""
    return blake3(item.encode()).digest()[:PREFIX_SIZE] + bytes(key)


def storage_key(pallet: str, item: str, key: bytes = b"") -> bytes:
    """The full trie key of a storage item: `pallet_prefix(pallet) ‖ item_key(item, key)`."""
    return pallet_prefix(pallet) + item_key(item, key)


# --- Databases ------------------------------------------------------------------------------


def read_db(db: Any, key: bytes) -> bytes | None:
    """`db.get(key)` if the db has it, else `db[key]` (None when absent)."""
    get = getattr(db, "get", None)
    if get is not None:
        return get(key)
    try:
        return db[key]
    except KeyError:
        return None


def commit_nodes(db: Any, nodes: Mapping[bytes, bytes]) -> None:
    """Write a write buffer of trie nodes into `db`: `db.write_batch(nodes)` (one atomic
    transaction, e.g. `KVStore`/`PrefixedStore`) if it has one, else `db.update(nodes)`."""
    write_batch = getattr(db, "write_batch", None)
    if write_batch is not None:
        write_batch(dict(nodes))
    else:
        db.update(nodes)


class PrefixedStore:
    """A view of a `chain.store.KVStore` whose keys are stored under `prefix` (e.g. the trie
    nodes under b"state/"). `get` reads, `write_batch` commits; `batch(nodes)` returns the
    prefixed mapping to merge into a larger batch committed elsewhere."""

    def __init__(self, store: Any, prefix: bytes = b"state/") -> None:
        self.store = store
        self.prefix = bytes(prefix)

    def get(self, key: bytes) -> bytes | None:
        return self.store.get(self.prefix + key)

    def batch(self, nodes: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
        return {self.prefix + k: v for k, v in nodes.items()}

    def write_batch(self, nodes: Mapping[bytes, bytes]) -> None:
        self.store.write_batch(self.batch(nodes))


class NodeBuffer:
    """The trie's db during execution: reads fall through to `base`, writes stay in
    `new_nodes` (nothing is written to `base`, nothing is deleted: no pruning)."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.new_nodes: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self.new_nodes.get(key)
        if value is None:
            value = read_db(self.base, key)
            if value is None:
                raise KeyError(key)
        return value

    def __contains__(self, key: bytes) -> bool:
        return key in self.new_nodes or read_db(self.base, key) is not None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.new_nodes[key] = value

    def __delitem__(self, key: bytes) -> None:
        self.new_nodes.pop(key, None)


def open_trie(db: Any, root: bytes) -> tuple[HexaryTrie, NodeBuffer]:
    """A trie at `root` over a write buffer on `db`; raises StateError for an unknown root."""
    buffer = NodeBuffer(db)
    if root != EMPTY_ROOT and root not in buffer:
        raise StateError(f"unknown state root {bytes(root).hex()}: its trie node is not in the db")
    return HexaryTrie(buffer, root), buffer


def read_value(db: Any, root: bytes, key: bytes) -> bytes | None:
    """The value of a full storage key at `root` (None if absent)."""
    trie, _ = open_trie(db, root)
    try:
        value = trie.get(key)
    except MissingTrieNode as exc:
        raise StateError(f"state {root.hex()} is incomplete: {exc}") from exc
    return value or None


# --- Proofs ---------------------------------------------------------------------------------


def get_proof(db: Any, root: bytes, key: bytes) -> tuple[bytes, ...]:
    """The proof of `key` (value or absence) at `root`: the RLP-encoded trie nodes on its path."""
    trie, _ = open_trie(db, root)
    try:
        nodes = trie.get_proof(key)
    except MissingTrieNode as exc:
        raise StateError(f"state {root.hex()} is incomplete: {exc}") from exc
    return tuple(rlp.encode(node) for node in nodes)


def verify_proof(root: bytes, key: bytes, proof: tuple[bytes, ...] | list[bytes]) -> bytes | None:
    """The value that `proof` proves for `key` under `root` (None: proven absent).

    Raises InvalidProof when the proof does not lead from `root` to the key."""
    try:
        nodes = tuple(rlp.decode(bytes(node)) for node in proof)
        value = HexaryTrie.get_from_proof(bytes(root), bytes(key), nodes)
    except (BadTrieProof, MissingTrieNode, rlp.exceptions.DecodingError, KeyError, ValueError, TypeError) as exc:
        raise InvalidProof(f"proof of key {bytes(key).hex()} does not verify against root {bytes(root).hex()}: {exc}") from exc
    return value or None


# --- The block's working state --------------------------------------------------------------


class BlockState:
    """The state of one block (or one query) in progress: the trie at the parent root, a stack
    of overlay layers, and the events and consensus logs deposited so far.

    `begin()` opens a layer, `commit()` merges it into the one below, `rollback()` drops it
    together with the events and logs deposited since it was opened."""

    def __init__(self, db: Any, root: bytes) -> None:
        self.parent_root = bytes(root)
        self.trie, self.buffer = open_trie(db, self.parent_root)
        self._layers: list[dict[bytes, bytes | None]] = [{}]
        self._marks: list[tuple[int, int]] = []
        self.events: list[Any] = []
        self.logs: list[Any] = []
        #: Which extrinsic is executing (None: initialisation/finalisation); events carry it.
        self.phase: int | None = None

    # storage
    def get(self, key: bytes) -> bytes | None:
        for layer in reversed(self._layers):
            if key in layer:
                return layer[key]
        try:
            return self.trie.get(key) or None
        except MissingTrieNode as exc:
            raise StateError(f"state {self.parent_root.hex()} is incomplete: {exc}") from exc

    def set(self, key: bytes, value: bytes) -> None:
        if not value:
            self.delete(key)
            return
        self._layers[-1][key] = bytes(value)

    def delete(self, key: bytes) -> None:
        self._layers[-1][key] = None

    # transactional layers
    def begin(self) -> None:
        self._layers.append({})
        self._marks.append((len(self.events), len(self.logs)))

    def commit(self) -> None:
        top = self._layers.pop()
        self._marks.pop()
        self._layers[-1].update(top)

    def rollback(self) -> None:
        self._layers.pop()
        events, logs = self._marks.pop()
        del self.events[events:]
        del self.logs[logs:]

    # effects
    def deposit_event(self, event: Any) -> None:
        self.events.append(event)

    def deposit_log(self, log: Any) -> None:
        self.logs.append(log)

    # result
    def commit_to_trie(self) -> bytes:
        """Write the overlay into the trie (sorted key order) and return the new state root."""
        if len(self._layers) != 1:
            raise StateError(f"{len(self._layers) - 1} transactional layers still open")
        changes = self._layers[0]
        with self.trie.squash_changes() as batch:
            for key in sorted(changes):
                value = changes[key]
                if value is None:
                    batch.delete(key)
                else:
                    batch.set(key, value)
        self._layers = [{}]
        return self.trie.root_hash

    @property
    def new_nodes(self) -> dict[bytes, bytes]:
        """The trie nodes created so far (the write buffer for the caller to commit)."""
        return self.buffer.new_nodes


class PalletStorage:
    """The `Storage` a pallet sees: keys relative to `blake3(pallet name)[:16]`.

    Besides `get`/`set`/`delete` (the `chain.runtime.pallet.Storage` protocol) it offers the
    runtime's services: `deposit_event(name, **fields)`, `deposit_log(log)` (a consensus log
    for the header), `of(pallet_name)` (another pallet's storage, e.g. "Balances"), and
    `balances` (a `chain.runtime.balances.Balances` over the balances pallet's storage, for
    pallets that move funds)."""

    def __init__(self, state: BlockState, pallet: str) -> None:
        self.state = state
        self.pallet = pallet
        self.prefix = pallet_prefix(pallet)

    def get(self, key: bytes) -> bytes | None:
        return self.state.get(self.prefix + bytes(key))

    def set(self, key: bytes, value: bytes) -> None:
        self.state.set(self.prefix + bytes(key), value)

    def delete(self, key: bytes) -> None:
        self.state.delete(self.prefix + bytes(key))

    def deposit_event(self, name: str, **fields: Any) -> None:
        from chain.runtime.system import Event

        self.state.deposit_event(Event(self.pallet, name, tuple(fields.items()), self.state.phase))

    def deposit_log(self, log: Any) -> None:
        self.state.deposit_log(log)

    def of(self, pallet: str) -> PalletStorage:
        return PalletStorage(self.state, pallet)

    @property
    def balances(self):
        from chain.runtime.balances import Balances

        return Balances(self.of("Balances"))
