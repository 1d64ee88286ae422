"""Proof-of-Time (chain/pot.py, spec/consensus.md §2) against the vendored vectors.

Values come from tests/data/vectors/pot_vectors.txt (sections A and B) and the PoT lines of
consensus_vectors.txt (C2), parsed rather than retyped. Every verification test runs on each
available backend (the native kernel's code paths and the OpenSSL fallback).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chain import pot
from chain.params import DEV, MAINNET, TEST

VECTORS = Path(__file__).resolve().parent / "data" / "vectors"


def _parse(name: str) -> dict[str, str]:
    """`lhs = hexvalue` lines of a vector file, keyed by the stripped left-hand side."""
    values = {}
    for line in (VECTORS / name).read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        lhs, _, rhs = line.rpartition("=")
        rhs = rhs.strip()
        if re.fullmatch(r"[0-9a-f]+", rhs):
            values[lhs.strip()] = rhs
    return values


V = _parse("pot_vectors.txt")
C = _parse("consensus_vectors.txt")
h = bytes.fromhex

SEED, SEED_1 = h(V["SEED"]), h(V["SEED_1"])
KEY, KEY_1 = h(V["KEY"]), h(V["KEY_1"])
BAD_CIPHER = h(V["BAD_CIPHER"])
B1 = [h(V[f"checkpoint[{i}]"]) for i in range(8)]
SLOT1 = [h(V[f"slot1.checkpoint[{i}]"]) for i in range(8)]
SLOT2 = [h(V[f"slot2.checkpoint[{i}]"]) for i in range(8)]
ENTROPY = h(V["entropy (example)"])


def _available_backends() -> list[str]:
    names = ["openssl"]
    if pot._pot_native is not None:
        best = pot._pot_native.backend()
        if best in ("aesni", "vaes-avx512"):
            names.append("native-aesni")
        if best == "vaes-avx512":
            names.append("native-vaes-avx512")
    return names


@pytest.fixture(params=_available_backends())
def backend(request):
    """Run the test with one verification backend, then restore the default."""
    pot.use_backend(request.param)
    yield request.param
    pot.use_backend()


def _available_provers() -> list[str]:
    return ["openssl"] + (["native-aesni"] if pot.PROVER == "native-aesni" else [])


@pytest.fixture(params=_available_provers())
def prover(request):
    """Run the test with one prover (the AES chain behind `prove`), then restore the default."""
    pot.use_prover(request.param)
    yield request.param
    pot.use_prover()


native_only = pytest.mark.skipif(
    pot._pot_native is None or pot._pot_native.backend() == "none",
    reason="chain._pot_native not built or no AES-NI on this CPU",
)


def _raw_verify(seed: bytes, key: bytes, checkpoints, checkpoint_iterations: int) -> bool:
    """The crate-internal `aes::verify_sequential(seed, key, checkpoints, checkpoint_iterations)`
    form used by the upstream tests (key given, checkpoint iterations given)."""
    inputs, outputs = pot._lane_pairs(seed, list(checkpoints))
    if checkpoint_iterations % 2:
        return False
    return pot._first_failing_lane(key, inputs, outputs, checkpoint_iterations) < 0


def _flip_bit(block: bytes, bit: int) -> bytes:
    data = bytearray(block)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


# --- Vectors: proving ---


def test_b5_fips197_single_block(prover):
    """B5: one AES-128 step is FIPS-197 C.1 (each prover's chain with one iteration)."""
    line = next(l for l in (VECTORS / "pot_vectors.txt").read_text().splitlines() if l.startswith("## B5"))
    first, last, pt, ct = re.search(r"key=([0-9a-f]{2})[0-9a-f]*\.\.([0-9a-f]{2}), pt=([0-9a-f]{32})\) = ([0-9a-f]{32})", line).groups()
    key = bytes(range(int(first, 16), int(last, 16) + 1))  # "000102..0f"
    assert len(key) == 16
    assert pot._encrypt_checkpoints(h(pt), key, 1, 1) == [h(ct)]
    if pot._pot_native is not None and pot._pot_native.backend() != "none":
        assert pot._pot_native.encrypt_chain(key, h(pt), 1) == h(ct)


def test_b1_aes_create_all_checkpoints(prover):
    assert pot.aes_create(SEED, KEY, 20) == B1


def test_b2_prove_slot1(prover):
    assert pot.pot_key(SEED) == h(V["key"]) == h(V["blake3(SEED)"])[:16]
    checkpoints = pot.prove(SEED, TEST.pot_iterations)
    assert checkpoints == SLOT1
    assert pot.pot_output(checkpoints) == h(V["slot1.output (=checkpoint[7])"])


def test_b3_slot2_chains_from_slot1_output():
    nxt = pot.PotNextSlotInput.derive(TEST.pot_iterations, 1, pot.pot_output(SLOT1), None)
    assert nxt == pot.PotNextSlotInput(slot=2, slot_iterations=512, seed=SLOT1[7])
    assert pot.pot_key(nxt.seed) == h(V["slot2.key"])
    assert pot.prove(nxt.seed, nxt.slot_iterations) == SLOT2


def test_b4_derived_values():
    out = SLOT1[7]
    randomness = pot.global_randomness(out)
    assert randomness == h(V["global_randomness(slot1.output) = blake3(output)"])
    assert pot.derive_global_challenge(randomness, 1) == h(V["global_challenge(slot=1) = blake3(global_randomness || u64_le(1))"])
    assert pot.global_challenge(out, 1) == pot.derive_global_challenge(randomness, 1)
    assert pot.seed_with_entropy(out, ENTROPY) == h(V["seed_with_entropy(output=slot1.output, entropy) = blake3(entropy || output)[0..16]"])
    assert pot.pot_seed_from_genesis(bytes(32), b"") == h(V['PotSeed::from_genesis(genesis_hash=00*32, external_entropy=b"") = blake3(genesis_hash || ext)[0..16]'])
    assert pot.pot_seed_from_genesis(bytes(32), b"test") == h(V['PotSeed::from_genesis(genesis_hash=00*32, external_entropy=b"test")'])
    assert pot.derive_pot_entropy(b"\xaa" * 32, out) == h(V["derive_pot_entropy(chunk=aa*32, pot=slot1.output) = blake3(chunk || pot)"])
    # Side effect noted in the spec: the next slot's key is the start of this slot's randomness.
    assert pot.pot_key(out) == randomness[:16]


def test_c2_pot_output_and_global_challenge():
    out = pot.pot_output(pot.prove(bytes(16), 1024))
    assert out == h(C["pot output = prove(seed=00*16, 1024).output"])
    assert pot.global_challenge(out, 42) == h(C["global_challenge(slot=42)"])


def test_genesis_slot_input_is_slot_one():
    start = pot.genesis_slot_input(bytes(32), b"test", TEST.pot_iterations)
    assert start.slot == 1 and start.seed == pot.pot_seed_from_genesis(bytes(32), b"test")


# --- Verification: positive and negative (upstream aes.rs cases) ---


def test_verify_vectors(backend):
    assert pot.verify(SEED, 512, SLOT1)
    assert pot.verify(SLOT1[7], 512, SLOT2)
    assert pot.verify(bytes(16), 1024, pot.prove(bytes(16), 1024))


def test_raw_upstream_cases(backend):
    """aes::create(SEED, KEY, 20) verifies with (SEED, KEY, 20) only (upstream aes.rs tests)."""
    assert _raw_verify(SEED, KEY, B1, 20)
    assert not _raw_verify(SEED, KEY, B1, 18)
    assert not _raw_verify(SEED, KEY, B1, 22)
    assert not _raw_verify(SEED_1, KEY, B1, 20)
    assert not _raw_verify(SEED, KEY_1, B1, 20)
    assert not _raw_verify(SEED, KEY, [BAD_CIPHER, *B1[1:]], 20)


def test_every_checkpoint_bit_flip_fails(backend):
    for i in range(8):
        for bit in (0, 77, 127):
            bad = list(SLOT1)
            bad[i] = _flip_bit(bad[i], bit)
            assert not pot.verify(SEED, 512, bad), (i, bit)
            with pytest.raises(pot.InvalidPotProof, match=rf"checkpoint\[{i}\]"):
                pot.ensure_valid_proof(SEED, 512, bad)


def test_public_negative_cases(backend):
    assert not pot.verify(SEED, 512 - 16, SLOT1)
    assert not pot.verify(SEED, 512 + 16, SLOT1)
    assert not pot.verify(SEED_1, 512, SLOT1)
    assert not pot.verify(SEED, 512, [BAD_CIPHER, *SLOT1[1:]])
    assert not pot.verify(_flip_bit(SEED, 5), 512, SLOT1)


def test_wrong_shapes_are_false_or_typed_errors():
    assert not pot.verify(SEED, 512, SLOT1[:7])
    assert not pot.verify(SEED, 512, [*SLOT1, SLOT1[0]])
    assert not pot.verify(SEED, 512, [])
    assert not pot.verify(SEED, 512, [*SLOT1[:7], SLOT1[7][:15]])
    assert not pot.verify(SEED[:15], 512, SLOT1)
    assert not pot.verify(SEED, 513, SLOT1)
    assert not pot.verify(SEED, 0, SLOT1)
    assert not pot.verify(16, 512, SLOT1)  # not bytes (bytes(16) would be a valid-looking seed)
    with pytest.raises(pot.InvalidPotInput, match="8 checkpoints, got 7"):
        pot.ensure_valid_proof(SEED, 512, SLOT1[:7])
    with pytest.raises(pot.InvalidPotInput, match=r"checkpoint\[7\] must be 16 bytes, got 15"):
        pot.ensure_valid_proof(SEED, 512, [*SLOT1[:7], SLOT1[7][:15]])
    with pytest.raises(pot.NotMultipleOfCheckpoints, match="iterations=520 is not a multiple of 16"):
        pot.ensure_valid_proof(SEED, 520, SLOT1)


def test_prove_rejects_bad_iterations():
    for bad in (513, 520, 8, 24):
        with pytest.raises(pot.NotMultipleOfCheckpoints, match=f"iterations={bad} is not a multiple of 16"):
            pot.prove(SEED, bad)
    for bad in (0, -16, 1 << 32):
        with pytest.raises(pot.InvalidIterations):
            pot.prove(SEED, bad)
    with pytest.raises(pot.InvalidPotInput, match="seed must be 16 bytes, got 15"):
        pot.prove(SEED[:15], 512)
    assert issubclass(pot.NotMultipleOfCheckpoints, pot.PotError)
    assert issubclass(pot.PotError, ValueError)


def test_prove_crosses_chunk_boundaries():
    """Checkpoint spans larger than the zero buffer chain across OpenSSL calls correctly."""
    step = pot._CHUNK_BLOCKS + 3
    native = pot._pot_native if pot._pot_native is not None and pot._pot_native.backend() != "none" else None
    checkpoints = pot.aes_create(SEED, KEY, step)
    if native is not None:
        assert checkpoints[0] == native.encrypt_chain(KEY, SEED, step)
        assert checkpoints[7] == native.encrypt_chain(KEY, SEED, 8 * step)
    else:  # one block at a time through plain ECB
        enc = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()
        block = SEED
        for _ in range(step):
            block = enc.update(block)
        assert checkpoints[0] == block
    for backend_name in _available_backends():
        pot.use_backend(backend_name)
        assert _raw_verify(SEED, KEY, checkpoints, step + 1) is False
    pot.use_backend()


# --- Native kernel vs fallback ---


@native_only
def test_native_and_fallback_agree_on_random_seeds():
    rng = __import__("random").Random(1234)
    for trial in range(12):
        seed = rng.randbytes(16)
        iterations = 16 * rng.randint(1, 200)
        checkpoints = pot.prove(seed, iterations)
        if trial % 3 == 1:
            i = rng.randrange(8)
            checkpoints[i] = _flip_bit(checkpoints[i], rng.randrange(128))
        elif trial % 3 == 2:
            iterations += 16
        results = {}
        for name in _available_backends():
            pot.use_backend(name)
            results[name] = pot.verify(seed, iterations, checkpoints)
        pot.use_backend()
        assert len(set(results.values())) == 1, results
        assert results["openssl"] is (trial % 3 == 0)


@native_only
def test_native_lane_split_matches_single_call():
    """The two-core split (lanes 0-3 and 4-7) reports the same first failing lane."""
    key = pot.pot_key(SEED)
    inputs, outputs = pot._lane_pairs(SEED, SLOT1)
    for bad_lane in (-1, 2, 6):
        outs = list(outputs)
        if bad_lane >= 0:
            outs[bad_lane] = _flip_bit(outs[bad_lane], 1)
        args = (key, b"".join(inputs), b"".join(outs), 32)
        assert pot._meet_in_the_middle_native(*args, split=False) == bad_lane
        assert pot._meet_in_the_middle_native(*args, split=True) == bad_lane


@native_only
def test_native_chain_inverse_and_argument_checks():
    native = pot._pot_native
    assert native.decrypt_chain(KEY, native.encrypt_chain(KEY, SEED, 1000), 1000) == SEED
    with pytest.raises(ValueError):
        native.meet_in_the_middle(KEY[:15], SEED * 8, SEED * 8, 1)
    with pytest.raises(ValueError):
        native.meet_in_the_middle(KEY, SEED * 9, SEED * 9, 1)
    with pytest.raises(ValueError):
        native.meet_in_the_middle(KEY, SEED * 8, SEED * 7, 1)
    with pytest.raises(ValueError):
        pot.use_backend("native-quantum")


@native_only
def test_native_prover_matches_openssl_and_checks_arguments():
    native = pot._pot_native
    for step, count in ((1, 1), (3, 8), (1000, 8), (1 << 14 | 5, 3)):
        want = pot._encrypt_checkpoints_openssl(SEED, KEY, step, count)
        assert pot._encrypt_checkpoints_native(SEED, KEY, step, count) == want
    # the chain runs on across checkpoints: the second of two is the first of one at twice the step
    assert native.encrypt_checkpoints(KEY, SEED, 7, 2)[16:] == native.encrypt_chain(KEY, SEED, 14)
    for bad in ((KEY[:15], SEED, 1, 1), (KEY, SEED + b"x", 1, 1), (KEY, SEED, 0, 1), (KEY, SEED, 1, 0),
                (KEY, SEED, 1, 1025), (KEY, SEED, -1, 1), (KEY, SEED, 1, -1)):
        with pytest.raises(ValueError):
            native.encrypt_checkpoints(*bad)
    with pytest.raises(ValueError):
        native.encrypt_chain(KEY, SEED, -1)  # not 2^64 - 1 iterations
    with pytest.raises(ValueError):
        native.decrypt_chain(KEY, SEED, -1)


def test_prover_is_reported_and_switchable():
    assert pot.PROVER in ("native-aesni", "openssl")
    try:
        assert pot.use_prover("openssl") == "openssl"
        assert pot.prove(SEED, TEST.pot_iterations) == SLOT1
        with pytest.raises(ValueError, match="unknown PoT prover"):
            pot.use_prover("gpu")
        assert pot.PROVER == "openssl"
    finally:
        pot.use_prover()
    assert pot.PROVER == ("native-aesni" if pot._native_prover_available() else "openssl")


def test_backend_is_reported():
    assert pot.BACKEND in ("native-vaes-avx512", "native-aesni", "openssl")
    assert pot.use_backend("openssl") == "openssl"
    assert pot.use_backend() == pot.BACKEND


# --- Chaining slots ---

CHANGE_ITERS = 1024


def test_next_slot_without_change_uses_base_iterations_and_output():
    nxt = pot.derive_next_slot_input(512, 9, SLOT1[7], None)
    assert (nxt.slot, nxt.slot_iterations, nxt.seed) == (10, 512, SLOT1[7])


def test_next_slot_with_injection_exactly_at_next_slot():
    change = pot.PotParametersChange(slot=10, slot_iterations=CHANGE_ITERS, entropy=ENTROPY)
    nxt = pot.PotNextSlotInput.derive(512, 9, SLOT1[7], change)
    assert nxt.slot == 10 and nxt.slot_iterations == CHANGE_ITERS
    assert nxt.seed == pot.seed_with_entropy(SLOT1[7], ENTROPY) == h(V["seed_with_entropy(output=slot1.output, entropy) = blake3(entropy || output)[0..16]"])


def test_next_slot_after_change_slot_keeps_iterations_without_entropy():
    change = pot.PotParametersChange(slot=7, slot_iterations=CHANGE_ITERS, entropy=ENTROPY)
    nxt = pot.derive_next_slot_input(512, 9, SLOT1[7], change)
    assert (nxt.slot, nxt.slot_iterations, nxt.seed) == (10, CHANGE_ITERS, SLOT1[7])


def test_next_slot_before_change_slot_uses_base():
    change = pot.PotParametersChange(slot=11, slot_iterations=CHANGE_ITERS, entropy=ENTROPY)
    nxt = pot.derive_next_slot_input(512, 9, SLOT1[7], change)
    assert (nxt.slot, nxt.slot_iterations, nxt.seed) == (10, 512, SLOT1[7])


# --- Iteration changes and the injection schedule ---


def test_check_slot_iterations_rules():
    assert pot.check_slot_iterations(MAINNET.pot_iterations) == MAINNET.pot_iterations // 8
    assert pot.check_slot_iterations(DEV.pot_iterations) == DEV.pot_iterations // 8
    with pytest.raises(pot.NotMultipleOfCheckpoints):
        pot.check_slot_iterations(MAINNET.pot_iterations + 8)


def test_set_pot_slot_iterations_rules():
    state = pot.PotSlotIterations(slot_iterations=512)
    with pytest.raises(pot.NotMultipleOfCheckpoints, match="iterations=1000 is not a multiple of 16"):
        pot.set_pot_slot_iterations(state, 1000)
    with pytest.raises(pot.PotSlotIterationsMustIncrease):
        pot.set_pot_slot_iterations(state, 512)
    with pytest.raises(pot.PotSlotIterationsMustIncrease):
        pot.set_pot_slot_iterations(state, 496)
    pending = pot.set_pot_slot_iterations(state, 1024)
    assert pending.update == pot.PotSlotIterationsUpdate(slot_iterations=1024, target_slot=None)
    # Not yet scheduled: a new request replaces it.
    pending = pot.set_pot_slot_iterations(pending, 2048)
    assert pending.update.slot_iterations == 2048
    scheduled = pot.schedule_pot_slot_iterations_update(pending, target_slot=40)
    assert scheduled.update.target_slot == 40
    assert pot.schedule_pot_slot_iterations_update(scheduled, 99) == scheduled  # only the first injection
    with pytest.raises(pot.PotSlotIterationsUpdateAlreadyScheduled, match="slot 40"):
        pot.set_pot_slot_iterations(scheduled, 4096)
    # The change applies from the injection's target slot on.
    assert pot.slot_iterations_at(scheduled, 39) == 512
    assert pot.slot_iterations_at(scheduled, 40) == 2048
    assert pot.apply_pot_slot_iterations_update(scheduled, 39) == scheduled
    applied = pot.apply_pot_slot_iterations_update(scheduled, 41)
    assert applied == pot.PotSlotIterations(slot_iterations=2048)
    change = pot.pot_parameters_change(scheduled, 40, ENTROPY)
    assert change == pot.PotParametersChange(slot=40, slot_iterations=2048, entropy=ENTROPY)
    nxt = pot.derive_next_slot_input(pot.slot_iterations_at(scheduled, 39), 39, SLOT1[7], change)
    assert nxt.slot_iterations == 2048 and nxt.seed == pot.seed_with_entropy(SLOT1[7], ENTROPY)


def test_entropy_injection_schedule_mainnet():
    assert not pot.is_entropy_block(0, MAINNET)
    assert pot.is_entropy_block(50, MAINNET) and not pot.is_entropy_block(51, MAINNET)
    # The first injection uses block 50's entropy, set at block 150 (spec §2, Entropy injection 6).
    assert pot.entropy_source_block(149, MAINNET) is None
    assert pot.entropy_source_block(150, MAINNET) == 50
    assert pot.entropy_source_block(199, MAINNET) == 50
    assert pot.entropy_source_block(200, MAINNET) == 100
    assert pot.entropy_target_slot(1000, MAINNET) == 1015
    assert pot.entropy_source_block(15, TEST) == 5 and pot.entropy_target_slot(20, TEST) == 24


def test_verify_at_dev_iterations(backend):
    """One proof at the DEV preset's real slot iterations (2^24) round-trips on every backend."""
    checkpoints = pot.prove(SEED, DEV.pot_iterations)
    assert pot.verify(SEED, DEV.pot_iterations, checkpoints)
    assert not pot.verify(SEED, DEV.pot_iterations - 16, checkpoints)
