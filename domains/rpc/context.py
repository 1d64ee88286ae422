"""The gateway's shared state, and the context each method handler receives.

`Gateway` is built once per app: the node and its chain, the configuration, the filter
registry, the subscription hub and the dispatcher with every method. `Context` is what a
handler gets: the gateway plus the connection the request came on (None over HTTP; the
WebSocket connection for subscriptions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from domains.evm.chain import DomainChain
from domains.evm.node import DomainNode
from domains.rpc.blocks import BlockView, BlockViews, find_transaction
from domains.rpc.dispatch import Dispatcher
from domains.rpc.errors import METHOD_NOT_FOUND, MethodNotSupported, RpcError
from domains.rpc.filters import FilterRegistry
from domains.rpc.subscriptions import SubscriptionHub

CLIENT_VERSION = "autonomys/v0.1.0/python"
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    """Everything about the gateway an operator may set (see `build_app`)."""

    dev_signer: bool = False
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch: int = 1000
    filter_timeout: float = 300.0
    logs_block_range_limit: int = 10_000
    logs_result_limit: int = 10_000
    client_version: str = CLIENT_VERSION


class Gateway:
    """One gateway over one node (see the module docstring)."""

    def __init__(self, node: DomainNode, config: GatewayConfig, *,
                 clock: Callable[[], float] = time.monotonic, consensus: Any = None) -> None:
        from domains.rpc.methods import all_methods

        self.node = node
        #: the consensus node beside the domain (`chain.node.ConsensusNode`), or None
        self.consensus = consensus
        self.chain: DomainChain = node.chain
        self.config = config
        self.filters = FilterRegistry(node, timeout=config.filter_timeout,
                                      block_range_limit=config.logs_block_range_limit,
                                      result_limit=config.logs_result_limit, clock=clock)
        self.subscriptions = SubscriptionHub(node)
        if consensus is not None:
            self.subscriptions.attach_consensus(consensus)
        self.dispatcher = Dispatcher(all_methods(), max_batch=config.max_batch)
        self.views = BlockViews()

    def handle(self, payload: Any, connection: Any = None) -> Any:
        """Dispatch one decoded payload (blocking: call it on a worker thread)."""
        return self.dispatcher.handle(payload, Context(self, connection))

    def close(self) -> None:
        """Stop listening to the node (the node's listener lists cannot shrink)."""
        self.filters.closed = True
        self.subscriptions.closed = True


@dataclass(frozen=True)
class Context:
    """What a method handler is called with."""

    gateway: Gateway
    connection: Any = None

    @property
    def node(self) -> DomainNode:
        return self.gateway.node

    @property
    def chain(self) -> DomainChain:
        return self.gateway.chain

    @property
    def config(self) -> GatewayConfig:
        return self.gateway.config

    def view(self, header) -> BlockView:
        """The block `header` with its transactions, receipts and senders (cached by hash)."""
        return self.gateway.views.load(self.chain, header)

    def find_transaction(self, tx_hash: bytes) -> tuple[BlockView, int] | None:
        """The canonical block view holding `tx_hash` and the index there, or None."""
        return find_transaction(self.chain, tx_hash, self.gateway.views)

    def require_connection(self) -> Any:
        """The WebSocket connection of this request; -32601 over HTTP (no notifications)."""
        if self.connection is None:
            raise RpcError("notifications not supported: subscribe over a WebSocket connection",
                           code=METHOD_NOT_FOUND)
        return self.connection

    def require_dev_signer(self, method: str) -> None:
        """-32004 unless the dev signer is on and holds keys."""
        if not (self.config.dev_signer and self.node.dev_keys):
            raise MethodNotSupported(
                f"{method} is unavailable: the dev signer is off on this node "
                "(sign the transaction in the wallet and use eth_sendRawTransaction)")
