"""Domain genesis: the built-in dev genesis, geth-style `genesis.json`, and the fork schedule.

A genesis is a `Genesis` value: chain id, fork schedule, header fields and the allocation.
`dev_genesis()` builds the dev network's; `parse_genesis_json()` reads a geth-style file.
Both give the same type, so everything downstream has one path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth import constants
from eth.abc import VirtualMachineAPI
from eth.consensus.noproof import NoProofConsensus
from eth.vm.forks import (
    ArrowGlacierVM,
    BerlinVM,
    ByzantiumVM,
    CancunVM,
    ConstantinopleVM,
    FrontierVM,
    GrayGlacierVM,
    HomesteadVM,
    IstanbulVM,
    LondonVM,
    MuirGlacierVM,
    ParisVM,
    PetersburgVM,
    PragueVM,
    ShanghaiVM,
    SpuriousDragonVM,
    TangerineWhistleVM,
)
from eth_utils import to_canonical_address

#: The dev network's chain id. Not a live network's (Autonomys: 870 mainnet, 8700 and
#: 490000 for Auto EVM / Taurus): 8701337.
DEV_CHAIN_ID = 8_701_337
#: The dev network's block gas limit.
DEV_GAS_LIMIT = 30_000_000
#: The dev genesis base fee (1 gwei, as geth and py-evm start).
DEV_INITIAL_BASE_FEE = 1_000_000_000
#: The mnemonic Hardhat, Anvil and ape use for their funded test accounts.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
#: 10,000 ether each, as Hardhat and Anvil fund them.
DEV_ACCOUNT_BALANCE = 10_000 * 10**18


class GenesisError(ValueError):
    """A genesis file or value is malformed; the message names the field."""


# The forks py-evm knows, oldest first, with the geth `config` key that schedules each.
# Pre-merge forks activate at a block number, post-merge ones at a timestamp; Paris at
# `mergeNetsplitBlock` or, failing that, at the terminal total difficulty.
FORKS: tuple[tuple[str, str, type[VirtualMachineAPI]], ...] = (
    ("frontier", "", FrontierVM),
    ("homestead", "homesteadBlock", HomesteadVM),
    ("tangerine_whistle", "eip150Block", TangerineWhistleVM),
    ("spurious_dragon", "eip158Block", SpuriousDragonVM),
    ("byzantium", "byzantiumBlock", ByzantiumVM),
    ("constantinople", "constantinopleBlock", ConstantinopleVM),
    ("petersburg", "petersburgBlock", PetersburgVM),
    ("istanbul", "istanbulBlock", IstanbulVM),
    ("muir_glacier", "muirGlacierBlock", MuirGlacierVM),
    ("berlin", "berlinBlock", BerlinVM),
    ("london", "londonBlock", LondonVM),
    ("arrow_glacier", "arrowGlacierBlock", ArrowGlacierVM),
    ("gray_glacier", "grayGlacierBlock", GrayGlacierVM),
    ("paris", "mergeNetsplitBlock", ParisVM),
    ("shanghai", "shanghaiTime", ShanghaiVM),
    ("cancun", "cancunTime", CancunVM),
    ("prague", "pragueTime", PragueVM),
)
FORK_NAMES = tuple(name for name, _, _ in FORKS)
#: `config` keys that schedule forks we know, or that geth accepts and we don't need.
KNOWN_FORK_KEYS = frozenset(key for _, key, _ in FORKS if key) | {"eip155Block", "daoForkBlock", "eip150Hash"}
_VM_BY_NAME = {name: vm for name, _, vm in FORKS}
TIME_FORKS = frozenset({"shanghai", "cancun", "prague"})


@dataclass(frozen=True)
class ForkSchedule:
    """When each fork activates. `blocks`: fork -> block number; `times`: fork -> timestamp.

    `ttd` is the terminal total difficulty when Paris is scheduled by difficulty only.
    `dao_fork_block` configures Homestead's DAO irregular state change when set.
    """

    blocks: tuple[tuple[str, int], ...] = ()
    times: tuple[tuple[str, int], ...] = ()
    ttd: int | None = None
    dao_fork_block: int | None = None
    #: How pre-merge blocks are sealed: "ethash" (proof of work, validated) or "none"
    #: (no seal check: dev chains). geth's `config.ethash` selects "ethash".
    seal: str = "none"

    @classmethod
    def prague_from_genesis(cls) -> "ForkSchedule":
        """Every fork at genesis: the newest rules from block 0 (the dev network)."""
        return cls(blocks=tuple((n, 0) for n in FORK_NAMES[1:14]),
                   times=tuple((n, 0) for n in sorted(TIME_FORKS, key=FORK_NAMES.index)))

    def fork_at(self, number: int, timestamp: int, merged: bool) -> str:
        """The fork whose rules govern block `number` with `timestamp`.

        `merged` tells whether the parent's total difficulty reached the terminal total
        difficulty (only consulted when Paris has no block number)."""
        active = "frontier"
        blocks = dict(self.blocks)
        times = dict(self.times)
        for name in FORK_NAMES[1:]:
            if name in blocks:
                if number >= blocks[name]:
                    active = name
            elif name in times:
                if _fork_index(active) >= _fork_index("paris") and timestamp >= times[name]:
                    active = name
            elif name == "paris" and self.ttd is not None and merged:
                active = name
        return active

    def vm_class(self, fork: str) -> type[VirtualMachineAPI]:
        """py-evm's VM class for `fork`, configured for this chain (the DAO fork block)."""
        vm = _VM_BY_NAME[fork]
        overrides: dict[str, Any] = {}
        if fork == "homestead":
            if self.dao_fork_block is None:
                overrides["support_dao_fork"] = False
            else:
                overrides["_dao_fork_block_number"] = self.dao_fork_block
        if self.seal == "none" and _fork_index(fork) < _fork_index("paris"):
            overrides["consensus_class"] = NoProofConsensus
        return vm.configure(**overrides) if overrides else vm

    def to_json(self) -> dict[str, Any]:
        return {"blocks": dict(self.blocks), "times": dict(self.times), "ttd": self.ttd,
                "daoForkBlock": self.dao_fork_block, "seal": self.seal}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ForkSchedule":
        return cls(blocks=tuple(data["blocks"].items()), times=tuple(data["times"].items()),
                   ttd=data["ttd"], dao_fork_block=data.get("daoForkBlock"), seal=data.get("seal", "none"))


def _fork_index(name: str) -> int:
    return FORK_NAMES.index(name)


@dataclass(frozen=True)
class Genesis:
    """Everything needed to build block 0 of a domain."""

    chain_id: int
    forks: ForkSchedule
    header: dict[str, Any]
    alloc: dict[bytes, dict[str, Any]] = field(default_factory=dict)


def dev_accounts(count: int = DEV_ACCOUNT_COUNT, mnemonic: str = DEV_MNEMONIC) -> list[tuple[str, bytes]]:
    """The first `count` accounts of `mnemonic` at m/44'/60'/0'/0/i: (address, private key)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    out = []
    for i in range(count):
        acct = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}")
        out.append((acct.address, bytes(acct.key)))
    return out


def dev_genesis(chain_id: int = DEV_CHAIN_ID, gas_limit: int = DEV_GAS_LIMIT,
                timestamp: int = 0, extra_alloc: dict[bytes, dict[str, Any]] | None = None,
                predeploys: bool = True) -> Genesis:
    """The dev network's genesis: Prague from block 0, the 10 dev accounts funded, and (unless
    `predeploys` is False) the registries predeployed at their fixed addresses
    (domains.evm.predeploys; governance = dev account 0). `extra_alloc` wins over both."""
    alloc: dict[bytes, dict[str, Any]] = {
        to_canonical_address(address): _account(balance=DEV_ACCOUNT_BALANCE)
        for address, _ in dev_accounts()
    }
    if predeploys:
        from domains.evm.predeploys import predeploy_alloc

        alloc.update(predeploy_alloc(chain_id=chain_id, timestamp=timestamp))
    alloc.update(extra_alloc or {})
    header = {
        "difficulty": 0,
        "gas_limit": gas_limit,
        "timestamp": timestamp,
        "extra_data": b"autonomys dev domain",
        "coinbase": constants.ZERO_ADDRESS,
        "nonce": b"\x00" * 8,
        "mix_hash": constants.ZERO_HASH32,
        "base_fee_per_gas": DEV_INITIAL_BASE_FEE,
        "parent_beacon_block_root": constants.ZERO_HASH32,
    }
    return Genesis(chain_id=chain_id, forks=ForkSchedule.prague_from_genesis(), header=header, alloc=alloc)


def _account(balance: int = 0, nonce: int = 0, code: bytes = b"", storage: dict[int, int] | None = None) -> dict[str, Any]:
    return {"balance": balance, "nonce": nonce, "code": code, "storage": storage or {}}


def load_genesis_json(path: str | Path) -> Genesis:
    """Read a geth-style genesis.json from `path` (errors name the file and the field)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise GenesisError(f"{path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise GenesisError(f"{path}: not valid JSON: {exc}") from exc
    try:
        return parse_genesis_json(data)
    except GenesisError as exc:
        raise GenesisError(f"{path}: {exc}") from exc


def parse_genesis_json(data: Any) -> Genesis:
    """A `Genesis` from a geth-style genesis object (`config`, `alloc`, header fields).

    A new domain gets the registries predeployed (domains.evm.predeploys) when its block 0
    runs Cancun or later (the contracts use Cancun opcodes), unless the file's top-level
    `"autonomysPredeploys": false` says otherwise; `{"governance": "0x…"}` there sets their
    governance (default: dev account 0). Accounts in the file's `alloc` win over them."""
    if not isinstance(data, dict):
        raise GenesisError("genesis must be a JSON object")
    config = data.get("config")
    if not isinstance(config, dict):
        raise GenesisError("missing `config` object")
    chain_id = _int(config.get("chainId"), "config.chainId")
    if chain_id is None or chain_id <= 0:
        raise GenesisError("config.chainId must be a positive integer")

    blocks, times = [], []
    for name, key, _ in FORKS[1:]:
        if name in TIME_FORKS:
            value = _int(config.get(key), f"config.{key}")
            if value is not None:
                times.append((name, value))
        else:
            value = _int(config.get(key), f"config.{key}")
            if name == "spurious_dragon" and value is None:
                value = _int(config.get("eip155Block"), "config.eip155Block")
            if value is not None:
                blocks.append((name, value))
    for key in config:
        if key.endswith(("Block", "Time")) and key not in KNOWN_FORK_KEYS and config[key] is not None:
            raise GenesisError(f"config.{key}: this fork is not supported (py-evm's newest is Prague)")
    ttd = _int(config.get("terminalTotalDifficulty"), "config.terminalTotalDifficulty")
    dao = _int(config.get("daoForkBlock"), "config.daoForkBlock") if config.get("daoForkSupport", True) else None
    # A fork scheduled at a block implies every earlier fork that the file leaves out.
    scheduled = dict(blocks)
    for i, name in enumerate(FORK_NAMES[1:14], start=1):
        if name not in scheduled:
            later = [scheduled[n] for n in FORK_NAMES[i + 1:14] if n in scheduled]
            if later and name not in ("paris",):
                scheduled[name] = min(later)
    if "paris" not in scheduled and ttd is None and times:
        raise GenesisError("time-scheduled forks need Paris: set mergeNetsplitBlock or terminalTotalDifficulty")
    if ttd == 0 and "paris" not in scheduled:
        scheduled["paris"] = 0
        ttd = None
    if "clique" in config:
        raise GenesisError("config.clique: clique (proof-of-authority) sealing is not supported")
    seal = "ethash" if "ethash" in config else "none"
    forks = ForkSchedule(blocks=tuple(sorted(scheduled.items(), key=lambda kv: FORK_NAMES.index(kv[0]))),
                         times=tuple(times), ttd=ttd, dao_fork_block=dao, seal=seal)

    header: dict[str, Any] = {
        "difficulty": _int(data.get("difficulty", "0x0"), "difficulty"),
        "gas_limit": _int(data.get("gasLimit"), "gasLimit"),
        "timestamp": _int(data.get("timestamp", "0x0"), "timestamp"),
        "extra_data": _bytes(data.get("extraData", "0x"), "extraData"),
        "coinbase": _bytes(data.get("coinbase", "0x" + "00" * 20), "coinbase", 20),
        "nonce": _bytes(data.get("nonce", "0x0000000000000000"), "nonce", 8, pad=True),
        "mix_hash": _bytes(data.get("mixHash", "0x" + "00" * 32), "mixHash", 32),
    }
    if header["gas_limit"] is None:
        raise GenesisError("missing `gasLimit`")
    genesis_fork = forks.fork_at(0, header["timestamp"], merged=ttd is not None and header["difficulty"] >= ttd)
    if _fork_index(genesis_fork) >= _fork_index("london"):
        header["base_fee_per_gas"] = _int(data.get("baseFeePerGas", hex(DEV_INITIAL_BASE_FEE)), "baseFeePerGas")
    if _fork_index(genesis_fork) >= _fork_index("cancun"):
        header["blob_gas_used"] = _int(data.get("blobGasUsed", "0x0"), "blobGasUsed")
        header["excess_blob_gas"] = _int(data.get("excessBlobGas", "0x0"), "excessBlobGas")
        header["parent_beacon_block_root"] = constants.ZERO_HASH32

    alloc_in = data.get("alloc", {})
    if not isinstance(alloc_in, dict):
        raise GenesisError("`alloc` must be an object of address -> account")
    alloc = {}
    for address, account in alloc_in.items():
        where = f"alloc[{address}]"
        addr_hex = address if address.startswith("0x") else "0x" + address
        canonical = _bytes(addr_hex, where, 20)
        if not isinstance(account, dict):
            raise GenesisError(f"{where} must be an object")
        storage = {}
        for slot, value in (account.get("storage") or {}).items():
            storage[_int(slot, f"{where}.storage key")] = _int(value, f"{where}.storage[{slot}]")
        alloc[canonical] = _account(
            balance=_int(account.get("balance", "0x0"), f"{where}.balance") or 0,
            nonce=_int(account.get("nonce", "0x0"), f"{where}.nonce") or 0,
            code=_bytes(account.get("code", "0x"), f"{where}.code"),
            storage={k: v for k, v in storage.items() if v},
        )
    try:
        from domains.evm.predeploys import genesis_predeploy_setting, predeploy_alloc

        wanted, governance = genesis_predeploy_setting(data)
    except ValueError as exc:
        raise GenesisError(str(exc)) from None
    if wanted and _fork_index(genesis_fork) >= _fork_index("cancun"):
        registries = predeploy_alloc(chain_id=chain_id, timestamp=header["timestamp"], governance=governance)
        alloc = {**registries, **alloc}
    return Genesis(chain_id=chain_id, forks=forks, header=header, alloc=alloc)


def _int(value: Any, where: str) -> int | None:
    """A geth JSON quantity: int, decimal string or 0x-hex string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise GenesisError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise GenesisError(f"{where}: negative value {value}")
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            raise GenesisError(f"{where}: {value!r} is not a number") from None
    raise GenesisError(f"{where}: expected a number, got {type(value).__name__}")


def _bytes(value: Any, where: str, length: int | None = None, pad: bool = False) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise GenesisError(f"{where}: expected 0x-prefixed hex, got {value!r}")
    digits = value[2:]
    if len(digits) % 2:
        digits = "0" + digits
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise GenesisError(f"{where}: {value!r} is not hex") from None
    if length is not None:
        if pad and len(raw) < length:
            raw = raw.rjust(length, b"\x00")
        if len(raw) != length:
            raise GenesisError(f"{where}: expected {length} bytes, got {len(raw)}")
    return raw
