"""Sudo pallet (index 100): one key may dispatch calls with the root origin.

Storage (pallet "Sudo"): `Key`: [u8; 32] (absent: no sudo; set from the genesis config's
`sudo_key`). Call 0 `sudo(call: Call)`: signed by the key, dispatches `call` as root (e.g.
`Subspace.set_pot_slot_iterations`, `Subspace.enable_solution_range_adjustment`). Unlike the
live pallet, a failing inner call fails the sudo extrinsic itself (its effects are reverted,
the fee is still paid).
"""

from __future__ import annotations

from typing import Any, Callable

from chain import scale
from chain.runtime import values
from chain.runtime.errors import UnknownCall
from chain.runtime.extrinsics import SUDO_INDEX, decode_call
from chain.runtime.pallet import BlockContext, Call, DispatchError, Origin

NAME = "Sudo"


class Sudo:
    """The Sudo pallet (`Pallet` protocol). `dispatch_call(state, ctx, call, origin)` is the
    runtime's dispatcher, given by the executive."""

    name = NAME
    index = SUDO_INDEX

    def __init__(self, dispatch_call: Callable[[Any, BlockContext, Call, Origin], None]) -> None:
        self.dispatch_call = dispatch_call

    def genesis(self, storage, config: dict[str, Any]) -> None:
        key = config.get("sudo_key")
        if key is not None:
            values.set_raw(storage, "Key", scale.encode_fixed(bytes(key), 32, "sudo key"))

    def on_initialize(self, storage, ctx: BlockContext) -> None:
        pass

    def dispatch(self, storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        if call_index != 0:
            raise UnknownCall(f"Sudo has no call {call_index}")
        inner, at = decode_call(args, 0)
        scale.ensure_consumed(args, at, "sudo args")
        key = values.get_raw(storage, "Key")
        if origin.signer is None or key is None or bytes(origin.signer) != key:
            raise DispatchError(NAME, "RequireSudo", "only the sudo key may call sudo")
        self.dispatch_call(storage.state, ctx, inner, Origin(root=True))
        storage.deposit_event("Sudid", pallet_index=inner.pallet_index, call_index=inner.call_index)

    def on_finalize(self, storage, ctx: BlockContext) -> None:
        pass
