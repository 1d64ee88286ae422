"""Archiving (spec §4): segment format, archiver, pieces, verification, reconstruction."""

import os
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from chain.archiving import (
    INITIAL_LAST_ARCHIVED_BLOCK,
    Archiver,
    ArchivingError,
    Block,
    BlockContinuation,
    BlockStart,
    InvalidSegment,
    InvalidSegmentHeader,
    LastArchivedBlock,
    ParentSegmentHeader,
    Reconstructor,
    ReconstructionError,
    SegmentHeader,
    chacha_keystream,
    decode_compact,
    decode_segment,
    encode_compact,
    encode_item,
    is_piece_valid,
    pad_genesis_block,
    piece_commitment,
    piece_record,
    piece_witness,
    reconstruct_piece,
    reconstruct_pieces,
    segment_data_from_pieces,
)
from chain.kzg import Kzg
from chain.params import DEV, TEST

VECTORS = Path(__file__).resolve().parent / "data" / "vectors" / "consensus_vectors.txt"


def segment_header_vector():
    """The C2 SegmentHeader line of the vectors: (SCALE encoding, blake3 hash)."""
    lines = VECTORS.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("SegmentHeader::V0{"):
            encoding = bytes.fromhex(line.split("SCALE = ")[1].strip())
            return encoding, lines[i + 1].split("=")[-1].strip()
    raise AssertionError("SegmentHeader vector not found")


VECTOR_ENCODING, VECTOR_HASH = segment_header_vector()


@pytest.fixture(scope="module")
def kzg():
    return Kzg.default()


# --------------------------------------------------------------------------- formats


def test_segment_header_vector():
    header = SegmentHeader(5, b"\x22" * 48, b"\x33" * 32, LastArchivedBlock(1234, 777))
    assert header.encode() == VECTOR_ENCODING
    assert header.hash().hex() == VECTOR_HASH
    assert SegmentHeader.decode(VECTOR_ENCODING) == header
    complete = SegmentHeader(0, b"\x01" * 48, bytes(32), LastArchivedBlock(7))
    assert complete.encode().endswith(b"\x07\x00\x00\x00\x00")
    assert SegmentHeader.decode(complete.encode()) == complete
    with pytest.raises(InvalidSegmentHeader):
        SegmentHeader.decode(VECTOR_ENCODING[:-1])
    with pytest.raises(InvalidSegmentHeader):
        SegmentHeader.decode(b"\x01" + VECTOR_ENCODING[1:])
    with pytest.raises(InvalidSegmentHeader):
        SegmentHeader.decode(VECTOR_ENCODING + b"\x00")


@pytest.mark.parametrize("value", [0, 1, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, (1 << 32) - 1, 1 << 40])
def test_compact_round_trip(value):
    encoded = encode_compact(value)
    assert decode_compact(encoded, 0) == (value, len(encoded))


def test_compact_known_encodings():
    assert encode_compact(1) == b"\x04"
    assert encode_compact(64) == b"\x01\x01"
    assert encode_compact(130_023_424) == (130_023_424 * 4 + 2).to_bytes(4, "little")


def test_segment_item_encodings():
    assert encode_item(Block(b"ab")) == b"\x01\x08ab"
    assert encode_item(BlockStart(b"ab")) == b"\x02\x08ab"
    assert encode_item(BlockContinuation(b"ab")) == b"\x03\x08ab"
    header = SegmentHeader.decode(VECTOR_ENCODING)
    assert encode_item(ParentSegmentHeader(header)) == b"\x04" + VECTOR_ENCODING
    data = b"\x00" + encode_item(ParentSegmentHeader(header)) + b"\x00" + encode_item(Block(b"xyz")) + bytes(50)
    assert decode_segment(data) == [ParentSegmentHeader(header), Block(b"xyz")]
    with pytest.raises(InvalidSegment):
        decode_segment(b"\x00\x09abc")
    with pytest.raises(InvalidSegment):
        decode_segment(b"\x00\x01\x40ab")  # length 16 but only 2 bytes


def test_chacha_keystream_matches_chacha20_reference():
    key = bytes(range(32))
    reference = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(bytes(300))
    assert chacha_keystream(key, 300, rounds=20) == reference
    # RFC 8439 §A.1 test vector 1: all-zero key, nonce, counter.
    assert chacha_keystream(bytes(32), 16, rounds=20).hex() == "76b8e0ada0f13d90405d6ae55386bd28"
    eight = chacha_keystream(key, 300)
    assert len(eight) == 300 and eight != reference[:300]
    assert chacha_keystream(key, 1000)[:300] == eight


# --------------------------------------------------------------------------- archiver


def piece_ok(kzg, segment, params):
    return all(
        is_piece_valid(kzg, piece, segment.segment_header.segment_commitment, i, params)
        for i, piece in enumerate(segment.pieces)
    )


def expected_last_archived(segments):
    """Replay the items of each segment to derive last_archived_block independently."""
    out, number, partial = [], None, None
    for segment in segments:
        items = decode_segment(segment_data_from_pieces(segment.pieces, segment_params(segment)))
        for item in items:
            if isinstance(item, Block):
                number = 0 if number is None else number + 1
                partial = None
            elif isinstance(item, BlockStart):
                number = 0 if number is None else number + 1
                partial = len(item.data)
            elif isinstance(item, BlockContinuation):
                partial += len(item.data)
        out.append((number, partial))
    return out


def segment_params(segment):
    return DEV if len(segment.pieces[0]) == DEV.piece_size else TEST


def archive_blocks(params, kzg, sizes, seed):
    rng = random.Random(seed)
    archiver = Archiver(params, kzg)
    genesis = rng.randbytes(100)
    state_root = rng.randbytes(32)
    segments = archiver.add_genesis_block(genesis, state_root)
    blocks = [pad_genesis_block(genesis, state_root, params)]
    for size in sizes:
        block = rng.randbytes(size)
        blocks.append(block)
        segments += archiver.add_block(block)
    return archiver, blocks, segments


@pytest.mark.parametrize("params", [TEST, DEV], ids=lambda p: p.name)
def test_archiver_round_trip(params, kzg):
    rng = random.Random(params.num_chunks)
    size = params.segment_size
    sizes = [rng.choice([1, 10, 200, size // 3, size // 2]) for _ in range(25)]
    sizes[7] = 2 * size + 123  # a block larger than a segment
    archiver, blocks, segments = archive_blocks(params, kzg, sizes, seed=params.num_raw_records)
    assert len(segments) >= 4

    # the header chain
    prev = bytes(32)
    for index, segment in enumerate(segments):
        header = segment.segment_header
        assert header.segment_index == index
        assert header.prev_segment_header_hash == prev
        prev = header.hash()
        assert len(segment.pieces) == params.num_pieces
        assert all(len(p) == params.piece_size for p in segment.pieces)

    # last_archived_block matches an independent replay of the segment items
    replay = expected_last_archived(segments)
    for segment, (number, partial) in zip(segments, replay):
        assert segment.segment_header.last_archived_block == LastArchivedBlock(number, partial)
    assert archiver.last_archived_block_number() == replay[-1][0]

    # every segment after the first starts with its parent's header
    for prev_segment, segment in zip(segments, segments[1:]):
        items = decode_segment(segment_data_from_pieces(segment.pieces, params))
        assert items[0] == ParentSegmentHeader(prev_segment.segment_header)

    # segments decode back to the original blocks
    reconstructor = Reconstructor(params)
    recovered = []
    for segment in segments:
        recovered += reconstructor.add_segment(segment.pieces).blocks
    assert [n for n, _ in recovered] == list(range(len(recovered)))
    assert [b for _, b in recovered] == blocks[: len(recovered)]
    last = segments[-1].segment_header.last_archived_block
    assert len(recovered) == last.number + (1 if last.is_complete else 0)

    # pieces verify
    for segment in segments[:3]:
        assert piece_ok(kzg, segment, params)


def test_genesis_segment(kzg):
    params = TEST
    archiver = Archiver(params, kzg)
    assert archiver.last_archived_block_number() is None
    assert archiver.last_archived_block == INITIAL_LAST_ARCHIVED_BLOCK
    genesis, root = b"genesis block", b"\x42" * 32
    (segment,) = archiver.add_genesis_block(genesis, root)
    size = params.segment_size
    padded = pad_genesis_block(genesis, root, params)
    assert len(padded) == size and padded.startswith(genesis)
    assert padded[len(genesis) :] == chacha_keystream(root, size - len(genesis))
    spill = 1 + 1 + len(encode_compact(size))  # variant, item index, compact length
    data = segment_data_from_pieces(segment.pieces, params)
    assert data == b"\x00\x02" + encode_compact(size - spill) + padded[: size - spill]
    items = decode_segment(data)
    assert items == [BlockStart(padded[: len(items[0].data)])]
    assert segment.segment_header.segment_index == 0
    assert segment.segment_header.prev_segment_header_hash == bytes(32)
    assert segment.segment_header.last_archived_block == LastArchivedBlock(0, len(items[0].data))
    assert len(data) == size and data[1] == 2
    # the tail spills into segment 1 as a continuation of block 0
    (segment1,) = archiver.add_block(os.urandom(size))
    items1 = decode_segment(segment_data_from_pieces(segment1.pieces, params))
    assert items1[0] == ParentSegmentHeader(segment.segment_header)
    assert items1[1] == BlockContinuation(padded[len(items[0].data) :])
    assert isinstance(items1[2], BlockStart)
    assert segment1.segment_header.last_archived_block.number == 1


def test_mainnet_sized_genesis_spill_is_six_bytes():
    # Spec §4: segment 0 = [0x00][0x02, Compact(len), SIZE−6 bytes] at the mainnet size.
    from chain.params import MAINNET

    size = MAINNET.segment_size
    assert 1 + 1 + len(encode_compact(size)) + size - size == 6
    assert len(encode_compact(size - 6)) == 4


def test_tampered_pieces_fail(kzg):
    params = DEV
    _, _, segments = archive_blocks(params, kzg, [params.segment_size // 2] * 2, seed=3)
    segment = segments[0]
    commitment = segment.segment_header.segment_commitment
    piece = segment.pieces[5]
    assert is_piece_valid(kzg, piece, commitment, 5, params)
    assert not is_piece_valid(kzg, piece, commitment, 4, params)
    assert not is_piece_valid(kzg, piece, segments[1].segment_header.segment_commitment, 5, params)
    rs, cs = params.record_size, params.commitment_size
    for offset in (1, 32 * 7 + 31, rs + 3, rs + cs + 3):  # record chunk, commitment, witness
        bad = bytearray(piece)
        bad[offset] ^= 0x01
        assert not is_piece_valid(kzg, bytes(bad), commitment, 5, params)
    bad = bytearray(piece)
    bad[0] = 0xFF  # a non-canonical chunk
    assert not is_piece_valid(kzg, bytes(bad), commitment, 5, params)
    assert not is_piece_valid(kzg, piece[:-1], commitment, 5, params)
    assert not is_piece_valid(kzg, piece, b"\x00" * 48, 5, params)
    assert piece_record(piece, params) + piece_commitment(piece, params) + piece_witness(piece, params) == piece


@pytest.mark.parametrize("params", [TEST, DEV], ids=lambda p: p.name)
def test_reconstruct_from_any_half(params, kzg):
    _, _, segments = archive_blocks(params, kzg, [params.segment_size // 3] * 4, seed=9)
    rng = random.Random(5)
    pieces = segments[1].pieces
    n = params.num_pieces
    for keep in (
        set(range(0, n, 2)),  # all sources
        set(range(1, n, 2)),  # all parity
        set(rng.sample(range(n), n // 2)),
        set(rng.sample(range(n), n // 2 + 1)),
    ):
        given = [p if i in keep else None for i, p in enumerate(pieces)]
        assert reconstruct_pieces(given, params, kzg) == pieces
        assert segment_data_from_pieces(given, params) == segment_data_from_pieces(pieces, params)
    given = [p if i in keep else None for i, p in enumerate(pieces)]
    assert reconstruct_piece(given, 3, params, kzg) == pieces[3]
    too_few = [p if i < n // 2 - 1 else None for i, p in enumerate(pieces)]
    with pytest.raises(ReconstructionError, match=f"segment 1: need at least {n // 2} of {n} pieces, have {n // 2 - 1}"):
        reconstruct_pieces(too_few, params, kzg, segment_index=1)
    with pytest.raises(ReconstructionError):
        reconstruct_pieces(pieces[:-1], params, kzg)


def test_reconstructor_rejects_out_of_order(kzg):
    params = TEST
    _, _, segments = archive_blocks(params, kzg, [params.segment_size // 2] * 6, seed=4)
    reconstructor = Reconstructor(params)
    reconstructor.add_segment(segments[0].pieces)
    with pytest.raises(InvalidSegment, match="out of order"):
        reconstructor.add_segment(segments[2].pieces)


@pytest.mark.parametrize("cut", [0, 3, 9])
def test_state_save_restore_continues_identically(cut, kzg):
    params = TEST
    rng = random.Random(cut)
    sizes = [rng.choice([5, 300, params.segment_size // 2, params.segment_size + 9]) for _ in range(14)]
    blocks = [rng.randbytes(s) for s in sizes]
    original = Archiver(params, kzg)
    for block in blocks[:cut]:
        original.add_block(block)
    restored = Archiver.from_bytes(original.to_bytes(), params, kzg)
    assert restored.to_bytes() == original.to_bytes()
    for block in blocks[cut:]:
        a, b = original.add_block(block), restored.add_block(block)
        assert [s.segment_header for s in a] == [s.segment_header for s in b]
        assert [s.pieces for s in a] == [s.pieces for s in b]
    with pytest.raises(ArchivingError):
        Archiver.from_bytes(original.to_bytes(), DEV, kzg)
    with pytest.raises(ArchivingError):
        Archiver.from_bytes(original.to_bytes()[:-1], params, kzg)


def test_with_initial_state_resumes_from_header(kzg):
    params = TEST
    rng = random.Random(21)
    archiver = Archiver(params, kzg)
    blocks = [rng.randbytes(rng.choice([100, params.segment_size // 2, params.segment_size + 50])) for _ in range(20)]
    resumed = None
    for block in blocks:
        if resumed is not None:
            a, b = archiver.add_block(block), resumed.add_block(block)
            assert [s.segment_header for s in a] == [s.segment_header for s in b]
            assert [s.pieces for s in a] == [s.pieces for s in b]
            continue
        segments = archiver.add_block(block)
        header = segments[-1].segment_header if segments else None
        if header and header.last_archived_block.partial is not None and len(archiver.buffer) == 2:
            resumed = Archiver.with_initial_state(params, kzg, header, block)
    assert resumed is not None
    header = SegmentHeader(0, b"\x11" * 48, bytes(32), LastArchivedBlock(3, 10))
    with pytest.raises(ArchivingError):
        Archiver.with_initial_state(params, kzg, header, b"x" * 10)
    with pytest.raises(ArchivingError):
        Archiver.with_initial_state(params, kzg, header, b"x" * 5)


def test_python_fallback_archives_identically(monkeypatch, kzg):
    import chain.erasure
    import chain.kzg
    from chain.kzg import PythonFr

    params = TEST
    sizes = [params.segment_size // 2, 77, params.segment_size + 5]
    _, _, native_segments = archive_blocks(params, kzg, sizes, seed=31)
    fallback = PythonFr()
    monkeypatch.setattr(chain.kzg, "FR", fallback)
    monkeypatch.setattr(chain.erasure, "FR", fallback)
    _, _, python_segments = archive_blocks(params, kzg, sizes, seed=31)
    assert [s.segment_header for s in python_segments] == [s.segment_header for s in native_segments]
    assert [s.pieces for s in python_segments] == [s.pieces for s in native_segments]
    pieces = native_segments[1].pieces
    given = [p if i % 2 else None for i, p in enumerate(pieces)]
    assert reconstruct_pieces(given, params, kzg) == pieces
