"""Parsers for JSON-RPC parameters: hex quantities, byte strings, addresses, hashes, block ids.

Each parser takes the decoded JSON value and returns a Python value, or raises `ParamError`
with a reason; the dispatcher turns that into -32602 "invalid argument <i> (<name>): <reason>".

Encoding rules are the execution-apis ones, as geth applies them:
- a quantity is a 0x-prefixed hex string ("0x0", "0x1f"); a JSON number is refused (leading
  zeros are tolerated: some clients pad);
- a byte string is 0x-prefixed hex with an even number of digits;
- an address is 20 bytes and a hash 32 bytes (mixed case is accepted, the checksum is not
  enforced, as geth);
- a block is a tag (`latest`, `pending`, `safe`, `finalized`, `earliest`), a quantity, a block
  hash where the method allows one, or an EIP-1898 object `{"blockHash", "requireCanonical"}` /
  `{"blockNumber"}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

T = TypeVar("T")

BLOCK_TAGS = ("latest", "pending", "safe", "finalized", "earliest")
UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1


class ParamError(ValueError):
    """A parameter value is malformed; the message says how."""


@dataclass(frozen=True)
class BlockRef:
    """Which block a request means: exactly one of `tag`, `number` or `hash` is set."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None
    require_canonical: bool = False

    def describe(self) -> str:
        if self.tag is not None:
            return self.tag
        if self.number is not None:
            return hex(self.number)
        return "0x" + (self.hash or b"").hex()


LATEST = BlockRef(tag="latest")


#: Hex digits only: no sign, whitespace, underscores or non-ASCII digits, all of which
#: Python's `int(s, 16)` and `bytes.fromhex` would otherwise accept.
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


def _hex_digits(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ParamError(f"expected a 0x-prefixed hex string for {what}, got {json_type(value)}")
    if not value.startswith(("0x", "0X")):
        raise ParamError("hex string without 0x prefix")
    digits = value[2:]
    if not _HEX_DIGITS.fullmatch(digits):
        raise ParamError(f"invalid hex in {what}: {shorten(value)!r} (0x then digits 0-9, a-f)")
    return digits


def quantity(value: Any) -> int:
    """A hex-encoded unsigned integer of at most 256 bits."""
    digits = _hex_digits(value, "a quantity")
    if not digits:
        raise ParamError("hex string \"0x\" is empty, a quantity needs at least one digit")
    try:
        number = int(digits, 16)
    except ValueError:
        raise ParamError(f"invalid hex quantity {value!r}") from None
    if number > UINT256_MAX:
        raise ParamError(f"quantity {value!r} is larger than 256 bits")
    return number


def uint64(value: Any) -> int:
    """A quantity that fits in 64 bits (block numbers, nonces, gas)."""
    number = quantity(value)
    if number > UINT64_MAX:
        raise ParamError(f"quantity {value!r} is larger than 64 bits")
    return number


def data(value: Any) -> bytes:
    """A 0x-prefixed hex byte string of any length."""
    digits = _hex_digits(value, "a byte string")
    if len(digits) % 2:
        raise ParamError(f"hex string of odd length ({len(digits)} digits)")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ParamError(f"invalid hex string {shorten(value)!r}") from None


def fixed_bytes(length: int, what: str) -> Callable[[Any], bytes]:
    """A parser for exactly `length` bytes of hex (addresses, hashes)."""

    def parse(value: Any) -> bytes:
        raw = data(value)
        if len(raw) != length:
            raise ParamError(f"{what} must be {length} bytes, got {len(raw)}: {shorten(value)!r}")
        return raw

    parse.__name__ = what.replace(" ", "_")
    return parse


address = fixed_bytes(20, "address")
hash32 = fixed_bytes(32, "hash")


def storage_key(value: Any) -> int:
    """A storage slot: up to 32 bytes of hex, leading zeros allowed (`bytesMax32`)."""
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise ParamError(f"invalid hex in storage key: {shorten(value)!r}")
    digits = _hex_digits(value, "a storage key")
    if len(digits) > 64:
        raise ParamError(f"storage key too long (want at most 32 bytes): {shorten(value)!r}")
    return int(digits, 16) if digits else 0


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParamError(f"expected true or false, got {json_type(value)}")
    return value


def json_object(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ParamError(f"expected a JSON object, got {json_type(value)}")
    return value


def optional(parser: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """`parser`, with JSON null meaning "not given"."""

    def parse(value: Any) -> T | None:
        return None if value is None else parser(value)

    parse.__name__ = f"optional_{getattr(parser, '__name__', 'value')}"
    return parse


def list_of(parser: Callable[[Any], T], *, max_items: int | None = None) -> Callable[[Any], list[T]]:
    """A JSON array whose items each pass `parser`; errors name the item's index."""

    def parse(value: Any) -> list[T]:
        if not isinstance(value, list):
            raise ParamError(f"expected an array, got {json_type(value)}")
        if max_items is not None and len(value) > max_items:
            raise ParamError(f"too many items: {len(value)}, at most {max_items}")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(parser(item))
            except ParamError as exc:
                raise ParamError(f"item {index}: {exc}") from None
        return items

    return parse


# -- blocks ------------------------------------------------------------------------------------

def block_number_or_tag(value: Any) -> BlockRef:
    """`BlockNumberOrTag`: a block tag or a hex block number."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return BlockRef(tag=value)
    if isinstance(value, str) and not value.startswith(("0x", "0X")) and value.isalpha():
        raise ParamError(f"unknown block tag {value!r}, expected one of {', '.join(BLOCK_TAGS)} or a hex number")
    return BlockRef(number=uint64(value))


def block_ref(value: Any) -> BlockRef:
    """`BlockNumberOrTagOrHash`, including EIP-1898 block objects."""
    if isinstance(value, dict):
        return _eip1898(value)
    if isinstance(value, str) and len(value) == 66 and value.startswith(("0x", "0X")):
        return BlockRef(hash=hash32(value))
    return block_number_or_tag(value)


def _eip1898(value: dict) -> BlockRef:
    has_hash, has_number = "blockHash" in value, "blockNumber" in value
    if has_hash == has_number:
        raise ParamError("a block object needs exactly one of blockHash or blockNumber")
    unknown = set(value) - {"blockHash", "blockNumber", "requireCanonical"}
    if unknown:
        raise ParamError(f"unknown block object field(s): {', '.join(sorted(unknown))}")
    if has_number:
        if "requireCanonical" in value:
            raise ParamError("requireCanonical applies to blockHash only")
        return block_number_or_tag(value["blockNumber"])
    canonical = value.get("requireCanonical", False)
    if not isinstance(canonical, bool):
        raise ParamError("requireCanonical must be true or false")
    return BlockRef(hash=hash32(value["blockHash"]), require_canonical=canonical)


# -- helpers -----------------------------------------------------------------------------------

def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {shorten(value)!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def shorten(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
