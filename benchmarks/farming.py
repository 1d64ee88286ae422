"""Farming speed (spec/consensus.md §5, §6): audit throughput and plotting throughput.

    python benchmarks/farming.py [--quick]

Rows (`run(quick)` returns them for benchmarks/run.py):

* **Audit (1 core)**: keyed-BLAKE3 audit distances of random 32-byte chunks through
  `chain.farming.audit_distances` (native kernel when built), one thread. Anchor: 1 M chunks/s
  audits a 1 TiB farm (≈1,000 mainnet sectors × ≈1,000 chunks per audited s-bucket) within one
  1 s slot. Target ≥ 1 M/s (stretch 2 M/s).
* **Audit, numpy fallback**: the same through the pure numpy compression (reported).
* **Plotting, dev preset**: `plot_sector` of a full DEV sector (K=16 PoS, real KZG pieces from
  the archiver), sector bytes per second (reported; no anchor runs here).
* **Plotting, one mainnet-size record**: `encode_record` of one 1 MiB record at MAINNET
  (K=20 table, 32768 → 65536 extension, 65536 proof look-ups), bytes per second (reported).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from common import best_time, print_rows, row  # noqa: E402

MIB = 1 << 20


def bench_audit(quick: bool) -> list[dict]:
    from chain import farming

    rng = np.random.default_rng(0)
    n = 200_000 if quick else 2_000_000
    chunks = rng.integers(0, 256, (n, 32), dtype=np.uint8).tobytes()
    ssc, challenge = bytes(range(32)), bytes(range(32, 64))
    rows = []
    seconds = best_time(lambda: farming.audit_distances(ssc, chunks, challenge), 3)
    rate = n / seconds
    rows.append(row(f"Audit (1 core, {farming.BACKEND})", "chunk/s", rate, 1e6, "1 TiB/slot", ">=1M/s",
                     rate >= 1e6))
    m = n // 10
    seconds = best_time(lambda: farming.audit_distances(ssc, chunks[: 32 * m], challenge, "numpy"), 2)
    rows.append(row("Audit, numpy fallback", "chunk/s", m / seconds, 1e6, "1 TiB/slot", "", None))
    return rows


def bench_plot_dev(quick: bool) -> list[dict]:
    from chain import archiving, farming
    from chain.kzg import Kzg
    from chain.params import DEV

    kzg = Kzg.default()
    archiver = archiving.Archiver(DEV, kzg)
    rng = np.random.default_rng(1)
    segments = []
    while len(segments) < 2:
        segments += archiver.add_block(rng.integers(0, 256, DEV.segment_size // 2, dtype=np.uint8).tobytes())
    pieces = {}
    for seg in segments:
        for position, piece in enumerate(seg.pieces):
            pieces[seg.segment_header.segment_index * DEV.num_pieces + position] = piece
    pkh = farming.public_key_hash(b"\x01" * 32)
    pieces_in_sector = DEV.max_pieces_in_sector
    size = farming.sector_size(pieces_in_sector, DEV)
    seconds = best_time(lambda: farming.plot_sector(pkh, 0, len(segments), pieces_in_sector, pieces.__getitem__, DEV),
                    1 if quick else 3)
    return [row("Plotting, dev preset", "MiB/s", size / MIB / seconds, None, "", "report", None)]


def bench_plot_mainnet_record(quick: bool) -> list[dict]:
    from chain.farming.encoding import encode_record
    from chain.params import MAINNET

    rng = np.random.default_rng(2)
    chunks = rng.integers(0, 256, (MAINNET.num_chunks, 32), dtype=np.uint8)
    chunks[:, 0] = 0  # canonical scalars
    record = chunks.tobytes()
    seed = bytes(range(32))
    seconds = best_time(lambda: encode_record(record, seed, MAINNET), 1 if quick else 2)
    return [row("Plotting, one mainnet-size record", "MiB/s", MAINNET.record_size / MIB / seconds, None,
                "", "report", None)]


def run(quick: bool = False) -> list[dict]:
    """Every farming row; a row whose dependencies are missing is reported as skipped."""
    rows = []
    for bench, needs in (
        (bench_audit, ()),
        (bench_plot_dev, ("chain.pos", "chain.erasure", "chain.kzg", "chain.archiving")),
        (bench_plot_mainnet_record, ("chain.pos", "chain.erasure")),
    ):
        try:
            for module in needs:
                __import__(module)
        except ImportError as exc:
            rows.append(row(f"{bench.__name__} (skipped: {exc})", "", 0.0, 0.0, "", "", None))
            continue
        rows.extend(bench(quick))
    return rows


def main(argv: list[str]) -> None:
    print_rows(run("--quick" in argv))


if __name__ == "__main__":
    main(sys.argv[1:])
