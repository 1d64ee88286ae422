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

from chain import erasure, kzg as kzg_module  # noqa: E402
from chain.archiving import Archiver, is_piece_valid  # noqa: E402
from chain.kzg import Kzg  # noqa: E402
from chain.params import DEV, MAINNET  # noqa: E402

#: Live Rust archiver, 2.1–2.4 s per segment (quoted); the midpoint is the numeric anchor.
ANCHOR = 2.25
ANCHOR_NAME = "live Rust archiver (subspace-archiving), 2.1–2.4 s quoted"
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


def archive_one_segment(params) -> tuple[float, dict, object]:
    """Feed one segment-sized block to a warmed-up archiver; return (seconds, stages, segment)."""
    kzg = Kzg.default()
    kzg.g1_powers(params.num_chunks)  # parse the setup outside the timed region
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
    elapsed, stages, segment = archive_one_segment(params)
    kzg = Kzg.default()
    t = time.perf_counter()
    valid = is_piece_valid(kzg, segment.pieces[1], segment.segment_header.segment_commitment, 1, params)
    verify = time.perf_counter() - t
    name = "Archiving one mainnet segment (128 MiB)" if not quick else "Archiving one DEV segment (62 KiB, quick)"
    rows = [
        {
            "name": name,
            "unit": "s",
            "ours": round(elapsed, 3),
            "anchor": ANCHOR if not quick else None,
            "anchor_name": ANCHOR_NAME if not quick else None,
            "target": f"<= {TARGET:g} s" if not quick else "",
            "verdict": ("meets target" if elapsed <= TARGET else "misses target") if not quick else "quick run (DEV size)",
            "stages": {k: round(stages.get(k, 0.0), 3) for k in STAGES},
            "backend": erasure.BACKEND,
            "workers": kzg_module.WORKERS,
        },
        {
            "name": "is_piece_valid, one piece" + (" (mainnet)" if not quick else " (DEV)"),
            "unit": "s",
            "ours": round(verify, 3),
            "anchor": None,
            "anchor_name": None,
            "target": "",
            "verdict": "valid" if valid else "INVALID",
        },
    ]
    return rows


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    rows = run(quick=quick)
    print(f"{'benchmark':<45} {'ours':>10} {'anchor':>12}  target  verdict")
    for row in rows:
        anchor = f"{row['anchor']} {row['unit']}" if row["anchor"] else ""
        print(f"{row['name']:<45} {row['ours']:>8} {row['unit']} {anchor:>12}  {row['target']}  {row['verdict']}")
        if "stages" in row:
            print(f"  Fr backend: {row['backend']}, worker threads: {row['workers']}")
            for stage, seconds in row["stages"].items():
                print(f"    {stage:<22} {seconds:>8.3f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
