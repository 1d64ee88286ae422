"""Failures in geth's words: the reason a reverted call gives (as geth's `abi.UnpackRevert`
reads it) and the text of a VM error (core/vm/errors.go).

Shared by calls and gas estimates (`execution`) and by the tracers (`tracing`), since clients
match on these strings.
"""

from __future__ import annotations

import functools

from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    InsufficientFunds,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfBoundsRead,
    OutOfGas,
    ReservedBytesInCode,
    Revert,
    StackDepthLimit,
    VMError,
    WriteProtection,
)

#: Solidity's panic codes, with geth's descriptions (accounts/abi: panicReasons).
PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}
_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # keccak("Error(string)")[:4]
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # keccak("Panic(uint256)")[:4]


def decode_revert_reason(data: bytes) -> str | None:
    """The reason carried by revert data, as geth's `abi.UnpackRevert` reads it: the message
    of `Error(string)`, or the description of a `Panic(uint256)` code (``unknown panic code:
    0x..`` for codes Solidity does not define). Custom errors, empty or malformed data: None."""
    from eth_abi import decode
    from eth_abi.exceptions import DecodingError

    selector, payload = bytes(data[:4]), bytes(data[4:])
    try:
        if selector == _ERROR_SELECTOR:
            # not strict: geth reads reasons whose string is not padded to 32 bytes
            return decode(["string"], payload, strict=False)[0]
        if selector == _PANIC_SELECTOR:
            code = decode(["uint256"], payload, strict=False)[0]
            return PANIC_REASONS.get(code, f"unknown panic code: {code:#x}")
    except (DecodingError, UnicodeDecodeError, ValueError, OverflowError):
        return None
    return None


@functools.cache
def _opcode_names() -> dict[int, str]:
    from eth.vm.forks.prague.computation import PragueComputation

    return {value: getattr(op, "mnemonic", "") for value, op in PragueComputation.opcodes.items()}


def vm_error_text(error: VMError) -> str:
    """geth's text for the VM error that ended a frame (core/vm/errors.go)."""
    message = str(error)
    if isinstance(error, Revert):
        return "execution reverted"
    if isinstance(error, OutOfGas):
        if "EIP170" in message:
            return "max code size exceeded"
        if "EIP-3860" in message:
            return "max initcode size exceeded"
        if "EIP-2200" in message:
            return "not enough gas for reentrancy sentry"
        return "out of gas"
    if isinstance(error, InsufficientStack):
        # py-evm: "Wanted N stack items, only had M" / "Wanted 1 stack item, had none"
        words = message.split()
        if message.startswith("Wanted ") and words[1].isdigit():
            have = "0" if message.endswith("had none") else words[-1]
            return f"stack underflow ({have} <=> {words[1]})"
        return "stack underflow"
    if isinstance(error, FullStack):
        return "stack limit reached 1024 (1023)"
    if isinstance(error, InvalidJumpDestination):
        return "invalid jump destination"
    if isinstance(error, InvalidInstruction):
        if message.startswith("Jump"):
            return "invalid jump destination"
        if message.startswith("Invalid opcode 0x"):
            value = int(message.split()[2], 16)
            name = "INVALID" if value == 0xFE else _opcode_names().get(value)
            return f"invalid opcode: {name}" if name else f"invalid opcode: opcode {value:#x} not defined"
        return "invalid opcode"
    if isinstance(error, WriteProtection):
        return "write protection"
    if isinstance(error, OutOfBoundsRead):
        return "return data out of bounds"
    if isinstance(error, ReservedBytesInCode):
        return "invalid code: must not begin with 0xef"
    if isinstance(error, ContractCreationCollision):
        return "contract address collision"
    if isinstance(error, InsufficientFunds):
        return "insufficient balance for transfer"
    if isinstance(error, StackDepthLimit):
        return "max call depth exceeded"
    return message or type(error).__name__
