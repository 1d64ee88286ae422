"""Fee methods: eth_gasPrice, eth_maxPriorityFeePerGas, eth_baseFee, eth_blobBaseFee,
eth_feeHistory (pricing rules in `domains.rpc.fees`)."""

from __future__ import annotations

from typing import Any

from domains.rpc import fees
from domains.rpc import formatting as fmt
from domains.rpc.blocks import header_for
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.params import UINT64_MAX, ParamError, block_number_or_tag, shorten, uint64

table = MethodTable()


@table.method("eth_gasPrice")
def gas_price(ctx: Context) -> str:
    """2 × next base fee + the suggested tip: enough alone as fee cap, tip or legacy price."""
    return fmt.quantity(fees.gas_price(ctx.chain))


@table.method("eth_maxPriorityFeePerGas")
def max_priority_fee(ctx: Context) -> str:
    return fmt.quantity(fees.suggested_tip(ctx.chain))


@table.method("eth_baseFee")
def base_fee(ctx: Context) -> str:
    """The base fee of the next block."""
    return fmt.quantity(fees.next_base_fee(ctx.chain))


@table.method("eth_blobBaseFee")
def blob_base_fee(ctx: Context) -> str:
    """The blob base fee of the next block (a domain takes no blob transactions, but the
    BLOBBASEFEE opcode reads it)."""
    return fmt.quantity(fees.next_blob_base_fee(ctx.chain))


def block_count(value: Any) -> int:
    """A block count: a hex quantity, or a plain JSON integer as geth also accepts."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= UINT64_MAX:
            raise ParamError(f"block count must be a 64-bit unsigned integer, got {shorten(value)}")
        return value
    return uint64(value)


@table.method("eth_feeHistory", Param("blockCount", block_count), Param("newestBlock", block_number_or_tag),
              Param("rewardPercentiles", fees.reward_percentiles, default=None))
def fee_history(ctx: Context, count: int, newest, percentiles) -> dict:
    return fees.fee_history(ctx.chain, count, header_for(ctx.chain, newest), percentiles)
