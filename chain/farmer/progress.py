"""Plotting progress: what the plotting thread reports after each sector, and the default
reporter that prints one readable line per sector to stderr."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class PlottingProgress:
    """Reported after each plotted (or replotted) sector.

    `done` of `total` sectors are plotted and current once this one is written; `fraction` is
    `done / total`. `elapsed` and `eta` are seconds since this plotting run started and the
    estimated seconds to plot the `total - done` remaining sectors at the run's average pace.
    """

    sector_index: int
    done: int
    total: int
    sector_bytes: int
    bytes_plotted: int
    sector_seconds: float
    elapsed: float
    eta: float
    history_size: int
    replot: bool

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def percent(self) -> float:
        return 100.0 * self.fraction


def format_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def format_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, s = divmod(int(seconds + 0.5), 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


def format_progress(p: PlottingProgress) -> str:
    """One line, e.g. `plotted sector 3 (4/16, 25.0%) 131.1 KiB in 0.6s, elapsed 2.4s, ETA 7.2s`."""
    verb = "replotted" if p.replot else "plotted"
    return (
        f"{verb} sector {p.sector_index} ({p.done}/{p.total}, {p.percent:.1f}%) "
        f"{format_bytes(p.sector_bytes)} in {format_seconds(p.sector_seconds)} at history size {p.history_size}, "
        f"elapsed {format_seconds(p.elapsed)}, ETA {format_seconds(p.eta)}"
    )


class ProgressPrinter:
    """The default progress reporter: one line per sector on `stream` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, prefix: str = "farmer: "):
        self.stream = stream
        self.prefix = prefix

    def __call__(self, progress: PlottingProgress) -> None:
        stream = self.stream or sys.stderr
        print(self.prefix + format_progress(progress), file=stream, flush=True)
