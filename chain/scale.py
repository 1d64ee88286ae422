"""SCALE codec primitives (Substrate's Simple Concatenated Aggregate Little-Endian encoding).

Used by the block, digest, extrinsic and runtime encodings (spec/consensus.md §1 "Integers":
all integers little-endian). Every decoder has the shape `decode_x(data, offset) -> (value,
new_offset)` so that decoders compose; every failure raises `ScaleError` naming what was being
decoded and the offset where it failed.

Compact integers (`Compact<T>`), by value range:

* single-byte mode   `0 ..= 63`:          one byte, `n << 2 | 0b00`;
* two-byte mode      `64 ..= 2^14 - 1`:   u16 LE of `n << 2 | 0b01`;
* four-byte mode     `2^14 ..= 2^30 - 1`: u32 LE of `n << 2 | 0b10`;
* big-integer mode   `2^30 ..= 2^536-1`:  one byte `(m - 4) << 2 | 0b11`, then n as m bytes LE,
  m the minimal byte length of n (4 ≤ m ≤ 67).

Decoding is canonical: a value encoded in a longer mode than needed (e.g. 1 in two-byte mode,
or a big-integer with a zero top byte) is rejected, as parity-scale-codec does, so that every
value has exactly one encoding (hashes of encodings are then well defined).
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")

__all__ = [
    "ScaleError",
    "encode_compact",
    "decode_compact",
    "compact_len",
    "encode_u8",
    "decode_u8",
    "encode_u16",
    "decode_u16",
    "encode_u32",
    "decode_u32",
    "encode_u64",
    "decode_u64",
    "encode_u128",
    "decode_u128",
    "encode_bool",
    "decode_bool",
    "encode_bytes",
    "decode_bytes",
    "encode_fixed",
    "decode_fixed",
    "encode_vec",
    "decode_vec",
    "encode_option",
    "decode_option",
    "ensure_consumed",
]


class ScaleError(ValueError):
    """Bytes that are not a valid SCALE encoding; the message says what and at which offset."""


_MAX_COMPACT_BITS = 8 * 67  # big-integer mode: at most 4 + 63 bytes


# ---------------------------------------------------------------------------------------------
# Internal reading helper


def _take(data, offset: int, size: int, what: str) -> bytes:
    """`size` bytes of `data` at `offset`, or ScaleError if the input ends first."""
    if offset < 0 or offset + size > len(data):
        raise ScaleError(
            f"{what} at offset {offset}: needs {size} bytes, only {max(0, len(data) - offset)} left"
        )
    return bytes(data[offset : offset + size])


# ---------------------------------------------------------------------------------------------
# Compact integers


def encode_compact(n: int) -> bytes:
    """`Compact<T>` encoding of a non-negative integer (module docstring for the four modes)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ScaleError(f"compact integer must be a non-negative int, got {n!r}")
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 0b01).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 0b10).to_bytes(4, "little")
    size = (n.bit_length() + 7) // 8
    if size > 67:
        raise ScaleError(f"compact integer too large ({n.bit_length()} bits, at most {_MAX_COMPACT_BITS})")
    return bytes([((size - 4) << 2) | 0b11]) + n.to_bytes(size, "little")


def compact_len(n: int) -> int:
    """Length in bytes of `encode_compact(n)`."""
    if n < 1 << 6:
        return 1
    if n < 1 << 14:
        return 2
    if n < 1 << 30:
        return 4
    return 1 + (n.bit_length() + 7) // 8


def decode_compact(data, offset: int = 0, what: str = "compact integer") -> tuple[int, int]:
    """Decode a `Compact<T>` at `offset`; rejects truncated and non-canonical encodings."""
    first = _take(data, offset, 1, what)[0]
    mode = first & 0b11
    if mode == 0b00:
        return first >> 2, offset + 1
    if mode == 0b01:
        n = int.from_bytes(_take(data, offset, 2, what), "little") >> 2
        if n < 1 << 6:
            raise ScaleError(f"{what} at offset {offset}: non-canonical two-byte encoding of {n}")
        return n, offset + 2
    if mode == 0b10:
        n = int.from_bytes(_take(data, offset, 4, what), "little") >> 2
        if n < 1 << 14:
            raise ScaleError(f"{what} at offset {offset}: non-canonical four-byte encoding of {n}")
        return n, offset + 4
    size = (first >> 2) + 4
    if offset + 1 + size > len(data):
        raise ScaleError(
            f"{what} at offset {offset}: big-integer mode needs {size} more bytes, only {len(data) - offset - 1} left"
        )
    raw = bytes(data[offset + 1 : offset + 1 + size])
    n = int.from_bytes(raw, "little")
    if raw[-1] == 0 or n < 1 << 30:
        raise ScaleError(f"{what} at offset {offset}: non-canonical {size}-byte big-integer encoding of {n}")
    return n, offset + 1 + size


# ---------------------------------------------------------------------------------------------
# Fixed-width integers


def _encode_uint(n: int, size: int) -> bytes:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 1 << (8 * size):
        raise ScaleError(f"u{8 * size} out of range: {n!r}")
    return n.to_bytes(size, "little")


def _decode_uint(data, offset: int, size: int, what: str | None) -> tuple[int, int]:
    raw = _take(data, offset, size, what or f"u{8 * size}")
    return int.from_bytes(raw, "little"), offset + size


def encode_u8(n: int) -> bytes:
    return _encode_uint(n, 1)


def decode_u8(data, offset: int = 0, what: str | None = None) -> tuple[int, int]:
    return _decode_uint(data, offset, 1, what)


def encode_u16(n: int) -> bytes:
    return _encode_uint(n, 2)


def decode_u16(data, offset: int = 0, what: str | None = None) -> tuple[int, int]:
    return _decode_uint(data, offset, 2, what)


def encode_u32(n: int) -> bytes:
    return _encode_uint(n, 4)


def decode_u32(data, offset: int = 0, what: str | None = None) -> tuple[int, int]:
    return _decode_uint(data, offset, 4, what)


def encode_u64(n: int) -> bytes:
    return _encode_uint(n, 8)


def decode_u64(data, offset: int = 0, what: str | None = None) -> tuple[int, int]:
    return _decode_uint(data, offset, 8, what)


def encode_u128(n: int) -> bytes:
    return _encode_uint(n, 16)


def decode_u128(data, offset: int = 0, what: str | None = None) -> tuple[int, int]:
    return _decode_uint(data, offset, 16, what)


# ---------------------------------------------------------------------------------------------
# bool, bytes


def encode_bool(value: bool) -> bytes:
    """`bool`: one byte, 0x00 or 0x01."""
    return b"\x01" if value else b"\x00"


def decode_bool(data, offset: int = 0, what: str = "bool") -> tuple[bool, int]:
    """`bool`; any byte other than 0x00 / 0x01 is an error."""
    b = _take(data, offset, 1, what)[0]
    if b > 1:
        raise ScaleError(f"{what} at offset {offset}: invalid byte 0x{b:02x} (expected 0x00 or 0x01)")
    return b == 1, offset + 1


def encode_bytes(b: bytes) -> bytes:
    """`Vec<u8>`: compact length prefix, then the bytes."""
    return encode_compact(len(b)) + bytes(b)


def decode_bytes(data, offset: int = 0, what: str = "bytes") -> tuple[bytes, int]:
    """`Vec<u8>`: compact length, then that many bytes."""
    length, at = decode_compact(data, offset, f"{what} length")
    return _take(data, at, length, what), at + length


def encode_fixed(b: bytes, size: int, what: str = "fixed bytes") -> bytes:
    """`[u8; size]`: the bytes themselves, after checking the length."""
    if not isinstance(b, (bytes, bytearray)) or len(b) != size:
        raise ScaleError(f"{what} must be {size} bytes, got {len(b) if isinstance(b, (bytes, bytearray)) else type(b).__name__}")
    return bytes(b)


def decode_fixed(data, offset: int, size: int, what: str = "fixed bytes") -> tuple[bytes, int]:
    """`[u8; size]`."""
    return _take(data, offset, size, what), offset + size


# ---------------------------------------------------------------------------------------------
# Vec<T>, Option<T>


def encode_vec(items: Sequence[T], encode_item: Callable[[T], bytes]) -> bytes:
    """`Vec<T>`: compact item count, then each item's encoding."""
    return encode_compact(len(items)) + b"".join(encode_item(item) for item in items)


def decode_vec(
    data, offset: int, decode_item: Callable[[object, int], tuple[T, int]], what: str = "vec"
) -> tuple[list[T], int]:
    """`Vec<T>`; `decode_item(data, offset) -> (item, offset)`.

    The count is sanity-checked against the bytes left (each item takes at least one byte,
    except zero-sized items, which SCALE never uses here) so that a garbage length cannot make
    the decoder loop for long.
    """
    count, at = decode_compact(data, offset, f"{what} length")
    if count > len(data) - at:
        raise ScaleError(f"{what} at offset {offset}: {count} items but only {len(data) - at} bytes left")
    items = []
    for _ in range(count):
        item, at = decode_item(data, at)
        items.append(item)
    return items, at


def encode_option(value: T | None, encode_item: Callable[[T], bytes]) -> bytes:
    """`Option<T>`: 0x00 for None, 0x01 then the value for Some."""
    if value is None:
        return b"\x00"
    return b"\x01" + encode_item(value)


def decode_option(
    data, offset: int, decode_item: Callable[[object, int], tuple[T, int]], what: str = "option"
) -> tuple[T | None, int]:
    """`Option<T>`; a tag other than 0x00 / 0x01 is an error."""
    tag = _take(data, offset, 1, f"{what} tag")[0]
    if tag == 0:
        return None, offset + 1
    if tag == 1:
        return decode_item(data, offset + 1)
    raise ScaleError(f"{what} at offset {offset}: invalid option tag 0x{tag:02x}")


def ensure_consumed(data, offset: int, what: str) -> None:
    """Raise ScaleError if bytes remain after a complete decode (SCALE has no trailing data)."""
    if offset != len(data):
        raise ScaleError(f"{what}: {len(data) - offset} trailing bytes at offset {offset}")
