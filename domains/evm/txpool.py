"""The domain transaction pool.

Rules (geth's, which wallets and libraries are written against):
- A transaction is checked against the next block's rules and the head state when it
  arrives; a rejection is a `TxRejected` carrying geth's message, which clients match on
  ("nonce too low", "insufficient funds for gas * price + value", "intrinsic gas too low",
  "max fee per gas less than block base fee", "invalid chain id", "oversized data",
  "replacement transaction underpriced", "already known", "txpool is full").
- Per sender, transactions are kept by nonce. Those whose nonces follow the account nonce
  without a gap are *pending* (executable); the rest are *queued* until the gap fills.
- A transaction at a nonce already taken replaces it only if both its tip and its fee cap
  are at least `PRICE_BUMP_PERCENT` (10%) higher.
- `select()` hands the block builder every pending transaction: each sender's in nonce
  order, senders interleaved by the tip they pay at the next base fee (highest first).
- The pool is bounded (`max_size` transactions, `max_per_sender` per account); when full,
  a new transaction must outbid the cheapest one held, which is evicted.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

from eth.abc import SignedTransactionAPI
from eth.exceptions import UnrecognizedTransactionType
from eth_keys import keys
from eth_utils import ValidationError

from domains.evm.recent import Recent

#: Replacement must raise both the tip and the fee cap by at least this much (geth: 10%).
PRICE_BUMP_PERCENT = 10
#: Largest accepted transaction, encoded (geth: 4 slots of 32 KiB).
MAX_TX_SIZE = 128 * 1024
DEFAULT_MAX_SIZE = 10_000
DEFAULT_MAX_PER_SENDER = 1_000
#: How far past the account nonce a queued transaction may be.
MAX_NONCE_GAP = 1_024

#: EIP-4844 blob transactions carry sidecars a domain has nowhere to keep.
BLOB_TX_TYPE = 3

JSONRPC_TX_ERROR = -32000
JSONRPC_INVALID_PARAMS = -32602


class TxRejected(Exception):
    """The pool refused a transaction. `code` is the JSON-RPC error code to answer with."""

    def __init__(self, message: str, code: int = JSONRPC_TX_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(order=True)
class PoolTx:
    """A transaction held by the pool, with what the pool needs about it."""

    sort_key: tuple = field(init=False, repr=False, compare=True)
    tx: SignedTransactionAPI = field(compare=False)
    sender: bytes = field(compare=False)
    raw: bytes = field(compare=False)
    arrival: int = field(compare=False)

    def __post_init__(self) -> None:
        self.sort_key = (self.arrival,)

    @property
    def hash(self) -> bytes:
        return self.tx.hash

    @property
    def nonce(self) -> int:
        return self.tx.nonce

    def fee_cap(self) -> int:
        return self.tx.max_fee_per_gas

    def tip_cap(self) -> int:
        return self.tx.max_priority_fee_per_gas

    def effective_tip(self, base_fee: int) -> int:
        return min(self.tip_cap(), self.fee_cap() - base_fee)


@dataclass
class PoolView:
    """What the pool checks a transaction against: the next block's rules and the head state."""

    chain_id: int
    base_fee: int
    gas_limit: int
    decode: Callable[[bytes], SignedTransactionAPI]
    nonce_of: Callable[[bytes], int]
    balance_of: Callable[[bytes], int]
    intrinsic_gas: Callable[[SignedTransactionAPI], int]


class TxPool:
    """See the module docstring."""

    def __init__(self, view_factory: Callable[[], PoolView], *, max_size: int = DEFAULT_MAX_SIZE,
                 max_per_sender: int = DEFAULT_MAX_PER_SENDER, journal: "PoolJournal | None" = None) -> None:
        self._view_factory = view_factory
        self.journal = journal
        self.max_size = max_size
        self.max_per_sender = max_per_sender
        self._by_sender: dict[bytes, dict[int, PoolTx]] = {}
        self._by_hash: dict[bytes, PoolTx] = {}
        self._arrivals = itertools.count()
        self._lock = threading.RLock()
        self._listeners: list[Callable[[PoolTx], None]] = []

    # -- admission ---------------------------------------------------------------------------

    def add_raw(self, raw: bytes) -> bytes:
        """Check and admit a raw signed transaction; returns its hash or raises `TxRejected`."""
        if len(raw) > MAX_TX_SIZE:
            raise TxRejected(f"oversized data: transaction of {len(raw)} bytes, limit {MAX_TX_SIZE}")
        view = self._view_factory()
        tx = decode_transaction(view.decode, raw)
        return self.add(tx, raw, view)

    def add(self, tx: SignedTransactionAPI, raw: bytes, view: PoolView | None = None) -> bytes:
        view = view or self._view_factory()
        sender = check_signature_and_chain_id(tx, view.chain_id)
        with self._lock:
            if tx.hash in self._by_hash:
                raise TxRejected(f"already known: {tx.hash.hex()}")
            check_transaction_against_state(tx, sender, view)
            entry = PoolTx(tx=tx, sender=sender, raw=raw, arrival=next(self._arrivals))
            slots = self._by_sender.setdefault(sender, {})
            old = slots.get(tx.nonce)
            if old is not None:
                check_replacement(old, entry)
            else:
                if tx.nonce - view.nonce_of(sender) > MAX_NONCE_GAP:
                    raise TxRejected(f"nonce too high: tx nonce {tx.nonce}, account nonce {view.nonce_of(sender)}, "
                                     f"the pool queues at most {MAX_NONCE_GAP} ahead")
                if len(slots) >= self.max_per_sender:
                    raise TxRejected(f"txpool is full: account {_addr(sender)} already has {len(slots)} transactions")
                if len(self._by_hash) >= self.max_size:
                    self._evict_cheapest_for(entry, view.base_fee)
            if old is not None:
                self._remove(old)
                slots = self._by_sender.setdefault(sender, {})
            slots[tx.nonce] = entry
            self._by_hash[tx.hash] = entry
            if self.journal is not None:
                self.journal.record(entry)
        for listener in list(self._listeners):
            listener(entry)
        return tx.hash

    def _evict_cheapest_for(self, entry: PoolTx, base_fee: int) -> None:
        """Make room for `entry` by evicting the lowest-paying highest-nonce transaction."""
        candidates = [max(slots.values(), key=lambda p: p.nonce) for slots in self._by_sender.values() if slots]
        cheapest = min(candidates, key=lambda p: (p.effective_tip(base_fee), -p.arrival))
        if cheapest.effective_tip(base_fee) >= entry.effective_tip(base_fee):
            raise TxRejected(f"txpool is full: {len(self._by_hash)} transactions, and this one pays no more than the cheapest")
        self._remove(cheapest)

    def on_new_transaction(self, listener: Callable[[PoolTx], None]) -> None:
        """Call `listener` with every admitted transaction (for subscriptions and filters)."""
        self._listeners.append(listener)

    # -- selection and pruning ---------------------------------------------------------------

    def select(self, base_fee: int, nonce_of: Callable[[bytes], int]) -> list[SignedTransactionAPI]:
        """Every pending transaction, in block order (see module docstring)."""
        with self._lock:
            runs: list[list[PoolTx]] = []
            for sender, slots in self._by_sender.items():
                run = executable_run(slots, nonce_of(sender))
                run = [p for p in run if p.fee_cap() >= base_fee]
                if run:
                    runs.append(run)
        heap = [(-run[0].effective_tip(base_fee), run[0].arrival, i, 0) for i, run in enumerate(runs)]
        heapq.heapify(heap)
        ordered = []
        while heap:
            _, _, i, j = heapq.heappop(heap)
            ordered.append(runs[i][j].tx)
            if j + 1 < len(runs[i]):
                nxt = runs[i][j + 1]
                # A later nonce can never go before an earlier one of the same sender.
                heapq.heappush(heap, (-nxt.effective_tip(base_fee), nxt.arrival, i, j + 1))
        return ordered

    def prune(self, nonce_of: Callable[[bytes], int], dropped: Iterable[bytes] = ()) -> None:
        """After a block: forget transactions whose nonces are used, and `dropped` ones."""
        with self._lock:
            removed = []
            for tx_hash in dropped:
                entry = self._by_hash.get(tx_hash)
                if entry is not None:
                    self._remove(entry, journal=False)
                    removed.append(entry)
            for sender in list(self._by_sender):
                account_nonce = nonce_of(sender)
                for nonce in [n for n in self._by_sender[sender] if n < account_nonce]:
                    entry = self._by_sender[sender][nonce]
                    self._remove(entry, journal=False)
                    removed.append(entry)
            if self.journal is not None and removed:
                self.journal.forget(*removed)  # one store write for the whole block

    def _remove(self, entry: PoolTx, *, journal: bool = True) -> None:
        slots = self._by_sender.get(entry.sender, {})
        if slots.get(entry.nonce) is entry:
            del slots[entry.nonce]
        if not slots:
            self._by_sender.pop(entry.sender, None)
        self._by_hash.pop(entry.hash, None)
        if journal and self.journal is not None:
            self.journal.forget(entry)

    def restore(self) -> tuple[int, int]:
        """Re-admit the journal's transactions after a restart: (kept, no longer valid)."""
        if self.journal is None:
            return 0, 0
        kept = stale = 0
        raws = self.journal.load()
        self.journal.clear()
        for raw in raws:
            try:
                self.add_raw(raw)
                kept += 1
            except TxRejected:
                stale += 1  # included meanwhile, or no longer affordable
        return kept, stale

    # -- queries -----------------------------------------------------------------------------

    def get(self, tx_hash: bytes) -> PoolTx | None:
        return self._by_hash.get(tx_hash)

    def __len__(self) -> int:
        return len(self._by_hash)

    def pending_nonce(self, sender: bytes, account_nonce: int) -> int:
        """The next nonce `sender` should use, counting its pending transactions."""
        with self._lock:
            slots = self._by_sender.get(sender, {})
            nonce = account_nonce
            while nonce in slots:
                nonce += 1
            return nonce

    def content(self, nonce_of: Callable[[bytes], int]) -> tuple[dict, dict]:
        """(pending, queued): sender -> nonce -> PoolTx, split at each sender's first gap."""
        pending: dict[bytes, dict[int, PoolTx]] = {}
        queued: dict[bytes, dict[int, PoolTx]] = {}
        with self._lock:
            for sender, slots in self._by_sender.items():
                run = {p.nonce for p in executable_run(slots, nonce_of(sender))}
                for nonce, entry in sorted(slots.items()):
                    (pending if nonce in run else queued).setdefault(sender, {})[nonce] = entry
        return pending, queued

    def all(self) -> list[PoolTx]:
        with self._lock:
            return sorted(self._by_hash.values(), key=lambda p: p.arrival)


class PoolJournal:
    """The pool's transactions on disk, so that a restart finds them again.

    Written without fsync: an entry survives the process dying (kill -9), not the machine
    losing power. Sealed blocks are durable regardless; this only spares clients re-sending
    transactions that were waiting when the node stopped."""

    PREFIX = b"pool:"

    def __init__(self, store) -> None:
        self.store = store

    def record(self, entry: PoolTx) -> None:
        self.store.put(self.PREFIX + entry.hash, entry.raw)

    def forget(self, *entries: PoolTx) -> None:
        self.store.write_batch({self.PREFIX + entry.hash: None for entry in entries})

    def load(self) -> list[bytes]:
        return [raw for _, raw in self.store.iterate(self.PREFIX)]

    def clear(self) -> None:
        self.store.write_batch({key: None for key, _ in self.store.iterate(self.PREFIX)})


# -- rules ---------------------------------------------------------------------------------------

def decode_transaction(decode: Callable[[bytes], SignedTransactionAPI], raw: bytes) -> SignedTransactionAPI:
    """Decode a raw signed transaction (legacy RLP or an EIP-2718 typed envelope)."""
    if not raw:
        raise TxRejected("invalid transaction: empty input", JSONRPC_INVALID_PARAMS)
    if len(raw) == 1 and raw[0] < 0x80:
        raise TxRejected(f"invalid transaction: {_envelope_of(raw)} with no payload after its type byte",
                         JSONRPC_INVALID_PARAMS)
    try:
        tx = decode(raw)
    except Exception as exc:  # untrusted bytes: any failure of the decoder means "not a transaction"
        raise TxRejected(f"invalid transaction: cannot decode {len(raw)} bytes as {_envelope_of(raw)}: "
                         f"{_decode_failure(exc)}", JSONRPC_INVALID_PARAMS) from exc
    if getattr(tx, "type_id", None) == BLOB_TX_TYPE:
        raise TxRejected("invalid transaction: blob (type 3) transactions are not supported on a domain")
    return tx


def _envelope_of(raw: bytes) -> str:
    """What the first byte makes of `raw` (EIP-2718): a typed envelope, a legacy RLP list, or
    neither."""
    if raw[0] < 0x80:
        return f"a type-{raw[0]} transaction"
    if raw[0] >= 0xC0:
        return "a legacy transaction"
    return "a transaction (an RLP string is neither a legacy list nor a typed envelope)"


def _decode_failure(exc: Exception) -> str:
    """The decoder's reason, without Python's exception wrapping."""
    if isinstance(exc, UnrecognizedTransactionType):
        return "unknown transaction type"
    while exc.__cause__ is not None and not str(exc):
        exc = exc.__cause__
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


#: Senders already recovered, by transaction hash (the hash commits to the signature and the
#: signed message, so a hash names one sender). A transaction's signature is recovered when the
#: pool admits it; the operator's bundle check and the block builder meet the same transaction
#: again, decoded anew from the bundle, and take the sender from here.
_known_senders = Recent(1 << 16)


def remember_sender(tx: SignedTransactionAPI, sender: bytes) -> None:
    """Make the decoded transaction answer `tx.sender` with `sender` (recovered from its own
    signature by `check_signature_and_chain_id`): py-evm recovers the signature at every
    `tx.sender` it asks for (validation, the message, the receipt), about 45 us each."""
    tx.get_sender = lambda: sender


def check_signature_and_chain_id(tx: SignedTransactionAPI, chain_id: int) -> bytes:
    """The sender recovered from the signature; the chain id must be this domain's. The
    transaction object keeps the sender (`remember_sender`)."""
    tx_chain_id = getattr(tx, "chain_id", None)
    if tx_chain_id is None:
        raise TxRejected("only replay-protected (EIP-155) transactions allowed over RPC")
    if tx_chain_id != chain_id:
        raise TxRejected(f"invalid chain id: transaction is for chain {tx_chain_id}, this domain is {chain_id}")
    sender = _known_senders.get(tx.hash)
    if sender is None:
        try:
            # One recovery: the signature's own checks (v, r, s ranges) and the sender together.
            signature = keys.Signature(vrs=(tx.y_parity, tx.r, tx.s))
            sender = signature.recover_public_key_from_msg(tx.get_message_for_signing()).to_canonical_address()
        except Exception as exc:  # eth-keys and coincurve raise several types for bad signatures
            raise TxRejected(f"invalid sender: bad signature ({exc})") from exc
        _known_senders.put(tx.hash, sender)
    remember_sender(tx, sender)
    return sender


def check_transaction_against_state(tx: SignedTransactionAPI, sender: bytes, view: PoolView) -> None:
    """The stateful admission checks, in geth's order."""
    try:
        tx.validate()
    except ValidationError as exc:
        raise TxRejected(f"invalid transaction: {exc}") from exc
    if tx.gas > view.gas_limit:
        raise TxRejected(f"exceeds block gas limit: tx gas {tx.gas}, block gas limit {view.gas_limit}")
    intrinsic = view.intrinsic_gas(tx)
    if tx.gas < intrinsic:
        raise TxRejected(f"intrinsic gas too low: gas {tx.gas}, minimum needed {intrinsic}")
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise TxRejected(f"max priority fee per gas higher than max fee per gas: "
                         f"maxPriorityFeePerGas: {tx.max_priority_fee_per_gas}, maxFeePerGas: {tx.max_fee_per_gas}")
    if tx.max_fee_per_gas < view.base_fee:
        raise TxRejected(f"max fee per gas less than block base fee: address {_addr(sender)}, "
                         f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {view.base_fee}")
    account_nonce = view.nonce_of(sender)
    if tx.nonce < account_nonce:
        raise TxRejected(f"nonce too low: address {_addr(sender)}, tx: {tx.nonce} state: {account_nonce}")
    balance = view.balance_of(sender)
    cost = tx.gas * tx.max_fee_per_gas + tx.value
    if balance < cost:
        raise TxRejected(f"insufficient funds for gas * price + value: address {_addr(sender)} "
                         f"have {balance} want {cost}")


def check_replacement(old: PoolTx, new: PoolTx) -> None:
    """A same-nonce replacement must raise both fee cap and tip by `PRICE_BUMP_PERCENT`."""
    bump = 100 + PRICE_BUMP_PERCENT
    if new.fee_cap() * 100 < old.fee_cap() * bump or new.tip_cap() * 100 < old.tip_cap() * bump:
        raise TxRejected(
            f"replacement transaction underpriced: nonce {old.nonce} is taken by {old.hash.hex()}; "
            f"a replacement needs both fee cap and tip {PRICE_BUMP_PERCENT}% higher "
            f"(at least {-(-old.fee_cap() * bump // 100)} and {-(-old.tip_cap() * bump // 100)})")


def executable_run(slots: dict[int, PoolTx], account_nonce: int) -> list[PoolTx]:
    """The sender's transactions with consecutive nonces from `account_nonce`."""
    run = []
    nonce = account_nonce
    while nonce in slots:
        run.append(slots[nonce])
        nonce += 1
    return run


def _addr(address: bytes) -> str:
    from eth_utils import to_checksum_address
    return to_checksum_address(address)
