"""The domain operator (spec/domains.md §2): bundle production, domain block derivation and
execution, execution receipts.

`Operator` is independent of the consensus node's threads. The node wiring calls two methods:
- `on_slot(slot, proof_of_time) -> Bundle | None` at every slot: if elected (always, for the
  single genesis operator), a bundle of pool transactions within the domain's size and weight
  limits, carrying the receipt of the latest domain block; an *empty* bundle while a receipt
  of a block with transactions is still inside the challenge period (spec §2.7) and no bundle
  of ours carrying the current receipt is in flight; otherwise None. The wiring submits it as
  `domains.runtime.submit_bundle_call(bundle)`.
- `on_consensus_block(number, hash, timestamp_ms, randomness, bundles) -> ExecutionReceipt |
  None` for every new best consensus block: `bundles` are the bundles the block's successful
  `submit_bundle` calls carried, in block order (the wiring extracts them, e.g. with
  `domains.runtime.bundles_from_calls` filtered by the extrinsic results, or cross-checked with
  `domains.runtime.successful_bundles`). If some are for this domain, the operator derives the
  domain block (spec §2.4: `derive_domain_block`), executes it with
  `DomainNode.produce_block`, computes the execution trace, and returns the new receipt.
  Consensus block numbers must increase from one call to the next (the canonical chain, in
  order); a block at or below the last one processed is refused unless a reorg came first.

Consensus reorgs and restarts. A domain block exists only for a consensus block of the
canonical chain, so the domain follows the consensus chain's branch:
- `on_consensus_reorg(common_ancestor_number) -> list[ExecutionReceipt]` when the new best
  consensus block is on another branch (the wiring computes the common ancestor, e.g. with
  `chain.node.fork_choice.tree_route`). The operator keeps the latest receipt whose consensus
  block is at or below the ancestor (the last domain block derived from a consensus block that
  is still canonical), rewinds the domain chain to that receipt's block and deletes the stored
  receipts above it, in one durable batch (`DomainNode.rewind_to`: the transactions of the
  abandoned blocks go back to the pool if still valid); it returns the abandoned receipts. The
  wiring then calls `on_consensus_block` for each block of the new branch, in order, from
  common_ancestor_number + 1.
- `last_consensus_number`: the last consensus block number processed; after a (re)start it is
  the latest stored receipt's `consensus_block_number` (0 at domain genesis).
  `pending_consensus_numbers(best_number)` are the consensus blocks the wiring must feed,
  in order, to catch up (blocks after the latest receipt that carried no bundles for the domain
  are fed again: they derive nothing).
- `reconcile_with_consensus(canonical_hash_of) -> int`: what the wiring calls at start (and may
  call at every new best block): if the last consensus block processed is no longer canonical
  (a reorg while the node was down, or one the wiring did not report), the operator rewinds to
  its latest receipt whose consensus block is still canonical (`on_consensus_reorg`); returns
  `last_consensus_number`, after which the wiring feeds the canonical blocks.
Stored receipts are keyed by domain block number and only ever describe canonical domain
blocks: a rewind deletes the abandoned ones in its own batch, and each new block writes its own
receipt in the block's batch, so a restart loads the canonical receipts.

Deriving the domain block of a consensus block (spec §2.4), `derive_domain_block`:
1. each bundle is checked against the parent domain state (`domains.bundles.bundle_validity`
   with `EvmTxRules`); an invalid bundle is excluded entirely and recorded as Invalid(type, i);
2. the transactions of the valid bundles, in inbox order, are deduplicated by transaction
   hash (first occurrence wins);
3. they are shuffled by `domains.bundles.shuffle_extrinsics` with seed
   `shuffling_seed(randomness)` (grouped by sender, so each sender's nonces stay in order);
4. the domain block is built from that list on the parent: the builder includes each
   transaction in order that is valid against the state at its position and fits the remaining
   gas (a transaction made invalid by an earlier one is left out, not included as failed: an EVM
   block cannot carry it). The EVM has no inherents: the timestamp inherent becomes the block's
   timestamp (consensus timestamp in ms // 1000, raised to parent + 1 if needed) and the
   consensus randomness becomes the block's prevRandao (`mix_hash`).

Execution trace (spec §2.5, §3.5): [state root after the block's pre-processing, after each
included transaction, the final state root]; the builder records it while sealing
(`DomainNode.produce_block(..., trace=True)`). `execution_trace(chain, block)` recomputes it
independently by re-executing a committed block on its parent in a scratch view (what a
verifier or a fraud-proof generator needs; the tests hold the two to each other).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

from eth.abc import BlockAPI, SignedTransactionAPI
from eth_utils import keccak

from chain.keys import Signer
from chain.scale import compact_len, decode_u32, encode_u32
from domains.bundles import (
    WEIGHT_PER_GAS,
    Bundle,
    CheckedBundle,
    bundle_validity,
    deduplicate_extrinsics,
    election_threshold,
    is_below_threshold,
    make_bundle,
    prove_election,
    shuffle_extrinsics,
    shuffling_seed,
    signer_in_tx_range,
    tx_range_for,
    vrf_hash,
)
from domains.evm.chain import DomainChain
from domains.evm.node import DomainNode
from domains.evm.txpool import (
    PoolView,
    TxRejected,
    check_signature_and_chain_id,
    check_transaction_against_state,
    decode_transaction,
)
from domains.receipts import (
    BlockFees,
    ExecutionReceipt,
    InboxedBundle,
    Transfers,
    execution_trace_root,
    genesis_receipt,
)
from domains.runtime.params import DEV, DomainConfig, DomainParams
from domains.runtime.pallet import GenesisDomain, GenesisOperator

log = logging.getLogger("autonomys.operator")

RECEIPT_KEY_PREFIX = b"autonomys:operator:receipt:"
TX_COUNT_KEY_PREFIX = b"autonomys:operator:txcount:"
#: the receipt's hash (spec §2.5), written beside it: what the consensus chain records of it,
#: and the check that the stored bytes are still those (LMDB keeps no checksums)
RECEIPT_HASH_KEY_PREFIX = b"autonomys:operator:receipt-hash:"


def receipt_records(receipt: ExecutionReceipt, tx_count: int) -> dict[bytes, bytes]:
    """The store records of a domain block's receipt (committed with the block itself)."""
    key = receipt.domain_block_number.to_bytes(4, "big")
    return {RECEIPT_KEY_PREFIX + key: receipt.encode(), RECEIPT_HASH_KEY_PREFIX + key: receipt.hash(),
            TX_COUNT_KEY_PREFIX + key: encode_u32(tx_count)}


def receipt_deletions(numbers) -> dict[bytes, None]:
    """The store writes that delete the receipt records of domain blocks `numbers` (committed
    with the rewind that abandons those blocks)."""
    writes: dict[bytes, None] = {}
    for number in numbers:
        key = number.to_bytes(4, "big")
        writes[RECEIPT_KEY_PREFIX + key] = None
        writes[RECEIPT_HASH_KEY_PREFIX + key] = None
        writes[TX_COUNT_KEY_PREFIX + key] = None
    return writes


class OperatorError(Exception):
    """The operator cannot proceed as asked; the message says why and where."""


class DamagedReceipt(OperatorError):
    """A stored execution receipt is not what was written (LMDB keeps no checksums); the
    message names the key and the store."""


# ---------------------------------------------------------------------------------------------
# The EVM side of the bundle rules


class CumulativeTxCheck:
    """The `IllegalTx` rule for EVM transactions (spec §2.4 rule 5), run cumulatively over a
    bundle on the parent state: each transaction passes the pool's stateful checks (valid
    fields, gas ≤ block gas limit, intrinsic gas, fee cap ≥ the next block's base fee, funds
    for gas × fee cap + value) against the sender's balance left by its earlier transactions in
    the bundle, and its nonce is exactly the sender's next one."""

    def __init__(self, view: PoolView) -> None:
        self.view = view
        self._nonce: dict[bytes, int] = {}
        self._balance: dict[bytes, int] = {}

    def check(self, sender: bytes, tx: SignedTransactionAPI) -> str | None:
        """None and the sender's running nonce and balance advanced, or why `tx` is illegal."""
        nonce = self._nonce.get(sender, self.view.nonce_of(sender))
        balance = self._balance.get(sender, self.view.balance_of(sender))
        if tx.nonce != nonce:
            return f"nonce {tx.nonce}, expected {nonce} for {sender.hex()}"
        step_view = PoolView(chain_id=self.view.chain_id, base_fee=self.view.base_fee, gas_limit=self.view.gas_limit,
                             decode=self.view.decode, nonce_of=lambda _a: nonce, balance_of=lambda _a: balance,
                             intrinsic_gas=self.view.intrinsic_gas)
        try:
            check_transaction_against_state(tx, sender, step_view)
        except TxRejected as exc:
            return exc.message
        self._nonce[sender] = nonce + 1
        self._balance[sender] = balance - (tx.gas * tx.max_fee_per_gas + tx.value)
        return None


#: `verified(raw)`: the decoded transaction and its sender when the exact bytes `raw` were
#: already decoded and signature- and chain-id-checked (by the pool), else None.
Verified = Callable[[bytes], "tuple[SignedTransactionAPI, bytes] | None"]


class EvmTxRules:
    """`domains.bundles.BundleTxRules` for raw EVM transactions on the parent state `view`.
    Decoded transactions are kept by hash for the block builder.

    Decoding and sender recovery are pure functions of the bytes, so for bytes that `verified`
    knows (the operator's own pool) the pool's transaction object is taken instead of decoding
    them again (the RLP decode and hashing are most of the check; the recovered sender is also
    cached by hash in `check_signature_and_chain_id`); any other bytes are decoded and checked
    here."""

    def __init__(self, view: PoolView, verified: Verified | None = None) -> None:
        self.view = view
        self.verified = verified
        self.transactions: dict[bytes, SignedTransactionAPI] = {}
        self._by_raw: dict[bytes, SignedTransactionAPI] = {}

    def decode(self, raw: bytes) -> tuple[bytes, int, bytes]:
        known = self.verified(raw) if self.verified is not None else None
        if known is not None:
            tx, sender = known
        else:
            tx = decode_transaction(self.view.decode, raw)
            sender = check_signature_and_chain_id(tx, self.view.chain_id)
        self.transactions[tx.hash] = tx
        self._by_raw[bytes(raw)] = tx
        return sender, tx.gas, tx.hash

    def first_illegal(self, decoded: Sequence[tuple[bytes, bytes]]) -> tuple[int, str] | None:
        check = CumulativeTxCheck(self.view)
        for index, (sender, raw) in enumerate(decoded):
            why = check.check(sender, self._by_raw[bytes(raw)])
            if why is not None:
                return index, why
        return None


@dataclass(frozen=True)
class DerivedBlock:
    """What `derive_domain_block` decides before execution."""

    checked: tuple[CheckedBundle, ...]
    #: the deduplicated, shuffled transactions, in block order
    transactions: tuple[SignedTransactionAPI, ...]

    @property
    def inboxed_bundles(self) -> tuple[InboxedBundle, ...]:
        return tuple(c.inboxed for c in self.checked)


def derive_domain_block(bundles: Sequence[Bundle], randomness: bytes, view: PoolView, tx_range: int,
                        verified: Verified | None = None) -> DerivedBlock:
    """Spec §2.4 steps 1-3 (module docstring): check each bundle on the parent state, take the
    valid bundles' transactions in inbox order, deduplicate, shuffle by the consensus
    randomness. `verified`: see `EvmTxRules`."""
    rules = EvmTxRules(view, verified)
    checked = []
    for bundle in bundles:
        result = bundle_validity(bundle, rules, tx_range)
        if not result.inboxed.is_valid:
            log.info("%s is invalid: %s (%s)", bundle.describe(), result.inboxed.invalid_type.name, result.reason)
        checked.append(result)
    items = deduplicate_extrinsics(item for c in checked for item in c.transactions)
    by_raw = {raw: rules.transactions[tx_hash] for _, tx_hash, raw in items}
    ordered = shuffle_extrinsics(items, shuffling_seed(randomness))
    return DerivedBlock(checked=tuple(checked), transactions=tuple(by_raw[raw] for raw in ordered))


# ---------------------------------------------------------------------------------------------
# The execution trace


def execution_trace(chain: DomainChain, block: BlockAPI) -> list[bytes]:
    """The execution trace of a committed block (spec §2.5, §3.5): re-execute it on its parent
    in a scratch view and take the state root after pre-processing, after each transaction, and
    after post-processing and finalisation. Raises `OperatorError` if the re-execution does not
    end at the block's state root."""
    parent = chain.header_by_hash(block.header.parent_hash)
    if parent is None:
        raise OperatorError(f"domain block #{block.number}: parent {block.header.parent_hash.hex()} not found")
    # The block's own header, rewound to the parent state and to "nothing applied yet".
    start = block.header.copy(state_root=parent.state_root, gas_used=0, bloom=0,
                              **({"blob_gas_used": 0} if hasattr(block.header, "blob_gas_used") else {}))
    vm = chain.vm_at(start)
    base = vm.get_block()
    vm.block_preprocessing(base)
    trace = [vm.state.make_state_root()]
    header = vm.get_header()
    for tx in block.transactions:
        receipt, _ = vm.apply_transaction(header, tx)
        header = vm.add_receipt_to_header(header, receipt)
        trace.append(vm.state.make_state_root())
    processed = vm.block_postprocessing(base)
    final = vm.finalize_block(processed).block.header.state_root
    if final != block.header.state_root:
        raise OperatorError(f"domain block #{block.number} ({block.hash.hex()}): re-execution ends at state root "
                            f"{final.hex()}, the block has {block.header.state_root.hex()}")
    trace.append(final)
    return trace


# ---------------------------------------------------------------------------------------------
# Genesis


def genesis_receipt_of(chain: DomainChain) -> ExecutionReceipt:
    """The genesis ER of a domain chain (spec §1.2 step 5)."""
    genesis = chain.header_by_number(0)
    if genesis is None:
        raise OperatorError(f"{chain.path}: the domain has no block 0")
    return genesis_receipt(genesis.hash, genesis.state_root, genesis.transaction_root)


def genesis_domain(chain: DomainChain, operator_public_key: bytes, *, params: DomainParams = DEV,
                   domain_id: int = 0, operator_id: int = 0, domain_name: str = "auto-evm",
                   bundle_slot_probability: tuple[int, int] = (1, 1),
                   tx_range_divisor: int | None = None) -> GenesisDomain:
    """The `domains.runtime.GenesisDomain` of an EVM domain chain and its genesis operator, for
    the consensus genesis config (`domains.runtime.genesis_config([...])`)."""
    kwargs = {} if tx_range_divisor is None else {"tx_range_divisor": tx_range_divisor}
    config = DomainConfig.with_default_limits(params, domain_id=domain_id, domain_name=domain_name,
                                              chain_id=chain.chain_id,
                                              bundle_slot_probability=bundle_slot_probability, **kwargs)
    return GenesisDomain(config=config, genesis_receipt=genesis_receipt_of(chain),
                         operators=(GenesisOperator(operator_id, bytes(operator_public_key)),))


# ---------------------------------------------------------------------------------------------
# The operator


@dataclass
class _InFlight:
    bundle_hash: bytes
    receipt_hash: bytes
    tx_hashes: frozenset[bytes]
    age: int = 0


@dataclass
class OperatorStats:
    bundles: int = 0
    empty_bundles: int = 0
    domain_blocks: int = 0
    invalid_bundles: int = 0
    last_receipt: ExecutionReceipt | None = None


class Operator:
    """See the module docstring."""

    def __init__(self, node: DomainNode, signer: Signer, domain_id: int, operator_id: int, *,
                 config: DomainConfig | None = None, params: DomainParams = DEV,
                 operator_stake: int = 1, total_stake: int = 1) -> None:
        self.node = node
        self.signer = signer
        self.domain_id = domain_id
        self.operator_id = operator_id
        self.params = params
        self.config = config or DomainConfig.with_default_limits(params, domain_id=domain_id, domain_name="auto-evm",
                                                                 chain_id=node.chain_id)
        self.threshold = election_threshold(self.config.bundle_slot_probability, operator_stake, total_stake)
        self.tx_range = tx_range_for(self.config.tx_range_divisor)
        self.stats = OperatorStats()
        self._in_flight: list[_InFlight] = []
        #: the last consensus block processed, (number, hash); the hash is None when unknown
        #: (genesis, or the common ancestor after a reorg)
        self._last_consensus: tuple[int, bytes | None] = (0, None)
        self._receipts: dict[int, ExecutionReceipt] = {}
        self._tx_counts: dict[int, int] = {}
        self._load()

    # -- receipts ------------------------------------------------------------------------------

    def _store(self):
        return getattr(self.node.chain, "store", None)

    def _load(self) -> None:
        """The latest receipt: the one stored for the domain head, or the genesis ER; and the
        last consensus block processed: the latest receipt's."""
        self._receipts.clear()
        self._tx_counts.clear()
        head = self.node.chain.head()
        if head.block_number == 0:
            self._receipts[0] = genesis_receipt_of(self.node.chain)
            self._tx_counts[0] = 0
            self._last_consensus = (0, None)
            return
        store = self._store()
        first = max(0, head.block_number - self.params.challenge_depth - 1)
        for number in range(first, head.block_number + 1):
            receipt = self._read_receipt(number)
            if receipt is not None:
                previous = self._receipts.get(number - 1)
                if previous is not None and receipt.parent_domain_block_receipt_hash != previous.hash():
                    raise DamagedReceipt(f"{self._receipt_key_text(number)} in {self.node.chain.path} is damaged: it does "
                                        f"not name the hash of receipt #{number - 1} as its parent")
                self._receipts[number] = receipt
                count = store.get(TX_COUNT_KEY_PREFIX + number.to_bytes(4, "big"))
                self._tx_counts[number] = decode_u32(count, 0)[0] if count else 0
        if head.block_number not in self._receipts:
            raise OperatorError(f"domain head #{head.block_number} ({head.hash.hex()}) has no execution receipt in "
                                f"{self.node.chain.path}: the domain advanced without this operator")
        latest = self._receipts[head.block_number]
        if latest.domain_block_hash != head.hash:
            raise OperatorError(f"the receipt stored for domain head #{head.block_number} describes block "
                                f"{latest.domain_block_hash.hex()}, not the head {head.hash.hex()}")
        self._last_consensus = (latest.consensus_block_number, latest.consensus_block_hash)

    def _stored_receipt(self, number: int) -> ExecutionReceipt | None:
        """The receipt of canonical domain block `number`: in memory, or read from the store."""
        if number in self._receipts:
            return self._receipts[number]
        if number == 0:
            return genesis_receipt_of(self.node.chain)
        return self._read_receipt(number)

    @staticmethod
    def _receipt_key_text(number: int) -> str:
        return f"key {RECEIPT_KEY_PREFIX + number.to_bytes(4, 'big')!r}"

    def _read_receipt(self, number: int) -> ExecutionReceipt | None:
        """The stored receipt of canonical domain block `number` (None if none), checked
        against the block it describes: LMDB keeps no checksums, and a damaged receipt carried
        in bundles would only be refused by the consensus chain, stalling the domain unnamed."""
        store = self._store()
        raw = store.get(RECEIPT_KEY_PREFIX + number.to_bytes(4, "big")) if store is not None else None
        if raw is None:
            return None
        where = f"{self._receipt_key_text(number)} in {self.node.chain.path}"
        try:
            receipt = ExecutionReceipt.decode(raw)
        except ValueError as exc:  # ScaleError
            raise DamagedReceipt(f"{where} is damaged: {exc}") from None
        recorded = store.get(RECEIPT_HASH_KEY_PREFIX + number.to_bytes(4, "big"))
        if recorded is not None and recorded != receipt.hash():  # absent: stored before the hash was
            raise DamagedReceipt(f"{where} is damaged: it does not hash to the receipt hash stored beside it")
        header = self.node.chain.header_by_number(number)
        trace = receipt.execution_trace
        if header is None or receipt.domain_block_number != number or receipt.domain_block_hash != header.hash \
                or receipt.domain_block_extrinsic_root != header.transaction_root \
                or receipt.final_state_root != header.state_root or not trace or trace[-1] != header.state_root \
                or receipt.execution_trace_root != execution_trace_root(list(trace)):
            raise DamagedReceipt(f"{where} is damaged: it does not describe canonical domain block #{number}")
        return receipt

    def _record(self, receipt: ExecutionReceipt, tx_count: int) -> None:
        """Keep a receipt in memory (it is already stored with its block: `receipt_records`)."""
        number = receipt.domain_block_number
        self._receipts[number] = receipt
        self._tx_counts[number] = tx_count
        for old in [n for n in self._receipts if n < number - self.params.challenge_depth - 1]:
            self._receipts.pop(old, None)
            self._tx_counts.pop(old, None)
        self.stats.last_receipt = receipt

    @property
    def latest_receipt(self) -> ExecutionReceipt:
        """The receipt of the latest executed domain block (what bundles carry)."""
        return self._receipts[max(self._receipts)]

    def receipt(self, number: int) -> ExecutionReceipt | None:
        return self._receipts.get(number)

    @property
    def last_consensus_number(self) -> int:
        """The last consensus block processed (after a start: the latest receipt's)."""
        return self._last_consensus[0]

    def pending_consensus_numbers(self, best_number: int) -> range:
        """The consensus block numbers to feed `on_consensus_block`, in order, to catch up with
        a canonical chain whose best block is `best_number` (module docstring)."""
        return range(self.last_consensus_number + 1, best_number + 1)

    def needs_confirmation(self) -> bool:
        """Whether a receipt of a block with transactions is inside the challenge period, so the
        domain must keep advancing (spec §2.7 "empty bundle"): receipt n is confirmed when the
        receipt n + challenge_depth becomes the head, so the operator keeps bundling while
        some n with transactions has n + challenge_depth ≥ the latest receipt's number."""
        latest = max(self._receipts)
        return any(count > 0 and n > 0 and n + self.params.challenge_depth >= latest
                   for n, count in self._tx_counts.items())

    # -- slots ---------------------------------------------------------------------------------

    def on_slot(self, slot: int, proof_of_time: bytes) -> Bundle | None:
        """A bundle for `slot`, or None (module docstring)."""
        poe = prove_election(self.signer, self.domain_id, slot, proof_of_time, self.operator_id)
        if not is_below_threshold(poe.vrf_signature.pre_output, self.threshold):
            return None
        receipt = self.latest_receipt
        receipt_hash = receipt.hash()
        entries = self._select_transactions(vrf_hash(poe))
        if not entries:
            if not self.needs_confirmation():
                return None
            if any(f.receipt_hash == receipt_hash for f in self._in_flight):
                return None
        bundle = make_bundle(self.signer, domain_id=self.domain_id, operator_id=self.operator_id, slot=slot,
                             proof_of_time=proof_of_time, receipt=receipt,
                             extrinsics=[e.raw for e in entries], gas_limits=[e.tx.gas for e in entries])
        self._in_flight.append(_InFlight(bundle.hash(), receipt_hash, frozenset(e.hash for e in entries)))
        self.stats.bundles += 1
        if not entries:
            self.stats.empty_bundles += 1
        return bundle

    def _select_transactions(self, bundle_vrf_hash: bytes) -> list:
        """Pool transactions for a bundle: per sender a prefix of its pending run (starting at
        its state nonce, passing the cumulative `IllegalTx` check), senders in the bundle's tx
        range only, none of a sender with a transaction already in an in-flight bundle, within
        `max_bundle_size` and `max_bundle_weight`."""
        view = self.node.pool_view()
        pending = self.node.pool.select(view.base_fee, view.nonce_of)
        in_flight = set().union(*(f.tx_hashes for f in self._in_flight)) if self._in_flight else set()
        entries = [e for e in (self.node.pool.get(tx.hash) for tx in pending) if e is not None]
        busy = {e.sender for e in entries if e.hash in in_flight}
        stopped: set[bytes] = set()
        check = CumulativeTxCheck(view)
        chosen = []
        size = gas = 0
        max_gas = self.config.max_bundle_weight.ref_time // WEIGHT_PER_GAS
        for entry in entries:
            sender = entry.sender
            if sender in busy or sender in stopped:
                continue
            if not signer_in_tx_range(bundle_vrf_hash, sender, self.tx_range):
                stopped.add(sender)
                continue
            encoded = compact_len(len(entry.raw)) + len(entry.raw)
            if size + encoded > self.config.max_bundle_size or gas + entry.tx.gas > max_gas:
                stopped.add(sender)
                continue
            if check.check(sender, entry.tx) is not None:
                stopped.add(sender)
                continue
            chosen.append(entry)
            size += encoded
            gas += entry.tx.gas
        return chosen

    # -- consensus blocks ----------------------------------------------------------------------

    def on_consensus_block(self, number: int, block_hash: bytes, timestamp_ms: int, randomness: bytes,
                           bundles: Sequence[Bundle]) -> ExecutionReceipt | None:
        """Derive, execute and record the domain block of consensus block `number` if it carries
        bundles for this domain; returns its receipt (module docstring)."""
        if number <= self.last_consensus_number:
            raise OperatorError(f"consensus block #{number} ({block_hash.hex()[:16]}…) is not above the last one "
                                f"processed (#{self.last_consensus_number}); a block of a new branch must follow "
                                f"on_consensus_reorg(common ancestor)")
        self._last_consensus = (number, bytes(block_hash))
        ours = [b for b in bundles if b.domain_id == self.domain_id]
        included = {b.hash() for b in ours}
        for flight in self._in_flight:
            flight.age += 1
        self._in_flight = [f for f in self._in_flight
                           if f.bundle_hash not in included and f.age <= self.params.bundle_longevity]
        if not ours:
            return None
        parent_receipt = self.latest_receipt
        head = self.node.chain.head()
        if head.block_number != parent_receipt.domain_block_number:
            raise OperatorError(f"domain head #{head.block_number} is not the latest receipt's block "
                                f"#{parent_receipt.domain_block_number}")
        derived = derive_domain_block(ours, randomness, self.node.pool_view(), self.tx_range,
                                      verified=self._pool_verified)
        made: list[ExecutionReceipt] = []

        def receipt_writes(built) -> dict[bytes, bytes]:
            """The receipt of the sealed block, written in the block's own durable batch."""
            block = built.block
            trace = list(built.trace)
            if len(trace) != len(block.transactions) + 2:
                raise OperatorError(f"domain block #{block.number}: the builder's trace has {len(trace)} roots for "
                                    f"{len(block.transactions)} transactions")
            receipt = ExecutionReceipt(
                domain_block_number=block.number,
                domain_block_hash=block.hash,
                domain_block_extrinsic_root=block.header.transaction_root,
                parent_domain_block_receipt_hash=parent_receipt.hash(),
                consensus_block_number=number,
                consensus_block_hash=bytes(block_hash),
                inboxed_bundles=derived.inboxed_bundles,
                final_state_root=block.header.state_root,
                execution_trace=tuple(trace),
                execution_trace_root=execution_trace_root(trace),
                block_fees=BlockFees(),
                transfers=Transfers(),
            )
            made.append(receipt)
            return receipt_records(receipt, len(block.transactions))

        # `max(1, …)`: the builder raises any timestamp to parent + 1, so 1 and 0 derive the same block.
        built = self.node.produce_block(max(1, timestamp_ms // 1000), transactions=list(derived.transactions),
                                        prev_randao=bytes(randomness), trace=True, extra_writes=receipt_writes)
        block = built.block
        receipt = made[0]
        self._record(receipt, len(block.transactions))
        self.stats.domain_blocks += 1
        self.stats.invalid_bundles += sum(1 for c in derived.checked if not c.inboxed.is_valid)
        log.info("domain block #%d from consensus block #%d: %d bundles (%d invalid), %d transactions, receipt %s",
                 block.number, number, len(ours), sum(1 for c in derived.checked if not c.inboxed.is_valid),
                 len(block.transactions), receipt.hash().hex()[:16])
        return receipt

    def _pool_verified(self, raw: bytes) -> tuple[SignedTransactionAPI, bytes] | None:
        """The pool's decoded transaction and sender for exactly the bytes `raw` (a transaction's
        hash is keccak of its canonical encoding; the bytes are compared too), else None."""
        entry = self.node.pool.get(keccak(raw))
        if entry is None or entry.raw != raw:
            return None
        return entry.tx, entry.sender

    # -- consensus reorgs ----------------------------------------------------------------------

    def on_consensus_reorg(self, common_ancestor_number: int) -> list[ExecutionReceipt]:
        """The consensus chain switched to a branch that leaves the current one after block
        `common_ancestor_number`: keep the domain blocks derived from consensus blocks up to the
        ancestor, abandon the rest (module docstring). Returns the abandoned receipts, lowest
        first. The next `on_consensus_block` must be common_ancestor_number + 1."""
        if common_ancestor_number < 0:
            raise OperatorError(f"consensus reorg: common ancestor #{common_ancestor_number} is negative")
        if common_ancestor_number >= self.last_consensus_number:
            return []  # nothing this operator processed was abandoned
        head = self.node.chain.head()
        keep = self._stored_receipt(head.block_number)
        while keep is not None and keep.domain_block_number > 0 \
                and keep.consensus_block_number > common_ancestor_number:
            keep = self._stored_receipt(keep.domain_block_number - 1)
        if keep is None:
            raise OperatorError(f"consensus reorg to #{common_ancestor_number}: a receipt below domain head "
                                f"#{head.block_number} is missing from {self.node.chain.path}")
        abandoned = [self._stored_receipt(n) for n in range(keep.domain_block_number + 1, head.block_number + 1)]
        if abandoned:
            self.node.rewind_to(keep.domain_block_hash,
                                extra_writes=receipt_deletions(range(keep.domain_block_number + 1,
                                                                     head.block_number + 1)))
            self._load()
            gone = {r.hash() for r in abandoned if r is not None}
            self._in_flight = [f for f in self._in_flight if f.receipt_hash not in gone]
            self.stats.last_receipt = self.latest_receipt
            log.info("consensus reorg after #%d: domain rewound to #%d, %d domain blocks abandoned",
                     common_ancestor_number, keep.domain_block_number, len(abandoned))
        self._last_consensus = (common_ancestor_number, None)
        return [r for r in abandoned if r is not None]

    def reconcile_with_consensus(self, canonical_hash_of: Callable[[int], bytes | None]) -> int:
        """Check the last consensus block processed against the consensus chain's canonical
        hashes (`canonical_hash_of(number)`, None above the best block); if it is no longer
        canonical, rewind to the latest receipt whose consensus block still is (the genesis
        receipt always is). Returns `last_consensus_number`: feed the canonical blocks after it."""
        number, known_hash = self._last_consensus
        if number == 0 or (known_hash is not None and canonical_hash_of(number) == known_hash):
            return number
        receipt = self._stored_receipt(self.node.chain.head().block_number)
        while receipt is not None and receipt.domain_block_number > 0 \
                and canonical_hash_of(receipt.consensus_block_number) != receipt.consensus_block_hash:
            receipt = self._stored_receipt(receipt.domain_block_number - 1)
        if receipt is None:
            raise OperatorError(f"reconciling with the consensus chain: a receipt below the domain head is missing "
                                f"from {self.node.chain.path}")
        anchor = receipt.consensus_block_number if receipt.domain_block_number > 0 else 0
        if anchor < number:
            self.on_consensus_reorg(anchor)
        if receipt.domain_block_number > 0:
            self._last_consensus = (anchor, receipt.consensus_block_hash)
        return self.last_consensus_number
