"""Faces with MediaPipe's BlazeFace full-range model, run by OpenCV's DNN module, decoded in NumPy.

The model file ships inside vertcut (``vertcut/data/models``, Apache-2.0, see the NOTICE there) and is
checked against its sha256 before it is loaded; nothing is downloaded.

BlazeFace is a single-shot detector: for each anchor of a fixed grid the network gives a face score
(a logit) and 16 regression values, the box centre offset and size and six keypoints (the eyes, the nose
tip, the mouth centre and the two ear tragions), in input pixels relative to the anchor's centre. The
full-range (dense) model has one anchor per cell of a stride-4 grid (2304 on its 192x192 input) and
finds faces from extreme close-ups to about five metres away.

Decoding: anchor centres from the SSD grid, ``centre = anchor + offset``, sigmoid of the clipped logits,
and a weighted non-maximum suppression (overlapping candidates are averaged, weighted by score, as
MediaPipe does), which steadies the boxes from sample to sample.

:meth:`FaceDetector.detect` letterboxes the picture into the square input (a 16:9 frame becomes 192x108 between black bands).
The network takes other shapes too, but its scores drop on them (measured: the astronaut's logit falls
from about +5 to -0.2 on a 192x112 input), so the square it was trained on is kept. That input sees a face of 1/10 of a 16:9 frame's height as
about 11 pixels, near the model's limit; :meth:`FaceDetector.detect_tiles` looks at the picture in
two (scope: three) square tiles, twice the pixels per face, for wide shots.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import UnsupportedError

__all__ = ["MODEL", "Face", "FaceDetector", "anchor_centres", "borrowed", "decode", "detector", "merge", "weighted_nms"]

RAW_SCORE_CLIP = 100.0  # logits are clipped before the sigmoid, as MediaPipe's decoder does
NUM_KEYPOINTS = 6
KP_RIGHT_EYE, KP_LEFT_EYE, KP_NOSE, KP_MOUTH, KP_RIGHT_EAR, KP_LEFT_EAR = range(NUM_KEYPOINTS)


@dataclass(frozen=True)
class ModelSpec:
    """A BlazeFace variant: its file, checksum, input size and SSD anchor layout."""

    name: str
    file: str
    sha256: str
    size: int  # the square input it was trained on, pixels
    strides: tuple[int, ...]  # one per SSD layer
    anchors_per_layer: int  # anchors each layer puts in each cell of its grid


MODEL = ModelSpec(
    "BlazeFace full-range (dense)",
    "face_detection_full_range.tflite",
    "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    192,
    (4,),
    1,
)
# faces within about 2 m (MediaPipe's "short-range"): 128 px input, a quarter of the full-range
# model's cost. Seen in tiles it finds close-ups the full-range model misses (see DETECTORS)
SHORT_MODEL = ModelSpec(
    "BlazeFace short-range",
    "face_detection_short_range.tflite",
    "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    128,
    (8, 16, 16, 16),
    2,
)
MODELS = {"full": MODEL, "short": SHORT_MODEL}


@dataclass(frozen=True)
class Face:
    """A detection in the pixels of the image given to :meth:`FaceDetector.detect`."""

    x: float
    y: float
    w: float
    h: float
    score: float
    keypoints: tuple[tuple[float, float], ...]  # NUM_KEYPOINTS (x, y) points

    @property
    def frontal(self) -> float:
        """1 for a face looking into the lens, towards 0 in profile: how evenly the nose tip sits
        between the two ear tragions (horizontally)."""
        nose = self.keypoints[KP_NOSE][0]
        a = abs(nose - self.keypoints[KP_RIGHT_EAR][0])
        b = abs(nose - self.keypoints[KP_LEFT_EAR][0])
        return float(min(a, b) / max(a, b, 1e-6))


def anchor_centres(width: int, height: int, strides: tuple[int, ...], per_layer: int) -> npt.NDArray[np.float32]:
    """Anchor centres ``(n, 2)`` (x, y in input pixels) in the order the network emits them.

    Consecutive layers with the same stride share one grid of ``ceil(side / stride)`` cells each way:
    each cell carries ``per_layer`` anchors per such layer, cell by cell in row-major order. BlazeFace's
    anchors all have unit size (a "fixed anchor size"), so the centres are all the decoder needs.
    """
    out: list[npt.NDArray[np.float32]] = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cols, rows = -(-width // strides[i]), -(-height // strides[i])
        xs = (np.arange(cols, dtype=np.float32) + 0.5) * (width / cols)
        ys = (np.arange(rows, dtype=np.float32) + 0.5) * (height / rows)
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
        out.append(np.repeat(grid, per_layer * (j - i), axis=0))
        i = j
    return np.concatenate(out, axis=0).astype(np.float32)


def decode(
    raw_boxes: npt.NDArray[np.float32],
    raw_scores: npt.NDArray[np.float32],
    anchors: npt.NDArray[np.float32],
    min_score: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Candidates above ``min_score``: boxes ``(k, 4)`` as x0, y0, x1, y1, keypoints ``(k, 6, 2)`` (both
    in input pixels) and scores ``(k,)``, from the raw outputs (``(n, 16)`` and ``(n,)``)."""
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -RAW_SCORE_CLIP, RAW_SCORE_CLIP)
    scores = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    keep = np.flatnonzero(scores >= min_score)
    raw = raw_boxes.reshape(-1, 4 + 2 * NUM_KEYPOINTS)[keep].astype(np.float32)
    centre = raw[:, 0:2] + anchors[keep]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    kps = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[keep][:, None, :]
    return boxes, kps, scores[keep]


def _iou(box: npt.NDArray[np.float32], others: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    out: npt.NDArray[np.float32] = inter / np.maximum(area + areas - inter, 1e-9)
    return out


def weighted_nms(
    boxes: npt.NDArray[np.float32],
    keypoints: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    iou: float = 0.3,
) -> list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float]]:
    """Merge overlapping candidates: the best remaining one and every candidate overlapping it by more
    than ``iou`` become one detection, their boxes and keypoints averaged with the scores as weights,
    with the best one's score. Returns (box, keypoints, score), best first."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    alive = np.ones(scores.shape[0], dtype=bool)
    out = []
    for i in range(scores.shape[0]):
        if not alive[i]:
            continue
        idx = np.flatnonzero(alive)
        group = idx[_iou(boxes[i], boxes[idx]) > iou]
        group = group if group.size else np.array([i])
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(axis=0) / w.sum()
        kps = (keypoints[group] * w[:, :, None]).sum(axis=0) / w.sum()
        out.append((box.astype(np.float32), kps.astype(np.float32), float(scores[i])))
        alive[group] = False
        alive[i] = False
    return out


class FaceDetector:
    """The loaded model. :meth:`detect` takes an RGB ``uint8`` image of any size."""

    def __init__(self, min_score: float = 0.6, nms_iou: float = 0.3, spec: ModelSpec = MODEL) -> None:
        import cv2

        self.spec = spec
        self.min_score = min_score
        self.nms_iou = nms_iou
        data = resources.files("vertcut").joinpath("data", "models", self.spec.file).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.spec.sha256:
            raise UnsupportedError(
                f"face model {self.spec.file} has sha256 {digest[:12]}..., expected {self.spec.sha256[:12]}..."
            )
        buf = np.frombuffer(data, dtype=np.uint8)
        # OpenCV 5.0 needs its classic engine here, or the classifier output is lost; 5.1 and 4.x
        # have no such switch and give both outputs
        classic = getattr(cv2.dnn, "ENGINE_CLASSIC", None)
        try:
            self._net: Any = (
                cv2.dnn.readNetFromTFLite(buf, engine=classic)
                if classic is not None
                else cv2.dnn.readNetFromTFLite(buf)
            )
        except cv2.error as exc:
            raise UnsupportedError(f"OpenCV {cv2.__version__} cannot load {self.spec.file}: {exc}") from exc
        self._outputs = list(self._net.getUnconnectedOutLayersNames())
        size = self.spec.size
        self.anchors = anchor_centres(size, size, self.spec.strides, self.spec.anchors_per_layer)
        # a dry run checks both outputs are there, with one row per anchor
        boxes, scores = self._forward(np.zeros((1, 3, size, size), np.float32))
        if boxes.shape != (self.anchors.shape[0], 4 + 2 * NUM_KEYPOINTS) or scores.shape[0] != self.anchors.shape[0]:
            raise UnsupportedError(
                f"OpenCV {cv2.__version__} runs {self.spec.file} with outputs {boxes.shape} and {scores.shape}, "
                f"expected {self.anchors.shape[0]} anchors"
            )

    def _forward(self, blob: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        self._net.setInput(blob)
        outs = [np.asarray(o, np.float32) for o in self._net.forward(self._outputs)]
        if len(outs) != 2:
            raise UnsupportedError(f"face model {self.spec.file} gave {len(outs)} outputs, expected 2")
        outs.sort(key=lambda o: o.shape[-1])  # scores (one value an anchor) first, then the regressors
        scores, boxes = (o.reshape(-1, o.shape[-1]) for o in outs)
        return boxes, scores.reshape(-1)

    def detect(self, rgb: npt.NDArray[Any]) -> list[Face]:
        """Faces in ``rgb`` (letterboxed into the model's square input), best first, in ``rgb``'s pixels."""
        import cv2

        s = self.spec.size
        h, w = rgb.shape[:2]
        scale = s / max(h, w)
        nw, nh = min(s, max(1, round(w * scale))), min(s, max(1, round(h * scale)))
        small = rgb if (nw, nh) == (w, h) else cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        px, py = (s - nw) // 2, (s - nh) // 2
        canvas = np.zeros((s, s, 3), np.float32)
        canvas[py : py + nh, px : px + nw] = small
        blob = (canvas * np.float32(1 / 127.5) - np.float32(1.0)).transpose(2, 0, 1)[None]
        boxes, kps, scores = decode(*self._forward(np.ascontiguousarray(blob)), self.anchors, self.min_score)
        if scores.size == 0:
            return []
        sx, sy = w / nw, h / nh
        faces = []
        for box, pts, score in weighted_nms(boxes, kps, scores, self.nms_iou):
            x0, y0 = max(0.0, (box[0] - px) * sx), max(0.0, (box[1] - py) * sy)
            x1, y1 = min(float(w), (box[2] - px) * sx), min(float(h), (box[3] - py) * sy)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            points = tuple((float((p[0] - px) * sx), float((p[1] - py) * sy)) for p in pts)
            faces.append(Face(float(x0), float(y0), float(x1 - x0), float(y1 - y0), score, points))
        return faces

    def detect_tiles(self, rgb: npt.NDArray[Any]) -> list[Face]:
        """Faces in overlapping square tiles across the long side of ``rgb`` (each tile resized to the
        model's input): a 16:9 picture in two tiles, a scope one in three, so a face is seen at about
        twice the size :meth:`detect` sees it. Detections in the overlaps are merged."""
        h, w = rgb.shape[:2]
        side = min(h, w)
        n = -(-max(h, w) // side)
        if n < 2:
            return self.detect(rgb)
        found: list[Face] = []
        for k in range(n):
            off = round(k * (max(h, w) - side) / (n - 1))
            tile = rgb[:, off : off + side] if w >= h else rgb[off : off + side]
            dx, dy = (off, 0) if w >= h else (0, off)
            for f in self.detect(np.ascontiguousarray(tile)):
                pts = tuple((x + dx, y + dy) for x, y in f.keypoints)
                found.append(Face(f.x + dx, f.y + dy, f.w, f.h, f.score, pts))
        return merge(found, [])


def _face_iou(a: Face, b: Face) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def merge(first: list[Face], more: list[Face], iou: float = 0.3) -> list[Face]:
    """``first`` and those of ``more`` (and of ``first``) that overlap no better-scored face kept
    before them by more than ``iou``, best first."""
    kept: list[Face] = []
    for f in sorted(first + more, key=lambda f: -f.score):
        if all(_face_iou(f, k) <= iou for k in kept):
            kept.append(f)
    return kept


@functools.cache
def detector(kind: str = "full") -> FaceDetector:
    """A loaded detector of ``kind`` (:data:`MODELS`) for this process (loaded and checksummed once).
    An OpenCV network must not run in two threads at once: code that may run beside other passes
    uses :func:`borrowed`."""
    return FaceDetector(spec=MODELS[kind])


_POOL: dict[str, list[FaceDetector]] = {}
_POOL_LOCK = threading.Lock()


@contextmanager
def borrowed(kind: str = "full") -> Iterator[FaceDetector]:
    """A detector of ``kind`` no other thread uses meanwhile (from a pool, loaded when it is empty)."""
    with _POOL_LOCK:
        free = _POOL.setdefault(kind, [])
        det = free.pop() if free else None
    if det is None:
        det = FaceDetector(spec=MODELS[kind])
    try:
        yield det
    finally:
        with _POOL_LOCK:
            _POOL[kind].append(det)
