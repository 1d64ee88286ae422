"""WebSocket subscriptions: eth_subscribe / eth_unsubscribe, as geth serves them.

Kinds:
- `newHeads`: each committed block's header (the `format_header` shape);
- `logs` with an optional `{"address", "topics"}` filter: each matching log of each
  committed block, one notification per log;
- `newPendingTransactions`: the hash of each transaction the pool admits, or the whole
  transaction object when the second parameter is `true` (geth's full-transaction mode).

Notifications are `{"jsonrpc": "2.0", "method": "eth_subscription", "params":
{"subscription": <id>, "result": <payload>}}` (with the consensus chain beside the domain, also
`chain_newHead` and `subspace_slot_info` under their own method names). They are produced on the thread that committed
the block or admitted the transaction and handed to the connection's `notify`, which must be
thread-safe (the WebSocket transport queues them onto its event loop).

A subscription starts inactive and is activated by the transport once the eth_subscribe
response has been queued, so a client never sees a notification for an id it has not yet been
given. A connection's subscriptions end with the connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from domains.evm.node import DomainNode, NewBlock
from domains.evm.txpool import PoolTx
from domains.rpc import formatting as fmt
from domains.rpc.filters import new_id
from domains.rpc.logs import LogCriteria, logs_of_block

KINDS = ("newHeads", "logs", "newPendingTransactions")


class Connection(Protocol):
    """What a subscription needs from the transport: a thread-safe way to push a message."""

    def notify(self, message: dict[str, Any]) -> None: ...


@dataclass
class Subscription:
    id: int
    kind: str
    connection: Connection
    criteria: LogCriteria | None = None
    full_transactions: bool = False
    active: bool = False
    #: the notification's method name: `eth_subscription`, or a consensus subscription's
    #: (`chain_newHead`, `subspace_slot_info`; see `domains.rpc.methods.consensus`)
    method: str = "eth_subscription"

    @property
    def hex_id(self) -> str:
        return fmt.quantity(self.id)

    def send(self, result: Any) -> None:
        if self.active:
            self.connection.notify({"jsonrpc": "2.0", "method": self.method,
                                    "params": {"subscription": self.hex_id, "result": result}})


class SubscriptionHub:
    """Every live subscription of one gateway, fed by the node's block and pool events."""

    def __init__(self, node: DomainNode) -> None:
        self._subscriptions: dict[int, Subscription] = {}
        self._lock = threading.Lock()
        self.closed = False
        node.on_block(self._on_block)
        node.on_pending_transaction(self._on_pending_transaction)

    def subscribe(self, connection: Connection, kind: str, *, criteria: LogCriteria | None = None,
                  full_transactions: bool = False, method: str = "eth_subscription") -> Subscription:
        """A new, inactive subscription (see the module docstring)."""
        with self._lock:
            sub_id = new_id()
            while sub_id in self._subscriptions:
                sub_id = new_id()
            sub = Subscription(id=sub_id, kind=kind, connection=connection, criteria=criteria,
                               full_transactions=full_transactions, method=method)
            self._subscriptions[sub_id] = sub
        return sub

    def unsubscribe(self, connection: Connection, sub_id: int, kinds: Iterable[str] | None = None) -> bool:
        """End `sub_id` if `connection` owns it (and, given `kinds`, it is of one of them: each
        namespace's unsubscribe ends its own subscriptions only); True if it did."""
        with self._lock:
            sub = self._subscriptions.get(sub_id)
            if sub is None or sub.connection is not connection or (kinds is not None and sub.kind not in kinds):
                return False
            del self._subscriptions[sub_id]
            sub.active = False
            return True

    def drop_connection(self, connection: Connection) -> None:
        """End every subscription of a closed connection."""
        with self._lock:
            for sub_id in [i for i, s in self._subscriptions.items() if s.connection is connection]:
                self._subscriptions.pop(sub_id).active = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def _snapshot(self, kind: str) -> list[Subscription]:
        with self._lock:
            return [s for s in self._subscriptions.values() if s.kind == kind and s.active]

    def attach_consensus(self, consensus) -> None:
        """Feed `chain_newHead` and `subspace_slot_info` subscriptions from a consensus node."""
        consensus.on_block_imported(lambda block, is_new_best: self._on_consensus_block(block, is_new_best))
        consensus.on_slot(lambda info: self._on_slot(consensus, info))

    # -- node events (called on the producer / submitter threads) -----------------------------

    def _on_consensus_block(self, signed, is_new_best: bool) -> None:
        if self.closed or not is_new_best:
            return
        subs = self._snapshot("chain_newHead")
        if subs:
            from domains.rpc.methods.consensus import format_header

            header = format_header(signed.block.header)
            for sub in subs:
                sub.send(header)

    def _on_slot(self, consensus, info) -> None:
        if self.closed:
            return
        subs = self._snapshot("subspace_slot_info")
        if subs:
            from domains.rpc.methods.consensus import format_slot_info

            payload = format_slot_info(consensus, info)
            for sub in subs:
                sub.send(payload)

    def _on_block(self, event: NewBlock) -> None:
        if self.closed:
            return
        heads = self._snapshot("newHeads")
        if heads:
            header = fmt.format_header(event.block.header)
            for sub in heads:
                sub.send(header)
        log_subs = self._snapshot("logs")
        if log_subs:
            tx_hashes = [tx.hash for tx in event.block.transactions]
            for sub in log_subs:
                for log in logs_of_block(event.block.header, tx_hashes, event.receipts, sub.criteria or LogCriteria()):
                    sub.send(log)

    def _on_pending_transaction(self, entry: PoolTx) -> None:
        if self.closed:
            return
        subs = self._snapshot("newPendingTransactions")
        if not subs:
            return
        tx_hash = fmt.hexbytes(entry.hash)
        full = None
        for sub in subs:
            if sub.full_transactions:
                full = full or fmt.format_transaction(entry.tx, entry.sender, None)
                sub.send(full)
            else:
                sub.send(tx_hash)
