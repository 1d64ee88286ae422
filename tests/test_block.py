"""Blocks, digests, consensus logs, seal, justification (chain/block.py, spec §8 "Header")."""

import random
from dataclasses import replace

import pytest

from chain import block as B
from chain.farming.solution import Solution, solution_size
from chain.keys import Ed25519Signer
from chain.params import DEV, MAINNET, TEST
from chain.scale import encode_compact

ALL_PARAMS = [TEST, DEV, MAINNET]


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def random_solution(rng, params, public_key=None):
    return Solution(
        public_key=public_key or rand_bytes(rng, 32),
        reward_address=rand_bytes(rng, 32),
        sector_index=rng.randrange(1 << 16),
        history_size=rng.randrange(1, 1 << 64),
        piece_offset=rng.randrange(1 << 16),
        record_commitment=rand_bytes(rng, 48),
        record_witness=rand_bytes(rng, 48),
        chunk=rand_bytes(rng, 32),
        chunk_witness=rand_bytes(rng, 48),
        proof_of_space=rand_bytes(rng, params.pos_proof_size),
    )


def random_pre_digest(rng, params, public_key=None):
    return B.PreDigest(
        slot=rng.randrange(1 << 64),
        solution=random_solution(rng, params, public_key),
        pot_info=B.PotInfo(rand_bytes(rng, 16), rand_bytes(rng, 16)),
    )


def random_logs(rng):
    return [
        B.PotSlotIterations(rng.randrange(1, 1 << 32)),
        B.SolutionRange(rng.randrange(1 << 64)),
        B.PotParametersChange(rng.randrange(1 << 64), rng.randrange(1, 1 << 32), rand_bytes(rng, 32)),
        B.NextSolutionRange(rng.randrange(1 << 64)),
        B.SegmentCommitment(rng.randrange(1 << 64), rand_bytes(rng, 48)),
        B.EnableSolutionRangeAdjustmentAndOverride(None),
        B.EnableSolutionRangeAdjustmentAndOverride(rng.randrange(1 << 64)),
        B.RootPlotPublicKeyUpdate(None),
        B.RootPlotPublicKeyUpdate(rand_bytes(rng, 32)),
    ]


def random_header(rng, params, public_key=None, number=None):
    return B.Header(
        parent_hash=rand_bytes(rng, 32),
        number=rng.randrange(1 << 32) if number is None else number,
        state_root=rand_bytes(rng, 32),
        extrinsics_root=rand_bytes(rng, 32),
        digest=B.make_digest(random_pre_digest(rng, params, public_key), random_logs(rng)),
    )


def random_justification(rng, n=None):
    n = rng.randrange(0, 6) if n is None else n
    return B.PotCheckpointsJustification(
        rand_bytes(rng, 16), tuple(tuple(rand_bytes(rng, 16) for _ in range(8)) for _ in range(n))
    )


# --- consensus logs -----------------------------------------------------------------------


def test_consensus_log_encodings_exact():
    assert B.encode_consensus_log(B.PotSlotIterations(256)).hex() == "00" + "00010000"
    assert B.encode_consensus_log(B.SolutionRange(1)).hex() == "01" + "0100000000000000"
    change = B.PotParametersChange(5, 7, b"\x11" * 32)
    assert B.encode_consensus_log(change).hex() == "02" + "0500000000000000" + "07000000" + "11" * 32
    assert change.encode() == B.encode_consensus_log(change)[1:]
    assert B.PotParametersChange.decode(change.encode()) == change
    assert B.encode_consensus_log(B.NextSolutionRange(2)).hex() == "03" + "0200000000000000"
    assert B.encode_consensus_log(B.SegmentCommitment(3, b"\x22" * 48)).hex() == "04" + "0300000000000000" + "22" * 48
    assert B.encode_consensus_log(B.EnableSolutionRangeAdjustmentAndOverride(None)).hex() == "0500"
    assert B.encode_consensus_log(B.EnableSolutionRangeAdjustmentAndOverride(9)).hex() == "0501" + "0900000000000000"
    assert B.encode_consensus_log(B.RootPlotPublicKeyUpdate(None)).hex() == "0600"
    assert B.encode_consensus_log(B.RootPlotPublicKeyUpdate(b"\x33" * 32)).hex() == "0601" + "33" * 32


def test_consensus_log_round_trip_and_errors():
    rng = random.Random(7)
    for _ in range(20):
        for log in random_logs(rng):
            enc = B.encode_consensus_log(log)
            assert B.decode_consensus_log(enc) == log
            with pytest.raises(B.InvalidEncoding):
                B.decode_consensus_log(enc[:-1])
            with pytest.raises(B.InvalidEncoding, match="trailing"):
                B.decode_consensus_log(enc + b"\x00")
    for bad in [b"", b"\x07", b"\x00\x00\x00\x00\x00", b"\x05\x02", b"\x06\x02"]:
        with pytest.raises(B.InvalidEncoding):
            B.decode_consensus_log(bad)
    with pytest.raises(ValueError):
        B.PotSlotIterations(0)
    with pytest.raises(ValueError):
        B.SolutionRange(1 << 64)
    with pytest.raises(ValueError):
        B.SegmentCommitment(0, b"\x00" * 47)


# --- pre-digest -----------------------------------------------------------------------------


@pytest.mark.parametrize("params", ALL_PARAMS, ids=lambda p: p.name)
def test_pre_digest_round_trip(params):
    rng = random.Random(params.name)
    for _ in range(5):
        pd = random_pre_digest(rng, params)
        enc = pd.encode()
        assert len(enc) == 1 + 8 + solution_size(params) + 1 + 32
        assert enc[0] == 0 and enc[9 + solution_size(params)] == 0
        assert enc[1:9] == pd.slot.to_bytes(8, "little")
        assert enc[9 : 9 + solution_size(params)] == pd.solution.encode()
        assert B.PreDigest.decode(enc, params) == pd
        for bad in (enc[:-1], enc + b"\x00", b"\x01" + enc[1:]):
            with pytest.raises(B.InvalidPreDigest):
                B.PreDigest.decode(bad, params)


def test_mainnet_pre_digest_size():
    assert solution_size(MAINNET) == 412
    rng = random.Random(0)
    assert len(random_pre_digest(rng, MAINNET).encode()) == 1 + 8 + 412 + 33


# --- digest items, header ---------------------------------------------------------------------


def test_digest_item_encodings_exact():
    assert B.encode_digest_item(B.PreRuntime(b"SUB_", b"\xab")).hex() == "06" + b"SUB_".hex() + "04ab"
    assert B.encode_digest_item(B.Consensus(b"SUB_", b"")).hex() == "04" + b"SUB_".hex() + "00"
    assert B.encode_digest_item(B.Seal(b"SUB_", b"\x01" * 64)).hex() == "05" + b"SUB_".hex() + "0101" + "01" * 64
    assert B.encode_digest_item(B.Other(b"xy")).hex() == "00" + "08" + b"xy".hex()
    assert B.encode_digest_item(B.RuntimeEnvironmentUpdated()).hex() == "08"
    with pytest.raises(B.scale.ScaleError, match="unknown DigestItem index 7"):
        B.decode_digest_item(b"\x07", 0)


def test_header_encoding_layout():
    h = B.Header(b"\x01" * 32, 69, b"\x02" * 32, b"\x03" * 32, (B.Other(b"z"),))
    enc = h.encode()
    assert enc == b"\x01" * 32 + bytes.fromhex("1501") + b"\x02" * 32 + b"\x03" * 32 + bytes.fromhex("04" "00" "04") + b"z"
    import hashlib

    assert h.hash() == hashlib.blake2b(enc, digest_size=32).digest()
    assert B.Header.decode(enc, TEST) == h


@pytest.mark.parametrize("params", ALL_PARAMS, ids=lambda p: p.name)
def test_header_round_trip_and_accessors(params):
    rng = random.Random("h" + params.name)
    signer = Ed25519Signer.dev("farmer")
    for _ in range(3):
        h = random_header(rng, params, signer.public_key)
        h = h.with_digest((*h.digest, B.Other(rand_bytes(rng, 5)), B.RuntimeEnvironmentUpdated()))
        enc = h.encode()
        assert B.Header.decode(enc, params) == h
        assert h.pre_digest(params) == B.PreDigest.decode(h.digest[0].data, params)
        assert h.consensus_logs() == [B.decode_consensus_log(i.data) for i in h.digest if isinstance(i, B.Consensus)]
        assert len(h.consensus_logs()) == 9
        assert h.seal() is None and h.without_seal() == h
        sealed = B.seal_header(h, signer)
        assert len(sealed.seal()) == 64
        assert sealed.without_seal() == h
        assert sealed.pre_seal_hash() == h.hash() != sealed.hash()
        assert B.Header.decode(sealed.encode(), params) == sealed
        assert B.check_seal(sealed, params) == h.pre_digest(params)
        assert sealed.label.startswith(f"#{h.number} (0x")


def test_header_decode_errors():
    rng = random.Random(3)
    h = random_header(rng, TEST)
    enc = h.encode()
    for cut in (0, 1, 31, 33, 100, len(enc) - 1):
        with pytest.raises(B.InvalidEncoding, match="offset"):
            B.Header.decode(enc[:cut], TEST)
    with pytest.raises(B.InvalidEncoding, match="trailing"):
        B.Header.decode(enc + b"\x00", TEST)
    # number above u32
    bad = b"\x00" * 32 + encode_compact(1 << 32) + b"\x00" * 64 + b"\x00"
    with pytest.raises(B.InvalidEncoding, match="u32"):
        B.Header.decode(bad, TEST)
    # random garbage never raises anything but InvalidEncoding
    for _ in range(200):
        junk = rand_bytes(rng, rng.randrange(0, 200))
        try:
            B.Header.decode(junk, TEST)
        except B.InvalidEncoding:
            pass
    assert issubclass(B.InvalidEncoding, B.InvalidBlock)


def test_pre_digest_missing_duplicate_garbage():
    rng = random.Random(4)
    h = random_header(rng, TEST)
    with pytest.raises(B.InvalidPreDigest, match="no Subspace pre-digest"):
        h.with_digest(h.digest[1:]).pre_digest(TEST)
    with pytest.raises(B.InvalidPreDigest, match="2 Subspace pre-digests"):
        h.with_digest((h.digest[0], *h.digest)).pre_digest(TEST)
    with pytest.raises(B.InvalidPreDigest, match=f"block #{h.number}"):
        h.with_digest((B.PreRuntime(B.ENGINE_ID, b"\x00\x01"),)).pre_digest(TEST)
    # Decoding at the wrong params (other proof size) fails cleanly.
    assert DEV.pos_proof_size != MAINNET.pos_proof_size
    with pytest.raises(B.InvalidPreDigest, match="undecodable"):
        random_header(rng, MAINNET).pre_digest(DEV)
    # Another engine's pre-runtime item is ignored.
    other = h.with_digest((B.PreRuntime(b"aura", b"\x00"), *h.digest))
    assert other.pre_digest(TEST) == h.pre_digest(TEST)
    bad_log = h.with_digest((*h.digest, B.Consensus(B.ENGINE_ID, b"\x09")))
    with pytest.raises(B.InvalidEncoding, match="digest item 10"):
        bad_log.consensus_logs()


# --- seal -----------------------------------------------------------------------------------


def sealed_header(params, rng, signer):
    return B.seal_header(random_header(rng, params, signer.public_key), signer)


def test_seal_rejects_tampering():
    rng = random.Random(5)
    signer = Ed25519Signer.dev("farmer")
    sealed = sealed_header(TEST, rng, signer)
    B.check_seal(sealed, TEST)
    sig = sealed.seal()
    tampered = [
        replace(sealed, parent_hash=bytes(32)),
        replace(sealed, number=sealed.number ^ 1),
        replace(sealed, state_root=bytes(32)),
        replace(sealed, extrinsics_root=bytes(32)),
        # a consensus log changed
        sealed.with_digest((sealed.digest[0], B.consensus_log_item(B.SolutionRange(1)), *sealed.digest[2:])),
        # a log dropped
        sealed.with_digest((sealed.digest[0], *sealed.digest[2:])),
        # an item added before the seal
        sealed.with_digest((*sealed.digest[:-1], B.Other(b"x"), sealed.digest[-1])),
        # the pre-digest changed (slot), same farmer key
        sealed.with_digest(
            (
                B.pre_digest_item(replace(sealed.pre_digest(TEST), slot=(sealed.pre_digest(TEST).slot + 1) % (1 << 64))),
                *sealed.digest[1:],
            )
        ),
        # the signature changed
        sealed.with_digest((*sealed.digest[:-1], B.Seal(B.ENGINE_ID, bytes([sig[0] ^ 1]) + sig[1:]))),
    ]
    for i, header in enumerate(tampered):
        with pytest.raises(B.InvalidSeal, match="not a signature"):
            B.check_seal(header, TEST)


def test_seal_wrong_key_missing_malformed():
    rng = random.Random(6)
    farmer, other = Ed25519Signer.dev("farmer"), Ed25519Signer.dev("alice")
    unsealed = random_header(rng, TEST, farmer.public_key)
    with pytest.raises(B.InvalidSeal, match="not a signature"):
        B.check_seal(B.seal_header(unsealed, other), TEST)
    with pytest.raises(B.InvalidSeal, match="no Subspace seal"):
        B.check_seal(unsealed, TEST)
    with pytest.raises(B.InvalidSeal, match="no Subspace seal"):
        B.check_seal(unsealed.with_digest((*unsealed.digest, B.Seal(b"aura", b"\x00" * 64))), TEST)
    sealed = B.seal_header(unsealed, farmer)
    with pytest.raises(B.InvalidSeal, match="63 bytes"):
        B.check_seal(sealed.with_digest((*unsealed.digest, B.Seal(B.ENGINE_ID, sealed.seal()[:63]))), TEST)
    with pytest.raises(B.InvalidSeal, match="before the final seal"):
        B.check_seal(sealed.with_digest((*unsealed.digest, sealed.digest[-1], sealed.digest[-1])), TEST)
    with pytest.raises(B.InvalidPreDigest):
        B.check_seal(B.seal_header(unsealed.with_digest(unsealed.digest[1:]), farmer), TEST)
    with pytest.raises(ValueError, match="already sealed"):
        B.seal_header(sealed, farmer)
    err = None
    try:
        B.check_seal(unsealed, TEST)
    except B.InvalidSeal as e:
        err = e
    assert err.number == unsealed.number and err.block_hash == unsealed.hash()
    assert str(err).startswith(f"block #{unsealed.number} (0x")


# --- justification, blocks --------------------------------------------------------------------


def test_justification_round_trip_and_layout():
    rng = random.Random(8)
    for n in (0, 1, 5):
        j = random_justification(rng, n)
        enc = j.encode()
        assert enc[0] == 0 and enc[1:17] == j.seed and len(enc) == 17 + len(encode_compact(n)) + 128 * n
        assert B.PotCheckpointsJustification.decode(enc) == j
        with pytest.raises(B.InvalidEncoding):
            B.PotCheckpointsJustification.decode(enc[:-1])
        with pytest.raises(B.InvalidEncoding):
            B.PotCheckpointsJustification.decode(enc + b"\x00")
    with pytest.raises(ValueError):
        B.PotCheckpointsJustification(bytes(16), ((bytes(16),) * 7,))


@pytest.mark.parametrize("params", ALL_PARAMS, ids=lambda p: p.name)
def test_signed_block_round_trip(params):
    rng = random.Random("b" + params.name)
    signer = Ed25519Signer.dev("farmer")
    for justification in (None, random_justification(rng, 3), random_justification(rng, 0)):
        extrinsics = tuple(rand_bytes(rng, rng.randrange(1, 300)) for _ in range(rng.randrange(0, 5)))
        header = random_header(rng, params, signer.public_key).with_(extrinsics_root=B.extrinsics_root(extrinsics))
        block = B.Block(B.seal_header(header, signer), extrinsics)
        block.check_extrinsics_root()
        assert B.Block.decode(block.encode(), params) == block
        sb = B.SignedBlock(block, justification)
        enc = sb.encode()
        assert enc.startswith(block.encode())
        assert B.SignedBlock.decode(enc, params) == sb
        assert sb.hash() == block.header.hash() and sb.number == header.number
        if justification is None:
            assert enc[-1] == 0
        else:
            tail = enc[len(block.encode()) :]
            assert tail[:6] == b"\x01\x04SUB_"
        for cut in (0, len(enc) // 2, len(enc) - 1):
            with pytest.raises(B.InvalidEncoding, match="offset"):
                B.SignedBlock.decode(enc[:cut], params)
        with pytest.raises(B.InvalidEncoding, match="trailing"):
            B.SignedBlock.decode(enc + b"\x00", params)


def test_signed_block_rejects_foreign_justifications():
    rng = random.Random(9)
    block = B.Block(random_header(rng, TEST), (b"\x01",))
    base = block.encode()
    j = random_justification(rng, 1).encode()
    for tail in (
        b"\x01\x00",  # Some(empty list)
        b"\x01\x04FRNK" + encode_compact(len(j)) + j,  # another engine
        b"\x01\x08" + (b"SUB_" + encode_compact(len(j)) + j) * 2,  # two justifications
        b"\x02",  # bad option tag
        b"\x01\x04SUB_" + encode_compact(len(j) + 1) + j + b"\x00",  # trailing inside justification
    ):
        with pytest.raises(B.InvalidEncoding):
            B.SignedBlock.decode(base + tail, TEST)


def test_extrinsics_root():
    a, b, c = b"\x01abc", b"\x02defg", b"\x03" * 100
    root = B.extrinsics_root([a, b, c])
    assert len(root) == 32
    assert B.extrinsics_root([a, b, c]) == root
    assert B.extrinsics_root([b, a, c]) != root
    assert B.extrinsics_root([a, b]) != root
    assert B.extrinsics_root([a, b, c + b"\x00"]) != root
    assert B.extrinsics_root([]) == B.BLANK_ROOT
    assert B.extrinsics_root([a]) != B.BLANK_ROOT
    with pytest.raises(ValueError):
        B.extrinsics_root([a, b""])
    # Many extrinsics (keys 0..200 cross compact-encoding modes).
    many = [bytes([i % 256]) * (i + 1) for i in range(200)]
    assert B.extrinsics_root(many) != B.extrinsics_root(many[:-1])
    block = B.Block(random_header(random.Random(1), TEST), (a, b))
    with pytest.raises(B.WrongExtrinsicsRoot, match=f"block #{block.number}"):
        block.check_extrinsics_root()


def test_error_hierarchy():
    for cls in (
        B.InvalidEncoding, B.InvalidSeal, B.InvalidPreDigest, B.InvalidPotJustification, B.InvalidPotSeed,
        B.InvalidSolutionForSlot, B.SolutionOutOfRange, B.WrongSegmentHeaders, B.FutureSlot,
        B.SlotNotIncreasing, B.WrongStateRoot, B.WrongExtrinsicsRoot, B.WrongConsensusLogs, B.UnknownParent,
    ):
        assert issubclass(cls, B.InvalidBlock)
        err = cls("what failed", number=5, block_hash=b"\xaa" * 32)
        assert str(err) == "block #5 (0xaaaaaaaa…aaaa): what failed"
        assert str(cls("plain")) == "plain"
        assert type(cls("x").at(3, b"\x01" * 32)) is cls


def test_decoders_raise_only_typed_errors_on_mutations():
    rng = random.Random(10)
    signer = Ed25519Signer.dev("farmer")
    block = B.Block(sealed_header(TEST, rng, signer), (b"\x01\x02", b"\x03"))
    enc = B.SignedBlock(block, random_justification(rng, 2)).encode()
    for _ in range(300):
        data = bytearray(enc)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
        try:
            sb = B.SignedBlock.decode(bytes(data), TEST)
        except B.InvalidEncoding:
            continue
        try:
            sb.header.pre_digest(TEST)
            sb.header.consensus_logs()
            B.check_seal(sb.header, TEST)
        except B.InvalidBlock:
            pass
