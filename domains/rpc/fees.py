"""Fee suggestions and fee history.

Pricing rule (chosen so that a wallet following any of our answers gets included):
- the suggested priority fee (`eth_maxPriorityFeePerGas`) is `SUGGESTED_TIP` = 1 gwei, the
  figure Hardhat answers and ethers falls back to. A domain has no tip auction (every
  executable transaction goes into the next block; tips only order them and go to the block's
  coinbase), so no history-based estimate is needed, and none is used: MetaMask pays
  `gasPrice` as its tip, which would feed back into a percentile estimate and ratchet it up.
- `eth_gasPrice` = 2 × the next block's base fee + the tip. MetaMask, on custom networks, sets
  both `maxFeePerGas` and `maxPriorityFeePerGas` to `eth_gasPrice`; legacy wallets use it as
  the gas price. Twice the base fee covers six consecutive full blocks of +12.5% each, the
  same headroom ethers' `getFeeData` gives (`maxFeePerGas = 2 × baseFee + tip`), which the dev
  signer and eth_fillTransaction use too.
- before London (no base fee) the gas price is the tip alone.

`eth_feeHistory` follows geth: at most 1024 blocks ending at `newestBlock`; base fees include
the block after the newest; rewards are, per block, the effective tips at the requested
percentiles of gas used, transactions sorted by tip (zeros for an empty block).
"""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI

from domains.evm.chain import DomainChain
from domains.rpc import formatting as fmt
from domains.rpc.blocks import blob_base_fee_of
from domains.rpc.params import ParamError

SUGGESTED_TIP = 10**9
MAX_FEE_HISTORY_BLOCKS = 1024
MAX_REWARD_PERCENTILES = 100
#: Blob gas a block may use, by the fork that governs it (EIP-4844, EIP-7691).
MAX_BLOB_GAS = {"cancun": 786_432, "prague": 1_179_648}


def next_header(chain: DomainChain) -> BlockHeaderAPI:
    """The header the next block would get on the head (base fee, excess blob gas)."""
    return chain.pending_vm().get_header()


def next_base_fee(chain: DomainChain) -> int:
    """The base fee of the next block; 0 before London."""
    return getattr(next_header(chain), "base_fee_per_gas", None) or 0


def next_blob_base_fee(chain: DomainChain) -> int:
    """The blob base fee of the next block; 0 before Cancun."""
    vm = chain.pending_vm()
    try:
        return vm.state.blob_base_fee
    except (AttributeError, NotImplementedError):
        return 0


def suggested_tip(chain: DomainChain) -> int:
    """The priority fee to suggest (see the module docstring)."""
    return SUGGESTED_TIP


def suggested_max_fee(base_fee: int, tip: int) -> int:
    """A fee cap that survives a run of full blocks: 2 × base fee + tip."""
    return 2 * base_fee + tip


def gas_price(chain: DomainChain) -> int:
    """eth_gasPrice: usable alone as gas price, fee cap and tip (see the module docstring)."""
    return suggested_max_fee(next_base_fee(chain), suggested_tip(chain))


# -- fee history -------------------------------------------------------------------------------

def reward_percentiles(value: Any) -> list[float]:
    """Parse `rewardPercentiles`: numbers in [0, 100], increasing (a parameter parser)."""
    if not isinstance(value, list):
        raise ParamError("reward percentiles must be an array of numbers")
    if len(value) > MAX_REWARD_PERCENTILES:
        raise ParamError(f"too many reward percentiles: {len(value)}, at most {MAX_REWARD_PERCENTILES}")
    out: list[float] = []
    for index, p in enumerate(value):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 100:
            raise ParamError(f"invalid reward percentile #{index}: {p!r} (want a number from 0 to 100)")
        if out and p < out[-1]:
            raise ParamError(f"invalid reward percentile #{index}: {p} is below #{index - 1}: {out[-1]}")
        out.append(float(p))
    return out


def fee_history(chain: DomainChain, block_count: int, newest: BlockHeaderAPI,
                percentiles: list[float] | None) -> dict[str, Any]:
    """eth_feeHistory's result for up to `block_count` blocks ending at `newest`."""
    count = min(block_count, MAX_FEE_HISTORY_BLOCKS, newest.block_number + 1)
    if count == 0:
        return {"oldestBlock": fmt.quantity(0), "baseFeePerGas": [], "gasUsedRatio": [],
                "baseFeePerBlobGas": [], "blobGasUsedRatio": []}
    oldest = newest.block_number - count + 1
    base_fees, blob_fees, gas_ratios, blob_ratios, rewards = [], [], [], [], []
    for number in range(oldest, newest.block_number + 1):
        header = chain.header_by_number(number) if number != newest.block_number else newest
        base_fees.append(getattr(header, "base_fee_per_gas", None) or 0)
        blob_fees.append(blob_base_fee_of(chain, header))
        gas_ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
        blob_ratios.append(_blob_gas_ratio(chain, header))
        if percentiles is not None:
            rewards.append(block_rewards(chain, header, percentiles))
    following = chain.header_by_number(newest.block_number + 1)
    if following is None:
        following = next_header(chain)
        base_fees.append(getattr(following, "base_fee_per_gas", None) or 0)
        blob_fees.append(next_blob_base_fee(chain))
    else:
        base_fees.append(getattr(following, "base_fee_per_gas", None) or 0)
        blob_fees.append(blob_base_fee_of(chain, following))
    result: dict[str, Any] = {
        "oldestBlock": fmt.quantity(oldest),
        "baseFeePerGas": [fmt.quantity(f) for f in base_fees],
        "gasUsedRatio": gas_ratios,
        "baseFeePerBlobGas": [fmt.quantity(f) for f in blob_fees],
        "blobGasUsedRatio": blob_ratios,
    }
    if percentiles is not None:
        result["reward"] = [[fmt.quantity(r) for r in block] for block in rewards]
    return result


def _blob_gas_ratio(chain: DomainChain, header: BlockHeaderAPI) -> float:
    used = getattr(header, "blob_gas_used", None)
    limit = MAX_BLOB_GAS.get(chain.fork_of(header.block_number))
    if not used or not limit:
        return 0.0
    return used / limit


def block_rewards(chain: DomainChain, header: BlockHeaderAPI, percentiles: list[float]) -> list[int]:
    """The effective tips at `percentiles` of the block's gas used (geth's weighting)."""
    if header.gas_used == 0:
        return [0] * len(percentiles)
    block = chain.block_of(header)
    receipts = chain.receipts_of(header)
    base_fee = getattr(header, "base_fee_per_gas", None) or 0
    tips = []
    previous = 0
    for tx, receipt in zip(block.transactions, receipts):
        tip = fmt.effective_gas_price(tx, base_fee) - base_fee
        tips.append((max(tip, 0), receipt.gas_used - previous))
        previous = receipt.gas_used
    if not tips:
        return [0] * len(percentiles)
    tips.sort()
    out = []
    index = 0
    gas_sum = tips[0][1]
    for p in percentiles:
        threshold = header.gas_used * p / 100
        while gas_sum < threshold and index < len(tips) - 1:
            index += 1
            gas_sum += tips[index][1]
        out.append(tips[index][0])
    return out
