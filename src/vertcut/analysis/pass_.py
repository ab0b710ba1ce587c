"""The decode pass: stream frames once, keep a few numbers per frame."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError
from ..media.probe import open_container, probe
from ..media.threads import cv_threads, decode_threads, in_background
from ..progress import Reporter

if TYPE_CHECKING:
    from . import AnalysisParams

__all__ = ["FaceBox", "Signals", "run_pass"]


@dataclass(frozen=True)
class FaceBox:
    """A detected face on frame ``frame``, in source (stored) pixels.

    ``frontal``: 1 facing the lens, towards 0 in profile (from the keypoints). ``mouth``: how much the
    mouth region changed over the next frame beyond what the eye region did (mean luma levels; NaN
    when unknown, e.g. on a shot's last frame), the cue for who is speaking.
    """

    frame: int
    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    frontal: float = 1.0
    mouth: float = float("nan")

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
    audio_rms: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    detect_seconds: float = 0.0  # wall time spent in the face detector
    samples: int = 0  # frames the face detector ran on
    tiled_samples: int = 0  # of those, the ones also seen in tiles


PATCH = (16, 8)  # the mouth and eye regions are compared at this size


PROBE_EVERY = 5  # in a shot, every this many samples the detector also looks at the picture in tiles


def detect_faces(
    rgb: npt.NDArray[Any], sx: float, sy: float, frame: int, tiles: bool = False
) -> list[tuple[FaceBox, Any]]:
    """Faces in a small RGB picture of frame ``frame`` (BlazeFace full-range; with ``tiles``, also in
    square tiles, see :meth:`~vertcut.analysis.blazeface.FaceDetector.detect_tiles`), boxes scaled by
    ``sx``, ``sy`` back to source pixels; each with its mouth and eye regions (x0, y0, x1, y1 in
    source pixels) for :func:`_mouth_motion`."""
    from .blazeface import borrowed, merge

    with borrowed() as det:
        found = det.detect(rgb)
        if tiles:
            found = merge(found, det.detect_tiles(rgb))
    return [_face_box(f, sx, sy, frame) for f in found]


def _face_box(f: Any, sx: float, sy: float, frame: int) -> tuple[FaceBox, Any]:
    from .blazeface import KP_LEFT_EYE, KP_MOUTH, KP_RIGHT_EYE

    box = FaceBox(frame, f.x * sx, f.y * sy, f.w * sx, f.h * sy, f.score, f.frontal)
    hw, hh = 0.25 * box.w, 0.12 * box.h
    mx, my = f.keypoints[KP_MOUTH]
    ex = (f.keypoints[KP_RIGHT_EYE][0] + f.keypoints[KP_LEFT_EYE][0]) / 2
    ey = (f.keypoints[KP_RIGHT_EYE][1] + f.keypoints[KP_LEFT_EYE][1]) / 2
    regions = tuple((cx * sx - hw, cy * sy - hh, cx * sx + hw, cy * sy + hh) for cx, cy in ((mx, my), (ex, ey)))
    return box, regions


_PLANAR_8BIT = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "gray"})


def _luma(frame: Any) -> npt.NDArray[np.uint8]:
    """The frame's luma plane (a view of an 8-bit planar frame; converted otherwise)."""
    if frame.format.name in _PLANAR_8BIT:
        p = frame.planes[0]
        return np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]
    out: npt.NDArray[np.uint8] = frame.to_ndarray(format="gray")
    return out


def _patch(luma: npt.NDArray[np.uint8], region: tuple[float, float, float, float]) -> npt.NDArray[np.float32] | None:
    import cv2

    h, w = luma.shape
    x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
    x1, y1 = min(w, int(np.ceil(region[2]))), min(h, int(np.ceil(region[3])))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return np.asarray(
        cv2.resize(np.ascontiguousarray(luma[y0:y1, x0:x1]), PATCH, interpolation=cv2.INTER_AREA), np.float32
    )


def _mouth_motion(before: tuple[Any, ...], after: tuple[Any, ...]) -> float:
    """Change of the mouth patch minus change of the eye patch (head motion and noise move both)."""
    if any(p is None for p in (*before, *after)):
        return float("nan")
    mouth = float(np.abs(after[0] - before[0]).mean())
    eyes = float(np.abs(after[1] - before[1]).mean())
    return max(0.0, mouth - eyes)


def _audio_bins(frame: Any, origin: float, rate: float) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]] | None:
    """Video-frame bins and squared sample values (mean over channels) of one decoded audio frame."""
    if frame.pts is None or frame.samples == 0:
        return None
    data = frame.to_ndarray()
    if data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        data = data.astype(np.float64) / max(abs(info.min), info.max)
    else:
        data = data.astype(np.float64)
    channels = len(frame.layout.channels)
    if data.ndim == 2 and data.shape[0] == 1 and channels > 1:  # packed: one row of interleaved samples
        data = data.reshape(-1, channels).T
    sq = (data.reshape(-1, frame.samples) ** 2).mean(axis=0) if data.size else np.zeros(0)
    t0 = float(frame.pts * frame.time_base) - origin
    idx = np.floor((t0 + np.arange(frame.samples) / frame.sample_rate) * rate).astype(np.intp)
    ok = idx >= 0
    return idx[ok], sq[ok]


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


HALF_LUMA = 2  # mouth motion is measured on the luma plane subsampled by this each way


def _half_luma(frame: Any) -> npt.NDArray[np.uint8]:
    y = _luma(frame)
    return np.ascontiguousarray(y[::HALF_LUMA, ::HALF_LUMA])


class _FaceWorker:
    """Runs the face detector in a thread of its own, beside the decode and the per-frame signals
    (OpenCV releases the GIL while the network runs). A job is one sampled frame: its small RGB
    picture, and its luma and the next frame's (subsampled) for the mouth motion. The queue is
    bounded, so a slow detector holds the pass back instead of piling up frames."""

    def __init__(self, sx: float, sy: float, tiles: bool, detector: str = "full") -> None:
        import queue
        import time

        self.sx, self.sy, self.tiles = sx, sy, tiles
        self.detector = detector
        self.tiled = 0  # samples also seen in tiles
        self._in_shot, self._wide = 0, False
        self.faces: list[FaceBox] = []
        self.seconds = 0.0
        self.samples = 0
        self._error: BaseException | None = None
        self._q: queue.Queue[Any] = queue.Queue(maxsize=4)
        self._clock = time.perf_counter

        def work() -> None:
            from .blazeface import borrowed

            try:
                # this pass's own networks: passes may run side by side
                tiles = borrowed("short") if self.detector == "short" else contextlib.nullcontext(None)
                with borrowed() as det, tiles as tiler:
                    while True:
                        job = self._q.get()
                        if job is None:
                            return
                        if self._error is None:
                            self._run(det, tiler, *job)
            except BaseException as exc:  # handed to the pass in finish()
                self._error = exc
                while self._q.get() is not None:  # let the pass finish queueing
                    pass

        self._thread = threading.Thread(target=work, daemon=True, name="vertcut-faces")
        self._thread.start()

    def _run(
        self,
        det: Any,
        tiler: Any,
        frame: int,
        rgb: npt.NDArray[Any],
        cut: bool,
        y0: npt.NDArray[np.uint8],
        y1: npt.NDArray[np.uint8] | None,
    ) -> None:
        from .blazeface import merge

        t0 = self._clock()
        if cut:
            self._in_shot, self._wide = 0, False
        found = det.detect(rgb)
        # full-range: a shot's first sample and every PROBE_EVERY-th look in tiles too; once the tiles
        # find a face the whole picture misses (a wide shot of small faces), every sample does, until
        # the next cut. short-range: every sample looks in tiles (close-ups, seen large)
        if self.detector == "short":
            found = merge(found, tiler.detect_tiles(rgb))
            self.tiled += 1
        elif self.tiles and (self._wide or self._in_shot % PROBE_EVERY == 0):
            tiled = det.detect_tiles(rgb)
            both = merge(found, tiled)
            self._wide = self._wide or len(both) > len(found)
            found = both
            self.tiled += 1
        self._in_shot += 1
        k = float(HALF_LUMA)
        for f in found:
            box, regions = _face_box(f, self.sx, self.sy, frame)
            mouth = float("nan")
            if y1 is not None:
                scaled = tuple(tuple(v / k for v in r) for r in regions)
                before = tuple(_patch(y0, r) for r in scaled)
                after = tuple(_patch(y1, r) for r in scaled)
                mouth = _mouth_motion(before, after)
            self.faces.append(replace(box, mouth=mouth))
        self.seconds += self._clock() - t0
        self.samples += 1

    def submit(
        self,
        frame: int,
        rgb: npt.NDArray[Any],
        cut: bool,
        y0: npt.NDArray[np.uint8],
        y1: npt.NDArray[np.uint8] | None,
    ) -> None:
        if self._error is None:
            self._q.put((frame, rgb, cut, y0, y1))

    def finish(self) -> list[FaceBox]:
        self._q.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return sorted(self.faces, key=lambda f: (f.frame, f.x))

    def abandon(self) -> None:
        """Stop after the jobs queued (the pass failed); errors are dropped."""
        self._error = self._error or RuntimeError("abandoned")
        self._q.put(None)
        self._thread.join()


class _AudioEnergy:
    """Mean square of the audio per video frame, summed as the audio frames arrive."""

    def __init__(self, origin: float, rate: float) -> None:
        self.origin, self.rate = origin, rate
        self.total = np.zeros(0, np.float64)
        self.count = np.zeros(0, np.float64)

    def add(self, frame: Any) -> None:
        got = _audio_bins(frame, self.origin, self.rate)
        if got is None or got[0].size == 0:
            return
        idx, sq = got
        n = int(idx.max()) + 1
        if n > self.total.shape[0]:
            grow = max(n, self.total.shape[0] * 2)
            self.total = np.concatenate([self.total, np.zeros(grow - self.total.shape[0])])
            self.count = np.concatenate([self.count, np.zeros(grow - self.count.shape[0])])
        self.total[:n] += np.bincount(idx, weights=sq, minlength=n)
        self.count[:n] += np.bincount(idx, minlength=n)

    def rms(self, frames: int) -> npt.NDArray[np.float32]:
        """RMS per video frame (NaN where no audio fell)."""
        total = np.zeros(frames)
        count = np.zeros(frames)
        m = min(frames, self.total.shape[0])
        total[:m], count[:m] = self.total[:m], self.count[:m]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.sqrt(total / count)
        return out.astype(np.float32)


def _decoder(container: Any, stream: Any, small: tuple[int, int], audio: Any, energy: _AudioEnergy | None) -> Any:
    """The producer of (frame, small RGB array) pairs for :func:`vertcut.media.threads.in_background`;
    the audio stream, if any, is decoded from the same demux into ``energy``."""

    def produce(put: Any, stop: threading.Event) -> None:
        streams = [stream] if audio is None or energy is None else [stream, audio]
        for packet in container.demux(*streams):
            if stop.is_set():
                break
            if packet.stream is stream:
                for frame in packet.decode():
                    put((frame, _small_rgb(frame, small)))
            elif energy is not None:
                try:
                    for frame in packet.decode():
                        energy.add(frame)
                except av.error.FFmpegError:
                    pass  # a broken audio packet costs a few milliseconds of energy, not the analysis

    return produce


# OpenCV's threads in the pass: one. The face network runs in a thread of its own beside the decode
# and the per-frame signals, so its own worker threads only add overhead (a 192 px forward: 8.9 ms
# of CPU on one thread, 13.7 ms on two, for 7.1 ms less wall; measured on 2 cores)
CV_THREADS = 1


def run_pass(path: Path, params: AnalysisParams, rep: Reporter, threads: int | None = None) -> Signals:
    with cv_threads(CV_THREADS):
        return _run_pass(path, params, rep, threads)


def _run_pass(path: Path, params: AnalysisParams, rep: Reporter, threads: int | None) -> Signals:
    info = probe(path)
    v = info.require_video()
    if v.frame_count < 1:
        raise InvalidMediaError("has no decodable video frames", path=path)
    rate = v.frame_rate
    sw = max(16, params.width)
    sh = max(9, round(sw * v.height / v.width / 2) * 2)
    # the face detector gets the picture at its display aspect, 192 pixels on the short side (the
    # model's input side, for the tiles; the whole picture is fitted into one input from that)
    display_w = float(v.width * v.sar)
    side = 192
    aspect = display_w / v.height
    fw, fh = (max(side, round(side * aspect)), side) if aspect >= 1 else (side, max(side, round(side / aspect)))
    fsx, fsy = v.width / fw, v.height / fh
    tiles = max(aspect, 1 / aspect) >= 1.25
    face_step = max(1, round(params.face_every * rate))
    n_est = v.frame_count
    scores = np.full(n_est + 1, np.nan, dtype=np.float32)
    luma = scores.copy()
    motion = scores.copy()
    sal = scores.copy()
    worker = _FaceWorker(fsx, fsy, tiles, params.detector) if params.faces else None
    waiting: tuple[int, npt.NDArray[Any], bool, npt.NDArray[np.uint8]] | None = None  # a sample awaiting its next frame
    rep.start(n_est, "frames")
    prev: npt.NDArray[np.float32] | None = None
    prev_gray: npt.NDArray[np.float32] | None = None
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    xs = (np.arange(sw, dtype=np.float32) + 0.5) / sw
    energy: _AudioEnergy | None = None
    with open_container(path) as container:
        stream = container.streams.video[0]
        decode_threads(stream, threads)
        # the signals come from small downscaled frames: H.264/HEVC deblocking is wasted work there
        stream.codec_context.options = {"skip_loop_filter": "all"}
        audio = container.streams.audio[0] if container.streams.audio and params.faces else None
        if audio is not None:
            start, base = stream.start_time, stream.time_base
            origin = float(start * base) if start is not None and base is not None else 0.0
            energy = _AudioEnergy(origin, float(rate))
        i = -1
        try:
            for frame, rgb in in_background(
                _decoder(container, stream, (sw, sh), audio, energy), name="vertcut-analyse"
            ):
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
                cut_here = bool(scores[i] > 2 * params.min_score)
                if worker is not None:
                    half = None
                    if waiting is not None:
                        # the last sample goes to the detector with this frame's luma (not across a cut)
                        half = None if cut_here else _half_luma(frame)
                        worker.submit(*waiting, half)
                        waiting = None
                    if i % face_step == 0 or cut_here:
                        waiting = (
                            i,
                            _small_rgb(frame, (fw, fh)),
                            i == 0 or cut_here,
                            half if half is not None else _half_luma(frame),
                        )
                prev, prev_gray = cur, gray
                if i % 25 == 0:
                    rep.advance(i, n_est, "frames")
            if worker is not None and waiting is not None:
                worker.submit(*waiting, None)
        except av.error.FFmpegError as exc:
            if worker is not None:
                worker.abandon()
            raise InvalidMediaError(f"decoding failed at frame {i + 1}: {exc}", path=path) from exc
        except BaseException:
            if worker is not None:
                worker.abandon()
            raise
    faces = worker.finish() if worker is not None else []
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
        audio_rms=energy.rms(n) if energy is not None else np.full(n, np.nan, np.float32),
        detect_seconds=worker.seconds if worker is not None else 0.0,
        samples=worker.samples if worker is not None else 0,
        tiled_samples=worker.tiled if worker is not None else 0,
    )
