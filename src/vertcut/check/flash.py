"""Flash safety: general flashes, red flashes, extended flashing and regular patterns.

A streaming, vectorised analysis of small frames (a 135x240 or 270x480 picture of a 9:16 episode;
any size works), fed one at a time to :class:`FlashAnalyzer`; :func:`analyse_flashes` decodes a
file with PyAV and feeds it. Memory is constant in the length of the video, apart from a few floats
per frame kept for the plots (:attr:`FlashReport.luminance`, ``flash_area``, ``flash_rate``).

The rules, as implemented (thresholds are the module constants below)
---------------------------------------------------------------------

Light is measured in linear light: each 8-bit sRGB value goes through the sRGB EOTF (WCAG 2.x
"relative luminance": ``c <= 0.04045 ? c/12.92 : ((c + 0.055)/1.055)^2.4``) and the picture is
averaged, in linear light, over a grid of small blocks (1/16 of the short side: 8x8 pixels of a
135x240 frame, 16x16 of 270x480; 17x30 blocks of equal area). Every block keeps its own state. (Blocks
of that size also average fine detail: a camera panning fast over a fine high-contrast texture makes
smaller blocks, and per-pixel analysers, see the texture passing by as flashes.)

*Transitions* (WCAG 2.x, "general flash and red flash thresholds", note 2: "the change ... between
adjacent peaks and valleys in a plot of relative luminance ... against time"): per block the signal
is followed from its last extreme (peak or valley); a reversal smaller than a tenth of the threshold
is noise and does not end a run. A run becomes a transition as soon as its size reaches the threshold
and its states meet the condition below; only a transition opposite to the block's previous one
counts, so counted transitions alternate and every two of them make a *flash* ("a flash consists of
two opposing transitions"). Flashes in a window are its transitions / 2.

*General flash* (WCAG 2.x definition; ITU-R BT.1702 / Ofcom Guidance Note Annex 1, where 20 cd/m2
and 160 cd/m2 on the 200 cd/m2 reference display are the same 0.10 and 0.80): a change in relative
luminance ``L = 0.2126 R + 0.7152 G + 0.0722 B`` of at least 0.10 where the darker state is below
0.80.

*Red flash* (WCAG 2.x note 3, the Harding & Binnie working definition, with "R, G, B values range
from 0-1 as specified in 'relative luminance' definition", i.e. linearised, not 0-255 sRGB values):
the value ``max(R - G - B, 0) x 320`` (negatives set to zero) changes by more than 20, and for either
or both states of the transition ``R/(R + G + B) >= 0.8``. No darker-state condition applies.

*The 3-per-second rule and the area*: a block is over the limit at a frame when the 1-s window
ending at that frame, ``(t - 1 s, t]``, holds more than 6 of its transitions (more than 3 flashes).
The picture fails (error ``general_flash`` / ``red_flash``) while the blocks over the limit cover
more than 25 % of the screen, the broadcast rule of Ofcom / ITU-R BT.1702 / Harding ("the combined
area of flashes occurring concurrently occupies more than one quarter of the displayed screen
area"; WCAG's "no more than ... 25 % of any 10 degree visual field" is the same 25 %). The window of
WCAG's 10-degree field (341x256 px of a 1024x768 desktop screen) is about the width of a phone held
at 35 cm, so ``area_rule="field"`` applies the 25 % to every square of the picture's width instead
(stricter for a portrait picture: a flash on 15 % of a 9:16 screen is 27 % of a width square).
The default is ``"screen"``. Per frame the analysis keeps the flash count over the critical area:
the largest count that more than 25 % of the area reaches (``flash_rate``, flashes per second).

*Extended flashing* (warning ``extended_flash``): flashing that stays within the 3-per-second limit
can still be a risk when it goes on (Ofcom Guidance Note Annex 1 and the Harding analyser's
"extended flash" result; EA IRIS implements it as 4-6 transitions a second for 4 s of any 5 s).
Applied here: while at least 2 flashes (4 transitions) a second cover more than 25 % of the area,
the picture is flashing; stretches less than 1 s apart are one; a stretch that lasts more than 5 s
(its first transition to the frame after its last) is a warning, for luminance and red alike.

*Regular patterns* (warning ``pattern``; Ofcom Annex 1: "clearly discernible stripes when there are
more than five light-dark pairs of stripes in any orientation" over a large area; IRIS's defaults
are 6 stripes, 25 % of the screen, 0.5 s): about 6 times a second the relative luminance, scaled to
a short side of at most 128 px, and again to half that for coarser patterns, is cut into overlapping
64x64 tiles (half-tile steps). A tile is periodic when, after removing its mean and a Hann window,
(1) the 3x3 neighbourhood of its strongest spatial frequency of at least 3 cycles per tile holds at
least 30 % of its AC energy (square-wave gratings 50-99 %, each of a checkerboard's two diagonal
fundamentals 35-50 %; natural pictures mostly under 20 %, at most 26 % over the 10,000 tiles of
vertcut's sample master), (2) that frequency is a true peak, with at least twice the energy found
at 0.6 of it in the same direction (the spectra of natural pictures and noise fall with frequency,
so their strongest bin sits at the 3-cycle edge), and (3) it has contrast: twice its standard
deviation at least 0.10 (a square wave's light-dark difference) with the darker side (mean - std)
below 0.80 (the flash thresholds, [U]). The periodic tiles that agree on the frequency (within a bin,
a checkerboard's two diagonals alike) are the pattern; the frame shows one when they cover at least
25 % of the picture and the estimated number of light-dark pairs, ``sqrt(area) / period``, is more
than five; the warning needs that for 0.5 s or more. The area is counted in tiles: it can be over
by up to a half-tile step (1/4 of the short side) around a pattern.

Events are reported with their kind, severity, time range ``[start, end)`` in exact seconds (the
times of the frames fed) and frame indices, the most flashes in any second over the critical area,
the largest share of the screen involved at once and its bounding box (normalised, x0, y0, x1, y1);
failing stretches less than 1 s apart are merged. Flashing at the same place is what is counted: a
flashing object that moves across the picture flashes at each place it passes (as in the per-pixel
analysers), not in one tracked region.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError, NoVideoStreamError
from ..progress import ProgressSink, Reporter

__all__ = [
    "AREA_LIMIT",
    "DARK_LIMIT",
    "GENERAL_DELTA",
    "MAX_FLASHES",
    "RED_DELTA",
    "AreaRule",
    "FlashAnalyzer",
    "FlashEvent",
    "FlashReport",
    "analyse_flashes",
    "linear_rgb",
]

GENERAL_DELTA = 0.10  # change in relative luminance (WCAG; 20 cd/m2 of 200 in BT.1702)
DARK_LIMIT = 0.80  # the darker state must be below this (WCAG; 160 cd/m2 of 200 in BT.1702)
RED_DELTA = 20.0  # change in max(R-G-B, 0) x 320, more than this (WCAG note 3)
RED_RATIO = 0.8  # R / (R+G+B) at least this: a saturated red (WCAG note 3)
RED_SCALE = 320.0
MAX_FLASHES = 3  # more than this many flashes in any 1 s fails
AREA_LIMIT = 0.25  # ... when the flashing covers more than this share of the area
EXTENDED_FLASHES = 2  # at least this many flashes a second is "flashing" for the extended rule
EXTENDED_SECONDS = Fraction(5)  # flashing for more than this is a warning
MERGE_GAP = Fraction(1)  # events of a kind less than this apart are one
PATTERN_AREA = 0.25
PATTERN_PAIRS = 5  # more than this many light-dark pairs
PATTERN_SECONDS = Fraction(1, 2)
PATTERN_SHARE = 0.30
PATTERN_MIN_CYCLES = 3
PATTERN_SIDE = 128  # the short side the pattern test looks at (at most)
PATTERN_TILE = 64
PATTERN_RATE = 6  # pattern tests a second

Kind = Literal["general_flash", "red_flash", "extended_flash", "pattern"]
Signal = Literal["luminance", "red", "pattern"]
Severity = Literal["error", "warning"]
AreaRule = Literal["screen", "field"]
Box = tuple[float, float, float, float]

_F32 = npt.NDArray[np.float32]
_BOOL = npt.NDArray[np.bool_]
_INT = npt.NDArray[np.int32]


def _srgb_lut() -> _F32:
    c = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin.astype(np.float32)


_LUT = _srgb_lut()
_TRC_PQ, _TRC_HLG = 16, 18  # AVColorTransferCharacteristic: SMPTE ST 2084, ARIB STD-B67
_LUMA = np.array([[0.2126, 0.7152, 0.0722]], dtype=np.float32)


def linear_rgb(rgb: npt.NDArray[np.uint8]) -> _F32:
    """8-bit sRGB as linear light in 0..1 (the WCAG "relative luminance" channels), same shape."""
    src = np.ascontiguousarray(rgb, dtype=np.uint8)
    return np.asarray(cv2.LUT(src, _LUT), dtype=np.float32).reshape(src.shape)


def _frac(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


@dataclass(frozen=True)
class FlashEvent:
    """One failure or warning: a stretch of the video and the part of the picture involved."""

    kind: Kind
    severity: Severity
    start: Fraction  # seconds (the time of the first frame involved)
    end: Fraction  # seconds, exclusive (the time of the frame after the last one involved)
    start_frame: int
    end_frame: int  # exclusive
    max_flashes: float  # most flashes in any 1 s over the critical area (transitions / 2); 0 for a pattern
    area: float  # largest share of the screen involved at once
    bbox: Box  # x0, y0, x1, y1 of everything involved, in 0..1 of the picture
    signal: Signal = "luminance"
    detail: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> Fraction:
        return self.end - self.start

    @property
    def message(self) -> str:
        when = f"{float(self.start):.2f}-{float(self.end):.2f} s"
        if self.kind == "pattern":
            pairs = self.detail.get("pairs", 0.0)
            return (f"regular pattern (about {pairs:.0f} light-dark pairs) over {_pct(self.area)} of the picture "
                    f"for {float(self.duration):.1f} s, {when}")  # fmt: skip
        what = "red flashes" if self.signal == "red" else "flashes"
        if self.kind == "extended_flash":
            return (f"extended flashing: {what} at up to {self.max_flashes:g} a second over {_pct(self.area)} of the "
                    f"picture for {float(self.duration):.1f} s (more than {int(EXTENDED_SECONDS)} s), {when}")  # fmt: skip
        name = "red flash" if self.kind == "red_flash" else "general flash"
        return (f"{name}: {self.max_flashes:g} {what} in 1 s over {_pct(self.area)} of the picture "
                f"(limit {MAX_FLASHES} in any second over {_pct(AREA_LIMIT)}), {when}")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "severity": self.severity, "signal": self.signal, "message": self.message,
            "start": _frac(self.start), "end": _frac(self.end), "start_s": float(self.start), "end_s": float(self.end),
            "start_frame": self.start_frame, "end_frame": self.end_frame, "max_flashes": self.max_flashes,
            "area": round(self.area, 4), "bbox": [round(v, 4) for v in self.bbox], "detail": dict(self.detail),
        }  # fmt: skip


@dataclass(frozen=True)
class FlashReport:
    """What :class:`FlashAnalyzer` found in the frames fed to it."""

    size: tuple[int, int]  # the frames' width, height
    grid: tuple[int, int]  # blocks across, down
    rate: Fraction
    area_rule: AreaRule
    frames: int
    start: Fraction  # time of the first frame
    end: Fraction  # time after the last frame
    events: tuple[FlashEvent, ...]
    max_flashes: float  # most general flashes in any 1 s over the critical area
    max_red_flashes: float
    luminance: tuple[float, ...] = field(repr=False)  # mean relative luminance per frame
    flash_area: tuple[float, ...] = field(repr=False)  # share of the picture with a flash in the last 1 s
    flash_rate: tuple[float, ...] = field(repr=False)  # flashes (general or red) in the last 1 s over the critical area

    @property
    def errors(self) -> tuple[FlashEvent, ...]:
        return tuple(e for e in self.events if e.severity == "error")

    @property
    def warnings(self) -> tuple[FlashEvent, ...]:
        return tuple(e for e in self.events if e.severity == "warning")

    @property
    def passed(self) -> bool:
        """No general or red flash over the limits (warnings allowed)."""
        return not self.errors

    def kinds(self) -> set[str]:
        return {e.kind for e in self.events}

    def findings(self) -> list[dict[str, Any]]:
        """One entry per event, for a report: kind, severity, message, start/end (exact seconds), detail."""
        out = []
        for e in self.events:
            j = e.to_json()
            detail = {k: j[k] for k in ("signal", "start_frame", "end_frame", "max_flashes", "area", "bbox")}
            detail.update(e.detail)
            out.append({"kind": e.kind, "severity": e.severity, "message": e.message, "start": e.start,
                        "end": e.end, "detail": detail})  # fmt: skip
        return out

    def to_json(self, *, series: bool = True) -> dict[str, Any]:
        """The report as JSON; ``series`` adds the per-frame values for plots (rounded to 4 places)."""
        out: dict[str, Any] = {
            "passed": self.passed, "frames": self.frames, "start": _frac(self.start), "end": _frac(self.end),
            "duration_s": float(self.end - self.start), "rate": _frac(self.rate), "size": list(self.size),
            "grid": list(self.grid), "area_rule": self.area_rule,
            "rules": {"general_delta": GENERAL_DELTA, "dark_limit": DARK_LIMIT, "red_delta": RED_DELTA,
                      "red_ratio": RED_RATIO, "max_flashes_per_s": MAX_FLASHES, "area_limit": AREA_LIMIT,
                      "extended_flashes_per_s": EXTENDED_FLASHES, "extended_seconds": float(EXTENDED_SECONDS),
                      "pattern_area": PATTERN_AREA, "pattern_pairs": PATTERN_PAIRS,
                      "pattern_seconds": float(PATTERN_SECONDS)},
            "max_flashes": self.max_flashes, "max_red_flashes": self.max_red_flashes,
            "errors": len(self.errors), "warnings": len(self.warnings),
            "events": [e.to_json() for e in self.events],
        }  # fmt: skip
        if series:
            out["series"] = {
                "luminance": [round(v, 4) for v in self.luminance],
                "flash_area": [round(v, 4) for v in self.flash_area],
                "flash_rate": [round(v, 4) for v in self.flash_rate],
            }
        return out


class _Tracker:
    """Peaks, valleys and counted transitions of signals in every block (vectorised): one entry per
    block and signal, each with its threshold ``delta`` (a transition is at least that big)."""

    def __init__(self, delta: _F32, *, depth: int) -> None:
        blocks = delta.shape[0]
        self.delta = delta
        self.eps = delta / 10  # a reversal smaller than this is noise, not a peak
        self.anchor = np.zeros(blocks, np.float32)  # the value at the last extreme
        self.anchor_q = np.zeros(blocks, bool)  # ... and whether that state qualifies
        self.peak = np.zeros(blocks, np.float32)  # the furthest value of the current run
        self.peak_q = np.zeros(blocks, bool)
        self.dirn = np.zeros(blocks, np.int8)  # +1 rising, -1 falling, 0 not moving yet
        self.counted = np.zeros(blocks, bool)  # the current run has been taken as a transition
        self.last = np.zeros(blocks, np.int8)  # sign of the last counted transition
        self.hist = np.full((depth, blocks), -1, np.int32)  # frame indices of the last counted transitions
        self.pos = np.zeros(blocks, np.intp)
        self.cols = np.arange(blocks)
        self.started = False

    def update(self, v: _F32, q: _BOOL, index: int) -> _BOOL:
        """Feed one frame's values ``v`` (and their state condition ``q``); the blocks that counted a
        transition at this frame."""
        if not self.started:
            self.anchor[:], self.peak[:], self.anchor_q[:], self.peak_q[:] = v, v, q, q
            self.started = True
            return np.zeros(v.shape, bool)
        up, down, still = self.dirn > 0, self.dirn < 0, self.dirn == 0
        turn_down = up & (self.peak - v >= self.eps)
        turn_up = down & (v - self.peak >= self.eps)
        turn = turn_down | turn_up
        go = still & (np.abs(v - self.anchor) >= self.eps)
        further = (up & (v > self.peak)) | (down & (v < self.peak))
        np.copyto(self.anchor, self.peak, where=turn)
        np.copyto(self.anchor_q, self.peak_q, where=turn)
        moved = turn | go | further
        np.copyto(self.peak, v, where=moved)
        np.copyto(self.peak_q, q, where=moved)
        self.dirn[turn_down] = -1
        self.dirn[turn_up] = 1
        if go.any():
            self.dirn[go] = np.where(v[go] > self.anchor[go], 1, -1)
        self.counted &= ~(turn | go)
        amp = np.abs(self.peak - self.anchor)
        big = amp >= self.delta
        hit = big & (self.anchor_q | self.peak_q) & ~self.counted & (self.dirn != 0)
        self.counted |= hit
        new: _BOOL = hit & (self.dirn != self.last)
        if new.any():
            idx = self.cols[new]
            self.last[idx] = self.dirn[idx]
            self.hist[self.pos[idx], idx] = index
            self.pos[idx] = (self.pos[idx] + 1) % self.hist.shape[0]
        return new

    def counts(self, first: int) -> _INT:
        """Counted transitions of every block at frames ``first`` and later."""
        out: _INT = np.count_nonzero(self.hist >= first, axis=0).astype(np.int32)
        return out

    def earliest(self, first: int, blocks: _BOOL, offset: int) -> int:
        """The first frame (``first`` or later) at which one of ``blocks`` (entries from ``offset``)
        counted a transition."""
        h = self.hist[:, offset : offset + blocks.shape[0]][:, blocks]
        h = h[h >= first]
        return int(h.min()) if h.size else first

    def latest(self, blocks: _BOOL, offset: int) -> int:
        h = self.hist[:, offset : offset + blocks.shape[0]][:, blocks]
        return int(h.max()) if h.size else -1


@dataclass
class _Open:
    """A stretch in progress (or closed, before it is reported)."""

    start: int
    start_t: Fraction
    last: int  # last frame with a transition of the blocks involved (end = last + 1)
    peak: float = 0.0
    area: float = 0.0
    union: _BOOL | None = None
    end_t: Fraction | None = None
    extra: dict[str, float] = field(default_factory=dict)


class _Rule:
    """One rule's stretches: open while ``active`` holds, closed into records, merged when close."""

    def __init__(self) -> None:
        self.open: _Open | None = None
        self.closed: list[_Open] = []


_RULES: tuple[tuple[str, Kind, Severity, Signal], ...] = (
    ("general", "general_flash", "error", "luminance"),
    ("red", "red_flash", "error", "red"),
    ("ext_general", "extended_flash", "warning", "luminance"),
    ("ext_red", "extended_flash", "warning", "red"),
    ("pattern", "pattern", "warning", "pattern"),
)


class FlashAnalyzer:
    """Flash and pattern analysis fed frame by frame.

    Args:
        size: the frames' (width, height); every frame must be an (height, width, 3) uint8 sRGB array.
        rate: the nominal frame rate (sizes the 1-s history, samples the pattern test, and gives the
            last frame its duration); frame times come with each frame.
        area_rule: ``"screen"`` (25 % of the picture, Ofcom / BT.1702 / Harding) or ``"field"`` (25 %
            of any square as wide as the picture: WCAG's 10-degree field on a phone).
        block: block side in pixels of the small frame (default: 1/16 of its short side).
    """

    def __init__(
        self,
        size: tuple[int, int],
        rate: Fraction,
        *,
        area_rule: AreaRule = "screen",
        block: int | None = None,
    ) -> None:
        w, h = int(size[0]), int(size[1])
        if w < 1 or h < 1:
            raise ValueError(f"frame size must be positive, got {w}x{h}")
        rate = Fraction(rate)
        if rate <= 0:
            raise ValueError(f"frame rate must be positive, got {rate}")
        if area_rule not in ("screen", "field"):
            raise ValueError(f"area_rule must be 'screen' or 'field', got {area_rule!r}")
        self.size = (w, h)
        self.rate = rate
        self.area_rule: AreaRule = area_rule
        b = block or max(1, min(w, h) // 16)
        self.grid = (max(1, math.ceil(w / b)), max(1, math.ceil(h / b)))
        gw, gh = self.grid
        self._nb = gw * gh
        depth = min(256, max(16, math.ceil(rate * Fraction(5, 4)) + 2))
        # luminance in the first half, red in the second; red must change by more than 20
        red_delta = np.nextafter(np.float32(RED_DELTA), np.float32(np.inf))
        delta = np.concatenate([np.full(self._nb, GENERAL_DELTA, np.float32), np.full(self._nb, red_delta, np.float32)])
        self._tracker = _Tracker(delta, depth=depth)
        self._limit = 2 * MAX_FLASHES  # transitions in a window
        self._ext = 2 * EXTENDED_FLASHES
        # the windows the area rule looks at, and how many blocks are "more than 25 %" of each
        if area_rule == "field" and gw != gh:
            side = min(gw, gh)
            self._win: tuple[int, int] | None = (side, side)
            self._need = math.floor(AREA_LIMIT * side * side) + 1
        else:
            self._win = None
            self._need = math.floor(AREA_LIMIT * self._nb) + 1
        self._rules = {k: _Rule() for k in ("general", "red", "ext_general", "ext_red", "pattern")}
        # frame times of the last 2 s (and one before), for windows and event ends
        self._times: deque[tuple[int, Fraction]] = deque()
        self._first_in_window = 0
        self._n = 0
        self._t0: Fraction | None = None
        self._last_t: Fraction | None = None
        self._lum_series = array("f")
        self._area_series = array("f")
        self._rate_series = array("f")
        self._max = {"general": 0, "red": 0}
        # the pattern test: tiles of the luminance at a short side of 128 px, and at half that size for
        # coarser patterns
        self._pattern_every = max(1, round(float(rate) / PATTERN_RATE))
        scale = min(1.0, PATTERN_SIDE / min(w, h))
        self._pattern_size = (max(1, round(w * scale)), max(1, round(h * scale)))
        ps = min(self._pattern_size)
        self._tile = PATTERN_TILE if ps >= 2 * PATTERN_TILE else (2 ** int(math.log2(ps / 2)) if ps >= 32 else 0)
        self._scales: list[tuple[int, int, list[tuple[int, int]]]] = []  # (width, height, tile corners)
        if self._tile:
            t = self._tile
            han = np.hanning(t).astype(np.float32)
            self._hann = np.outer(han, han)
            ky = np.fft.fftfreq(t) * t
            kx = np.fft.rfftfreq(t) * t
            rad = np.hypot(ky[:, None], kx[None, :])
            self._radius = rad.astype(np.float32)
            self._low = rad < PATTERN_MIN_CYCLES
            pw, ph = self._pattern_size
            for div in (1, 2):
                sw, sh = pw // div, ph // div
                if min(sw, sh) >= t:
                    corners = [(ty, tx) for ty in self._positions(sh, t) for tx in self._positions(sw, t)]
                    self._scales.append((sw, sh, corners))

    @staticmethod
    def _positions(length: int, tile: int) -> list[int]:
        step = tile // 2
        pos = list(range(0, length - tile + 1, step))
        if pos[-1] != length - tile:
            pos.append(length - tile)
        return pos

    # -- feeding ----------------------------------------------------------------------------------

    def add(self, rgb_small: npt.NDArray[np.uint8], t: Fraction) -> None:
        """Feed the next frame: an (height, width, 3) uint8 sRGB array shown at ``t`` seconds."""
        w, h = self.size
        if rgb_small.shape != (h, w, 3) or rgb_small.dtype != np.uint8:
            raise InvalidMediaError(
                f"frame {self._n} is {rgb_small.dtype} {rgb_small.shape}, expected uint8 ({h}, {w}, 3)"
            )
        t = Fraction(t)
        if self._last_t is not None and t <= self._last_t:
            raise InvalidMediaError(f"frame {self._n} at {float(t):.6f} s is not after the previous frame")
        i = self._n
        self._n += 1
        self._t0 = t if self._t0 is None else self._t0
        self._last_t = t
        self._times.append((i, t))
        while self._times[0][1] <= t - 2:
            self._times.popleft()
        self._first_in_window = max(self._first_in_window, self._times[0][0])  # older frames are > 2 s back
        while self._time(self._first_in_window) <= t - 1:
            self._first_in_window += 1
        first = self._first_in_window

        lin = linear_rgb(rgb_small)
        gw, gh = self.grid
        blocks = cv2.resize(lin, (gw, gh), interpolation=cv2.INTER_AREA).reshape(-1, 3)
        r, g, b = blocks[:, 0], blocks[:, 1], blocks[:, 2]
        y = 0.2126 * r + 0.7152 * g + 0.0722 * b
        total = r + g + b
        red = np.maximum(r - g - b, 0) * RED_SCALE
        saturated = (total > 0) & (r >= RED_RATIO * total)
        nb = self._nb
        new = self._tracker.update(np.concatenate([y, red]), np.concatenate([y < DARK_LIMIT, saturated]), i)
        cnt = self._tracker.counts(first)
        new_l, new_r, cnt_l, cnt_r = new[:nb], new[nb:], cnt[:nb], cnt[nb:]
        crit_l = self._critical(cnt_l)
        crit_r = self._critical(cnt_r)
        self._max["general"] = max(self._max["general"], crit_l)
        self._max["red"] = max(self._max["red"], crit_r)

        self._step("general", 0, crit_l > self._limit, cnt_l > self._limit, crit_l, new_l, first, i)
        self._step("red", nb, crit_r > self._limit, cnt_r > self._limit, crit_r, new_r, first, i)
        self._step("ext_general", 0, crit_l >= self._ext, cnt_l >= self._ext, crit_l, new_l, first, i)
        self._step("ext_red", nb, crit_r >= self._ext, cnt_r >= self._ext, crit_r, new_r, first, i)

        self._lum_series.append(float(y.mean()))
        self._area_series.append(float(np.count_nonzero((cnt_l >= 2) | (cnt_r >= 2))) / self._nb)
        self._rate_series.append(max(crit_l, crit_r) / 2)

        if self._scales and i % self._pattern_every == 0:
            self._pattern_step(lin, i, t)

    def _time(self, index: int) -> Fraction:
        """The time of a frame of the last 2 s, or of the frame after the last (nominal duration)."""
        if index >= self._n:
            assert self._last_t is not None
            return self._last_t + (index - self._n + 1) / self.rate
        base = self._times[0][0]
        return self._times[max(0, index - base)][1]

    def _critical(self, cnt: _INT) -> int:
        """The largest count that more than 25 % of the area (of the screen, or of some field) reaches."""
        if self._win is None:
            k = self._nb - self._need
            return int(np.partition(cnt, k)[k]) if k >= 0 else 0
        gw, gh = self.grid
        side = self._win[0]
        grid = cnt.reshape(gh, gw)
        wins = np.lib.stride_tricks.sliding_window_view(grid, (side, side)).reshape(-1, side * side)
        k = side * side - self._need
        return int(np.partition(wins, k, axis=1)[:, k].max())

    def _step(
        self, name: str, offset: int, active: bool, blocks: _BOOL, crit: int, new: _BOOL, first: int, i: int
    ) -> None:
        """One frame of a rule over one signal (the tracker's entries from ``offset``): ``active`` while
        it holds, ``blocks`` the blocks involved, ``crit`` the count over the critical area."""
        rule = self._rules[name]
        o = rule.open
        if active:
            if o is None:
                tr = self._tracker
                start = tr.earliest(first, blocks, offset)
                o = rule.open = _Open(start, self._time(start), tr.latest(blocks, offset), union=blocks.copy())
            elif (new & blocks).any():
                o.last = i
            assert o.union is not None
            o.union |= blocks
            o.peak = max(o.peak, crit / 2)
            o.area = max(o.area, float(np.count_nonzero(blocks)) / self._nb)
        elif o is not None:
            o.end_t = self._time(o.last + 1)
            self._close(rule, o)

    def _close(self, rule: _Rule, o: _Open) -> None:
        rule.open = None
        prev = rule.closed[-1] if rule.closed else None
        assert o.end_t is not None
        if prev is not None and prev.end_t is not None and o.start_t - prev.end_t < MERGE_GAP:
            prev.last = max(prev.last, o.last)
            prev.end_t = max(prev.end_t, o.end_t)
            prev.peak = max(prev.peak, o.peak)
            prev.area = max(prev.area, o.area)
            if prev.union is not None and o.union is not None:
                prev.union |= o.union
            for k, v in o.extra.items():
                prev.extra[k] = max(prev.extra.get(k, 0.0), v)
        else:
            rule.closed.append(o)

    # -- regular patterns -------------------------------------------------------------------------

    def _pattern_step(self, lin: _F32, i: int, t: Fraction) -> None:
        rule = self._rules["pattern"]
        found = self._pattern(lin)
        if found is not None:
            mask, pairs, period = found
            if rule.open is None:
                rule.open = _Open(i, t, i, union=mask.copy())
            o = rule.open
            assert o.union is not None
            o.last = i + self._pattern_every - 1
            o.union |= mask
            o.area = max(o.area, float(mask.mean()))
            o.extra["pairs"] = max(o.extra.get("pairs", 0.0), round(pairs, 1))
            o.extra["period"] = max(o.extra.get("period", 0.0), round(period, 4))
        elif rule.open is not None:
            o = rule.open
            o.end_t = t  # this frame is the next sample after the last one that found the pattern
            o.last = i - 1
            self._close(rule, o)

    def _pattern(self, lin: _F32) -> tuple[_BOOL, float, float] | None:
        """Whether this frame shows a large high-contrast regular pattern: its coverage mask (at the
        pattern test's size), the estimated light-dark pairs, the period (share of the short side)."""
        y: _F32 = np.asarray(cv2.transform(lin, _LUMA), np.float32)
        pw, ph = self._pattern_size
        best: tuple[_BOOL, float, float] | None = None
        for sw, sh, corners in self._scales:
            if (sw, sh) != (y.shape[1], y.shape[0]):
                y = np.asarray(cv2.resize(y, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
            found = self._pattern_at(y, corners)
            if found is None:
                continue
            chosen, period = found
            f = pw / sw
            mask = np.zeros((ph, pw), bool)
            span = round(self._tile * f)
            for ty, tx in chosen:
                y0, x0 = round(ty * f), round(tx * f)
                mask[y0 : y0 + span, x0 : x0 + span] = True
            area = float(mask.mean())
            pairs = math.sqrt(float(mask.sum())) / (period * f)
            if area >= PATTERN_AREA and pairs > PATTERN_PAIRS and (best is None or area > float(best[0].mean())):
                best = (mask, pairs, period / min(sw, sh))
        return best

    def _pattern_at(self, y: _F32, corners: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], float] | None:
        """The periodic tiles of one scale that agree on one frequency, and the period in pixels."""
        t = self._tile
        tiles = np.stack([y[ty : ty + t, tx : tx + t] for ty, tx in corners])
        mean = tiles.mean(axis=(1, 2))
        std = tiles.std(axis=(1, 2))
        ok = np.flatnonzero((2 * std >= GENERAL_DELTA) & (mean - std < DARK_LIMIT))
        if not ok.size:
            return None
        share, true_peak, radius, where = _periodicity(
            tiles[ok] - mean[ok, None, None], self._hann, self._low, self._radius
        )
        periodic = np.flatnonzero((share >= PATTERN_SHARE) & true_peak)
        if not periodic.size:
            return None
        # one pattern is the same everywhere: the largest group of tiles that agree on the frequency
        at = where[periodic]
        agree = np.abs(at[:, None, :] - at[None, :, :]).max(axis=2) <= 1
        periodic = periodic[agree[int(agree.sum(axis=1).argmax())]]
        period = float(np.median(t / radius[periodic]))
        return [corners[k] for k in ok[periodic]], period

    # -- the result -------------------------------------------------------------------------------

    def result(self) -> FlashReport:
        """The report on the frames fed so far (feeding may go on afterwards)."""
        events: list[FlashEvent] = []
        for name, kind, severity, signal in _RULES:
            for o in self._stretches(name):
                assert o.end_t is not None
                if kind == "extended_flash" and o.end_t - o.start_t <= EXTENDED_SECONDS:
                    continue
                if kind == "pattern" and o.end_t - o.start_t < PATTERN_SECONDS:
                    continue
                events.append(FlashEvent(kind, severity, o.start_t, o.end_t, o.start, min(o.last + 1, self._n),
                                         o.peak, o.area, self._bbox(o.union, pattern=kind == "pattern"),
                                         signal, dict(o.extra)))  # fmt: skip
        events.sort(key=lambda e: (e.start, e.kind))
        t0 = self._t0 if self._t0 is not None else Fraction(0)
        end = self._time(self._n) if self._n else t0
        return FlashReport(
            size=self.size, grid=self.grid, rate=self.rate, area_rule=self.area_rule, frames=self._n,
            start=t0, end=end, events=tuple(events), max_flashes=self._max["general"] / 2,
            max_red_flashes=self._max["red"] / 2, luminance=tuple(self._lum_series),
            flash_area=tuple(self._area_series), flash_rate=tuple(self._rate_series),
        )  # fmt: skip

    def _stretches(self, name: str) -> list[_Open]:
        """The closed stretches of a rule, with the open one closed as of now (without changing state)."""
        rule = self._rules[name]
        if rule.open is None:
            return list(rule.closed)
        shadow = _Rule()
        shadow.closed = [replace(o, union=None if o.union is None else o.union.copy(), extra=dict(o.extra))
                         for o in rule.closed]  # fmt: skip
        o = replace(rule.open, union=None if rule.open.union is None else rule.open.union.copy(),
                    extra=dict(rule.open.extra))  # fmt: skip
        o.last = min(o.last, self._n - 1)
        o.end_t = self._time(o.last + 1)
        self._close(shadow, o)
        return shadow.closed

    def _bbox(self, union: _BOOL | None, *, pattern: bool) -> Box:
        if union is None or not union.any():
            return (0.0, 0.0, 0.0, 0.0)
        if pattern:
            grid = union
        else:
            gw, gh = self.grid
            grid = union.reshape(gh, gw)
        rows = np.flatnonzero(grid.any(axis=1))
        cols = np.flatnonzero(grid.any(axis=0))
        h, w = grid.shape
        return (
            round(float(cols[0]) / w, 4),
            round(float(rows[0]) / h, 4),
            round(float(cols[-1] + 1) / w, 4),
            round(float(rows[-1] + 1) / h, 4),
        )


def _box3(power: _F32) -> _F32:
    """Each bin's 3x3 neighbourhood sum of a half-plane spectrum (n, t, t/2+1); rows wrap."""
    near = power + np.roll(power, 1, axis=1) + np.roll(power, -1, axis=1)
    box = near.copy()
    box[:, :, 1:] += near[:, :, :-1]
    box[:, :, :-1] += near[:, :, 1:]
    return box


def _periodicity(tiles: _F32, window: _F32, low: _BOOL, radius: _F32) -> tuple[_F32, _BOOL, _F32, _INT]:
    """For zero-mean square tiles (n, t, t): the share of each tile's AC energy in the 3x3 neighbourhood
    of its strongest spatial frequency outside ``low``; whether that is a true peak (at least twice the
    energy at 0.6 of its frequency in the same direction: natural pictures and noise, whose spectra
    fall with frequency, peak at the edge of ``low`` instead); its radius in cycles per tile; and the
    peak as (|ky|, kx) pairs (n, 2), a checkerboard's two diagonals alike."""
    n, t = tiles.shape[0], tiles.shape[-1]
    spec = np.fft.rfft2(tiles * window)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    # the half-plane stands for both conjugates; in its first and last (Nyquist) columns both are
    # present: fold them onto the upper half
    power[:, :, 1:-1] *= 2
    half = t // 2
    for col in (0, -1):
        power[:, 1:half, col] += power[:, : half - t : -1, col]
        power[:, half + 1 :, col] = 0
    power[:, 0, 0] = 0
    total = power.sum(axis=(1, 2))
    every = _box3(power)
    power[:, low] = 0  # a peak's neighbourhood counts no low frequency
    box = _box3(power)
    box[:, low] = 0
    flat = box.reshape(n, -1)
    best = flat.argmax(axis=1)
    rows = np.arange(n)
    peak = flat[rows, best]
    ky, kx = np.divmod(best, box.shape[-1])
    ky = np.where(ky > half, ky - t, ky)
    iy = np.rint(0.6 * ky).astype(np.intp) % t
    ix = np.rint(0.6 * kx).astype(np.intp)
    inner = every[rows, iy, ix]
    share: _F32 = (peak / np.maximum(total, 1e-12)).astype(np.float32)
    true_peak: _BOOL = peak >= 2 * inner
    rad: _F32 = radius.reshape(-1)[best]
    where: _INT = np.stack([np.abs(ky), kx], axis=1).astype(np.int32)
    return share, true_peak, rad, where


def analyse_flashes(
    path: str | Path,
    *,
    size: tuple[int, int] = (135, 240),
    sink: ProgressSink | None = None,
    area_rule: AreaRule = "screen",
    threads: int | None = None,
) -> FlashReport:
    """Decode the first video stream of ``path`` once (PyAV, scaled to ``size`` by the decoder's
    reformat with area averaging, in a thread beside the analysis) and analyse it with
    :class:`FlashAnalyzer`.

    ``size`` is (width, height) for a portrait picture; a landscape picture (as displayed, after its
    rotation) is analysed at the transposed size. Frame times are the timestamps from the first
    frame's (a frame without one, or out of order, is placed a nominal frame after the previous).
    ``area_rule`` as for :class:`FlashAnalyzer`; ``threads`` caps the decoder's threads (default: libav's
    choice). The picture is taken as SDR sRGB/BT.709: a PQ or HLG file gets a warning (BT.1702-3's HDR
    limits are not applied). Progress goes to ``sink`` as the ``flash`` stage.
    """
    import av

    from ..media.probe import open_container
    from ..media.threads import decode_threads, in_background

    rep = Reporter(sink, "flash")
    p = Path(path)
    with open_container(p) as c:
        if not c.streams.video:
            raise NoVideoStreamError("no video stream", path=p)
        s = c.streams.video[0]
        decode_threads(s, threads)
        # no deblocking of frames nothing is predicted from: about a tenth less decoding, and no drift
        # (block means at the analysis size move by < 0.001 of relative luminance)
        s.codec_context.options = {"skip_loop_filter": "noref"}
        rate = Fraction(s.average_rate or s.guessed_rate or 25)
        tb = Fraction(s.time_base or Fraction(1, 90000))
        total = int(s.frames or 0) or None
        analyzer: FlashAnalyzer | None = None
        n = 0

        def produce(put: Callable[[Any], None], stop: threading.Event) -> None:
            """Decode and scale in a thread of its own (beside the analysis): (small frame, time) pairs,
            after (the analyser, whether the picture is HDR)."""
            rotation = 0
            first_pts: int | None = None
            last_t: Fraction | None = None
            size_now: tuple[int, int] | None = None
            for frame in c.decode(s):
                if stop.is_set():
                    return
                if size_now is None:
                    rotation = int(frame.rotation or 0) % 360
                    landscape = (frame.width > frame.height) != (rotation in (90, 270))
                    size_now = (max(size), min(size)) if landscape else (min(size), max(size))
                    hdr = frame.color_trc in (_TRC_PQ, _TRC_HLG)
                    put((FlashAnalyzer(size=size_now, rate=rate, area_rule=area_rule), hdr))
                w, h = size_now
                cw, ch = (h, w) if rotation in (90, 270) else (w, h)
                rng = frame.color_range if frame.color_range in (1, 2) else None
                small = frame.reformat(width=cw, height=ch, format="rgb24", interpolation="AREA",
                                       src_color_range=rng, threads=1)  # fmt: skip
                img: npt.NDArray[np.uint8] = np.asarray(small.to_ndarray(), dtype=np.uint8)
                if rotation:
                    img = np.rot90(img, k=rotation // 90)
                if frame.pts is not None:
                    first_pts = frame.pts if first_pts is None else first_pts
                    t = Fraction(frame.pts - first_pts) * tb
                else:
                    t = Fraction(0) if last_t is None else last_t + 1 / rate
                if last_t is not None and t <= last_t:
                    t = last_t + 1 / rate
                last_t = t
                put((img, t))

        rep.start(total, "frames")
        try:
            for item in in_background(produce, maxsize=8, name="vertcut-flash-decode"):
                if isinstance(item[0], FlashAnalyzer):
                    analyzer = item[0]
                    if item[1]:
                        rep.warning("HDR (PQ/HLG) picture: flashes measured as if it were SDR")
                    continue
                assert analyzer is not None
                analyzer.add(*item)
                n += 1
                if n % 250 == 0:
                    rep.advance(n, total, "frames")
        except av.error.FFmpegError as exc:
            raise InvalidMediaError(f"cannot decode video: {exc.strerror}", path=p) from None
    if analyzer is None:
        raise InvalidMediaError("the video stream has no frames", path=p)
    report = analyzer.result()
    errors, warnings = len(report.errors), len(report.warnings)
    rep.end(f"{n} frames: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return report
