"""Revert data: the reason a reverted call gives, as geth's `abi.UnpackRevert` reads it.

Shared by calls and gas estimates (`execution`) and by the call tracer (`tracing`).
"""

from __future__ import annotations

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
