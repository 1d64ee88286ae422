"""Multi-block simulation on a domain: the engine behind `eth_simulateV1`.

go-ethereum's semantics (`internal/ethapi/simulate.go`), checked against the recorded
request/response pairs of `ethereum/execution-apis`:

- A request is a list of *block state calls*: optional block overrides, optional state
  overrides and a list of calls. The blocks are simulated one after another on top of a
  stored base block; every call's state changes carry over to the next call and block.
- Block numbers default to parent+1 and timestamps to parent+12; both must increase, and a
  gap in the numbers is filled with empty blocks. At most `MAX_BLOCKS` blocks past the base.
- Each simulated header is built as geth builds it: the base's coinbase and gas limit carried
  forward, difficulty 0, empty extra data, zero nonce and prevRandao, a zero parent beacon
  root, the base fee of the parent (with `validation`) or 0 (without), the EIP-4844 excess
  blob gas of the parent, and, once executed, the real state, transaction and receipt roots,
  the logs bloom, the gas used and the EIP-7685 requests hash. The block hash of a simulated
  block therefore equals geth's.
- Each call becomes an unsigned transaction (EIP-1559 unless it carries `gasPrice`, then
  legacy; zero signature): its nonce is the sender's state nonce unless given, its gas the
  block's remaining gas unless given, cut to the remaining cross-block gas budget
  (`RPC_GAS_CAP`). Without `validation` the call runs as `eth_call` runs (no nonce check,
  free when it carries no fee), with it geth's nonce and base-fee checks apply too.
- A call geth's pre-checks refuse aborts the whole simulation with a `SimulationError`
  carrying geth's code (-38010 nonce too low, -38011 too high, -38012 fee cap below base
  fee, -38013 intrinsic gas, -38014 insufficient funds, -38015 block gas limit reached);
  a call that executes and fails is part of the result (status 0 and an error object: code
  3 for a revert with its data, -32015 for any other VM error).
- `traceTransfers` adds, for every value transfer of a frame that did not revert, an ERC-20
  style `Transfer(from, to, value)` log emitted by `TRANSFER_LOG_ADDRESS`.

Nothing is written to the store: all state lives in a `ScratchDB` view thrown away after.

Public API
----------
``SimulationRequest.from_json(obj)``: parse the `EthSimulatePayload` object (raises
`InvalidCallRequest` naming the field).
``simulate(chain, base, request)`` -> list of `SimulatedBlock` (the block, the senders of its
transactions and the per-call results).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ComputationAPI, StateAPI
from eth.constants import CREATE_CONTRACT_ADDRESS, EMPTY_UNCLE_HASH, SYSTEM_ADDRESS, SYSTEM_MESSAGE_GAS, ZERO_ADDRESS
from eth.db.trie import make_trie_root_and_nodes
from eth.exceptions import Revert
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.byzantium.constants import (
    EIP658_TRANSACTION_STATUS_CODE_FAILURE,
    EIP658_TRANSACTION_STATUS_CODE_SUCCESS,
)
from eth.vm.message import Message
from eth_utils import ValidationError, to_checksum_address

from domains.evm import execution as ex
from domains.evm.chain import DomainChain
from domains.evm.revert import decode_revert_reason, vm_error_text

__all__ = [
    "MAX_BLOCKS",
    "TIMESTAMP_INCREMENT",
    "TRANSFER_LOG_ADDRESS",
    "CallOutcome",
    "SimulatedBlock",
    "SimulationError",
    "SimulationRequest",
    "simulate",
]

#: The most blocks one request may simulate past its base (geth's `maxSimulateBlocks`).
MAX_BLOCKS = 256
#: The default time between simulated blocks, in seconds.
TIMESTAMP_INCREMENT = 12
#: The address `traceTransfers` logs are emitted from.
TRANSFER_LOG_ADDRESS = bytes.fromhex("ee" * 20)
#: keccak("Transfer(address,address,uint256)")
TRANSFER_TOPIC = int("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", 16)

# geth's JSON-RPC error codes of eth_simulateV1
NONCE_TOO_LOW = -38010
NONCE_TOO_HIGH = -38011
BASE_FEE_TOO_LOW = -38012
INTRINSIC_GAS = -38013
INSUFFICIENT_FUNDS = -38014
BLOCK_GAS_LIMIT_REACHED = -38015
BLOCK_NUMBER_INVALID = -38020
BLOCK_TIMESTAMP_INVALID = -38021
MAX_INITCODE_SIZE = -38025
CLIENT_LIMIT_EXCEEDED = -38026
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
VM_ERROR = -32015
REVERTED = 3

_UINT64 = 2**64
_GWEI = 10**9


class SimulationError(Exception):
    """The simulation as a whole failed; `code` is geth's JSON-RPC error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------

@dataclass
class BlockStateCall:
    """One block of a simulation request."""

    overrides: ex.BlockOverrides = field(default_factory=ex.BlockOverrides)
    state_overrides: dict[bytes, Any] = field(default_factory=dict)
    calls: tuple[ex.CallRequest, ...] = ()
    #: `movePrecompileToAddress` of the state overrides: {precompile address: new address}
    moves: dict[bytes, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationRequest:
    """An `EthSimulatePayload`: the blocks and the three flags."""

    blocks: tuple[BlockStateCall, ...]
    trace_transfers: bool = False
    validation: bool = False
    return_full_transactions: bool = False

    @classmethod
    def from_json(cls, obj: Any) -> "SimulationRequest":
        obj = ex._object(obj, "payload")
        if obj.get("blockStateCalls") is None:
            raise ex.InvalidCallRequest("blockStateCalls", "missing required field")
        blocks = []
        for i, item in enumerate(ex._list(obj["blockStateCalls"], "blockStateCalls")):
            where = f"blockStateCalls[{i}]"
            item = ex._object(item, where)
            calls = []
            for j, call in enumerate(ex._list(item.get("calls") or [], f"{where}.calls")):
                try:
                    calls.append(ex.CallRequest.from_json(call))
                except ex.InvalidCallRequest as exc:
                    raise ex.InvalidCallRequest(f"{where}.calls[{j}].{exc.field}", exc.problem) from None
            moves: dict[bytes, bytes] = {}
            raw_overrides = item.get("stateOverrides")
            if isinstance(raw_overrides, Mapping):  # moves are taken out; the rest is eth_call's set
                stripped = {}
                for key, account in raw_overrides.items():
                    if isinstance(account, Mapping) and account.get("movePrecompileToAddress") is not None:
                        name = f"{where}.stateOverride[{key}]"
                        moves[ex._address(key, name)] = ex._address(account["movePrecompileToAddress"],
                                                                    f"{name}.movePrecompileToAddress")
                        account = {k: v for k, v in account.items() if k != "movePrecompileToAddress"}
                    stripped[key] = account
                raw_overrides = stripped
            try:
                state_overrides = ex._parse_state_overrides(raw_overrides)
            except ex.InvalidCallRequest as exc:
                raise ex.InvalidCallRequest(f"{where}.{exc.field}", exc.problem) from None
            blocks.append(BlockStateCall(overrides=ex.parse_block_overrides(item.get("blockOverrides"),
                                                                            f"{where}.blockOverrides",
                                                                            simulation=True, number_bits=64),
                                         state_overrides=state_overrides, calls=tuple(calls), moves=moves))
        flags = {}
        for key in ("traceTransfers", "validation", "returnFullTransactions"):
            value = obj.get(key)
            if value is not None and not isinstance(value, bool):
                raise ex.InvalidCallRequest(key, f"expected a boolean, got {type(value).__name__}")
            flags[key] = bool(value)
        return cls(blocks=tuple(blocks), trace_transfers=flags["traceTransfers"],
                   validation=flags["validation"], return_full_transactions=flags["returnFullTransactions"])


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallOutcome:
    """The result of one simulated call. `logs` are (address, topics, data) entries in order;
    `error` is None on success, else (code, message, revert data or None)."""

    output: bytes
    logs: tuple[tuple[bytes, tuple[int, ...], bytes], ...]
    gas_used: int
    max_used_gas: int
    error: tuple[int, str, bytes | None] | None = None
    #: each log's `logIndex`: geth numbers every log emitted in the block, reverted ones too
    log_indexes: tuple[int, ...] = ()

    @property
    def status(self) -> int:
        return 1 if self.error is None else 0


@dataclass(frozen=True)
class SimulatedBlock:
    """One simulated block: the sealed block, each transaction's sender, the call results."""

    block: BlockAPI
    senders: tuple[bytes, ...]
    calls: tuple[CallOutcome, ...]


# ------------------------------------------------------------------------------------------
# Transfer logs
# ------------------------------------------------------------------------------------------

def _transfer_computation_class(base: type) -> type:
    """`base` (a fork's computation class) where every frame that moves value first logs an
    ERC-20 `Transfer` from `TRANSFER_LOG_ADDRESS`; a frame that fails drops it with its logs."""

    class TransferLogging(base):  # type: ignore[misc, valid-type]
        def __init__(self, state, message, transaction_context) -> None:
            super().__init__(state, message, transaction_context)
            callcode = message.code_address != message.storage_address and not message.is_create
            if message.value and message.should_transfer_value and not callcode:
                to = message.storage_address
                self.add_log_entry(TRANSFER_LOG_ADDRESS,
                                   (TRANSFER_TOPIC, int.from_bytes(message.sender, "big"), int.from_bytes(to, "big")),
                                   message.value.to_bytes(32, "big"))

    opcodes = dict(base.opcodes)
    if 0xFF in opcodes:
        opcodes[0xFF] = _TransferLoggingSelfdestruct(opcodes[0xFF])
    TransferLogging.opcodes = opcodes
    TransferLogging.__name__ = f"TransferLogging{base.__name__}"
    return TransferLogging


class _TransferLoggingSelfdestruct:
    """SELFDESTRUCT that first logs the transfer of the contract's balance to the beneficiary."""

    def __init__(self, logic: Any) -> None:
        self.logic = logic
        self.mnemonic = getattr(logic, "mnemonic", "SELFDESTRUCT")

    def __call__(self, computation: ComputationAPI) -> None:
        stack = computation._stack.values
        if stack:
            item = stack[-1]
            beneficiary = ((item if isinstance(item, int) else int.from_bytes(item, "big")) % 2**160)
            contract = computation.msg.storage_address
            balance = computation.state.get_balance(contract)
            if balance:
                computation.add_log_entry(TRANSFER_LOG_ADDRESS,
                                          (TRANSFER_TOPIC, int.from_bytes(contract, "big"), beneficiary),
                                          balance.to_bytes(32, "big"))
        return self.logic(computation)


def _simulation_state_class(base: type, trace_transfers: bool) -> type:
    """The call state class of `execution` for simulations: a call without fee fields pays
    its block's coinbase nothing even under a base fee (geth's NoBaseFee), and with
    `trace_transfers` its computations log value transfers. The EIP-2929 warm precompiles are
    the fork's, whatever a block's overrides did to them (as geth warms them)."""

    def get_tip(self, transaction) -> int:
        if transaction.max_fee_per_gas == 0 and transaction.max_priority_fee_per_gas == 0:
            return 0
        return base.get_tip(self, transaction)

    fork_precompiles = frozenset(base.computation_class.get_precompiles())

    def is_address_warm(self, address: bytes) -> bool:
        # EIP-2929 warms the fork's precompile addresses, wherever overrides moved them
        return self._account_db.is_address_warm(address) or address in fork_precompiles

    attributes: dict[str, Any] = {"get_tip": get_tip, "is_address_warm": is_address_warm}
    if trace_transfers:
        attributes["computation_class"] = _transfer_computation_class(base.computation_class)
    return type(f"Simulation{base.__name__}", (base,), attributes)


# ------------------------------------------------------------------------------------------
# The simulation
# ------------------------------------------------------------------------------------------

@dataclass
class _GasBudget:
    """geth's cross-block gas budget: what all calls of a request may use together."""

    remaining: int

    def cap(self, gas: int) -> int:
        return min(gas, self.remaining)

    def consume(self, used: int) -> None:
        if used > self.remaining:
            raise SimulationError(INTERNAL_ERROR, f"RPC gas cap exhausted: need {used}, remaining {self.remaining}")
        self.remaining -= used


def _sanitize_chain(base: BlockHeaderAPI, blocks: Sequence[BlockStateCall]) -> list[BlockStateCall]:
    """Numbers and times filled in and checked; gaps in the numbers filled with empty blocks."""
    out: list[BlockStateCall] = []
    prev_number, prev_time = base.block_number, base.timestamp
    for block in blocks:
        o = block.overrides
        number = o.number if o.number is not None else prev_number + 1
        if number <= prev_number:
            raise SimulationError(BLOCK_NUMBER_INVALID, f"block numbers must be in order: {number} <= {prev_number}")
        if number - base.block_number > MAX_BLOCKS:
            raise SimulationError(CLIENT_LIMIT_EXCEEDED, "too many blocks")
        for filler in range(prev_number + 1, number):
            prev_time += TIMESTAMP_INCREMENT
            out.append(BlockStateCall(overrides=ex.BlockOverrides(number=filler, time=prev_time)))
        if o.time is None:
            time = prev_time + TIMESTAMP_INCREMENT
        else:
            time = o.time
            if time <= prev_time:
                raise SimulationError(BLOCK_TIMESTAMP_INVALID,
                                      f"block timestamps must be in order: {time} <= {prev_time}")
        prev_number, prev_time = number, time
        overrides = dataclasses.replace(o, number=number, time=time)
        out.append(BlockStateCall(overrides=overrides, state_overrides=block.state_overrides, calls=block.calls,
                                  moves=block.moves))
    return out


def _rejection_code(message: str) -> int:
    """geth's `txValidationError` code for a pre-check failure."""
    for prefix, code in (("nonce too low", NONCE_TOO_LOW), ("nonce too high", NONCE_TOO_HIGH),
                         ("max fee per gas less than block base fee", BASE_FEE_TOO_LOW),
                         ("insufficient funds", INSUFFICIENT_FUNDS), ("intrinsic gas too low", INTRINSIC_GAS),
                         ("max initcode size exceeded", MAX_INITCODE_SIZE),
                         ("max priority fee per gas higher than max fee per gas", INVALID_PARAMS)):
        if message.startswith(prefix):
            return code
    return INTERNAL_ERROR


class _Simulator:
    """The state and chain of one request (see `simulate`)."""

    def __init__(self, chain: DomainChain, base: BlockHeaderAPI, request: SimulationRequest) -> None:
        self.chain = chain
        self.base = base
        self.request = request
        self.base_vm = chain.vm_at(base)
        self.vm_class = type(self.base_vm)
        self.rules = ex._Rules.of(self.vm_class)
        state_class = _simulation_state_class(ex._call_state_class(self.vm_class.get_state_class(), False),
                                              request.trace_transfers)
        self.state_class = state_class
        self.precompiles = frozenset(state_class.computation_class.get_precompiles())
        self.budget = _GasBudget(ex.RPC_GAS_CAP)
        #: the whole request shares one EVM deadline, as geth's `--rpc.evmtimeout` applies
        self.deadline = ex.call_deadline()
        self.state: StateAPI | None = None
        #: newest first: the hashes BLOCKHASH reads, simulated blocks ahead of the base's
        self.hashes: list[bytes] = [base.hash, *self.base_vm.previous_hashes]
        #: the header class of the base's fork (the `header` field sedes of its block class)
        self.header_class = dict(self.vm_class.get_block_class()._meta.fields)["header"]
        #: logs emitted so far in the current block, reverted ones included (geth's log index)
        self.block_log_count = 0

    # -- one block ---------------------------------------------------------------------------

    def _context(self, o: ex.BlockOverrides, difficulty: int, base_fee: int | None,
                 excess_blob_gas: int | None, coinbase: bytes, gas_limit: int) -> ExecutionContext:
        return ExecutionContext(coinbase=coinbase, timestamp=o.time, block_number=o.number,
                                difficulty=difficulty, mix_hash=o.prev_randao or b"\x00" * 32,
                                gas_limit=gas_limit, prev_hashes=tuple(self.hashes[:256]),
                                chain_id=self.chain.chain_id, base_fee_per_gas=base_fee,
                                excess_blob_gas=excess_blob_gas)

    def block(self, spec: BlockStateCall, parent: BlockHeaderAPI) -> SimulatedBlock:
        """Simulate one block on `parent`: header context, state overrides and precompile
        moves, the system calls, the calls in order, the requests and rewards, then seal it."""
        o = spec.overrides
        coinbase = o.fee_recipient if o.fee_recipient is not None else parent.coinbase
        # carried from the parent before the merge, 0 after it (as geth's makeHeaders)
        difficulty = o.difficulty if o.difficulty is not None else (parent.difficulty if self.base.difficulty else 0)
        gas_limit = o.gas_limit if o.gas_limit is not None else parent.gas_limit
        base_fee = None
        if self.rules.london:
            if o.base_fee is not None:
                base_fee = o.base_fee
            elif self.request.validation:
                from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
                base_fee = calculate_expected_base_fee_per_gas(parent)
            else:
                base_fee = 0
        excess_blob_gas = None
        cancun = hasattr(self.base, "excess_blob_gas")
        if cancun:
            excess_blob_gas = self._excess_blob_gas(parent)
        context = self._context(o, difficulty, base_fee, excess_blob_gas, coinbase, gas_limit)
        if self.state is None:
            self.state = self.state_class(self.base_vm.chaindb.db, context, self.base.state_root)
            self.state.deadline = self.deadline
        else:
            self.state.execution_context = context
        state = self.state
        state.blob_base_fee_override = o.blob_base_fee
        state.computation_class = self._computation_class(spec)
        ex._apply_state_overrides(state, spec.state_overrides)
        beacon_root = (o.beacon_root or b"\x00" * 32) if cancun else None
        self._pre_execution(state, o, parent, beacon_root)

        transactions, senders, receipts, outcomes, deposit_logs = [], [], [], [], []
        self.block_log_count = 0
        gas_used = 0
        for index, request in enumerate(spec.calls):
            tx, sender, receipt, outcome, real_logs = self._call(state, request, gas_limit - gas_used, gas_used,
                                                                 base_fee)
            gas_used = receipt.gas_used
            transactions.append(tx)
            senders.append(sender)
            receipts.append(receipt)
            outcomes.append(outcome)
            if outcome.error is None:
                deposit_logs.extend(real_logs)

        requests_hash = self._post_execution(state, deposit_logs) if self.rules.prague else None
        for withdrawal in o.withdrawals:
            state.delta_balance(withdrawal.address, withdrawal.amount * _GWEI)
        if difficulty:  # a proof-of-work block: the consensus engine pays the block reward
            state.delta_balance(coinbase, self.vm_class.get_block_reward())
        state.lock_changes()
        state.persist()

        fields: dict[str, Any] = dict(
            parent_hash=parent.hash, uncles_hash=EMPTY_UNCLE_HASH, coinbase=coinbase, state_root=state.state_root,
            transaction_root=make_trie_root_and_nodes(transactions)[0],
            receipt_root=make_trie_root_and_nodes(receipts)[0],
            bloom=_bloom(receipts), difficulty=difficulty, block_number=o.number, gas_limit=gas_limit,
            gas_used=gas_used, timestamp=o.time, extra_data=b"", mix_hash=o.prev_randao or b"\x00" * 32,
            nonce=b"\x00" * 8)
        block_fields: dict[str, Any] = {"transactions": transactions, "uncles": []}
        if self.rules.london:
            fields["base_fee_per_gas"] = base_fee
        if self.rules.shanghai:
            from eth.vm.forks.shanghai.withdrawals import Withdrawal as PyEvmWithdrawal
            withdrawals = [PyEvmWithdrawal(w.index, w.validator_index, w.address, w.amount) for w in o.withdrawals]
            fields["withdrawals_root"] = make_trie_root_and_nodes(withdrawals)[0]
            block_fields["withdrawals"] = withdrawals
        if cancun:
            fields["blob_gas_used"] = 0
            fields["excess_blob_gas"] = excess_blob_gas
            fields["parent_beacon_block_root"] = beacon_root
        if requests_hash is not None:
            fields["requests_hash"] = requests_hash
        header = self.header_class(**fields)
        block = self.vm_class.get_block_class()(header=header, **block_fields)
        self.hashes.insert(0, header.hash)
        return SimulatedBlock(block=block, senders=tuple(senders), calls=tuple(outcomes))

    def _computation_class(self, spec: BlockStateCall) -> type:
        """The fork's computation class with this block's precompiles: geth starts from the
        fork's set in every block, moves those `movePrecompileToAddress` moves, and drops every
        precompile whose address is overridden (its code, balance, ... now rule)."""
        base = self.state_class.computation_class
        if not spec.state_overrides and not spec.moves:
            return base
        precompiles = dict(base.get_precompiles())
        moved_to: set[bytes] = set()
        for address in [*spec.state_overrides, *(a for a in spec.moves if a not in spec.state_overrides)]:
            if address in moved_to:
                raise SimulationError(-32000, f"account {to_checksum_address(address)} has already been "
                                              f"overridden by a precompile")
            precompile = precompiles.get(address)
            destination = spec.moves.get(address)
            if destination is not None:
                if precompile is None:
                    raise SimulationError(-32000, f"account {'0x' + address.hex()} is not a precompile")
                if destination in spec.state_overrides or destination in spec.moves:
                    raise SimulationError(-32000, f"account {to_checksum_address(destination)} is already overridden")
                precompiles[destination] = precompile
                moved_to.add(destination)
            if precompile is not None:
                del precompiles[address]
        return type(f"Moved{base.__name__}", (base,), {"_precompiles": precompiles})

    def _excess_blob_gas(self, parent: BlockHeaderAPI) -> int:
        if getattr(parent, "excess_blob_gas", None) is None:
            return 0
        if self.rules.prague:
            from eth.vm.forks.prague.headers import calc_excess_blob_gas_prague
            return calc_excess_blob_gas_prague(parent)
        from eth.vm.forks.cancun.headers import calc_excess_blob_gas
        return calc_excess_blob_gas(parent)

    def _pre_execution(self, state: StateAPI, o: ex.BlockOverrides, parent: BlockHeaderAPI,
                       beacon_root: bytes | None) -> None:
        """The system writes before a block's transactions: EIP-4788 beacon root, EIP-2935
        parent hash."""
        if beacon_root is not None:
            from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS
            if state.get_code(BEACON_ROOTS_ADDRESS):
                self._system_call(state, BEACON_ROOTS_ADDRESS, beacon_root)
        if self.rules.prague:
            from eth.vm.forks.prague.constants import HISTORY_STORAGE_ADDRESS
            if state.get_code(HISTORY_STORAGE_ADDRESS):
                self._system_call(state, HISTORY_STORAGE_ADDRESS, parent.hash)
        state.lock_changes()

    def _system_call(self, state: StateAPI, to: bytes, data: bytes) -> ComputationAPI:
        """A call from the system address, as the EIP-4788/2935/7002/7251 system calls run."""
        message = Message(gas=SYSTEM_MESSAGE_GAS, to=to, sender=SYSTEM_ADDRESS, value=0, data=data,
                          code=state.get_code(to), code_address=to)
        context = state.get_transaction_context_class()(gas_price=0, origin=SYSTEM_ADDRESS)
        return state.computation_class.apply_computation(state, message, context)

    def _post_execution(self, state: StateAPI, logs) -> bytes:
        """EIP-7685 requests (deposits from the block's logs, EIP-7002 withdrawals and EIP-7251
        consolidations from their queues) and their hash."""
        from eth.vm.forks.prague import constants as pc
        deposits = b""
        for address, topics, data in logs:
            if address == pc.DEPOSIT_CONTRACT_ADDRESS and topics and \
                    topics[0] == int.from_bytes(pc.DEPOSIT_EVENT_SIGNATURE_HASH, "big"):
                deposits += data[192:240] + data[288:320] + data[352:360] + data[416:512] + data[544:552]
        requests = [pc.DEPOSIT_REQUEST_TYPE + deposits]
        for kind, address in ((pc.WITHDRAWAL_REQUEST_TYPE, pc.WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS),
                              (pc.CONSOLIDATION_REQUEST_TYPE, pc.CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS)):
            if state.get_code(address):
                computation = self._system_call(state, address, b"")
                requests.append(kind + bytes(computation.output))
        state.lock_changes()
        digest = hashlib.sha256()
        for item in requests:
            if len(item) > 1:
                digest.update(hashlib.sha256(item).digest())
        return digest.digest()

    # -- one call ----------------------------------------------------------------------------

    def _call(self, state: StateAPI, request: ex.CallRequest, remaining: int, cumulative: int,
              base_fee: int | None):
        sender = request.sender or ZERO_ADDRESS
        nonce = request.nonce if request.nonce is not None else state.get_nonce(sender)
        gas = request.gas if request.gas is not None else remaining
        if remaining < gas:
            raise SimulationError(BLOCK_GAS_LIMIT_REACHED,
                                  f"block gas limit reached: remaining: {remaining}, required: {gas}")
        gas = self.budget.cap(gas)
        if request.chain_id is not None and request.chain_id != self.chain.chain_id:
            raise SimulationError(INTERNAL_ERROR, f"chainId does not match node's (have={request.chain_id}, "
                                                  f"want={self.chain.chain_id})")
        # prices, as geth's CallDefaults + ToMessage derive them
        gas_price, fee_cap, tip_cap = ex.call_prices(request, base_fee)
        session = ex._Session(request=request, vm_class=self.vm_class, state=state, rules=self.rules,
                              sender=sender, gas_price=gas_price, fee_cap=fee_cap, tip_cap=tip_cap,
                              base_fee=base_fee, precompiles=self.precompiles)
        tx = session.transaction(gas)
        try:
            if self.request.validation:
                self._validate(state, session, nonce, gas)
            floor = session.precheck(tx)
        except ex._Rejected as exc:
            raise SimulationError(_rejection_code(exc.message), f"err: {exc.message} (supplied gas {gas})") from None
        # geth's uint64 nonce wraps to 0 past its maximum (without validation); py-evm refuses
        wraps = request.to is not None and state.get_nonce(sender) == _UINT64 - 1
        if wraps:
            state.set_nonce(sender, _UINT64 - 2)
        try:
            computation = state.apply_transaction(tx)
        except ValidationError as exc:
            raise SimulationError(INTERNAL_ERROR, f"err: {exc} (supplied gas {gas})") from None
        except ex.CallTimeout:
            raise SimulationError(SERVER_ERROR, ex.timeout_message()) from None
        if wraps:
            state.set_nonce(sender, 0)
        state.lock_changes()
        gas_used = self.vm_class.finalize_gas_used(tx, computation)
        max_used = max(gas - computation.get_gas_remaining(), floor)
        self.budget.consume(gas_used)

        signed = self._transaction(request, nonce, gas, fee_cap, tip_cap)
        status = (EIP658_TRANSACTION_STATUS_CODE_SUCCESS if computation.is_success
                  else EIP658_TRANSACTION_STATUS_CODE_FAILURE)
        raw = computation.get_raw_log_entries()
        logs = tuple((bytes(a), tuple(t), bytes(d)) for _, a, t, d in raw)
        log_indexes = tuple(self.block_log_count + counter for counter, *_ in raw)
        self.block_log_count += computation.transaction_context.get_next_log_counter()
        # transfer logs are the tracer's (geth keeps them out of receipts, blooms and requests)
        real_logs = [log for log in logs if not (self.request.trace_transfers and log[0] == TRANSFER_LOG_ADDRESS)]
        receipt = signed.make_receipt(status, cumulative + gas_used, real_logs)
        error = None
        output = bytes(computation.output)
        if not computation.is_success:  # geth returns no data for a failed call, only the error
            if isinstance(computation.error, Revert):
                reason = decode_revert_reason(output)
                message = "execution reverted" if reason is None else f"execution reverted: {reason}"
                error = (REVERTED, message, output)
            else:
                error = (VM_ERROR, vm_error_text(computation.error), None)
            output = b""
        return signed, sender, receipt, CallOutcome(output=output, logs=logs, gas_used=gas_used,
                                                    max_used_gas=max_used, error=error,
                                                    log_indexes=log_indexes), real_logs

    def _validate(self, state: StateAPI, session: ex._Session, nonce: int, gas: int) -> None:
        """geth's checks that `validation` adds to a call's: nonce and base fee."""
        sender = to_checksum_address(session.sender)
        have = state.get_nonce(session.sender)
        if nonce < have:
            raise ex._Rejected(f"nonce too low: address {sender}, tx: {nonce} state: {have}")
        if nonce > have:
            raise ex._Rejected(f"nonce too high: address {sender}, tx: {nonce} state: {have}")
        if have + 1 >= _UINT64:
            raise ex._Rejected(f"nonce has max value: address {sender}, nonce: {have}")
        if self.rules.london and session.free and session.base_fee:
            raise ex._Rejected(f"max fee per gas less than block base fee: address {sender}, "
                               f"maxFeePerGas: 0, baseFee: {session.base_fee}")

    def _transaction(self, request: ex.CallRequest, nonce: int, gas: int, fee_cap: int, tip_cap: int):
        """The unsigned transaction geth's `ToTransaction` makes of a call (zero signature)."""
        builder = self.vm_class.get_transaction_builder()
        to = request.to if request.to is not None else CREATE_CONTRACT_ADDRESS
        value = request.value or 0
        access_list = tuple((a, tuple(s)) for a, s in (request.access_list or ()))
        if request.gas_price is not None:
            return builder.legacy_signed(nonce, request.gas_price, gas, to, value, request.data, 0, 0, 0)
        if request.authorization_list is not None and self.rules.prague:
            return builder.new_set_code_transaction(
                self.chain.chain_id, nonce, tip_cap, fee_cap, gas, to, value, request.data, access_list,
                [a.to_pyevm() for a in request.authorization_list], 0, 0, 0)
        london = builder.new_dynamic_fee_transaction(self.chain.chain_id, nonce, tip_cap, fee_cap, gas, to, value,
                                                     request.data, access_list, 0, 0, 0)
        # rewrapped as the fork's typed transaction, so the fork's block class encodes it
        return builder.typed_transaction(london.type_id, london._inner)


def _bloom(receipts) -> int:
    value = 0
    for receipt in receipts:
        value |= receipt.bloom
    return value


def simulate(chain: DomainChain, base: BlockHeaderAPI, request: SimulationRequest) -> list[SimulatedBlock]:
    """Simulate `request`'s blocks on top of stored block `base` (see the module docstring).

    Raises `SimulationError` (with geth's code) when the request cannot be simulated, and
    `InvalidCallRequest` for malformed overrides."""
    if not request.blocks:
        raise SimulationError(INVALID_PARAMS, "empty input")
    if len(request.blocks) > MAX_BLOCKS:
        raise SimulationError(CLIENT_LIMIT_EXCEEDED, "too many blocks")
    blocks = _sanitize_chain(base, request.blocks)
    simulator = _Simulator(chain, base, request)
    results: list[SimulatedBlock] = []
    parent = base
    for spec in blocks:
        result = simulator.block(spec, parent)
        results.append(result)
        parent = result.block.header
    return results
