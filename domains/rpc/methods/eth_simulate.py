"""eth_simulateV1 over `domains.evm.simulate`.

Parameters: the `EthSimulatePayload` object and a block (default `latest`) to simulate on.
The answer is geth's: one block object per simulated block (hashes, or full transactions with
`returnFullTransactions`) with a `calls` member holding each call's `returnData`, `logs`,
`gasUsed`, `maxUsedGas`, `status` and, for a failed call, an `error` object.

Errors: a malformed payload is -32602; a request geth refuses as a whole (bad block order,
a call its pre-checks refuse, too many blocks) is answered with geth's code (-380xx).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from domains.evm import execution, simulate
from domains.rpc import formatting as fmt
from domains.rpc.blocks import header_for
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import InvalidParams, RpcError
from domains.rpc.params import LATEST, ParamError, block_ref

table = MethodTable()


def simulation_request(value: Any) -> simulate.SimulationRequest:
    """Parse an `EthSimulatePayload` (a parameter parser)."""
    try:
        return simulate.SimulationRequest.from_json(value)
    except execution.InvalidCallRequest as exc:
        raise ParamError(str(exc)) from None


class _Log(NamedTuple):
    address: bytes
    topics: tuple[int, ...]
    data: bytes


def format_simulated_block(result: simulate.SimulatedBlock, full_transactions: bool) -> dict[str, Any]:
    """A simulated block as geth marshals it: the block object plus its `calls`."""
    block = result.block
    header = block.header
    if full_transactions:
        transactions = [fmt.format_transaction(tx, sender, fmt.TxLocation.in_block(header, i))
                        for i, (tx, sender) in enumerate(zip(block.transactions, result.senders))]
    else:
        transactions = [fmt.hexbytes(tx.hash) for tx in block.transactions]
    out = fmt.format_block(block, transactions)
    calls = []
    for i, (tx, outcome) in enumerate(zip(block.transactions, result.calls)):
        location = fmt.TxLocation.in_block(header, i)
        logs = [fmt.format_log(_Log(*entry), location=location, tx_hash=tx.hash, log_index=index)
                for entry, index in zip(outcome.logs, outcome.log_indexes)]
        call: dict[str, Any] = {
            "returnData": fmt.hexbytes(outcome.output),
            "logs": logs,
            "gasUsed": fmt.quantity(outcome.gas_used),
            "maxUsedGas": fmt.quantity(outcome.max_used_gas),
            "status": fmt.quantity(outcome.status),
        }
        if outcome.error is not None:
            code, message, data = outcome.error
            error: dict[str, Any] = {"message": message, "code": code}
            if data is not None:
                error["data"] = fmt.hexbytes(data)
            call["error"] = error
        calls.append(call)
    out["calls"] = calls
    return out


@table.method("eth_simulateV1", Param("payload", simulation_request), Param("block", block_ref, default=LATEST))
def eth_simulate(ctx: Context, request, ref) -> list[dict[str, Any]]:
    base = header_for(ctx.chain, ref)
    try:
        results = simulate.simulate(ctx.chain, base, request)
    except execution.InvalidCallRequest as exc:
        raise InvalidParams(f"invalid argument 0 (payload): {exc}") from None
    except simulate.SimulationError as exc:
        raise RpcError(exc.message, code=exc.code) from None
    return [format_simulated_block(result, request.return_full_transactions) for result in results]
