"""What the consensus benchmarks share: timing, one-core pinning, result rows, the printed table."""

from __future__ import annotations

import os
import time


def best_time(fn, repeat: int) -> float:
    """The fastest of `repeat` runs of `fn()`, in seconds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def row(name: str, unit: str, ours: float, anchor: float | None, anchor_name: str, target: str,
        ok: bool | None = None, **extra) -> dict:
    """One result: ours beside the anchor; `ok` is the target's verdict (None: no target)."""
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    return {"name": name, "unit": unit, "ours": ours, "anchor": anchor, "anchor_name": anchor_name,
            "target": target, "verdict": verdict, **extra}


class OneCore:
    """Pin this process to one CPU for the duration (where the OS allows it)."""

    def __enter__(self):
        self.saved = None
        if hasattr(os, "sched_setaffinity"):
            try:
                self.saved = os.sched_getaffinity(0)
                os.sched_setaffinity(0, {max(self.saved)})
            except OSError:
                self.saved = None
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            os.sched_setaffinity(0, self.saved)


def _number(value) -> str:
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:,.2f}"


def print_rows(rows: list[dict]) -> None:
    """The table `python benchmarks/<name>.py` prints."""
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'unit':<8} {'ours':>12} {'anchor':>12}  {'anchor is':<18} {'target':<9} verdict")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['unit']:<8} {_number(r['ours']):>12} {_number(r['anchor']):>12}  "
              f"{r['anchor_name'] or '':<18} {r['target'] or '':<9} {r['verdict']}")
