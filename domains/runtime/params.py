"""Domain constants (spec/domains.md §1.2, §2.3, §2.7, §7) and a domain's stored configuration.

`DomainParams` holds the protocol-wide values with presets `MAINNET` (live), `DEV` (a laptop
network: a challenge period of 5 domain blocks, spec §2.7 "Dev params are 5/5/5") and `TEST`.
`DomainConfig` is one domain's configuration as the consensus chain stores it (spec §1.2,
`DomainConfig` with concrete bundle limits).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chain import params as chain_params
from chain.scale import (
    decode_bytes,
    decode_u32,
    decode_u64,
    encode_bytes,
    encode_u32,
    encode_u64,
    ensure_consumed,
)
from domains.bundles import INITIAL_DOMAIN_TX_RANGE, Weight

MIB = 1 << 20


@dataclass(frozen=True)
class DomainParams:
    """Protocol constants of the domains pallet."""

    name: str
    #: `BlockTreePruningDepth`: an ER is confirmed when the ER this many domain blocks above it
    #: is added (spec §2.7). Live: 14,400.
    challenge_depth: int
    #: `BundleLongevity`: a bundle's slot may be at most this many consensus blocks old (§2.3 #6).
    bundle_longevity: int = 5
    #: `MaxDomainBlockSize` = 75% × 5 MiB (spec §1.2).
    max_domain_block_size: int = 3_932_160
    #: `MaxDomainBlockWeight` = 1.3×10^12 ref_time, 3.25 MiB proof size (spec §1.2).
    max_domain_block_weight: Weight = Weight(1_300_000_000_000, 3 * MIB + MIB // 4)
    #: The consensus chain's slot probability (spec: 1 block per 6 slots).
    consensus_slot_probability: tuple[int, int] = (1, 6)

    def with_(self, **changes) -> "DomainParams":
        return replace(self, **changes)


MAINNET = DomainParams(name="mainnet", challenge_depth=14_400,
                       consensus_slot_probability=chain_params.MAINNET.slot_probability)
#: The dev consensus chain wins a slot with probability 1/2 (chain.params.DEV), so it expects 2
#: bundles per block, not 6: a DEV bundle may hold a third of a domain block.
DEV = DomainParams(name="dev", challenge_depth=5, consensus_slot_probability=chain_params.DEV.slot_probability)
TEST = DomainParams(name="test", challenge_depth=3)


def calculate_max_bundle_weight_and_size(params: DomainParams,
                                         bundle_slot_probability: tuple[int, int]) -> tuple[int, Weight]:
    """`calculate_max_bundle_weight_and_size` (spec §1.2): expected bundles per consensus block
    = (bundle_num × consensus_den) / (bundle_den × consensus_num) (integer division, at least
    1); max_bundle_size and the ref_time limit are the block limits divided by it; the proof
    size keeps the full block value."""
    bundle_num, bundle_den = bundle_slot_probability
    consensus_num, consensus_den = params.consensus_slot_probability
    expected = max(1, (bundle_num * consensus_den) // (bundle_den * consensus_num))
    weight = Weight(params.max_domain_block_weight.ref_time // expected, params.max_domain_block_weight.proof_size)
    return params.max_domain_block_size // expected, weight


@dataclass(frozen=True)
class DomainConfig:
    """One domain's stored configuration (spec §1.2).

    Encoding: domain_id u32 ‖ domain_name Vec<u8> (UTF-8) ‖ chain_id u64 ‖ max_bundle_size u32 ‖
    max_bundle_weight Weight ‖ bundle_slot_probability (u64, u64) ‖ tx_range_divisor u64."""

    domain_id: int
    domain_name: str
    chain_id: int
    max_bundle_size: int
    max_bundle_weight: Weight
    bundle_slot_probability: tuple[int, int] = (1, 1)
    #: tx_range = U256::MAX / tx_range_divisor (spec §2.4 `INITIAL_DOMAIN_TX_RANGE` = 3).
    tx_range_divisor: int = INITIAL_DOMAIN_TX_RANGE

    def encode(self) -> bytes:
        return (encode_u32(self.domain_id) + encode_bytes(self.domain_name.encode()) + encode_u64(self.chain_id)
                + encode_u32(self.max_bundle_size) + self.max_bundle_weight.encode()
                + encode_u64(self.bundle_slot_probability[0]) + encode_u64(self.bundle_slot_probability[1])
                + encode_u64(self.tx_range_divisor))

    @classmethod
    def decode(cls, data: bytes) -> "DomainConfig":
        domain_id, at = decode_u32(data, 0, "domain_id")
        name, at = decode_bytes(data, at, "domain_name")
        chain_id, at = decode_u64(data, at, "chain_id")
        size, at = decode_u32(data, at, "max_bundle_size")
        weight, at = Weight.decode(data, at)
        num, at = decode_u64(data, at, "bundle_slot_probability num")
        den, at = decode_u64(data, at, "bundle_slot_probability den")
        divisor, at = decode_u64(data, at, "tx_range_divisor")
        ensure_consumed(data, at, "domain config")
        return cls(domain_id, name.decode(), chain_id, size, weight, (num, den), divisor)

    @classmethod
    def with_default_limits(cls, params: DomainParams, *, domain_id: int, domain_name: str, chain_id: int,
                            bundle_slot_probability: tuple[int, int] = (1, 1),
                            tx_range_divisor: int = INITIAL_DOMAIN_TX_RANGE) -> "DomainConfig":
        """A config whose bundle limits are derived from the block limits (spec §1.2)."""
        size, weight = calculate_max_bundle_weight_and_size(params, bundle_slot_probability)
        return cls(domain_id, domain_name, chain_id, size, weight, bundle_slot_probability, tx_range_divisor)
