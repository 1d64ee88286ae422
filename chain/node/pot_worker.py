"""The node's Proof-of-Time chain and the thread that extends it (spec/consensus.md §2, §8).

`PotChain` holds the proven slots (seed, iterations, 8 checkpoints), bounded to the most recent
`keep_slots`. It is extended one slot at a time from the genesis seed
(`chain.pot.genesis_slot_input`) with `chain.pot.derive_next_slot_input`, using the PoT
parameters of the best block's runtime state (base iterations, next parameters change).

It follows the best block, as upstream's PoT source does (`sc-proof-of-time` `PotState::update`):
when a new best block's future PoT (slot + authoring delay) is not on the local chain, or a
parameter change makes local slots wrong, the local chain is cut back and continues from the
block's PoT (a PoT "reorg"); a syncing node jumps forward to the block's future slot this way.

`PotWorker` runs `PotChain.prove_next` on a thread (optionally paced by `slot_interval`) and
publishes every new slot to its listeners. Tests drive `PotChain.prove_next` directly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

from chain import pot

log = logging.getLogger("chain.node.pot")

#: How many proven slots are kept for justifications (a block needs the slots since its
#: parent's future slot; 4096 slots is far more than any gap between blocks).
DEFAULT_KEEP_SLOTS = 4096


@dataclass(frozen=True)
class PotSlot:
    """One proven slot: the input it was proven from and its 8 checkpoints (spec §2)."""

    slot: int
    seed: bytes
    slot_iterations: int
    checkpoints: tuple[bytes, ...]

    @property
    def output(self) -> bytes:
        """`PotCheckpoints::output`: the last checkpoint (spec §2 Prove 7)."""
        return self.checkpoints[-1]


@dataclass(frozen=True)
class PotParameters:
    """What the runtime says about PoT at the best block (spec §2 `pot_parameters()`)."""

    slot_iterations: int
    next_change: pot.PotParametersChange | None = None


def to_pot_change(change) -> pot.PotParametersChange | None:
    """Any object with slot / slot_iterations / entropy (the runtime's or the log's) as a
    `chain.pot.PotParametersChange`."""
    if change is None:
        return None
    return pot.PotParametersChange(int(change.slot), int(change.slot_iterations), bytes(change.entropy))


def next_slot_input(parent: PotSlot | None, genesis: pot.PotNextSlotInput, params: PotParameters) -> pot.PotNextSlotInput:
    """The input of the slot after `parent` (spec §2 "Chaining slots"); slot 1 comes from the
    genesis seed (with the genesis state's iterations)."""
    if parent is None:
        return pot.PotNextSlotInput(slot=1, slot_iterations=params.slot_iterations, seed=genesis.seed)
    return pot.derive_next_slot_input(params.slot_iterations, parent.slot, parent.output, params.next_change)


class PotChain:
    """The local PoT chain (thread safe). Slot 0 is genesis and has no proof (spec §2 "Slots")."""

    def __init__(self, genesis: pot.PotNextSlotInput, params: PotParameters, *, keep_slots: int = DEFAULT_KEEP_SLOTS):
        self.genesis = genesis
        self.params = params
        self.keep_slots = keep_slots
        self._slots: OrderedDict[int, PotSlot] = OrderedDict()
        self._lock = threading.RLock()
        #: Bumped whenever the chain is cut back; a proof computed against an older epoch is dropped.
        self._epoch = 0

    # -- reads -------------------------------------------------------------------------------

    @property
    def tip(self) -> PotSlot | None:
        with self._lock:
            if not self._slots:
                return None
            return next(reversed(self._slots.values()))

    @property
    def current_slot(self) -> int:
        """The last proven slot (0 before any)."""
        tip = self.tip
        return tip.slot if tip is not None else 0

    def get(self, slot: int) -> PotSlot | None:
        with self._lock:
            return self._slots.get(slot)

    def range(self, first: int, last: int) -> list[PotSlot] | None:
        """The proven slots first..=last, or None if any is missing."""
        with self._lock:
            out = []
            for s in range(first, last + 1):
                entry = self._slots.get(s)
                if entry is None:
                    return None
                out.append(entry)
            return out

    def next_input(self) -> pot.PotNextSlotInput:
        with self._lock:
            return next_slot_input(self.tip, self.genesis, self.params)

    # -- extending ---------------------------------------------------------------------------

    def prove_next(self) -> PotSlot | None:
        """Prove the next slot (spec §2 Prove) and append it. Returns None if the chain changed
        while proving (the proof is then stale and dropped)."""
        with self._lock:
            epoch, slot_input = self._epoch, next_slot_input(self.tip, self.genesis, self.params)
        checkpoints = tuple(pot.prove(slot_input.seed, slot_input.slot_iterations))
        entry = PotSlot(slot_input.slot, slot_input.seed, slot_input.slot_iterations, checkpoints)
        with self._lock:
            if epoch != self._epoch or next_slot_input(self.tip, self.genesis, self.params) != slot_input:
                return None
            self._append(entry)
        return entry

    def advance_to(self, slot: int) -> None:
        """Prove slots until `slot` is proven."""
        while self.current_slot < slot:
            self.prove_next()

    def _append(self, entry: PotSlot) -> None:
        self._slots[entry.slot] = entry
        while len(self._slots) > self.keep_slots:
            self._slots.popitem(last=False)

    def _truncate_after(self, slot: int) -> None:
        """Drop every slot > `slot`."""
        for s in [s for s in self._slots if s > slot]:
            del self._slots[s]
        self._epoch += 1

    # -- following the best block ------------------------------------------------------------

    def follow_best_block(self, params: PotParameters, future_slot: int, verified: Sequence[PotSlot] = ()) -> bool:
        """Adopt the PoT parameters of a new best block and its PoT (`PotState::update`).

        `verified` are the slots of the block's justification (already verified by import),
        ending at the block's future slot. Local slots that disagree with them, or that no
        longer follow under the new parameters, are cut away. Returns True when the local
        chain was cut back or jumped (a PoT reorg), False when it was merely confirmed.
        """
        with self._lock:
            self.params = params
            changed = False
            for entry in verified:
                local = self._slots.get(entry.slot)
                if local == entry:
                    continue
                if local is not None or entry.slot > self.current_slot:
                    changed = True
                    self._truncate_after(entry.slot - 1)
                    self._slots[entry.slot] = entry
            # the local slots after the block's future slot must follow under the new parameters
            previous = self._slots.get(future_slot)
            for s in sorted(s for s in self._slots if s > future_slot):
                entry = self._slots[s]
                if previous is None or next_slot_input(previous, self.genesis, params) != pot.PotNextSlotInput(
                    entry.slot, entry.slot_iterations, entry.seed
                ):
                    self._truncate_after(s - 1)
                    changed = True
                    break
                previous = entry
            if changed:
                log.debug("PoT chain follows best block: now at slot %d", self.current_slot)
            return changed


class PotWorker:
    """Proves slot after slot on a thread and publishes each new slot (spec §8 "Slot worker":
    slots are driven by PoT). `slot_interval` paces the chain (seconds per slot at least),
    which matters for tiny test iteration counts; 0 runs at the AES speed."""

    def __init__(self, chain: PotChain, *, slot_interval: float = 0.0):
        self.chain = chain
        self.slot_interval = slot_interval
        self._listeners: list[Callable[[PotSlot], None]] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def on_slot(self, callback: Callable[[PotSlot], None]) -> None:
        self._listeners.append(callback)

    def publish(self, entry: PotSlot) -> None:
        for callback in list(self._listeners):
            try:
                callback(entry)
            except Exception:  # a listener must not stop the PoT chain
                log.exception("PoT slot listener failed for slot %d", entry.slot)

    def step(self) -> PotSlot | None:
        """Prove and publish one slot (synchronously)."""
        entry = self.chain.prove_next()
        if entry is not None:
            self.publish(entry)
        return entry

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pot-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.step()
            if self.slot_interval:
                next_at = max(next_at + self.slot_interval, time.monotonic() - self.slot_interval)
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
