"""Benchmark harness: every benchmark is timed against a peer in the same run.

A benchmark module ``bench/bench_<name>.py`` exposes
``benchmarks(work: Path) -> Iterable[Result]``. Each :class:`Result` holds
vertcut's wall-clock time and the peer's (plain ffmpeg, PySceneDetect...)
for the same work, measured back to back on this machine, so the printed
ratio is meaningful wherever it runs. Timing lives here, never in tests.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


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


Rounds = list[list[tuple[float, float]]]  # per round, per function: (wall s, CPU s)


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (the ffmpeg runs)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def paired_rounds(fns: list[Callable[[], object]], repeat: int) -> Rounds:
    """Wall-clock and CPU seconds of each function, per round.

    The functions run back to back in each round, so a round's figures share the machine's state; every
    other round runs them in the opposite order, so whatever the first run of a round pays or leaves
    behind (caches, clock changes) is not always on the same side.
    """
    rounds = []
    for r in range(repeat):
        row: list[tuple[float, float]] = [(0.0, 0.0)] * len(fns)
        order = list(range(len(fns)))
        for i in order if r % 2 == 0 else order[::-1]:
            c0, t0 = cpu_seconds(), time.perf_counter()
            fns[i]()
            row[i] = (time.perf_counter() - t0, cpu_seconds() - c0)
        rounds.append(row)
    return rounds


def side_by_side_rounds(fns: list[Callable[[], object]], repeat: int, pin: bool = True) -> Rounds:
    """Wall-clock and CPU seconds of two functions run at the same time.

    On a shared machine the run-to-run noise is other tenants' load, which changes within seconds: two
    runs of the same plain encode back to back differ by up to 13 % on this project's 2-core machine.
    Run side by side, both functions meet the same load at the same moment. Each function runs in a
    forked process (nothing to import), whose ffmpeg children inherit its CPU set.

    ``pin``: each process gets one of the two CPUs, and the CPUs swap every round; ffmpeg and x264 then
    run one thread each (one job per CPU, the way a batch runs). The same encode against itself gave
    medians of 0.99-1.03 (CPU and wall) over five runs of 5 rounds, single rounds 0.94-1.05. Without ``pin`` both
    processes share both CPUs and thread as usual (one job on a 2-core machine); that is fair for CPU
    time, while each one's wall-clock also depends on how the scheduler shares the CPUs between them.
    The same encode against itself gave a median of 1.00, single rounds 0.985-1.008 (CPU).
    Needs two CPUs.
    """
    if len(fns) != 2:
        raise ValueError("side_by_side_rounds runs exactly two functions")
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        raise RuntimeError("side-by-side rounds need two CPUs")
    ctx = multiprocessing.get_context("fork")
    rounds = []
    for r in range(repeat):
        start = ctx.Barrier(2)
        results = ctx.Queue()
        procs = [
            ctx.Process(target=_timed_on, args=(i, fn, {cpus[(i + r) % 2]} if pin else set(cpus), start, results))
            for i, fn in enumerate(fns)
        ]
        for p in procs:
            p.start()
        for p in procs:  # the results are two small tuples: the queue's pipe holds them until read
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"a side-by-side run failed (exit {p.exitcode})")
        got = dict(results.get(timeout=10) for _ in procs)
        rounds.append([got[0], got[1]])
    return rounds


def _timed_on(i: int, fn: Callable[[], object], cpus: set[int], start: Any, results: Any) -> None:
    os.sched_setaffinity(0, cpus)
    start.wait(timeout=60)
    c0, t0 = cpu_seconds(), time.perf_counter()
    fn()
    results.put((i, (time.perf_counter() - t0, cpu_seconds() - c0)))


def median_round(rounds: Rounds, k: int, ours: int = 0, peer: int = 1) -> tuple[float, float, str]:
    """The (ours, peer) figures ``k`` (0 wall, 1 CPU) of the round with the median ratio, and all ratios.

    A paired ratio follows the machine's drift (other tenants, clock changes) that best-of-N on
    each side separately can pair with a quiet spell for one side and a busy one for the other.
    """
    ratios = sorted((row[peer][k] / row[ours][k], row[ours][k], row[peer][k]) for row in rounds)
    _, ours_s, peer_s = ratios[len(ratios) // 2]
    return ours_s, peer_s, "rounds " + " ".join(f"{r:.2f}" for r, _, _ in ratios)


def paired_results(rounds: Rounds, name: str, peer: str, target: float | None, note: str) -> Iterator[Result]:
    """A wall-clock and a CPU result from paired rounds of (vertcut, the peer): each the round with the
    median ratio, every round's ratio appended to ``note``."""
    for k, what in enumerate(("wall", "CPU")):
        ours_s, peer_s, spread = median_round(rounds, k)
        yield Result(f"{name} {what}", ours_s, peer_s, peer, target=target,
                     note=f"{note}; median of {len(rounds)} paired {spread}")  # fmt: skip
