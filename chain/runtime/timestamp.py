"""Timestamp pallet (index 1): the block's time, set by the mandatory inherent `set(now)`.

Storage (pallet "Timestamp"): `Now`: u64, milliseconds (the genesis config's `timestamp`,
default 0, at genesis).

Rules: every block carries exactly one `Timestamp.set(now)` inherent (`MissingInherent`
otherwise), and `now` must be strictly greater than the parent's `Now`. The author sets its
wall clock (`chain.node.production.author_timestamp`); the value is compared with the local
clock by the importing node (`chain.node.import_checks.check_timestamp_not_in_future`), not
here, since the runtime has no clock; the live runtime's `MinimumPeriod` (half a slot) is not
enforced.
"""

from __future__ import annotations

from typing import Any

from chain import scale
from chain.runtime import values
from chain.runtime.errors import UnknownCall
from chain.runtime.extrinsics import TIMESTAMP_INDEX, InherentExtrinsic, MalformedExtrinsic, decode_extrinsic
from chain.runtime.pallet import BlockContext, DispatchError, Origin

NAME = "Timestamp"
SET = 0


def now(storage) -> int:
    return values.get_uint(storage, "Now", 64)


def timestamp_of_block(extrinsics) -> int | None:
    """The `now` of the block's `Timestamp.set` inherent (the first one), or None if the block
    has none that decodes (the runtime then refuses the block)."""
    for raw in extrinsics:
        try:
            ext = decode_extrinsic(raw)
        except MalformedExtrinsic:
            continue
        call = ext.call
        if isinstance(ext, InherentExtrinsic) and call.pallet_index == TIMESTAMP_INDEX and call.call_index == SET:
            try:
                now_ms, end = scale.decode_compact(call.args, 0, "Timestamp.set now")
                scale.ensure_consumed(call.args, end, "Timestamp.set args")
            except scale.ScaleError:
                return None
            return now_ms
    return None


def ensure_timestamp_increases(previous: int, new: int) -> None:
    """`Timestamp.set`: the new time must be later than the parent block's (strictly)."""
    if new <= previous:
        raise DispatchError(NAME, "TimestampMustIncrease", f"now={new} ms is not after the parent's {previous} ms")


class Timestamp:
    """The Timestamp pallet (`Pallet` protocol); `set` is a mandatory inherent."""

    name = NAME
    index = TIMESTAMP_INDEX
    #: Calls that must appear once as an inherent in every block.
    mandatory_inherent_calls = (SET,)
    #: Calls that may only be dispatched as inherents.
    inherent_calls = (SET,)

    def genesis(self, storage, config: dict[str, Any]) -> None:
        values.set_uint(storage, "Now", 64, int(config.get("timestamp", 0)))

    def on_initialize(self, storage, ctx: BlockContext) -> None:
        pass

    def dispatch(self, storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        if call_index != SET:
            raise UnknownCall(f"Timestamp has no call {call_index}")
        new, end = scale.decode_compact(args, 0, "Timestamp.set now")
        scale.ensure_consumed(args, end, "Timestamp.set args")
        if not origin.is_inherent:
            raise DispatchError(NAME, "BadOrigin", "set is an inherent")
        ensure_timestamp_increases(now(storage), new)
        values.set_uint(storage, "Now", 64, new)

    def on_finalize(self, storage, ctx: BlockContext) -> None:
        pass
