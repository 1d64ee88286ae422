"""txpool_* methods, in geth's formats: status counts, content by sender and nonce (addresses
checksummed as map keys, nonces as decimal strings), and the one-line `inspect` summaries."""

from __future__ import annotations

from typing import Callable

from eth_utils import to_checksum_address

from domains.evm.txpool import PoolTx
from domains.rpc import formatting as fmt
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.params import address

table = MethodTable()


def _split(ctx: Context) -> tuple[dict, dict]:
    """(pending, queued): sender -> nonce -> PoolTx, split at each sender's first nonce gap."""
    state = ctx.chain.state_at(ctx.chain.head())
    return ctx.node.pool.content(state.get_nonce)


def _by_sender(groups: dict[bytes, dict[int, PoolTx]], shape: Callable[[PoolTx], object]) -> dict:
    return {to_checksum_address(sender): {str(nonce): shape(entry) for nonce, entry in sorted(by_nonce.items())}
            for sender, by_nonce in groups.items()}


def _tx_json(entry: PoolTx) -> dict:
    return fmt.format_transaction(entry.tx, entry.sender, None)


def _summary(entry: PoolTx) -> str:
    """geth's inspect line: `<to>: <value> wei + <gas> gas × <fee cap> wei`."""
    tx = entry.tx
    to = to_checksum_address(tx.to) if tx.to else "contract creation"
    return f"{to}: {tx.value} wei + {tx.gas} gas × {tx.max_fee_per_gas} wei"


@table.method("txpool_status")
def status(ctx: Context) -> dict:
    pending, queued = _split(ctx)
    return {"pending": fmt.quantity(sum(len(v) for v in pending.values())),
            "queued": fmt.quantity(sum(len(v) for v in queued.values()))}


@table.method("txpool_content")
def content(ctx: Context) -> dict:
    pending, queued = _split(ctx)
    return {"pending": _by_sender(pending, _tx_json), "queued": _by_sender(queued, _tx_json)}


@table.method("txpool_contentFrom", Param("address", address))
def content_from(ctx: Context, sender: bytes) -> dict:
    pending, queued = _split(ctx)
    return {"pending": {str(n): _tx_json(e) for n, e in sorted(pending.get(sender, {}).items())},
            "queued": {str(n): _tx_json(e) for n, e in sorted(queued.get(sender, {}).items())}}


@table.method("txpool_inspect")
def inspect(ctx: Context) -> dict:
    pending, queued = _split(ctx)
    return {"pending": _by_sender(pending, _summary), "queued": _by_sender(queued, _summary)}
