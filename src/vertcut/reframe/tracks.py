"""Face tracks: detections of one shot linked across the detector's samples.

The detector runs on a few frames a second, so a track is a list of sampled boxes. Linking is greedy
and one-to-one, sample by sample: each live track predicts its box at the new sample with a
constant-velocity model (the speed of its last two boxes, at most 1.5 face widths a sample), and
takes the detection overlapping that prediction best (IoU), or, for a face that moved further than
its own width, the nearest detection of a similar size near it (0.6 face widths; 1.6 for a track of
one sample, whose speed is not known yet). A track that finds
nothing for longer than ``gap`` seconds ends; a detection nobody takes starts a track.

Only a track that lasts (:func:`persistent`: at least ``min_seconds`` from its first sample to the
end of its last one, and two samples) may move the camera: a detection on texture in one sample, or a
flicker of two, never does.

A face the detector loses for a while (turned away, blurred by a move, occluded) comes back as a new
track; :func:`join_fragments` joins such pieces when the later one starts, within a few seconds of
the earlier one's end, at a similar size near where that one was last seen: the same person in the
same shot, as an editor would read it.

Between its samples a track's box is interpolated and outside them it holds; the planner lets the
motion signal stand in where a track has gone unseen for longer than the gap
(:func:`vertcut.reframe.plan.subject_edges`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Track", "iou", "join_fragments", "link_tracks", "persistent"]


@dataclass(frozen=True)
class Track:
    """One face over a shot: its sampled boxes (``FaceBox``-like: frame, x, y, w, h, score, frontal,
    mouth), in frame order."""

    faces: tuple[Any, ...]

    @property
    def first(self) -> int:
        return int(self.faces[0].frame)

    @property
    def last(self) -> int:
        return int(self.faces[-1].frame)

    @property
    def sample_step(self) -> float:
        """The median number of frames between its samples (1 for a single sample)."""
        if len(self.faces) < 2:
            return 1.0
        return float(np.median(np.diff([f.frame for f in self.faces])))

    def duration(self) -> float:
        """Frames from the first sample to the end of the last one."""
        return self.last - self.first + self.sample_step

    @property
    def weight(self) -> float:
        """Sum of box area times score: how much of the shot this face is, and how big."""
        return float(sum(f.w * f.h * f.score for f in self.faces))

    @property
    def size(self) -> float:
        return float(np.median([f.w for f in self.faces]))

    @property
    def frontal(self) -> float:
        return float(np.median([f.frontal for f in self.faces]))

    def edges(self, frames: npt.NDArray[np.int_]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Left and right box edges at ``frames``, interpolated between samples, held outside them."""
        fx = np.array([f.frame for f in self.faces], dtype=np.float64)
        left = np.interp(frames, fx, np.array([f.x for f in self.faces], dtype=np.float64))
        right = np.interp(frames, fx, np.array([f.x + f.w for f in self.faces], dtype=np.float64))
        return left, right

    def seen(self, frames: npt.NDArray[np.int_], gap: float) -> npt.NDArray[np.bool_]:
        """Frames no further than ``gap`` frames from one of the track's samples."""
        fx = np.array([f.frame for f in self.faces], dtype=np.float64)
        pos = np.searchsorted(fx, frames)
        before = np.abs(frames - fx[np.clip(pos - 1, 0, fx.size - 1)])
        after = np.abs(fx[np.clip(pos, 0, fx.size - 1)] - frames)
        out: npt.NDArray[np.bool_] = np.minimum(before, after) <= gap
        return out


def iou(a: Any, b: Any) -> float:
    """Intersection over union of two boxes with x, y, w, h."""
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float


def _predict(track: list[Any], frame: int) -> tuple[_Box, bool]:
    """The track's box at ``frame`` under constant velocity (from its last two samples), and whether
    it has a velocity at all (a single sample has none)."""
    last = track[-1]
    if len(track) < 2:
        return _Box(last.x, last.y, last.w, last.h), False
    prev = track[-2]
    dt = max(1, last.frame - prev.frame)
    limit = 1.5 * last.w  # a wrong link must not fling the prediction away
    vx = float(np.clip((last.x - prev.x) / dt, -limit / dt, limit / dt))
    vy = float(np.clip((last.y - prev.y) / dt, -limit / dt, limit / dt))
    ahead = frame - last.frame
    return _Box(last.x + vx * ahead, last.y + vy * ahead, last.w, last.h), True


def _affinity(pred: _Box, det: Any, moving: bool) -> float:
    """How well a detection continues a track (0 = not at all): above 1 for an overlap with the
    prediction, below 1 for a near detection of a similar size (within 0.6 face widths of a moving
    track's prediction, 1.6 of a track with one sample, whose speed is not known yet)."""
    overlap = iou(pred, det)
    if overlap >= 0.3:
        return 1.0 + overlap
    ratio = det.w / max(pred.w, 1e-6)
    if not 0.6 <= ratio <= 1.6:
        return 0.0
    dist = np.hypot((det.x + det.w / 2) - (pred.x + pred.w / 2), (det.y + det.h / 2) - (pred.y + pred.h / 2))
    near = float(dist / max(pred.w, det.w, 1e-6))
    gate = 0.6 if moving else 1.6
    return 0.5 * (gate - near) / gate if near < gate else 0.0


def link_tracks(faces: Sequence[Any], frame_rate: float, gap: float = 0.5) -> list[Track]:
    """Link the detections of one shot into tracks (see the module's docstring); ``gap`` in seconds."""
    gap_frames = gap * frame_rate
    by_frame: dict[int, list[Any]] = {}
    for f in faces:
        by_frame.setdefault(int(f.frame), []).append(f)
    live: list[list[Any]] = []
    done: list[list[Any]] = []
    for frame in sorted(by_frame):
        still: list[list[Any]] = []
        for t in live:
            (still if frame - t[-1].frame <= gap_frames else done).append(t)
        live = still
        dets = by_frame[frame]
        pairs = []
        for ti, t in enumerate(live):
            pred, moving = _predict(t, frame)
            for di, d in enumerate(dets):
                a = _affinity(pred, d, moving)
                if a > 0:
                    pairs.append((a, ti, di))
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _, ti, di in sorted(pairs, key=lambda p: -p[0]):
            if ti in used_t or di in used_d:
                continue
            live[ti].append(dets[di])
            used_t.add(ti)
            used_d.add(di)
        live += [[d] for di, d in enumerate(dets) if di not in used_d]
    return [Track(tuple(t)) for t in done + live]


def persistent(track: Track, frame_rate: float, min_seconds: float = 0.5, shot_frames: int | None = None) -> bool:
    """Whether ``track`` lasts long enough to move the camera: two samples at least, covering
    ``min_seconds`` (or, in a shot shorter than that, most of the shot)."""
    if len(track.faces) < 2:
        return False
    need = min_seconds * frame_rate
    if shot_frames is not None:
        need = min(need, 0.8 * shot_frames)
    return track.duration() >= need


REJOIN_SECONDS = 2.0  # the longest detector miss across which two pieces of one face are joined
REJOIN_DISTANCE = 1.0  # face widths between the end of one piece and the start of the next


def join_fragments(tracks: Sequence[Track], frame_rate: float, max_gap: float = REJOIN_SECONDS) -> list[Track]:
    """Join the pieces of one face broken by detector misses (see the module's docstring): a track
    that starts after another has ended, at most ``max_gap`` seconds later, with its first box of a
    similar size (0.6-1.6) and its centre within :data:`REJOIN_DISTANCE` face widths of the other's
    last box, continues it. Greedy, the nearest pair first; a piece has at most one successor and one
    predecessor. Two people who take turns in one spot, at one size, within ``max_gap`` are taken
    for one person: the limit of joining by place alone."""
    gap_frames = max_gap * frame_rate
    order = sorted(range(len(tracks)), key=lambda k: tracks[k].first)
    starts = [tracks[k].first for k in order]
    pairs: list[tuple[float, int, int]] = []
    for i, a in enumerate(tracks):
        end = a.faces[-1]
        # only the pieces starting within the gap after this one ends (sorted by start: no n^2 scan)
        lo = bisect.bisect_right(starts, int(end.frame))
        hi = bisect.bisect_right(starts, float(end.frame) + gap_frames)
        for j in order[lo:hi]:
            start = tracks[j].faces[0]
            if not 0.6 <= start.w / max(end.w, 1e-6) <= 1.6:
                continue
            dist = np.hypot(
                (start.x + start.w / 2) - (end.x + end.w / 2), (start.y + start.h / 2) - (end.y + end.h / 2)
            )
            near = float(dist / max(end.w, start.w, 1e-6))
            if near <= REJOIN_DISTANCE:
                pairs.append((near, i, j))
    nxt: dict[int, int] = {}
    prev: dict[int, int] = {}
    for _, i, j in sorted(pairs):
        if i in nxt or j in prev:
            continue
        nxt[i] = j
        prev[j] = i
    out: list[Track] = []
    for i in range(len(tracks)):
        if i in prev:
            continue
        faces = list(tracks[i].faces)
        k = i
        while k in nxt:
            k = nxt[k]
            faces += tracks[k].faces
        out.append(Track(tuple(faces)))
    return out
