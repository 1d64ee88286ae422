"""Proof-of-Time (spec/consensus.md §2): prove, verify, slot chaining, entropy, iteration rules.

A PoT proof for one slot is a chain of AES-128 encryptions of the 16-byte seed under the key
`blake3(seed)[:16]`, recorded at 8 evenly spaced checkpoints; the last checkpoint is the slot's
output, and (without an entropy injection) the next slot's seed.

How it runs fast from Python:

* **Proving** runs the chain in the native kernel (`encrypt_checkpoints`, AES-NI, one call per
  slot with the GIL released, so the prover keeps its own core while the node's Python threads
  run). Without the kernel it uses OpenSSL through `cryptography`: AES-128-CBC encryption of
  zero blocks with IV = the current block computes `C_i = E(C_{i-1} xor 0)`, i.e. exactly the
  chained encryptions, inside OpenSSL's AES-NI loop. Zero blocks come from one module-level buffer
  (`_ZEROS`, 256 KiB), and the ciphertext goes into one reusable per-call buffer, so memory stays
  small for any iteration count. The encryptor keeps its chaining value between `update`
  calls, so a checkpoint is simply the last block written.
* **Verifying** is the meet in the middle: 8 chains encrypt the inputs `seed, cp0..cp6` c/2
  times, 8 chains decrypt the outputs `cp0..cp7` c/2 times, and the proof holds iff they meet.
  The native kernel `chain._pot_native` (chain/native/pot.c) interleaves the 16 chains
  through the AES unit (VAES/AVX-512 when present, else AES-NI) with the GIL released; with
  plain AES-NI the lanes are split over two cores.
  Without the kernel (or without AES-NI), each lane is recomputed with the OpenSSL trick
  above, which gives the same answers at the cost of a full prove.

`BACKEND` says which verifier is in use: "native-vaes-avx512", "native-aesni" or "openssl";
`PROVER` which prover: "native-aesni" or "openssl". `use_backend(name)` and `use_prover(name)`
switch them (tests force the fallbacks to compare).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Sequence

from blake3 import blake3
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # the optional native kernel (setup.py builds it; a failed build leaves the fallback)
    from chain import _pot_native
except ImportError:  # pragma: no cover - depends on the build
    _pot_native = None

# --- Format constants (spec §1: PotKey/PotSeed/PotOutput are 16 bytes, 8 checkpoints) ---
#: Bytes in a PoT seed, key, output or checkpoint (one AES block).
BLOCK_SIZE = 16
#: `PotCheckpoints::NUM_CHECKPOINTS` (the same as `Params.pot_checkpoints`).
NUM_CHECKPOINTS = 8
#: Bytes of an entropy value, a global randomness and a global challenge (a BLAKE3 hash).
HASH_SIZE = 32
#: `NonZeroU32`: the largest iteration count a slot can have.
MAX_ITERATIONS = (1 << 32) - 1

# --- Errors ---


class PotError(ValueError):
    """Something about a Proof-of-Time input or rule is wrong (spec §2)."""


class NotMultipleOfCheckpoints(PotError):
    """The iteration count is not a multiple of 2 x the number of checkpoints (spec §2)."""


class InvalidIterations(PotError):
    """The iteration count is outside 1..u32::MAX (upstream `NonZeroU32`)."""


class InvalidPotInput(PotError):
    """A seed, key, output, entropy or checkpoint has the wrong length."""


class InvalidPotProof(PotError):
    """A checkpoint does not follow from the one before it (spec §2 "Verify")."""


class PotSlotIterationsMustIncrease(PotError):
    """`set_pot_slot_iterations`: the new count is not strictly greater (spec §2)."""


class PotSlotIterationsUpdateAlreadyScheduled(PotError):
    """`set_pot_slot_iterations`: an update already has a target slot (spec §2)."""


def _ensure_bytes(value, size: int, what: str) -> bytes:
    """`value` as bytes, or InvalidPotInput saying which input has which wrong type or length."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidPotInput(f"{what} must be {size} bytes, got {type(value).__name__}")
    value = bytes(value)
    if len(value) != size:
        raise InvalidPotInput(f"{what} must be {size} bytes, got {len(value)}")
    return value


# --- Iteration counts ---


def check_slot_iterations(iterations: int, num_checkpoints: int = NUM_CHECKPOINTS) -> int:
    """Slot iterations are a `NonZeroU32` and a multiple of 2 x checkpoints = 16 (spec §2, Prove 1).

    Returns the checkpoint iterations `iterations / num_checkpoints` (even by construction).
    Raises InvalidIterations or NotMultipleOfCheckpoints.
    """
    if not isinstance(iterations, int) or isinstance(iterations, bool):
        raise InvalidIterations(f"iterations must be an int, got {type(iterations).__name__}")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise InvalidIterations(f"iterations={iterations} is outside 1..{MAX_ITERATIONS}")
    if num_checkpoints < 1 or iterations % (2 * num_checkpoints):
        raise NotMultipleOfCheckpoints(
            f"iterations={iterations} is not a multiple of {2 * num_checkpoints} "
            f"(2 x {num_checkpoints} checkpoints)"
        )
    return iterations // num_checkpoints


# --- Keys, seeds, derived values ---


def pot_key(seed: bytes) -> bytes:
    """`PotSeed::key`: the AES-128 key of a slot is the first 16 bytes of blake3(seed) (spec §2, Prove 2)."""
    seed = _ensure_bytes(seed, BLOCK_SIZE, "seed")
    return blake3(seed).digest()[:BLOCK_SIZE]


def seed_with_entropy(output: bytes, entropy: bytes) -> bytes:
    """`PotOutput::seed_with_entropy`: blake3(entropy32 || output16)[0..16] (spec §2, Chaining slots)."""
    output = _ensure_bytes(output, BLOCK_SIZE, "output")
    entropy = _ensure_bytes(entropy, HASH_SIZE, "entropy")
    return blake3(entropy + output).digest()[:BLOCK_SIZE]


def pot_seed_from_genesis(genesis_block_hash: bytes, external_entropy: bytes = b"") -> bytes:
    """`PotSeed::from_genesis`: blake3(genesis_hash32 || external_entropy)[0..16] (spec §2).

    `external_entropy` is the UTF-8 of `potExternalEntropy` / `--pot-external-entropy`
    (mainnet: empty).
    """
    genesis_block_hash = _ensure_bytes(genesis_block_hash, HASH_SIZE, "genesis block hash")
    return blake3(genesis_block_hash + bytes(external_entropy)).digest()[:BLOCK_SIZE]


def global_randomness(output: bytes) -> bytes:
    """The global randomness of a slot is blake3(pot_output16), 32 bytes (spec §2, Derived values)."""
    output = _ensure_bytes(output, BLOCK_SIZE, "output")
    return blake3(output).digest()


def derive_global_challenge(randomness: bytes, slot: int) -> bytes:
    """`Randomness::derive_global_challenge`: blake3(randomness32 || u64_le(slot)) (spec §2)."""
    randomness = _ensure_bytes(randomness, HASH_SIZE, "global randomness")
    return blake3(randomness + slot.to_bytes(8, "little")).digest()


def global_challenge(output: bytes, slot: int) -> bytes:
    """The global challenge of `slot` from that slot's PoT output (spec §2, Derived values)."""
    return derive_global_challenge(global_randomness(output), slot)


def derive_pot_entropy(chunk: bytes, pot_output: bytes) -> bytes:
    """`subspace_verification::derive_pot_entropy`: blake3(solution.chunk32 || pot_output16)
    (spec §2, Entropy injection 1)."""
    chunk = _ensure_bytes(chunk, HASH_SIZE, "chunk")
    pot_output = _ensure_bytes(pot_output, BLOCK_SIZE, "pot output")
    return blake3(chunk + pot_output).digest()


# --- AES chains ---

#: Zero blocks fed to AES-CBC per call; the encryptor chains over them. 256 KiB of input and
#: 256 KiB of output stay in L2 (measured: 64 KiB loses ~4% to per-call cost, 4 MiB ~3% to cache).
_CHUNK_BLOCKS = 1 << 14
_ZEROS = bytes(_CHUNK_BLOCKS * BLOCK_SIZE)
_ZEROS_VIEW = memoryview(_ZEROS)


def _encrypt_checkpoints_openssl(block: bytes, key: bytes, step: int, count: int) -> list[bytes]:
    """Encrypt `block` under `key`, `step` times per checkpoint, `count` checkpoints (OpenSSL CBC).

    `cryptography` holds the GIL inside each `update_into`, so a prover on this path waits for
    the GIL between chunks: next to one busy Python thread a DEV slot took 4.6 s instead of 0.19 s.
    """
    encryptor = Cipher(algorithms.AES(key), modes.CBC(block)).encryptor()
    out = bytearray(min(step, _CHUNK_BLOCKS) * BLOCK_SIZE + BLOCK_SIZE)
    update_into = encryptor.update_into
    checkpoints = []
    for _ in range(count):
        remaining = step
        while remaining:
            n = min(remaining, _CHUNK_BLOCKS)
            update_into(_ZEROS_VIEW[: n * BLOCK_SIZE], out)
            remaining -= n
        checkpoints.append(bytes(out[(n - 1) * BLOCK_SIZE : n * BLOCK_SIZE]))
    return checkpoints


def _encrypt_checkpoints_native(block: bytes, key: bytes, step: int, count: int) -> list[bytes]:
    """The same chain in the native kernel, in one call with the GIL released: the prover runs
    on its own core at AES latency while Python threads run on the other."""
    out = _pot_native.encrypt_checkpoints(key, block, step, count)
    return [out[i : i + BLOCK_SIZE] for i in range(0, len(out), BLOCK_SIZE)]


def _native_prover_available() -> bool:
    try:
        return _pot_native is not None and len(_pot_native.encrypt_checkpoints(bytes(16), bytes(16), 1, 1)) == 16
    except RuntimeError:  # the CPU has no AES-NI
        return False


#: "native-aesni" (the kernel, GIL released) or "openssl"; `use_prover` switches it.
PROVER = "native-aesni" if _native_prover_available() else "openssl"


def use_prover(name: str | None = None) -> str:
    """Select the prover's AES chain: "native-aesni", "openssl", or None for the best available.
    Returns the name now in use (module global PROVER)."""
    global PROVER
    if name is None:
        name = "native-aesni" if _native_prover_available() else "openssl"
    if name == "native-aesni" and not _native_prover_available():
        raise ValueError(f"PoT prover {name!r} is unavailable (native kernel built: {_pot_native is not None})")
    if name not in ("native-aesni", "openssl"):
        raise ValueError(f"unknown PoT prover {name!r}: 'native-aesni' or 'openssl'")
    PROVER = name
    return PROVER


def _encrypt_checkpoints(block: bytes, key: bytes, step: int, count: int) -> list[bytes]:
    """Encrypt `block` under `key`, `step` times per checkpoint, `count` checkpoints, with the
    prover selected by `PROVER`."""
    if PROVER == "native-aesni":
        return _encrypt_checkpoints_native(block, key, step, count)
    return _encrypt_checkpoints_openssl(block, key, step, count)


def aes_create(seed: bytes, key: bytes, checkpoint_iterations: int) -> list[bytes]:
    """The crate-internal `aes::create(seed, key, checkpoint_iterations)` (spec §2, Prove 3-6).

    Start from `seed` and record the block after every `checkpoint_iterations` AES-128
    encryptions under `key`, 8 times; the chain runs on across checkpoints. The key is given,
    not derived (vector B1).
    """
    seed = _ensure_bytes(seed, BLOCK_SIZE, "seed")
    key = _ensure_bytes(key, BLOCK_SIZE, "key")
    if checkpoint_iterations < 1:
        raise InvalidIterations(f"checkpoint_iterations={checkpoint_iterations} must be positive")
    return _encrypt_checkpoints(seed, key, checkpoint_iterations, NUM_CHECKPOINTS)


def prove(seed: bytes, iterations: int) -> list[bytes]:
    """`subspace_proof_of_time::prove`: the 8 checkpoints of `iterations` AES-128 encryptions
    of `seed` under `pot_key(seed)`, one every iterations/8 (spec §2, Prove).

    Raises NotMultipleOfCheckpoints / InvalidIterations for a bad count and InvalidPotInput
    for a seed that is not 16 bytes. The output of the slot is the last checkpoint.
    """
    checkpoint_iterations = check_slot_iterations(iterations)
    return aes_create(seed, pot_key(seed), checkpoint_iterations)


def pot_output(checkpoints: Sequence[bytes]) -> bytes:
    """`PotCheckpoints::output`: the last checkpoint (spec §2, Prove 7)."""
    return bytes(checkpoints[-1])


# --- Verification ---

_NATIVE_BACKENDS = {"vaes-avx512", "aesni"}
#: With plain AES-NI, lanes 0-3 and 4-7 run on two cores (the GIL is released) from this many
#: checkpoint iterations on: 8 chains per core still fill the AES unit, so it is ~1.7x faster.
#: With VAES one core already runs all 16 chains near the AES latency bound (two threads gained
#: under 25%, while taking a second core), so it stays on one thread.
_SPLIT_MIN_CHECKPOINT_ITERATIONS = 1 << 17
_helper_pool = None
_helper_pool_lock = threading.Lock()


def _split_over_two_cores(checkpoint_iterations: int) -> bool:
    return (
        BACKEND == "native-aesni"
        and checkpoint_iterations >= _SPLIT_MIN_CHECKPOINT_ITERATIONS
        and (os.cpu_count() or 1) >= 2
    )


def _meet_in_the_middle_native(key: bytes, inputs: bytes, outputs: bytes, half: int, split: bool) -> int:
    """The native kernel over all lanes, or over lanes 4-7 on a helper thread while this
    thread does lanes 0-3."""
    if not split:
        return _pot_native.meet_in_the_middle(key, inputs, outputs, half)
    global _helper_pool
    with _helper_pool_lock:
        if _helper_pool is None:
            _helper_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pot-verify")
    middle = len(inputs) // 2
    upper = _helper_pool.submit(_pot_native.meet_in_the_middle, key, inputs[middle:], outputs[middle:], half)
    lower = _pot_native.meet_in_the_middle(key, inputs[:middle], outputs[:middle], half)
    upper = upper.result()
    if lower >= 0:
        return lower
    return upper + middle // BLOCK_SIZE if upper >= 0 else -1


def _native_best() -> str | None:
    if _pot_native is None:
        return None
    name = _pot_native.backend()
    return name if name in _NATIVE_BACKENDS else None


def use_backend(name: str | None = None) -> str:
    """Select the verification backend: "openssl", "native-aesni", "native-vaes-avx512", or
    None for the best available. Returns the name now in use (module global BACKEND)."""
    global BACKEND
    best = _native_best()
    if name is None:
        name = f"native-{best}" if best else "openssl"
    if name == "openssl":
        BACKEND = name
        return BACKEND
    if not name.startswith("native-") or _pot_native is None:
        raise ValueError(f"unknown or unavailable PoT backend {name!r} (native kernel built: {_pot_native is not None})")
    _pot_native.set_backend(name[len("native-") :])  # ValueError if the CPU lacks it
    BACKEND = name
    return BACKEND


BACKEND = "openssl"
use_backend()


def _lane_pairs(seed: bytes, checkpoints: Sequence[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Inputs `seed, cp0..cp6` and outputs `cp0..cp7` of the 8 lanes (spec §2, Verify)."""
    return [seed, *checkpoints[:-1]], list(checkpoints)


def _first_failing_lane(key: bytes, inputs: list[bytes], outputs: list[bytes], checkpoint_iterations: int) -> int:
    """-1 if every lane's input reaches its output in `checkpoint_iterations` encryptions, else
    the first lane that does not."""
    if BACKEND != "openssl":
        split = _split_over_two_cores(checkpoint_iterations)
        return _meet_in_the_middle_native(
            key, b"".join(inputs), b"".join(outputs), checkpoint_iterations // 2, split
        )
    for lane, (start, end) in enumerate(zip(inputs, outputs)):
        if _encrypt_checkpoints_openssl(start, key, checkpoint_iterations, 1)[0] != end:
            return lane
    return -1


def ensure_valid_proof(seed: bytes, iterations: int, checkpoints: Sequence[bytes]) -> None:
    """Check a PoT proof by meeting in the middle (spec §2, Verify); raise on any problem.

    `iterations % (2 x len(checkpoints)) == 0`; with c = iterations / len, lane i encrypts
    its input (seed, cp0..cp6) c/2 times and decrypts its output (cp0..cp7) c/2 times, and
    the two must meet. Raises InvalidPotInput (wrong count or length), InvalidIterations,
    NotMultipleOfCheckpoints, or InvalidPotProof naming the first checkpoint that does not
    follow.
    """
    seed = _ensure_bytes(seed, BLOCK_SIZE, "seed")
    if len(checkpoints) != NUM_CHECKPOINTS:
        raise InvalidPotInput(f"a proof has {NUM_CHECKPOINTS} checkpoints, got {len(checkpoints)}")
    checkpoints = [_ensure_bytes(cp, BLOCK_SIZE, f"checkpoint[{i}]") for i, cp in enumerate(checkpoints)]
    checkpoint_iterations = check_slot_iterations(iterations)
    inputs, outputs = _lane_pairs(seed, checkpoints)
    lane = _first_failing_lane(pot_key(seed), inputs, outputs, checkpoint_iterations)
    if lane >= 0:
        source = "the seed" if lane == 0 else f"checkpoint[{lane - 1}]"
        raise InvalidPotProof(
            f"checkpoint[{lane}] is not {checkpoint_iterations} AES iterations after {source} "
            f"(iterations={iterations})"
        )


def verify(seed: bytes, iterations: int, checkpoints: Sequence[bytes]) -> bool:
    """`subspace_proof_of_time::verify`: True iff `checkpoints` prove `iterations` from `seed`
    (spec §2, Verify).

    Returns False (never raises) for any value problem: a wrong checkpoint count or length,
    a seed that is not 16 bytes, an iteration count that is zero or not a multiple of 16, or
    a checkpoint that does not follow. `ensure_valid_proof` gives the reason as a typed error.
    """
    try:
        ensure_valid_proof(seed, iterations, checkpoints)
    except PotError:
        return False
    return True


# --- Chaining slots (spec §2, "Chaining slots") ---


@dataclass(frozen=True)
class PotParametersChange:
    """`PotParametersChange`: from `slot` on, slots take `slot_iterations`; the seed of `slot`
    itself mixes in `entropy` (spec §2)."""

    slot: int
    slot_iterations: int
    entropy: bytes


@dataclass(frozen=True)
class PotNextSlotInput:
    """`PotNextSlotInput`: what proving a slot needs (spec §2)."""

    slot: int
    slot_iterations: int
    seed: bytes

    @classmethod
    def derive(
        cls,
        base_slot_iterations: int,
        parent_slot: int,
        parent_output: bytes,
        change: PotParametersChange | None = None,
    ) -> PotNextSlotInput:
        """`PotNextSlotInput::derive` (see `derive_next_slot_input`)."""
        return derive_next_slot_input(base_slot_iterations, parent_slot, parent_output, change)


def derive_next_slot_input(
    base_slot_iterations: int,
    parent_slot: int,
    parent_output: bytes,
    change: PotParametersChange | None = None,
) -> PotNextSlotInput:
    """`PotNextSlotInput::derive` (spec §2, Chaining slots).

    The next slot is parent + 1. A change with `change.slot <= next_slot` sets the iterations;
    otherwise the base iterations apply. The seed is `seed_with_entropy(parent_output,
    change.entropy)` only when `change.slot == next_slot` exactly, else the parent output.
    """
    parent_output = _ensure_bytes(parent_output, BLOCK_SIZE, "parent output")
    next_slot = parent_slot + 1
    if change is not None and change.slot <= next_slot:
        slot_iterations = change.slot_iterations
        if change.slot == next_slot:
            seed = seed_with_entropy(parent_output, change.entropy)
        else:
            seed = parent_output
    else:
        slot_iterations = base_slot_iterations
        seed = parent_output
    return PotNextSlotInput(slot=next_slot, slot_iterations=slot_iterations, seed=seed)


def genesis_slot_input(genesis_block_hash: bytes, external_entropy: bytes, slot_iterations: int) -> PotNextSlotInput:
    """Slot 1 is proven from the genesis seed; slot 0 (genesis) has no proof (spec §2, Slots)."""
    return PotNextSlotInput(
        slot=1,
        slot_iterations=slot_iterations,
        seed=pot_seed_from_genesis(genesis_block_hash, external_entropy),
    )


# --- Entropy injection schedule (spec §2, "Entropy injection") ---


def is_entropy_block(block_number: int, params) -> bool:
    """A block whose number is a positive multiple of the injection interval stores
    `derive_pot_entropy(...)` for itself (spec §2, Entropy injection 1; genesis never does)."""
    return block_number > 0 and block_number % params.pot_entropy_injection_interval == 0


def entropy_source_block(block_number: int, params) -> int | None:
    """The block whose entropy block `block_number` injects: floor(N/interval)*interval -
    interval*lookback, or None when that is before the first entropy block (spec §2, Entropy
    injection 2, 4, 6)."""
    interval = params.pot_entropy_injection_interval
    source = block_number // interval * interval - interval * params.pot_entropy_injection_lookback_depth
    return source if source >= interval else None


def entropy_target_slot(block_slot: int, params) -> int:
    """The slot that an injection scheduled in a block of slot `block_slot` applies to:
    block_slot + delay (spec §2, Entropy injection 2)."""
    return block_slot + params.pot_entropy_injection_delay


# --- Changing iterations (spec §2, "Changing iterations") ---


@dataclass(frozen=True)
class PotSlotIterationsUpdate:
    """A requested iteration count, with the slot it applies at once an injection schedules it."""

    slot_iterations: int
    target_slot: int | None = None


@dataclass(frozen=True)
class PotSlotIterations:
    """The pallet's `PotSlotIterations` value: the count in force and an optional update."""

    slot_iterations: int
    update: PotSlotIterationsUpdate | None = None


def set_pot_slot_iterations(state: PotSlotIterations, slot_iterations: int) -> PotSlotIterations:
    """Root call `set_pot_slot_iterations(n)` (spec §2, Changing iterations).

    `n` must be a multiple of 16 and strictly greater than the count in force, and no update
    may already be scheduled (have a target slot); an update still waiting for an injection
    is replaced. Returns the new state; raises NotMultipleOfCheckpoints,
    PotSlotIterationsMustIncrease or PotSlotIterationsUpdateAlreadyScheduled.
    """
    check_slot_iterations(slot_iterations)
    if slot_iterations <= state.slot_iterations:
        raise PotSlotIterationsMustIncrease(
            f"slot_iterations={slot_iterations} is not greater than the current {state.slot_iterations}"
        )
    if state.update is not None and state.update.target_slot is not None:
        raise PotSlotIterationsUpdateAlreadyScheduled(
            f"an update to {state.update.slot_iterations} is already scheduled for slot {state.update.target_slot}"
        )
    return replace(state, update=PotSlotIterationsUpdate(slot_iterations=slot_iterations))


def schedule_pot_slot_iterations_update(state: PotSlotIterations, target_slot: int) -> PotSlotIterations:
    """An entropy injection scheduled for `target_slot` also schedules a waiting iteration update
    for that slot (spec §2, Entropy injection 3)."""
    if state.update is None or state.update.target_slot is not None:
        return state
    return replace(state, update=replace(state.update, target_slot=target_slot))


def slot_iterations_at(state: PotSlotIterations, slot: int) -> int:
    """The iterations of `slot`: the scheduled update's count from its target slot on, else the
    count in force (spec §2, Changing iterations: "applied at the next injection target slot")."""
    update = state.update
    if update is not None and update.target_slot is not None and update.target_slot <= slot:
        return update.slot_iterations
    return state.slot_iterations


def apply_pot_slot_iterations_update(state: PotSlotIterations, slot: int) -> PotSlotIterations:
    """Once a block's slot reaches the update's target slot, the update becomes the count in
    force (spec §2, Changing iterations)."""
    update = state.update
    if update is None or update.target_slot is None or update.target_slot > slot:
        return state
    return PotSlotIterations(slot_iterations=update.slot_iterations)


def pot_parameters_change(state: PotSlotIterations, target_slot: int, entropy: bytes) -> PotParametersChange:
    """The `PotParametersChange` log of an injection at `target_slot`: its entropy, and the
    iterations in force from that slot (spec §2, Entropy injection 4)."""
    entropy = _ensure_bytes(entropy, HASH_SIZE, "entropy")
    return PotParametersChange(
        slot=target_slot, slot_iterations=slot_iterations_at(state, target_slot), entropy=entropy
    )
