"""Drawing an episode's labels for the one-pass render: each label becomes a sprite track (the subtitle
sprites' format, :mod:`vertcut.subtitles.sprites`) that ``overlay`` composites in the same filter graph
as the subtitles, so labels cost no extra encode and only touch their own box of the frame.

Text labels are drawn by libass (the same fonts and metrics as the subtitles); image labels (a logo
bug) are converted from RGBA to straight-alpha BT.709 Y'CbCr in NumPy. Every state change sits on an
exact tick of the picture's time base: a label appears on the first frame at or after its start and
is gone from the first frame at or after its end.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import LabelError
from ..ffmpeg import FFmpeg
from ..media.probe import ColorInfo
from ..subtitles.sprites import Event, SpriteTrack, render_sprites, write_states
from .plan import LabelPlan, PlacedLabel

__all__ = ["LabelLayer", "draw_labels"]


@dataclass(frozen=True)
class LabelLayer:
    """The labels ready to composite (valid inside :func:`draw_labels`)."""

    inputs: list[str] = field(default_factory=list)
    tracks: tuple[tuple[PlacedLabel, SpriteTrack], ...] = ()
    pix_fmt: str = "yuv420p"
    color: ColorInfo | None = None

    def filter(self, main: str, out: str, first_input: int) -> str:
        """The chain from ``[main]`` to ``[out]`` compositing every label; ``first_input``: the ffmpeg input
        number of ``inputs``' first file."""
        if not self.tracks:
            return f"[{main}]null[{out}]"
        parts, cur = [], main
        for k, (_, track) in enumerate(self.tracks):
            nxt = out if k == len(self.tracks) - 1 else f"vclab{k}"
            graph = track.filtergraph(cur, f"{first_input + k}:v:0", nxt, self.pix_fmt, self.color)
            parts.append(graph.replace("[vcsub]", f"[vclabs{k}]"))
            cur = nxt
        return ";".join(parts)


def _header(lb: PlacedLabel, size: tuple[int, int]) -> str:
    from ..subtitles.ass import _ass_colour

    w, h = size
    x, y, bw, bh = lb.box
    align = 1 if lb.anchor.endswith("left") else 3 if lb.anchor.endswith("right") else 2
    margin_l, margin_r = x, w - x - bw
    margin_v = h - (y + bh) + math.ceil(lb.outline_px)
    fields = [
        "S", lb.font, f"{lb.fontsize:g}", _ass_colour(lb.text_colour, lb.opacity), _ass_colour(lb.text_colour, lb.opacity),
        _ass_colour(lb.outline_colour, lb.opacity), "&HFF000000", "-1" if lb.bold else "0", "0", "0", "0", "100", "100",
        "0", "0", "1", f"{lb.outline_px:.1f}", "0", str(align), str(margin_l), str(margin_r), str(margin_v),
        "-1" if lb.lang.split("-")[0] in ("ar", "fa", "ur", "he") else "1",
    ]  # fmt: skip
    return "\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {w}", f"PlayResY: {h}", "WrapStyle: 2",
        "ScaledBorderAndShadow: yes", "YCbCr Matrix: TV.709", "", "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        "Style: " + ",".join(fields), "", "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]) + "\n"  # fmt: skip


def _escape(text: str) -> str:
    return "\\N".join(ln.replace("\\", "\uff3c").replace("{", "(").replace("}", ")") for ln in text.split("\n"))


def _rgba_to_yuva(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Straight-alpha RGBA (H, W, 4; even H and W) as BT.709 limited-range yuva420p planes; chroma is the
    alpha-weighted mean of each 2x2 block (no dark fringe at the edges)."""
    f = rgba[..., :3].astype(np.float32) / 255.0
    a = rgba[..., 3].astype(np.float32) / 255.0
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + 219 * (0.2126 * r + 0.7152 * g + 0.0722 * b)
    cb = -0.1146 * r - 0.3854 * g + 0.5 * b
    cr = 0.5 * r - 0.4542 * g - 0.0458 * b
    h, w = a.shape
    aw = a.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3))
    mean = np.maximum(aw, 1e-6)
    u = 128 + 224 * (cb * a).reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3)) / mean
    v = 128 + 224 * (cr * a).reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3)) / mean
    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, u, v, a * 255)]
    return planes[0], planes[1], planes[2], planes[3]


def _image_track(
    lb: PlacedLabel, duration: Fraction, time_base: Fraction, dest: Path, color: ColorInfo | None
) -> SpriteTrack:
    img = cv2.imread(lb.image, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise LabelError(f"label {lb.name!r}: cannot read the image", path=lb.image)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    if img.dtype != np.uint8:  # 16-bit PNG
        img = (img / 257).astype(np.uint8)
    x, y, bw, bh = lb.box
    ew, eh = bw + (bw & 1), bh + (bh & 1)
    scaled = cv2.resize(img, (bw, bh), interpolation=cv2.INTER_AREA)
    rgba = np.zeros((eh, ew, 4), np.uint8)
    rgba[:bh, :bw] = cv2.cvtColor(scaled, cv2.COLOR_BGRA2RGBA)
    rgba[..., 3] = np.rint(rgba[..., 3] * lb.opacity).astype(np.uint8)
    shown = _rgba_to_yuva(rgba)
    clear = (np.full((eh, ew), 16, np.uint8), np.full((eh // 2, ew // 2), 128, np.uint8),
             np.full((eh // 2, ew // 2), 128, np.uint8), np.zeros((eh, ew), np.uint8))  # fmt: skip
    start, end, last = (math.ceil(t / time_base) for t in (lb.start, lb.end, duration))
    states: list[tuple[int, tuple[np.ndarray, ...]]] = [(0, clear)] if start > 0 else []
    states.append((start, shown))
    if end < last:
        states.append((end, clear))
    write_states(dest, (ew, eh), "yuva420p", states, time_base)
    return SpriteTrack(dest, (x, y, ew, eh), len(states))


@contextmanager
def draw_labels(
    plan: LabelPlan,
    size: tuple[int, int],
    time_base: Fraction,
    duration: Fraction,
    *,
    color: ColorInfo | None = None,
    pix_fmt: str = "yuv420p",
    ffmpeg: FFmpeg | None = None,
) -> Iterator[LabelLayer]:
    """Draw ``plan``'s labels for a ``size`` picture of ``duration`` whose frames carry ``time_base``.

    Raises:
        LabelError: a drawn label leaves its safe area, or an image cannot be read.
        FFmpegError: libass could not draw a text label.
    """
    from ..subtitles.fonts import font_named

    ff = ffmpeg or FFmpeg()
    tracks: list[tuple[PlacedLabel, SpriteTrack]] = []
    with tempfile.TemporaryDirectory(prefix="vertcut-labels-") as tmp:
        for k, lb in enumerate(plan.labels):
            dest = Path(tmp) / f"label{k}.nut"
            if lb.end <= lb.start:
                continue
            if lb.content == "image":
                tracks.append((lb, _image_track(lb, duration, time_base, dest, color)))
                continue
            fonts = Path(tmp) / f"fonts{k}"
            fonts.mkdir()
            font = font_named(lb.font)
            (fonts / font.path.name).symlink_to(font.path)
            x, y, bw, bh = lb.box
            pad = math.ceil(lb.fontsize)
            region = (x - pad, y - pad, bw + 2 * pad, bh + 2 * pad)
            events = [Event(lb.start, lb.end, _escape(lb.text))]
            track = render_sprites(_header(lb, size), events, size, time_base, fonts, dest, region=region,
                                   pix_fmt=pix_fmt, color=color, until=duration, ffmpeg=ff)  # fmt: skip
            if track is None:
                continue
            if not ff.dry_run:
                tx, ty, tw, th = track.box
                sx, sy, sw, sh = lb.safe
                # the sprite keeps two clear pixels around the ink
                if tx + 2 < sx or ty + 2 < sy or tx + tw - 2 > sx + sw or ty + th - 2 > sy + sh:
                    raise LabelError(
                        f"label {lb.name!r} drawn at {tw}x{th} px at {tx},{ty} leaves the safe area "
                        f"({sw}x{sh} px at {sx},{sy}); make it smaller"
                    )
            tracks.append((lb, track))
        inputs = [arg for _, t in tracks for arg in ("-i", str(t.path))]
        yield LabelLayer(inputs, tuple(tracks), pix_fmt, color)
