"""The dev network in one process: PoT, the farmer, the consensus node, the domain operator, and
the JSON-RPC gateway (what `autonomys dev` runs).

Layout of a data directory:

    consensus/     the consensus chain (blocks, state trie, archiver, segments, pieces)
    farm/          the farmer's plots (farm.json, sector-NNNNN.plot + .meta)
    domains/0/     the EVM domain (blocks, state, receipts, execution receipts); pool/ beside it
    LOCK           held (flock) by the one process using the directory

The consensus chain and the domain belong together: a directory with one and not the other
was damaged, and is refused (`check_data_dir`) rather than completed with a new chain.

How a transaction reaches a receipt (spec domains.md §2): `eth_sendRawTransaction` puts it in the
domain pool; at the next PoT slot the operator makes a bundle of pool transactions, carrying the
receipt of the previous domain block, and submits it to the consensus pool as a signed
`Domains.submit_bundle` extrinsic from the operator's account; the farmer's next block includes
it; when that block becomes the best block, the operator derives the domain block from the
block's successful bundles (inbox order, deduplicated, shuffled by the consensus randomness,
with the consensus timestamp and randomness as the domain block's timestamp and prevRandao),
executes it and commits it with its execution receipt.

Threads: the consensus node runs its PoT worker and slot worker (and the farmer plots in the
background); a single *domain driver* thread serves the operator from a queue fed by the node's
slot and block listeners, so slots and blocks reach the operator in order and the PoT worker is
never held up by domain execution.

Restart: the operator's latest receipt says which consensus block the domain has followed to;
on start the driver replays the canonical consensus blocks after it (a crash between a consensus
block's commit and its domain block's commit loses nothing).
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import to_canonical_address

from chain.block import SignedBlock
from chain.farmer import Farmer
from chain.farming import calculate_solution_distance, public_key_hash, sector_id, sector_slot_challenge
from chain.farming.encoding import proof_mask
from chain.keys import Ed25519Signer
from chain.node import ConsensusNode
from chain.params import DEV, Params
from chain.pot import global_challenge
from chain.runtime import GenesisConfig, Runtime
from chain.runtime.extrinsics import SignedExtrinsic, decode_extrinsic, signed_extrinsic
from chain.runtime.errors import InvalidExtrinsic
from chain.runtime.timestamp import timestamp_of_block
from chain.store import KVStore, StoreCorrupted, StoreError
from domains.bundles import Bundle
from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts
from domains.evm.node import DomainNode
from domains.evm.txpool import PoolJournal
from domains.operator import DamagedReceipt, Operator, genesis_domain
from domains.runtime import DomainsPallet, genesis_config, submit_bundle_call
from domains.runtime import params as domain_params_mod
from domains.runtime.pallet import bundle_of_call

log = logging.getLogger("autonomys.devnet")

DOMAIN_ID = 0
OPERATOR_ID = 0
#: Consensus-chain balances at genesis (in the smallest unit; 10^18 = 1 token).
FARMER_BALANCE = 1_000 * 10**18
OPERATOR_BALANCE = 1_000_000 * 10**18
DEV_ACCOUNT_BALANCE = 1_000_000 * 10**18


class DataDirError(Exception):
    """The data directory cannot be used as it is; the message names the file and why."""


#: The stores of a data directory that exist together or not at all (their data files).
WHOLE_STORES = {"the consensus chain": Path("consensus") / "chain" / "data.mdb",
                "the EVM domain": Path("domains") / str(DOMAIN_ID) / "data.mdb"}


def check_data_dir(base: Path) -> None:
    """A data directory holds both the consensus chain and the domain, or neither (a new
    network). With one missing, opening would create it anew: a new consensus genesis beside
    the old domain (which then rewinds its blocks to follow it), or a new domain genesis beside
    a chain that carries the old one's receipts. Refuse instead, naming what is missing."""
    present = {name: base / rel for name, rel in WHOLE_STORES.items() if (base / rel).exists()}
    missing = [f"{base / rel} ({name})" for name, rel in WHOLE_STORES.items() if name not in present]
    if present and missing:
        kept = ", ".join(f"{path} ({name})" for name, path in present.items())
        raise DataDirError(f"{base} is incomplete: {', '.join(missing)} is missing, while {kept} holds data; "
                           f"restore the missing file, or start with a new --base-path")


class DataDirLock:
    """The one process using a data directory: an exclusive `flock` on `<base>/LOCK`, which
    holds that process's id. The kernel drops the lock when the process ends, however it
    ends, so a kill -9 leaves nothing to clean up."""

    def __init__(self, base: Path) -> None:
        self.path = base / "LOCK"
        try:
            base.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a+")
        except OSError as exc:
            raise DataDirError(f"cannot use {base} as the data directory: {exc}") from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip() or "?"
            self._file.close()
            raise DataDirError(f"{base} is in use by another node (process {holder} holds {self.path}); "
                               f"stop it, or give this one another --base-path") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            self._file.close()


def open_pool_journal(path: Path) -> KVStore:
    """The pool journal's store. It holds only transactions waiting for a block (best effort,
    written without fsync), so a damaged one is moved aside with a warning, not fatal."""
    try:
        return KVStore(path, durable=False)
    except StoreCorrupted as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        path.rename(aside)
        log.warning("%s; so the pool journal (transactions waiting for a block, never sealed ones) was moved to "
                    "%s and starts empty", str(exc).split(";")[0], aside)
        return KVStore(path, durable=False)


@dataclass
class DevNetConfig:
    """What `autonomys dev` composes (the CLI fills it from its flags)."""

    base_path: Path
    domain_genesis: object  # a domains.evm.genesis genesis (dev_genesis or a genesis.json)
    params: Params = DEV
    domain_params: domain_params_mod.DomainParams = domain_params_mod.DEV
    sectors: int = 1
    dev_signer: bool = True
    #: False: the operator makes no bundles, so domain transactions wait in the pool
    #: (`autonomys dev --no-operator`: a consensus chain alone, the domain paused)
    operator: bool = True
    #: where block lines and plotting progress go (None: the `logging` module only)
    out: Callable[[str], None] | None = print
    durable: bool = True
    #: wall-clock seconds, the time produced blocks carry (injectable for tests)
    clock: Callable[[], float] = time.time


@dataclass
class DevNetStats:
    consensus_blocks: int = 0
    domain_blocks: int = 0
    bundles_submitted: int = 0
    bundles_refused: int = 0
    last_domain_block_at: float = 0.0
    first_block_at: float | None = None
    started_at: float = field(default_factory=time.monotonic)


def solution_distance(solution, slot: int, proof_of_time: bytes, params: Params) -> int:
    """The audit distance of a block's solution (spec §6), for the block log line."""
    sid = sector_id(public_key_hash(solution.public_key), solution.sector_index, solution.history_size)
    challenge = global_challenge(proof_of_time, slot)
    ssc = sector_slot_challenge(sid, challenge)
    masked = bytes(a ^ b for a, b in zip(solution.chunk, proof_mask(solution.proof_of_space)))
    return calculate_solution_distance(challenge, masked, ssc)


class DevNetwork:
    """See the module docstring."""

    def __init__(self, config: DevNetConfig) -> None:
        self.config = config
        self.params = config.params
        self.stats = DevNetStats()
        base = Path(config.base_path)
        self._lock = DataDirLock(base)
        try:
            check_data_dir(base)
            self._open(config, base)
        except BaseException:
            self._lock.release()  # a node that failed to open leaves the directory free
            raise

    def _open(self, config: DevNetConfig, base: Path) -> None:
        self.farmer_signer = Ed25519Signer.dev("farmer")
        self.operator_signer = Ed25519Signer.dev("operator")

        # -- the EVM domain
        domain_path = base / "domains" / str(DOMAIN_ID)
        self.domain_chain = DomainChain.open_or_create(domain_path, config.domain_genesis)
        keys = {to_canonical_address(a): k for a, k in dev_accounts()} if config.dev_signer else {}
        self._journal_store = open_pool_journal(domain_path / "pool")
        self.domain_node = DomainNode(self.domain_chain, dev_keys=keys, journal=PoolJournal(self._journal_store))
        kept, stale = self.domain_node.pool.restore()
        if kept or stale:
            log.info("domain pool: %d waiting transactions restored, %d no longer valid", kept, stale)

        # -- the consensus chain with the domains pallet
        self.genesis_domain = genesis_domain(self.domain_chain, self.operator_signer.public_key,
                                             params=config.domain_params, domain_id=DOMAIN_ID, operator_id=OPERATOR_ID,
                                             tx_range_divisor=1)  # one operator: its bundles take every sender
        self.domains_pallet = DomainsPallet(config.domain_params)
        self.runtime = Runtime(self.params, extra_pallets=[self.domains_pallet])
        balances = {self.farmer_signer.public_key: FARMER_BALANCE, self.operator_signer.public_key: OPERATOR_BALANCE}
        for name in ("alice", "bob"):
            balances[Ed25519Signer.dev(name).public_key] = DEV_ACCOUNT_BALANCE
        # used only when the chain is created: block timestamps count slots from this moment
        consensus_genesis = GenesisConfig(balances=balances, sudo_key=Ed25519Signer.dev("alice").public_key,
                                          timestamp=int(time.time() * 1000),
                                          extra={self.domains_pallet.name: genesis_config([self.genesis_domain])})
        self.node = ConsensusNode(base / "consensus", self.params, self.runtime, self.farmer_signer,
                                  genesis_config=consensus_genesis, durable=config.durable, clock=config.clock)
        self.farmer = Farmer(base / "farm", self.params, self.farmer_signer, self.farmer_signer.public_key,
                             self.node.piece, config.sectors, kzg=self.node.kzg,
                             progress=self._on_plotting_progress if config.out else None)
        self.node.attach_farmer(self.farmer)

        # -- the operator
        self.operator = Operator(self.domain_node, self.operator_signer, DOMAIN_ID, OPERATOR_ID,
                                 config=self.genesis_domain.config, params=config.domain_params)
        self._operator_nonce: int | None = None
        self._events: queue.Queue = queue.Queue()
        self._driver: threading.Thread | None = None
        self._stopping = threading.Event()
        #: set when the domain's data turned out damaged (the driver then handles no events)
        self.domain_halted: Exception | None = None
        self.node.on_slot(lambda info: self._events.put(("slot", info)))
        self.node.on_block_imported(self._on_block_imported)

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def genesis_hash(self) -> bytes:
        return self.node.canonical_hash(0)

    def start(self) -> None:
        """Start plotting, PoT, the slot worker and the domain driver."""
        self._stopping.clear()
        self._driver = threading.Thread(target=self._drive, name="domain-driver", daemon=True)
        self._driver.start()
        self._events.put(("catch-up", None))
        self.node.start()

    def stop(self) -> None:
        self._stopping.set()
        self._events.put(("stop", None))
        self.node.stop()
        if self._driver is not None:
            self._driver.join(timeout=30)
        self.farmer.stop()

    def close(self) -> None:
        self.stop()
        self.node.close()
        self._journal_store.close()
        self.domain_chain.close()
        self._lock.release()

    # -- events from the node (on its threads) ---------------------------------------------------

    def _on_block_imported(self, block: SignedBlock, is_new_best: bool) -> None:
        if is_new_best:
            self._events.put(("best", block))

    def _on_plotting_progress(self, progress) -> None:
        from chain.farmer import format_progress

        self._say(f"farmer: {format_progress(progress)}")

    # -- the domain driver thread ---------------------------------------------------------------

    def _drive(self) -> None:
        while not self._stopping.is_set():
            kind, item = self._events.get()
            if kind == "stop":
                return
            self._handle(kind, item)

    def _handle(self, kind: str, item) -> None:
        if self.domain_halted is not None:
            return
        try:
            if kind == "slot":
                self._on_slot(item)
            else:  # a new best block, or the catch-up at start: follow the canonical chain
                self._follow_best_chain()
        except (StoreError, DamagedReceipt) as exc:
            # Damaged data: going on would fail the same way at every event. The consensus
            # chain and the RPC keep running; the domain waits for the store to be restored.
            self.domain_halted = exc
            log.error("the domain is halted, its data is damaged: %s (restore it and restart the node)", exc)
        except Exception:  # one bad event must not stop the domain
            log.exception("domain driver failed on %s", kind)

    def process_pending_events(self) -> int:
        """Handle the queued slot and block events on this thread (without `start()`: a test
        or tool drives the node with `node.run_slot()` and then calls this). Returns how many."""
        handled = 0
        while True:
            try:
                kind, item = self._events.get_nowait()
            except queue.Empty:
                return handled
            if kind != "stop":
                self._handle(kind, item)
                handled += 1

    def _on_slot(self, info) -> None:
        """The operator's bundle for the slot the farmer claims now (PoT slot − authoring delay,
        spec §8 `claim_slot`): a bundle must not be from a slot after its block's."""
        if not self.config.operator or not self.farmer.plotted_sectors():
            return  # paused, or no blocks until the farm is plotted: bundles would only pile up
        slot = info.slot - self.params.block_authoring_delay
        entry = self.node.pot.get(slot) if slot >= 1 else None
        if entry is None:
            return
        bundle = self.operator.on_slot(slot, entry.output)
        if bundle is not None:
            self.submit_bundle(bundle)

    def submit_bundle(self, bundle: Bundle) -> bytes | None:
        """`Domains.submit_bundle(bundle)` signed by the operator's account; its hash, or None."""
        state_nonce = self.runtime.nonce(self.node.trie_db(), self.node.state_root(), self.operator_signer.public_key)
        nonce = state_nonce if self._operator_nonce is None else max(state_nonce, self._operator_nonce)
        extrinsic = signed_extrinsic(self.operator_signer, submit_bundle_call(bundle, self.domains_pallet.index),
                                     nonce, self.genesis_hash)
        try:
            ext_hash = self.node.submit_extrinsic(extrinsic)
        except (InvalidExtrinsic, ValueError, OverflowError) as exc:
            self.stats.bundles_refused += 1
            self._operator_nonce = None  # re-read the nonce from the state next time
            log.warning("bundle for slot %d refused by the consensus pool: %s", bundle.slot, exc)
            return None
        self._operator_nonce = nonce + 1
        self.stats.bundles_submitted += 1
        return ext_hash

    def _follow_best_chain(self) -> None:
        """Feed the operator every canonical consensus block after the last one it followed;
        after a reorg (or a restart that finds one), first rewind the domain to the last block
        derived from a consensus block that is still canonical."""
        best = self.node.best_header()
        before = self.operator.last_consensus_number
        kept = self.operator.reconcile_with_consensus(self.node.canonical_hash)
        if kept != before:
            self._say(f"consensus reorg: the domain rewound to follow the new best chain after consensus block #{kept}")
        for number in self.operator.pending_consensus_numbers(best.number):
            block_hash = self.node.canonical_hash(number)
            signed = self.node.block(block_hash) if block_hash is not None else None
            if signed is None:
                break  # the best chain moved under us: the next event resumes from here
            self._follow(signed)

    def _follow(self, signed: SignedBlock) -> None:
        header = signed.block.header
        pre = header.pre_digest(self.params)
        ctx = self.node.block_context(signed, pre, timestamp_of_block(signed.block.extrinsics))
        bundles = self.successful_bundles(signed)
        self.stats.consensus_blocks += 1
        if self.stats.first_block_at is None:
            self.stats.first_block_at = time.monotonic()
        distance = solution_distance(pre.solution, pre.slot, pre.proof_of_time, self.params)
        self._say(f"consensus #{header.number} 0x{signed.hash().hex()[:12]}  slot {pre.slot}  farmer "
                  f"0x{pre.solution.public_key.hex()[:8]}  distance {distance:.3e}  bundles {len(bundles)}")
        receipt = self.operator.on_consensus_block(header.number, signed.hash(), ctx.timestamp, ctx.randomness, bundles)
        if receipt is not None:
            self.stats.domain_blocks += 1
            self.stats.last_domain_block_at = time.monotonic()
            block = self.domain_chain.block_of(self.domain_chain.header_by_hash(receipt.domain_block_hash))
            self._say(f"  domain #{receipt.domain_block_number} 0x{receipt.domain_block_hash.hex()[:12]}  "
                      f"{len(block.transactions)} transactions  gas used {block.header.gas_used:,}  "
                      f"receipt 0x{receipt.hash().hex()[:12]}")

    def successful_bundles(self, signed: SignedBlock) -> list[Bundle]:
        """The bundles of this domain carried by the block's `submit_bundle` extrinsics that
        succeeded (the runtime's `ExtrinsicSuccess` events), in block order."""
        root = signed.block.header.state_root
        succeeded = {e.phase for e in self.runtime.events(self.node.trie_db(), root)
                     if e.pallet == "System" and e.name == "ExtrinsicSuccess"}
        bundles = []
        for index, raw in enumerate(signed.block.extrinsics):
            if index not in succeeded:
                continue
            try:
                ext = decode_extrinsic(raw)
            except InvalidExtrinsic:
                continue
            if not isinstance(ext, SignedExtrinsic):
                continue
            bundle = bundle_of_call(ext.call, self.domains_pallet.index)
            if bundle is not None and bundle.domain_id == DOMAIN_ID:
                bundles.append(bundle)
        return bundles

    def _say(self, line: str) -> None:
        if self.config.out is not None:
            self.config.out(line)
        else:
            log.info(line)
