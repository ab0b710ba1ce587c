"""Progress and warnings from the library to whoever drives it.

The library never prints. Long operations take a ``sink`` (any callable that
accepts a :class:`ProgressEvent`) and report to it; the CLI passes a sink that
draws on stderr, tests pass a list's ``append``, and the default ignores
everything.

Event kinds:
    ``start``: a stage begins (``total`` in ``unit``, when known).
    ``advance``: ``done`` of ``total`` reached.
    ``end``: the stage finished.
    ``warning``: something the user should know; the work goes on.
    ``info``: a note (e.g. "cache hit").
    ``command``: an external command (``text`` is it, shell-quoted); in a dry
        run this is the only output.

``episode`` names the episode an event belongs to (``ep001``), when it belongs to one: the work of
one episode (its render, its encode) is reported through :func:`for_episode`, so drawers can show
several episodes in flight (``-j N``, Ray) without mixing them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

__all__ = ["EventKind", "ProgressEvent", "ProgressSink", "Reporter", "for_episode", "null_sink"]

EventKind = Literal["start", "advance", "end", "warning", "info", "command"]


@dataclass(frozen=True)
class ProgressEvent:
    kind: EventKind
    stage: str
    done: Fraction | int | None = None
    total: Fraction | int | None = None
    unit: str = ""
    text: str = ""
    episode: str = ""

    @property
    def fraction(self) -> float | None:
        """Share done in 0..1, for display only."""
        if self.done is None or not self.total:
            return None
        return max(0.0, min(1.0, float(self.done) / float(self.total)))


ProgressSink = Callable[[ProgressEvent], None]


def null_sink(event: ProgressEvent) -> None:
    """A sink that ignores every event."""


def for_episode(sink: ProgressSink, episode: str) -> ProgressSink:
    """``sink`` with every event tagged as ``episode``'s."""

    def tagged(event: ProgressEvent) -> None:
        sink(replace(event, episode=episode))

    return tagged


class Reporter:
    """Convenience wrapper binding a sink to one stage name."""

    def __init__(self, sink: ProgressSink | None, stage: str) -> None:
        self.sink: ProgressSink = sink or null_sink
        self.stage = stage

    def start(self, total: Fraction | int | None = None, unit: str = "") -> None:
        self.sink(ProgressEvent("start", self.stage, 0, total, unit))

    def advance(self, done: Fraction | int, total: Fraction | int | None = None, unit: str = "") -> None:
        self.sink(ProgressEvent("advance", self.stage, done, total, unit))

    def end(self, text: str = "") -> None:
        self.sink(ProgressEvent("end", self.stage, text=text))

    def warning(self, text: str) -> None:
        self.sink(ProgressEvent("warning", self.stage, text=text))

    def info(self, text: str) -> None:
        self.sink(ProgressEvent("info", self.stage, text=text))

    def command(self, text: str) -> None:
        self.sink(ProgressEvent("command", self.stage, text=text))
