"""Erasure coding over Fr (spec §4 "Erasure coding"), native kernel vs pure-Python fallback."""

import os
import random

import pytest

from chain import erasure
from chain.erasure import ErasureCodingError, RecoveryError
from chain.kzg import FR_MODULUS, PythonFr, fr_backends, int_to_scalar, root_of_unity

BACKENDS = fr_backends()


def random_values(rng, n):
    return b"".join(int_to_scalar(rng.randrange(FR_MODULUS)) for _ in range(n))


def split(data):
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def lagrange_eval(xs, ys, x):
    r, total = FR_MODULUS, 0
    for i, (xi, yi) in enumerate(zip(xs, ys)):
        num = den = 1
        for j, xj in enumerate(xs):
            if j != i:
                num = num * (x - xj) % r
                den = den * (xi - xj) % r
        total = (total + yi * num * pow(den, r - 2, r)) % r
    return total


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_extend_is_evaluation_at_odd_points(n):
    rng = random.Random(n)
    source = random_values(rng, n)
    parity = erasure.extend(source)
    w = root_of_unity((2 * n).bit_length() - 1)  # ω_2n
    r = FR_MODULUS
    xs = [pow(w, 2 * i, r) for i in range(n)]
    ys = [int.from_bytes(s, "big") for s in split(source)]
    for i, p in enumerate(split(parity)):
        assert int.from_bytes(p, "big") == lagrange_eval(xs, ys, pow(w, 2 * i + 1, r))


def test_interleave_round_trip():
    rng = random.Random(0)
    s, p = random_values(rng, 4), random_values(rng, 4)
    both = erasure.interleave(s, p)
    assert split(both)[0::2] == split(s) and split(both)[1::2] == split(p)
    assert erasure.deinterleave(both) == (s, p)


@pytest.mark.parametrize("n", [2, 4, 16, 64])
def test_recover_from_any_half(n):
    rng = random.Random(100 + n)
    source = random_values(rng, n // 2)
    full = erasure.interleave(source, erasure.extend(source))
    shards = split(full)
    for _ in range(6):
        keep = set(rng.sample(range(n), rng.randint(n // 2, n)))
        given = [s if i in keep else None for i, s in enumerate(shards)]
        assert erasure.recover(given) == full
        assert erasure.recover_source(given) == source
        poly = erasure.recover_poly(given)
        assert len(poly) <= n // 2
        w = root_of_unity(n.bit_length() - 1)
        for i in rng.sample(range(n), min(n, 3)):
            assert poly.evaluate(int_to_scalar(pow(w, i, FR_MODULUS))) == shards[i]


def test_recover_too_few_and_malformed():
    rng = random.Random(7)
    source = random_values(rng, 8)
    shards = split(erasure.interleave(source, erasure.extend(source)))
    given = [s if i < 7 else None for i, s in enumerate(shards)]
    with pytest.raises(RecoveryError, match="need at least 8 of 16 shards, have 7"):
        erasure.recover(given)
    with pytest.raises(RecoveryError, match="power of two"):
        erasure.recover(shards[:12])
    bad = list(shards)
    bad[3] = b"\x01" * 31
    with pytest.raises(RecoveryError, match="shard 3"):
        erasure.recover(bad)
    bad[3] = b"\xff" * 32
    with pytest.raises(RecoveryError):
        erasure.recover(bad)
    with pytest.raises(ErasureCodingError):
        erasure.extend(b"\xff" * 64)
    with pytest.raises(ErasureCodingError):
        erasure.extend(bytes(96))  # 3 values: not a power of two


@pytest.mark.skipif("native" not in BACKENDS, reason="native kernel not built")
def test_native_matches_python_fallback():
    native, py = BACKENDS["native"], BACKENDS["python"]
    rng = random.Random(11)
    for n in (1, 2, 8, 32):
        data = random_values(rng, 3 * n)
        for inverse in (False, True):
            assert native.ntt(data, n, inverse) == py.ntt(data, n, inverse)
        assert native.extend(data, n) == py.extend(data, n)
        x = random_values(rng, 1)
        assert native.div_linear(data, x) == py.div_linear(data, x)
        mask = bytes(rng.choice((0, 1)) for _ in range(n)) if n > 1 else b"\x01"
        if any(mask):
            for coeffs in (False, True):
                assert native.recover(data, mask, n, coeffs) == py.recover(data, mask, n, coeffs)


@pytest.mark.skipif("native" not in BACKENDS, reason="native kernel not built")
def test_segment_kernels_native_matches_python():
    native, py = BACKENDS["native"], PythonFr()
    records, chunks, stride = 4, 6, 6 * 32 + 10
    raw = os.urandom(records * chunks * 31)
    outs = []
    for backend in (native, py):
        out = bytearray(2 * records * stride)
        backend.extend_segment(raw, out, records, chunks, stride, 0, chunks)
        outs.append(out)
    assert outs[0] == outs[1]
    full = outs[0]
    # column j of rows equals extend of the records' chunk j
    for j in range(chunks):
        column = b"".join(b"\x00" + raw[k * chunks * 31 + j * 31 : k * chunks * 31 + (j + 1) * 31] for k in range(records))
        parity = erasure.extend(column)
        for k in range(records):
            assert full[(2 * k + 1) * stride + 32 * j : (2 * k + 1) * stride + 32 * j + 32] == parity[32 * k : 32 * k + 32]
    mask = bytes([1, 0, 0, 1, 1, 0, 1, 0])
    for backend in (native, py):
        damaged = bytearray(full)
        for i, m in enumerate(mask):
            if not m:
                damaged[i * stride : i * stride + chunks * 32] = bytes(chunks * 32)
        backend.recover_segment(damaged, stride, mask, 8, chunks, 0, chunks)
        assert damaged == full


def test_extend_rows_and_records():
    rng = random.Random(12)
    rows = random_values(rng, 12)
    assert erasure.extend_rows(rows, 4) == b"".join(erasure.extend(rows[i : i + 128]) for i in range(0, 384, 128))
    with pytest.raises(RecoveryError, match="need at least 4 of 8 pieces, have 3"):
        erasure.recover_records(bytearray(8 * 32), 32, [True, True, True] + [False] * 5, 1, what="segment")
