"""The node's persistent layout over `chain.store.KVStore` (one durable batch per block).

Keys (all in one LMDB environment, `<directory>/chain`):

| key                         | value                                                      |
|-----------------------------|------------------------------------------------------------|
| `meta:params`               | the `Params.name` the store was created with                |
| `meta:genesis`              | genesis block hash                                          |
| `meta:best`                 | best block hash                                             |
| `meta:archiver`             | `Archiver.to_bytes()` after the last archived block         |
| `meta:archiver_sum`         | blake3 of `meta:archiver` (written with it; LMDB has no     |
|                             | checksums, and nothing else re-derives the buffered blocks) |
| `meta:archived_to`          | u32 LE: the highest block number fed to the archiver        |
| `blk:` + hash               | `SignedBlock.encode()`                                      |
| `inf:` + hash               | u32 LE number ‖ u256 LE cumulative fork weight              |
| `num:` + u32 BE number      | canonical (best chain) block hash at that height            |
| `seg:` + u64 BE index       | `SegmentHeader.encode()`                                    |
| `pce:` + u64 BE index       | piece bytes                                                 |
| `trie:` + node hash         | state trie node (the runtime's db)                          |

`BlockBatch` gathers everything one block import writes: the block, its info, the state trie
nodes its execution created, canonical index changes, the best pointer, the archiver state and
any new segment headers and pieces. `ChainStore.commit` writes it with one `write_batch`, so a
kill -9 leaves either all of it or none (chain/store.py).

Reads that find undecodable data raise `CorruptedChainData`, naming the key and the store path;
so do values that fail their checks: a trie node that does not hash to its key, segment
headers whose hash chain breaks, an archiver state that does not match its checksum.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field

from blake3 import blake3
from eth_hash.auto import keccak

from chain.archiving import ArchivingError, SegmentHeader
from chain.block import InvalidBlock, SignedBlock
from chain.params import Params
from chain.store import DELETE, KVStore, StoreCorrupted

KEY_PARAMS = b"meta:params"
KEY_GENESIS = b"meta:genesis"
KEY_BEST = b"meta:best"
KEY_ARCHIVER = b"meta:archiver"
KEY_ARCHIVER_SUM = b"meta:archiver_sum"
KEY_ARCHIVED_TO = b"meta:archived_to"
PREFIX_BLOCK = b"blk:"
PREFIX_INFO = b"inf:"
PREFIX_CANON = b"num:"
PREFIX_SEGMENT = b"seg:"
PREFIX_PIECE = b"pce:"
PREFIX_TRIE = b"trie:"


class CorruptedChainData(StoreCorrupted):
    """A stored value cannot be decoded; the message names the key and the store."""


def block_key(block_hash: bytes) -> bytes:
    return PREFIX_BLOCK + block_hash


def info_key(block_hash: bytes) -> bytes:
    return PREFIX_INFO + block_hash


def canon_key(number: int) -> bytes:
    return PREFIX_CANON + number.to_bytes(4, "big")


def segment_key(index: int) -> bytes:
    return PREFIX_SEGMENT + index.to_bytes(8, "big")


def piece_key(index: int) -> bytes:
    return PREFIX_PIECE + index.to_bytes(8, "big")


@dataclass(frozen=True)
class BlockInfo:
    """What fork choice needs of a stored block without decoding it."""

    number: int
    total_weight: int

    def encode(self) -> bytes:
        return self.number.to_bytes(4, "little") + self.total_weight.to_bytes(32, "little")

    @classmethod
    def decode(cls, data: bytes) -> BlockInfo:
        if len(data) != 36:
            raise ValueError(f"block info is {len(data)} bytes, expected 36")
        return cls(int.from_bytes(data[:4], "little"), int.from_bytes(data[4:], "little"))


@dataclass
class BlockBatch:
    """Every write of one block import, committed together (`ChainStore.commit`)."""

    writes: dict[bytes, bytes | None] = field(default_factory=dict)

    def put(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = DELETE


class TrieDb(MutableMapping):
    """The state trie's node database as the runtime sees it: reads fall through to the store
    (`trie:` prefix), writes stay in an overlay until `flush_into(batch)`.

    One overlay per block execution: a block that fails import leaves nothing behind. Trie
    nodes are content-addressed and never deleted (old roots stay readable: every block's
    state root is an immutable snapshot, so a reorg has no state to revert)."""

    def __init__(self, store: KVStore, parent: TrieDb | None = None):
        self.store = store
        self.parent = parent
        self.overlay: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        key = bytes(key)
        value = self.overlay.get(key)
        if value is not None:
            return value
        if self.parent is not None:
            return self.parent[key]
        value = self.store.get(PREFIX_TRIE + key)
        if value is None:
            raise KeyError(key)
        if keccak(value) != key:  # content-addressed: a damaged node is caught where it is read
            raise CorruptedChainData(f"{self.store.path}: key {PREFIX_TRIE + key!r}: state trie node does not hash "
                                     f"to its key (the store is damaged)")
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.overlay[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        # content-addressed nodes are shared between roots: never deleted
        pass

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[bytes]:
        raise TypeError("the state trie db is not iterable")

    def __len__(self) -> int:
        return len(self.overlay)

    def flush_into(self, batch: BlockBatch) -> None:
        for key, value in self.overlay.items():
            batch.put(PREFIX_TRIE + key, value)


class ChainStore:
    """Typed access to the node's persistent data."""

    def __init__(self, directory: str | os.PathLike, params: Params, *, durable: bool = True):
        self.params = params
        self.kv = KVStore(os.path.join(os.fspath(directory), "chain"), durable=durable)
        stored = self.kv.get(KEY_PARAMS)
        if stored is None:
            self.kv.put(KEY_PARAMS, params.name.encode())
        elif stored != params.name.encode():
            raise CorruptedChainData(
                f"{self.kv.path}: store was created for params {stored!r}, opened with {params.name!r}"
            )

    def close(self) -> None:
        self.kv.close()

    def commit(self, batch: BlockBatch) -> None:
        self.kv.write_batch(batch.writes)

    def trie_db(self) -> TrieDb:
        return TrieDb(self.kv)

    # -- decoding helpers ------------------------------------------------------------------

    def _corrupted(self, key: bytes, what: str, err: Exception) -> CorruptedChainData:
        return CorruptedChainData(f"{self.kv.path}: key {key[:48]!r}: cannot decode {what}: {err}")

    def _hash_at(self, key: bytes) -> bytes | None:
        value = self.kv.get(key)
        if value is not None and len(value) != 32:
            raise self._corrupted(key, "block hash", ValueError(f"{len(value)} bytes, expected 32"))
        return value

    # -- reads -------------------------------------------------------------------------------

    def genesis_hash(self) -> bytes | None:
        return self._hash_at(KEY_GENESIS)

    def best_hash(self) -> bytes | None:
        return self._hash_at(KEY_BEST)

    def canonical_hash(self, number: int) -> bytes | None:
        if not 0 <= number < 1 << 32:
            return None
        return self._hash_at(canon_key(number))

    def has_block(self, block_hash: bytes) -> bool:
        return self.kv.exists(info_key(block_hash))

    def block(self, block_hash: bytes) -> SignedBlock | None:
        key = block_key(block_hash)
        data = self.kv.get(key)
        if data is None:
            return None
        try:
            block = SignedBlock.decode(data, self.params)
        except InvalidBlock as err:
            raise self._corrupted(key, "signed block", err) from None
        if block.hash() != block_hash:
            raise self._corrupted(key, "signed block", ValueError(f"content hash {block.hash().hex()} differs"))
        return block

    def info(self, block_hash: bytes) -> BlockInfo | None:
        key = info_key(block_hash)
        data = self.kv.get(key)
        if data is None:
            return None
        try:
            return BlockInfo.decode(data)
        except ValueError as err:
            raise self._corrupted(key, "block info", err) from None

    def archiver_state(self) -> bytes | None:
        """The saved archiver state, checked against its checksum (a store written before the
        checksum existed has none: its state is taken as it is)."""
        state = self.kv.get(KEY_ARCHIVER)
        checksum = self.kv.get(KEY_ARCHIVER_SUM)
        if state is not None and checksum is not None and blake3(state).digest() != checksum:
            raise CorruptedChainData(f"{self.kv.path}: key {KEY_ARCHIVER!r}: archiver state does not match its "
                                     f"checksum ({KEY_ARCHIVER_SUM!r}): the store is damaged")
        return state

    @staticmethod
    def put_archiver_state(batch: "BlockBatch", state: bytes) -> None:
        batch.put(KEY_ARCHIVER, state)
        batch.put(KEY_ARCHIVER_SUM, blake3(state).digest())

    def archived_to(self) -> int | None:
        data = self.kv.get(KEY_ARCHIVED_TO)
        if data is None:
            return None
        if len(data) != 4:
            raise self._corrupted(KEY_ARCHIVED_TO, "archived height", ValueError(f"{len(data)} bytes"))
        return int.from_bytes(data, "little")

    def segment_header(self, index: int) -> SegmentHeader | None:
        key = segment_key(index)
        data = self.kv.get(key)
        if data is None:
            return None
        try:
            header = SegmentHeader.decode(data)
        except ArchivingError as err:
            raise self._corrupted(key, "segment header", err) from None
        if header.segment_index != index:
            raise self._corrupted(key, "segment header", ValueError(f"holds segment {header.segment_index}"))
        return header

    def segment_headers(self) -> list[SegmentHeader]:
        """Every stored segment header in index order, checked contiguous from 0 and chained:
        each names the hash of the one before (the first, 32 zero bytes)."""
        out: list[SegmentHeader] = []
        for key, data in self.kv.iterate(PREFIX_SEGMENT):
            try:
                header = SegmentHeader.decode(data)
            except ArchivingError as err:
                raise self._corrupted(key, "segment header", err) from None
            if header.segment_index != len(out):
                raise self._corrupted(key, "segment header", ValueError(f"segment {header.segment_index} out of order"))
            previous = out[-1].hash() if out else bytes(32)
            if header.prev_segment_header_hash != previous:
                before = f"header {len(out) - 1} hashes to" if out else "the first must name"
                raise CorruptedChainData(
                    f"{self.kv.path}: key {key!r}: segment headers do not chain (header {len(out)} names "
                    f"{header.prev_segment_header_hash.hex()[:16]}…, {before} {previous.hex()[:16]}…): the store is "
                    f"damaged")
            out.append(header)
        return out

    def piece(self, index: int) -> bytes | None:
        data = self.kv.get(piece_key(index))
        if data is not None and len(data) != self.params.piece_size:
            raise self._corrupted(piece_key(index), "piece", ValueError(f"{len(data)} bytes, expected {self.params.piece_size}"))
        return data
