"""A running EVM domain: its chain, its transaction pool, and the block producer that joins them.

`DomainNode` is what the RPC gateway and the operator talk to. Block production is split in
two so that what *decides when* to seal can change without touching what *seals*:
- `DomainNode.produce_block(timestamp)` seals one block from the pool (the block builder);
- a driver calls it: the operator (`domains/operator.py`), once per consensus block that
  carries bundles for the domain, with the transactions it derived from those bundles.

Listeners registered with `on_block` are called after each block is durably committed.

`DomainNode.rewind_to(block_hash)` follows a consensus reorg: the chain's head goes back to a
canonical ancestor (`DomainChain.rewind_to`, one durable batch), and every transaction of the
abandoned blocks that is still admissible against the new head goes back to the pool, so the
operator can bundle it again (a transaction the new branch includes anyway is pruned from the
pool when that block is built, like any other). Listeners registered with `on_rewind` are then
called with the `Rewind`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from eth import constants
from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI

from domains.evm.chain import BuiltBlock, DomainChain, Rewind
from domains.evm.txpool import PoolJournal, PoolTx, PoolView, TxPool, TxRejected

log = logging.getLogger("autonomys.domain")


@dataclass(frozen=True)
class NewBlock:
    """Sent to block listeners once a block is committed."""

    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]


class DomainNode:
    """See the module docstring."""

    def __init__(self, chain: DomainChain, *, coinbase: bytes = constants.ZERO_ADDRESS,
                 pool: TxPool | None = None, dev_keys: dict[bytes, bytes] | None = None,
                 produces_blocks: bool = True, journal: PoolJournal | None = None) -> None:
        self.chain = chain
        #: False for a node that only serves a data directory (`autonomys rpc`): it refuses
        #: transactions rather than hold them forever.
        self.produces_blocks = produces_blocks
        self.chain_id = chain.chain_id
        self.coinbase = coinbase
        self.pool = pool or TxPool(self.pool_view, journal=journal)
        #: address -> private key of accounts the dev signer may sign for (empty: signer off)
        self.dev_keys: dict[bytes, bytes] = dict(dev_keys or {})
        self._block_listeners: list[Callable[[NewBlock], None]] = []
        self._rewind_listeners: list[Callable[[Rewind], None]] = []
        self._view_lock = threading.Lock()
        self._view_cache: tuple[bytes, PoolView] | None = None
        self._produce_lock = threading.Lock()

    # -- the pool's view of the next block ------------------------------------------------------

    def pool_view(self) -> PoolView:
        """The next block's rules and the head state, for admission checks.

        Built once per head and shared by every admission until the next block."""
        head = self.chain.head()
        with self._view_lock:
            cached = self._view_cache
            if cached is not None and cached[0] == head.hash:
                return cached[1]
            view = self._build_pool_view(head)
            self._view_cache = (head.hash, view)
            return view

    def _build_pool_view(self, head) -> PoolView:
        vm = self.chain.pending_vm(parent=head)
        state = vm.state
        header = vm.get_header()
        executor = state.get_transaction_executor()
        floor = getattr(executor, "calc_data_floor_gas", None)

        def intrinsic_gas(tx: SignedTransactionAPI) -> int:
            gas = tx.intrinsic_gas
            if floor is not None:
                gas = max(gas, floor(tx, 0, 0))
            return gas

        return PoolView(
            chain_id=self.chain_id,
            base_fee=getattr(header, "base_fee_per_gas", 0) or 0,
            gas_limit=header.gas_limit,
            decode=vm.get_transaction_builder().decode,
            nonce_of=state.get_nonce,
            balance_of=state.get_balance,
            intrinsic_gas=intrinsic_gas,
        )

    def submit_raw_transaction(self, raw: bytes) -> bytes:
        """Admit a raw signed transaction to the pool (raises `TxRejected`)."""
        if not self.produces_blocks:
            raise TxRejected("this node serves a data directory without producing blocks (autonomys rpc); "
                             "send transactions to a node that produces blocks")
        return self.pool.add_raw(raw)

    def next_nonce(self, address: bytes) -> int:
        """The nonce the next transaction of `address` should use (pending ones counted)."""
        return self.pool.pending_nonce(address, self.pool_view().nonce_of(address))

    # -- block production ---------------------------------------------------------------------

    def produce_block(self, timestamp: int | None = None,
                      transactions: list[SignedTransactionAPI] | None = None, *,
                      prev_randao: bytes | None = None, trace: bool = False,
                      extra_writes=None) -> BuiltBlock:
        """Seal the next block, commit it, tell listeners.

        The block carries `transactions` in the given order when a driver supplies them (the
        consensus chain: the transactions of the bundles in a consensus block), otherwise
        every pending transaction of the pool in block order. `prev_randao`, `trace` and
        `extra_writes` are `DomainChain.build_block`'s (the consensus randomness; the execution
        trace; writes committed with the block). A `timestamp` of None means now."""
        with self._produce_lock:
            if transactions is None:
                # The pool's view already holds the next block's base fee and the head state.
                view = self.pool_view()
                transactions = self.pool.select(view.base_fee, view.nonce_of)
            built = self.chain.build_block(transactions,
                                           timestamp=int(time.time()) if timestamp is None else timestamp,
                                           coinbase=self.coinbase, prev_randao=prev_randao, trace=trace,
                                           extra_writes=extra_writes)
            for tx, reason in built.dropped:
                log.info("dropped transaction %s: %s", tx.hash.hex(), reason)
            # The view of the new head serves the pruning and then the next admissions.
            self.pool.prune(self.pool_view().nonce_of, dropped=[tx.hash for tx, _ in built.dropped])
        event = NewBlock(block=built.block, receipts=built.receipts)
        for listener in list(self._block_listeners):
            try:
                listener(event)
            except Exception:  # a broken subscriber must not stop block production
                log.exception("block listener failed")
        return built

    def on_block(self, listener: Callable[[NewBlock], None]) -> None:
        self._block_listeners.append(listener)

    # -- reorgs -------------------------------------------------------------------------------

    def rewind_to(self, block_hash: bytes, *, extra_writes=None) -> tuple[Rewind, list[bytes]]:
        """Make the canonical ancestor `block_hash` the head again (`DomainChain.rewind_to`,
        with `extra_writes` in its batch; raises `InvalidRewind` changing nothing), then put the
        transactions of the abandoned blocks back in the pool, oldest first, when they are still
        admissible against the new head. Returns the rewind and the hashes re-admitted."""
        with self._produce_lock:
            rewind = self.chain.rewind_to(block_hash, extra_writes=extra_writes)
            with self._view_lock:
                self._view_cache = None
            readmitted = []
            for block in rewind.abandoned:
                for tx in block.transactions:
                    try:
                        readmitted.append(self.pool.add(tx, tx.encode()))
                    except TxRejected as exc:
                        log.info("transaction %s of abandoned block #%d not re-admitted: %s",
                                 tx.hash.hex(), block.number, exc)
        if rewind.abandoned:
            log.info("domain rewound to #%d: %d blocks abandoned, %d transactions back in the pool",
                     rewind.head.block_number, len(rewind.abandoned), len(readmitted))
        for listener in list(self._rewind_listeners):
            try:
                listener(rewind)
            except Exception:  # a broken subscriber must not stop the reorg
                log.exception("rewind listener failed")
        return rewind, readmitted

    def on_rewind(self, listener: Callable[[Rewind], None]) -> None:
        self._rewind_listeners.append(listener)

    def on_pending_transaction(self, listener: Callable[[PoolTx], None]) -> None:
        self.pool.on_new_transaction(listener)
