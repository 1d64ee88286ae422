"""Transaction tracing on py-evm: the back end of `debug_traceTransaction` and `debug_traceCall`.

Two tracers, with geth's names, options and output formats:

- the default *struct logger* (``tracer`` absent or ``None``): one entry per executed opcode,
  ``{"gas", "failed", "returnValue", "structLogs": [{"pc", "op", "gas", "gasCost", "depth",
  "error"?, "stack"?, "returnData"?, "memory"?, "storage"?, "refund"?}]}``. Options, read from
  the top level of the TraceConfig: ``disableStack``, ``disableStorage``, ``enableMemory``,
  ``enableReturnData``, ``limit`` (the number of steps recorded; 0 = all).
- ``"callTracer"``: the tree of call frames, ``{"type", "from", "to"?, "value"?, "gas",
  "gasUsed", "input", "output"?, "error"?, "revertReason"?, "calls"?, "logs"?}``. Options, read
  from ``TraceConfig.tracerConfig``: ``onlyTopCall``, ``withLog``.

Formats follow go-ethereum as of 2026 and the execution-apis schemas (`opcode-tracer.yaml`,
`call-tracer.yaml`): every byte string is 0x-prefixed hex (``returnValue`` since geth 1.15.6,
memory words and storage keys/values since geth PR #34093), stack items and call-frame numbers
are minimal 0x quantities, struct-log numbers are JSON integers, ``refund`` is omitted when zero,
a DELEGATECALL frame carries its parent's value (as geth reports it). ``limit`` counts steps, as
the execution-apis schema says (current geth counts bytes of output instead).

Public API
----------
``trace_transaction(vm, header, tx, tracer=None, config=None, *, first_log_index=0) -> dict``
    Apply the signed transaction ``tx`` exactly as ``vm.apply_transaction(header, tx)`` does
    (same validation, same state changes, same receipt), tracing it. ``vm`` is positioned on
    the state right before the transaction: ``chain.get_vm(block_header)`` with the block's
    pre-processing and earlier transactions already applied with ``vm.apply_transaction``;
    ``header`` is the running header those calls returned (its ``gas_used`` is the gas of the
    transactions before this one). ``first_log_index`` is the number of logs those earlier
    transactions emitted (geth's callTracer reports each log's index in the block). The state
    changes stay in ``vm.state``, so a whole block can be traced by calling this in a loop.
``trace_call(vm, tx, tracer=None, config=None) -> dict``
    Run ``tx`` (a signed transaction, or an unsigned one with a sender, e.g. py-evm's
    ``SpoofTransaction(unsigned_tx, from_=address)``) on ``vm.state`` in the block context of
    ``vm.get_header()``, as a free call: no fee is charged (the effective gas price is 0;
    GASPRICE still reports the transaction's own), the sender's nonce is not checked (its
    balance only has to cover the value sent), and every state change is discarded afterwards.
    The gas reported is what a receipt would count. (The gateway's ``debug_traceCall`` does not
    come here: it runs `domains.evm.execution.trace_call`, eth_call's own defaults and checks,
    through ``tracing_view``.)
``make_tracer(tracer, config)``, ``apply_traced_transaction(vm, header, tx, tracer)``,
``execute_traced_call(vm, tx, tracer)``, ``tracing_view(state, tracer)``
    The same pieces unbundled, for callers that need the receipt or computation as well, or
    run the transaction themselves on a tracing view of their state.

``tracer`` names a tracer; when it is ``None`` the ``tracer`` member of ``config`` (the request's
TraceConfig object) is used, and when that is absent too, the struct logger. An unknown name
raises ``UnsupportedTracer`` (a ``ValueError``: "unsupported tracer: X"), malformed options raise
``TraceConfigError`` (also a ``ValueError``). A transaction the VM rejects raises py-evm's
``ValidationError`` (``eth_utils.ValidationError``), as ``vm.apply_transaction`` would; nothing
of it is traced. The ``timeout`` option is not implemented (tracing runs to the end).

How py-evm is hooked
--------------------
Nothing global changes. For one traced execution this module makes a *view* of the VM's state:
a shallow copy sharing its account database (so every change lands in the VM's state), whose
class is a subclass of the state's own class with ``computation_class`` replaced by a tracing
subclass of the fork's computation class (both made once per class and cached). The tracing
computation reports to the tracer held by that view: call frames from ``apply_message`` /
``apply_create_message``, opcodes through a wrapper around each entry of the fork's opcode table
(py-evm's own interpreter loop runs unchanged), gas through a gas meter that also remembers the
lowest gas an opcode reached, and logs from ``add_log_entry``. Untraced executions never see any
of these classes, and concurrent traces share nothing mutable.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from eth.abc import (
    BlockHeaderAPI,
    ComputationAPI,
    MessageAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
    TransactionContextAPI,
    VirtualMachineAPI,
)
from eth.constants import STACK_DEPTH_LIMIT, UINT_64_MAX
from eth.exceptions import (
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    OutOfGas,
    ReservedBytesInCode,
    VMError,
    WriteProtection,
)
from eth.vm.computation import BaseComputation
from eth.vm.forks.spurious_dragon.constants import EIP170_CODE_SIZE_LIMIT
from eth.vm.gas_meter import GasMeter
from eth.vm.logic.invalid import InvalidOpcode
from eth_utils import ValidationError, to_checksum_address

from domains.evm.revert import decode_revert_reason, vm_error_text

__all__ = [
    "CallTracer",
    "StructLogger",
    "TraceConfigError",
    "Tracer",
    "UnsupportedTracer",
    "apply_traced_transaction",
    "decode_revert_reason",
    "execute_traced_call",
    "make_tracer",
    "MAX_STRUCT_LOGS",
    "TraceTooLarge",
    "trace_call",
    "trace_transaction",
    "tracing_view",
]


class UnsupportedTracer(ValueError):
    """The requested tracer is not one this node implements."""

    def __init__(self, name: object) -> None:
        super().__init__(f"unsupported tracer: {name}")
        self.name = name


#: The most struct-log entries a trace without a `limit` may hold. Each costs a few hundred
#: bytes while the trace is built: a 30M-gas loop (~7 million steps) would take gigabytes of
#: memory and minutes; a real transaction rarely takes more than some tens of thousands.
MAX_STRUCT_LOGS = 250_000


class TraceTooLarge(Exception):
    """A trace outgrew `MAX_STRUCT_LOGS`; execution stopped there and nothing was kept."""


class TraceConfigError(ValueError):
    """A TraceConfig option has the wrong type or value; the message names the option."""


# ------------------------------------------------------------------------------------------
# Public entry points
# ------------------------------------------------------------------------------------------

def trace_transaction(vm: VirtualMachineAPI, header: BlockHeaderAPI, tx: SignedTransactionAPI,
                      tracer: str | None = None, config: Mapping[str, Any] | None = None, *,
                      first_log_index: int = 0) -> dict:
    """Apply `tx` to `vm` as `vm.apply_transaction(header, tx)` would, and return its trace."""
    tracer_obj = make_tracer(tracer, config, first_log_index=first_log_index)
    apply_traced_transaction(vm, header, tx, tracer_obj)
    return tracer_obj.result()


def trace_call(vm: VirtualMachineAPI, tx: SignedTransactionAPI, tracer: str | None = None,
               config: Mapping[str, Any] | None = None) -> dict:
    """Run `tx` as a free call on `vm.state`, discard its changes, and return its trace."""
    tracer_obj = make_tracer(tracer, config)
    execute_traced_call(vm, tx, tracer_obj)
    return tracer_obj.result()


def make_tracer(tracer: str | None, config: Mapping[str, Any] | None = None, *,
                first_log_index: int = 0) -> "Tracer":
    """The tracer named `tracer` (or by `config["tracer"]`), configured from the TraceConfig."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise TraceConfigError(f"trace config must be an object, got {type(config).__name__}")
    name = tracer if tracer is not None else config.get("tracer")
    if name is None or name == "":
        return StructLogger(
            disable_stack=_bool_option(config, "disableStack"),
            disable_storage=_bool_option(config, "disableStorage"),
            enable_memory=_bool_option(config, "enableMemory"),
            enable_return_data=_bool_option(config, "enableReturnData"),
            limit=_limit_option(config),
        )
    if name == "callTracer":
        options = config.get("tracerConfig")
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise TraceConfigError("tracerConfig must be an object")
        return CallTracer(only_top_call=_bool_option(options, "onlyTopCall"),
                          with_log=_bool_option(options, "withLog"),
                          first_log_index=first_log_index)
    raise UnsupportedTracer(name)


def apply_traced_transaction(vm: VirtualMachineAPI, header: BlockHeaderAPI,
                             tx: SignedTransactionAPI,
                             tracer: "Tracer") -> tuple[ReceiptAPI, ComputationAPI]:
    """`vm.apply_transaction(header, tx)` with `tracer` watching; returns the receipt and
    the computation.

    The VM's own `apply_transaction` runs (so any VM subclass behaves as it does untraced)
    while its state is, for the duration of the call, a tracing view over the same account
    database; the original state object is put back afterwards and holds every change."""
    state = vm.state
    view = _state_view(state, _traced_state_class(type(state)), tracer)
    vm._state = view  # the VM caches its state here; only this VM instance sees the view
    try:
        receipt, computation = vm.apply_transaction(header, tx)
    finally:
        vm._state = state
    tracer.finish(tx, computation, receipt.gas_used - header.gas_used)
    return receipt, computation


def execute_traced_call(vm: VirtualMachineAPI, tx: SignedTransactionAPI,
                        tracer: "Tracer") -> tuple[ComputationAPI, int]:
    """Run `tx` as a free call on `vm.state` with `tracer` watching, then revert the state.

    Returns the computation and the gas the call used (after refunds, as a receipt counts it)."""
    state = vm.state
    view = _state_view(state, _free_call_state_class(type(state)), tracer)
    snapshot = state.snapshot()
    try:
        computation = view.apply_transaction(tx)
        gas_used = vm.finalize_gas_used(tx, computation)
    finally:
        state.revert(snapshot)
    tracer.finish(tx, computation, gas_used)
    return computation, gas_used


def _bool_option(options: Mapping[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise TraceConfigError(f"trace option {name} must be a boolean, got {value!r}")
    return value


def _limit_option(options: Mapping[str, Any]) -> int:
    value = options.get("limit", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT_64_MAX:
        raise TraceConfigError(f"trace option limit must be a 64-bit unsigned integer, got {str(value)[:40]}")
    return value


# ------------------------------------------------------------------------------------------
# The execution observer: call frames, opcodes, logs
# ------------------------------------------------------------------------------------------

# Opcode values this module needs to recognise.
_JUMP, _JUMPI, _SLOAD, _SSTORE = 0x56, 0x57, 0x54, 0x55
_CREATE, _CALL, _CALLCODE, _DELEGATECALL, _CREATE2, _STATICCALL, _SELFDESTRUCT = (
    0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA, 0xFF)
_CALL_KINDS = {_CALL: "CALL", _CALLCODE: "CALLCODE", _DELEGATECALL: "DELEGATECALL",
               _STATICCALL: "STATICCALL"}
_CREATE_KINDS = {_CREATE: "CREATE", _CREATE2: "CREATE2"}
_FRAME_KINDS = {**_CALL_KINDS, **_CREATE_KINDS}
# Opcodes whose stack arguments the observer keeps: they open frames (or SELFDESTRUCT's).
_ARGUMENT_OPCODES = frozenset((*_FRAME_KINDS, _SELFDESTRUCT))


@dataclass(slots=True, eq=False)
class _Log:
    address: bytes
    topics: tuple[int, ...]
    data: bytes
    index: int      # among all logs of the block that are not reverted, as geth counts them
    position: int   # how many subcalls of its frame came before it


@dataclass(slots=True, eq=False)
class _Frame:
    """One call frame as geth's callTracer sees it, plus the state of the opcode it runs."""

    kind: str                 # CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE(2), SELFDESTRUCT
    sender: bytes
    to: Optional[bytes]
    value: Optional[int]      # None for STATICCALL
    gas: int
    input: bytes
    depth: int                # 0 for the transaction's own frame
    computation: Any = None   # bound at its first opcode (precompiles: at exit)
    gas_used: int = 0
    output: bytes = b""
    error: Optional[str] = None
    calls: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    live_logs: int = 0        # logs of this frame and its successful subcalls
    child_refund: int = 0     # refunds of finished successful subcalls
    body_ok: Optional[bool] = None      # creations: did the init code succeed?
    body_output: bytes = b""            # creations: what the init code returned
    # the opcode this frame is running (or ran last)
    pc: int = 0               # program counter of the next opcode
    op: int = -1
    op_pc: int = 0
    op_gas: int = 0           # gas before the opcode
    op_stack_len: int = 0
    op_args: tuple = ()       # top of the stack, topmost first, for _ARGUMENT_OPCODES
    op_balance: int = 0       # SELFDESTRUCT: the balance it sends
    op_child_gas: int = 0     # CREATE/CREATE2: gas handed to the new frame (not part of its cost)
    op_opened_frame: bool = False
    op_log: Optional[dict] = None  # the struct logger's entry for the opcode


class Tracer:
    """Observes one traced execution and builds its tree of call frames.

    The tracing computation calls `enter`/`exit` around every message, `before_opcode`/
    `after_opcode` around every opcode, and `log` for every log entry; the executing code calls
    `finish` once. Subclasses turn what was observed into an output with `result`, and may
    override `on_opcode_start` / `on_opcode_end`."""

    def __init__(self, first_log_index: int = 0) -> None:
        self._frames: list[_Frame] = []
        self._top: Optional[_Frame] = None
        self._log_count = first_log_index
        self.gas_used = 0
        self.computation: Optional[ComputationAPI] = None

    # -- frames ----------------------------------------------------------------------------

    def enter(self, message: MessageAPI) -> None:
        """A message starts executing (for a creation: before its nonce and address checks)."""
        parent = self._frames[-1] if self._frames else None
        if parent is None:
            kind = "CREATE" if message.is_create else "CALL"
            sender = message.sender
            to = message.storage_address
            value: Optional[int] = message.value
        else:
            parent.op_opened_frame = True
            kind = _FRAME_KINDS[parent.op]
            sender = parent.computation.msg.storage_address
            if message.is_create:
                to = message.storage_address
                parent.op_child_gas = message.gas
            else:
                # The address the opcode named (for DELEGATECALL/CALLCODE the code address,
                # for an EIP-7702 delegated account the account, not its delegate).
                to = _stack_address(parent.op_args[1])
            value = None if kind == "STATICCALL" else message.value
        data = message.code if message.is_create else bytes(message.data)
        self._frames.append(_Frame(kind, sender, to, value, message.gas, data, message.depth))

    def creation_body_done(self, computation: ComputationAPI) -> None:
        """The init code of the creation on top of the stack finished (before the code deposit)."""
        frame = self._frames[-1]
        frame.body_ok = computation.is_success
        frame.body_output = computation.output

    def exit(self, computation: ComputationAPI) -> None:
        """The message on top of the stack finished with `computation`."""
        frame = self._frames.pop()
        frame.computation = computation
        frame.gas_used = computation.get_gas_used()
        frame.output = computation.output
        if frame.body_ok is not None and computation.is_success:
            # A creation reports the code its init code returned (py-evm's Frontier drops it
            # when the code deposit runs out of gas; geth keeps it).
            frame.output = frame.body_output
        if computation.is_error:
            frame.error = _frame_error(frame, computation.error)
            self._log_count -= frame.live_logs  # its logs are reverted
        if not self._frames:
            self._top = frame
            return
        parent = self._frames[-1]
        parent.calls.append(frame)
        if computation.is_success:
            parent.live_logs += frame.live_logs
            parent.child_refund += computation.get_gas_refund()

    def discard(self) -> None:
        """The message on top of the stack was rejected before it ran (the error surfaces in
        the opcode that sent it, as geth reports it)."""
        self._frames.pop()
        if self._frames:
            parent = self._frames[-1]
            parent.op_opened_frame = False
            parent.op_child_gas = 0

    def log(self, address: bytes, topics: tuple[int, ...], data: bytes) -> None:
        frame = self._frames[-1]
        frame.logs.append(_Log(address, tuple(topics), bytes(data), self._log_count,
                               len(frame.calls)))
        frame.live_logs += 1
        self._log_count += 1

    # -- opcodes ---------------------------------------------------------------------------

    def before_opcode(self, computation: "_TracingComputation", opcode: int) -> None:
        frame = self._frames[-1]
        if frame.computation is None:
            frame.computation = computation
        meter = computation.gas_meter
        meter.begin_opcode()
        stack = computation.stack_items
        frame.op = opcode
        frame.op_pc = frame.pc
        frame.op_gas = meter.gas_remaining
        frame.op_stack_len = len(stack)
        frame.op_child_gas = 0
        frame.op_opened_frame = False
        if opcode in _ARGUMENT_OPCODES:
            frame.op_args = tuple(_stack_int(v) for v in reversed(stack[-7:]))
            if opcode == _SELFDESTRUCT:
                frame.op_balance = computation.state.get_balance(computation.msg.storage_address)
        self.on_opcode_start(frame, computation)

    def after_opcode(self, computation: "_TracingComputation", error: Optional[VMError]) -> None:
        frame = self._frames[-1]
        frame.pc = computation.code.program_counter
        if error is None:
            if frame.op in _FRAME_KINDS and not frame.op_opened_frame:
                self._add_refused_frame(frame, computation)
            elif frame.op == _SELFDESTRUCT:
                self._add_selfdestruct_frame(frame, computation)
        self.on_opcode_end(frame, computation, error)

    def on_opcode_start(self, frame: _Frame, computation: "_TracingComputation") -> None:
        """Hook: `frame` is about to run opcode `frame.op`."""

    def on_opcode_end(self, frame: _Frame, computation: "_TracingComputation",
                      error: Optional[VMError]) -> None:
        """Hook: opcode `frame.op` finished, with `error` if it failed."""

    def _add_refused_frame(self, frame: _Frame, computation: "_TracingComputation") -> None:
        """A CALL-family or CREATE opcode that py-evm refused before opening a frame (call depth,
        balance, nonce, address collision): geth opens and fails the frame, so record it."""
        args = frame.op_args
        msg = computation.msg
        state = computation.state
        depth_exceeded = msg.depth + 1 > STACK_DEPTH_LIMIT
        meter = computation.gas_meter
        if frame.op in _CREATE_KINDS:
            value, offset, size = args[0], args[1], args[2]
            if depth_exceeded:
                error = "max call depth exceeded"
            elif state.get_balance(msg.storage_address) < value:
                error = "insufficient balance for transfer"
            elif state.get_nonce(msg.storage_address) + 1 > UINT_64_MAX:
                error = "nonce uint64 overflow"
            else:
                error = "contract address collision"
            if error == "contract address collision":
                gas = gas_used = meter.last_consumed  # handed over and burned
                frame.op_child_gas = gas
            else:
                remaining = meter.gas_remaining
                gas, gas_used = remaining - remaining // 64, 0
            to = None
        else:
            if frame.op in (_CALL, _CALLCODE):
                value, offset, size = args[2], args[3], args[4]
            else:
                value, offset, size = msg.value, args[2], args[3]
            error = ("max call depth exceeded" if depth_exceeded
                     else "insufficient balance for transfer")
            gas, gas_used = meter.last_returned, 0  # the child's gas (and stipend), returned
            to = _stack_address(args[1])
        refused = _Frame(_FRAME_KINDS[frame.op], msg.storage_address, to,
                         None if frame.op == _STATICCALL else value, gas,
                         computation.memory_read_bytes(offset, size) if size else b"",
                         msg.depth + 1, gas_used=gas_used, error=error)
        frame.calls.append(refused)

    def _add_selfdestruct_frame(self, frame: _Frame, computation: "_TracingComputation") -> None:
        """geth reports a successful SELFDESTRUCT as a frame sending the balance."""
        msg = computation.msg
        frame.calls.append(_Frame("SELFDESTRUCT", msg.storage_address,
                                  _stack_address(frame.op_args[0]), frame.op_balance, 0, b"",
                                  msg.depth + 1))

    def refund_counter(self) -> int:
        """The transaction's refund counter now: what geth's `StateDB.GetRefund()` returns."""
        total = 0
        for frame in self._frames:
            computation = frame.computation
            if computation is not None:
                total += computation.msg.refund + computation.gas_meter.gas_refunded
            total += frame.child_refund
        return total

    # -- the end ---------------------------------------------------------------------------

    def finish(self, tx: SignedTransactionAPI, computation: ComputationAPI, gas_used: int) -> None:
        """The transaction finished with `computation`, using `gas_used` (as its receipt says)."""
        self.computation = computation
        self.gas_used = gas_used
        top = self._top
        if top is None:
            # The transaction's creation collided with an existing account: py-evm fails it
            # without running a message, geth fails the frame it opened for it.
            top = _Frame("CREATE", tx.sender, None, tx.value, tx.gas, bytes(tx.data), 0)
            top.error = _frame_error(top, computation.error) if computation.is_error else None
            self._top = top
        top.gas = tx.gas  # geth reports the gas limit on the transaction's frame
        top.gas_used = gas_used

    def result(self) -> dict:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------
# Struct logger
# ------------------------------------------------------------------------------------------

class StructLogger(Tracer):
    """geth's default tracer: one log entry per executed opcode."""

    def __init__(self, *, disable_stack: bool = False, disable_storage: bool = False,
                 enable_memory: bool = False, enable_return_data: bool = False,
                 limit: int = 0) -> None:
        super().__init__()
        self.disable_stack = disable_stack
        self.disable_storage = disable_storage
        self.enable_memory = enable_memory
        self.enable_return_data = enable_return_data
        self.limit = limit
        self.logs: list[dict] = []
        self._storage: dict[bytes, dict[int, int]] = {}

    def on_opcode_start(self, frame: _Frame, computation: "_TracingComputation") -> None:
        frame.op_log = None
        if self.limit and len(self.logs) >= self.limit:
            return
        if not self.limit and len(self.logs) >= MAX_STRUCT_LOGS:
            raise TraceTooLarge(f"the struct log exceeds {MAX_STRUCT_LOGS:,} steps (the node's cap when the "
                                f"trace config sets no limit): set \"limit\" for the first steps, or use the "
                                f"callTracer")
        if len(computation.code) == 0:
            return  # geth does not run (or log) the implicit STOP of an account without code
        step: dict[str, Any] = {"pc": frame.op_pc, "op": _OPCODE_NAMES[frame.op],
                                "gas": frame.op_gas, "gasCost": 0, "depth": frame.depth + 1}
        stack = computation.stack_items
        if not self.disable_stack:
            step["stack"] = [hex(_stack_int(v)) for v in stack]
        if self.enable_return_data and computation.return_data:
            step["returnData"] = "0x" + bytes(computation.return_data).hex()
        if self.enable_memory:
            size = computation.memory_size
            if size:
                memory = computation.memory_read_bytes(0, size)
                step["memory"] = ["0x" + memory[i:i + 32].hex() for i in range(0, size, 32)]
        if not self.disable_storage and frame.op in (_SLOAD, _SSTORE):
            self._record_storage(step, frame, computation, stack)
        refund = self.refund_counter()
        if refund:
            step["refund"] = refund
        self.logs.append(step)
        frame.op_log = step

    def _record_storage(self, step: dict, frame: _Frame, computation: "_TracingComputation",
                        stack: list) -> None:
        """geth's storage snapshot: every slot of this contract read or written so far, with
        the value read (SLOAD) or being written (SSTORE)."""
        address = computation.msg.storage_address
        slots = self._storage.setdefault(address, {})
        if frame.op == _SLOAD and len(stack) >= 1:
            slot = _stack_int(stack[-1])
            slots[slot] = computation.state.get_storage(address, slot)
        elif frame.op == _SSTORE and len(stack) >= 2:
            slots[_stack_int(stack[-1])] = _stack_int(stack[-2])
        else:
            return
        step["storage"] = {_word(k): _word(v) for k, v in slots.items()}

    def on_opcode_end(self, frame: _Frame, computation: "_TracingComputation",
                      error: Optional[VMError]) -> None:
        step = frame.op_log
        if step is None:
            return
        meter = computation.gas_meter
        step["gasCost"] = frame.op_gas - meter.lowest + meter.refused - frame.op_child_gas
        if error is not None and isinstance(error, _ERRORS_BEFORE_EXECUTION):
            # geth checks stack, gas and static-context rules before it logs the opcode, and
            # logs it with that error; failures while executing only end the frame.
            step["error"] = _vm_error_message(error, frame)

    def result(self) -> dict:
        computation = self.computation
        return {
            "gas": self.gas_used,
            "failed": computation.is_error,
            "returnValue": "0x" + computation.output.hex(),
            "structLogs": self.logs,
        }


# ------------------------------------------------------------------------------------------
# callTracer
# ------------------------------------------------------------------------------------------

class CallTracer(Tracer):
    """geth's `callTracer`: the nested call frames of the transaction."""

    def __init__(self, *, only_top_call: bool = False, with_log: bool = False,
                 first_log_index: int = 0) -> None:
        super().__init__(first_log_index)
        self.only_top_call = only_top_call
        self.with_log = with_log

    def result(self) -> dict:
        return self._format(self._top, parent_failed=False)

    def _format(self, frame: _Frame, parent_failed: bool) -> dict:
        out: dict[str, Any] = {"type": frame.kind, "from": _hex(frame.sender),
                               "gas": hex(frame.gas), "gasUsed": hex(frame.gas_used)}
        failed = frame.error is not None
        if frame.to is not None and not (failed and frame.kind in ("CREATE", "CREATE2")):
            out["to"] = _hex(frame.to)
        out["input"] = _hex(frame.input)
        if frame.error is None:
            if frame.output:
                out["output"] = _hex(frame.output)
        else:
            out["error"] = frame.error
            if frame.error == _REVERTED and frame.output:
                out["output"] = _hex(frame.output)
                reason = decode_revert_reason(frame.output)
                if reason is not None:
                    out["revertReason"] = reason
        if frame.calls and not self.only_top_call:
            out["calls"] = [self._format(child, parent_failed or failed) for child in frame.calls]
        if self.with_log and frame.logs and not (parent_failed or failed):
            out["logs"] = [{
                "address": _hex(log.address),
                "topics": [_word(topic) for topic in log.topics],
                "data": _hex(log.data),
                "index": hex(log.index),
                # with onlyTopCall geth never records subcalls, so every position is 0
                "position": hex(0 if self.only_top_call else log.position),
            } for log in frame.logs]
        if frame.value is not None:
            out["value"] = hex(frame.value)
        return out


# ------------------------------------------------------------------------------------------
# Errors, in geth's words
# ------------------------------------------------------------------------------------------

_REVERTED = "execution reverted"
# Errors geth detects before it logs an opcode (so its struct log carries them).
_ERRORS_BEFORE_EXECUTION = (OutOfGas, InsufficientStack, FullStack, WriteProtection)


def _frame_error(frame: _Frame, error: VMError) -> str:
    """The error geth reports for a frame that ended with `error`."""
    if frame.kind in ("CREATE", "CREATE2") and frame.body_ok:
        # The init code succeeded; depositing the code it returned failed.
        if isinstance(error, ReservedBytesInCode):
            return "invalid code: must not begin with 0xef"
        if len(frame.body_output) > EIP170_CODE_SIZE_LIMIT:
            return "max code size exceeded"
        return "contract creation code storage out of gas"
    return _vm_error_message(error, frame)


def _vm_error_message(error: VMError, frame: _Frame) -> str:
    """geth's message for the py-evm error `error` raised by opcode `frame.op`: the stack and
    opcode errors name the opcode's stack use, which only the tracer sees; the rest are the
    shared texts of `vm_error_text`."""
    if isinstance(error, InsufficientStack):
        pops, _ = _stack_io(frame.op)
        return f"stack underflow ({frame.op_stack_len} <=> {pops})"
    if isinstance(error, FullStack):
        pops, pushes = _stack_io(frame.op)
        return f"stack limit reached {frame.op_stack_len} ({_STACK_LIMIT + pops - pushes})"
    if isinstance(error, InvalidInstruction):
        if frame.op in (_JUMP, _JUMPI):  # py-evm: a jump landing on a non-JUMPDEST
            return "invalid jump destination"
        return f"invalid opcode: {_OPCODE_NAMES[frame.op]}"
    return vm_error_text(error)


_STACK_LIMIT = 1024

# How many items each opcode takes from and puts on the stack (py-evm mnemonics), to word stack
# errors as geth does. DUPn, SWAPn, PUSHn and LOGn follow from their number.
_STACK_IO_GROUPS = {
    (0, 0): "STOP JUMPDEST",
    (0, 1): "ADDRESS ORIGIN CALLER CALLVALUE CALLDATASIZE CODESIZE GASPRICE RETURNDATASIZE "
            "COINBASE TIMESTAMP NUMBER PREVRANDAO DIFFICULTY GASLIMIT CHAINID SELFBALANCE "
            "BASEFEE BLOBBASEFEE PC MSIZE GAS PUSH0",
    (1, 0): "POP JUMP SELFDESTRUCT",
    (1, 1): "ISZERO NOT BALANCE CALLDATALOAD EXTCODESIZE EXTCODEHASH BLOCKHASH BLOBHASH MLOAD "
            "SLOAD TLOAD",
    (2, 0): "MSTORE MSTORE8 SSTORE JUMPI TSTORE RETURN REVERT",
    (2, 1): "ADD MUL SUB DIV SDIV MOD SMOD EXP SIGNEXTEND LT GT SLT SGT EQ AND OR XOR BYTE SHL "
            "SHR SAR SHA3",
    (3, 0): "CALLDATACOPY CODECOPY RETURNDATACOPY MCOPY",
    (3, 1): "ADDMOD MULMOD CREATE",
    (4, 0): "EXTCODECOPY",
    (4, 1): "CREATE2",
    (6, 1): "DELEGATECALL STATICCALL",
    (7, 1): "CALL CALLCODE",
}
_STACK_IO_BY_MNEMONIC = {name: io for io, names in _STACK_IO_GROUPS.items()
                         for name in names.split()}


def _stack_io(opcode: int) -> tuple[int, int]:
    if 0x60 <= opcode <= 0x7F:          # PUSH1..PUSH32
        return 0, 1
    if 0x80 <= opcode <= 0x8F:          # DUP1..DUP16
        n = opcode - 0x7F
        return n, n + 1
    if 0x90 <= opcode <= 0x9F:          # SWAP1..SWAP16
        n = opcode - 0x8F
        return n + 1, n + 1
    if 0xA0 <= opcode <= 0xA4:          # LOG0..LOG4
        return opcode - 0xA0 + 2, 0
    return _STACK_IO_BY_MNEMONIC.get(_PYEVM_MNEMONICS.get(opcode, ""), (0, 0))


# ------------------------------------------------------------------------------------------
# Opcode names, in geth's spelling
# ------------------------------------------------------------------------------------------

def _pyevm_mnemonics() -> dict[int, str]:
    from eth.vm import mnemonics, opcode_values

    return {getattr(opcode_values, name): getattr(mnemonics, name)
            for name in dir(opcode_values) if name.isupper()
            and isinstance(getattr(opcode_values, name), int) and hasattr(mnemonics, name)}


_PYEVM_MNEMONICS = _pyevm_mnemonics()
# Where geth's name differs from py-evm's.
_GETH_RENAMES = {"SHA3": "KECCAK256", "PREVRANDAO": "DIFFICULTY"}
# geth names these bytes whatever the fork (EIP-7939, EOF, slot number); py-evm's Prague does not.
_GETH_ONLY_NAMES = {
    0x1E: "CLZ", 0x4B: "SLOTNUM", 0xD0: "DATALOAD", 0xD1: "DATALOADN", 0xD2: "DATASIZE",
    0xD3: "DATACOPY", 0xE0: "RJUMP", 0xE1: "RJUMPI", 0xE2: "RJUMPV", 0xE3: "CALLF",
    0xE4: "RETF", 0xE5: "JUMPF", 0xE6: "DUPN", 0xE7: "SWAPN", 0xE8: "EXCHANGE",
    0xEC: "EOFCREATE", 0xEE: "RETURNCONTRACT", 0xF7: "RETURNDATALOAD", 0xF8: "EXTCALL",
    0xF9: "EXTDELEGATECALL", 0xFB: "EXTSTATICCALL", 0xFE: "INVALID",
}


def _geth_opcode_name(opcode: int) -> str:
    """geth's `OpCode.String()`: its name, or "opcode 0x.. not defined"."""
    name = _PYEVM_MNEMONICS.get(opcode)
    if name is not None and opcode != 0xFE:
        return _GETH_RENAMES.get(name, name)
    return _GETH_ONLY_NAMES.get(opcode, f"opcode {opcode:#x} not defined")


_OPCODE_NAMES = {opcode: _geth_opcode_name(opcode) for opcode in range(256)}


# ------------------------------------------------------------------------------------------
# Hex helpers
# ------------------------------------------------------------------------------------------

def _stack_int(value: int | bytes) -> int:
    """py-evm keeps stack items as int or big-endian bytes."""
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def _stack_address(value: int) -> bytes:
    return (value & ((1 << 160) - 1)).to_bytes(20, "big")


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


# ------------------------------------------------------------------------------------------
# py-evm hooks
# ------------------------------------------------------------------------------------------

class _TracingGasMeter(GasMeter):
    """A gas meter that also remembers, for the opcode running, the lowest gas it reached, the
    amount it refused (out of gas), and the last amounts consumed and returned. That is what a
    geth-style `gasCost` needs: geth prices an opcode, including the gas a CALL hands over,
    before running it."""

    def __init__(self, start_gas: int, refund_strategy: Any) -> None:
        super().__init__(start_gas, refund_strategy)
        self.begin_opcode()

    def begin_opcode(self) -> None:
        self.lowest = self.gas_remaining
        self.refused = 0
        self.last_consumed = 0
        self.last_returned = 0

    def consume_gas(self, amount: int, reason: str) -> None:
        if amount > self.gas_remaining:
            self.refused = amount
        super().consume_gas(amount, reason)
        self.last_consumed = amount
        if self.gas_remaining < self.lowest:
            self.lowest = self.gas_remaining

    def return_gas(self, amount: int) -> None:
        super().return_gas(amount)
        self.last_returned = amount


class _TracedOpcode:
    """An entry of the tracing computation's opcode table: reports to the state's tracer
    around the fork's own implementation of the opcode."""

    __slots__ = ("value", "mnemonic", "gas_cost", "_logic")

    def __init__(self, value: int, logic: Any) -> None:
        self.value = value
        self._logic = logic
        self.mnemonic = _OPCODE_NAMES[value]
        self.gas_cost = getattr(logic, "gas_cost", 0)

    def __call__(self, computation: "_TracingComputation") -> None:
        tracer = computation.state.tracer
        tracer.before_opcode(computation, self.value)
        try:
            self._logic(computation=computation)
        except Halt:
            tracer.after_opcode(computation, None)
            raise
        except VMError as error:
            tracer.after_opcode(computation, error)
            raise
        tracer.after_opcode(computation, None)


class _TracingComputation(BaseComputation):
    """Mixed in front of a fork's computation class: reports frames and logs to the tracer held
    by the state it runs on (`state.tracer`), and meters gas with a `_TracingGasMeter`."""

    state: Any

    @property
    def gas_meter(self) -> "_TracingGasMeter":
        return self._gas_meter  # type: ignore[return-value]

    @property
    def stack_items(self) -> list:
        """The stack, bottom first; items are ints or big-endian bytes."""
        return self._stack.values

    @property
    def memory_size(self) -> int:
        return len(self._memory)

    def _configure_gas_meter(self) -> GasMeter:
        meter = super()._configure_gas_meter()
        return _TracingGasMeter(meter.start_gas, meter.refund_strategy)

    @classmethod
    def apply_message(cls, state: StateAPI, message: MessageAPI,
                      transaction_context: TransactionContextAPI,
                      parent_computation: Optional[ComputationAPI] = None) -> ComputationAPI:
        tracer: Tracer = state.tracer  # type: ignore[attr-defined]
        if message.is_create:
            # The init code of a creation: its frame is opened and closed by
            # apply_create_message, which runs it through here.
            computation = super().apply_message(state, message, transaction_context,
                                                parent_computation)
            tracer.creation_body_done(computation)
            return computation
        tracer.enter(message)
        try:
            computation = super().apply_message(state, message, transaction_context,
                                                parent_computation)
        except BaseException:
            tracer.discard()
            raise
        tracer.exit(computation)
        return computation

    @classmethod
    def apply_create_message(cls, state: StateAPI, message: MessageAPI,
                             transaction_context: TransactionContextAPI,
                             parent_computation: Optional[ComputationAPI] = None
                             ) -> ComputationAPI:
        tracer: Tracer = state.tracer  # type: ignore[attr-defined]
        tracer.enter(message)
        try:
            computation = super().apply_create_message(state, message, transaction_context,
                                                       parent_computation)
        except BaseException:
            tracer.discard()  # e.g. EIP-3860 initcode too large: fails the creating opcode
            raise
        tracer.exit(computation)
        return computation

    def add_log_entry(self, account: bytes, topics: tuple[int, ...], data: bytes) -> None:
        super().add_log_entry(account, topics, data)
        self.state.tracer.log(account, topics, data)


@functools.cache
def _traced_computation_class(base: type) -> type:
    """`base` (a fork's computation class) with tracing mixed in and every opcode wrapped."""
    opcodes = {value: _TracedOpcode(value, base.opcodes.get(value) or InvalidOpcode(value))
               for value in range(256)}
    return type(f"Tracing{base.__name__}", (_TracingComputation, base), {"opcodes": opcodes})


@functools.cache
def _traced_state_class(base: type) -> type:
    """`base` (a fork's state class) running the tracing computation."""
    return type(f"Tracing{base.__name__}", (base,), {
        "__slots__": (),
        "computation_class": _traced_computation_class(base.computation_class),
    })


class _FreeCallState:
    """Mixed in front of a state class for calls: no fee is bought or paid."""

    def get_gas_price(self, transaction: SignedTransactionAPI) -> int:
        return 0

    def get_tip(self, transaction: SignedTransactionAPI) -> int:
        return 0


class _FreeCallExecutor:
    """Mixed in front of a transaction executor for calls: the transaction's own fields, its
    intrinsic gas and the value it sends are checked, not the sender's nonce or fee caps."""

    vm_state: StateAPI

    def validate_transaction(self, transaction: SignedTransactionAPI) -> None:
        transaction.validate()
        balance = self.vm_state.get_balance(transaction.sender)
        if balance < transaction.value:
            raise ValidationError(  # geth's words for the same check
                f"insufficient funds for gas * price + value: address "
                f"{to_checksum_address(transaction.sender)} have {balance} "
                f"want {transaction.value}")


@functools.cache
def _free_call_state_class(base: type) -> type:
    executor = base.transaction_executor_class
    return type(f"TracingCall{base.__name__}", (_FreeCallState, base), {
        "__slots__": (),
        "computation_class": _traced_computation_class(base.computation_class),
        "transaction_executor_class": type(f"Call{executor.__name__}",
                                           (_FreeCallExecutor, executor), {}),
    })


def tracing_view(state: StateAPI, tracer: "Tracer") -> StateAPI:
    """A view over `state` (same account database and context; its changes are `state`'s)
    whose transactions run with `tracer` watching."""
    return _state_view(state, _traced_state_class(type(state)), tracer)


def _state_view(state: StateAPI, view_class: type, tracer: Tracer) -> StateAPI:
    """A second state object over `state`'s account database (and execution context), of
    class `view_class`, carrying `tracer`. Changes made through it are changes to `state`."""
    view = copy.copy(state)
    view.__class__ = view_class
    view.tracer = tracer  # type: ignore[attr-defined]
    return view
