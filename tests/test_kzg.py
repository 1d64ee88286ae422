"""KZG over BLS12-381 with the Ethereum ceremony powers (spec §4 "Commitments", §6 step 4/5)."""

import os
import random

import pytest

from chain import erasure
from chain.kzg import (
    FR_MODULUS,
    Kzg,
    KzgError,
    Polynomial,
    blake3_254_hash_to_scalar,
    fr_backends,
    int_to_scalar,
    root_of_unity,
    scalar_from_raw_chunk,
)

G1_GENERATOR = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)


@pytest.fixture(scope="module")
def kzg():
    return Kzg.default()


def random_values(rng, n):
    return b"".join(int_to_scalar(rng.randrange(FR_MODULUS)) for _ in range(n))


@pytest.mark.parametrize("s", [1, 2, 3, 8, 16, 32])
def test_root_of_unity_has_exact_order(s):
    w = root_of_unity(s)
    assert w == pow(7, (FR_MODULUS - 1) >> s, FR_MODULUS)
    assert pow(w, 1 << s, FR_MODULUS) == 1
    assert pow(w, 1 << (s - 1), FR_MODULUS) != 1


def test_root_of_unity_range():
    assert root_of_unity(0) == 1
    with pytest.raises(KzgError):
        root_of_unity(33)


def test_hash_to_scalar_and_raw_chunks():
    h = blake3_254_hash_to_scalar(b"abc")
    assert len(h) == 32 and h[0] < 0x40 and int.from_bytes(h, "big") < FR_MODULUS
    chunk = bytes(range(31))
    assert scalar_from_raw_chunk(chunk) == b"\x00" + chunk
    with pytest.raises(KzgError):
        scalar_from_raw_chunk(b"\x01" * 32)


def test_setup_identity(kzg):
    # A constant polynomial c commits to c·G1; the first power is the generator itself.
    one = int_to_scalar(1)
    assert kzg.commit(kzg.poly(one * 4)) == G1_GENERATOR
    assert kzg.commit(Polynomial(one)) == G1_GENERATOR
    # X commits to [τ]G1, the second power of the file.
    tau = kzg.commit(Polynomial(bytes(32) + one))
    data = open(kzg._path, "rb").read()
    assert tau == data[48:96]


def test_poly_interpolates_and_pads(kzg):
    rng = random.Random(1)
    values = random_values(rng, 5)  # padded to 8 with zeros
    poly = kzg.poly(values)
    assert len(poly) == 8
    w = root_of_unity(3)
    for i in range(8):
        expected = values[32 * i : 32 * i + 32] if i < 5 else bytes(32)
        assert poly.evaluate(int_to_scalar(pow(w, i, FR_MODULUS))) == expected
    with pytest.raises(KzgError):
        kzg.poly(b"\xff" * 32)  # not canonical
    with pytest.raises(KzgError):
        kzg.poly(b"")


def test_witness_round_trip_and_rejections(kzg):
    rng = random.Random(2)
    n = 16
    values = random_values(rng, n)
    poly = kzg.poly(values)
    commitment = kzg.commit(poly)
    witnesses = kzg.create_witnesses(poly, n, range(n))
    for i in range(n):
        value = values[32 * i : 32 * i + 32]
        assert witnesses[i] == kzg.create_witness(poly, n, i)
        assert kzg.verify(commitment, n, i, value, witnesses[i])
    value3, w3 = values[96:128], witnesses[3]
    wrong_value = int_to_scalar(int.from_bytes(value3, "big") + 1)
    assert not kzg.verify(commitment, n, 3, wrong_value, w3)
    assert not kzg.verify(commitment, n, 4, value3, w3)
    assert not kzg.verify(commitment, n, 3, value3, witnesses[4])
    assert not kzg.verify(commitment, 2 * n, 3, value3, w3)  # another domain
    for tampered in range(0, 48, 7):
        bad_w = bytearray(w3)
        bad_w[tampered] ^= 1
        assert not kzg.verify(commitment, n, 3, value3, bytes(bad_w))
        bad_c = bytearray(commitment)
        bad_c[tampered] ^= 1
        assert not kzg.verify(bytes(bad_c), n, 3, value3, w3)
    # garbage never raises
    assert not kzg.verify(os.urandom(48), n, 3, value3, w3)
    assert not kzg.verify(commitment, n, 3, value3, os.urandom(48))
    assert not kzg.verify(commitment, n, 3, value3, w3[:47])
    assert not kzg.verify(commitment[:40], n, 3, value3, w3)
    assert not kzg.verify(commitment, n, 3, b"\xff" * 32, w3)
    assert not kzg.verify(commitment, n, 3, value3[:31], w3)
    assert not kzg.verify(commitment, n, n, value3, w3)
    assert not kzg.verify(commitment, n, -1, value3, w3)
    assert not kzg.verify(commitment, 0, 0, value3, w3)
    assert not kzg.verify(None, n, 3, value3, w3)
    with pytest.raises(KzgError):
        kzg.create_witness(poly, n, n)


def test_witness_on_larger_domain(kzg):
    # Open a degree < 8 polynomial at points of a 16-point domain (as chunk witnesses open a
    # 2^15-coefficient polynomial over the 2^16 s-bucket domain).
    rng = random.Random(3)
    poly = kzg.poly(random_values(rng, 8))
    commitment = kzg.commit(poly)
    w16 = root_of_unity(4)
    for i in (1, 5, 15):
        value = poly.evaluate(int_to_scalar(pow(w16, i, FR_MODULUS)))
        assert kzg.verify(commitment, 16, i, value, kzg.create_witness(poly, 16, i))


def test_extend_commitments_match_parity_records(kzg):
    rng = random.Random(4)
    records, chunks = 4, 8
    source = [random_values(rng, chunks) for _ in range(records)]
    # column j: the records' chunk j, extended
    parity = [bytearray(32 * chunks) for _ in range(records)]
    for j in range(chunks):
        column = b"".join(rec[32 * j : 32 * j + 32] for rec in source)
        ext = erasure.extend(column)
        for k in range(records):
            parity[k][32 * j : 32 * j + 32] = ext[32 * k : 32 * k + 32]
    commitments = [kzg.commit(kzg.poly(rec)) for rec in source]
    extended = kzg.extend_commitments(commitments)
    assert len(extended) == 2 * records
    assert extended[0::2] == commitments
    assert extended[1::2] == [kzg.commit(kzg.poly(bytes(p))) for p in parity]
    with pytest.raises(KzgError):
        kzg.extend_commitments(commitments[:3])
    with pytest.raises(KzgError):
        kzg.extend_commitments([b"\x00" * 48] * 4)


def test_commit_many_equals_commit(kzg):
    rng = random.Random(5)
    polys = [kzg.poly(random_values(rng, 32)) for _ in range(5)]
    assert kzg.commit_many(polys) == [kzg.commit(p) for p in polys]


def test_polynomial_normalize():
    one = int_to_scalar(1)
    assert Polynomial(one + bytes(64)).normalize().coeffs == one
    assert Polynomial(bytes(64)).normalize().coeffs == bytes(32)


def test_backends_listed():
    assert "python" in fr_backends()


# --------------------------------------------------------------------------- fixed-base MSM

from py_arkworks_bls12381 import G1Point, Scalar  # noqa: E402

from chain import kzg as kzg_module  # noqa: E402

needs_g1_native = pytest.mark.skipif(kzg_module._g1_native is None,
                                     reason="chain._g1_native not built (or no BMI2/ADX): arkworks' MSM is in use")


@pytest.fixture(params=["avx512ifma", "scalar"])
def g1_path(request):
    """Each arithmetic of chain._g1_native this CPU has: the AVX-512 IFMA lanes and the
    scalar (mulx) products. Tables are laid out per arithmetic, so each test builds its own."""
    native = kzg_module._g1_native
    default = native.backend() == "avx512ifma"
    wanted = request.param == "avx512ifma"
    if native.use_ifma(wanted) != wanted:
        native.use_ifma(default)
        pytest.skip("this CPU has no AVX-512 IFMA")
    yield request.param
    native.use_ifma(default)


def native_msm(points, scalars, c):
    """Σ s_i·P_i through chain._g1_native with c-bit windows."""
    table = kzg_module._g1_native.precompute(b"".join(p.to_xy_bytes_be() for p in points), c)
    raw = b"".join(int_to_scalar(s) for s in scalars)
    return G1Point.from_xy_bytes_unchecked_be(kzg_module._g1_native.msm(table, len(points), c, raw))


def arkworks_msm(points, scalars):
    return G1Point.multiexp_unchecked(list(points), [Scalar(s) for s in scalars])


@needs_g1_native
@pytest.mark.parametrize("n,c", [(1, 4), (3, 4), (9, 4), (64, 6), (100, 7), (257, 9), (1024, 11), (3000, 12)])
def test_native_msm_equals_arkworks_on_setup_powers(kzg, g1_path, n, c):
    rng = random.Random(n * 31 + c)
    points = kzg.g1_powers(n)
    edges = [0, 1, FR_MODULUS - 1, (1 << (c - 1)), (1 << c) - 1, (1 << 254) + 12345]
    scalars = [edges[i] if i < len(edges) else rng.randrange(FR_MODULUS) for i in range(n)]
    assert native_msm(points, scalars, c) == arkworks_msm(points, scalars)


@needs_g1_native
def test_native_msm_doublings_cancellations_and_crowded_buckets(kzg, g1_path):
    """Equal x-coordinates (P + P, P + (−P)) and many additions to one bucket in one batch take
    the XYZZ path; the sum must not change."""
    g = kzg.g1_powers(2)
    p, q = g[0], g[1]
    points = [p] * 600 + [-p] * 300 + [q] * 1200 + [G1Point.identity()] * 5
    rng = random.Random(7)
    for scalars in (
        [5] * len(points),  # every digit in the same bucket
        [rng.randrange(FR_MODULUS) for _ in points],
        [FR_MODULUS - 1] * 600 + [1] * 300 + [rng.randrange(1 << 20) for _ in range(1205)],
    ):
        assert native_msm(points, scalars, 8) == arkworks_msm(points, scalars)
    # Everything cancels: the identity comes back as (0, 0).
    assert native_msm([p, -p], [9, 9], 4) == G1Point.identity()


@needs_g1_native
def test_native_msm_rejects_bad_input(kzg, g1_path):
    native = kzg_module._g1_native
    points = b"".join(p.to_xy_bytes_be() for p in kzg.g1_powers(4))
    table = native.precompute(points, 4)
    with pytest.raises(ValueError, match="scalar 2 is not canonical"):
        native.msm(table, 4, 4, bytes(64) + FR_MODULUS.to_bytes(32, "big"))
    with pytest.raises(ValueError, match="table does not match"):
        native.msm(table, 8, 4, bytes(32))
    with pytest.raises(ValueError, match="more scalars than bases"):
        native.msm(table, 4, 4, bytes(32 * 5))
    with pytest.raises(ValueError, match="n\\*96 bytes"):
        native.precompute(points[:-1], 4)
    with pytest.raises(ValueError, match="2 <= c <= 20"):
        native.precompute(points, 30)
    p = (0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB)
    with pytest.raises(ValueError, match="point 1 has a non-canonical coordinate"):
        native.precompute(points[:96] + p.to_bytes(48, "big") + points[144:], 4)


@needs_g1_native
def test_commit_uses_the_table_and_matches_arkworks(kzg, g1_path):
    rng = random.Random(11)
    for n in (kzg_module.MIN_TABLE_MSM, 200, 4096):
        poly = Polynomial(random_values(rng, n))
        assert kzg.commit(poly) == bytes(kzg._arkworks_msm(poly.coeffs).to_compressed_bytes())
    assert kzg_module.MSM_BACKEND == "native"
    bad = Polynomial(bytes(32 * 99) + FR_MODULUS.to_bytes(32, "big"))
    with pytest.raises(KzgError, match="scalar 99 is not canonical"):
        kzg.commit(bad)


def test_window_bits():
    assert [kzg_module.window_bits(1 << k) for k in (6, 10, 12, 15)] == [7, 11, 13, 16]
    assert kzg_module.window_bits(2) == 4


@needs_g1_native
def test_table_built_over_threads_equals_one_built_at_once(kzg, g1_path, monkeypatch):
    points = b"".join(p.to_xy_bytes_be() for p in kzg.g1_powers(4096 + 77))
    whole = kzg_module._g1_native.precompute(points, 5)
    monkeypatch.setattr(kzg_module, "WORKERS", 3)
    assert kzg_module._build_table(points, 5) == whole


@needs_g1_native
def test_native_msm_final_sum_meets_equal_buckets_and_gaps(kzg, g1_path):
    """With 1,024 buckets or more the final Σ (k+1)·B_k runs in eight lanes (IFMA path); two
    buckets holding the same point (a doubling there), opposite points (a cancellation) and
    empty buckets between full ones must give the same sum as arkworks."""
    g, h = kzg.g1_powers(2)
    rng = random.Random(13)
    cases = [
        ([g, g], [1, 2]),
        ([g, g], [1, FR_MODULUS - 2]),
        ([g, g, h], [1, 3, 2048]),
        ([g] * 50 + [-g] * 50, [rng.randrange(1, 5000) for _ in range(100)]),
        (kzg.g1_powers(700), [rng.randrange(1 << 20) for _ in range(700)]),
    ]
    for points, scalars in cases:
        assert native_msm(points, scalars, 12) == arkworks_msm(points, scalars)
