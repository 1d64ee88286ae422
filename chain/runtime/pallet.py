"""The interface a runtime module ("pallet") implements to plug into the consensus runtime.

`chain/` defines it; modules in `chain/runtime/` (system, balances, rewards, subspace) and in
`domains/` (the domains pallet: registry, bundles, the block tree) implement it, and the
`autonomys` command composes them. This mirrors the live network, where `pallet-domains` lives
in the consensus runtime (ARCHITECTURE.md: imports only point down, so `chain/` never imports
`domains/`; the command hands domain pallets to the runtime).

A pallet owns the storage under its own prefix, reacts to block initialisation and
finalisation, dispatches its calls, and may provide inherent calls (the unsigned calls a block
author must include, such as the timestamp or segment headers).

Optional members the runtime (`chain/runtime/executive.py`) looks for:
- `inherent_calls`: call indices that may be dispatched as inherents;
- `mandatory_inherent_calls`: call indices that must appear exactly once per block;
- `create_inherents(ctx) -> list[Call]`: the inherents a block author adds for this pallet.

The `Storage` a pallet receives from the runtime also offers `deposit_event(name, **fields)`,
`deposit_log(log)` (a consensus log for the header), `of(pallet_name)` (another pallet's
storage) and `balances` (transfers, withdrawals and deposits on the balances pallet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class DispatchError(Exception):
    """A call failed: the extrinsic is included (and pays its fee) but its effects are reverted.

    `module` and `error` name the failure the way Substrate's `DispatchError::Module` does."""

    def __init__(self, module: str, error: str, detail: str = "") -> None:
        super().__init__(f"{module}.{error}" + (f": {detail}" if detail else ""))
        self.module = module
        self.error = error
        self.detail = detail


class Storage(Protocol):
    """A pallet's view of the state: byte keys under the pallet's prefix, byte values."""

    def get(self, key: bytes) -> bytes | None: ...

    def set(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...


@dataclass(frozen=True)
class Origin:
    """Who dispatches a call: a signed account (32-byte public key), `root`, or none (inherent)."""

    signer: bytes | None = None
    root: bool = False

    @property
    def is_inherent(self) -> bool:
        return self.signer is None and not self.root


@dataclass(frozen=True)
class BlockContext:
    """What the runtime knows of the block it executes, from the header (spec §8).

    `farmer_public_key` and `reward_address` come from the pre-digest's solution;
    `pot_output` is the proof of time of `slot` (used for entropy: spec §2 "Entropy injection");
    `randomness` is the global randomness of the slot; `timestamp` is in milliseconds."""

    number: int
    parent_hash: bytes
    slot: int
    timestamp: int
    farmer_public_key: bytes
    reward_address: bytes
    solution_chunk: bytes
    pot_output: bytes
    randomness: bytes
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """A pallet call: pallet index, call index within the pallet, SCALE-encoded arguments."""

    pallet_index: int
    call_index: int
    args: bytes = b""


@runtime_checkable
class Pallet(Protocol):
    """One runtime module. `name` is its storage prefix; `index` is its byte in a `Call`."""

    name: str
    index: int

    def genesis(self, storage: Storage, config: dict[str, Any]) -> None:
        """Write the pallet's genesis storage."""

    def on_initialize(self, storage: Storage, ctx: BlockContext) -> None:
        """Runs before the block's extrinsics."""

    def dispatch(self, storage: Storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        """Execute one of the pallet's calls; raise `DispatchError` on failure."""

    def on_finalize(self, storage: Storage, ctx: BlockContext) -> None:
        """Runs after the block's extrinsics."""
