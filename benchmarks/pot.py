"""Proof-of-Time speed (chain/pot.py) beside its anchors, measured in one run.

Rows:
  PoT prove            AES iterations/s of `chain.pot.prove` (the native AES-NI kernel, or
                       OpenSSL AES-128-CBC over zero blocks without it) vs a chained AES-NI
                       loop in C, compiled here with gcc -O2 -maes
                       in a temporary directory and run as a subprocess with the same
                       iteration count (it times its own loop). Target: >= 0.92x the C loop.
  PoT verify / prove   `chain.pot.verify` time over `prove` time, same seed and iterations, with
                       the default backend. Target: <= 0.25 (stretch 0.15).
  (info rows)          verify / prove with every other available backend (and plain AES-NI on
                       one core as well as split over two), no target.
  (info rows)          prove beside a busy Python thread / prove alone, one DEV slot (2^24
                       iterations), per prover: what a node's PoT worker suffers when the
                       prover holds the GIL between chunks (OpenSSL through `cryptography`)
                       and what it does not when the kernel releases it for the whole slot.

Each figure is the best of several runs (2 shared cores: the minimum is the least disturbed);
ours and the anchor alternate so that background load hits both alike.

Usage: python benchmarks/pot.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chain import pot  # noqa: E402

PROVE_TARGET = 0.92
VERIFY_TARGET = 0.25
VERIFY_STRETCH = 0.15

#: The anchor: one AES-128 chain with AES-NI, timed inside the process (clock_gettime).
ANCHOR_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <wmmintrin.h>

static __m128i step(__m128i k, __m128i a)
{
    a = _mm_shuffle_epi32(a, 0xff);
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, a);
}
#define R(i, c) k[i] = step(k[i - 1], _mm_aeskeygenassist_si128(k[i - 1], c))

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    __m128i k[11];
    k[0] = _mm_set_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    R(1, 0x01); R(2, 0x02); R(3, 0x04); R(4, 0x08); R(5, 0x10);
    R(6, 0x20); R(7, 0x40); R(8, 0x80); R(9, 0x1b); R(10, 0x36);
    __m128i x = _mm_set_epi32(1, 2, 3, (int)n);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint64_t i = 0; i < n; i++) {
        x = _mm_xor_si128(x, k[0]);
        for (int r = 1; r < 10; r++)
            x = _mm_aesenc_si128(x, k[r]);
        x = _mm_aesenclast_si128(x, k[10]);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    unsigned char out[16];
    _mm_storeu_si128((__m128i *)out, x);
    printf("%.9f %02x%02x\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, out[0], out[1]);
    return 0;
}
"""


def build_anchor(workdir: Path) -> Path | None:
    """Compile the C anchor with gcc -O2 -maes; None if gcc is missing or fails."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    source = workdir / "aes_chain.c"
    binary = workdir / "aes_chain"
    source.write_text(ANCHOR_C)
    done = subprocess.run([gcc, "-O2", "-maes", str(source), "-o", str(binary)], capture_output=True)
    return binary if done.returncode == 0 else None


def time_anchor(binary: Path, iterations: int) -> float:
    out = subprocess.run([str(binary), str(iterations)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def time_call(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def time_beside_busy_thread(fn, *args) -> float:
    """Time `fn(*args)` on a thread while this thread spins in Python (as a node's RPC and
    domain threads do), i.e. with the GIL contended."""
    elapsed = []
    worker = threading.Thread(target=lambda: elapsed.append(time_call(fn, *args)))
    worker.start()
    spins = 0
    while worker.is_alive():
        spins += 1
    worker.join()
    return elapsed[0]


def _row(name, unit, ours, anchor, anchor_name, target, verdict, **extra) -> dict:
    return dict(name=name, unit=unit, ours=ours, anchor=anchor, anchor_name=anchor_name,
                target=target, verdict=verdict, **extra)


def run(quick: bool = False) -> list[dict]:
    """Measure proving against the C loop and verification against proving."""
    iterations = 1 << 22 if quick else 1 << 26
    repeats = 2 if quick else 3
    seed = bytes(range(16))
    rows = []

    # --- proving vs the C AES-NI loop ---
    with tempfile.TemporaryDirectory(prefix="pot-bench-") as tmp:
        binary = build_anchor(Path(tmp))
        prove_times, anchor_times = [], []
        pot.prove(seed, 1 << 16)  # warm up (imports, OpenSSL init)
        for _ in range(repeats):
            prove_times.append(time_call(pot.prove, seed, iterations))
            if binary is not None:
                anchor_times.append(time_anchor(binary, iterations))
    prove_s = min(prove_times)
    ours_rate = iterations / prove_s
    if anchor_times:
        anchor_rate = iterations / min(anchor_times)
        ratio = ours_rate / anchor_rate
        rows.append(_row("PoT prove", "iterations/s", ours_rate, anchor_rate,
                         "C AES-NI chained loop (gcc -O2 -maes)", f">= {PROVE_TARGET}x anchor",
                         "PASS" if ratio >= PROVE_TARGET else "MISS", ratio=ratio, iterations=iterations))
    else:
        rows.append(_row("PoT prove", "iterations/s", ours_rate, None,
                         "C AES-NI loop unavailable (no gcc or compile failed)", f">= {PROVE_TARGET}x anchor",
                         "", ratio=None, iterations=iterations))

    # --- verification vs proving, every backend (the default one carries the target) ---
    checkpoints = pot.prove(seed, iterations)
    default = pot.BACKEND
    backends = [default] + [b for b in ("native-vaes-avx512", "native-aesni", "openssl") if b != default]
    try:
        for backend in backends:
            try:
                pot.use_backend(backend)
            except ValueError:
                continue  # not built or not supported by this CPU
            assert pot.verify(seed, iterations, checkpoints)
            runs = 2 if backend == "openssl" else repeats + 2
            verify_s = min(time_call(pot.verify, seed, iterations, checkpoints) for _ in range(runs))
            ratio = verify_s / prove_s
            if backend == "native-aesni" and pot._split_over_two_cores(iterations // 8):
                saved = pot._SPLIT_MIN_CHECKPOINT_ITERATIONS
                pot._SPLIT_MIN_CHECKPOINT_ITERATIONS = 1 << 62  # one core only
                try:
                    one_core = min(time_call(pot.verify, seed, iterations, checkpoints) for _ in range(runs))
                finally:
                    pot._SPLIT_MIN_CHECKPOINT_ITERATIONS = saved
                rows.append(_row("  verify / prove [native-aesni, 1 core]", "time ratio", one_core / prove_s,
                                 1.0, "prove", "(info)", "", backend=backend, verify_s=one_core,
                                 prove_s=prove_s, iterations=iterations))
            if backend == default:
                verdict = "PASS" if ratio <= VERIFY_TARGET else "MISS"
                stretch = "stretch met" if ratio <= VERIFY_STRETCH else "stretch missed"
                rows.append(_row("PoT verify / prove", "time ratio", ratio, 1.0, f"prove ({backend})",
                                 f"<= {VERIFY_TARGET} (stretch {VERIFY_STRETCH}: {stretch})", verdict,
                                 backend=backend, verify_s=verify_s, prove_s=prove_s, iterations=iterations))
            else:
                rows.append(_row(f"  verify / prove [{backend}]", "time ratio", ratio, 1.0, "prove",
                                 "(info)", "", backend=backend, verify_s=verify_s, prove_s=prove_s,
                                 iterations=iterations))
    finally:
        pot.use_backend(default)

    # --- proving beside a busy Python thread, every prover ---
    slot_iterations = 1 << 24
    default_prover = pot.PROVER
    try:
        for prover in [default_prover] + [p for p in ("native-aesni", "openssl") if p != default_prover]:
            try:
                pot.use_prover(prover)
            except ValueError:
                continue  # not built or no AES-NI
            alone = min(time_call(pot.prove, seed, slot_iterations) for _ in range(repeats))
            busy = min(time_beside_busy_thread(pot.prove, seed, slot_iterations) for _ in range(2))
            rows.append(_row(f"  prove beside busy Python [{prover}]", "time ratio", busy / alone, 1.0,
                             "prove alone", "(info)", "", prover=prover, alone_s=alone, busy_s=busy,
                             iterations=slot_iterations))
    finally:
        pot.use_prover(default_prover)
    return rows


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"{value / 1e6:,.1f}M"
    return f"{value:.3f}"


def table(rows: list[dict]) -> str:
    lines = [f"{'benchmark':<34} {'unit':<13} {'ours':>9} {'anchor':>9} {'ratio':>7}  {'target':<38} verdict  anchor"]
    for r in rows:
        ratio = r.get("ratio", r["ours"] if r["unit"] == "time ratio" else None)
        lines.append(f"{r['name']:<34} {r['unit']:<13} {_fmt(r['ours']):>9} {_fmt(r['anchor']):>9} "
                     f"{_fmt(ratio):>7}  {r['target']:<38} {r['verdict']:<7}  {r['anchor_name']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2^22 iterations instead of 2^26")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    print(f"backend: {pot.BACKEND}; prover: {pot.PROVER}; iterations: {rows[0].get('iterations')}")
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
