"""Small generated media for the tests: frames that carry their index in the pixels.

Each frame shows a 4x4 grid of black/white cells in its centre encoding the
frame index (16 bits), over a background whose colour changes per "shot"
(every ``shot_len`` frames), so hard cuts are real. The grid survives lossy
encodes and centred crops; :func:`read_index` recovers the index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID = 4


def cell_size(w: int, h: int) -> int:
    return max(4, min(w, h) // 12)


def grid_box(w: int, h: int) -> tuple[int, int, int]:
    """(x0, y0, cell) of the index grid in a w x h frame."""
    c = cell_size(w, h)
    return (w - GRID * c) // 2, (h - GRID * c) // 2, c


def draw_frame(index: int, w: int, h: int, shot_len: int = 0) -> np.ndarray:
    """An RGB frame carrying ``index``."""
    shot = index // shot_len if shot_len else 0
    rng = np.random.default_rng(shot)
    base = rng.integers(40, 200, size=3)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 3), dtype=np.uint8)
    for ch in range(3):
        img[..., ch] = np.clip(base[ch] + (xx * (ch + 1) + yy * (3 - ch) + index) % 40 - 20, 0, 255)
    x0, y0, c = grid_box(w, h)
    img[y0 - c // 2 : y0 + GRID * c + c // 2, x0 - c // 2 : x0 + GRID * c + c // 2] = 128
    for bit in range(16):
        r, q = divmod(bit, GRID)
        v = 255 if (index >> bit) & 1 else 0
        img[y0 + r * c : y0 + (r + 1) * c, x0 + q * c : x0 + (q + 1) * c] = v
    return img


def read_index(img: np.ndarray, box: tuple[int, int, int] | None = None) -> int:
    """Recover the index from an RGB or gray frame (``box`` defaults to the centre grid)."""
    gray = img if img.ndim == 2 else img.mean(axis=2)
    h, w = gray.shape[:2]
    x0, y0, c = box or grid_box(w, h)
    value = 0
    for bit in range(16):
        r, q = divmod(bit, GRID)
        cell = gray[y0 + r * c + c // 4 : y0 + (r + 1) * c - c // 4, x0 + q * c + c // 4 : x0 + (q + 1) * c - c // 4]
        if cell.mean() > 128:
            value |= 1 << bit
    return value


def make_clip(
    path: Path,
    *,
    frames: int = 50,
    size: tuple[int, int] = (320, 180),
    rate: Fraction = Fraction(25),
    shot_len: int = 0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    start_pts: int = 0,
    bframes: bool = True,
    audio: bool = True,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a clip whose frame i shows index i.

    ``pts``/``time_base`` give explicit (e.g. variable-rate) timestamps;
    ``start_pts`` offsets every timestamp (a non-zero start time).
    """
    w, h = size
    tb = time_base or 1 / Fraction(rate)
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.time_base = tb
        vs.codec_context.time_base = tb
        opts = {"crf": "18", "preset": "veryfast"} if codec.startswith("libx26") else {}
        if codec == "libx264":
            opts["x264-params"] = "bframes=3" if bframes else "bframes=0"
            opts["g"] = "25"
        opts.update(options or {})
        vs.options = opts
        aus = None
        if audio:
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "stereo"
        for i in range(frames):
            fr = av.VideoFrame.from_ndarray(draw_frame(i, w, h, shot_len), format="rgb24")
            fr.pts = start_pts + (pts[i] if pts is not None else i)
            fr.time_base = tb
            for p in vs.encode(fr):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if aus is not None:
            duration = (pts[-1] + 1 if pts is not None else frames) * tb
            n = int(duration * 48000)
            t = np.arange(n) / 48000
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            stereo = np.vstack([samples, samples])
            chunk = 1024
            for s in range(0, n, chunk):
                part = np.ascontiguousarray(stereo[:, s : s + chunk])
                af = av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo")
                af.sample_rate = 48000
                af.pts = s
                for p in aus.encode(af):
                    out.mux(p)
            for p in aus.encode():
                out.mux(p)
    return path


def decode_indices(path: Path) -> list[int]:
    """Index of every decoded frame, in presentation order."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append(read_index(f.to_ndarray(format="gray")))
    return out


def x264_threads(path: Path) -> int | None:
    """The thread count x264 recorded in ``path``'s stream (its settings SEI), or None if there is none."""
    found = re.search(rb"x264 - core .*? threads=(\d+) ", path.read_bytes())
    return int(found[1]) if found else None
