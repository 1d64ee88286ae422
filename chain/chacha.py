"""The ChaCha keystream the protocol uses in two places (spec §3 "f1(x)", §4 "Genesis").

* PoS f1: ChaCha8 keyed by the 32-byte seed directly, zero nonce, block counter from 0.
* The genesis segment's padding: rand_chacha's `ChaCha8Rng::from_seed(state_root)`, which is the
  same keystream (djb layout: 64-bit block counter in words 12-13, 64-bit stream id 0 in 14-15).

With a zero nonce the IETF layout (32-bit counter, 96-bit nonce) agrees for counters < 2^32, so
one function serves both. `cryptography`'s ChaCha20 cannot run 8 rounds, hence this module:
`keystream_blocks` is vectorised over blocks with numpy, `keystream_block` computes one block
with Python ints (cheaper than numpy for the few blocks one f1 value needs). The tests hold both
to RFC 8439's ChaCha20 vector and to `cryptography` at 20 rounds, and to each other at 8.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_U32 = 0xFFFFFFFF
CONSTANTS = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"
#: The quarter rounds of one double round: four columns, then four diagonals.
DOUBLE_ROUND = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))
#: Blocks computed per numpy batch (bounds memory: 16 words x 4 bytes x batch).
BATCH_BLOCKS = 1 << 16


def _check_key(key: bytes) -> bytes:
    if len(key) != 32:
        raise ValueError(f"ChaCha key must be 32 bytes, got {len(key)}")
    return bytes(key)


def _initial_words(key: bytes, counter: int) -> list[int]:
    key_words = [int.from_bytes(key[4 * i : 4 * i + 4], "little") for i in range(8)]
    return [*CONSTANTS, *key_words, counter & _U32, counter >> 32, 0, 0]


@lru_cache(maxsize=256)
def keystream_block(key: bytes, counter: int, rounds: int = 8) -> bytes:
    """Keystream block `counter` (64 bytes) for a 32-byte key and zero nonce, with Python ints."""
    state = _initial_words(_check_key(key), counter)
    x = list(state)
    for _ in range(rounds // 2):
        for a, b, c, d in DOUBLE_ROUND:
            x[a] = (x[a] + x[b]) & _U32
            x[d] ^= x[a]
            x[d] = ((x[d] << 16) | (x[d] >> 16)) & _U32
            x[c] = (x[c] + x[d]) & _U32
            x[b] ^= x[c]
            x[b] = ((x[b] << 12) | (x[b] >> 20)) & _U32
            x[a] = (x[a] + x[b]) & _U32
            x[d] ^= x[a]
            x[d] = ((x[d] << 8) | (x[d] >> 24)) & _U32
            x[c] = (x[c] + x[d]) & _U32
            x[b] ^= x[c]
            x[b] = ((x[b] << 7) | (x[b] >> 25)) & _U32
    return b"".join(((x[i] + state[i]) & _U32).to_bytes(4, "little") for i in range(16))


def keystream_range(key: bytes, offset: int, length: int, rounds: int = 8) -> bytes:
    """Bytes [offset, offset + length) of the keystream, block by block with Python ints."""
    if length <= 0:
        return b""
    first, last = offset // 64, (offset + length - 1) // 64
    stream = b"".join(keystream_block(key, block, rounds) for block in range(first, last + 1))
    start = offset - 64 * first
    return stream[start : start + length]


def _rotl(x: np.ndarray, n: int) -> np.ndarray:
    return (x << np.uint32(n)) | (x >> np.uint32(32 - n))


def keystream_blocks(key: bytes, first_block: int, num_blocks: int, rounds: int = 8) -> np.ndarray:
    """Keystream blocks first_block .. first_block + num_blocks as uint8[64 * num_blocks] (numpy)."""
    key = _check_key(key)
    out = np.empty(64 * num_blocks, dtype=np.uint8)
    key_words = np.frombuffer(key, dtype="<u4").astype(np.uint32)
    for start in range(0, num_blocks, BATCH_BLOCKS):
        count = min(BATCH_BLOCKS, num_blocks - start)
        counter = np.arange(first_block + start, first_block + start + count, dtype=np.uint64)
        state = [np.full(count, c, dtype=np.uint32) for c in CONSTANTS]
        state += [np.full(count, w, dtype=np.uint32) for w in key_words]
        state += [(counter & np.uint64(_U32)).astype(np.uint32), (counter >> np.uint64(32)).astype(np.uint32)]
        state += [np.zeros(count, dtype=np.uint32), np.zeros(count, dtype=np.uint32)]
        x = [w.copy() for w in state]
        for _ in range(rounds // 2):
            for a, b, c, d in DOUBLE_ROUND:
                x[a] += x[b]
                x[d] = _rotl(x[d] ^ x[a], 16)
                x[c] += x[d]
                x[b] = _rotl(x[b] ^ x[c], 12)
                x[a] += x[b]
                x[d] = _rotl(x[d] ^ x[a], 8)
                x[c] += x[d]
                x[b] = _rotl(x[b] ^ x[c], 7)
        words = np.stack([x[i] + state[i] for i in range(16)], axis=1).astype("<u4")
        out[64 * start : 64 * (start + count)] = words.view(np.uint8).reshape(-1)
    return out


def keystream(key: bytes, length: int, rounds: int = 8) -> bytes:
    """The first `length` bytes of the keystream (numpy; for long streams such as genesis padding)."""
    return keystream_blocks(key, 0, -(-length // 64), rounds)[:length].tobytes()
