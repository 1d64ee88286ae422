"""System pallet (index 0): block number, parent hash, genesis hash, account nonces, events.

Storage (pallet "System"; `item_key(item, key)` under `pallet_prefix("System")`):

* `Number`: u32, the number of the block whose state this is (0 at genesis).
* `ParentHash`: [u8; 32], the parent hash of that block (zeros at genesis).
* `GenesisHash`: [u8; 32], the genesis block hash: written in block 1 from its parent hash
  (the genesis hash depends on the genesis state root, so it cannot be part of genesis state).
* `Nonce` ‖ account: u32, the number of signed extrinsics the account has sent (kept when
  the account's balance is reaped, so that old extrinsics cannot be replayed).
* `Events`: the block's events (`encode_events`), replaced every block.
* `ExtrinsicCount`: u32, the number of extrinsics of the block.

Event encoding: `Vec<Event>`, `Event = phase Option<u32> (extrinsic index; None = block
initialisation/finalisation) ‖ pallet Vec<u8> ‖ name Vec<u8> ‖ Vec<(field Vec<u8>, Value)>`,
`Value = 0 ‖ compact int | 1 ‖ Vec<u8> bytes | 2 ‖ Vec<u8> utf-8 str | 3 (None) | 4 ‖ bool`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain import scale
from chain.runtime import values
from chain.runtime.errors import InvalidBlockContext, UnknownCall
from chain.runtime.extrinsics import SYSTEM_INDEX
from chain.runtime.pallet import BlockContext, Origin
from chain.runtime.state import item_key

NAME = "System"


@dataclass(frozen=True)
class Event:
    """Something a block did: `pallet`.`name` with its fields, during extrinsic `phase`."""

    pallet: str
    name: str
    fields: tuple[tuple[str, Any], ...] = ()
    phase: int | None = None

    def field(self, name: str, default: Any = None) -> Any:
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)


def _encode_value(value: Any) -> bytes:
    if value is None:
        return b"\x03"
    if isinstance(value, bool):
        return b"\x04" + scale.encode_bool(value)
    if isinstance(value, int):
        return b"\x00" + scale.encode_compact(value)
    if isinstance(value, (bytes, bytearray)):
        return b"\x01" + scale.encode_bytes(bytes(value))
    if isinstance(value, str):
        return b"\x02" + scale.encode_bytes(value.encode())
    raise TypeError(f"event field value of type {type(value).__name__} is not encodable")


def _decode_value(data, offset: int) -> tuple[Any, int]:
    tag, at = scale.decode_u8(data, offset, "event value tag")
    if tag == 0:
        return scale.decode_compact(data, at, "event int")
    if tag == 1:
        return scale.decode_bytes(data, at, "event bytes")
    if tag == 2:
        raw, at = scale.decode_bytes(data, at, "event str")
        return raw.decode(), at
    if tag == 3:
        return None, at
    if tag == 4:
        return scale.decode_bool(data, at, "event bool")
    raise scale.ScaleError(f"event value at offset {offset}: unknown tag {tag}")


def encode_event(event: Event) -> bytes:
    return (
        scale.encode_option(event.phase, scale.encode_u32)
        + scale.encode_bytes(event.pallet.encode())
        + scale.encode_bytes(event.name.encode())
        + scale.encode_vec(list(event.fields), lambda kv: scale.encode_bytes(kv[0].encode()) + _encode_value(kv[1]))
    )


def decode_event(data, offset: int = 0) -> tuple[Event, int]:
    phase, at = scale.decode_option(data, offset, scale.decode_u32, "event phase")
    pallet, at = scale.decode_bytes(data, at, "event pallet")
    name, at = scale.decode_bytes(data, at, "event name")

    def field(d, o):
        key, o = scale.decode_bytes(d, o, "event field name")
        value, o = _decode_value(d, o)
        return (key.decode(), value), o

    fields, at = scale.decode_vec(data, at, field, "event fields")
    return Event(pallet.decode(), name.decode(), tuple(fields), phase), at


def encode_events(events: list[Event]) -> bytes:
    return scale.encode_vec(events, encode_event)


def decode_events(data: bytes) -> list[Event]:
    events, at = scale.decode_vec(data, 0, decode_event, "events")
    scale.ensure_consumed(data, at, "events")
    return events


# --- Reads ----------------------------------------------------------------------------------


def block_number(storage) -> int:
    return values.get_uint(storage, "Number", 32)


def parent_hash(storage) -> bytes:
    return values.get_raw(storage, "ParentHash") or bytes(32)


def genesis_hash(storage) -> bytes | None:
    return values.get_raw(storage, "GenesisHash")


def account_nonce(storage, account: bytes) -> int:
    return values.get_uint(storage, "Nonce", 32, bytes(account))


def increment_nonce(storage, account: bytes) -> None:
    """A signed extrinsic's inclusion bumps its signer's nonce (kept even if it fails)."""
    values.set_uint(storage, "Nonce", 32, account_nonce(storage, account) + 1, bytes(account))


def events(storage) -> list[Event]:
    raw = values.get_raw(storage, "Events")
    return decode_events(raw) if raw else []


# --- Rules ----------------------------------------------------------------------------------


def ensure_block_follows_parent(storage, ctx: BlockContext) -> None:
    """A block's number is its parent's number + 1 (spec §8; the parent's state records its
    number)."""
    parent_number = block_number(storage)
    if ctx.number != parent_number + 1:
        raise InvalidBlockContext(
            f"block number {ctx.number} does not follow the parent state's block number {parent_number}"
        )


def record_genesis_hash(storage, ctx: BlockContext) -> None:
    """Block 1's parent hash is the genesis hash: store it for signature checks (replay
    protection, `chain.runtime.extrinsics.signing_payload`)."""
    if ctx.number == 1:
        values.set_raw(storage, "GenesisHash", bytes(ctx.parent_hash))


class System:
    """The System pallet (`Pallet` protocol)."""

    name = NAME
    index = SYSTEM_INDEX

    def genesis(self, storage, config: dict[str, Any]) -> None:
        values.set_uint(storage, "Number", 32, 0)
        values.set_raw(storage, "ParentHash", bytes(32))

    def on_initialize(self, storage, ctx: BlockContext) -> None:
        ensure_block_follows_parent(storage, ctx)
        values.set_uint(storage, "Number", 32, ctx.number)
        values.set_raw(storage, "ParentHash", bytes(ctx.parent_hash))
        record_genesis_hash(storage, ctx)
        values.delete(storage, "Events")

    def dispatch(self, storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        if call_index == 0:  # remark(data): no effect but the fee
            data, end = scale.decode_bytes(args, 0, "remark data")
            scale.ensure_consumed(args, end, "remark args")
            return
        raise UnknownCall(f"System has no call {call_index}")

    def on_finalize(self, storage, ctx: BlockContext) -> None:
        pass


def store_block_events(storage, block_events: list[Event], extrinsic_count: int) -> None:
    """The executive's last step: the block's events and extrinsic count go into state."""
    values.set_raw(storage, "Events", encode_events(block_events))
    values.set_uint(storage, "ExtrinsicCount", 32, extrinsic_count)


__all__ = ["Event", "System", "encode_events", "decode_events", "item_key"]
