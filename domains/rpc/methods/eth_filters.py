"""Logs, polling filters and subscriptions: eth_getLogs, eth_newFilter, eth_newBlockFilter,
eth_newPendingTransactionFilter, eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter,
eth_subscribe, eth_unsubscribe (rules in `domains.rpc.logs`, `.filters`, `.subscriptions`)."""

from __future__ import annotations

from typing import Any

from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import InvalidParams
from domains.rpc.logs import log_filter, run_filter
from domains.rpc.params import ParamError, quantity
from domains.rpc.subscriptions import KINDS

table = MethodTable()


@table.method("eth_getLogs", Param("filter", log_filter))
def get_logs(ctx: Context, flt) -> list:
    return run_filter(ctx.chain, flt, block_range_limit=ctx.config.logs_block_range_limit,
                      result_limit=ctx.config.logs_result_limit)


@table.method("eth_newFilter", Param("filter", log_filter))
def new_filter(ctx: Context, flt) -> str:
    first, last = flt.from_block, flt.to_block
    if first is not None and last is not None and first.number is not None and last.number is not None \
            and first.number > last.number:
        raise InvalidParams("invalid block range params")  # geth refuses it at creation, too
    return ctx.gateway.filters.new_log_filter(flt)


@table.method("eth_newBlockFilter")
def new_block_filter(ctx: Context) -> str:
    return ctx.gateway.filters.new_block_filter()


@table.method("eth_newPendingTransactionFilter")
def new_pending_transaction_filter(ctx: Context) -> str:
    return ctx.gateway.filters.new_pending_transaction_filter()


@table.method("eth_getFilterChanges", Param("filterId", quantity))
def filter_changes(ctx: Context, filter_id: int) -> list:
    return ctx.gateway.filters.changes(filter_id)


@table.method("eth_getFilterLogs", Param("filterId", quantity))
def filter_logs(ctx: Context, filter_id: int) -> list:
    return ctx.gateway.filters.logs(filter_id)


@table.method("eth_uninstallFilter", Param("filterId", quantity))
def uninstall_filter(ctx: Context, filter_id: int) -> bool:
    return ctx.gateway.filters.uninstall(filter_id)


# -- subscriptions (WebSocket only) ------------------------------------------------------------

def subscription_kind(value: Any) -> str:
    if value not in KINDS:
        raise ParamError(f"no such subscription {value!r}, expected one of {', '.join(KINDS)}")
    return value


@table.method("eth_subscribe", Param("kind", subscription_kind), Param("options", lambda v: v, default=None))
def subscribe(ctx: Context, kind: str, options: Any) -> str:
    """Start a `newHeads`, `logs` or `newPendingTransactions` subscription on this connection.

    `logs` takes an optional `{"address", "topics"}` object (a filter object, checked whole:
    it delivers the logs of new blocks only, so a block range other than latest..latest or a
    block hash is refused rather than ignored); `newPendingTransactions` an optional `true`
    for whole transactions instead of hashes."""
    connection = ctx.require_connection()
    criteria, full = None, False
    if kind == "logs":
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1 (options): a logs subscription takes a filter object")
        try:
            flt = log_filter(options or {})
        except ParamError as exc:
            raise InvalidParams(f"invalid argument 1 (options): {exc}") from None
        if flt.block_hash is not None or any(ref is not None and ref.tag != "latest"
                                             for ref in (flt.from_block, flt.to_block)):
            raise InvalidParams("invalid argument 1 (options): a logs subscription delivers the logs of new "
                                "blocks only (fromBlock/toBlock may only be \"latest\", no blockHash)")
        criteria = flt.criteria
    elif kind == "newPendingTransactions":
        if options is not None and not isinstance(options, bool):
            raise InvalidParams("invalid argument 1 (options): newPendingTransactions takes true or false")
        full = bool(options)
    elif options is not None:
        raise InvalidParams(f"invalid argument 1 (options): {kind} takes no options")
    sub = ctx.gateway.subscriptions.subscribe(connection, kind, criteria=criteria, full_transactions=full)
    connection.subscription_started(sub)
    return sub.hex_id


@table.method("eth_unsubscribe", Param("subscriptionId", quantity))
def unsubscribe(ctx: Context, sub_id: int) -> bool:
    return ctx.gateway.subscriptions.unsubscribe(ctx.require_connection(), sub_id, kinds=KINDS)
