"""eth_call, eth_estimateGas and eth_createAccessList over `domains.evm.execution`.

The block parameter (default `latest`) picks the state and the block context: the state after
that block, in that block's context, as geth runs them; `pending` runs in the context of the
block that would come next (next base fee and number) over the head state.

Errors: a malformed call object or override set is -32602 naming the parameter and field; a
revert is code 3 `execution reverted[: reason]` with the revert bytes as `data`; any other
failure (out of gas, invalid opcode, insufficient funds, ...) is -32000 with geth's text.
"""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI

from domains.evm import execution
from domains.rpc import formatting as fmt
from domains.rpc.blocks import header_for
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import ExecutionReverted, InvalidParams, ServerError
from domains.rpc.params import LATEST, BlockRef, ParamError, block_ref, json_object

table = MethodTable()


def call_request(value: Any) -> execution.CallRequest:
    """Parse a `GenericTransaction` call object (a parameter parser)."""
    try:
        return execution.CallRequest.from_json(value)
    except execution.InvalidCallRequest as exc:
        raise ParamError(str(exc)) from None


def execution_header(ctx: Context, ref: BlockRef) -> BlockHeaderAPI:
    """The header whose state and context an execution at `ref` uses."""
    if ref.tag == "pending":
        return execution.next_block_header(ctx.chain)
    return header_for(ctx.chain, ref)


def run_execution(function, *args, overrides_params: dict[str, int], **kwargs) -> Any:
    """Call into `domains.evm.execution`, turning its errors into JSON-RPC errors.

    `overrides_params` maps the override argument's field prefix (``stateOverride``,
    ``blockOverride``) to its parameter position, for -32602 messages."""
    try:
        return function(*args, **kwargs)
    except execution.InvalidCallRequest as exc:
        position, name = 0, "transaction"
        for prefix, index in overrides_params.items():
            if exc.field.startswith(prefix):
                position, name = index, prefix + "s"
        raise InvalidParams(f"invalid argument {position} ({name}): {exc}") from None
    except execution.ExecutionReverted as exc:
        raise ExecutionReverted(exc.reason, exc.data) from None
    except execution.ExecutionError as exc:
        raise ServerError(exc.message) from None


@table.method("eth_call", Param("transaction", call_request), Param("block", block_ref, default=LATEST),
              Param("stateOverrides", json_object, default=None), Param("blockOverrides", json_object, default=None))
def eth_call(ctx: Context, request, ref, state_overrides, block_overrides) -> str:
    result = run_execution(execution.call, ctx.chain, request, execution_header(ctx, ref),
                           state_overrides=state_overrides, block_overrides=block_overrides,
                           overrides_params={"stateOverride": 2, "blockOverride": 3})
    if result.revert is not None:
        raise ExecutionReverted(result.reason, result.revert)
    if result.error is not None:
        raise ServerError(result.error)
    return fmt.hexbytes(result.output)


@table.method("eth_estimateGas", Param("transaction", call_request), Param("block", block_ref, default=LATEST),
              Param("stateOverrides", json_object, default=None))
def estimate_gas(ctx: Context, request, ref, state_overrides) -> str:
    """The exact gas the transaction needs (intrinsic gas and calldata floor included)."""
    gas = run_execution(execution.estimate_gas, ctx.chain, request, execution_header(ctx, ref),
                        state_overrides=state_overrides, overrides_params={"stateOverride": 2})
    return fmt.quantity(gas)


@table.method("eth_createAccessList", Param("transaction", call_request), Param("block", block_ref, default=LATEST),
              Param("stateOverrides", json_object, default=None))
def create_access_list(ctx: Context, request, ref, state_overrides) -> dict:
    result = run_execution(execution.create_access_list, ctx.chain, request, execution_header(ctx, ref),
                           state_overrides=state_overrides, overrides_params={"stateOverride": 2})
    return result.to_json()
