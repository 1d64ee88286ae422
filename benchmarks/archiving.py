"""Benchmark: archiving one segment (spec §4) — erasure coding, record commitments, witnesses.

Row "Archiving one mainnet segment (128 MiB)": seconds to turn one full mainnet segment
(128 raw records of 1,015,808 bytes) into 256 pieces with commitments and witnesses. Anchor:
the live Rust archiver (`subspace-archiving`, rayon, blst) takes 2.1–2.4 s per segment.

`--quick` uses a DEV-size segment instead (8 records of 8 KiB).

    .venv/bin/python benchmarks/archiving.py [--quick]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_rows, row  # noqa: E402

from chain import erasure, kzg as kzg_module  # noqa: E402
from chain.archiving import Archiver, is_piece_valid  # noqa: E402
from chain.kzg import Kzg  # noqa: E402
from chain.params import DEV, MAINNET  # noqa: E402

#: Live Rust archiver, 2.1–2.4 s per segment (quoted); the midpoint is the numeric anchor.
ANCHOR = 2.25
ANCHOR_NAME = "Rust 2.1-2.4s"
TARGET = 25.0

STAGES = (
    "segment_encoding",
    "erasure_coding",
    "record_commitments",
    "extend_commitments",
    "segment_commitment",
    "witnesses",
    "pieces",
)


def msm_name() -> str:
    """The MSM in use, e.g. "native (avx512ifma)" or "arkworks"."""
    if kzg_module.MSM_ARITHMETIC:
        return f"{kzg_module.MSM_BACKEND} ({kzg_module.MSM_ARITHMETIC})"
    return kzg_module.MSM_BACKEND


def prepare_kzg(params) -> float:
    """Parse the setup and build the MSM window table, as a node does once at start; seconds."""
    start = time.perf_counter()
    Kzg.default().prepare(params.num_chunks)
    return time.perf_counter() - start


def archive_one_segment(params) -> tuple[float, dict, object]:
    """Feed one segment-sized block to a warmed-up archiver; return (seconds, stages, segment)."""
    kzg = Kzg.default()
    archiver = Archiver(params, kzg)
    # A block that fills segment 0 exactly (item header: 1 byte variant + 4-byte compact length).
    block = os.urandom(params.segment_size - 6)
    start = time.perf_counter()
    segments = archiver.add_block(block)
    elapsed = time.perf_counter() - start
    assert len(segments) == 1, f"expected one segment, got {len(segments)}"
    return elapsed, segments[0].timings, segments[0]


def run(quick: bool = False) -> list[dict]:
    params = DEV if quick else MAINNET
    setup = prepare_kzg(params)
    elapsed, stages, segment = archive_one_segment(params)
    kzg = Kzg.default()
    t = time.perf_counter()
    valid = is_piece_valid(kzg, segment.pieces[1], segment.segment_header.segment_commitment, 1, params)
    verify = time.perf_counter() - t
    stage_times = {k: round(stages.get(k, 0.0), 3) for k in STAGES}
    if quick:
        first = row("Archiving one DEV segment (62 KiB, quick)", "s", elapsed, None, "", "", None,
                    stages=stage_times, backend=erasure.BACKEND, workers=kzg_module.WORKERS,
                    msm=msm_name())
    else:
        first = row("Archiving one mainnet segment (128 MiB)", "s", elapsed, ANCHOR, ANCHOR_NAME,
                    f"<={TARGET:g}s", elapsed <= TARGET, stages=stage_times, backend=erasure.BACKEND,
                    workers=kzg_module.WORKERS, msm=msm_name())
    verified = row("is_piece_valid, one piece" + (" (DEV)" if quick else " (mainnet)"), "s", verify, None, "", "",
                   None if valid else False)
    prepared = row("KZG setup + MSM table, once per process" + (" (DEV)" if quick else " (mainnet)"), "s", setup,
                   None, "", "", None)
    rows = [first, verified, prepared]
    return rows


def main(argv: list[str]) -> None:
    rows = run(quick="--quick" in argv)
    print_rows(rows)
    first = rows[0]
    print(f"  stages (Fr backend {first['backend']}, MSM {first['msm']}, {first['workers']} worker threads):")
    for stage, seconds in first["stages"].items():
        print(f"    {stage:<22} {seconds:>8.3f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
