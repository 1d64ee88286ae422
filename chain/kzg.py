"""KZG polynomial commitments over BLS12-381, and the scalar field Fr beneath them (spec §4, §6).

The protocol commits to every record (32768 scalars) and to every segment (256 record-commitment
hashes) with KZG over BLS12-381, using the Ethereum KZG ceremony powers (spec §4 "Trusted
setup"); upstream: `shared/subspace-kzg/src/lib.rs`.

* Scalars are 32-byte **big-endian** canonical values (< r). A 31-byte "safe" raw chunk becomes a
  scalar by prefixing 0x00 (`scalar_from_raw_chunk`).
* Vectors of scalars cross every API of this module as `bytes` of concatenated 32-byte scalars.
* Domains are powers of `ω_n = 7^((r-1)/n)` in natural order (`root_of_unity`).
* `Kzg.poly(values)` interpolates the values over `ω_{next_pow2(n)}` (inverse NTT, zero-padded);
  `commit` is Σ coeff_i·[τ^i]G1; `create_witness` opens at `ω_n^index`; `verify` is the pairing
  check `e(C − [v]G1, G2) = e(π, [τ]G2 − [x]G2)`.

Field arithmetic runs in the native kernel `chain._fr_native` (chain/native/fr.c) when it is built,
else in `PythonFr` here, which gives identical results (slowly). `BACKEND` says which one is used.
Group arithmetic and pairings are arkworks (`py_arkworks_bls12381`). Commitments are
multi-scalar multiplications over fixed bases, the first n powers [τ^i]G1; where the native
kernel `chain._g1_native` (chain/native/g1.c) is built, they use its precomputed window tables
(`MsmTables`), else arkworks' general MSM, with identical results. `MSM_BACKEND` says which.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from blake3 import blake3
from py_arkworks_bls12381 import G1Point, G2Point, GT, Scalar

try:
    from chain import _g1_native
except ImportError:  # not built, or a CPU without BMI2/ADX: arkworks' MSM is used
    _g1_native = None

#: The BLS12-381 scalar field modulus r.
FR_MODULUS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: 2^32 divides r − 1: the largest power-of-two domain.
MAX_LOG2_DOMAIN = 32
#: The multiplicative generator whose powers give the roots of unity.
GENERATOR = 7

SCALAR_SIZE = 32
SAFE_BYTES = 31
G1_SIZE = 48
G2_SIZE = 96

#: `shared/subspace-kzg/src/eth-public-parameters.bin`: 32768 G1 then 65 G2 compressed powers.
PARAMETERS_PATH = Path(__file__).resolve().parent / "data" / "eth-public-parameters.bin"
PARAMETERS_SHA256 = "f3ead1a6249527aa503d6c56578325c01d19b3365cc59905be2bba64ae322925"
NUM_G1_POWERS = 32768
NUM_G2_POWERS = 65


class KzgError(ValueError):
    """A KZG operation got input it cannot work with (sizes, non-canonical scalars, bad points)."""


# --------------------------------------------------------------------------- scalars


def root_of_unity(log2_order: int) -> int:
    """`ω = 7^((r−1)/2^s) mod r`, a primitive 2^s-th root of unity (spec §4 "Erasure coding")."""
    if not 0 <= log2_order <= MAX_LOG2_DOMAIN:
        raise KzgError(f"no root of unity of order 2^{log2_order} (max 2^{MAX_LOG2_DOMAIN})")
    return pow(GENERATOR, (FR_MODULUS - 1) >> log2_order, FR_MODULUS)


def blake3_254_hash_to_scalar(data: bytes) -> bytes:
    """`blake3(data)` with `byte[0] &= 0x3F`: a canonical big-endian scalar (spec §1)."""
    digest = bytearray(blake3(data).digest())
    digest[0] &= 0x3F
    return bytes(digest)


def scalar_from_raw_chunk(chunk: bytes) -> bytes:
    """A 31-byte safe chunk as a scalar: 0x00 then the 31 bytes (spec §1)."""
    if len(chunk) != SAFE_BYTES:
        raise KzgError(f"raw chunk must be {SAFE_BYTES} bytes, got {len(chunk)}")
    return b"\x00" + bytes(chunk)


def scalar_to_int(scalar: bytes) -> int:
    """A 32-byte big-endian canonical scalar as an int; rejects values >= r."""
    if len(scalar) != SCALAR_SIZE:
        raise KzgError(f"scalar must be {SCALAR_SIZE} bytes, got {len(scalar)}")
    value = int.from_bytes(scalar, "big")
    if value >= FR_MODULUS:
        raise KzgError(f"scalar {scalar.hex()} is not canonical (>= r)")
    return value


def int_to_scalar(value: int) -> bytes:
    return (value % FR_MODULUS).to_bytes(SCALAR_SIZE, "big")


def next_power_of_two(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


# --------------------------------------------------------------------------- Fr vector backend


class PythonFr:
    """Pure-Python Fr kernels, the reference for (and same interface as) `chain._fr_native`.

    All vectors are bytes of 32-byte big-endian scalars; `n` is a power of two; data holds
    rows of n scalars each transformed independently.
    """

    name = "python"
    R = FR_MODULUS

    # -- helpers
    @staticmethod
    def _load(data: bytes, mask: bytes | None = None, n: int = 1) -> list[int]:
        values = []
        for i in range(len(data) // SCALAR_SIZE):
            if mask is not None and not mask[i % n]:
                values.append(0)
                continue
            v = int.from_bytes(data[SCALAR_SIZE * i : SCALAR_SIZE * (i + 1)], "big")
            if v >= FR_MODULUS:
                raise ValueError(f"scalar {i} is not canonical (>= r)")
            values.append(v)
        return values

    @staticmethod
    def _store(values) -> bytes:
        return b"".join(v.to_bytes(SCALAR_SIZE, "big") for v in values)

    @staticmethod
    def _rows(data: bytes, n: int) -> int:
        if n < 1 or n & (n - 1) or n > 1 << MAX_LOG2_DOMAIN:
            raise ValueError(f"size {n} is not a power of two <= 2^32")
        if len(data) % (SCALAR_SIZE * n):
            raise ValueError(f"buffer of {len(data)} bytes is not rows of {n} 32-byte scalars")
        return len(data) // (SCALAR_SIZE * n)

    @staticmethod
    def _transform(a: list[int], w: int) -> list[int]:
        """Unscaled NTT of a (natural order) with root w."""
        n, r = len(a), FR_MODULUS
        if n == 1:
            return list(a)
        bits = n.bit_length() - 1
        out = [a[int(format(i, f"0{bits}b")[::-1], 2)] for i in range(n)]
        length = 2
        while length <= n:
            half = length // 2
            wl = pow(w, n // length, r)
            for start in range(0, n, length):
                t = 1
                for k in range(start, start + half):
                    u, v = out[k], out[k + half] * t % r
                    out[k], out[k + half] = (u + v) % r, (u - v) % r
                    t = t * wl % r
            length *= 2
        return out

    def _ntt_list(self, a: list[int], inverse: bool) -> list[int]:
        n, r = len(a), FR_MODULUS
        w = root_of_unity(n.bit_length() - 1)
        if not inverse:
            return self._transform(a, w)
        inv_n = pow(n, r - 2, r)
        return [v * inv_n % r for v in self._transform(a, pow(w, r - 2, r))]

    # -- the kernel interface
    def ntt(self, data: bytes, n: int, inverse: bool) -> bytes:
        rows = self._rows(data, n)
        values = self._load(data)
        out = []
        for k in range(rows):
            out.extend(self._ntt_list(values[k * n : (k + 1) * n], inverse))
        return self._store(out)

    def _extend_list(self, src: list[int]) -> list[int]:
        n, r = len(src), FR_MODULUS
        coeffs = self._ntt_list(src, True)
        w2 = root_of_unity(n.bit_length())  # ω_2n
        shifted, t = [], 1
        for c in coeffs:
            shifted.append(c * t % r)
            t = t * w2 % r
        return self._ntt_list(shifted, False)

    def extend(self, data: bytes, n: int) -> bytes:
        rows = self._rows(data, n)
        values = self._load(data)
        out = []
        for k in range(rows):
            out.extend(self._extend_list(values[k * n : (k + 1) * n]))
        return self._store(out)

    def _recover_list(self, a: list[int], mask: bytes, coeffs: bool) -> list[int]:
        """Zero-polynomial recovery: D = (E·Z)/Z evaluated off the domain, on the coset 7·ω^i."""
        n, r = len(a), FR_MODULUS
        missing = [i for i in range(n) if not mask[i]]
        if not missing:
            return self._ntt_list(a, True) if coeffs else list(a)
        w = root_of_unity(n.bit_length() - 1)
        z = [1]
        for i in missing:  # z *= (X − ω^i)
            root = pow(w, i, r)
            z = [((z[k - 1] if k else 0) - root * (z[k] if k < len(z) else 0)) % r for k in range(len(z) + 1)]
        z += [0] * (n - len(z))
        z_eval = self._ntt_list(z, False)
        dz = self._ntt_list([a[i] * z_eval[i] % r for i in range(n)], True)
        k, kinv = GENERATOR, pow(GENERATOR, r - 2, r)
        dz_coset = self._ntt_list([c * pow(k, j, r) % r for j, c in enumerate(dz)], False)
        z_coset = self._ntt_list([c * pow(k, j, r) % r for j, c in enumerate(z)], False)
        d_coset = [x * pow(y, r - 2, r) % r for x, y in zip(dz_coset, z_coset)]
        d = [c * pow(kinv, j, r) % r for j, c in enumerate(self._ntt_list(d_coset, True))]
        return d if coeffs else self._ntt_list(d, False)

    def recover(self, data: bytes, mask: bytes, n: int, coeffs: bool) -> bytes:
        rows = self._rows(data, n)
        if len(mask) != n:
            raise ValueError(f"mask has {len(mask)} entries, expected {n}")
        if not any(mask):
            raise ValueError("no values present")
        values = self._load(data, mask, n)
        out = []
        for k in range(rows):
            out.extend(self._recover_list(values[k * n : (k + 1) * n], mask, coeffs))
        return self._store(out)

    def div_linear(self, coeffs: bytes, x: bytes) -> tuple[bytes, bytes]:
        if not coeffs or len(coeffs) % SCALAR_SIZE or len(x) != SCALAR_SIZE:
            raise ValueError("need >= 1 coefficient and a 32-byte point")
        c = self._load(coeffs)
        xv = self._load(x)[0]
        r = FR_MODULUS
        for i in range(len(c) - 1, 0, -1):
            c[i - 1] = (c[i - 1] + c[i] * xv) % r
        return self._store(c[1:]), self._store(c[:1])

    def extend_segment(self, raw, out, num_records, num_chunks, stride, c0, c1) -> None:
        raw = bytes(raw)
        rec = num_chunks * SAFE_BYTES
        for j in range(c0, c1):
            col = [raw[k * rec + j * SAFE_BYTES : k * rec + (j + 1) * SAFE_BYTES] for k in range(num_records)]
            parity = self._extend_list([int.from_bytes(c, "big") for c in col])
            for k in range(num_records):
                at = 2 * k * stride + j * SCALAR_SIZE
                out[at : at + SCALAR_SIZE] = b"\x00" + col[k]
                at += stride
                out[at : at + SCALAR_SIZE] = parity[k].to_bytes(SCALAR_SIZE, "big")

    def recover_segment(self, buf, stride, mask, n, num_chunks, c0, c1) -> None:
        if all(mask):
            return
        for j in range(c0, c1):
            col = []
            for i in range(n):
                if not mask[i]:
                    col.append(0)
                    continue
                at = i * stride + j * SCALAR_SIZE
                v = int.from_bytes(buf[at : at + SCALAR_SIZE], "big")
                if v >= FR_MODULUS:
                    raise ValueError(f"row {i} chunk {j} is not a canonical scalar")
                col.append(v)
            values = self._recover_list(col, mask, False)
            for i in range(n):
                if not mask[i]:
                    at = i * stride + j * SCALAR_SIZE
                    buf[at : at + SCALAR_SIZE] = values[i].to_bytes(SCALAR_SIZE, "big")


def fr_backends() -> dict:
    """Every available Fr backend by name (tests compare them)."""
    backends = {"python": PythonFr()}
    try:
        from chain import _fr_native

        backends["native"] = _fr_native
    except ImportError:
        pass
    return backends


_BACKENDS = fr_backends()
#: The Fr kernels in use: the native module if it was built, else `PythonFr`.
FR = _BACKENDS.get("native", _BACKENDS["python"])
#: "native" or "python".
BACKEND = "native" if "native" in _BACKENDS else "python"

#: Threads for MSMs and column batches (arkworks and the native kernels release the GIL).
WORKERS = max(1, min(os.cpu_count() or 1, 8))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="kzg")
        return _pool


# --------------------------------------------------------------------------- fixed-base MSM

#: "native" (precomputed window tables, chain/native/g1.c) or "arkworks".
MSM_BACKEND = "native" if _g1_native is not None else "arkworks"
#: The native kernel's field arithmetic: "avx512ifma" (eight lanes), "mulx" or "portable".
MSM_ARITHMETIC = _g1_native.backend() if _g1_native is not None else None
#: Below this many bases a table does not pay for itself; arkworks' MSM is used.
MIN_TABLE_MSM = 64


def window_bits(size: int) -> int:
    """Window of the table for `size` bases (a power of two): about log2(size) + 1 bits, which
    balances size·255/c bucket additions against the 2^(c−1) buckets summed once."""
    return max(4, min(16, size.bit_length()))


def _build_table(points: bytes, c: int) -> bytes:
    """The window table of `points` (x‖y, 96 bytes each), the bases split over the cores:
    each thread builds the table of its own bases (the kernel releases the GIL), and the
    parts are interleaved window by window into the kernel's layout (window-major)."""
    count = len(points) // 96
    workers = min(WORKERS, max(1, count // 2048))
    if workers == 1:
        return _g1_native.precompute(points, c)
    cuts = [count * k // workers for k in range(workers + 1)]
    parts: list[bytes | None] = [None] * workers

    def build(k: int) -> None:
        parts[k] = _g1_native.precompute(points[96 * cuts[k] : 96 * cuts[k + 1]], c)

    threads = [threading.Thread(target=build, args=(k,), name=f"msm-table-{k}") for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if any(part is None for part in parts):
        raise KzgError("building the MSM window table failed")
    entry = _g1_native.entry_size()  # bytes per point in the kernel's layout for its arithmetic
    sizes = [(cuts[k + 1] - cuts[k]) * entry for k in range(workers)]
    return b"".join(parts[k][j * sizes[k] : (j + 1) * sizes[k]]
                    for j in range(_g1_native.num_windows(c)) for k in range(workers))


class MsmTables:
    """Window tables 2^(c·j)·[τ^i]G1 for the native MSM, one per power-of-two size, built on
    first use from the trusted setup's G1 powers (mainnet records: 2^15 bases, 16-bit windows,
    64 MiB with the AVX-512 IFMA arithmetic, 48 MiB without; about 2 s once per process on
    two cores)."""

    def __init__(self, g1_powers):
        self._g1_powers = g1_powers
        self._tables: dict[tuple[int, int], tuple[bytes, int]] = {}
        self._lock = threading.Lock()

    def table(self, size: int) -> tuple[bytes, int]:
        """(table, c) for the first `size` bases (a power of two), in the layout of the kernel's
        arithmetic in use (`_g1_native.backend()`)."""
        key = (size, _g1_native.entry_size())
        entry = self._tables.get(key)
        if entry is None:
            with self._lock:
                entry = self._tables.get(key)
                if entry is None:
                    c = window_bits(size)
                    points = b"".join(p.to_xy_bytes_be() for p in self._g1_powers(size))
                    entry = (_build_table(points, c), c)
                    self._tables[key] = entry
        return entry

    def msm(self, scalars: bytes) -> G1Point:
        """Σ s_i·[τ^i]G1 for big-endian canonical 32-byte scalars."""
        count = len(scalars) // SCALAR_SIZE
        size = next_power_of_two(count)
        table, c = self.table(size)
        try:
            xy = _g1_native.msm(table, size, c, scalars)
        except ValueError as exc:
            raise KzgError(f"commit: {exc}") from None
        return G1Point.from_xy_bytes_unchecked_be(xy)


# --------------------------------------------------------------------------- KZG


@dataclass(frozen=True)
class Polynomial:
    """A polynomial in coefficient form: `coeffs` is bytes of 32-byte big-endian scalars, c_0 first."""

    coeffs: bytes

    def __len__(self) -> int:
        return len(self.coeffs) // SCALAR_SIZE

    def normalize(self) -> Polynomial:
        """Drop trailing zero coefficients, keeping at least one (`Polynomial::normalize`)."""
        end = len(self.coeffs)
        zero = bytes(SCALAR_SIZE)
        while end > SCALAR_SIZE and self.coeffs[end - SCALAR_SIZE : end] == zero:
            end -= SCALAR_SIZE
        return Polynomial(self.coeffs[:end])

    def evaluate(self, x: bytes) -> bytes:
        """p(x) as a scalar."""
        return FR.div_linear(self.coeffs, x)[1]


@lru_cache(maxsize=64)
def _domain_point(log2_n: int, index: int) -> bytes:
    return int_to_scalar(pow(root_of_unity(log2_n), index, FR_MODULUS))


@lru_cache(maxsize=64)
def _twiddle_scalars(n: int, inverse: bool) -> tuple:
    w = root_of_unity(n.bit_length() - 1)
    if inverse:
        w = pow(w, FR_MODULUS - 2, FR_MODULUS)
    return tuple(Scalar(pow(w, k, FR_MODULUS)) for k in range(max(1, n // 2)))


def _g1_fft(points: list, inverse: bool, scale: bool = True) -> list:
    """Radix-2 FFT of G1 points over ω_n (natural order); the inverse includes 1/n if `scale`."""
    n = len(points)
    out = list(points)
    if n > 1:
        bits = n.bit_length() - 1
        out = [points[int(format(i, f"0{bits}b")[::-1], 2)] for i in range(n)]
        tw = _twiddle_scalars(n, inverse)
        length = 2
        while length <= n:
            half, step = length // 2, n // length
            for start in range(0, n, length):
                for k in range(half):
                    u = out[start + k]
                    v = out[start + k + half]
                    if k:
                        v = v * tw[k * step]
                    out[start + k], out[start + k + half] = u + v, u - v
            length *= 2
    if inverse and scale:
        inv_n = Scalar(pow(n, FR_MODULUS - 2, FR_MODULUS))
        out = [p * inv_n for p in out]
    return out


class Kzg:
    """KZG with the Ethereum ceremony powers (`subspace_kzg::Kzg`).

    `Kzg.default()` is shared and cheap; the G1 powers are parsed lazily, only as many as a
    commitment needs, and cached.
    """

    _default: Kzg | None = None
    _default_lock = threading.Lock()

    def __init__(self, path: Path | str = PARAMETERS_PATH):
        self._path = Path(path)
        self._bytes: bytes | None = None
        self._g1: list = []
        self._g2: tuple | None = None
        self._lock = threading.Lock()
        self._tables = MsmTables(self.g1_powers) if _g1_native is not None else None

    @classmethod
    def default(cls) -> Kzg:
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    # -- setup
    def _parameters(self) -> bytes:
        if self._bytes is None:
            data = self._path.read_bytes()
            if hashlib.sha256(data).hexdigest() != PARAMETERS_SHA256:
                raise KzgError(f"{self._path}: sha256 does not match the Ethereum ceremony powers")
            if len(data) != NUM_G1_POWERS * G1_SIZE + NUM_G2_POWERS * G2_SIZE:
                raise KzgError(f"{self._path}: unexpected size {len(data)}")
            self._bytes = data
        return self._bytes

    def g1_powers(self, n: int) -> list:
        """The first n powers [τ^i]G1 (parsed on first use; the file's checksum vouches for them)."""
        if n > NUM_G1_POWERS:
            raise KzgError(f"polynomial of {n} coefficients exceeds the {NUM_G1_POWERS} G1 powers")
        if len(self._g1) < n:
            with self._lock:
                data = self._parameters()
                have = len(self._g1)
                if have < n:
                    self._g1.extend(
                        G1Point.from_compressed_bytes_unchecked(data[G1_SIZE * i : G1_SIZE * (i + 1)])
                        for i in range(have, n)
                    )
        return self._g1[:n]

    def _g2_powers(self) -> tuple:
        """([1]G2, [τ]G2)."""
        if self._g2 is None:
            data = self._parameters()
            base = NUM_G1_POWERS * G1_SIZE
            self._g2 = (
                G2Point.from_compressed_bytes_unchecked(data[base : base + G2_SIZE]),
                G2Point.from_compressed_bytes_unchecked(data[base + G2_SIZE : base + 2 * G2_SIZE]),
            )
        return self._g2

    # -- the operations
    def poly(self, values: bytes) -> Polynomial:
        """Interpolate `values` over `ω_{next_pow2(n)}` (zero-padded): coefficient form (`Kzg::poly`)."""
        n = len(values) // SCALAR_SIZE
        if n == 0 or len(values) % SCALAR_SIZE:
            raise KzgError(f"values must be a non-empty multiple of 32 bytes, got {len(values)}")
        size = next_power_of_two(n)
        padded = bytes(values) + bytes(SCALAR_SIZE * (size - n))
        try:
            return Polynomial(FR.ntt(padded, size, True))
        except ValueError as exc:
            raise KzgError(f"poly: {exc}") from None

    def commit(self, poly: Polynomial) -> bytes:
        """Σ coeff_i·[τ^i]G1, compressed (48 bytes)."""
        coeffs = poly.normalize().coeffs
        n = len(coeffs) // SCALAR_SIZE
        if n == 1 and coeffs == bytes(SCALAR_SIZE):
            return G1Point.identity().to_compressed_bytes()
        if n > NUM_G1_POWERS:
            raise KzgError(f"polynomial of {n} coefficients exceeds the {NUM_G1_POWERS} G1 powers")
        if self._tables is not None and n >= MIN_TABLE_MSM:
            return bytes(self._tables.msm(coeffs).to_compressed_bytes())
        return bytes(self._arkworks_msm(coeffs).to_compressed_bytes())

    def _arkworks_msm(self, coeffs: bytes) -> G1Point:
        points = self.g1_powers(len(coeffs) // SCALAR_SIZE)
        try:
            scalars = [Scalar.from_be_bytes(coeffs[i : i + SCALAR_SIZE]) for i in range(0, len(coeffs), SCALAR_SIZE)]
        except ValueError as exc:
            raise KzgError(f"commit: non-canonical coefficient ({exc})") from None
        return G1Point.multiexp_unchecked(points, scalars)

    def prepare(self, num_values: int) -> None:
        """Parse the powers and build the MSM table that commitments to `num_values` values use,
        ahead of the first commitment: the archiver calls it before it spreads a segment's
        commitments over threads, the archiving benchmark before its timed region."""
        size = next_power_of_two(num_values)
        self.g1_powers(size)
        if self._tables is not None and size >= MIN_TABLE_MSM:
            self._tables.table(size)

    def commit_many(self, polys: list[Polynomial]) -> list[bytes]:
        """`commit` of each polynomial, spread over the CPU cores."""
        if len(polys) <= 1 or WORKERS == 1:
            return [self.commit(p) for p in polys]
        if polys:
            self.prepare(max(len(p.normalize()) for p in polys))  # build once, before the threads
        return list(thread_pool().map(self.commit, polys))

    def create_witness(self, poly: Polynomial, num_values: int, index: int) -> bytes:
        """The opening proof at `x = ω_{next_pow2(num_values)}^index`: commit((p − p(x))/(X − x))."""
        x = self._point(num_values, index)
        if x is None:
            raise KzgError(f"index {index} is outside the domain of {num_values} values")
        quotient, _ = FR.div_linear(poly.coeffs, x)
        return self.commit(Polynomial(quotient or bytes(SCALAR_SIZE)))

    def create_witnesses(self, poly: Polynomial, num_values: int, indices) -> list[bytes]:
        """`create_witness` at each index. Opening at every point of the domain uses the
        Feist–Khovratovich method (a Toeplitz product by G1 FFTs, O(n log n) group operations);
        otherwise one MSM per index, spread over the CPU cores."""
        indices = list(indices)
        size = next_power_of_two(num_values)
        poly = poly.normalize()
        if indices == list(range(size)) and 4 <= size <= len(poly) * 4 and len(poly) <= size:
            return self._all_witnesses(poly, size)
        self.g1_powers(len(poly))
        return list(thread_pool().map(lambda i: self.create_witness(poly, num_values, i), indices))

    def _all_witnesses(self, poly: Polynomial, n: int) -> list[bytes]:
        """Witnesses at ω_n^i for all i, for a polynomial of at most n coefficients (FK20).

        π_i = Σ_m h_m ω_n^(im) with h_m = Σ_k c_(k+m+1)·[τ^k]; h is the linear convolution of
        c with the reversed powers s'_t = [τ^(n−2−t)], taken at n−1+m, computed cyclically over
        2n points (the transform of s' is fixed and cached)."""
        r = FR_MODULUS
        coeffs = poly.coeffs + bytes(SCALAR_SIZE * (n - len(poly)))
        s_hat = self._fk20_setup(n)
        c_hat = FR.ntt(coeffs + bytes(SCALAR_SIZE * n), 2 * n, False)
        inv_2n = pow(2 * n, r - 2, r)
        products = [
            p * Scalar(int.from_bytes(c_hat[SCALAR_SIZE * i : SCALAR_SIZE * (i + 1)], "big") * inv_2n % r)
            for i, p in enumerate(s_hat)
        ]
        conv = _g1_fft(products, inverse=True, scale=False)
        h = conv[n - 1 : 2 * n - 2] + [G1Point.identity()]
        return [bytes(p.to_compressed_bytes()) for p in _g1_fft(h, inverse=False)]

    def _fk20_setup(self, n: int) -> list:
        cache = self.__dict__.setdefault("_fk20", {})
        if n not in cache:
            powers = self.g1_powers(n - 1)
            reversed_powers = powers[::-1] + [G1Point.identity()] * (n + 1)
            cache[n] = _g1_fft(reversed_powers, inverse=False)
        return cache[n]

    def verify(self, commitment: bytes, num_values: int, index: int, value: bytes, witness: bytes) -> bool:
        """Whether `value` is the evaluation at `ω_{next_pow2(num_values)}^index` of the polynomial
        committed to by `commitment`, proven by `witness`. Checks
        `e(C − [v]G1 + [x]π, G2) = e(π, [τ]G2)`, i.e. `e(C − [v]G1, G2) = e(π, [τ − x]G2)`.
        Malformed input gives False, never an exception."""
        try:
            x = self._point(num_values, index)
            if x is None or len(value) != SCALAR_SIZE or len(commitment) != G1_SIZE or len(witness) != G1_SIZE:
                return False
            if int.from_bytes(value, "big") >= FR_MODULUS:
                return False
            c = G1Point.from_compressed_bytes(bytes(commitment))
            pi = G1Point.from_compressed_bytes(bytes(witness))
            g1 = self.g1_powers(1)[0]
            h, tau_h = self._g2_powers()
            lhs = c - g1 * Scalar.from_be_bytes(bytes(value)) + pi * Scalar.from_be_bytes(x)
            return bool(GT.pairing_check([lhs, -pi], [h, tau_h]))
        except Exception:  # noqa: BLE001 - any malformed input is simply invalid
            return False

    def extend_commitments(self, commitments: list[bytes]) -> list[bytes]:
        """Source commitments → 2n commitments, sources at even positions, parity at odd
        (`ErasureCoding::extend_commitments`: inverse G1-FFT over ω_n, pad with the identity to
        2n, forward G1-FFT over ω_2n). By homomorphism the parity outputs are the commitments of
        the parity records."""
        n = len(commitments)
        if n == 0 or n & (n - 1):
            raise KzgError(f"number of commitments must be a power of two, got {n}")
        try:
            points = [G1Point.from_compressed_bytes(bytes(c)) for c in commitments]
        except ValueError as exc:
            raise KzgError(f"extend_commitments: invalid commitment ({exc})") from None
        coeffs = _g1_fft(points, inverse=True)
        coeffs += [G1Point.identity()] * n
        return [bytes(p.to_compressed_bytes()) for p in _g1_fft(coeffs, inverse=False)]

    @staticmethod
    def _point(num_values: int, index: int) -> bytes | None:
        if num_values < 1 or index < 0:
            return None
        size = next_power_of_two(num_values)
        log2 = size.bit_length() - 1
        if index >= size or log2 > MAX_LOG2_DOMAIN:
            return None
        return _domain_point(log2, index)
