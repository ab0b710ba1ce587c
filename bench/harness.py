"""Benchmark harness: every benchmark is timed against a peer in the same run.

A benchmark module ``bench/bench_<name>.py`` exposes
``benchmarks(work: Path) -> Iterable[Result]``. Each :class:`Result` holds
vertcut's wall-clock time and the peer's (plain ffmpeg, PySceneDetect...)
for the same work, measured back to back on this machine, so the printed
ratio is meaningful wherever it runs. Timing lives here, never in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    ours_s: float
    peer_s: float
    peer: str
    target: float | None = None  # minimum acceptable speed ratio (peer_s / ours_s)
    note: str = ""
    kind: str = "speed"  # "speed": ratio = peer/ours (higher is better); "figure": ours_s is a plain number

    @property
    def ratio(self) -> float:
        return self.peer_s / self.ours_s if self.ours_s > 0 else float("inf")

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.kind == "speed" else self.ours_s >= self.target


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall-clock seconds of ``repeat`` runs (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved(ours: Callable[[], object], peer: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """Best-of times for ``ours`` and ``peer``, run alternately so drift hits both."""
    a = b = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        peer()
        b = min(b, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ours()
        a = min(a, time.perf_counter() - t0)
    return a, b
