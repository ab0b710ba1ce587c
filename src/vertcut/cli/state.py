"""Per-invocation CLI state and the stderr progress renderer."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TextIO

import click

from ..ffmpeg import FFmpeg
from ..progress import ProgressEvent
from .live import Clock, LiveDisplay, StageRate

__all__ = ["CliState", "StderrProgress", "executor_options", "get_state", "split_csv"]


def split_csv(value: str) -> tuple[str, ...]:
    """``"hls, dash,,mp4"`` -> ``("hls", "dash", "mp4")``: comma lists typed on the command line."""
    return tuple(v.strip() for v in value.split(",") if v.strip())


class StderrProgress:
    """Draws progress events on stderr.

    ``bar``: one self-overwriting line per stage (a terminal); ``lines``: a
    line at start, every 25 % and at the end (logs, CI); ``json``: every event
    as a JSON object per line; ``none``: warnings only. Dry-run commands go to
    stdout, since they are the command's output.
    """

    def __init__(self, mode: str, stream: TextIO | None = None, dry_run: bool = False, debug: bool = False) -> None:
        self.stream = stream
        self.dry_run = dry_run
        self.debug = debug
        if mode == "auto":
            mode = "bar" if self._err().isatty() else "lines"
        self.mode = mode
        self._lock = threading.Lock()
        self._last_quarter: dict[str, int] = {}
        self._last_draw = 0.0
        self._open_bar = False
        self._clock = Clock()
        self.warnings = 0  # warnings reported (--fail-on warning)
        self._live: LiveDisplay | None = None
        if self.mode == "bar" and self._err().isatty():
            try:  # the terminal's one live display
                self._live = LiveDisplay(self._err())
            except ImportError:  # no rich: the self-overwriting line below
                self._live = None

    def _err(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, ev: ProgressEvent) -> None:
        err = self._err()
        if ev.kind == "warning":
            self.warnings += 1
        if ev.kind == "command":
            if self.dry_run:
                click.echo(ev.text)
            elif self.debug:
                self._clear_bar()
                print(f"vertcut: {ev.stage}: $ {ev.text}", file=err)
            return
        if self._live is not None:
            self._live.handle(ev)
            return
        who = f"[{ev.episode}] " if ev.episode else ""  # the episode an event belongs to (-j N, Ray)
        if ev.kind == "warning":
            self._clear_bar()
            if self.mode == "json":
                print(json.dumps(_event_dict(ev, None)), file=err, flush=True)
            else:
                print(f"vertcut: warning: {who}{ev.stage}: {ev.text}", file=err)
            return
        if self.mode == "none":
            return
        if self.mode == "json":
            print(json.dumps(_event_dict(ev, self._clock.update(ev))), file=err, flush=True)
            return
        if ev.kind == "info":
            if self.mode == "lines" or self.debug:
                self._clear_bar()
                print(f"vertcut: {who}{ev.stage}: {ev.text}", file=err)
            return
        if self.mode == "lines":
            key = f"{ev.episode}/{ev.stage}"
            if ev.kind == "start":
                self._last_quarter[key] = 0
                print(f"vertcut: {who}{ev.stage}: started", file=err)
            elif ev.kind == "advance" and ev.fraction is not None:
                q = int(ev.fraction * 4)
                if q > self._last_quarter.get(key, 0) and q < 4:
                    self._last_quarter[key] = q
                    print(f"vertcut: {who}{ev.stage}: {q * 25}%", file=err)
            elif ev.kind == "end":
                print(f"vertcut: {who}{ev.stage}: done{' - ' + ev.text if ev.text else ''}", file=err)
            return
        # bar
        now = time.monotonic()
        if ev.kind == "advance" and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        if ev.kind == "end":
            self._clear_bar()
            print(f"{ev.stage}: done{' - ' + ev.text if ev.text else ''}", file=err)
            return
        frac = ev.fraction
        width = 30
        bar = "#" * int((frac or 0) * width)
        pct = f"{frac * 100:5.1f}%" if frac is not None else "  ...."
        done = f" {float(ev.done):.1f}{ev.unit}" if ev.done is not None else ""
        print(f"\r{ev.stage:>10} [{bar:<{width}}] {pct}{done}", end="", file=err, flush=True)
        self._open_bar = True

    def _clear_bar(self) -> None:
        if self._open_bar:
            print("\r\033[K", end="", file=self._err())
            self._open_bar = False

    def close(self) -> None:
        with self._lock:
            self._clear_bar()
            if self._live is not None:
                self._live.close()
                self._live = None


def _event_dict(ev: ProgressEvent, rate: StageRate | None) -> dict[str, object]:
    """One ``--progress json`` line (schema ``vertcut.progress/1``, docs/progress.md)."""

    def num(v: Fraction | int | None) -> float | int | None:
        return None if v is None else (v if isinstance(v, int) else float(v))

    def rounded(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {
        "event": ev.kind,
        "episode": ev.episode or None,
        "stage": ev.stage,
        "done": num(ev.done),
        "total": num(ev.total),
        "unit": ev.unit,
        "fraction": rounded(ev.fraction),
        "eta_s": rounded(rate.eta_s) if rate is not None else None,
        "speed": rounded(rate.speed) if rate is not None else None,
        "text": ev.text,
    }


@dataclass
class CliState:
    debug: bool = False
    quiet: bool = False
    progress_mode: str = "auto"
    dry_run: bool = False
    fail_on: str = "error"  # "warning": a run with warnings exits EXIT_WARNINGS
    sink: StderrProgress = field(init=False)

    def __post_init__(self) -> None:
        self.sink = StderrProgress(self.progress_mode, dry_run=self.dry_run, debug=self.debug)

    def ffmpeg(self, timeout: float | None = None) -> FFmpeg:
        """An ffmpeg runner wired to this invocation's dry-run flag and progress."""
        return FFmpeg(
            dry_run=self.dry_run, sink=self.sink, timeout=timeout, loglevel="info" if self.debug else "warning"
        )

    def close(self) -> None:
        self.sink.close()


def get_state() -> CliState:
    """The current invocation's state (a default one outside a ``vertcut`` group)."""
    ctx = click.get_current_context()
    state = ctx.find_object(CliState)
    if state is None:
        state = CliState()
        ctx.obj = state
    return state


def executor_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--executor``, ``--address``, ``--retries`` and ``--cpus-per-task``: where the independent work runs
    (see :mod:`vertcut.jobs.executor`). The command receives them as ``executor``, ``address``, ``retries``,
    ``cpus_per_task``."""
    f = click.option(
        "--cpus-per-task", type=click.FloatRange(0.01, 1024), default=1.0, show_default=True,
        help="ray: CPUs the cluster reserves for each task (run: an episode's encode; batch: a master's job).",
    )(f)  # fmt: skip
    f = click.option(
        "--retries", type=click.IntRange(0, 20), default=3, show_default=True,
        help="ray: times a task is rerun when its worker or node dies (a failed task is not rerun).",
    )(f)  # fmt: skip
    f = click.option(
        "--address", envvar="RAY_ADDRESS", default="auto", show_default=True,
        help="ray: the cluster (HOST:PORT; auto: the one this machine belongs to; local: a throw-away one).",
    )(f)  # fmt: skip
    return click.option(
        "--executor", type=click.Choice(["local", "ray"]), envvar="VERTCUT_EXECUTOR", default="local",
        show_default=True, help="Where the work runs: this machine, or an existing Ray cluster (shared storage).",
    )(f)  # fmt: skip


def detector_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--detector``: the analysis pass's face detector (:data:`vertcut.analysis.DETECTORS`); the command
    receives it as ``detector``."""
    from ..analysis import DETECTORS

    return click.option(
        "--detector", type=click.Choice(list(DETECTORS)), default="full", show_default=True,
        help="Face detector: " + "; ".join(f"{k}: {v}" for k, v in DETECTORS.items()) + ".",
    )(f)  # fmt: skip
