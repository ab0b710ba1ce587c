"""Exact media time: integer ticks in a :class:`fractions.Fraction` time base.

A timestamp in a media file is an integer ``pts`` counted in a ``time_base``
(seconds per tick), e.g. ``pts=3003`` in ``time_base=1/30000`` is 0.1001 s,
which is frame 3 at 29.97 fps (``30000/1001``). vertcut never turns a cut,
marker or subtitle boundary into a float: it carries either frame indices at an
exact :class:`~fractions.Fraction` frame rate, or :class:`MediaTime` values.

Ranges are half-open: ``FrameRange(10, 20)`` holds frames 10..19 and its
``stop`` is the first frame of whatever follows. ``end_inclusive`` names the
last frame explicitly where a tool wants one.

User-typed times are parsed late, with an explicit unit, once the rate is
known (:func:`parse_time`)::

    parse_time("12.5s")                          == Fraction(25, 2)
    parse_time("00:01:02.500")                   == Fraction(125, 2)
    parse_time("360f", rate=Fraction(25))        == Fraction(72, 5)
    parse_time("00:01:00;02", rate=NTSC_29_97)   # drop-frame SMPTE

Exactly one function formats a time for ffmpeg: :func:`to_ffmpeg_seconds`,
which floors to ffmpeg's microsecond ``AV_TIME_BASE``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import total_ordering
from typing import Literal

__all__ = [
    "NTSC_23_976",
    "NTSC_29_97",
    "NTSC_59_94",
    "FrameRange",
    "MediaTime",
    "Rounding",
    "format_timecode",
    "frame_to_seconds",
    "is_drop_frame_rate",
    "parse_rate",
    "parse_time",
    "parse_time_to_frame",
    "parse_timecode",
    "seconds_to_frame",
    "to_ffmpeg_seconds",
]

Rounding = Literal["floor", "ceil", "nearest", "exact"]

NTSC_23_976 = Fraction(24000, 1001)
NTSC_29_97 = Fraction(30000, 1001)
NTSC_47_952 = Fraction(48000, 1001)
NTSC_59_94 = Fraction(60000, 1001)
NTSC_119_88 = Fraction(120000, 1001)

_NTSC_NAMES = {
    "23.976": NTSC_23_976,
    "23.98": NTSC_23_976,
    "29.97": NTSC_29_97,
    "47.952": NTSC_47_952,
    "47.95": NTSC_47_952,
    "59.94": NTSC_59_94,
    "119.88": NTSC_119_88,
}


def _round(value: Fraction, rounding: Rounding) -> int:
    if rounding == "floor":
        return math.floor(value)
    if rounding == "ceil":
        return math.ceil(value)
    if rounding == "nearest":
        # round half up, deterministic for negative values too
        return math.floor(value + Fraction(1, 2))
    if value.denominator != 1:
        raise ValueError(f"{value} is not a whole number of ticks")
    return value.numerator


def parse_rate(value: str | int | Fraction | float) -> Fraction:
    """Return an exact frame rate.

    Accepts ``"25"``, ``"30000/1001"``, NTSC shorthands such as ``"29.97"`` or
    ``"23.976"`` (snapped to ``N*1000/1001``), ``"ntsc"`` (29.97) and floats
    close to an NTSC rate.

    Raises:
        ValueError: for a non-positive or unreadable rate.
    """
    rate: Fraction
    if isinstance(value, Fraction):
        rate = value
    elif isinstance(value, int):
        rate = Fraction(value)
    elif isinstance(value, float):
        rate = _snap_float_rate(value)
    else:
        text = value.strip().lower()
        if text == "ntsc":
            rate = NTSC_29_97
        elif text in _NTSC_NAMES:
            rate = _NTSC_NAMES[text]
        else:
            try:
                rate = Fraction(text)
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"not a frame rate: {value!r}") from None
            if "/" not in text and rate.denominator != 1:
                rate = _snap_float_rate(float(rate))
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {value!r}")
    return rate


def _snap_float_rate(value: float) -> Fraction:
    for ntsc in _NTSC_NAMES.values():
        if abs(float(ntsc) - value) < 0.005:
            return ntsc
    return Fraction(value).limit_denominator(1001)


@total_ordering
@dataclass(frozen=True, eq=False)
class MediaTime:
    """A timestamp: ``pts`` ticks of ``time_base`` seconds each.

    Two values are equal when they denote the same instant, whatever their
    time bases (``MediaTime(1, 1/25) == MediaTime(40, 1/1000)``).
    """

    pts: int
    time_base: Fraction

    def __post_init__(self) -> None:
        if not isinstance(self.pts, int):
            raise TypeError(f"pts must be an int, got {type(self.pts).__name__}")
        if self.time_base <= 0:
            raise ValueError(f"time base must be positive, got {self.time_base}")

    @classmethod
    def from_frames(cls, frame: int, rate: Fraction) -> MediaTime:
        """Frame ``frame`` of a constant-rate stream, in the time base ``1/rate``."""
        return cls(frame, 1 / Fraction(rate))

    @classmethod
    def from_seconds(cls, seconds: Fraction, time_base: Fraction, rounding: Rounding = "exact") -> MediaTime:
        """``seconds`` expressed in ``time_base`` ticks."""
        return cls(_round(Fraction(seconds) / time_base, rounding), Fraction(time_base))

    @property
    def seconds(self) -> Fraction:
        return self.pts * self.time_base

    def rescale(self, time_base: Fraction, rounding: Rounding = "exact") -> MediaTime:
        """The same instant in another time base (``exact`` raises if it is not a whole tick)."""
        return MediaTime.from_seconds(self.seconds, time_base, rounding)

    def to_frame(self, rate: Fraction, rounding: Rounding = "floor") -> int:
        """Index of the frame (at constant ``rate``) this instant falls in."""
        return seconds_to_frame(self.seconds, rate, rounding)

    def __add__(self, other: MediaTime) -> MediaTime:
        if self.time_base == other.time_base:
            return MediaTime(self.pts + other.pts, self.time_base)
        tb = _common_base(self.time_base, other.time_base)
        return MediaTime(self.rescale(tb).pts + other.rescale(tb).pts, tb)

    def __sub__(self, other: MediaTime) -> MediaTime:
        return self + MediaTime(-other.pts, other.time_base)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MediaTime):
            return NotImplemented
        return self.seconds == other.seconds

    def __lt__(self, other: MediaTime) -> bool:
        return self.seconds < other.seconds

    def __hash__(self) -> int:
        return hash(self.seconds)

    def __str__(self) -> str:
        return f"{self.pts}*{self.time_base}s"


def _common_base(a: Fraction, b: Fraction) -> Fraction:
    # the largest tick that divides both: gcd of numerators over lcm of denominators
    return Fraction(math.gcd(a.numerator, b.numerator), math.lcm(a.denominator, b.denominator))


@dataclass(frozen=True, order=True)
class FrameRange:
    """Frames ``start`` .. ``stop - 1`` (half-open)."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.stop < self.start:
            raise ValueError(f"frame range ends before it starts: {self.start}..{self.stop}")

    @property
    def count(self) -> int:
        return self.stop - self.start

    @property
    def end_inclusive(self) -> int:
        """The last frame in the range (``stop - 1``)."""
        return self.stop - 1

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop

    def __len__(self) -> int:
        return self.count


def frame_to_seconds(frame: int, rate: Fraction) -> Fraction:
    """Start time of frame ``frame`` at constant ``rate``, exactly."""
    return Fraction(frame) / Fraction(rate)


def seconds_to_frame(seconds: Fraction, rate: Fraction, rounding: Rounding = "floor") -> int:
    """The frame containing ``seconds`` (``floor``), or the nearest frame start (``nearest``)."""
    return _round(Fraction(seconds) * Fraction(rate), rounding)


def to_ffmpeg_seconds(t: Fraction | MediaTime) -> str:
    """Format a time for an ffmpeg option (``-ss``, ``-t``, ``-to``, filters).

    The value is floored to whole microseconds (ffmpeg's ``AV_TIME_BASE``),
    so a frame's exact start never rounds past the frame: ``-ss`` then picks
    that frame. This is the only place vertcut writes a time for ffmpeg.

    >>> to_ffmpeg_seconds(Fraction(1001, 30000))
    '0.033366'
    """
    seconds = t.seconds if isinstance(t, MediaTime) else Fraction(t)
    micros = math.floor(seconds * 1_000_000)
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    return f"{sign}{micros // 1_000_000}.{micros % 1_000_000:06d}"


# --- SMPTE timecode ------------------------------------------------------------------


def is_drop_frame_rate(rate: Fraction) -> bool:
    """True for the NTSC rates where drop-frame timecode is defined (29.97, 59.94)."""
    return Fraction(rate) in (NTSC_29_97, NTSC_59_94)


def _nominal(rate: Fraction) -> int:
    return round(Fraction(rate))


def _drop_count(rate: Fraction) -> int:
    # frame numbers dropped at the start of each minute except every tenth
    return round(Fraction(rate) * Fraction(2, 30)) if is_drop_frame_rate(rate) else 0


def format_timecode(frame: int, rate: Fraction, drop_frame: bool | None = None) -> str:
    """SMPTE timecode of frame ``frame``: ``HH:MM:SS:FF`` or ``HH:MM:SS;FF`` (drop frame).

    ``drop_frame`` defaults to True at 29.97 and 59.94 fps.
    """
    if frame < 0:
        raise ValueError(f"negative frame {frame}")
    rate = Fraction(rate)
    nominal = _nominal(rate)
    df = is_drop_frame_rate(rate) if drop_frame is None else drop_frame
    if df:
        if not is_drop_frame_rate(rate):
            raise ValueError(f"drop-frame timecode is not defined at {rate} fps")
        drop = _drop_count(rate)
        per_min = 60 * nominal - drop
        per_10min = 10 * 60 * nominal - 9 * drop
        tens, rem = divmod(frame, per_10min)
        frame += 9 * drop * tens
        if rem > drop:
            frame += drop * ((rem - drop) // per_min)
    ff = frame % nominal
    total_s = frame // nominal
    sep = ";" if df else ":"
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{ff:02d}"


_TC_RE = re.compile(r"^(\d{1,3})[:;](\d{2})[:;](\d{2})[:;](\d{2,3})$")


def parse_timecode(text: str, rate: Fraction, drop_frame: bool | None = None) -> int:
    """Frame index of an SMPTE timecode (a ``;`` anywhere means drop frame).

    Raises:
        ValueError: for a malformed timecode, fields out of range, or a frame
            number that drop-frame timecode skips.
    """
    m = _TC_RE.match(text.strip())
    if not m:
        raise ValueError(f"not a timecode: {text!r} (expected HH:MM:SS:FF)")
    hh, mm, ss, ff = int(m[1]), int(m[2]), int(m[3]), int(m[4])
    rate = Fraction(rate)
    nominal = _nominal(rate)
    df = (";" in text) if drop_frame is None else drop_frame
    if df and not is_drop_frame_rate(rate):
        raise ValueError(f"drop-frame timecode {text!r} at {rate} fps, which has no drop frame")
    if mm > 59 or ss > 59 or ff >= nominal:
        raise ValueError(f"timecode {text!r} has a field out of range at {float(rate):g} fps")
    minutes = 60 * hh + mm
    frame = (3600 * hh + 60 * mm + ss) * nominal + ff
    if df:
        drop = _drop_count(rate)
        if ss == 0 and ff < drop and mm % 10 != 0:
            raise ValueError(f"timecode {text!r} does not exist in drop-frame counting")
        frame -= drop * (minutes - minutes // 10)
    return frame


# --- user-typed times ------------------------------------------------------------------

_SECONDS_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(s|sec|ms)$")
_FRAMES_RE = re.compile(r"^([+-]?\d+)\s*f$")
_CLOCK_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")


def parse_time(text: str, rate: Fraction | None = None) -> Fraction:
    """Parse a user-typed time into exact seconds.

    Accepted, each with an explicit unit: ``12.5s``, ``250ms``, ``360f``
    (frames; needs ``rate``), ``00:01:02.500`` / ``01:02.5`` (clock time), and
    SMPTE ``00:01:02:12`` or drop-frame ``00:01:02;12`` (needs ``rate``).

    Raises:
        ValueError: naming the text and what is wrong with it.
    """
    s = text.strip().lower()
    if m := _SECONDS_RE.match(s):
        value = Fraction(m[1])
        return value / 1000 if m[2] == "ms" else value
    if m := _FRAMES_RE.match(s):
        if rate is None:
            raise ValueError(f"{text!r} is in frames, but the frame rate is not known here")
        return frame_to_seconds(int(m[1]), rate)
    if _TC_RE.match(s):
        if rate is None:
            raise ValueError(f"{text!r} is a SMPTE timecode, but the frame rate is not known here")
        return frame_to_seconds(parse_timecode(s, rate), rate)
    if m := _CLOCK_RE.match(s):
        hours = int(m[1]) if m[1] else 0
        minutes, secs = int(m[2]), Fraction(m[3])
        if minutes > 59 or secs >= 60:
            raise ValueError(f"{text!r}: minutes and seconds must be below 60")
        return hours * 3600 + minutes * 60 + secs
    if re.match(r"^[+-]?\d+(\.\d+)?$", s):
        raise ValueError(f"{text!r} has no unit: write {s}s for seconds or {s}f for frames")
    raise ValueError(f"not a time: {text!r} (use 12.5s, 250ms, 360f, 00:01:02.500 or 00:01:02:12)")


def parse_time_to_frame(text: str, rate: Fraction, rounding: Rounding = "nearest") -> int:
    """Parse a user-typed time and return the frame index at ``rate``."""
    return seconds_to_frame(parse_time(text, rate), rate, rounding)
