"""Calls, gas estimates, access lists and state proofs against any block of a domain.

The back end of `eth_call`, `eth_estimateGas`, `eth_createAccessList` and `eth_getProof`,
with go-ethereum's semantics (its `internal/ethapi` and `eth/gasestimator` packages, checked
against the recorded request/response pairs of `ethereum/execution-apis`):

- Executions run on the state *after* block `header`, in the block context of `header`
  itself (NUMBER, TIMESTAMP, BASEFEE, COINBASE, GASLIMIT and PREVRANDAO of that block), as
  geth does: the execution-apis fixture `eth_call/call-callenv` reads NUMBER = the head
  number at "latest". To run in the context of the block that would come next, pass
  `next_block_header(chain, parent)`: a header for block parent+1 over the parent's state.
- Nothing is written to the store: every execution works on a `ScratchDB` view, and state
  changes (including state overrides) are thrown away. Results depend only on the chain and
  the arguments.

Public API
----------
``CallRequest.from_json(obj)``
    Parse an execution-apis `GenericTransaction` (transaction call object); bad fields raise
    `InvalidCallRequest` naming the field.
``call(chain, request, header, *, state_overrides=None, block_overrides=None, gas_cap=...)``
    -> `CallResult` (output, gas used, geth's VM error text, revert data).
``estimate_gas(chain, request, header, ...)`` -> int: the smallest gas limit that succeeds.
``create_access_list(chain, request, header, ...)`` -> `AccessListResult`.
``get_proof(chain, address, storage_keys, header)`` -> EIP-1186 account and storage proofs,
    in the execution-apis JSON format.
``decode_revert_reason(data)``: the reason in `Error(string)` / `Panic(uint256)` revert data.
``next_block_header(chain, parent=None, timestamp=None)``: the context of the next block.

Errors: `InvalidCallRequest` / `InvalidProofRequest` (bad input: JSON-RPC invalid params),
`ExecutionReverted` (code 3 with the revert data), `ExecutionError` (every other failure,
carrying geth's message).
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import rlp
from eth.abc import BlockHeaderAPI, ComputationAPI, StateAPI, VirtualMachineAPI
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS, MAX_PREV_HEADER_DEPTH, ZERO_ADDRESS
from eth.exceptions import (
    Revert,
)
from eth.rlp.accounts import Account
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks import BerlinVM, LondonVM, PragueVM, ShanghaiVM
from eth_hash.auto import keccak
from eth_utils import ValidationError, to_checksum_address

from domains.evm import tracing
from domains.evm.chain import DomainChain
from domains.evm.db import CommittedDB
from domains.evm.revert import PANIC_REASONS, decode_revert_reason, vm_error_text

__all__ = [
    "MAX_PROOF_KEYS",
    "PANIC_REASONS",
    "RPC_GAS_CAP",
    "AccessListResult",
    "Authorization",
    "CallRequest",
    "CallResult",
    "ExecutionError",
    "ExecutionReverted",
    "InvalidCallRequest",
    "InvalidProofRequest",
    "call",
    "create_access_list",
    "decode_revert_reason",
    "estimate_gas",
    "get_proof",
    "next_block_header",
]

#: The most gas one call or estimate may use (geth's `--rpc.gascap` default). 0 = no cap.
RPC_GAS_CAP = 50_000_000
#: Seconds one eth_call, eth_estimateGas (its whole search), eth_createAccessList or
#: debug_traceCall may execute (geth's `--rpc.evmtimeout` default): a loop burning the gas cap
#: takes py-evm about 30 s.
RPC_EVM_TIMEOUT = 5.0
#: The deadline shared by every call run inside `evm_budget` (a JSON-RPC batch), or None.
_SHARED_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("evm_shared_deadline", default=None)
#: EIP-1186 requests with more storage keys than this are refused (geth's `maxGetProofKeys`).
MAX_PROOF_KEYS = 1024

_TX_GAS = 21_000
_CALL_STIPEND = 2_300  # the gas a CALL with value gives its callee for free
_ACCESS_LIST_ADDRESS_COST = 2_400  # EIP-2930
_ACCESS_LIST_SLOT_COST = 1_900  # EIP-2930
_AUTHORIZATION_COST = 25_000  # EIP-7702 PER_EMPTY_ACCOUNT_COST
_MAX_INITCODE_SIZE = 49_152  # EIP-3860
_INITCODE_WORD_COST = 2  # EIP-3860
_UINT64 = 2**64
_UINT256 = 2**256


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------

class InvalidCallRequest(ValueError):
    """A transaction call object (or an override set) is malformed. `field` names the
    offending member, e.g. ``gas`` or ``accessList[0].storageKeys[1]``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid {field}: {problem}")
        self.field = field
        self.problem = problem


class InvalidProofRequest(ValueError):
    """An `eth_getProof` request is malformed (bad address or storage key, too many keys)."""


class ExecutionError(Exception):
    """A call or estimate failed; `message` is go-ethereum's wording of the RPC error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExecutionReverted(ExecutionError):
    """The execution ended in REVERT. `reason` is the decoded `Error(string)` / `Panic`
    reason (None for anything else) and `data` the raw revert bytes; the message is geth's
    ``execution reverted`` or ``execution reverted: <reason>`` (JSON-RPC error code 3)."""

    def __init__(self, reason: str | None, data: bytes) -> None:
        super().__init__("execution reverted" if reason is None else f"execution reverted: {reason}")
        self.reason = reason
        self.data = data


class CallTimeout(Exception):
    """A call ran past its session's deadline (`RPC_EVM_TIMEOUT`); raised through py-evm
    (not a VMError, so no frame swallows it) and turned into geth's "execution aborted"."""


class _Rejected(Exception):
    """The message failed geth's pre-execution checks (state transition `preCheck`, intrinsic
    gas, value affordability). `gas_related` marks the failures a larger gas limit can fix."""

    def __init__(self, message: str, *, gas_related: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.gas_related = gas_related


# ------------------------------------------------------------------------------------------
# JSON input
# ------------------------------------------------------------------------------------------

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _hex_body(value: Any, name: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidCallRequest(name, f"expected {what} as a 0x-prefixed hex string, got {type(value).__name__}")
    if value[:2] not in ("0x", "0X"):
        raise InvalidCallRequest(name, f"hex string without 0x prefix: {value!r}")
    body = value[2:]
    if not _HEX_DIGITS.issuperset(body):
        raise InvalidCallRequest(name, f"invalid hex string: {value!r}")
    return body


def _quantity(value: Any, name: str, bits: int = 256) -> int:
    """A QUANTITY: 0x-prefixed hex, at least one digit, at most `bits` bits."""
    body = _hex_body(value, name, "a quantity")
    if not body:
        raise InvalidCallRequest(name, "empty hex quantity '0x'")
    number = int(body, 16)
    if number >> bits:
        raise InvalidCallRequest(name, f"{value} does not fit in {bits} bits")
    return number


def _bytes(value: Any, name: str, length: int | None = None, max_length: int | None = None) -> bytes:
    """DATA: 0x-prefixed hex of whole bytes, optionally of a fixed or maximum length."""
    body = _hex_body(value, name, "data")
    if len(body) % 2:
        raise InvalidCallRequest(name, f"hex string of odd length: {value!r}")
    data = bytes.fromhex(body)
    if length is not None and len(data) != length:
        raise InvalidCallRequest(name, f"expected {length} bytes, got {len(data)}")
    if max_length is not None and len(data) > max_length:
        raise InvalidCallRequest(name, f"expected at most {max_length} bytes, got {len(data)}")
    return data


def _address(value: Any, name: str) -> bytes:
    return _bytes(value, name, length=20)


def _word(value: Any, name: str) -> int:
    """A 32-byte storage key or value; shorter hex is left-padded (``0x1`` is slot 1)."""
    body = _hex_body(value, name, "a 32-byte word")
    if not body or len(body) > 64:
        raise InvalidCallRequest(name, f"expected 1 to 32 bytes of hex, got {value!r}")
    return int(body, 16)


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidCallRequest(name, f"expected a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, name: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise InvalidCallRequest(name, f"expected a JSON array, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Authorization:
    """One EIP-7702 authorization tuple of a call's `authorizationList` (as signed: the
    authority is recovered from the signature when the call runs)."""

    chain_id: int
    address: bytes
    nonce: int
    y_parity: int
    r: int
    s: int

    @classmethod
    def from_json(cls, obj: Any, name: str) -> "Authorization":
        obj = _object(obj, name)
        for key in ("chainId", "address", "nonce", "r", "s"):
            if obj.get(key) is None:
                raise InvalidCallRequest(f"{name}.{key}", "missing required field")
        parity_key = "yParity" if obj.get("yParity") is not None else "v"
        if obj.get(parity_key) is None:
            raise InvalidCallRequest(f"{name}.yParity", "missing required field")
        return cls(chain_id=_quantity(obj["chainId"], f"{name}.chainId"),
                   address=_address(obj["address"], f"{name}.address"),
                   nonce=_quantity(obj["nonce"], f"{name}.nonce", bits=64),
                   y_parity=_quantity(obj[parity_key], f"{name}.{parity_key}", bits=8),
                   r=_quantity(obj["r"], f"{name}.r"),
                   s=_quantity(obj["s"], f"{name}.s"))

    def to_pyevm(self):
        from eth.vm.forks.prague.transactions import Authorization as PyEvmAuthorization

        return PyEvmAuthorization(self.chain_id, self.address, self.nonce, self.y_parity, self.r, self.s)

    def authority(self) -> bytes | None:
        """The signer of this authorization, or None when the signature does not recover."""
        from eth_keys import keys

        from eth.vm.forks.prague.constants import MAGIC

        try:
            message = MAGIC + rlp.encode([self.chain_id, self.address, self.nonce])
            signature = keys.Signature(vrs=(self.y_parity, self.r, self.s))
            return signature.recover_public_key_from_msg(message).to_canonical_address()
        except Exception:  # any malformed signature simply has no authority
            return None


#: An access list: (address, storage slots) pairs, in order.
AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]


@dataclass(frozen=True)
class CallRequest:
    """An `eth_call` / `eth_estimateGas` / `eth_createAccessList` transaction call object.

    Absent members are None. `sender` is the JSON `from` (the zero address when absent).
    `tx_type` is parsed but, as in geth, does not change how the call runs: the fee fields
    and lists present decide. `nonce` is carried but calls use the sender's state nonce."""

    sender: bytes | None = None
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int | None = None
    data: bytes = b""
    nonce: int | None = None
    access_list: AccessList | None = None
    tx_type: int | None = None
    chain_id: int | None = None
    authorization_list: tuple[Authorization, ...] | None = None

    @classmethod
    def from_json(cls, obj: Any) -> "CallRequest":
        """Parse a JSON transaction call object. Both ``data`` and ``input`` are accepted (the
        same bytes in both is fine; different bytes is an error, as in geth); ``gasPrice``
        together with ``maxFeePerGas``/``maxPriorityFeePerGas`` is an error. Members not
        listed here are ignored, as geth ignores them; blob members are refused, since a
        domain carries no blob transactions."""
        if not isinstance(obj, Mapping):
            raise InvalidCallRequest("transaction", f"expected a JSON object, got {type(obj).__name__}")

        def get(key: str) -> Any:
            return obj.get(key)

        def opt(key: str, parse, *args):
            value = get(key)
            return None if value is None else parse(value, key, *args)

        data = opt("data", _bytes)
        input_ = opt("input", _bytes)
        if data is not None and input_ is not None and data != input_:
            raise InvalidCallRequest("input", 'both "data" and "input" are set and not equal. '
                                              'Please use "input" to pass transaction call data')
        gas_price = opt("gasPrice", _quantity)
        max_fee = opt("maxFeePerGas", _quantity)
        max_tip = opt("maxPriorityFeePerGas", _quantity)
        if gas_price is not None and (max_fee is not None or max_tip is not None):
            raise InvalidCallRequest("gasPrice", "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
        if get("blobVersionedHashes"):
            raise InvalidCallRequest("blobVersionedHashes", "blob transactions are not supported on a domain")

        access_list = None
        if get("accessList") is not None:
            entries = []
            for i, entry in enumerate(_list(get("accessList"), "accessList")):
                where = f"accessList[{i}]"
                entry = _object(entry, where)
                if entry.get("address") is None:
                    raise InvalidCallRequest(f"{where}.address", "missing required field")
                if entry.get("storageKeys") is None:
                    raise InvalidCallRequest(f"{where}.storageKeys", "missing required field")
                slots = tuple(int.from_bytes(_bytes(key, f"{where}.storageKeys[{j}]", length=32), "big")
                              for j, key in enumerate(_list(entry["storageKeys"], f"{where}.storageKeys")))
                entries.append((_address(entry["address"], f"{where}.address"), slots))
            access_list = tuple(entries)

        authorizations = None
        if get("authorizationList") is not None:
            authorizations = tuple(Authorization.from_json(item, f"authorizationList[{i}]")
                                   for i, item in enumerate(_list(get("authorizationList"), "authorizationList")))

        return cls(sender=opt("from", _address), to=opt("to", _address),
                   gas=opt("gas", _quantity, 64), gas_price=gas_price, max_fee_per_gas=max_fee,
                   max_priority_fee_per_gas=max_tip, value=opt("value", _quantity),
                   data=input_ if input_ is not None else (data or b""),
                   nonce=opt("nonce", _quantity, 64), access_list=access_list,
                   tx_type=opt("type", _quantity, 8), chain_id=opt("chainId", _quantity),
                   authorization_list=authorizations)


@dataclass(frozen=True)
class _AccountOverride:
    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    state: dict[int, int] | None = None
    state_diff: dict[int, int] | None = None


_ACCOUNT_OVERRIDE_KEYS = {"balance", "nonce", "code", "state", "stateDiff", "movePrecompileToAddress"}


def _parse_state_overrides(obj: Any) -> dict[bytes, _AccountOverride]:
    """geth's state override set: {address: {balance, nonce, code, state, stateDiff}}."""
    if obj is None:
        return {}
    obj = _object(obj, "stateOverride")
    overrides: dict[bytes, _AccountOverride] = {}
    for key, account in obj.items():
        where = f"stateOverride[{key}]"
        address = _address(key, where)
        account = _object(account, where)
        unknown = set(account) - _ACCOUNT_OVERRIDE_KEYS
        if unknown:
            raise InvalidCallRequest(f"{where}.{sorted(unknown)[0]}", "unknown account override field")
        if account.get("movePrecompileToAddress") is not None:
            raise InvalidCallRequest(f"{where}.movePrecompileToAddress", "moving precompiles is not supported")
        if account.get("state") is not None and account.get("stateDiff") is not None:
            raise InvalidCallRequest(where, f"account {to_checksum_address(address)} has both 'state' and 'stateDiff'")

        def storage(name: str) -> dict[int, int] | None:
            value = account.get(name)
            if value is None:
                return None
            return {_word(slot, f"{where}.{name} key"): _word(word, f"{where}.{name}[{slot}]")
                    for slot, word in _object(value, f"{where}.{name}").items()}

        overrides[address] = _AccountOverride(
            balance=None if account.get("balance") is None else _quantity(account["balance"], f"{where}.balance"),
            nonce=None if account.get("nonce") is None else _quantity(account["nonce"], f"{where}.nonce", 64),
            code=None if account.get("code") is None else _bytes(account["code"], f"{where}.code"),
            state=storage("state"), state_diff=storage("stateDiff"))
    return overrides


def call_prices(request: CallRequest, base_fee: int | None) -> tuple[int, int, int]:
    """(gas price, fee cap, tip cap) of a call from London on, as geth's CallDefaults and
    ToMessage derive them: a legacy `gasPrice` is all three; otherwise the effective price is
    min(tip + base fee, fee cap), and a call with no fee fields is free."""
    if request.gas_price is not None:
        return request.gas_price, request.gas_price, request.gas_price
    fee_cap = request.max_fee_per_gas or 0
    tip_cap = request.max_priority_fee_per_gas or 0
    gas_price = min(tip_cap + (base_fee or 0), fee_cap) if fee_cap or tip_cap else 0
    return gas_price, fee_cap, tip_cap


@dataclass(frozen=True)
class Withdrawal:
    """An EIP-4895 withdrawal of a block override (`amount` in Gwei)."""

    index: int
    validator_index: int
    address: bytes
    amount: int


@dataclass(frozen=True)
class BlockOverrides:
    """geth's block override object (absent members are None). `beacon_root` and
    `withdrawals` are only accepted by eth_simulateV1."""

    number: int | None = None
    difficulty: int | None = None
    time: int | None = None
    gas_limit: int | None = None
    fee_recipient: bytes | None = None
    prev_randao: bytes | None = None
    base_fee: int | None = None
    blob_base_fee: int | None = None
    beacon_root: bytes | None = None
    withdrawals: tuple[Withdrawal, ...] = ()


_BLOCK_OVERRIDE_KEYS = frozenset({"number", "difficulty", "time", "gasLimit", "feeRecipient", "prevRandao",
                                  "baseFeePerGas", "blobBaseFee", "beaconRoot", "withdrawals"})


def parse_block_overrides(obj: Any, where: str = "blockOverride", *, simulation: bool = False,
                          number_bits: int | None = None) -> BlockOverrides:
    """geth's block overrides: number, difficulty, time, gasLimit, feeRecipient, prevRandao,
    baseFeePerGas, blobBaseFee; with `simulation` (eth_simulateV1) also beaconRoot and
    withdrawals, which geth refuses for other methods. `number_bits` bounds the number."""
    if obj is None:
        return BlockOverrides()
    obj = _object(obj, where)
    if not simulation:
        for refused in ("beaconRoot", "withdrawals"):
            if obj.get(refused) is not None:
                raise InvalidCallRequest(f"{where}.{refused}",
                                         f'block override "{refused}" is not supported for this RPC method')
    unknown = set(obj) - _BLOCK_OVERRIDE_KEYS
    if unknown:
        raise InvalidCallRequest(f"{where}.{sorted(unknown)[0]}", "unknown block override field")

    def opt(key: str, parse, *args):
        return None if obj.get(key) is None else parse(obj[key], f"{where}.{key}", *args)

    withdrawals = []
    for i, item in enumerate(_list(obj.get("withdrawals") or [], f"{where}.withdrawals")):
        name = f"{where}.withdrawals[{i}]"
        item = _object(item, name)
        for key in ("index", "validatorIndex", "address", "amount"):
            if item.get(key) is None:
                raise InvalidCallRequest(f"{name}.{key}", "missing required field")
        withdrawals.append(Withdrawal(index=_quantity(item["index"], f"{name}.index", 64),
                                      validator_index=_quantity(item["validatorIndex"], f"{name}.validatorIndex", 64),
                                      address=_address(item["address"], f"{name}.address"),
                                      amount=_quantity(item["amount"], f"{name}.amount", 64)))
    number = opt("number", _quantity, number_bits) if number_bits else opt("number", _quantity)
    return BlockOverrides(number=number, difficulty=opt("difficulty", _quantity),
                          time=opt("time", _quantity, 64), gas_limit=opt("gasLimit", _quantity, 64),
                          fee_recipient=opt("feeRecipient", _address),
                          prev_randao=opt("prevRandao", _bytes, 32),
                          base_fee=opt("baseFeePerGas", _quantity), blob_base_fee=opt("blobBaseFee", _quantity),
                          beacon_root=opt("beaconRoot", _bytes, 32), withdrawals=tuple(withdrawals))


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallResult:
    """What one execution produced.

    `error` is geth's text for the VM error that ended the top-level frame (``execution
    reverted``, ``out of gas``, ``invalid opcode: INVALID``, ...) or None on success;
    `revert` holds the revert data when it ended in REVERT (possibly empty), else None.
    `gas_used` is what a receipt would record (after refunds, at least the EIP-7623 floor)."""

    output: bytes
    gas_used: int
    error: str | None = None
    revert: bytes | None = None

    @property
    def success(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str | None:
        """The decoded revert reason (see `decode_revert_reason`), if any."""
        return None if self.revert is None else decode_revert_reason(self.revert)

    def raise_for_error(self) -> bytes:
        """The output, or the error geth's `eth_call` answers with: `ExecutionReverted` for a
        revert, `ExecutionError` for any other VM error."""
        if self.revert is not None:
            raise ExecutionReverted(decode_revert_reason(self.revert), self.revert)
        if self.error is not None:
            raise ExecutionError(self.error)
        return self.output


class AccessListResult(NamedTuple):
    """`eth_createAccessList`'s answer: the list (addresses and slots sorted), the gas the
    call uses with it, and the VM error of that run (None on success)."""

    access_list: tuple[tuple[bytes, tuple[bytes, ...]], ...]
    gas_used: int
    error: str | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accessList": [{"address": "0x" + address.hex(), "storageKeys": ["0x" + slot.hex() for slot in slots]}
                           for address, slots in self.access_list],
            "gasUsed": hex(self.gas_used),
        }
        if self.error is not None:
            out["error"] = self.error
        return out


# ------------------------------------------------------------------------------------------
# Revert data and VM errors, in geth's words
# ------------------------------------------------------------------------------------------

# ------------------------------------------------------------------------------------------
# Running a message on py-evm
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _CallTx:
    """The transaction py-evm's executors see for a call: the fields they read, no signature.

    `max_fee_per_gas`/`max_priority_fee_per_gas` are geth's fee cap and tip cap and
    `gas_price` its effective price, so py-evm's fork rules (`get_gas_price`, `get_tip`,
    GASPRICE) charge exactly what geth's `ToMessage` would."""

    sender: bytes
    to: bytes
    value: int
    data: bytes
    gas: int
    nonce: int
    gas_price: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    access_list: AccessList
    authorization_list: tuple
    intrinsic_gas: int
    type_id: int | None
    # read by py-evm's debug logging only
    y_parity: int = 0
    r: int = 0
    s: int = 0
    blob_versioned_hashes: tuple = ()

    def validate(self) -> None:
        """Checked by `_Session.precheck` instead, with geth's rules and messages."""

    def copy(self, **changes: Any) -> "_CallTx":
        return replace(self, **changes)

    def get_sender(self) -> bytes:
        return self.sender


class _AccessRecorder:
    """geth's `AccessListTracer`: the storage slots SLOAD/SSTORE touch (any contract), and the
    addresses BALANCE, EXTCODE*, SELFDESTRUCT and the CALL family touch (not excluded ones)."""

    def __init__(self, initial: Iterable[tuple[bytes, Iterable[int]]], excluded: set[bytes]) -> None:
        self.excluded = excluded
        self.entries: dict[bytes, set[int]] = {}
        for address, slots in initial:
            if address in excluded:
                continue
            self.entries.setdefault(address, set()).update(slots)

    def observe(self, opcode: int, computation: ComputationAPI) -> None:
        stack = computation._stack.values
        if opcode in (0x54, 0x55):  # SLOAD, SSTORE
            if stack:
                self.entries.setdefault(computation.msg.storage_address, set()).add(_stack_int(stack[-1]))
        elif opcode in (0x31, 0x3B, 0x3C, 0x3F, 0xFF):  # BALANCE EXTCODESIZE EXTCODECOPY EXTCODEHASH SELFDESTRUCT
            if stack:
                self._address(stack[-1])
        elif len(stack) >= 5:  # CALL, CALLCODE, DELEGATECALL, STATICCALL: the address is 2nd
            self._address(stack[-2])

    def _address(self, item: int | bytes) -> None:
        address = (_stack_int(item) % 2**160).to_bytes(20, "big")
        if address not in self.excluded:
            self.entries.setdefault(address, set())

    def access_list(self) -> AccessList:
        return tuple((address, tuple(sorted(self.entries[address]))) for address in sorted(self.entries))


def _stack_int(item: int | bytes) -> int:
    return item if isinstance(item, int) else int.from_bytes(item, "big")


_RECORDED_OPCODES = (0x31, 0x3B, 0x3C, 0x3F, 0x54, 0x55, 0xF1, 0xF2, 0xF4, 0xFA, 0xFF)


class _RecordingOpcode:
    """An opcode of the fork's table that first reports itself to the state's recorder."""

    def __init__(self, value: int, logic: Any) -> None:
        self.value = value
        self.logic = logic
        self.mnemonic = getattr(logic, "mnemonic", "")

    def __call__(self, computation: ComputationAPI) -> None:
        recorder = getattr(computation.state, "access_recorder", None)
        if recorder is not None:
            recorder.observe(self.value, computation)
        return self.logic(computation)


class _DeadlineJump:
    """JUMP or JUMPI of the fork's table that first checks the state's call deadline: every
    loop, however it is written, passes one each round."""

    def __init__(self, value: int, logic: Any) -> None:
        self.value = value
        self.logic = logic
        self.mnemonic = getattr(logic, "mnemonic", "")

    def __call__(self, computation: ComputationAPI) -> None:
        deadline = computation.state.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise CallTimeout()
        return self.logic(computation)


_JUMP_OPCODES = (0x56, 0x57)


@functools.cache
def _call_state_class(base: type, record_access: bool) -> type:
    """`base` (a fork's state class) for calls: the sender's nonce and balance are not
    validated by py-evm (`_Session.precheck` applies geth's call rules), BLOBBASEFEE may be
    overridden, JUMP/JUMPI stop the call once `state.deadline` (a `time.monotonic()` value,
    None for none) has passed, and, for access lists, SLOAD/SSTORE/BALANCE/EXTCODE*/CALL*/
    SELFDESTRUCT report to `state.access_recorder`."""
    attributes: dict[str, Any] = {
        "validate_transaction": lambda self, transaction: None,
        "blob_base_fee": property(lambda self: self.blob_base_fee_override
                                  if self.blob_base_fee_override is not None
                                  else base.blob_base_fee.__get__(self)),
        "blob_base_fee_override": None,
        "access_recorder": None,
        "deadline": None,
    }
    computation = base.computation_class
    opcodes = dict(computation.opcodes)
    for value in _JUMP_OPCODES:
        opcodes[value] = _DeadlineJump(value, opcodes[value])
    for value in _RECORDED_OPCODES if record_access else ():
        if value in opcodes:
            opcodes[value] = _RecordingOpcode(value, opcodes[value])
    prefix = "AccessRecording" if record_access else "Deadline"
    attributes["computation_class"] = type(f"{prefix}{computation.__name__}", (computation,), {"opcodes": opcodes})
    return type(f"Call{base.__name__}", (base,), attributes)


@dataclass(frozen=True)
class _Rules:
    """The EIPs of a fork that change how a call is checked or priced."""

    berlin: bool  # EIP-2930 access lists
    london: bool  # EIP-1559 fees
    shanghai: bool  # EIP-3860 initcode limit
    prague: bool  # EIP-7702 authorizations, EIP-7623 calldata floor

    @classmethod
    def of(cls, vm_class: type) -> "_Rules":
        return cls(berlin=issubclass(vm_class, BerlinVM), london=issubclass(vm_class, LondonVM),
                   shanghai=issubclass(vm_class, ShanghaiVM), prague=issubclass(vm_class, PragueVM))


@dataclass
class _Run:
    """One execution: its result, and the most gas it held at once (before refunds, at least
    the EIP-7623 floor: geth's `MaxUsedGas`)."""

    result: CallResult
    peak_gas: int


@dataclass
class _Session:
    """A request bound to a block: the call's state (overrides applied) and its prices.

    Every `run` starts from the same state and discards its changes."""

    request: CallRequest
    vm_class: type
    state: StateAPI
    rules: _Rules
    sender: bytes
    gas_price: int  # geth's effective price (0: a free call)
    fee_cap: int
    tip_cap: int
    base_fee: int | None  # the context's base fee (0 in free calls, as geth lowers it)
    precompiles: frozenset[bytes] = field(default_factory=frozenset)

    @classmethod
    def open(cls, chain: DomainChain, header: BlockHeaderAPI, request: CallRequest, *,
             state_overrides: Any = None, block_overrides: Any = None,
             record_access: bool = False) -> "_Session":
        overrides = _parse_state_overrides(state_overrides)
        block = parse_block_overrides(block_overrides)
        if request.chain_id is not None and request.chain_id != chain.chain_id:
            raise InvalidCallRequest("chainId", f"chainId does not match node's (have={request.chain_id}, "
                                                f"want={chain.chain_id})")
        vm = _context_vm(chain, header)
        vm_class = type(vm)
        rules = _Rules.of(vm_class)

        # Prices, as geth's CallDefaults + ToMessage derive them from the header's base fee.
        header_base_fee = getattr(header, "base_fee_per_gas", None) if rules.london else None
        if not rules.london:
            if request.max_fee_per_gas is not None or request.max_priority_fee_per_gas is not None:
                raise ExecutionError("maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
            gas_price = fee_cap = tip_cap = request.gas_price or 0
        else:
            gas_price, fee_cap, tip_cap = call_prices(request, header_base_fee)

        base = vm_class.create_execution_context(header, (), vm.chain_context)
        base_fee = None
        if rules.london:
            base_fee = 0 if gas_price == 0 else (block.base_fee if block.base_fee is not None else header_base_fee)
        number = block.number if block.number is not None else base.block_number
        context = ExecutionContext(
            coinbase=block.fee_recipient if block.fee_recipient is not None else base.coinbase,
            timestamp=block.time if block.time is not None else base.timestamp,
            block_number=number,
            difficulty=block.difficulty if block.difficulty is not None else base.difficulty,
            mix_hash=block.prev_randao if block.prev_randao is not None else base.mix_hash,
            gas_limit=block.gas_limit if block.gas_limit is not None else base.gas_limit,
            prev_hashes=_ancestor_hashes(vm, header.block_number, number),
            chain_id=base.chain_id,
            base_fee_per_gas=base_fee,
            excess_blob_gas=getattr(header, "excess_blob_gas", None),
        )
        state_class = _call_state_class(vm_class.get_state_class(), record_access)
        state = state_class(vm.chaindb.db, context, header.state_root)
        state.blob_base_fee_override = block.blob_base_fee
        state.deadline = call_deadline()
        _apply_state_overrides(state, overrides)
        return cls(request=request, vm_class=vm_class, state=state, rules=rules,
                   sender=request.sender or ZERO_ADDRESS, gas_price=gas_price, fee_cap=fee_cap,
                   tip_cap=tip_cap, base_fee=base_fee,
                   precompiles=frozenset(state_class.computation_class.get_precompiles()))

    @property
    def free(self) -> bool:
        """geth's `NoBaseFee` call with zero fee fields: fee checks and payments skipped."""
        return self.fee_cap == 0 and self.tip_cap == 0

    @property
    def context_gas_limit(self) -> int:
        return self.state.execution_context.gas_limit

    def transaction(self, gas: int, access_list: AccessList | None = None) -> _CallTx:
        request = self.request
        access_list = access_list if access_list is not None else (request.access_list or ())
        authorizations = tuple(a.to_pyevm() for a in request.authorization_list or ())
        to = request.to if request.to is not None else CREATE_CONTRACT_ADDRESS
        core = self.vm_class.get_transaction_builder().create_unsigned_transaction(
            nonce=0, gas_price=0, gas=0, to=to, value=0, data=request.data).intrinsic_gas
        intrinsic = (core + _ACCESS_LIST_ADDRESS_COST * len(access_list)
                     + _ACCESS_LIST_SLOT_COST * sum(len(slots) for _, slots in access_list)
                     + _AUTHORIZATION_COST * len(authorizations))
        return _CallTx(sender=self.sender, to=to, value=request.value or 0, data=request.data, gas=gas,
                       nonce=self.state.get_nonce(self.sender), gas_price=self.gas_price,
                       max_fee_per_gas=self.fee_cap if self.rules.london else self.gas_price,
                       max_priority_fee_per_gas=self.tip_cap if self.rules.london else self.gas_price,
                       access_list=access_list, authorization_list=authorizations, intrinsic_gas=intrinsic,
                       type_id=4 if request.authorization_list is not None else None)

    def precheck(self, tx: _CallTx) -> int:
        """geth's state-transition checks for a call (nonce and EOA checks skipped), in its
        order and words. Returns the EIP-7623 floor. Raises `_Rejected`."""
        request, rules = self.request, self.rules
        creation = request.to is None
        if request.access_list is not None and not rules.berlin:
            raise _Rejected(f"transaction type not supported: access list tx (sender {self.sender_text})")
        if request.authorization_list is not None and not rules.prague:
            raise _Rejected(f"transaction type not supported: setcode tx (sender {self.sender_text})")
        if rules.london and not self.free:
            if self.fee_cap < self.tip_cap:
                raise _Rejected(f"max priority fee per gas higher than max fee per gas: address {self.sender_text}, "
                                f"maxPriorityFeePerGas: {self.tip_cap}, maxFeePerGas: {self.fee_cap}")
            if self.fee_cap < self.base_fee:
                raise _Rejected(f"max fee per gas less than block base fee: address {self.sender_text}, "
                                f"maxFeePerGas: {self.fee_cap}, baseFee: {self.base_fee}")
        if request.authorization_list is not None:
            if creation:
                raise _Rejected(f"EIP-7702 transaction cannot be used to create contract (sender {self.sender_text})")
            if not request.authorization_list:
                raise _Rejected(f"EIP-7702 transaction with empty auth list (sender {self.sender_text})")
        if creation and rules.shanghai and len(tx.data) > _MAX_INITCODE_SIZE:
            raise _Rejected(f"max initcode size exceeded: code size {len(tx.data)} limit {_MAX_INITCODE_SIZE}")
        # buyGas: the balance must cover gas at the fee cap plus the value
        balance = self.state.get_balance(self.sender)
        want = tx.gas * (self.fee_cap if rules.london else self.gas_price) + tx.value
        if balance < want:
            raise _Rejected(f"insufficient funds for gas * price + value: address {self.sender_text} "
                            f"have {balance} want {want}")
        intrinsic = tx.intrinsic_gas
        if creation and rules.shanghai:  # py-evm charges EIP-3860 word gas during execution
            intrinsic += _INITCODE_WORD_COST * ((len(tx.data) + 31) // 32)
        if tx.gas < intrinsic:
            raise _Rejected(f"intrinsic gas too low: have {tx.gas}, want {intrinsic}", gas_related=True)
        floor = self.state.get_transaction_executor().calc_data_floor_gas(tx, 0, 0)
        if rules.prague and tx.gas < floor:
            raise _Rejected(f"insufficient gas for floor data gas cost: have {tx.gas}, want {floor}",
                            gas_related=True)
        if tx.value and balance - tx.gas * self.gas_price < tx.value:
            raise _Rejected(f"insufficient funds for transfer: address {self.sender_text}")
        return floor

    @property
    def sender_text(self) -> str:
        """The sender as geth's messages print it (checksummed); only an error needs it."""
        return to_checksum_address(self.sender)

    def run(self, gas: int, access_list: AccessList | None = None,
            recorder: _AccessRecorder | None = None) -> _Run:
        """Execute the request with `gas`, then discard every change. Raises `_Rejected`."""
        tx = self.transaction(gas, access_list)
        floor = self.precheck(tx)
        state = self.state
        snapshot = state.snapshot()
        state.access_recorder = recorder
        try:
            computation = state.apply_transaction(tx)
            gas_used = self.vm_class.finalize_gas_used(tx, computation)
            peak = max(gas - computation.get_gas_remaining(), floor)
        except ValidationError as exc:
            raise _Rejected(str(exc)) from exc
        except CallTimeout:
            raise ExecutionError(timeout_message()) from None
        finally:
            state.access_recorder = None
            state.revert(snapshot)
        if computation.is_success:
            result = CallResult(output=computation.output, gas_used=gas_used)
        else:
            error = computation.error
            revert = bytes(computation.output) if isinstance(error, Revert) else None
            result = CallResult(output=b"", gas_used=gas_used, error=vm_error_text(error), revert=revert)
        return _Run(result=result, peak_gas=peak)


def _apply_state_overrides(state: StateAPI, overrides: Mapping[bytes, _AccountOverride]) -> None:
    """Apply geth's state override set, then seal it as if a transaction before the call had
    made those changes (so EIP-2200/3529 "original" storage values are the overridden ones)."""
    for address, account in overrides.items():
        if account.nonce is not None:
            state.set_nonce(address, account.nonce)
        if account.code is not None:
            state.set_code(address, account.code)
        if account.balance is not None:
            state.set_balance(address, account.balance)
        if account.state is not None:
            state.delete_storage(address)
            for slot, value in account.state.items():
                state.set_storage(address, slot, value)
        if account.state_diff is not None:
            for slot, value in account.state_diff.items():
                state.set_storage(address, slot, value)
    state.lock_changes()


def _ancestor_hashes(vm: VirtualMachineAPI, real_number: int, context_number: int) -> Iterable[bytes]:
    """The hashes BLOCKHASH reads, newest first, positioned for a context numbered
    `context_number`: as in geth, a number override moves the 256-block window, but the
    hashes still come from the real ancestors of the block (newer numbers read zero)."""
    hashes = vm.previous_hashes or ()
    shift = context_number - real_number
    if shift >= 0:
        return itertools.chain(itertools.repeat(b"", min(shift, MAX_PREV_HEADER_DEPTH)), hashes)
    return itertools.islice(hashes, -shift, None)


def _context_vm(chain: DomainChain, header: BlockHeaderAPI) -> VirtualMachineAPI:
    """A VM (over a scratch view) of the fork governing `header`: a stored block, or a block
    still to come on a stored parent (see `next_block_header`)."""
    if chain.header_by_hash(header.hash) is not None:
        return chain.vm_at(header)
    parent = chain.header_by_hash(header.parent_hash)
    if parent is None or parent.block_number + 1 != header.block_number:
        raise ExecutionError(f"header not found: block {header.block_number} ({header.hash.hex()})")
    return chain.pending_vm(parent, header.timestamp)


def next_block_header(chain: DomainChain, parent: BlockHeaderAPI | None = None,
                      timestamp: int | None = None) -> BlockHeaderAPI:
    """The header of the block that would follow `parent` (default: the head): its number,
    base fee, gas limit and time, over the parent's state. Executions given this header run
    "in the next block" (what a transaction sent now would see)."""
    return chain.pending_vm(parent, timestamp).get_header()


# ------------------------------------------------------------------------------------------
# eth_call
# ------------------------------------------------------------------------------------------

def call(chain: DomainChain, request: CallRequest, header: BlockHeaderAPI, *,
         state_overrides: Any = None, block_overrides: Any = None,
         gas_cap: int = RPC_GAS_CAP) -> CallResult:
    """Execute `request` as geth's `eth_call` does, on the state after block `header`.

    Rules: the sender defaults to the zero address and its nonce is not checked; the gas
    defaults to `gas_cap` (geth's RPC gas cap) and a larger request is cut to it; with no fee
    fields the call is free (no balance needed for gas, BASEFEE and GASPRICE read 0), with
    fee fields geth's fee and balance checks apply. `state_overrides` is geth's state override
    set (balance, nonce, code, state, stateDiff per address) and `block_overrides` its block
    override object, both as JSON. A revert or VM error is part of the `CallResult` (see
    `CallResult.raise_for_error`); a message geth refuses before executing raises
    `ExecutionError` with geth's words (``err: <reason> (supplied gas N)``)."""
    session = _Session.open(chain, header, request, state_overrides=state_overrides,
                            block_overrides=block_overrides)
    gas = _call_gas(request.gas, gas_cap)
    try:
        return session.run(gas).result
    except _Rejected as exc:
        raise ExecutionError(f"err: {exc.message} (supplied gas {gas})") from exc


def trace_call(chain: DomainChain, request: CallRequest, header: BlockHeaderAPI, tracer: Any, *,
               state_overrides: Any = None, block_overrides: Any = None,
               gas_cap: int = RPC_GAS_CAP) -> None:
    """debug_traceCall: `request` checked and executed exactly as `call` does (same defaults,
    overrides, fee and balance rules and errors), with `tracer` (a `domains.evm.tracing`
    tracer) watching; every change is discarded. The trace is `tracer.result()`."""
    session = _Session.open(chain, header, request, state_overrides=state_overrides,
                            block_overrides=block_overrides)
    gas = _call_gas(request.gas, gas_cap)
    tx = session.transaction(gas)
    try:
        session.precheck(tx)
    except _Rejected as exc:
        raise ExecutionError(f"err: {exc.message} (supplied gas {gas})") from exc
    state = session.state
    view = tracing.tracing_view(state, tracer)
    snapshot = state.snapshot()
    try:
        computation = view.apply_transaction(tx)
        gas_used = session.vm_class.finalize_gas_used(tx, computation)
    except ValidationError as exc:
        raise ExecutionError(f"err: {exc} (supplied gas {gas})") from exc
    except CallTimeout:
        raise ExecutionError(timeout_message()) from None
    finally:
        state.revert(snapshot)
    tracer.finish(tx, computation, gas_used)


def timeout_message() -> str:
    """geth's words for a call stopped by the EVM timeout (or which budget ran out)."""
    shared = _SHARED_DEADLINE.get()
    if shared is not None and time.monotonic() > shared:
        return "execution aborted (the execution time of this batch is spent)"
    return f"execution aborted (timeout = {RPC_EVM_TIMEOUT:g}s)"


@contextmanager
def evm_budget(seconds: float) -> Iterator[None]:
    """Every call run inside (on this thread) also stops `seconds` from now: the requests of
    a JSON-RPC batch run one after another, and each alone stops after `RPC_EVM_TIMEOUT`, so
    a batch of 1,000 looping calls would otherwise hold a core for over an hour."""
    token = _SHARED_DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _SHARED_DEADLINE.reset(token)


def call_deadline() -> float | None:
    """When a call starting now must stop: its own timeout, or the shared budget's end if
    that comes first (None: no limit)."""
    own = time.monotonic() + RPC_EVM_TIMEOUT if RPC_EVM_TIMEOUT else None
    shared = _SHARED_DEADLINE.get()
    if own is None or shared is None:
        return own if shared is None else shared
    return min(own, shared)


def _call_gas(requested: int | None, gas_cap: int) -> int:
    """geth's CallDefaults: the gas cap when no gas is given, and never more than the cap."""
    cap = gas_cap if gas_cap else _UINT64 // 2 - 1
    return cap if requested is None else min(requested, cap)


# ------------------------------------------------------------------------------------------
# eth_estimateGas
# ------------------------------------------------------------------------------------------

def estimate_gas(chain: DomainChain, request: CallRequest, header: BlockHeaderAPI, *,
                 state_overrides: Any = None, block_overrides: Any = None,
                 gas_cap: int = RPC_GAS_CAP) -> int:
    """The smallest gas limit with which `request` succeeds on the state after `header`.

    geth's `gasestimator.Estimate`, without its 1.5% tolerance: the result is exact (a
    transaction with this gas succeeds, one with a unit less fails), and so includes the
    intrinsic gas, the EIP-7623 calldata floor and the gas a call must keep back under the
    EIP-150 all-but-one-64th rule.

    - The upper bound is the request's gas (if at least 21000) or the block gas limit, cut
      to `gas_cap`, and, when the request carries a fee, to what the sender's balance can pay
      beyond the value at that fee cap (geth's allowance).
    - A plain transfer to an account without code is tried at 21000 first.
    - One run at the upper bound: a revert raises `ExecutionReverted`, any other VM error
      `ExecutionError` (running out of gas: ``gas required exceeds allowance (N)``).
    - Then the gas that run held at its peak (before refunds) is tried, then that plus the
      call stipend times 64/63 (geth's optimistic limit), and the rest is a binary search
      between the gas used minus one and the smallest success. A transaction without refunds
      or nested calls needs two executions."""
    session = _Session.open(chain, header, request, state_overrides=state_overrides,
                            block_overrides=block_overrides)
    hi = request.gas if request.gas is not None and request.gas >= _TX_GAS else session.context_gas_limit
    if session.fee_cap:
        balance = session.state.get_balance(session.sender)
        value = request.value or 0
        if value >= balance:
            raise ExecutionError("insufficient funds for transfer")
        hi = min(hi, (balance - value) // session.fee_cap)
    if gas_cap and hi > gas_cap:
        hi = gas_cap

    def attempt(gas: int) -> _Run | None:
        """The run at `gas`, or None when the gas limit itself is the problem."""
        try:
            return session.run(gas)
        except _Rejected as exc:
            if exc.gas_related:
                return None
            raise ExecutionError(f"failed with {gas} gas: {exc.message}") from exc

    if not request.data and request.to is not None and not session.state.get_code(request.to):
        try:
            plain = session.run(_TX_GAS)
            if plain.result.success:
                return _TX_GAS
        except _Rejected:
            pass

    first = attempt(hi)
    if first is None or first.result.error == "out of gas":
        raise ExecutionError(f"gas required exceeds allowance ({hi})")
    if not first.result.success:
        if first.result.revert is not None:
            raise ExecutionReverted(decode_revert_reason(first.result.revert), first.result.revert)
        raise ExecutionError(first.result.error)

    lo = first.result.gas_used - 1  # the gas a successful run used bounds the limit below
    for guess in (first.peak_gas, (first.peak_gas + _CALL_STIPEND) * 64 // 63):
        if lo < guess < hi:
            run = attempt(guess)
            if run is not None and run.result.success:
                hi = guess
                break
            lo = guess
    while lo + 1 < hi:
        mid = min(lo + (hi - lo) // 2, lo * 2)  # skewed low, as geth: most limits sit near the use
        run = attempt(mid)
        if run is not None and run.result.success:
            hi = mid
        else:
            lo = mid
    return hi


# ------------------------------------------------------------------------------------------
# eth_createAccessList
# ------------------------------------------------------------------------------------------

def create_access_list(chain: DomainChain, request: CallRequest, header: BlockHeaderAPI, *,
                       state_overrides: Any = None, block_overrides: Any = None,
                       gas_cap: int = RPC_GAS_CAP) -> AccessListResult:
    """The EIP-2930 access list `request` needs, as geth's `eth_createAccessList` builds it.

    Rules: run with the request's list (minus excluded addresses), record every storage slot
    SLOAD/SSTORE touch and every address BALANCE, EXTCODESIZE/COPY/HASH, SELFDESTRUCT and the
    CALL family touch; run again with the recorded list until a run records nothing new. The
    sender, the recipient (or the created contract's address), the precompiles and the
    authorities of the request's valid EIP-7702 authorizations are never listed for
    themselves, but an excluded contract whose storage is touched is listed with its slots.
    The gas used and VM error are those of the last run (a revert still yields the list).
    Gas defaults to `gas_cap`; with no fee fields the runs are free, as calls are (geth
    would price them at its suggested fees; a domain's gateway decides fees itself)."""
    session = _Session.open(chain, header, request, state_overrides=state_overrides,
                            block_overrides=block_overrides, record_access=True)
    gas = _call_gas(request.gas, gas_cap)
    sender = session.sender
    if request.to is not None:
        to = request.to
    else:
        nonce = request.nonce if request.nonce is not None else session.state.get_nonce(sender)
        to = keccak(rlp.encode([sender, nonce]))[12:]
    excluded = {sender, to, *session.precompiles}
    authorizations = request.authorization_list or ()
    if len(authorizations) > gas // _AUTHORIZATION_COST:
        raise ExecutionError("insufficient gas to process all authorizations")
    for authorization in authorizations:
        if authorization.chain_id not in (0, chain.chain_id) or authorization.nonce + 1 >= _UINT64:
            continue
        authority = authorization.authority()
        if authority is not None:
            excluded.add(authority)

    current = _AccessRecorder(request.access_list or (), excluded).access_list()
    while True:
        recorder = _AccessRecorder(current, excluded)
        try:
            run = session.run(gas, access_list=current, recorder=recorder)
        except _Rejected as exc:
            raise ExecutionError(f"failed to apply transaction: err: {exc.message}") from exc
        found = recorder.access_list()
        if found == current:
            listed = tuple((address, tuple(slot.to_bytes(32, "big") for slot in slots)) for address, slots in found)
            return AccessListResult(listed, run.result.gas_used, run.result.error)
        current = found


# ------------------------------------------------------------------------------------------
# eth_getProof
# ------------------------------------------------------------------------------------------

def get_proof(chain: DomainChain, address: bytes | str, storage_keys: Sequence[str | bytes | int],
              header: BlockHeaderAPI) -> dict[str, Any]:
    """EIP-1186 proofs of an account and some of its storage slots at block `header`, in the
    execution-apis JSON format.

    `accountProof` is the path of RLP trie nodes from the header's state root to the account,
    keyed by keccak(address); each `storageProof[i].proof` is the path from the account's
    storage root keyed by keccak(slot as 32 bytes). Both prove absence too: the path ends where
    the key's branch is empty or diverges. As in geth, a node embedded in its parent (under 32
    bytes of RLP) is not listed separately, an absent account has zero `codeHash` and
    `storageHash`, an account without storage proves every slot with an empty list, and a
    storage key given as hex comes back as given when it is 32 bytes long and as a QUANTITY
    otherwise. At most `MAX_PROOF_KEYS` keys."""
    if isinstance(address, str):
        try:
            address = _address(address, "address")
        except InvalidCallRequest as exc:
            raise InvalidProofRequest(str(exc)) from exc
    if not isinstance(address, (bytes, bytearray)) or len(address) != 20:
        raise InvalidProofRequest(f"invalid address: expected 20 bytes, got {address!r}")
    if len(storage_keys) > MAX_PROOF_KEYS:
        raise InvalidProofRequest(f"too many storage keys requested (max {MAX_PROOF_KEYS}, got {len(storage_keys)})")
    keys = [_storage_key(key) for key in storage_keys]

    db = CommittedDB(chain.store)
    account_proof, encoded = _trie_proof(db, header.state_root, keccak(bytes(address)))
    account = rlp.decode(encoded, sedes=Account) if encoded is not None else None
    storage_root = account.storage_root if account is not None else BLANK_ROOT_HASH
    storage_proof = []
    for slot, output_key in keys:
        proof, encoded_value = _trie_proof(db, storage_root, keccak(slot.to_bytes(32, "big")))
        value = rlp.decode(encoded_value, sedes=rlp.sedes.big_endian_int) if encoded_value is not None else 0
        storage_proof.append({"key": output_key, "value": hex(value), "proof": ["0x" + node.hex() for node in proof]})
    zero = "0x" + "00" * 32
    return {
        "address": "0x" + bytes(address).hex(),
        "accountProof": ["0x" + node.hex() for node in account_proof],
        "balance": hex(account.balance if account is not None else 0),
        "codeHash": "0x" + account.code_hash.hex() if account is not None else zero,
        "nonce": hex(account.nonce if account is not None else 0),
        "storageHash": "0x" + storage_root.hex() if account is not None else zero,
        "storageProof": storage_proof,
    }


def _storage_key(key: str | bytes | int) -> tuple[int, str]:
    """(slot, output form) of an `eth_getProof` storage key, read as leniently as geth reads
    it: hex with or without 0x, odd length allowed, at most 32 bytes."""
    if isinstance(key, bool):
        raise InvalidProofRequest(f"invalid storage key: {key!r}")
    if isinstance(key, int):
        if not 0 <= key < _UINT256:
            raise InvalidProofRequest(f"invalid storage key: {key} is not a 256-bit slot")
        return key, hex(key)
    if isinstance(key, (bytes, bytearray)):
        if len(key) > 32:
            raise InvalidProofRequest("storage key too long (want at most 32 bytes)")
        slot = int.from_bytes(key, "big")
        return slot, ("0x" + slot.to_bytes(32, "big").hex()) if len(key) == 32 else hex(slot)
    if not isinstance(key, str):
        raise InvalidProofRequest(f"invalid storage key: expected a hex string, got {type(key).__name__}")
    body = key[2:] if key[:2] in ("0x", "0X") else key
    if len(body) % 2:
        body = "0" + body
    if len(body) > 64:
        raise InvalidProofRequest(f'storage key too long (want at most 32 bytes): "{key}"')
    if not _HEX_DIGITS.issuperset(body):
        raise InvalidProofRequest(f'invalid hex in storage key: "{key}"')
    slot = int(body, 16) if body else 0
    return slot, ("0x" + body.lower()) if len(body) == 64 else hex(slot)


def _trie_proof(db: Any, root: bytes, key: bytes) -> tuple[list[bytes], bytes | None]:
    """The RLP nodes from `root` towards `key` in a hexary Merkle-Patricia trie whose nodes
    `db` holds by hash, and the value at `key` (None when absent). Embedded nodes are part of
    their parent's RLP and are not listed."""
    if root == BLANK_ROOT_HASH:
        return [], None
    path = [nibble for byte in key for nibble in (byte >> 4, byte & 0x0F)]
    proof: list[bytes] = []
    reference: Any = root
    while True:
        if isinstance(reference, list):  # embedded node
            node = reference
        elif reference == b"":
            return proof, None
        else:
            try:
                encoded = db[bytes(reference)]
            except KeyError as exc:
                raise ExecutionError(f"missing trie node {bytes(reference).hex()} (state not available)") from exc
            proof.append(encoded)
            node = rlp.decode(encoded)
        if len(node) == 17:  # branch
            if not path:
                return proof, node[16] or None
            reference, path = node[path[0]], path[1:]
        elif len(node) == 2:  # leaf or extension, hex-prefix encoded path
            prefix = node[0]
            flag = prefix[0] >> 4
            nibbles = [prefix[0] & 0x0F] if flag & 1 else []  # odd length: first nibble in the flag byte
            nibbles += [n for byte in prefix[1:] for n in (byte >> 4, byte & 0x0F)]
            if flag & 2:  # leaf
                return proof, node[1] if nibbles == path else None
            if path[:len(nibbles)] != nibbles:
                return proof, None
            reference, path = node[1], path[len(nibbles):]
        else:
            raise ExecutionError(f"malformed trie node in the state of root {root.hex()}")
