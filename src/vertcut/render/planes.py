"""Plane operations of the render loop: resize and blurred fits of Y'CbCr planes in NumPy/OpenCV.

The loop itself (decode a frame range, crop or fit each frame, pipe it to ffmpeg) is
:mod:`vertcut.render`.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from ..media.probe import ColorInfo

__all__ = ["DEFAULT_ENCODER", "OUTPUT_COLOR", "Planes", "blurred_fill", "fit_over_blur", "resize_plane"]

Planes = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]

OUTPUT_COLOR = ColorInfo("bt709", "bt709", "bt709", "tv", 8)  # the colour tags of every reframed picture

DEFAULT_ENCODER = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]


def resize_plane(p: npt.NDArray[np.uint8], w: int, h: int) -> npt.NDArray[np.uint8]:
    if p.shape[1] == w and p.shape[0] == h:
        return p
    interp = cv2.INTER_AREA if p.shape[1] > w else cv2.INTER_LINEAR
    return cast(npt.NDArray[np.uint8], cv2.resize(p, (w, h), interpolation=interp))


def blurred_fill(p: npt.NDArray[np.uint8], w: int, h: int) -> npt.NDArray[np.uint8]:
    """A heavily blurred cover-fit of ``p`` at w x h (cheap: blur at 1/8 size)."""
    ph, pw = p.shape
    scale = max(w / pw, h / ph)
    cw, ch = min(pw, int(w / scale)), min(ph, int(h / scale))
    x0, y0 = (pw - cw) // 2, (ph - ch) // 2
    small = cv2.resize(p[y0 : y0 + ch, x0 : x0 + cw], (max(2, w // 8), max(2, h // 8)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3)
    return cast(npt.NDArray[np.uint8], cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))


def fit_over_blur(planes: Planes, ow: int, oh: int, dim: float = 0.6) -> Planes:
    """The whole picture fitted inside ow x oh over a blurred, dimmed copy of itself."""
    y, u, v = planes
    ph, pw = y.shape
    scale = min(ow / pw, oh / ph)
    fw, fh = max(2, int(pw * scale) // 2 * 2), max(2, int(ph * scale) // 2 * 2)
    x0, y0 = (ow - fw) // 2 // 2 * 2, (oh - fh) // 2 // 2 * 2
    out = []
    for p, sub in ((y, 1), (u, 2), (v, 2)):
        bg = blurred_fill(p, ow // sub, oh // sub)
        if sub == 1:
            bg = (bg.astype(np.float32) * dim + 16 * (1 - dim)).astype(np.uint8)
        fg = resize_plane(p, fw // sub, fh // sub)
        bg[y0 // sub : y0 // sub + fh // sub, x0 // sub : x0 // sub + fw // sub] = fg
        out.append(bg)
    return out[0], out[1], out[2]
