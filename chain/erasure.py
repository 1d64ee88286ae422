"""Erasure coding over the BLS12-381 scalar field (spec §4 "Erasure coding").

Upstream: `crates/subspace-erasure-coding/src/lib.rs` (rust-kzg `das_fft_extension`,
`recover_poly_from_samples`).

* `extend(n source values)` returns n parity values: the source values are the evaluations of P
  (deg < n) at the even points `ω_2n^(2i)`, the parity values are `P(ω_2n^(2i+1))`.
* Data is always **interleaved**: source, parity, source, parity, … (`interleave`).
* `recover` rebuilds all 2n interleaved values from any n of them.

Vectors are bytes of 32-byte big-endian scalars (chain.kzg). The arithmetic runs in the Fr
backend of chain.kzg (`BACKEND`: the native kernel, else pure Python with identical results).
The segment-sized column batches (`extend_records`, `recover_records`) split their columns over
threads; the native kernel releases the GIL.
"""

from __future__ import annotations

from collections.abc import Sequence

from chain.kzg import BACKEND, FR, SCALAR_SIZE, WORKERS, Polynomial, thread_pool

__all__ = [
    "BACKEND",
    "ErasureCodingError",
    "RecoveryError",
    "extend",
    "extend_rows",
    "interleave",
    "deinterleave",
    "recover",
    "recover_source",
    "recover_poly",
    "extend_records",
    "recover_records",
]


class ErasureCodingError(ValueError):
    """Erasure coding got input of the wrong shape or with non-canonical scalars."""


class RecoveryError(ErasureCodingError):
    """Too few shards (or malformed ones) to recover the data."""


def _count(data: bytes, what: str) -> int:
    if len(data) % SCALAR_SIZE:
        raise ErasureCodingError(f"{what}: {len(data)} bytes is not a whole number of 32-byte scalars")
    return len(data) // SCALAR_SIZE


def _power_of_two(n: int, what: str) -> None:
    if n < 1 or n & (n - 1):
        raise ErasureCodingError(f"{what}: {n} values is not a power of two")


def extend(source: bytes) -> bytes:
    """The n parity values `P(ω_2n^(2i+1))` for n source values `P(ω_2n^(2i))` (spec §4)."""
    n = _count(source, "extend")
    _power_of_two(n, "extend")
    try:
        return FR.extend(bytes(source), n)
    except ValueError as exc:
        raise ErasureCodingError(f"extend: {exc}") from None


def extend_rows(rows: bytes, n: int) -> bytes:
    """`extend` of many independent rows of n source values at once (the batch column form)."""
    _power_of_two(n, "extend_rows")
    if _count(rows, "extend_rows") % n:
        raise ErasureCodingError(f"extend_rows: {len(rows)} bytes is not rows of {n} scalars")
    try:
        return FR.extend(bytes(rows), n)
    except ValueError as exc:
        raise ErasureCodingError(f"extend_rows: {exc}") from None


def interleave(source: bytes, parity: bytes) -> bytes:
    """source_0, parity_0, source_1, parity_1, …"""
    if len(source) != len(parity) or len(source) % SCALAR_SIZE:
        raise ErasureCodingError(f"interleave: {len(source)} source bytes vs {len(parity)} parity bytes")
    out = bytearray(2 * len(source))
    for i in range(0, len(source), SCALAR_SIZE):
        out[2 * i : 2 * i + SCALAR_SIZE] = source[i : i + SCALAR_SIZE]
        out[2 * i + SCALAR_SIZE : 2 * i + 2 * SCALAR_SIZE] = parity[i : i + SCALAR_SIZE]
    return bytes(out)


def deinterleave(values: bytes) -> tuple[bytes, bytes]:
    """(source, parity) from interleaved values."""
    n = _count(values, "deinterleave")
    source = b"".join(values[SCALAR_SIZE * i : SCALAR_SIZE * (i + 1)] for i in range(0, n, 2))
    parity = b"".join(values[SCALAR_SIZE * i : SCALAR_SIZE * (i + 1)] for i in range(1, n, 2))
    return source, parity


def _shards(shards: Sequence[bytes | None], what: str) -> tuple[bytes, bytes, int]:
    n = len(shards)
    if n < 2 or n & (n - 1):
        raise RecoveryError(f"{what}: {n} shards is not a power of two >= 2")
    present = 0
    parts, mask = [], bytearray(n)
    for i, shard in enumerate(shards):
        if shard is None:
            parts.append(bytes(SCALAR_SIZE))
            continue
        if len(shard) != SCALAR_SIZE:
            raise RecoveryError(f"{what}: shard {i} is {len(shard)} bytes, expected {SCALAR_SIZE}")
        parts.append(bytes(shard))
        mask[i] = 1
        present += 1
    if present < n // 2:
        raise RecoveryError(f"{what}: need at least {n // 2} of {n} shards, have {present}")
    return b"".join(parts), bytes(mask), n


def recover(shards: Sequence[bytes | None]) -> bytes:
    """All 2n values (source and parity interleaved) from any n present ones (`None` = missing)."""
    data, mask, n = _shards(shards, "recover")
    try:
        return FR.recover(data, mask, n, False)
    except ValueError as exc:
        raise RecoveryError(f"recover: {exc}") from None


def recover_source(shards: Sequence[bytes | None]) -> bytes:
    """Only the n source values (even positions) of `recover`."""
    return deinterleave(recover(shards))[0]


def recover_poly(shards: Sequence[bytes | None]) -> Polynomial:
    """The normalized polynomial (coefficient form) through the 2n interleaved values
    (`ErasureCoding::recover_poly`): what the farmer opens for a chunk witness (spec §6)."""
    data, mask, n = _shards(shards, "recover_poly")
    try:
        return Polynomial(FR.recover(data, mask, n, True)).normalize()
    except ValueError as exc:
        raise RecoveryError(f"recover_poly: {exc}") from None


def _column_ranges(num_chunks: int) -> list[tuple[int, int]]:
    parts = max(1, min(WORKERS, num_chunks // 64 or 1))
    step = -(-num_chunks // parts)
    return [(c, min(c + step, num_chunks)) for c in range(0, num_chunks, step)]


def extend_records(raw_segment, num_records: int, num_chunks: int, out: bytearray, out_stride: int) -> None:
    """Erasure-code a segment's records column by column (spec §4 "Pieces" 1–3).

    `raw_segment` holds `num_records` raw records of `num_chunks` 31-byte chunks. For each chunk
    column j the records' chunks are extended to `2·num_records` values; row 2k of `out` (rows
    `out_stride` bytes apart, 32-byte scalars) receives source record k, row 2k+1 parity record k.
    """
    _power_of_two(num_records, "extend_records")
    ranges = _column_ranges(num_chunks)
    run = lambda r: FR.extend_segment(raw_segment, out, num_records, num_chunks, out_stride, r[0], r[1])  # noqa: E731
    if len(ranges) == 1:
        run(ranges[0])
    else:
        list(thread_pool().map(run, ranges))


def recover_records(buf: bytearray, stride: int, present: Sequence[bool], num_chunks: int, what: str = "records") -> None:
    """Fill in the missing rows of an interleaved record matrix in place, from any half of rows.

    `buf` holds `len(present)` rows `stride` bytes apart, each `num_chunks` 32-byte scalars;
    rows with `present[i]` false are recovered column by column.
    """
    n = len(present)
    have = sum(1 for p in present if p)
    if n < 2 or n & (n - 1):
        raise RecoveryError(f"{what}: {n} rows is not a power of two >= 2")
    if have < n // 2:
        raise RecoveryError(f"{what}: need at least {n // 2} of {n} pieces, have {have}")
    if have == n:
        return
    mask = bytes(1 if p else 0 for p in present)
    ranges = _column_ranges(num_chunks)
    run = lambda r: FR.recover_segment(buf, stride, mask, n, num_chunks, r[0], r[1])  # noqa: E731
    try:
        if len(ranges) == 1:
            run(ranges[0])
        else:
            list(thread_pool().map(run, ranges))
    except ValueError as exc:
        raise RecoveryError(f"{what}: {exc}") from None
