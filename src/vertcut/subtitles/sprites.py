"""Burn-in by sprites: libass draws each on-screen state once, ffmpeg's ``overlay`` composites it.

ffmpeg's ``ass`` filter blends every glyph layer (shadow, outline, body, box)
into every frame with scalar C code. On a 1080x1920 x264 encode that is about
5 % of the encode's CPU. Subtitles are static while a cue is on screen, so
vertcut has libass draw each distinct state (the set of cues shown between
two cue boundaries) once, and composites the states with ``overlay``.
``overlay`` blends with SIMD and only touches the band of the frame that ever
holds text, for about a fifth of the cost. The pixels match the ``ass``
filter's to rounding: luma within 3, chroma within 12 at glyph edges (see the
tests).

How the pixels stay the same: each state is drawn twice by the same ``ass``
filter, over luma 0 and over luma 255, with chroma 128, on canvases that carry
the picture's colour matrix and range. Per pixel the filter's layer-by-layer
blend is ``out = picture * (1 - a) + p``, so the first drawing is ``p`` and the
two differ by ``255 * (1 - a)``. That gives the composite coverage and colour
of all layers at once, which vertcut stores as a straight-alpha sprite.
(Straight, not premultiplied: ffmpeg 9's premultiplied ``overlay`` gives
different luma in its SIMD and C paths.)

How the times stay exact: a state starting at time ``t`` is stored at
``ceil(t / tb)`` in the picture's own time base. ``overlay`` shows the
latest sprite at or before each frame, so the state appears on the first
frame at or after ``t``. That is libass's rule (start <= frame < end), but
with exact times instead of centiseconds.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import SubtitleError
from ..ffmpeg import FFmpeg, escape_filter_path
from ..media.probe import ColorInfo

__all__ = ["Event", "SpriteTrack", "render_sprites", "sprite_pixel_formats"]

# the pictures whose overlay blend matches the ass filter's (8-bit Y'CbCr), with overlay's name for their layout;
# overlay's ``format=auto`` would pick 4:4:4 and convert the whole picture twice
_OVERLAY_FORMAT = {
    "yuv420p": "yuv420", "yuvj420p": "yuv420", "yuv422p": "yuv422", "yuvj422p": "yuv422",
    "yuv444p": "yuv444", "yuvj444p": "yuv444",
}  # fmt: skip
sprite_pixel_formats = frozenset(_OVERLAY_FORMAT)


@dataclass(frozen=True)
class Event:
    """One ASS dialogue line with exact times (seconds from the first frame)."""

    start: Fraction
    end: Fraction
    text: str  # the ASS text field (may hold \\N line breaks)


@dataclass(frozen=True)
class SpriteTrack:
    """The rendered states: a NUT file of FFV1 ``yuva420p`` frames, one per state, in the picture's time base."""

    path: Path
    box: tuple[int, int, int, int]  # x, y, w, h in the picture of the band that ever holds text (even-aligned)
    states: int

    def filtergraph(
        self, main: str, sprites: str, out: str, pix_fmt: str = "yuv420p", color: ColorInfo | None = None
    ) -> str:
        """The filter chain compositing ``[sprites]`` over ``[main]`` (a ``pix_fmt`` picture with ``color``
        properties) into ``[out]``. The sprites are tagged straight-alpha and with the picture's colour
        properties, or ffmpeg would insert per-frame conversions in front of ``overlay``."""
        x, y, _, _ = self.box
        fmt = _OVERLAY_FORMAT.get(pix_fmt, "yuv420")
        return (
            f"[{sprites}]{_setparams(color, alpha_mode='straight')}null[vcsub];"
            f"[{main}][vcsub]overlay=x={x}:y={y}:eval=init:alpha=straight:format={fmt}[{out}]"
        )


def _states(events: Sequence[Event], tb: Fraction, until: Fraction | None = None) -> list[tuple[int, tuple[int, ...]]]:
    """(first tick, indices of the events shown) for each run of ticks showing the same events, up to
    ``until`` (the picture's end: ``overlay`` would still emit a frame for a state starting after it)."""
    last = math.ceil(until / tb) if until is not None else None
    spans = []
    for i, e in enumerate(events):
        s, t = max(0, math.ceil(e.start / tb)), math.ceil(e.end / tb)
        if last is not None:
            t = min(t, last)
        if t > s:
            spans.append((s, t, i))
    ticks = sorted({0, *(s for s, _, _ in spans), *(t for _, t, _ in spans if last is None or t < last)})
    out: list[tuple[int, tuple[int, ...]]] = []
    for tick in ticks:
        shown = tuple(i for s, t, i in spans if s <= tick < t)
        if not out or out[-1][1] != shown:
            out.append((tick, shown))
    return out


def _ass_seconds(n: int) -> str:
    return f"{n // 3600}:{n // 60 % 60:02d}:{n % 60:02d}.00"


def _setparams(color: ColorInfo | None, **extra: str) -> str:
    """A ``setparams`` filter (with a trailing comma) giving frames the picture's colour matrix and range."""
    parts = [f"{k}={v}" for k, v in extra.items()]
    if color is not None and color.matrix and color.matrix != "gbr":
        parts.append(f"colorspace={color.matrix}")
    if color is not None and color.range:
        parts.append(f"range={color.range}")
    return f"setparams={':'.join(parts)}," if parts else ""


def render_sprites(
    header: str,
    events: Sequence[Event],
    size: tuple[int, int],
    time_base: Fraction,
    fonts_dir: Path,
    dest: Path,
    *,
    rows: tuple[int, int] | None = None,
    pix_fmt: str = "yuv420p",
    color: ColorInfo | None = None,
    until: Fraction | None = None,
    ffmpeg: FFmpeg | None = None,
) -> SpriteTrack | None:
    """Render every state of ``events`` (an ASS document is ``header`` + the events) once, into ``dest``.

    ``rows``: the rows text can reach, ``(first, end)``, when the caller knows (vertcut's layout does); only
    those are kept and read back. Should anything be drawn on the first or the last of them, the whole
    frame is drawn again. ``until``: the picture's duration; nothing starts at or after it.
    Returns None when nothing would be drawn (no events, or all of them blank).

    Raises:
        FFmpegError: libass could not render the document.
        SubtitleError: the rendered states could not be read back.
    """
    ff = ffmpeg or FFmpeg()
    layout = _OVERLAY_FORMAT.get(pix_fmt)
    if layout is None:
        raise SubtitleError(f"cannot composite subtitle sprites on a {pix_fmt} picture")
    planar = f"{layout}p"  # yuv420p, yuv422p or yuv444p: the picture's chroma layout
    states = _states(events, time_base, until)
    if not any(shown for _, shown in states):
        return None
    w, h = size
    if w % 2 or h % 2:
        raise SubtitleError(f"cannot composite subtitles on an odd-sized {w}x{h} picture")
    top, end = rows or (0, h)
    top, end = min(max(0, top), h - 2) & ~1, max(top + 2, min(end + (end & 1), h))
    with tempfile.TemporaryDirectory(prefix="vertcut-sprites-") as tmp:
        # state k is drawn on the canvas frame at k seconds
        lines = [header.rstrip("\n")]
        for k, (_, shown) in enumerate(states):
            for i in shown:
                lines.append(f"Dialogue: 0,{_ass_seconds(k)},{_ass_seconds(k + 1)},S,,0,0,0,,{events[i].text}")
        ass = Path(tmp) / "states.ass"
        ass.write_text("\n".join(lines) + "\n", encoding="utf-8")
        drawn = Path(tmp) / "states.nut"
        draw = f"ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(fonts_dir)}"
        while True:
            # each state drawn twice, over luma 0 (top) and luma 255 (bottom), chroma 128: per pixel the ass
            # filter's blend is  out = picture * (1 - a) + p,  so the top is p and the two differ by 255 * (1 - a)
            band = f"crop={w}:{end - top}:0:{top}"
            graph = (
                f"[0:v]format={planar},{_setparams(color)}split[lo][hi];"
                f"[lo]lutyuv=y=0:u=128:v=128,{draw},{band}[plo];[hi]lutyuv=y=255:u=128:v=128,{draw},{band}[phi];"
                "[plo][phi]vstack[out]"
            )
            ff.run(
                ["-f", "lavfi", "-i", f"color=c=black:s={w}x{h}:r=1:d={len(states)}", "-filter_complex", graph,
                 "-map", "[out]", "-frames:v", str(len(states)), "-c:v", "utvideo", "-f", "nut", str(drawn)],
                stage="subtitles",
            )  # fmt: skip
            if ff.dry_run:
                return SpriteTrack(dest, (0, top, w, end - top), len(states))
            box = _union_box(drawn, len(states), end - top)
            if (top, end) == (0, h):
                if box is None:
                    return None
                break
            if box is not None and box[1] > 0 and box[1] + box[3] < end - top:
                break
            top, end = 0, h  # text reached the band's edge: it may go further than the caller thought
        _write(drawn, dest, box, [tick for tick, _ in states], time_base, end - top, planar)
    return SpriteTrack(dest, (box[0], box[1] + top, box[2], box[3]), len(states))


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes]


def _frames(path: Path, count: int) -> Iterator[list[np.ndarray]]:
    n = 0
    try:
        with av.open(str(path)) as c:
            for frame in c.decode(video=0):
                yield _planes(frame)
                n += 1
    except av.error.FFmpegError as exc:
        raise SubtitleError(f"cannot read the rendered subtitles back: {exc}", path=path) from None
    if n != count:
        raise SubtitleError(f"libass drew {n} of {count} subtitle states", path=path)


def _alpha(y: np.ndarray, h: int) -> np.ndarray:
    """Coverage (0-255) from the luma drawn over 0 and over 255."""
    diff = y[h:].astype(np.int16) - y[:h]
    alpha: np.ndarray = np.clip(255 - diff, 0, 255).astype(np.uint8)
    return alpha


def _union_box(path: Path, count: int, h: int) -> tuple[int, int, int, int] | None:
    """The even-aligned box holding every drawn pixel of every state."""
    rows: np.ndarray = np.zeros(h, bool)
    cols: np.ndarray | None = None
    for y, _, _ in _frames(path, count):
        a: np.ndarray = _alpha(y, h) > 0
        rows |= np.any(a, axis=1)
        if cols is None:
            cols = np.zeros(a.shape[1], bool)
        cols |= np.any(a, axis=0)
    if cols is None or not rows.any():
        return None
    y0, y1 = int(np.flatnonzero(rows)[0]), int(np.flatnonzero(rows)[-1]) + 1
    x0, x1 = int(np.flatnonzero(cols)[0]), int(np.flatnonzero(cols)[-1]) + 1
    x0, y0 = x0 & ~1, y0 & ~1
    x1, y1 = min(len(cols), x1 + (x1 & 1)), min(len(rows), y1 + (y1 & 1))
    return x0, y0, x1 - x0, y1 - y0


def _straight(
    luma: np.ndarray, u: np.ndarray, v: np.ndarray, alpha: np.ndarray, sx: int, sy: int
) -> tuple[np.ndarray, ...]:
    """Premultiplied planes (luma over 0, chroma centred on 128) as straight colour, the form whose
    ``overlay`` blend is the same in its SIMD and C paths (ffmpeg 9's premultiplied C path offsets luma by
    16). Chroma is divided by the alpha ``overlay`` uses for a chroma sample: the mean of the luma
    alphas it covers, computed the way ``overlay`` does."""
    a = alpha.astype(np.int32)
    if sx and sy:
        ac = (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) >> 2
    elif sx:
        ac = (a[:, 0::2] + ((a[:, 0::2] + a[:, 1::2]) >> 1)) >> 1
    else:
        ac = a
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(a > 0, (luma.astype(np.int32) * 255 + a // 2) // np.maximum(a, 1), 0)
        cu, cv = ((c.astype(np.int32) - 128) * 255 / np.maximum(ac, 1) for c in (u, v))
    u8 = np.where(ac > 0, np.rint(cu) + 128, 128)
    v8 = np.where(ac > 0, np.rint(cv) + 128, 128)
    return tuple(np.clip(p, 0, 255).astype(np.uint8) for p in (y, u8, v8, alpha))


def _write(
    src: Path,
    dest: Path,
    box: tuple[int, int, int, int],
    ticks: list[int],
    time_base: Fraction,
    h: int,
    planar: str,
) -> None:
    """The states as straight-alpha sprites (``planar`` with alpha) cropped to ``box``, stamped with their
    first ticks."""
    x, y, bw, bh = box
    sx, sy = {"yuv420p": (1, 1), "yuv422p": (1, 0), "yuv444p": (0, 0)}[planar]
    rows, cols = slice(y, y + bh), slice(x, x + bw)
    crows, ccols = slice(y >> sy, (y + bh) >> sy), slice(x >> sx, (x + bw) >> sx)
    fmt = planar.replace("yuv", "yuva")
    with av.open(str(dest), "w", format="nut") as out:
        stream = out.add_stream("ffv1", rate=1)
        stream.width, stream.height, stream.pix_fmt = bw, bh, fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        for tick, (luma, u, v) in zip(ticks, _frames(src, len(ticks)), strict=True):
            frame = av.VideoFrame(bw, bh, fmt)
            alpha = _alpha(luma, h)[rows, cols]
            planes = _straight(luma[:h][rows, cols], u[crows, ccols], v[crows, ccols], alpha, sx, sy)
            for plane, data in zip(frame.planes, planes, strict=True):
                plane.update(np.pad(data, ((0, 0), (0, plane.line_size - data.shape[1]))).tobytes())
            frame.pts, frame.time_base = tick, time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
