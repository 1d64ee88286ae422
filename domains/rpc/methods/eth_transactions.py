"""Submitting and signing: eth_sendRawTransaction, eth_fillTransaction, and the dev signer's
eth_sendTransaction, eth_signTransaction and eth_sign.

Pool rejections are answered with the pool's code and geth's message (`TxRejected`):
-32000 "nonce too low: ...", "insufficient funds for gas * price + value: ...", "invalid chain
id: ...", ...; undecodable bytes are -32602. With the dev signer off, the signing methods are
-32004 (method not supported) and eth_accounts is [].
"""

from __future__ import annotations

from domains.evm.txpool import TxRejected
from domains.rpc import formatting as fmt
from domains.rpc import signer
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import RpcError
from domains.rpc.methods.eth_execution import call_request
from domains.rpc.params import address, data

table = MethodTable()


def submit(ctx: Context, raw: bytes) -> str:
    """Hand `raw` to the pool; its hash, or the pool's rejection as a JSON-RPC error."""
    try:
        return fmt.hexbytes(ctx.node.submit_raw_transaction(raw))
    except TxRejected as exc:
        raise RpcError(exc.message, code=exc.code) from None


@table.method("eth_sendRawTransaction", Param("transaction", data))
def send_raw_transaction(ctx: Context, raw: bytes) -> str:
    return submit(ctx, raw)


@table.method("eth_fillTransaction", Param("transaction", call_request))
def fill_transaction(ctx: Context, request) -> dict:
    """The transaction with nonce, gas, fees, type and chain id filled in (nothing signed)."""
    filled = signer.fill_transaction(ctx.chain, ctx.node, request)
    return {"tx": filled.to_json()}


@table.method("eth_sendTransaction", Param("transaction", call_request))
def send_transaction(ctx: Context, request) -> str:
    ctx.require_dev_signer("eth_sendTransaction")
    key = signer.signing_key(ctx.node, request.sender)
    filled = signer.fill_transaction(ctx.chain, ctx.node, request)
    raw, _ = signer.sign_transaction(ctx.chain, filled, key)
    return submit(ctx, raw)


@table.method("eth_signTransaction", Param("transaction", call_request))
def sign_transaction(ctx: Context, request) -> dict:
    ctx.require_dev_signer("eth_signTransaction")
    key = signer.signing_key(ctx.node, request.sender)
    filled = signer.fill_transaction(ctx.chain, ctx.node, request)
    raw, tx = signer.sign_transaction(ctx.chain, filled, key)
    return {"raw": fmt.hexbytes(raw), "tx": fmt.format_transaction(tx, filled.sender, None, block_fields=False)}


@table.method("eth_sign", Param("address", address), Param("message", data))
def sign(ctx: Context, account: bytes, message: bytes) -> str:
    """EIP-191 signature of `message` by a dev account (v = 27 / 28)."""
    ctx.require_dev_signer("eth_sign")
    return fmt.hexbytes(signer.sign_message(signer.signing_key(ctx.node, account), message))
