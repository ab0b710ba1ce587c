"""The decode pass: stream frames once, keep a few numbers per frame."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError
from ..media.probe import open_container, probe
from ..media.threads import decode_threads, in_background
from ..progress import Reporter

if TYPE_CHECKING:
    from . import AnalysisParams

__all__ = ["FaceBox", "Signals", "run_pass"]


@dataclass(frozen=True)
class FaceBox:
    """A detected face on frame ``frame``, in source pixels."""

    frame: int
    x: float
    y: float
    w: float
    h: float
    score: float = 1.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


@dataclass
class Signals:
    frame_count: int
    frame_rate: Fraction
    width: int
    height: int
    scores: npt.NDArray[np.float32]
    luma: npt.NDArray[np.float32]
    motion_x: npt.NDArray[np.float32]
    saliency_x: npt.NDArray[np.float32]
    faces: list[FaceBox] = field(default_factory=list)


# OpenCV's lbpcascade_frontalface.xml (BSD-3-Clause, Intel/OpenCV), as scikit-image ships it
CASCADE_SHA256 = "03097789a3dcbb0e40d20b9ef82537dbc3b670b6a7f2268d735470f22e003a91"


@functools.cache
def _cascade() -> Any:
    import hashlib

    import skimage.data
    from skimage.feature import Cascade

    from ..errors import UnsupportedError

    path = skimage.data.lbp_frontal_face_cascade_filename()  # type: ignore[no-untyped-call]
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != CASCADE_SHA256:
        raise UnsupportedError(f"face model {path} has sha256 {digest[:12]}..., expected {CASCADE_SHA256[:12]}...")
    return Cascade(path)


def detect_faces(gray: npt.NDArray[np.uint8], scale: float, frame: int) -> list[FaceBox]:
    """Faces in a gray image; boxes scaled by ``scale`` back to source pixels."""
    side = min(gray.shape[:2])
    found = _cascade().detect_multi_scale(
        img=gray,
        scale_factor=1.25,
        step_ratio=1.3,
        min_size=(max(20, side // 10), max(20, side // 10)),
        max_size=(max(24, side // 2), max(24, side // 2)),
        min_neighbor_number=3,
    )
    return [FaceBox(frame, d["c"] * scale, d["r"] * scale, d["width"] * scale, d["height"] * scale) for d in found]


def _grow(arr: npt.NDArray[np.float32], n: int) -> npt.NDArray[np.float32]:
    if n < arr.shape[0]:
        return arr
    out = np.full(max(n + 1, arr.shape[0] * 2), np.nan, dtype=np.float32)
    out[: arr.shape[0]] = arr
    return out


_SENTINEL = object()


_PLANAR_420 = frozenset({"yuv420p", "yuvj420p"})
# BT.601 limited range to RGB, as swscale converts an untagged picture (the signals' historical basis)
_YUV2RGB = np.array([[1.164, 0.0, 1.596], [1.164, -0.392, -0.813], [1.164, 2.017, 0.0]], dtype=np.float32)
_YUV2RGB_FULL = np.array([[1.0, 0.0, 1.402], [1.0, -0.344, -0.714], [1.0, 1.772, 0.0]], dtype=np.float32)


def _small_rgb(frame: Any, size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """The frame downscaled to ``size`` as float RGB. A 4:2:0 picture is averaged plane by plane in
    OpenCV and converted on the small image: 0.2 ms a 1080p frame, against 2 ms for swscale's
    conversion to RGB on the way down (measured)."""
    import cv2

    if frame.format.name not in _PLANAR_420:
        out: npt.NDArray[np.float32] = np.asarray(
            frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray(), np.float32
        )
        return out
    small = []
    for p in frame.planes[:3]:
        plane = np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        # every k-th sample first, keeping at least 4 per output pixel each way: the area average of
        # those is within half a level of the full one (measured), at a seventh of the cost
        k = max(1, min(p.width // (4 * size[0]), p.height // (4 * size[1])))
        sub = np.ascontiguousarray(plane[k // 2 :: k, k // 2 :: k]) if k > 1 else plane
        small.append(cv2.resize(sub, size, interpolation=cv2.INTER_AREA))
    yuv = np.stack(small, axis=-1).astype(np.float32)
    full = frame.format.name == "yuvj420p"
    yuv -= np.array([0.0 if full else 16.0, 128.0, 128.0], dtype=np.float32)
    matrix = _YUV2RGB_FULL if full else _YUV2RGB
    rgb: npt.NDArray[np.float32] = np.clip(yuv @ matrix.T, 0.0, 255.0)
    return rgb


def _decoder(container: Any, stream: Any, small: tuple[int, int]) -> Any:
    """The producer of (frame, small RGB array) pairs for :func:`vertcut.media.threads.in_background`."""

    def produce(put: Any, stop: threading.Event) -> None:
        for frame in container.decode(stream):
            if stop.is_set():
                break
            put((frame, _small_rgb(frame, small)))

    return produce


def run_pass(path: Path, params: AnalysisParams, rep: Reporter, threads: int | None = None) -> Signals:
    info = probe(path)
    v = info.require_video()
    if v.frame_count < 1:
        raise InvalidMediaError("has no decodable video frames", path=path)
    rate = v.frame_rate
    sw = max(16, params.width)
    sh = max(9, round(sw * v.height / v.width / 2) * 2)
    fw = min(params.face_width, v.width)
    fh = max(16, round(fw * v.height / v.width / 2) * 2)
    face_step = max(1, round(params.face_every * rate))
    n_est = v.frame_count
    scores = np.full(n_est + 1, np.nan, dtype=np.float32)
    luma = scores.copy()
    motion = scores.copy()
    sal = scores.copy()
    faces: list[FaceBox] = []
    rep.start(n_est, "frames")
    prev: npt.NDArray[np.float32] | None = None
    prev_gray: npt.NDArray[np.float32] | None = None
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    xs = (np.arange(sw, dtype=np.float32) + 0.5) / sw
    with open_container(path) as container:
        stream = container.streams.video[0]
        decode_threads(stream, threads)
        # the signals come from small downscaled frames: H.264/HEVC deblocking is wasted work there
        stream.codec_context.options = {"skip_loop_filter": "all"}
        i = -1
        try:
            for frame, rgb in in_background(_decoder(container, stream, (sw, sh)), name="vertcut-analyse"):
                i += 1
                scores, luma, motion, sal = (_grow(a, i) for a in (scores, luma, motion, sal))
                cur = rgb
                gray = cur @ weights
                luma[i] = float(gray.mean())
                if prev is None or prev_gray is None:
                    scores[i] = 0.0
                    motion[i] = np.nan
                else:
                    scores[i] = float(np.abs(cur - prev).mean())
                    moving = np.abs(gray - prev_gray)
                    col = (moving * (moving > 12)).sum(axis=0)
                    total = float(col.sum())
                    motion[i] = float((col * xs).sum() / total) if total > sw * 4 else np.nan
                # saliency: where the strongest edges are (people and props are busier than sets)
                mag = np.abs(np.diff(gray, axis=1))[:-1, :] + np.abs(np.diff(gray, axis=0))[:, :-1]
                strong = (mag >= np.percentile(mag, 95)).sum(axis=0).astype(np.float32)
                sal[i] = float((strong * xs[:-1]).sum() / max(float(strong.sum()), 1e-6))
                if params.faces and (i % face_step == 0 or scores[i] > 2 * params.min_score):
                    g = frame.reformat(width=fw, height=fh, format="gray").to_ndarray()  # a frame a second
                    faces.extend(detect_faces(g, v.width / fw, i))
                prev, prev_gray = cur, gray
                if i % 25 == 0:
                    rep.advance(i, n_est, "frames")
        except av.error.FFmpegError as exc:
            raise InvalidMediaError(f"decoding failed at frame {i + 1}: {exc}", path=path) from exc
    n = i + 1
    if n < 1:
        raise InvalidMediaError("has no decodable video frames", path=path)
    return Signals(
        frame_count=n,
        frame_rate=rate,
        width=v.width,
        height=v.height,
        scores=scores[:n].copy(),
        luma=luma[:n].copy(),
        motion_x=motion[:n].copy(),
        saliency_x=sal[:n].copy(),
        faces=faces,
    )
