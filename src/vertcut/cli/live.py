"""Progress as people expect it: the CLI's drawers of the library's progress events.

:class:`Clock` turns events into rates: per (episode, stage) the fraction done, the speed (media
seconds per wall second: "x real time", for stages measured in seconds of media) and the ETA. It feeds
the JSON lines (``--progress json``) and :class:`LiveDisplay`, the terminal's one live display (Rich):
the overall job, then one line per episode in flight with its stage, percentage, speed and ETA;
warnings are printed above it without breaking it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..progress import ProgressEvent

__all__ = ["Clock", "LiveDisplay", "StageRate"]


@dataclass
class StageRate:
    started: float
    fraction: float | None = None
    speed: float | None = None  # media seconds per wall second
    eta_s: float | None = None
    unit: str = ""
    last: tuple[float, float] | None = None  # (wall, done) of the last speed sample

    def update(self, ev: ProgressEvent, now: float) -> None:
        self.unit = ev.unit or self.unit
        f = ev.fraction
        if f is not None:
            self.fraction = f
            elapsed = now - self.started
            self.eta_s = elapsed * (1 - f) / f if f > 0.01 and elapsed > 0.2 else None
        if ev.done is not None and self.unit == "s":
            done = float(ev.done)
            if self.last is not None and now - self.last[0] >= 0.5:
                rate = (done - self.last[1]) / (now - self.last[0])
                self.speed = rate if self.speed is None else 0.6 * self.speed + 0.4 * rate
                self.last = (now, done)
            elif self.last is None:
                self.last = (now, done)


@dataclass
class Clock:
    """Rates of every (episode, stage) in flight."""

    stages: dict[tuple[str, str], StageRate] = field(default_factory=dict)

    def update(self, ev: ProgressEvent, now: float | None = None) -> StageRate | None:
        now = time.monotonic() if now is None else now
        key = (ev.episode, ev.stage)
        if ev.kind == "start":
            self.stages[key] = StageRate(now)
        if ev.kind in ("start", "advance"):
            rate = self.stages.setdefault(key, StageRate(now))
            rate.update(ev, now)
            return rate
        if ev.kind == "end":
            return self.stages.pop(key, None)
        return None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


@dataclass
class _Episode:
    stage: str = ""
    fraction: float | None = None
    speed: float | None = None
    eta_s: float | None = None
    render: float = 0.0  # the render's own fraction (its frames piped)


class LiveDisplay:
    """One live display on a terminal (Rich): the job's line, then a line per episode in flight."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream, highlight=False)
        self.clock = Clock()
        self.started = time.monotonic()
        self.top: tuple[str, float | None] = ("starting", None)
        self.total_episodes = 0
        self.done_episodes = 0
        self.episodes_started: float | None = None
        self.flight: dict[str, _Episode] = {}
        self.live = Live(console=self.console, refresh_per_second=6, transient=True, auto_refresh=True,
                         get_renderable=self._render)  # fmt: skip
        self.live.start()

    def print(self, text: str, style: str = "") -> None:
        self.console.print(text, style=style or None, markup=False, highlight=False)

    def handle(self, ev: ProgressEvent) -> None:
        rate = self.clock.update(ev)
        if ev.kind == "warning":
            who = f"{ev.episode} " if ev.episode else ""
            self.print(f"vertcut: warning: {who}{ev.stage}: {ev.text}", "yellow")
            return
        if ev.kind == "info":
            return
        if not ev.episode:
            if ev.stage == "episodes":
                if ev.kind == "start":
                    self.total_episodes = int(ev.total or 0)
                    self.episodes_started = time.monotonic()
                elif ev.kind == "advance" and ev.done is not None:
                    self.done_episodes = int(ev.done)
                return
            if ev.kind == "end":
                self.print(f"{ev.stage}: done{' - ' + ev.text if ev.text else ''}", "dim")
                self.top = ("", None)
            else:
                self.top = (ev.stage, ev.fraction)
            return
        ep = self.flight.setdefault(ev.episode, _Episode())
        if ev.kind == "end" and ev.stage == f"render {ev.episode}":
            self.flight.pop(ev.episode, None)
            self.print(f"{ev.episode}: rendered{' - ' + ev.text if ev.text else ''}", "green")
            return
        if ev.stage == f"render {ev.episode}" and ev.fraction is not None:
            ep.render = ev.fraction
        if rate is not None and ev.kind != "end":
            ep.stage, ep.fraction = ev.stage, rate.fraction
            if rate.speed is not None:
                ep.speed = rate.speed
            if ev.stage == f"render {ev.episode}" or ev.stage == "encode":
                ep.eta_s = rate.eta_s

    def _job_line(self) -> str:
        from rich.markup import escape

        elapsed = time.monotonic() - self.started
        if self.total_episodes:
            share = (self.done_episodes + sum(e.render for e in self.flight.values())) / self.total_episodes
            since = time.monotonic() - (self.episodes_started or self.started)
            eta = since * (1 - share) / share if share > 0.01 else None
            bar = _bar(share)
            return (f"[bold]job[/bold]  {bar} {share * 100:5.1f}%  {self.done_episodes}/{self.total_episodes} "
                    f"episodes  elapsed {_clock(elapsed)}  ETA {_clock(eta)}")  # fmt: skip
        stage, f = self.top
        pct = f"{f * 100:5.1f}%" if f is not None else "  ...."
        return f"[bold]job[/bold]  {escape(stage or 'working')} {_bar(f or 0)} {pct}  elapsed {_clock(elapsed)}"

    def _render(self) -> Any:
        from rich.console import Group
        from rich.markup import escape
        from rich.text import Text

        lines: list[Any] = [Text.from_markup(self._job_line())]
        for name, e in sorted(self.flight.items()):
            pct = f"{e.fraction * 100:5.1f}%" if e.fraction is not None else "  ...."
            speed = f"{e.speed:4.1f}x" if e.speed is not None else "  -- "
            lines.append(Text.from_markup(
                f"  {escape(name)}  {escape(e.stage[:14]):<14} {_bar(e.fraction or 0, 20)} {pct}  {speed}  "
                f"ETA {_clock(e.eta_s)}"
            ))  # fmt: skip
        return Group(*lines)

    def close(self) -> None:
        self.live.stop()


def _bar(f: float, width: int = 24) -> str:
    n = int(max(0.0, min(1.0, f)) * width)
    return "[cyan]" + "━" * n + "[/cyan][dim]" + "━" * (width - n) + "[/dim]"
