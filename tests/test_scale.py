"""SCALE primitives (chain/scale.py): known vectors, round trips, canonical and truncated input."""

import random

import pytest

from chain import scale
from chain.scale import ScaleError

COMPACT_VECTORS = [
    (0, "00"),
    (1, "04"),
    (42, "a8"),
    (63, "fc"),
    (64, "0101"),
    (69, "1501"),
    (16383, "fdff"),
    (16384, "02000100"),
    (2**30 - 1, "feffffff"),
    (2**30, "0300000040"),
    (2**32 - 1, "03ffffffff"),
    (2**32, "070000000001"),
    (2**64 - 1, "13ffffffffffffffff"),
    (2**128 - 1, "33" + "ff" * 16),
]


@pytest.mark.parametrize("value,hexed", COMPACT_VECTORS)
def test_compact_vectors(value, hexed):
    assert scale.encode_compact(value).hex() == hexed
    assert scale.compact_len(value) == len(hexed) // 2
    assert scale.decode_compact(bytes.fromhex(hexed), 0) == (value, len(hexed) // 2)


def test_compact_round_trip_random():
    rng = random.Random(1)
    for _ in range(2000):
        n = rng.getrandbits(rng.choice([6, 8, 14, 16, 30, 32, 64, 128, 536]))
        enc = scale.encode_compact(n)
        assert scale.decode_compact(b"\xaa" + enc + b"\xbb", 1) == (n, 1 + len(enc))


@pytest.mark.parametrize(
    "hexed",
    ["0100", "0500", "02000000", "fe000000", "0300000000", "03ffffff3f", "07000000000000", "07ffffffff00"],
)
def test_compact_non_canonical_rejected(hexed):
    with pytest.raises(ScaleError, match="non-canonical"):
        scale.decode_compact(bytes.fromhex(hexed), 0)


@pytest.mark.parametrize("hexed", ["", "01", "020000", "03ffffff", "13ffffffffffffff"])
def test_compact_truncated(hexed):
    with pytest.raises(ScaleError, match="offset 0"):
        scale.decode_compact(bytes.fromhex(hexed), 0)


def test_compact_encode_rejects_bad_values():
    for bad in (-1, 1.5, True, 1 << 536):
        with pytest.raises(ScaleError):
            scale.encode_compact(bad)


def test_fixed_width_ints():
    assert scale.encode_u8(0xAB).hex() == "ab"
    assert scale.encode_u16(0x0102).hex() == "0201"
    assert scale.encode_u32(1).hex() == "01000000"
    assert scale.encode_u64(2**64 - 1).hex() == "ff" * 8
    assert scale.encode_u128(1).hex() == "01" + "00" * 15
    for bits, enc, dec in [
        (8, scale.encode_u8, scale.decode_u8),
        (16, scale.encode_u16, scale.decode_u16),
        (32, scale.encode_u32, scale.decode_u32),
        (64, scale.encode_u64, scale.decode_u64),
        (128, scale.encode_u128, scale.decode_u128),
    ]:
        for n in (0, 1, 2**bits - 1, random.Random(bits).getrandbits(bits)):
            assert dec(b"\x00" + enc(n), 1) == (n, 1 + bits // 8)
        with pytest.raises(ScaleError):
            enc(2**bits)
        with pytest.raises(ScaleError):
            enc(-1)
        with pytest.raises(ScaleError, match="offset 3"):
            dec(b"\x00" * (3 + bits // 8 - 1), 3)


def test_bool():
    assert scale.encode_bool(True) == b"\x01" and scale.encode_bool(False) == b"\x00"
    assert scale.decode_bool(b"\x01", 0) == (True, 1)
    assert scale.decode_bool(b"\x00", 0) == (False, 1)
    with pytest.raises(ScaleError, match="offset 0"):
        scale.decode_bool(b"\x02", 0)


def test_bytes_vec_option():
    assert scale.encode_bytes(b"") == b"\x00"
    assert scale.encode_bytes(b"abc") == b"\x0cabc"
    assert scale.decode_bytes(b"\x0cabcX", 0) == (b"abc", 4)
    big = bytes(range(256)) * 2
    assert scale.decode_bytes(scale.encode_bytes(big), 0) == (big, 2 + 512)
    with pytest.raises(ScaleError, match="only 2 left"):
        scale.decode_bytes(b"\x0cab", 0)

    items = [1, 2, 2**40]
    enc = scale.encode_vec(items, scale.encode_u64)
    assert enc[0] == 12 and len(enc) == 1 + 24
    assert scale.decode_vec(enc, 0, scale.decode_u64) == (items, len(enc))
    assert scale.decode_vec(b"\x00", 0, scale.decode_u64) == ([], 1)
    with pytest.raises(ScaleError):
        scale.decode_vec(enc[:-1], 0, scale.decode_u64)
    # A huge claimed length is rejected before looping.
    with pytest.raises(ScaleError, match="items"):
        scale.decode_vec(scale.encode_compact(2**40) + b"\x00", 0, scale.decode_u8)

    assert scale.encode_option(None, scale.encode_u32) == b"\x00"
    assert scale.encode_option(7, scale.encode_u32) == b"\x01\x07\x00\x00\x00"
    assert scale.decode_option(b"\x00", 0, scale.decode_u32) == (None, 1)
    assert scale.decode_option(b"\x01\x07\x00\x00\x00", 0, scale.decode_u32) == (7, 5)
    with pytest.raises(ScaleError, match="option tag"):
        scale.decode_option(b"\x02", 0, scale.decode_u32)


def test_fixed_and_ensure_consumed():
    assert scale.encode_fixed(b"ab", 2) == b"ab"
    with pytest.raises(ScaleError):
        scale.encode_fixed(b"abc", 2)
    assert scale.decode_fixed(b"xabc", 1, 2) == (b"ab", 3)
    scale.ensure_consumed(b"ab", 2, "thing")
    with pytest.raises(ScaleError, match="1 trailing bytes at offset 1"):
        scale.ensure_consumed(b"ab", 1, "thing")
