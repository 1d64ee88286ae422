"""`ConsensusNode`: the consensus-chain node (spec/consensus.md §2, §4, §6, §7, §8).

What it runs:

* a PoT chain (`PotChain`) extended by a worker thread from the genesis seed, following the
  best block's PoT parameters (`chain.node.pot_worker`);
* a slot worker: on PoT slot t it claims slot t − delay on top of the best block, asks the
  farmer for solutions, builds, executes, seals, imports and announces a block
  (`produce_block`);
* block import (`import_block`): every check of `chain.node.import_checks` in order, then
  execution and the result checks, fork choice (`chain.node.fork_choice`), the canonical
  index, archiving at depth K (`chain.node.archiver_driver`) and one durable write batch;
* an extrinsic pool (`chain.node.pool`);
* persistence (`chain.node.chain_store`): after kill -9 the node reopens at its last committed
  best block with the archiver state of that same commit.

Threads: `start()` runs the PoT worker and the slot worker; `stop()` ends them. Without
`start()`, tests drive the node deterministically: `run_slot()` proves one PoT slot and runs
the slot worker on it (`produce_blocks(n)` repeats until n blocks were produced).

Locks: one re-entrant node lock serialises import and the state reads of production; the
farmer's `solve` runs outside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chain import pot
from chain.archiving import Archiver, NewArchivedSegment, SegmentHeader, is_piece_valid
from chain.block import (
    Block,
    Header,
    InvalidBlock,
    InvalidPotJustification,
    PotInfo,
    PreDigest,
    SignedBlock,
    UnknownParent,
    WrongSegmentHeaders,
    check_seal,
    extrinsics_root,
)
from chain.node import import_checks as checks
from chain.node import runtime_api as rt
from chain.node.archiver_driver import (
    ForkBelowArchivedHeight,
    blocks_to_archive,
    check_fork_above_archived_height,
    segment_headers_for_block,
)
from chain.node.chain_store import (
    KEY_ARCHIVED_TO,
    KEY_ARCHIVER,
    KEY_BEST,
    KEY_GENESIS,
    BlockBatch,
    BlockInfo,
    ChainStore,
    CorruptedChainData,
    TrieDb,
    block_key,
    canon_key,
    info_key,
    piece_key,
    segment_key,
)
from chain.node.fork_choice import cumulative_weight, is_new_best, tree_route
from chain.node.pool import ExtrinsicPool
from chain.node.pot_worker import DEFAULT_KEEP_SLOTS, PotChain, PotSlot, PotWorker, next_slot_input
from chain.node.production import (
    assemble_block,
    author_timestamp,
    block_context,
    can_claim_slot,
    first_solution_in_range,
    justification_of,
    slot_to_claim,
)
from chain.params import Params
from chain.runtime.timestamp import timestamp_of_block
from chain.verification import PieceCheckParams

log = logging.getLogger("chain.node")

#: Answers kept by `ConsensusNode._at_root` before it starts over (three per state root).
ROOT_QUERY_MEMO = 768
#: How long `produce_blocks` lets the farmer plot before each slot, at most.
PLOT_WAIT_S = 60.0


class InvalidBlockExtrinsics(InvalidBlock):
    """The runtime refused the block's extrinsics (a bad signature, a missing inherent, ...)."""


class WrongBlockNumber(InvalidBlock):
    """The block's number is not its parent's number + 1."""


@dataclass(frozen=True)
class ImportResult:
    """What `import_block` did with a block."""

    hash: bytes
    number: int
    is_new_best: bool
    already_known: bool = False
    reorg: bool = False
    new_segments: tuple[SegmentHeader, ...] = ()


@dataclass(frozen=True)
class SlotInfo:
    """Published to `on_slot` listeners for every new PoT slot."""

    slot: int
    output: bytes
    slot_iterations: int


@dataclass
class _Executed:
    outcome: Any
    nodes: dict[bytes, bytes]


@dataclass
class _Notify:
    block: SignedBlock
    is_new_best: bool


class ConsensusNode:
    """A consensus node over `directory` (see the module docstring).

    `runtime` is a `chain.runtime.Runtime`; `farmer_signer` seals the blocks this node
    produces (None: import only); `farmer` is a `chain.farmer.Farmer` (or anything with its
    `solve`), attachable later with `attach_farmer`; `genesis_config` is used when the store
    is empty. `slot_interval` paces the PoT thread (0: AES speed).
    """

    def __init__(
        self,
        directory,
        params: Params,
        runtime,
        farmer_signer=None,
        *,
        farmer=None,
        genesis_config: Any = None,
        kzg=None,
        pot_external_entropy: bytes = b"",
        slot_interval: float = 0.0,
        durable: bool = True,
        keep_pot_slots: int = DEFAULT_KEEP_SLOTS,
        clock: Callable[[], float] = time.time,
    ):
        from chain.kzg import Kzg

        self.params = params
        #: wall-clock seconds: the time a produced block carries, and what an imported block's
        #: time is checked against (injectable for tests)
        self.clock = clock
        self.runtime = runtime
        self.farmer_signer = farmer_signer
        self.farmer = farmer
        self.kzg = kzg or Kzg.default()
        self.store = ChainStore(directory, params, durable=durable)
        self._lock = threading.RLock()
        self._headers: dict[bytes, Header] = {}
        self._pre_digests: dict[bytes, PreDigest] = {}
        self._own: dict[bytes, _Executed] = {}
        self._block_listeners: list[Callable[[SignedBlock, bool], None]] = []
        self._slot_listeners: list[Callable[[SlotInfo], None]] = []
        self._produced_listeners: list[Callable[[SignedBlock], None]] = []
        #: (query, state root) -> answer: see `_at_root`.
        self._root_queries: dict[tuple[str, bytes], Any] = {}

        if self.store.genesis_hash() is None:
            self._create_genesis(genesis_config)
        self._load()
        if getattr(runtime, "genesis_hash", "absent") is None:
            runtime.genesis_hash = self.genesis_hash  # signatures before block 1 (chain.runtime)

        genesis_pot = self._pot_params(self.genesis_header.state_root)
        self.genesis_pot_input = pot.genesis_slot_input(
            self.genesis_hash, pot_external_entropy, genesis_pot.slot_iterations
        )
        self.pot = PotChain(self.genesis_pot_input, self._pot_params(self.best_header().state_root), keep_slots=keep_pot_slots)
        self._follow_pot(self.best_hash, None)
        self.pot_worker = PotWorker(self.pot, slot_interval=slot_interval)
        self.pot_worker.on_slot(self._on_pot_slot)
        self.pool = ExtrinsicPool(self._validate_extrinsic)

        self._slot_cond = threading.Condition()
        self._latest_slot: PotSlot | None = None
        self._slot_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started_farmer = False
        self.produced: list[bytes] = []

    # =========================================================================================
    # Opening: genesis and reload

    def block_context(self, signed: SignedBlock, pre: PreDigest, timestamp_ms: int | None):
        """The runtime's view of a stored or incoming block (`chain.node.production.block_context`),
        given its decoded pre-digest and the time of its `Timestamp.set` inherent
        (`timestamp_of_block`; if it has none, the parent's time + 1: the runtime refuses such a
        block anyway)."""
        header = signed.block.header
        if timestamp_ms is None:
            timestamp_ms = self._timestamp_at(header.parent_hash) + 1
        return block_context(header.number, header.parent_hash, pre, timestamp_ms)

    def _timestamp_at(self, block_hash: bytes) -> int:
        """The runtime's `Timestamp.Now` after block `block_hash` (ms; 0 without a Timestamp pallet)."""
        timestamp_of = getattr(self.runtime, "timestamp", None)
        return timestamp_of(self.trie_db(), self._header(block_hash).state_root) if timestamp_of else 0

    def _wall_clock_ms(self) -> int:
        return int(self.clock() * 1000)

    def _create_genesis(self, genesis_config: Any) -> None:
        """Block 0: the runtime's genesis state, an empty block, archived at once (spec §4
        "Genesis": padded to a whole segment, so segment 0 exists immediately)."""
        db = self.store.trie_db()
        result = self.runtime.genesis(db, genesis_config)
        state_root = result if isinstance(result, (bytes, bytearray)) else result.state_root
        nodes = rt.new_nodes_of(result, db)
        header = Header(bytes(32), 0, bytes(state_root), extrinsics_root(()), ())
        genesis = SignedBlock(Block(header, ()), None)
        genesis_hash = header.hash()
        archiver = Archiver(self.params, self.kzg)
        segments = archiver.add_genesis_block(genesis.encode(), bytes(state_root))
        batch = BlockBatch()
        for key, value in nodes.items():
            batch.put(b"trie:" + key, value)
        batch.put(block_key(genesis_hash), genesis.encode())
        batch.put(info_key(genesis_hash), BlockInfo(0, 0).encode())
        batch.put(canon_key(0), genesis_hash)
        batch.put(KEY_GENESIS, genesis_hash)
        batch.put(KEY_BEST, genesis_hash)
        self._put_archive(batch, archiver, 0, segments)
        self.store.commit(batch)
        log.info("genesis %s, state root %s, %d segment(s)", header.label, bytes(state_root).hex()[:16], len(segments))

    def _put_archive(self, batch: BlockBatch, archiver: Archiver, archived_to: int, segments: Sequence[NewArchivedSegment]) -> None:
        for segment in segments:
            index = segment.segment_header.segment_index
            batch.put(segment_key(index), segment.segment_header.encode())
            for position, piece in enumerate(segment.pieces):
                batch.put(piece_key(index * self.params.num_pieces + position), piece)
        ChainStore.put_archiver_state(batch, archiver.to_bytes())
        batch.put(KEY_ARCHIVED_TO, archived_to.to_bytes(4, "little"))

    def _load(self) -> None:
        store = self.store
        self.genesis_hash = store.genesis_hash()
        best = store.best_hash()
        if best is None or not store.has_block(best):
            raise CorruptedChainData(f"{store.kv.path}: best block pointer missing or dangling")
        self.best_hash = best
        self.best_info = store.info(best)
        self.genesis_header = self._header(self.genesis_hash)
        state = store.archiver_state()
        archived_to = store.archived_to()
        if state is None or archived_to is None:
            raise CorruptedChainData(f"{store.kv.path}: archiver state missing (keys {KEY_ARCHIVER!r}, {KEY_ARCHIVED_TO!r})")
        try:
            self.archiver = Archiver.from_bytes(state, self.params, self.kzg)
        except ValueError as err:
            raise CorruptedChainData(f"{store.kv.path}: key {KEY_ARCHIVER!r}: {err}") from None
        self.archived_to = archived_to
        self.segment_headers_list: list[SegmentHeader] = store.segment_headers()
        if self.segment_headers_list and self.segment_headers_list[-1].segment_index + 1 != self.archiver.segment_index:
            raise CorruptedChainData(
                f"{store.kv.path}: archiver is at segment {self.archiver.segment_index} but "
                f"{len(self.segment_headers_list)} segment headers are stored"
            )
        last = self.segment_headers_list[-1].hash() if self.segment_headers_list else bytes(32)
        if self.archiver.prev_segment_header_hash != last:
            raise CorruptedChainData(f"{store.kv.path}: key {KEY_ARCHIVER!r}: the archiver's previous segment header "
                                     f"hash is not the hash of the last stored segment header")

    # =========================================================================================
    # Reads

    def _header(self, block_hash: bytes) -> Header | None:
        header = self._headers.get(block_hash)
        if header is None:
            block = self.store.block(block_hash)
            if block is None:
                return None
            header = block.header
            if len(self._headers) > 50_000:
                self._headers.clear()
                self._pre_digests.clear()
            self._headers[block_hash] = header
        return header

    def _pre_digest(self, block_hash: bytes) -> PreDigest | None:
        """The pre-digest of a stored block (None for genesis)."""
        pre = self._pre_digests.get(block_hash)
        if pre is None:
            header = self._header(block_hash)
            if header is None or header.number == 0:
                return None
            pre = header.pre_digest(self.params)
            self._pre_digests[block_hash] = pre
        return pre

    def _slot_of(self, block_hash: bytes) -> int:
        pre = self._pre_digest(block_hash)
        return 0 if pre is None else pre.slot

    def best_header(self) -> Header:
        return self._header(self.best_hash)

    def best_number(self) -> int:
        return self.best_info.number

    def header(self, block_hash: bytes) -> Header | None:
        return self._header(bytes(block_hash))

    def block(self, key: bytes | int) -> SignedBlock | None:
        """A stored block by hash, or the canonical block at a number."""
        if isinstance(key, int):
            key = self.store.canonical_hash(key)
            if key is None:
                return None
        return self.store.block(bytes(key))

    def canonical_hash(self, number: int) -> bytes | None:
        return self.store.canonical_hash(number)

    def total_weight(self, block_hash: bytes) -> int | None:
        info = self.store.info(block_hash)
        return None if info is None else info.total_weight

    def state_root(self, block_hash: bytes | None = None) -> bytes:
        return self._header(block_hash or self.best_hash).state_root

    def trie_db(self) -> TrieDb:
        """A read view of the state trie (for runtime queries on any stored block's root)."""
        return self.store.trie_db()

    def piece(self, index: int) -> bytes | None:
        """An archived piece by global index (the farmer's piece_getter), None if not archived.
        It is checked against its segment commitment before it leaves the store (spec §4
        "Piece verification"): a damaged copy is `CorruptedChainData` naming the key."""
        segment, position = divmod(index, self.params.num_pieces)
        # The header first: a block's commit stores a new segment's pieces just before the
        # node's in-memory header list takes its header; until then the piece is not served.
        commitment = self.segment_commitment(segment)
        piece = self.store.piece(index) if commitment is not None else None
        if piece is None:
            return None
        if not is_piece_valid(self.kzg, piece, commitment, position, self.params):
            raise CorruptedChainData(f"{self.store.kv.path}: key {piece_key(index)!r}: piece {index} does not verify "
                                     f"against the commitment of segment {segment}: the store is damaged")
        return piece

    def segment_header(self, index: int) -> SegmentHeader | None:
        headers = self.segment_headers_list
        return headers[index] if 0 <= index < len(headers) else None

    def segment_commitment(self, index: int) -> bytes | None:
        header = self.segment_header(index)
        return None if header is None else header.segment_commitment

    def segment_headers(self, start: int = 0, count: int | None = None) -> list[SegmentHeader]:
        headers = self.segment_headers_list
        end = len(headers) if count is None else min(len(headers), start + count)
        return list(headers[start:end])

    def last_segment_headers(self, n: int) -> list[SegmentHeader]:
        return list(self.segment_headers_list[-n:]) if n > 0 else []

    def solution_ranges(self, block_hash: bytes | None = None) -> rt.Ranges:
        return self._ranges_at(self.state_root(block_hash))

    def history_size(self, block_hash: bytes | None = None) -> int:
        return self._history_at(self.state_root(block_hash))

    def _at_root(self, query: str, root: bytes, compute: Callable[[], Any]) -> Any:
        """The runtime's answer to `query` at state `root`, remembered: a state root names one
        state for good, and every slot asks the same three questions of the best block's state
        (PoT parameters, solution ranges, history size), and each import asks them again."""
        key = (query, bytes(root))
        value = self._root_queries.get(key)
        if value is None:
            value = compute()
            if len(self._root_queries) >= ROOT_QUERY_MEMO:
                self._root_queries.clear()
            self._root_queries[key] = value
        return value

    def _ranges_at(self, root: bytes) -> rt.Ranges:
        return self._at_root("solution_ranges", root,
                             lambda: rt.solution_ranges(self.runtime, self.trie_db(), root, self.params))

    def _history_at(self, root: bytes) -> int:
        return self._at_root("history_size", root, lambda: rt.history_size(self.runtime, self.trie_db(), root))

    def _pot_params(self, root: bytes):
        return self._at_root("pot_parameters", root, lambda: rt.pot_parameters(self.runtime, self.trie_db(), root))

    def pot_info(self) -> dict:
        """The PoT chain: current slot, iterations per slot, the next parameter change."""
        params = self.pot.params
        return {
            "slot": self.pot.current_slot,
            "slot_iterations": params.slot_iterations,
            "next_change": params.next_change,
        }

    # =========================================================================================
    # Listeners

    def on_block_imported(self, callback: Callable[[SignedBlock, bool], None]) -> None:
        self._block_listeners.append(callback)

    def on_slot(self, callback: Callable[[SlotInfo], None]) -> None:
        self._slot_listeners.append(callback)

    def on_block_produced(self, callback: Callable[[SignedBlock], None]) -> None:
        """Announce: called with every block this node produced (after its import)."""
        self._produced_listeners.append(callback)

    def _notify(self, notes: Sequence[_Notify]) -> None:
        for note in notes:
            for callback in list(self._block_listeners):
                try:
                    callback(note.block, note.is_new_best)
                except Exception:
                    log.exception("block import listener failed")

    # =========================================================================================
    # Extrinsic pool

    def _validate_extrinsic(self, data: bytes) -> tuple[bytes, int]:
        validate = getattr(self.runtime, "validate_extrinsic", None)
        with self._lock:
            root = self.state_root()
        if validate is not None:
            result = validate(self.trie_db(), root, data)
            if isinstance(result, tuple):
                return result[0], result[1]
            signer = getattr(result, "signer", None)
            nonce = getattr(result, "nonce", None)
            if signer is not None and nonce is not None:
                return signer, nonce
        from chain.runtime.extrinsics import decode_extrinsic

        ext = decode_extrinsic(data)
        if not getattr(ext, "is_signed", False):
            raise ValueError("only signed extrinsics enter the pool (inherents come from the block author)")
        return ext.signer, ext.nonce

    def submit_extrinsic(self, data: bytes) -> bytes:
        """Validate against the best state and pool it; returns the extrinsic hash."""
        return self.pool.submit(data)

    # =========================================================================================
    # Import

    def import_block(self, signed_block: SignedBlock | bytes) -> ImportResult:
        """Import a block (spec §8): checks, execution, fork choice, archiving, one commit."""
        if not isinstance(signed_block, SignedBlock):
            signed_block = SignedBlock.decode(bytes(signed_block), self.params)
        with self._lock:
            result, notes = self._import_locked(signed_block)
        self._notify(notes)
        return result

    def _import_locked(self, signed: SignedBlock) -> tuple[ImportResult, list[_Notify]]:
        params = self.params
        header = signed.header
        block_hash = header.hash()
        label = dict(number=header.number, block_hash=block_hash)
        if self.store.has_block(block_hash):
            return ImportResult(block_hash, header.number, False, already_known=True), []

        # --- the parent ---
        parent = self._header(header.parent_hash)
        if parent is None:
            raise UnknownParent(f"parent {header.parent_hash.hex()[:16]} is not known", **label)
        if header.number != parent.number + 1:
            raise WrongBlockNumber(f"number is not the parent's {parent.number} + 1", **label)
        parent_pre = self._pre_digest(header.parent_hash)
        parent_slot = 0 if parent_pre is None else parent_pre.slot

        # --- seal and slot (spec §8 "Header", "claim_slot") ---
        pre = check_seal(header, params)
        checks.check_slot_increasing(pre.slot, parent_slot, label)
        checks.check_slot_not_in_future(pre.slot, self.pot.current_slot, params, label)
        self._check_fork_above_archive(header, label)

        # --- PoT (spec §8 "PoT checks at import") ---
        pot_params = self._pot_params(parent.state_root)
        justification = signed.justification
        if justification is None:
            raise InvalidPotJustification("no PoT justification", **label)
        parent_future = checks.parent_future_slot(parent.number, parent_slot, params)
        first_input = checks.expected_justification_input(
            parent.number, parent_future, None if parent_pre is None else parent_pre.future_proof_of_time,
            self.genesis_pot_input, pot_params,
        )
        checks.check_pot_seed(justification, first_input, label)
        checks.check_checkpoint_count(justification, pre.slot, parent_future, params, label)
        checks.check_future_proof_of_time(justification, pre, label)
        verified = checks.verify_justification_checkpoints(
            justification, first_input, self.genesis_pot_input, pot_params, label, known=self.pot.get
        )
        if pre.slot > parent_future:
            slot_output = verified[pre.slot - parent_future - 1].output
        else:
            slot_output = self._ancestor_pot_output(header.parent_hash, pre.slot)
        checks.check_proof_of_time(pre, slot_output, label)

        # --- solution (spec §6, §7) ---
        ranges = self._ranges_at(parent.state_root)
        logs = header.consensus_logs()
        checks.check_solution_range_digest(logs, ranges.block_range, label)
        piece_check = PieceCheckParams(self._history_at(parent.state_root), self.segment_commitment)
        checks.check_solution(pre, ranges.block_range, slot_output, params, self.kzg, piece_check, label)

        # --- segment headers (spec §8) ---
        if header.number - 1 - params.confirmation_depth_k > self.archived_to:
            raise WrongSegmentHeaders(
                f"cannot check segment headers: archive is at block {self.archived_to}", **label
            )
        expected_segments = segment_headers_for_block(header.number, self.segment_headers_list, params.confirmation_depth_k)
        checks.check_segment_headers(logs, expected_segments, label)

        # --- execution (spec §8) ---
        signed.block.check_extrinsics_root()
        executed = self._own.pop(block_hash, None)
        if executed is None:
            timestamp = timestamp_of_block(signed.block.extrinsics)
            checks.check_timestamp_not_in_future(timestamp, self._wall_clock_ms(), label)
            executed = self._execute(parent.state_root, self.block_context(signed, pre, timestamp),
                                     signed.block.extrinsics, label)
        checks.check_state_root(header.state_root, executed.outcome.state_root, label)
        checks.check_consensus_logs(logs, executed.outcome.consensus_logs, label)

        return self._accept(signed, block_hash, pre, ranges.block_range, executed, verified)

    def _execute(self, parent_root: bytes, ctx, extrinsics: Sequence[bytes], label: dict) -> _Executed:
        from chain.runtime.errors import InvalidExtrinsic

        db = self.trie_db()
        try:
            outcome = rt.execute_block(self.runtime, db, parent_root, ctx, extrinsics)
        except InvalidExtrinsic as err:
            raise InvalidBlockExtrinsics(f"runtime rejected the block: {type(err).__name__}: {err}", **label) from None
        return _Executed(outcome, rt.new_nodes_of(outcome, db))

    def _check_fork_above_archive(self, header: Header, label: dict) -> None:
        """Archiving is final: the block's ancestor at the archived height must be canonical."""
        archived = self.archived_to
        if header.number <= archived:
            raise ForkBelowArchivedHeight(
                f"block number {header.number} is at or below the archived height {archived}", **label
            )
        h, n = header.parent_hash, header.number - 1
        while n > archived:
            parent = self._header(h)
            h, n = parent.parent_hash, n - 1
        check_fork_above_archived_height(h, self.store.canonical_hash(archived), archived, label)

    def _ancestor_pot_output(self, block_hash: bytes, slot: int) -> bytes | None:
        """The PoT output of `slot` from the justifications of `block_hash` and its ancestors
        (each block's justification covers the slots up to its slot + delay)."""
        delay = self.params.block_authoring_delay
        while True:
            header = self._header(block_hash)
            if header is None or header.number == 0:
                return None
            block = self.store.block(block_hash)
            pre = self._pre_digest(block_hash)
            future = pre.slot + delay
            count = len(block.justification.checkpoints) if block.justification else 0
            if future - count < slot <= future:
                return block.justification.checkpoints[slot - (future - count) - 1][-1]
            if slot > future:
                return None
            block_hash = header.parent_hash

    def _accept(self, signed: SignedBlock, block_hash: bytes, pre: PreDigest, solution_range: int,
                executed: _Executed, verified: Sequence[PotSlot]) -> tuple[ImportResult, list[_Notify]]:
        """Store the block, apply fork choice (spec §8 "Fork choice"), archive at depth K
        (spec §4), commit everything in one batch."""
        header = signed.header
        parent_info = self.store.info(header.parent_hash)
        total = cumulative_weight(parent_info.total_weight, solution_range)
        batch = BlockBatch()
        for key, value in executed.nodes.items():
            batch.put(b"trie:" + key, value)
        batch.put(block_key(block_hash), signed.encode())
        batch.put(info_key(block_hash), BlockInfo(header.number, total).encode())

        new_best = is_new_best(total, self.best_info.total_weight)
        reorg = False
        new_segments: list[NewArchivedSegment] = []
        archiver_backup = None
        if new_best:
            def header_of(h: bytes) -> Header:
                return header if h == block_hash else self._header(h)

            route = tree_route(self.best_hash, block_hash, lambda h: header_of(h).number, lambda h: header_of(h).parent_hash)
            reorg = bool(route.retracted)
            canonical: dict[int, bytes] = {}
            for number, _ in route.retracted:
                if number > header.number:
                    batch.delete(canon_key(number))
            for number, h in route.enacted:
                canonical[number] = h
                batch.put(canon_key(number), h)
            batch.put(KEY_BEST, block_hash)
            heights = blocks_to_archive(self.archived_to, header.number, self.params.confirmation_depth_k)
            if heights:
                archiver_backup = self.archiver.to_bytes()
                for number in heights:
                    h = canonical.get(number) or self.store.canonical_hash(number)
                    encoded = self.store.kv.get(block_key(h))
                    new_segments.extend(self.archiver.add_block(encoded))
                self._put_archive(batch, self.archiver, heights[-1], new_segments)
        try:
            self.store.commit(batch)
        except Exception:
            if archiver_backup is not None:
                self.archiver = Archiver.from_bytes(archiver_backup, self.params, self.kzg)
            raise

        # --- in-memory state follows the commit ---
        self._headers[block_hash] = header
        self._pre_digests[block_hash] = pre
        if new_best:
            self.best_hash = block_hash
            self.best_info = BlockInfo(header.number, total)
            if archiver_backup is not None:
                self.archived_to = heights[-1]
            for segment in new_segments:
                self.segment_headers_list.append(segment.segment_header)
            self._follow_pot(block_hash, verified)
            if self.farmer is not None and new_segments and hasattr(self.farmer, "set_history_size"):
                try:
                    self.farmer.set_history_size(self.history_size(), self.segment_commitment)
                except Exception:
                    log.exception("farmer history size update failed")
        self.pool.remove_included(signed.block.extrinsics)
        if reorg:
            log.info("reorg to %s", header.label)
        result = ImportResult(block_hash, header.number, new_best, reorg=reorg,
                              new_segments=tuple(s.segment_header for s in new_segments))
        return result, [_Notify(signed, new_best)]

    def _follow_pot(self, block_hash: bytes, verified: Sequence[PotSlot] | None) -> None:
        """The PoT chain follows the best block: its parameters and its future PoT."""
        header = self._header(block_hash)
        params = self._pot_params(header.state_root)
        if header.number == 0:
            self.pot.follow_best_block(params, 0, ())
            return
        pre = self._pre_digest(block_hash)
        future = pre.slot + self.params.block_authoring_delay
        if verified is None:
            verified = self._justification_slots(block_hash)
        self.pot.follow_best_block(params, future, verified)

    def _justification_slots(self, block_hash: bytes) -> list[PotSlot]:
        """The slots of a stored (already verified) block's justification, with their inputs."""
        block = self.store.block(block_hash)
        parent = self._header(block.header.parent_hash)
        parent_pre = self._pre_digest(block.header.parent_hash)
        parent_slot = 0 if parent_pre is None else parent_pre.slot
        pot_params = self._pot_params(parent.state_root)
        parent_future = checks.parent_future_slot(parent.number, parent_slot, self.params)
        slot_input = checks.expected_justification_input(
            parent.number, parent_future, None if parent_pre is None else parent_pre.future_proof_of_time,
            self.genesis_pot_input, pot_params,
        )
        out = []
        for cps in block.justification.checkpoints:
            entry = PotSlot(slot_input.slot, slot_input.seed, slot_input.slot_iterations, tuple(cps))
            out.append(entry)
            slot_input = next_slot_input(entry, self.genesis_pot_input, pot_params)
        return out

    # =========================================================================================
    # Production (spec §8 "Slot worker", "claim_slot")

    def attach_farmer(self, farmer, signer=None) -> None:
        self.farmer = farmer
        if signer is not None:
            self.farmer_signer = signer

    def _on_pot_slot(self, entry: PotSlot) -> None:
        info = SlotInfo(entry.slot, entry.output, entry.slot_iterations)
        for callback in list(self._slot_listeners):
            try:
                callback(info)
            except Exception:
                log.exception("slot listener failed")
        with self._slot_cond:
            self._latest_slot = entry
            self._slot_cond.notify_all()

    def run_slot(self) -> SignedBlock | None:
        """Prove one PoT slot, publish it, and run the slot worker on it (synchronously)."""
        entry = self.pot_worker.step()
        if entry is None:
            return None
        return self.on_new_slot(entry.slot)

    def produce_blocks(self, count: int, max_slots: int | None = None) -> list[SignedBlock]:
        """Run slots until `count` blocks were produced (or `max_slots` slots passed).

        Slots run back to back here, not on the clock, so before each one the farmer gets to
        finish plotting or replotting (`Farmer.wait_plotted`, at most `PLOT_WAIT_S`): otherwise
        how many slots pass without a solution would depend on how fast this loop is."""
        produced = []
        slots = 0
        limit = max_slots if max_slots is not None else 50 * count + 50
        wait_plotted = getattr(self.farmer, "wait_plotted", None)
        while len(produced) < count and slots < limit:
            if wait_plotted is not None:
                wait_plotted(PLOT_WAIT_S)
            block = self.run_slot()
            slots += 1
            if block is not None:
                produced.append(block)
        return produced

    def on_new_slot(self, pot_slot: int) -> SignedBlock | None:
        """The slot worker: claim slot t − delay on top of the best block (spec §8)."""
        slot = slot_to_claim(pot_slot, self.params)
        if slot < 1 or self.farmer is None or self.farmer_signer is None:
            return None
        try:
            return self.produce_block(slot)
        except InvalidBlock:
            log.exception("produced block for slot %d failed its own import", slot)
            return None

    def _claim_context(self, slot: int, parent_hash: bytes):
        """Everything claiming `slot` on `parent_hash` needs from the node (under the lock)."""
        params = self.params
        parent = self._header(parent_hash)
        parent_pre = self._pre_digest(parent_hash)
        parent_slot = 0 if parent_pre is None else parent_pre.slot
        if not can_claim_slot(slot, parent_slot):
            return None
        parent_future = checks.parent_future_slot(parent.number, parent_slot, params)
        slots = self.pot.range(parent_future + 1, slot + params.block_authoring_delay)
        if slots is None:
            return None
        pot_params = self._pot_params(parent.state_root)
        first_input = checks.expected_justification_input(
            parent.number, parent_future, None if parent_pre is None else parent_pre.future_proof_of_time,
            self.genesis_pot_input, pot_params,
        )
        if slots[0].seed != first_input.seed:
            return None  # the local PoT chain does not follow this parent
        slot_entry = self.pot.get(slot)
        if slot_entry is None:
            return None
        return parent, slots, slot_entry.output, self._ranges_at(parent.state_root), self._history_at(parent.state_root)

    def produce_block(
        self,
        slot: int,
        *,
        parent_hash: bytes | None = None,
        solution=None,
        segment_headers: Sequence[SegmentHeader] | None = None,
        extrinsics: Sequence[bytes] | None = None,
        import_block: bool = True,
    ) -> SignedBlock | None:
        """Claim `slot` on the best block (or `parent_hash`) and build, seal and import a block
        (spec §8). Returns None when the slot cannot be claimed or no solution is in range.

        Test hooks: `solution` forces the pre-digest's solution, `segment_headers` the headers
        given to the inherent, `extrinsics` the pool extrinsics; `import_block=False` returns
        the block without importing it."""
        with self._lock:
            parent_hash = parent_hash or self.best_hash
            claim = self._claim_context(slot, parent_hash)
        if claim is None:
            return None
        parent, slots, slot_output, ranges, history = claim
        if solution is None:
            # Votes are not produced yet, so the farmer audits with the block range and proves
            # only its best candidate (proving costs a PoS table per candidate).
            solutions = self.farmer.solve(
                slot, slot_output, ranges.block_range, ranges.block_range, history, self.segment_commitment,
                max_solutions=1,
            )
            chosen = first_solution_in_range(solutions, ranges.block_range)
            if chosen is None:
                return None
            solution = chosen[1]
        pre = PreDigest(slot, solution, PotInfo(slot_output, slots[-1].output))
        number = parent.number + 1
        ctx = block_context(number, parent_hash, pre,
                            author_timestamp(self._timestamp_at(parent_hash), self._wall_clock_ms()))
        with self._lock:
            if segment_headers is None:
                segment_headers = segment_headers_for_block(number, self.segment_headers_list, self.params.confirmation_depth_k)
            pool_extrinsics = list(self.pool.ready() if extrinsics is None else extrinsics)
            executed, included = self._execute_for_production(parent.state_root, ctx, segment_headers, pool_extrinsics)
            signed = assemble_block(
                parent_hash, number, executed.outcome.state_root, pre, executed.outcome.consensus_logs,
                included, justification_of(slots), self.farmer_signer,
            )
            if not import_block:
                return signed
            self._own[signed.hash()] = executed
            try:
                self.import_block(signed)
            finally:
                self._own.pop(signed.hash(), None)
        self.produced.append(signed.hash())
        log.debug("produced %s at slot %d", signed.header.label, slot)
        for callback in list(self._produced_listeners):
            try:
                callback(signed)
            except Exception:
                log.exception("block announcement listener failed")
        return signed

    def _execute_for_production(self, parent_root: bytes, ctx, segment_headers: Sequence[SegmentHeader],
                                pool_extrinsics: list[bytes]):
        """The block's extrinsics and their execution: the inherents (with the segment headers
        this block must carry), then the pool extrinsics the runtime accepts; refused ones are
        dropped from the pool (`Runtime.build_block`)."""
        db = self.trie_db()
        built = self.runtime.build_block(db, parent_root, ctx, pool_extrinsics, list(segment_headers))
        if built.rejected:
            self.pool.remove([raw for raw, _ in built.rejected])
            for _, err in built.rejected:
                log.info("dropped extrinsic from the pool: %s", err)
        return _Executed(built.outcome, rt.new_nodes_of(built.outcome, db)), list(built.extrinsics)

    # =========================================================================================
    # Threads

    def start(self) -> None:
        """Start the PoT worker and the slot worker threads (and the farmer's plotting)."""
        if self.farmer is not None and hasattr(self.farmer, "start") and not getattr(self.farmer, "is_running", lambda: True)():
            self.farmer.start(self.history_size(), self.segment_commitment)
            self._started_farmer = True
        self._stopping.clear()
        self._slot_thread = threading.Thread(target=self._slot_loop, name="slot-worker", daemon=True)
        self._slot_thread.start()
        self.pot_worker.start()

    def _slot_loop(self) -> None:
        last = 0
        while not self._stopping.is_set():
            with self._slot_cond:
                while not self._stopping.is_set() and (self._latest_slot is None or self._latest_slot.slot <= last):
                    self._slot_cond.wait(0.5)
                if self._stopping.is_set():
                    return
                entry = self._latest_slot
            last = entry.slot
            try:
                self.on_new_slot(entry.slot)
            except Exception:
                log.exception("slot worker failed at slot %d", entry.slot)

    def stop(self) -> None:
        self.pot_worker.stop()
        self._stopping.set()
        with self._slot_cond:
            self._slot_cond.notify_all()
        if self._slot_thread is not None:
            self._slot_thread.join()
            self._slot_thread = None
        if self._started_farmer:
            self.farmer.stop()
            self._started_farmer = False

    def close(self) -> None:
        self.stop()
        self.store.close()

    def __enter__(self) -> ConsensusNode:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
