"""Rewards pallet (index 4): the block reward to the farmer's reward address (spec §7 "Rewards").

Storage (pallet "Rewards"), all set at genesis:

* `BlockReward`: u128, the initial reward per block (Shannon).
* `HalvingInterval`: u32, every this many blocks the reward halves (0: never).
* `RewardsCapped`: bool; `RemainingRewards`: u128, what may still be issued as rewards when
  capped.

Schedule (simplified from the live piecewise-linear `RewardPoint` schedule with a
utilisation-based decrease, which this runtime does not model):
`reward(N) = BlockReward >> (N // HalvingInterval)` (or `BlockReward` without halving),
capped by `RemainingRewards`. It is minted in `on_finalize` into the pre-digest solution's
`reward_address` (`ctx.reward_address`). A reward that would leave an absent account below the
existential deposit is dropped (not minted). Votes and their rewards are not implemented.
"""

from __future__ import annotations

from typing import Any

from chain.runtime import values
from chain.runtime.balances import AI3, Balances
from chain.runtime.errors import UnknownCall
from chain.runtime.extrinsics import REWARDS_INDEX
from chain.runtime.pallet import BlockContext, Origin

NAME = "Rewards"
DEFAULT_BLOCK_REWARD = AI3


def block_reward_at(initial_reward: int, halving_interval: int, block_number: int) -> int:
    """The proposer reward of block `block_number`: halves every `halving_interval` blocks."""
    if halving_interval <= 0:
        return initial_reward
    return initial_reward >> (block_number // halving_interval)


def capped_reward(reward: int, capped: bool, remaining: int) -> int:
    """A reward never exceeds the remaining issuance (when issuance is capped)."""
    return min(reward, remaining) if capped else reward


class Rewards:
    """The Rewards pallet (`Pallet` protocol): pays the block reward in `on_finalize`."""

    name = NAME
    index = REWARDS_INDEX

    def genesis(self, storage, config: dict[str, Any]) -> None:
        values.set_uint(storage, "BlockReward", 128, int(config.get("block_reward", DEFAULT_BLOCK_REWARD)))
        values.set_uint(storage, "HalvingInterval", 32, int(config.get("halving_interval", 0)))
        cap = config.get("max_reward_issuance")
        values.set_bool(storage, "RewardsCapped", cap is not None)
        if cap is not None:
            values.set_uint(storage, "RemainingRewards", 128, int(cap))

    def on_initialize(self, storage, ctx: BlockContext) -> None:
        pass

    def dispatch(self, storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        raise UnknownCall(f"Rewards has no call {call_index}")

    def on_finalize(self, storage, ctx: BlockContext) -> None:
        pay_block_reward(storage, ctx)


def pay_block_reward(storage, ctx: BlockContext) -> int:
    """Spec §7 "Rewards": the block author (the pre-digest solution's reward address) receives
    the block reward of this block's number. Returns the amount minted."""
    reward = block_reward_at(
        values.get_uint(storage, "BlockReward", 128), values.get_uint(storage, "HalvingInterval", 32), ctx.number
    )
    capped = values.get_bool(storage, "RewardsCapped")
    remaining = values.get_uint(storage, "RemainingRewards", 128)
    reward = capped_reward(reward, capped, remaining)
    paid = Balances(storage.of("Balances")).deposit(ctx.reward_address, reward)
    if capped and paid:
        values.set_uint(storage, "RemainingRewards", 128, remaining - paid)
    if paid:
        storage.deposit_event("BlockReward", block_author=bytes(ctx.reward_address), reward=paid)
    return paid
