"""The registries every EVM domain starts with, at fixed addresses (issue 5, spec domains.md §5).

| contract | source | address | constructor |
|---|---|---|---|
| AutoId | contracts/AutoId.vy | 0xA070…0001 | () |
| AutoScore | contracts/AutoScore.vy | 0xA070…0002 | (auto_id, governance) |
| DataCompensation | contracts/DataCompensation.sol | 0xA070…0003 | (autoId, autoScore, governance) |
| AgentRegistry | contracts/AgentRegistry.sol | 0xA070…0004 | (autoId) |

How a genesis gets them (`predeploy_alloc`):
1. Compile each source: Vyper with the pip package, Solidity with the npm solc wrapper
   (tools/solc/bin/solc) through py-solc-x `compile_standard` (evmVersion prague, optimizer
   on, 200 runs). Both offline.
2. Cache the artifact (ABI, init code, runtime code) in `cache_dir()`
   ($XDG_CACHE_HOME/autonomys/contracts, else ~/.cache/autonomys/contracts), one JSON file per
   (source name, sha256 of the source, compiler and settings). The file lists every source the
   compiler read (imports too) with its sha256; the artifact is used only while all of them are
   unchanged, so editing an interface rebuilds what imports it. A second start compiles
   nothing.
3. Run the constructors in order, with their arguments, in a scratch py-evm Prague state with
   the domain's precompiles: the message creates the contract directly at its fixed address,
   sent by `PREDEPLOY_DEPLOYER` (an address with no key), in the genesis block's context
   (chain id, timestamp), so `address(this)`, `block.chainid` and `msg.sender` are what they
   will be on chain.
4. Put each resulting account (runtime code, storage the constructor wrote, nonce 1) in the
   genesis allocation.

A source that is missing or fails to compile is an error (`PredeployError` naming the file):
every domain gets all four registries. `AUTONOMYS_PREDEPLOYS_MISSING=skip` makes it a log line
instead, for working on one contract while another does not compile.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import to_canonical_address, to_checksum_address

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = ROOT / "contracts"
SOLC_DIR = ROOT / "tools" / "solc"
SOLC = SOLC_DIR / "bin" / "solc"

#: Governance on the dev network: dev account 0 (Hardhat's first account).
DEV_GOVERNANCE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#: `msg.sender` of the constructors: a fixed address that has no private key.
PREDEPLOY_DEPLOYER = to_canonical_address("0xA070000000000000000000000000000000000000")
#: Gas given to each constructor in the scratch state.
CONSTRUCTOR_GAS = 30_000_000
#: Solidity settings (the domains run Prague; solc's own default target is newer).
SOLIDITY_SETTINGS = {"evmVersion": "prague", "optimizer": {"enabled": True, "runs": 200}}
#: "skip": a missing or (while the sources are being written) uncompilable source is left out
#: with a log line; "error": every registry is required.
MISSING_SOURCES = os.environ.get("AUTONOMYS_PREDEPLOYS_MISSING", "error")


class PredeployError(Exception):
    """A predeploy could not be built; the message names the contract and the cause."""


@dataclass(frozen=True)
class Predeploy:
    """One registry: its source (relative to contracts/), fixed address, and constructor
    arguments as names: another predeploy's name (its address) or "governance"."""

    name: str
    source: str
    address: str
    constructor_args: tuple[str, ...]


PREDEPLOYS: tuple[Predeploy, ...] = (
    Predeploy("AutoId", "AutoId.vy", "0xA070000000000000000000000000000000000001", ()),
    Predeploy("AutoScore", "AutoScore.vy", "0xA070000000000000000000000000000000000002",
              ("AutoId", "governance")),
    Predeploy("DataCompensation", "DataCompensation.sol", "0xA070000000000000000000000000000000000003",
              ("AutoId", "AutoScore", "governance")),
    Predeploy("AgentRegistry", "AgentRegistry.sol", "0xA070000000000000000000000000000000000004",
              ("AutoId",)),
)


def predeploy_addresses() -> dict[str, str]:
    """Name -> checksummed address of every registry a domain genesis predeploys (the
    addresses are fixed; the RPC and `autonomys dev` report them)."""
    return {p.name: to_checksum_address(p.address) for p in PREDEPLOYS}


def registries_in(state) -> dict[str, str]:
    """The registries a domain's `state` holds (a genesis may opt out of predeploys), name ->
    checksummed address, and the X.509 precompile as "X509Precompile" (what the RPC's
    `autonomys_registries` returns and `autonomys dev` prints)."""
    from domains.evm.precompiles import X509_PRECOMPILE_ADDRESS

    found = {name: address for name, address in predeploy_addresses().items()
             if state.get_code(bytes.fromhex(address[2:]))}
    found["X509Precompile"] = to_checksum_address(X509_PRECOMPILE_ADDRESS)
    return found


# -- compiling, with the cache ---------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: ABI, init code, runtime code, and the sources it was built from."""

    name: str
    abi: list
    bytecode: bytes
    runtime: bytes
    compiler: str
    #: every source file the compiler read, relative to the repository root -> sha256 hex
    sources: dict[str, str]

    def to_json(self) -> dict:
        return {"name": self.name, "abi": self.abi, "bytecode": self.bytecode.hex(),
                "runtime": self.runtime.hex(), "compiler": self.compiler, "sources": self.sources}

    @classmethod
    def from_json(cls, data: dict) -> "Artifact":
        return cls(name=data["name"], abi=data["abi"], bytecode=bytes.fromhex(data["bytecode"]),
                   runtime=bytes.fromhex(data["runtime"]), compiler=data["compiler"],
                   sources=dict(data["sources"]))

    def constructor_types(self) -> list[str]:
        for entry in self.abi:
            if entry.get("type") == "constructor":
                return [_abi_type(i) for i in entry.get("inputs", [])]
        return []


def _abi_type(param: dict) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + kind[5:]
    return kind


def cache_dir() -> Path:
    """Where compiled artifacts are kept: $XDG_CACHE_HOME/autonomys/contracts, else
    ~/.cache/autonomys/contracts."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autonomys" / "contracts"


#: How many times a compiler actually ran in this process (cache misses), by contract name.
compile_counts: dict[str, int] = {}
_lock = threading.Lock()


def compiler_id(source: Path) -> str:
    """The compiler and settings that build `source`, as part of the cache key."""
    if source.suffix == ".vy":
        from importlib.metadata import version
        return f"vyper-{version('vyper')}"
    pinned = json.loads((SOLC_DIR / "package.json").read_text())["dependencies"]["solc"]
    settings = SOLIDITY_SETTINGS
    return f"solc-{pinned}-{settings['evmVersion']}-opt{settings['optimizer']['runs']}"


def _sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def compile_contract(source: Path, name: str, *, cache: Path | None = None, root: Path | None = None) -> Artifact:
    """The artifact of contract `name` in `source`, from the cache when every source it was
    built from is unchanged, else compiled (and cached). `root` is the project root that
    imports resolve against (default: this repository; contracts/ is under it)."""
    source = Path(source).resolve()
    root = Path(root or source.parent.parent).resolve()
    cache = cache or cache_dir()
    text = source.read_bytes()
    compiler = compiler_id(source)
    key = f"{name}-{hashlib.sha256(text).hexdigest()[:24]}-{compiler}.json"
    entry = cache / key
    try:
        artifact = Artifact.from_json(json.loads(entry.read_text()))
        if all(_sha256_file(root / rel) == digest for rel, digest in artifact.sources.items()):
            return artifact
        log.info("predeploy %s: an imported source changed, recompiling", name)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    artifact = _compile(source, name, compiler, root)
    with _lock:
        compile_counts[name] = compile_counts.get(name, 0) + 1
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache, suffix=".tmp", delete=False) as tmp:
            json.dump(artifact.to_json(), tmp)
        os.replace(tmp.name, entry)
    except OSError as exc:
        log.warning("predeploy %s: could not write the artifact cache %s: %s", name, entry, exc)
    return artifact


def _compile(source: Path, name: str, compiler: str, root: Path) -> Artifact:
    if source.suffix == ".vy":
        return _compile_vyper(source, name, compiler, root)
    return _compile_solidity(source, name, compiler, root)


def _relative(path: Path, root: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _compile_vyper(source: Path, name: str, compiler: str, root: Path) -> Artifact:
    """Vyper (pip): imports resolve against the source's directory, contracts/ and the root."""
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.output import build_abi_output
    from vyper.compiler.phases import CompilerData
    from vyper.compiler.settings import Settings

    bundle = FilesystemInputBundle([source.parent, root / "contracts", root])
    try:
        data = CompilerData(bundle.load_file(source), bundle, Settings(evm_version="prague"))
        abi, bytecode, runtime = build_abi_output(data), data.bytecode, data.bytecode_runtime
        imported = [f.resolved_path for f in data.resolved_imports.compiler_inputs]
    except Exception as exc:  # the compiler's own exception types
        raise PredeployError(f"{name}: Vyper failed on {_relative(source, root)}: {exc}") from exc
    files = [source, *imported]
    return Artifact(name=name, abi=abi, bytecode=bytes(bytecode), runtime=bytes(runtime),
                    compiler=compiler, sources={_relative(f, root): _sha256_file(Path(f)) for f in files})


def _compile_solidity(source: Path, name: str, compiler: str, root: Path) -> Artifact:
    """Solidity through py-solc-x `compile_standard` and the npm solc wrapper; imports are
    read by the wrapper from the repository (base path = the root)."""
    import solcx

    unit = _relative(source, root)
    request = {
        "language": "Solidity",
        "sources": {unit: {"content": source.read_text()}},
        "settings": {**SOLIDITY_SETTINGS,
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object",
                                                     "evm.deployedBytecode.object"]}}},
    }
    try:
        out = solcx.compile_standard(request, base_path=str(root), allow_paths=[str(root)],
                                     solc_binary=str(SOLC))
    except Exception as exc:  # SolcError carries the compiler's messages
        raise PredeployError(f"{name}: solc failed on {unit}: {exc}") from exc
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise PredeployError(f"{name}: solc failed on {unit}: "
                             + "; ".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    try:
        contract = out["contracts"][unit][name]
    except KeyError:
        raise PredeployError(f"{name}: {unit} defines no contract named {name}") from None
    used = [root / u for u in out.get("sources", {unit: None})]
    return Artifact(name=name, abi=contract["abi"],
                    bytecode=bytes.fromhex(contract["evm"]["bytecode"]["object"]),
                    runtime=bytes.fromhex(contract["evm"]["deployedBytecode"]["object"]),
                    compiler=compiler, sources={_relative(f, root): _sha256_file(f) for f in used})


def _source_fingerprint(contracts_dir: Path) -> tuple:
    """What the built allocation depends on, cheaply: every contract source's size and mtime."""
    out = []
    for path in sorted(contracts_dir.rglob("*")):
        if path.suffix in (".vy", ".vyi", ".sol", ".json") and path.is_file():
            st = path.stat()
            out.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(out)


# -- running the constructors ----------------------------------------------------------------


def predeploy_alloc(*, chain_id: int, timestamp: int = 0, governance: str = DEV_GOVERNANCE,
                    gas_limit: int = CONSTRUCTOR_GAS, contracts_dir: Path | None = None,
                    cache: Path | None = None, missing: str | None = None) -> dict[bytes, dict[str, Any]]:
    """The genesis allocation of the registries: address -> {balance, nonce, code, storage},
    as the constructors leave them in a genesis with `chain_id` and `timestamp`."""
    contracts_dir = Path(contracts_dir or CONTRACTS_DIR)
    missing = missing or MISSING_SOURCES
    cache = Path(cache or cache_dir())
    alloc = _predeploy_alloc_cached(chain_id, timestamp, to_checksum_address(governance), gas_limit,
                                    str(contracts_dir), str(cache), missing,
                                    _source_fingerprint(contracts_dir))
    # the memoised value is shared: every caller gets its own accounts
    return {address: {**account, "storage": dict(account["storage"])} for address, account in alloc.items()}


@functools.lru_cache(maxsize=16)
def _predeploy_alloc_cached(chain_id, timestamp, governance, gas_limit, contracts_dir, cache,
                            missing, _fingerprint) -> dict[bytes, dict[str, Any]]:
    artifacts: list[tuple[Predeploy, Artifact]] = []
    for predeploy in PREDEPLOYS:
        source = Path(contracts_dir) / predeploy.source
        if not source.is_file():
            if missing == "error":
                raise PredeployError(f"{predeploy.name}: source {source} is missing")
            log.warning("predeploy %s skipped: %s is not present (yet)", predeploy.name, source)
            continue
        try:
            artifacts.append((predeploy, compile_contract(source, predeploy.name, cache=Path(cache),
                                                          root=Path(contracts_dir).parent)))
        except PredeployError as exc:
            if missing == "error":
                raise
            log.warning("predeploy %s skipped: %s", predeploy.name, exc)
    return run_constructors(artifacts, chain_id=chain_id, timestamp=timestamp,
                            governance=governance, gas_limit=gas_limit)


def run_constructors(artifacts: list[tuple[Predeploy, Artifact]], *, chain_id: int, timestamp: int,
                     governance: str, gas_limit: int = CONSTRUCTOR_GAS) -> dict[bytes, dict[str, Any]]:
    """Run each constructor in order in one scratch Prague state (domain precompiles on) and
    return the accounts they leave: the predeploys, and any account whose storage they wrote."""
    from eth import constants
    from eth.db.atomic import AtomicDB
    from eth.vm.chain_context import ChainContext
    from eth.vm.forks import PragueVM
    from eth.vm.message import Message

    from domains.evm.chain import domain_vm_class

    vm_class = domain_vm_class(PragueVM)
    state_class = vm_class.get_state_class()
    written: set[tuple[bytes, int]] = set()
    computation_class = _storage_recording(state_class.computation_class, written)
    state_class = state_class.configure(__name__="PredeployState", computation_class=computation_class)
    header = vm_class.create_genesis_header(
        difficulty=0, gas_limit=gas_limit, timestamp=timestamp, coinbase=constants.ZERO_ADDRESS,
        base_fee_per_gas=0, parent_beacon_block_root=constants.ZERO_HASH32)
    context = vm_class.create_execution_context(header, (), ChainContext(chain_id))
    state = state_class(AtomicDB(), context, constants.BLANK_ROOT_HASH)
    tx_context = state_class.get_transaction_context_class()(gas_price=0, origin=PREDEPLOY_DEPLOYER)

    addresses = {p.name: to_canonical_address(p.address) for p in PREDEPLOYS}
    names = {"governance": to_canonical_address(governance), **addresses}
    created: list[bytes] = []
    for predeploy, artifact in artifacts:
        address = addresses[predeploy.name]
        types = artifact.constructor_types()
        values = [names[arg] for arg in predeploy.constructor_args]
        if len(types) != len(values):
            raise PredeployError(f"{predeploy.name}: the constructor takes {len(types)} arguments "
                                 f"({', '.join(types)}), the table gives {len(values)}")
        message = Message(gas=gas_limit, to=constants.CREATE_CONTRACT_ADDRESS, sender=PREDEPLOY_DEPLOYER,
                          value=0, data=b"", code=artifact.bytecode + abi_encode(types, values),
                          create_address=address)
        computation = computation_class.apply_create_message(state, message, tx_context)
        if computation.is_error:
            raise PredeployError(f"{predeploy.name}: constructor failed: {_reason(computation)}")
        created.extend(computation.contracts_created)

    accounts = {addresses[p.name] for p, _ in artifacts} | set(created) | {a for a, _ in written}
    accounts.discard(PREDEPLOY_DEPLOYER)
    alloc: dict[bytes, dict[str, Any]] = {}
    for address in sorted(accounts):
        storage = {slot: state.get_storage(address, slot) for a, slot in sorted(written) if a == address}
        alloc[address] = {"balance": state.get_balance(address), "nonce": state.get_nonce(address),
                          "code": state.get_code(address),
                          "storage": {slot: value for slot, value in storage.items() if value}}
    return alloc


def _storage_recording(base: type, written: set) -> type:
    """`base` whose SSTORE records (account, slot) in `written` before storing: py-evm's state
    cannot list an account's storage, and a genesis allocation needs the slots."""
    sstore = base.opcodes[0x55]

    def recording_sstore(computation) -> None:
        values = computation._stack.values
        if values:
            slot = values[-1]
            slot = slot[1] if isinstance(slot, tuple) else slot
            slot = int.from_bytes(slot, "big") if isinstance(slot, (bytes, bytearray)) else int(slot)
            written.add((computation.msg.storage_address, slot))
        sstore(computation=computation)

    return type(f"StorageRecording{base.__name__}", (base,),
                {"opcodes": {**base.opcodes, 0x55: recording_sstore}})


def _reason(computation) -> str:
    from domains.evm.revert import decode_revert_reason

    try:
        return decode_revert_reason(computation.output) or str(computation.error)
    except Exception:
        return f"{computation.error!r} (output 0x{bytes(computation.output).hex()})"


def genesis_predeploy_setting(data: dict) -> tuple[bool, str]:
    """Whether a geth-style genesis object asks for the registries, and governance.

    The top-level key `autonomysPredeploys` (not a geth key; geth ignores it): absent or true
    — predeploy, governance = dev account 0; false — none; an object
    {"governance": "0x…"} — predeploy with that governance address (any other key in the
    object, or any other value, is an error)."""
    value = data.get("autonomysPredeploys", True)
    if value is True:
        return True, DEV_GOVERNANCE
    if value is False:
        return False, DEV_GOVERNANCE
    if isinstance(value, dict) and set(value) <= {"governance"}:
        governance = value.get("governance", DEV_GOVERNANCE)
        if not (isinstance(governance, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", governance)):
            raise ValueError(f"autonomysPredeploys.governance: expected a 0x address, got {governance!r}")
        return True, governance
    raise ValueError("autonomysPredeploys: expected true, false or {\"governance\": \"0x…\"}")
