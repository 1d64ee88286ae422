"""debug_* methods: raw RLP getters and transaction tracing (`domains.evm.tracing`).

Tracing replays history: a transaction is traced on the state right before it, obtained by
re-executing its block from the parent's state (pre-processing, then the earlier
transactions) on a scratch view; nothing is written. Tracers are geth's struct logger
(default) and `callTracer`, configured by the TraceConfig object. Genesis has no parent and
cannot be traced ("genesis is not traceable", as geth).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import rlp
from eth.abc import BlockHeaderAPI, VirtualMachineAPI

from domains.evm import execution, tracing
from domains.evm.chain import DomainChain
from domains.rpc import formatting as fmt
from domains.rpc.blocks import BlockView, find_header
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import InvalidParams, ResourceNotFound, ServerError
from domains.rpc.methods.eth_execution import call_request, execution_header, run_execution
from domains.rpc.params import LATEST, BlockRef, block_number_or_tag, block_ref, hash32, json_object

table = MethodTable()


# -- raw getters -------------------------------------------------------------------------------

def _header(ctx: Context, ref: BlockRef) -> BlockHeaderAPI:
    header = find_header(ctx.chain, ref)
    if header is None:
        raise ServerError(f"block {ref.describe()} not found")
    return header


@table.method("debug_getRawHeader", Param("block", block_number_or_tag))
def raw_header(ctx: Context, ref) -> str:
    return fmt.hexbytes(rlp.encode(_header(ctx, ref)))


@table.method("debug_getRawBlock", Param("block", block_number_or_tag))
def raw_block(ctx: Context, ref) -> str:
    return fmt.hexbytes(rlp.encode(ctx.chain.block_of(_header(ctx, ref))))


@table.method("debug_getRawReceipts", Param("block", block_number_or_tag))
def raw_receipts(ctx: Context, ref) -> list[str]:
    """The block's receipts in their EIP-2718 binary form (type byte first for typed ones)."""
    return [fmt.hexbytes(receipt.encode()) for receipt in ctx.chain.receipts_of(_header(ctx, ref))]


@table.method("debug_getRawTransaction", Param("transactionHash", hash32))
def raw_transaction(ctx: Context, tx_hash: bytes) -> str | None:
    """The EIP-2718 binary form of a mined or pending transaction; null if unknown."""
    found = ctx.find_transaction(tx_hash)
    if found is not None:
        view, index = found
        return fmt.hexbytes(fmt.encode_transaction(view.transactions[index]))
    pending = ctx.node.pool.get(tx_hash)
    return fmt.hexbytes(pending.raw) if pending is not None else None


@table.method("debug_getBadBlocks")
def bad_blocks(ctx: Context) -> list:
    """Blocks that failed import are reported to the importer and not kept: none to list."""
    return []


@table.method("debug_getRawBlockAccessList", Param("block", block_number_or_tag))
def raw_block_access_list(ctx: Context, ref) -> Any:
    header = _header(ctx, ref)
    raise ResourceNotFound(f"block {header.block_number} has no access list: block access lists start with "
                           "the Amsterdam fork")


# -- tracing -----------------------------------------------------------------------------------

def replay_until(chain: DomainChain, view: BlockView, stop: int) -> tuple[VirtualMachineAPI, BlockHeaderAPI, int]:
    """A VM on the state right before transaction `stop` of the block, the running header
    (gas used so far) and the number of logs emitted so far."""
    parent = chain.header_by_hash(view.header.parent_hash)
    if parent is None:
        raise ServerError("genesis is not traceable")
    changes = {"state_root": parent.state_root, "gas_used": 0}
    if getattr(view.header, "blob_gas_used", None) is not None:
        changes["blob_gas_used"] = 0
    header = view.header.copy(**changes)
    vm = chain.vm_at(header)
    vm.block_preprocessing(view.block)
    logs = 0
    for tx in view.block.transactions[:stop]:
        receipt, _ = vm.apply_transaction(header, tx)
        header = vm.add_receipt_to_header(header, receipt)
        header = vm.increment_blob_gas_used(header, tx)
        logs += len(receipt.logs)
    return vm, header, logs


@contextmanager
def _bounded_trace():
    """A struct log past the node's cap (`tracing.MAX_STRUCT_LOGS`) is a -32000 saying so."""
    try:
        yield
    except tracing.TraceTooLarge as exc:
        raise ServerError(str(exc)) from None


def _tracer(config: dict | None, first_log_index: int, position: int):
    try:
        return tracing.make_tracer(None, config, first_log_index=first_log_index)
    except ValueError as exc:  # UnsupportedTracer, TraceConfigError
        raise InvalidParams(f"invalid argument {position} (config): {exc}") from None


@table.method("debug_traceTransaction", Param("transactionHash", hash32), Param("config", json_object, default=None))
def trace_transaction(ctx: Context, tx_hash: bytes, config: dict | None) -> dict:
    found = ctx.find_transaction(tx_hash)
    if found is None:
        raise ServerError("transaction not found")
    view, index = found
    vm, header, logs = replay_until(ctx.chain, view, index)
    tracer = _tracer(config, logs, 1)
    with _bounded_trace():
        tracing.apply_traced_transaction(vm, header, view.transactions[index], tracer)
    return tracer.result()


def trace_block(ctx: Context, header: BlockHeaderAPI, config: dict | None) -> list[dict]:
    """`[{txHash, result}]` for every transaction of the block, in order."""
    if header.block_number == 0:
        raise ServerError("genesis is not traceable")
    view = ctx.view(header)
    vm, running, logs = replay_until(ctx.chain, view, 0)
    _tracer(config, 0, 1)  # refuse a bad config even for an empty block
    out = []
    for tx in view.transactions:
        tracer = _tracer(config, logs, 1)
        with _bounded_trace():
            receipt, _ = tracing.apply_traced_transaction(vm, running, tx, tracer)
        running = vm.add_receipt_to_header(running, receipt)
        running = vm.increment_blob_gas_used(running, tx)
        logs += len(receipt.logs)
        out.append({"txHash": fmt.hexbytes(tx.hash), "result": tracer.result()})
    return out


@table.method("debug_traceBlockByNumber", Param("block", block_number_or_tag), Param("config", json_object, default=None))
def trace_block_by_number(ctx: Context, ref, config: dict | None) -> list[dict]:
    return trace_block(ctx, _header(ctx, ref), config)


@table.method("debug_traceBlockByHash", Param("blockHash", hash32), Param("config", json_object, default=None))
def trace_block_by_hash(ctx: Context, block_hash: bytes, config: dict | None) -> list[dict]:
    return trace_block(ctx, _header(ctx, BlockRef(hash=block_hash)), config)


@table.method("debug_traceCall", Param("transaction", call_request), Param("block", block_ref, default=LATEST),
              Param("config", json_object, default=None))
def trace_call(ctx: Context, request, ref, config: dict | None) -> dict:
    """Trace a call as eth_call would run it: the same defaults and checks (a free call
    without fee fields; the nonce not checked), with geth's TraceCallConfig `stateOverrides`
    and `blockOverrides` beside the tracer options."""
    header = execution_header(ctx, ref)
    tracer = _tracer(config, 0, 2)
    config = config or {}
    with _bounded_trace():
        run_execution(execution.trace_call, ctx.chain, request, header, tracer,
                      state_overrides=config.get("stateOverrides"), block_overrides=config.get("blockOverrides"),
                      overrides_params={"stateOverride": 2, "blockOverride": 2})
    return tracer.result()
