"""The burned-in subtitles of a delivered file: the layout vertcut used (glyph height, contrast of the
style's colours) and the pixels (the text drawn where and when the plan says, its contrast measured).

The plan records the ASS header and each episode's events, so vertcut draws the same states again with
libass (:func:`vertcut.subtitles.sprites.render_sprites`) and looks for them in frames of the delivered
file (:func:`vertcut.check.onscreen.look`, the same read as the labels'): keyframes inside events (up to
``MAX_LOOKS``, spread), and the middle frame of the longest events without one when that gives fewer than
``MIN_LOOKS``. On each frame:

* **placement**: the state's expected luma correlated with the frame's in the state's box
  (:func:`vertcut.check.onscreen.presence`): below ``PRESENT`` the text is not where the layout says;
* **edge contrast** (WCAG 1.4.3/1.4.6): the text's fill (median of the glyph bodies) against its edge
  (the 90th percentile of the outline or box pixels), as relative luminance; the episode's median must
  reach the subtitle preset's ``min_contrast``;
* **picture contrast** (outline styles): the fill against the picture around the glyphs (90th percentile
  of a ring outside the outline); under 3:1 on more than 20 % of the frames looked at is a warning: a box
  would keep the text readable there (shared/reference/subtitles.md, check P5).

Relative luminance is taken from the luma of the decoded frame (limited range, the sRGB curve): exact for
white, black and grey text, an approximation for coloured text.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..ffmpeg import FFmpeg
from ..subtitles.style import inside
from .findings import Finding
from .onscreen import PRESENT, LabelSprite, in_box, keyframe_times, look, planes, presence, spread

__all__ = [
    "BurnedLook",
    "ass_style",
    "burned_findings",
    "burned_look",
    "contrast",
    "glyph_height",
    "layout_contrast",
    "relative_luminance",
]

PICTURE_MIN = 3.0  # fill against the picture around outlined text
PICTURE_SHARE = 0.2  # of the frames looked at, at most under PICTURE_MIN
MAX_LOOKS = 24  # keyframes looked at per episode at most (spread over its events)
MIN_LOOKS = 8  # frames looked at per episode at least, when it has that many events


def ass_style(header: str) -> dict[str, str]:
    """The fields of the header's style ``S`` by their ``Format:`` names."""
    fmt: list[str] = []
    for line in header.splitlines():
        if line.startswith("Format:") and "PrimaryColour" in line:
            fmt = [f.strip() for f in line[7:].split(",")]
        elif line.startswith("Style:") and fmt:
            values = [v.strip() for v in line[6:].split(",", len(fmt) - 1)]
            return dict(zip(fmt, values, strict=False))
    return {}


def _colour(ass: str) -> tuple[tuple[int, int, int], float]:
    """An ASS ``&HAABBGGRR`` colour as (r, g, b) and opacity."""
    v = int(ass.strip().lstrip("&Hh").rstrip("&") or "0", 16)
    a, b, g, r = (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255
    return (r, g, b), 1 - a / 255


def relative_luminance(v: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """WCAG relative luminance of sRGB-encoded values in 0..1."""
    c = np.asarray(v, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def contrast(l1: float, l2: float) -> float:
    """WCAG contrast ratio of two relative luminances."""
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def _rgb_luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = (float(x) for x in relative_luminance(np.asarray(rgb) / 255))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def layout_contrast(style: dict[str, str]) -> float:
    """The style's fill against its edge (outline, or box over the worst picture: white under a dark box,
    black under a light one), from its colours alone."""
    fill, _ = _colour(style.get("PrimaryColour", "&H00FFFFFF"))
    box = style.get("BorderStyle", "1") in ("3", "4")
    edge, opacity = _colour(style.get("BackColour" if box else "OutlineColour", "&H00000000"))
    lf, le = _rgb_luminance(fill), _rgb_luminance(edge)
    if box and opacity < 1:
        under = 1.0 if le < lf else 0.0
        le = le * opacity + under * (1 - opacity)  # a linear-light blend: an estimate of the composite
    return contrast(lf, le)


def _video_luma(ass: str) -> float:
    """The limited-range BT.709 luma of an ASS colour (as the sprites carry it)."""
    rgb, _ = _colour(ass)
    return 16 + 219 * float(np.dot((0.2126, 0.7152, 0.0722), np.asarray(rgb) / 255))


def glyph_height(fontsize: float, family: str, picture_height: int) -> float:
    """The ink height of 田 (or H) that ``fontsize`` draws, in px of a 1920-high picture."""
    from ..subtitles.fonts import font_named

    font = font_named(family)
    em = fontsize / font.libass_ratio
    return em * font.ideograph_height / font.units_per_em * 1920 / picture_height


def _to_luma(y: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return relative_luminance(np.clip((np.asarray(y, np.float64) - 16) / 219, 0, 1))


def _measure(sprite: LabelSprite, luma: npt.NDArray[np.uint8], picture: tuple[int, int], fill_y: float,
             edge_y: float, ring_px: int) -> tuple[float | None, float | None]:  # fmt: skip
    """(fill against edge, fill against the picture around) on one frame, or None where nothing to measure."""
    import cv2

    scaled = in_box(sprite, luma, picture)
    if scaled is None:
        return None, None
    s_luma, alpha, seen = scaled
    body = (alpha >= 0.9) & (np.abs(s_luma - fill_y) <= 16)
    edge = (alpha >= 0.3) & (np.abs(s_luma - edge_y) <= 16) & (np.abs(s_luma - fill_y) > 16)
    drawn = (alpha > 0.05).astype(np.uint8)
    k = 2 * max(2, ring_px) + 1
    ring = (cv2.dilate(drawn, np.ones((k, k), np.uint8)) > 0) & (drawn == 0)
    if body.sum() < 8:
        return None, None
    lf = float(_to_luma(np.median(seen[body])))
    vs_edge = contrast(lf, float(_to_luma(np.percentile(seen[edge], 90)))) if edge.sum() >= 8 else None
    vs_picture = contrast(lf, float(_to_luma(np.percentile(seen[ring], 90)))) if ring.sum() >= 8 else None
    return vs_edge, vs_picture


def _looks(events: Sequence[tuple[Fraction, Fraction]], keys: Sequence[Fraction], step: Fraction) -> list[Fraction]:
    """The times to look at: keyframes inside events (a frame clear of their edges: a keyframe costs one
    frame's decode), spread to ``MAX_LOOKS``; when that gives fewer than ``MIN_LOOKS``, the middle of the
    longest events without one (a frame between keyframes costs the decode from the one before)."""
    inside = sorted({k for s, e in events for k in keys if s + step <= k < e - step})
    times = spread(inside, MAX_LOOKS)
    if len(times) < MIN_LOOKS:
        bare = sorted((e - s, s + (e - s) / 2) for s, e in events if not any(s + step <= k < e - step for k in keys))
        times = sorted({*times, *(mid for _, mid in bare[::-1][: MIN_LOOKS - len(times)])})
    return times


def _ink_box(states: Path, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h in the picture) around every pixel any state draws (coverage above 8/255)."""
    import av

    x0 = y0 = 1 << 30
    x1 = y1 = -1
    with av.open(str(states)) as c:
        for frame in c.decode(video=0):
            rows, cols = np.nonzero(planes(frame)[3] > 8)
            if rows.size:
                x0, x1 = min(x0, int(cols.min())), max(x1, int(cols.max()))
                y0, y1 = min(y0, int(rows.min())), max(y1, int(rows.max()))
    if x1 < 0:
        return None
    return box[0] + x0, box[1] + y0, x1 - x0 + 1, y1 - y0 + 1


class BurnedLook:
    """The burned-in events of one episode drawn again (the plan's states, streamed from their NUT file in
    time order as frames come) and what was measured on each frame looked at."""

    def __init__(self, states: Path, box: tuple[int, int, int, int], times: Sequence[Fraction],
                 picture: tuple[int, int], style: dict[str, str]) -> None:  # fmt: skip
        import av

        self.box, self.picture, self.times = box, picture, frozenset(times)
        self.box_style = style.get("BorderStyle", "1") in ("3", "4")
        self.fill_y = _video_luma(style.get("PrimaryColour", "&H00FFFFFF"))
        self.edge_y = _video_luma(style.get("BackColour" if self.box_style else "OutlineColour", "&H00000000"))
        self.ring_px = math.ceil(float(style.get("Outline", "4") or 4) / 2) + 2
        self.ink = _ink_box(states, box)
        self._container = av.open(str(states))
        self._tb = Fraction(self._container.streams.video[0].time_base or Fraction(1, 1000))
        self._states = iter(self._container.decode(video=0))
        self._next: Any = next(self._states, None)
        self._current: LabelSprite | None = None
        self.frames: list[dict[str, Any]] = []
        self.missing: list[Fraction] = []
        self.edge: list[float] = []
        self.around: list[float] = []

    def close(self) -> None:
        self._container.close()

    def see(self, t: Fraction, shown: Fraction, luma: npt.NDArray[np.uint8]) -> None:
        while self._next is not None and Fraction(self._next.pts or 0) * self._tb <= shown:
            y, _, _, alpha = planes(self._next)
            self._current = LabelSprite(self.box, y.astype(np.float32), (alpha / np.float32(255)).astype(np.float32))
            self._next = next(self._states, None)
        cur = self._current
        if cur is None or float(cur.alpha.max()) < 0.5:
            return
        score = presence(cur, luma, self.picture)
        vs_edge, vs_picture = _measure(cur, luma, self.picture, self.fill_y, self.edge_y, self.ring_px)
        self.frames.append({
            "t": round(float(shown), 3), "score": round(score, 3),
            "contrast_edge": None if vs_edge is None else round(vs_edge, 2),
            "contrast_picture": None if vs_picture is None else round(vs_picture, 2),
        })  # fmt: skip
        if score < PRESENT:
            self.missing.append(shown)
            return
        if vs_edge is not None:
            self.edge.append(vs_edge)
        if vs_picture is not None:
            self.around.append(vs_picture)

    def result(
        self, episode: str, events: int, min_contrast: float, safe: tuple[int, int, int, int] | None
    ) -> tuple[dict[str, Any], list[Finding]]:
        """The JSON entry and the findings (see the module's docstring)."""
        found: list[Finding] = []
        ink = self.ink
        looked = len(self.frames)
        low = [r for r in self.around if r < PICTURE_MIN]
        entry: dict[str, Any] = {
            "events": events, "looked_at": looked, "found": looked - len(self.missing), "frames": self.frames,
            "ink_box": list(ink) if ink else None,
            "contrast_edge": round(float(np.median(self.edge)), 2) if self.edge else None,
            "low_picture_contrast_share": round(len(low) / len(self.around), 3) if self.around else None,
        }  # fmt: skip
        if ink and safe is not None and not inside(ink, safe):
            found.append(Finding("subtitles", "safe_area", "error",
                                 f"burned-in text drawn at {ink[2]}x{ink[3]} px at {ink[0]},{ink[1]} leaves the "
                                 f"safe area ({safe[2]}x{safe[3]} px at {safe[0]},{safe[1]})", episode))  # fmt: skip
        if self.missing:
            times = ", ".join(f"{float(t):.2f}" for t in self.missing[:5])
            found.append(Finding("subtitles", "burned_text_missing", "error",
                                 f"the burned-in text is not where the layout says at {times} s "
                                 f"({len(self.missing)} of {looked} frames looked at)", episode, self.missing[0]))  # fmt: skip
        if self.edge and entry["contrast_edge"] < min_contrast:
            found.append(Finding("subtitles", "text_contrast", "error",
                                 f"burned-in text against its {'box' if self.box_style else 'outline'}: "
                                 f"{entry['contrast_edge']:.1f}:1 measured, the preset asks {min_contrast:g}:1",
                                 episode))  # fmt: skip
        if not self.box_style and self.around and len(low) / len(self.around) > PICTURE_SHARE:
            found.append(Finding("subtitles", "text_background", "warning",
                                 f"burned-in text over a bright picture: under {PICTURE_MIN:g}:1 against it on "
                                 f"{len(low)} of {len(self.around)} frames looked at; a box would keep it readable",
                                 episode))  # fmt: skip
        return entry, found


@contextmanager
def burned_look(
    subtitles: dict[str, Any],
    events: Sequence[Sequence[str]],
    keys: Sequence[Fraction],
    step: Fraction,
    ffmpeg: FFmpeg | None = None,
) -> Iterator[BurnedLook | None]:
    """The burned-in ``events`` (the plan's ``[start, end, ASS text]`` of one episode) drawn again with the
    plan's ``subtitles`` entry (its header, font, region and picture size), ready to be looked for at the
    times :func:`_looks` picks among ``keys`` (the file's keyframes); None when nothing is burned in.

    Raises:
        FFmpegError: libass could not draw the states again.
    """
    from ..subtitles.fonts import font_named
    from ..subtitles.sprites import Event, render_sprites

    evs = [Event(Fraction(s), Fraction(e), t) for s, e, t in events if Fraction(e) > Fraction(s)]
    if not evs or not subtitles.get("header"):
        yield None
        return
    picture = (int(subtitles["picture"][0]), int(subtitles["picture"][1]))
    with tempfile.TemporaryDirectory(prefix="vertcut-check-") as tmp:
        fonts = Path(tmp) / "fonts"
        fonts.mkdir()
        font = font_named(str(subtitles["font"]))
        (fonts / font.path.name).symlink_to(font.path)
        region = subtitles.get("region")
        track = render_sprites(str(subtitles["header"]), evs, picture, Fraction(1, 1000), fonts,
                               Path(tmp) / "states.nut", region=tuple(region) if region else None,
                               until=evs[-1].end + 1, ffmpeg=ffmpeg)  # fmt: skip
        if track is None:
            yield None
            return
        looker = BurnedLook(track.path, track.box, _looks([(e.start, e.end) for e in evs], keys, step), picture,
                            ass_style(str(subtitles["header"])))  # fmt: skip
        try:
            yield looker
        finally:
            looker.close()


def burned_findings(
    video: Path,
    subtitles: dict[str, Any],
    events: Sequence[Sequence[str]],
    episode: str,
    *,
    min_contrast: float,
    safe: tuple[int, int, int, int] | None = None,
    ffmpeg: FFmpeg | None = None,
) -> tuple[dict[str, Any], list[Finding]]:
    """The burned-in ``events`` looked for in ``video`` (:func:`burned_look`); ``safe``: the safe area
    (x, y, w, h in the plan's picture) every drawn pixel must stay inside.

    Raises:
        FFmpegError: libass could not draw the states again.
    """
    keys, step = keyframe_times(video)
    with burned_look(subtitles, events, keys, step, ffmpeg) as looker:
        if looker is None:
            return {"events": len(events), "looked_at": 0, "found": 0, "frames": []}, []
        look(video, [looker])
        return looker.result(episode, len(events), min_contrast, safe)
