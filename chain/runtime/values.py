"""Typed reads and writes of storage items (SCALE values under `item_key(item, key)`)."""

from __future__ import annotations

from chain import scale
from chain.runtime.state import item_key

_SIZES = {8: 1, 16: 2, 32: 4, 64: 8, 128: 16}


def get_uint(storage, item: str, bits: int, key: bytes = b"", default: int | None = 0) -> int | None:
    """An unsigned integer item (`u{bits}`, little-endian), or `default` when absent."""
    raw = storage.get(item_key(item, key))
    if raw is None:
        return default
    value, end = getattr(scale, f"decode_u{bits}")(raw, 0, f"{item}")
    scale.ensure_consumed(raw, end, item)
    return value


def set_uint(storage, item: str, bits: int, value: int, key: bytes = b"") -> None:
    storage.set(item_key(item, key), getattr(scale, f"encode_u{bits}")(value))


def get_raw(storage, item: str, key: bytes = b"") -> bytes | None:
    return storage.get(item_key(item, key))


def set_raw(storage, item: str, value: bytes, key: bytes = b"") -> None:
    storage.set(item_key(item, key), value)


def delete(storage, item: str, key: bytes = b"") -> None:
    storage.delete(item_key(item, key))


def get_bool(storage, item: str, default: bool = False) -> bool:
    raw = storage.get(item_key(item))
    if raw is None:
        return default
    value, _ = scale.decode_bool(raw, 0, item)
    return value


def set_bool(storage, item: str, value: bool) -> None:
    storage.set(item_key(item), scale.encode_bool(value))
