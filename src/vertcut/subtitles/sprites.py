"""Burn-in by sprites: libass draws each on-screen state once, ffmpeg's ``overlay`` composites it.

ffmpeg's ``ass`` filter blends every glyph layer (shadow, outline, body, box)
into every frame with scalar C code. On a 1080x1920 x264 encode that is 5-8 %
of the encode's CPU. Subtitles are static while a cue is on screen, so
vertcut has libass draw each distinct state (the set of cues shown between
two cue boundaries) once, and composites the states with ``overlay``.
``overlay`` blends with SIMD and only touches the band of the frame that ever
holds text: 1.7-3.3 % in all, nearly all of it the copy ffmpeg makes of each
decoded frame before any filter may draw on it (the ``ass`` filter pays it
too). The pixels match the ``ass`` filter's to rounding: luma within 3,
chroma within 8 at glyph edges (see the tests).

How the pixels stay the same: one ``ass`` filter draws each state twice, over
luma 0 and over luma 255, with chroma 128, on a canvas that carries the
picture's colour matrix and range and is only as tall as (twice) the rows the
layout says the text can reach. Per pixel the filter's layer-by-layer blend is
``out = picture * (1 - a) + p``, so the first drawing is ``p`` and the two
differ by ``255 * (1 - a)``. That gives the composite coverage and colour of
all layers at once, which vertcut stores as a straight-alpha sprite with two
clear pixels around the text. (Straight, not premultiplied: ffmpeg 9's
premultiplied ``overlay`` gives different luma in its SIMD and C paths; the
clear border because on a sprite's last row and column ``overlay`` takes
chroma coverage from fewer pixels than the ass filter.)

What it costs: libass rasterises each glyph once (the second copy comes from
its cache), and Python reads the drawing back twice (the box around all text,
then the sprites). For a minute of 1080x1920 Chinese subtitles that is about
0.4 s of CPU, and ``overlay`` blends only the text's box.

How the times stay exact: a state starting at time ``t`` is stored at
``ceil(t / tb)`` in the picture's own time base. ``overlay`` shows the
latest sprite at or before each frame, so the state appears on the first
frame at or after ``t``. That is libass's rule (start <= frame < end), but
with exact times instead of centiseconds.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import SubtitleError
from ..ffmpeg import FFmpeg, escape_filter_path
from ..media.probe import ColorInfo

__all__ = ["Event", "SpriteTrack", "render_sprites", "sprite_pixel_formats", "write_states"]

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
    """The rendered states: a NUT file of lossless ``yuva`` frames, one per state, in the picture's time base."""

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
    region: tuple[int, int, int, int] | None = None,
    pix_fmt: str = "yuv420p",
    color: ColorInfo | None = None,
    until: Fraction | None = None,
    ffmpeg: FFmpeg | None = None,
) -> SpriteTrack | None:
    """Render every state of ``events`` (an ASS document is ``header`` + the events) once, into ``dest``.

    ``header`` holds one style, ``S``. ``region``: the box ``(x, y, w, h)`` the text stays in, when the
    caller knows (vertcut's layout does); libass then draws only those rows. Should anything be drawn on
    an edge of it that is not the picture's edge (or nothing at all), the whole frame is drawn again.
    The sprites are the box around every drawn pixel, with two clear pixels around it where the picture
    allows. ``until``: the picture's duration; nothing starts at or after it.
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
    whole = (0, 0, w, h)
    box = _even_box(region, size) if region is not None else whole
    with tempfile.TemporaryDirectory(prefix="vertcut-sprites-") as tmp:
        while True:
            drawn = _draw(header, events, states, size, box, fonts_dir, Path(tmp), planar, color, ff)
            if ff.dry_run:
                return SpriteTrack(dest, box, len(states))
            x, y, bw, bh = box
            rows, cols = _coverage(drawn, len(states), bh)
            # text on an edge of the box inside the picture may go on past it; no text at all may be elsewhere
            escaped = (
                (cols[0] and x > 0) or (cols[-1] and x + bw < w) or (rows[0] and y > 0) or (rows[-1] and y + bh < h)
            )
            if box != whole and (escaped or not rows.any()):
                box = whole
                continue
            if not rows.any():
                return None
            tight = _tight_box(rows, cols)
            _write(drawn, dest, tight, [tick for tick, _ in states], time_base, bh, planar)
            return SpriteTrack(dest, (x + tight[0], y + tight[1], tight[2], tight[3]), len(states))


def _even_box(region: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``region`` clipped to the picture, grown to even edges (chroma samples cover 2x2 pixels)."""
    w, h = size
    x0, y0 = min(max(0, region[0]), w - 2) & ~1, min(max(0, region[1]), h - 2) & ~1
    x1 = max(x0 + 2, min(w, region[0] + region[2] + 1) & ~1)
    y1 = max(y0 + 2, min(h, region[1] + region[3] + 1) & ~1)
    return x0, y0, x1 - x0, y1 - y0


def _draw(
    header: str,
    events: Sequence[Event],
    states: list[tuple[int, tuple[int, ...]]],
    size: tuple[int, int],
    box: tuple[int, int, int, int],
    fonts_dir: Path,
    tmp: Path,
    planar: str,
    color: ColorInfo | None,
    ff: FFmpeg,
) -> Path:
    """Each state drawn once by one libass instance, on the picture's rows ``box`` twice: over luma 0 (top
    half) and over luma 255 (bottom half), with chroma 128. Per pixel the ass filter's blend is
    ``out = picture * (1 - a) + p``, so the top is ``p`` and the halves differ by ``255 * (1 - a)``.

    The canvas is only the box's rows, twice: the script's ``PlayResY`` is the canvas height (so libass
    scales nothing) and each copy's bottom margin puts it where it is in the picture, shifted by whole
    pixels. The glyphs are rasterised once (libass caches them) and come out bit for bit as on the
    whole picture. State ``k`` is on the canvas frame at ``k`` seconds.
    """
    w, h = size
    x, y, bw, bh = box
    canvas = 2 * bh
    # bottom-aligned text ends ``MarginV`` above the frame's bottom; in the picture that is row h - m
    lower, upper = canvas - h + y - bh, canvas - h + y  # added to m: the copies over 255 and over 0
    doc = [_restyle(header, canvas, {"S": lower, "U": upper})]
    for k, (_, shown) in enumerate(states):
        for i in shown:
            for name in ("U", "S"):
                doc.append(f"Dialogue: 0,{_ass_seconds(k)},{_ass_seconds(k + 1)},{name},,0,0,0,,{events[i].text}")
    ass = tmp / "states.ass"
    ass.write_text("\n".join(doc) + "\n", encoding="utf-8")
    drawn = tmp / "states.nut"
    draw = f"ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(fonts_dir)}"
    graph = (
        f"[0:v]format={planar},{_setparams(color)}split[lo][hi];"
        "[lo]lutyuv=y=0:u=128:v=128[plo];[hi]lutyuv=y=255:u=128:v=128[phi];"
        f"[plo][phi]vstack,{draw},crop={bw}:{canvas}:{x}:0[out]"
    )
    ff.run(
        ["-f", "lavfi", "-i", f"color=c=black:s={w}x{bh}:r=1:d={len(states)}", "-filter_complex", graph,
         "-map", "[out]", "-frames:v", str(len(states)), "-c:v", "utvideo", "-f", "nut", str(drawn)],
        stage="subtitles",
    )  # fmt: skip
    return drawn


def _restyle(header: str, play_res_y: int, shifts: dict[str, int]) -> str:
    """``header`` for a canvas ``play_res_y`` tall, its style ``S`` copied once per name of ``shifts``
    with that many pixels added to its ``MarginV``."""
    out, fields = [], None
    for line in header.rstrip("\n").split("\n"):
        if line.startswith("PlayResY:"):
            line = f"PlayResY: {play_res_y}"
        elif line.startswith("Format:") and "MarginV" in line and "Fontname" in line:
            fields = [f.strip() for f in line[len("Format:") :].split(",")]
        elif line.startswith("Style: S,") and fields is not None:
            values = line[len("Style: ") :].split(",", len(fields) - 1)
            mv = fields.index("MarginV")
            for name, dy in shifts.items():
                shifted = [name, *values[1:]]
                shifted[mv] = str(int(values[mv]) + dy)
                out.append("Style: " + ",".join(shifted))
            continue
        out.append(line)
    if fields is None or not any(line.startswith("Style: U,") for line in out):
        raise SubtitleError("the subtitle header has no style 'S' to draw with")
    return "\n".join(out)


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


def _coverage(path: Path, count: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows and the columns any state draws on (boolean arrays)."""
    rows: np.ndarray = np.zeros(h, bool)
    cols: np.ndarray | None = None
    for y, _, _ in _frames(path, count):
        a: np.ndarray = _alpha(y, h) > 0
        rows |= np.any(a, axis=1)
        if cols is None:
            cols = np.zeros(a.shape[1], bool)
        cols |= np.any(a, axis=0)
    assert cols is not None  # count > 0
    return rows, cols


def _tight_box(rows: np.ndarray, cols: np.ndarray) -> tuple[int, int, int, int]:
    """The even-aligned box around the drawn ``rows`` and ``cols``, with two clear pixels around the text
    where there is room: on a sprite's last row and column ``overlay`` takes a chroma sample's alpha from
    fewer luma samples than the ass filter does."""
    y0, y1 = int(np.flatnonzero(rows)[0]), int(np.flatnonzero(rows)[-1]) + 1
    x0, x1 = int(np.flatnonzero(cols)[0]), int(np.flatnonzero(cols)[-1]) + 1
    x0, y0 = max(0, (x0 & ~1) - 2), max(0, (y0 & ~1) - 2)
    x1, y1 = min(len(cols), x1 + (x1 & 1) + 2), min(len(rows), y1 + (y1 & 1) + 2)
    return x0, y0, x1 - x0, y1 - y0


def _luts() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables (alpha * 256 + premultiplied value -> straight value) for luma over 0 and chroma
    centred on 128, rounded as ``overlay`` needs them; alpha 0 gives 0 (luma) and 128 (chroma)."""
    a = np.arange(256, dtype=np.int32)[:, None]
    v = np.arange(256, dtype=np.int32)[None, :]
    luma = np.where(a > 0, (v * 255 + a // 2) // np.maximum(a, 1), 0)
    chroma = np.where(a > 0, np.rint((v - 128) * 255 / np.maximum(a, 1)) + 128, 128)
    return tuple(np.clip(t, 0, 255).astype(np.uint8).ravel() for t in (luma, chroma))  # type: ignore[return-value]


_LUMA, _CHROMA = _luts()


def _straight(
    luma: np.ndarray, u: np.ndarray, v: np.ndarray, alpha: np.ndarray, sx: int, sy: int
) -> tuple[np.ndarray, ...]:
    """Premultiplied planes (luma over 0, chroma centred on 128) as straight colour, the form whose
    ``overlay`` blend is the same in its SIMD and C paths (ffmpeg 9's premultiplied C path offsets luma by
    16). Chroma is divided by the alpha ``overlay`` uses for a chroma sample: the mean of the luma
    alphas it covers, computed the way ``overlay`` does."""
    a: np.ndarray = alpha.astype(np.uint16)
    ac: np.ndarray
    if sx and sy:
        ac = (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) >> 2
    elif sx:
        ac = (a[:, 0::2] + ((a[:, 0::2] + a[:, 1::2]) >> 1)) >> 1
    else:
        ac = a
    ai, aci = a << 8, ac << 8
    return _LUMA[ai | luma], _CHROMA[aci | u], _CHROMA[aci | v], alpha


def write_states(
    dest: Path, size: tuple[int, int], fmt: str, states: Iterable[tuple[int, Sequence[np.ndarray]]], time_base: Fraction
) -> None:
    """Straight-alpha sprite states (``fmt``: a ``yuva`` layout; each state its first tick and its planes)
    into a NUT sprite track, losslessly in ``ffvhuff`` (FFV1 takes five times the CPU)."""
    w, h = size
    with av.open(str(dest), "w", format="nut") as out:
        stream = out.add_stream("ffvhuff", rate=1)
        stream.width, stream.height, stream.pix_fmt = w, h, fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        for tick, planes in states:
            frame = av.VideoFrame(w, h, fmt)
            for plane, data in zip(frame.planes, planes, strict=True):
                plane.update(np.pad(data, ((0, 0), (0, plane.line_size - data.shape[1]))).tobytes())
            frame.pts, frame.time_base = tick, time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


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

    def states() -> Iterator[tuple[int, Sequence[np.ndarray]]]:
        for tick, (luma, u, v) in zip(ticks, _frames(src, len(ticks)), strict=True):
            alpha = _alpha(luma[:, cols], h)[rows]
            yield tick, _straight(luma[:h][rows, cols], u[crows, ccols], v[crows, ccols], alpha, sx, sy)

    write_states(dest, (bw, bh), planar.replace("yuv", "yuva"), states(), time_base)
