"""Split settings: a preset kind (``presets/split/*.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from ..markers.roles import compile_name, parse_colours
from ..presets import register_kind
from ..timebase import parse_time

__all__ = ["SplitSettings"]


@dataclass(frozen=True)
class SplitSettings:
    snap: str = "0.5s"  # snap a marker to a hard cut within this distance
    min_duration: str = "5s"  # shorter episodes are an error
    warn_duration: str = "20s"  # shorter episodes get a warning
    max_duration: str = "15min"  # longer episodes are an error (15min = 900s)
    free_episodes: int = 3  # the first N episodes are free, the rest paid
    cue_policy: Literal["clip", "keep-in-first", "drop"] = "clip"
    # which markers are cliffhangers (cuts); the others are notes, kept in the manifest (markers.roles)
    marker_colour: str = ""  # by colour: "red", several "red,pink", "none" (uncoloured); empty: no colour rule
    marker_name: str = ""  # by name: a regular expression, case-insensitive; both rules: a marker matches both
    timeline_start: str = ""  # e.g. "01:00:00:00"; empty: guess (Resolve's 01:00:00:00)
    crf: int = 16  # episodes are intermediates for the encode stage: high quality
    preset: str = "veryfast"
    audio_kbps: int = 256
    name_pattern: str = "ep{number:03d}"

    def __post_init__(self) -> None:
        for key in ("snap", "min_duration", "warn_duration", "max_duration"):
            try:
                self.seconds(key, Fraction(25))  # syntax only; the real rate comes with the master
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        if not 0 <= self.crf <= 51:
            raise ValueError("crf must be 0..51")
        if self.audio_kbps <= 0:
            raise ValueError("audio_kbps must be > 0")
        try:
            self.name_pattern.format(number=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"name_pattern {self.name_pattern!r}: {exc}") from None
        if self.free_episodes < 0:
            raise ValueError("free_episodes must be >= 0")
        try:
            parse_colours(self.marker_colour)
        except ValueError as exc:
            raise ValueError(f"marker_colour: {exc}") from None
        try:
            compile_name(self.marker_name)
        except ValueError as exc:
            raise ValueError(f"marker_name: {exc}") from None

    def seconds(self, key: str, rate: Fraction) -> Fraction:
        """A duration setting in exact seconds (``15min`` is accepted besides parse_time's units)."""
        value = str(getattr(self, key)).strip()
        if value.endswith("min"):
            return Fraction(value[:-3]) * 60
        return parse_time(value, rate)


register_kind("split", SplitSettings)
