"""What the render loop does to each master frame: crop along the camera path, fit, or nothing.

A :class:`PictureSpec` is plain data (it travels to executor tasks); :meth:`PictureSpec.apply`
turns one decoded master frame into the frame piped to ffmpeg. Crops and fits work on the
Y'CbCr planes in NumPy/OpenCV (no RGB conversion); ffmpeg then scales the piped frames to the
output size, threaded, beside the encoders (a crop is a third of the bytes of the upscaled frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, cast

import av
import cv2
import numpy as np
import numpy.typing as npt

from .planes import Planes, fit_over_blur, resize_plane

__all__ = ["PictureSpec", "frame_from_planes", "planes_of"]

Kind = Literal["crop", "fit", "identity"]


def planes_of(frame: av.VideoFrame) -> Planes:
    """Zero-copy views of a yuv420p frame's planes (valid while the frame lives)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    views = [
        np.frombuffer(memoryview(p), dtype=np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        for p in frame.planes[:3]
    ]
    return views[0], views[1], views[2]


def frame_from_planes(planes: Planes) -> av.VideoFrame:
    """A yuv420p frame holding a copy of ``planes``."""
    y = planes[0]
    frame = av.VideoFrame(y.shape[1], y.shape[0], "yuv420p")
    for plane, data in zip(frame.planes, planes, strict=True):
        pad = plane.line_size - data.shape[1]
        plane.update(cast(bytes, np.ascontiguousarray(data) if pad == 0 else np.pad(data, ((0, 0), (0, pad)))))
    return frame


def _rotate(planes: Planes, rotation: int) -> Planes:
    if rotation == 0:
        return planes
    code = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}[rotation]
    y, u, v = (np.ascontiguousarray(cv2.rotate(p, code), dtype=np.uint8) for p in planes)
    return y, u, v


@dataclass(frozen=True)
class PictureSpec:
    """How a range of master frames becomes the piped picture.

    ``crop``: the window ``crop_size`` at ``x[i - first]`` (left edge, source pixels) and ``y0``, or
    for frames in ``pad`` (master indices) the whole picture fitted over a blurred copy of itself.
    ``fit``: the whole (rotated) picture scaled into the output, over a blurred copy when the aspect
    differs. ``identity``: the decoded frame as it is (any pixel format).
    """

    kind: Kind
    output: tuple[int, int]  # the picture's size after ffmpeg's scale (what viewers see)
    piped: tuple[int, int]  # the size of the frames on the pipe
    first: int = 0  # master index of x[0]
    x: tuple[int, ...] = ()
    crop_size: tuple[int, int] = (0, 0)
    y0: int = 0
    pad: frozenset[int] = frozenset()
    rotation: int = 0
    target: Fraction = Fraction(9, 16)
    pix_fmt: str = "yuv420p"  # of the piped frames

    def window(self, first: int, count: int) -> PictureSpec:
        """The same picture for master frames ``first``..``first + count`` only (what one episode's task
        carries: its slice of the camera path)."""
        if self.kind != "crop":
            return self
        lo = first - self.first
        pad = frozenset(i for i in self.pad if first <= i < first + count)
        return PictureSpec(self.kind, self.output, self.piped, first, self.x[lo : lo + count], self.crop_size,
                           self.y0, pad, self.rotation, self.target, self.pix_fmt)  # fmt: skip

    def apply(self, index: int, frame: av.VideoFrame) -> av.VideoFrame:
        """The piped frame for master frame ``index``."""
        if self.kind == "identity":
            return frame
        planes = planes_of(frame)
        ow, oh = self.piped
        if self.kind == "fit":
            p = _rotate(planes, self.rotation)
            ph, pw = p[0].shape
            if abs(Fraction(pw, ph) - self.target) < Fraction(1, 100):
                out: Planes = (resize_plane(p[0], ow, oh), resize_plane(p[1], ow // 2, oh // 2),
                               resize_plane(p[2], ow // 2, oh // 2))  # fmt: skip
            else:
                out = fit_over_blur(p, ow, oh)
            return frame_from_planes(out)
        if index in self.pad:
            return frame_from_planes(fit_over_blur(planes, ow, oh))
        cw, ch = self.crop_size
        x = self.x[min(index - self.first, len(self.x) - 1)] // 2 * 2
        y, u, v = planes
        y0 = self.y0
        crop: tuple[npt.NDArray[np.uint8], ...] = (
            y[y0 : y0 + ch, x : x + cw],
            u[y0 // 2 : (y0 + ch) // 2, x // 2 : (x + cw) // 2],
            v[y0 // 2 : (y0 + ch) // 2, x // 2 : (x + cw) // 2],
        )
        if (cw, ch) != (ow, oh):  # pad shots in the range: every frame is piped at the output size
            crop = (resize_plane(crop[0], ow, oh), resize_plane(crop[1], ow // 2, oh // 2),
                    resize_plane(crop[2], ow // 2, oh // 2))  # fmt: skip
        return frame_from_planes((crop[0], crop[1], crop[2]))
