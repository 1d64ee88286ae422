"""chain.chacha: the ChaCha keystream for PoS f1 and the genesis segment padding."""

import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from chain import chacha


def chacha20_reference(key: bytes, length: int) -> bytes:
    """`cryptography`'s ChaCha20 (16-byte nonce = 32-bit LE counter || 96-bit nonce, all zero)."""
    return Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(bytes(length))


def test_rfc8439_zero_key_block():
    assert chacha.keystream_block(bytes(32), 0, rounds=20)[:16].hex() == "76b8e0ada0f13d90405d6ae55386bd28"


@pytest.mark.parametrize("length", [1, 64, 65, 1000])
def test_twenty_rounds_match_cryptography(length):
    key = random.Random(length).randbytes(32)
    expected = chacha20_reference(key, length)
    assert chacha.keystream(key, length, rounds=20) == expected
    assert chacha.keystream_range(key, 0, length, rounds=20) == expected


def test_scalar_and_numpy_agree_at_eight_rounds_at_any_offset():
    key = random.Random(8).randbytes(32)
    stream = chacha.keystream(key, 64 * 40)
    for offset, length in [(0, 5), (63, 2), (100, 300), (64 * 39, 64)]:
        assert chacha.keystream_range(key, offset, length) == stream[offset : offset + length]
    assert chacha.keystream_blocks(key, 7, 3).tobytes() == stream[64 * 7 : 64 * 10]


def test_counter_beyond_32_bits_uses_the_high_word():
    """djb layout (rand_chacha): the counter carries into word 13 rather than wrapping."""
    key = bytes(range(32))
    high = chacha.keystream_block(key, 1 << 32)
    assert high != chacha.keystream_block(key, 0)
    assert chacha.keystream_blocks(key, 1 << 32, 1).tobytes() == high


def test_key_must_be_32_bytes():
    with pytest.raises(ValueError, match="32 bytes, got 31"):
        chacha.keystream(bytes(31), 10)
