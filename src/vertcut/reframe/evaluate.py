"""Measuring a camera path against ground truth (the sample media's ``ground_truth.json``).

Figures (issue targets in brackets):

* ``subject_inside``: share of frames where the shot's subject has a face in
  the truth and that face is wholly inside the crop [>= 97 %];
* ``partial_faces``: share of frames where any true face is cut by the crop
  edge [<= 3 %];
* ``reversals_per_min``: direction changes of the camera inside shots, per
  minute [<= 10];
* ``dialogue_static``: share of frames in dialogue shots where the camera does
  not move [>= 60 %];
* ``max_jump``: largest move between two frames of one shot, in crop widths
  [<= 0.05];
* ``vs_centre``: on shots whose subject is off centre, ``subject_inside``
  minus that of a plain centre crop, in points [>= 30].

Shots the planner renders as ``pad`` (the whole frame over a blurred copy)
show every face, so they count as inside and never as cut.

:func:`score_path` measures any crop path (vertcut's, a centre crop's) against faces sampled on
some frames: the independent judge's (:mod:`vertcut.reframe.judge`) or hand labels
(:func:`labelled_faces`). Its figures, with the targets of issue 15 in :data:`REAL_TARGETS`:

* ``some_face_in`` / ``largest_face_in``: share of face frames (sampled frames with a face) where
  some face / the largest face is at least 95 % inside the crop [some >= 97 %];
* ``partial_cut``: share of face frames where a face is 5-95 % inside [<= 3 %];
* ``reversals_per_min``, ``static`` (share of in-shot frame steps without a move), ``max_jump``
  (largest in-shot step, crop widths per frame);
* ``vs_centre``: on shots where the largest face leaves a centre crop at some sample,
  ``some_face_in`` minus the centre crop's, in points [>= 10];
* ``moves``, ``short_detection_moves``, ``moves_without_face``: camera moves (runs of in-shot
  steps), those whose only faces brought further into the crop are on tracks lasting under 0.5 s
  [0], and those that bring no face further in.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .judge import Face
from .plan import CameraPath

__all__ = ["REAL_TARGETS", "TARGETS", "evaluate", "labelled_faces", "measure", "own_faces", "score_path"]

TARGETS = {
    "subject_inside": (">=", 0.97),
    "partial_faces": ("<=", 0.03),
    "reversals_per_min": ("<=", 10.0),
    "dialogue_static": (">=", 0.60),
    "max_jump": ("<=", 0.05),
    "vs_centre": (">=", 30.0),
}


def _inside(x: float, cw: float, face: dict[str, Any]) -> bool:
    return bool(x <= face["x"] and face["x"] + face["w"] <= x + cw)


def _cut(x: float, cw: float, face: dict[str, Any]) -> bool:
    left, right = face["x"], face["x"] + face["w"]
    overlap = min(right, x + cw) - max(left, x)
    return bool(0 < overlap < face["w"])


def evaluate(path: CameraPath, truth: dict[str, Any]) -> dict[str, Any]:
    """Every figure above for ``path`` on the source described by ``truth``."""
    xs = np.asarray(path.x, dtype=np.float64)
    cw = float(path.crop_width)
    n = len(xs)
    faces: list[list[dict[str, Any]]] = truth["faces"]
    centre = (path.source_width - cw) / 2
    pad = np.zeros(n, dtype=bool)
    for s in path.shots:
        if s.mode == "pad":
            pad[s.start : s.stop] = True
    with_subject = inside = centre_inside = 0
    off_total = off_ours = off_centre = 0
    partial = 0
    reversals = 0
    dialogue = dialogue_static = 0
    max_jump = 0.0
    for shot in truth["shots"]:
        a, b = shot["start"], min(shot["end"], n)
        dx = np.diff(xs[a:b])
        for fade in truth.get("fades", []):
            # a move hidden in the black middle of a fade through black is invisible
            mid = fade["mid"]
            for j in range(max(a, mid - 2), min(b - 1, mid + 2)):
                dx[j - a] = 0.0
        if dx.size:
            max_jump = max(max_jump, float(np.abs(dx).max()) / cw)
            signs = np.sign(dx[np.abs(dx) > 0.5])
            reversals += int(np.sum(signs[1:] != signs[:-1]))
        if shot["kind"] == "dialogue":
            dialogue += max(0, b - a - 1)
            dialogue_static += int(np.sum(np.abs(dx) <= 0.5))
        subject = shot.get("subject")
        off_centre_shot = False
        if subject:
            boxes = [next((f for f in faces[i] if f["id"] == subject), None) for i in range(a, b)]
            off_centre_shot = any(f is not None and not _inside(centre, cw, f) for f in boxes)
        for i in range(a, b):
            if any(_cut(xs[i], cw, f) for f in faces[i]) and not pad[i]:
                partial += 1
            if not subject:
                continue
            f = next((f for f in faces[i] if f["id"] == subject), None)
            if f is None:
                continue
            ok = bool(pad[i] or _inside(xs[i], cw, f))
            c_ok = _inside(centre, cw, f)
            with_subject += 1
            inside += ok
            centre_inside += c_ok
            if off_centre_shot:
                off_total += 1
                off_ours += ok
                off_centre += c_ok
    minutes = n / float(path.frame_rate) / 60
    figures: dict[str, Any] = {
        "subject_inside": inside / max(1, with_subject),
        "partial_faces": partial / max(1, n),
        "reversals_per_min": reversals / max(minutes, 1e-9),
        "dialogue_static": dialogue_static / max(1, dialogue),
        "max_jump": max_jump,
        "vs_centre": 100 * (off_ours - off_centre) / max(1, off_total),
        "centre_subject_inside": centre_inside / max(1, with_subject),
    }
    figures["passed"] = {k: (figures[k] >= t if op == ">=" else figures[k] <= t) for k, (op, t) in TARGETS.items()}
    return figures


REAL_TARGETS = {
    "some_face_in": (">=", 0.97),
    "partial_cut": ("<=", 0.03),
    "short_detection_moves": ("<=", 0),
    "vs_centre": (">=", 10.0),
}

INSIDE = 0.95  # a face at least this much inside the crop is in
CUT = 0.05  # a face more than this much inside but not in is cut
SHORT_S = 0.5  # a track shorter than this may not move the camera


def _fraction_inside(x: float, cw: float, f: Face) -> float:
    if f.w <= 0:
        return 0.0
    overlap = min(f.x + f.w, x + cw) - max(f.x, x)
    return float(min(1.0, max(0.0, overlap / f.w)))


def score_path(
    xs: Sequence[int] | np.ndarray,
    crop_width: int,
    source_width: int,
    frame_rate: float,
    shots: Sequence[tuple[int, int]],
    frames: Sequence[int],
    faces: Sequence[Face],
    *,
    sample_every: int = 1,
    pad: Sequence[tuple[int, int]] = (),
    own_faces: Sequence[Face] | None = None,
) -> dict[str, Any]:
    """The figures above for the crop path ``xs`` (left edges, one a frame) against ``faces`` seen
    on the sampled ``frames``; ``shots`` are ``(start, stop)`` frame ranges, ``pad`` the ranges the
    path shows whole (every face in, none cut). Faces carry track ids (for the short-track rule);
    a sample stands for ``sample_every`` frames. ``own_faces``: the planner's own detections, with
    track ids; the figures then add ``own_short_moves``, the moves serving only its tracks that
    last under 0.5 s (the issue's rule read directly, not through the judge)."""
    x = np.asarray(xs, dtype=np.float64)
    n = x.shape[0]
    cw = float(crop_width)
    centre = (source_width - cw) / 2
    padded = np.zeros(n + 1, dtype=bool)
    for a, b in pad:
        padded[max(0, a) : max(0, min(b, n))] = True
    by_frame: dict[int, list[Face]] = {int(f): [] for f in frames}
    for face in faces:
        by_frame.setdefault(face.frame, []).append(face)
    shot_ranges = [(max(0, a), min(b, n)) for a, b in shots if min(b, n) > max(0, a)]
    # shots where the largest face leaves a centre crop at some sample: the subject is off centre
    off_shots: set[int] = set()
    shot_index = np.zeros(n + 1, dtype=np.int64) - 1
    for k, (a, b) in enumerate(shot_ranges):
        shot_index[a:b] = k
    for f, found in by_frame.items():
        if found and 0 <= f < n and _fraction_inside(centre, cw, max(found, key=lambda g: g.area)) < INSIDE:
            off_shots.add(int(shot_index[f]))
    face_frames = some_in = largest_in = partial = 0
    off_frames = off_ours = off_centre = 0
    for f in sorted(by_frame):
        found = by_frame[f]
        if not found or not 0 <= f < n:
            continue
        face_frames += 1
        if padded[f]:
            ok_some = ok_largest = True
            cut = False
        else:
            fr = [_fraction_inside(x[f], cw, g) for g in found]
            ok_some = max(fr) >= INSIDE
            ok_largest = _fraction_inside(x[f], cw, max(found, key=lambda g: g.area)) >= INSIDE
            cut = any(CUT < v < INSIDE for v in fr)
        some_in += ok_some
        largest_in += ok_largest
        partial += cut
        if int(shot_index[f]) in off_shots:
            off_frames += 1
            off_ours += ok_some
            off_centre += max(_fraction_inside(centre, cw, g) for g in found) >= INSIDE
    # the path itself, inside shots
    steps = static = reversals = 0
    max_jump = 0.0
    moves: list[tuple[int, int]] = []
    for a, b in shot_ranges:
        dx = np.diff(x[a:b])
        dx[padded[a : b - 1] | padded[a + 1 : b]] = 0.0  # a padded frame shows no crop to move
        if dx.size == 0:
            continue
        moving = np.abs(dx) > 0.5
        steps += dx.size
        static += int(np.sum(~moving))
        max_jump = max(max_jump, float(np.abs(dx).max()) / cw)
        signs = np.sign(dx[moving])
        reversals += int(np.sum(signs[1:] != signs[:-1]))
        moves += _moves(moving, dx, a, cw)
    minutes = n / float(frame_rate) / 60
    short, unexplained = _move_causes(x, cw, moves, by_frame, shot_index, frame_rate)
    own: dict[str, int] = {}
    if own_faces is not None:
        own_by_frame: dict[int, list[Face]] = {}
        for face in own_faces:
            own_by_frame.setdefault(face.frame, []).append(face)
        own["own_short_moves"] = _move_causes(x, cw, moves, own_by_frame, shot_index, frame_rate)[0]
    return {
        **own,
        "face_frames": face_frames,
        "some_face_in": some_in / max(1, face_frames),
        "largest_face_in": largest_in / max(1, face_frames),
        "partial_cut": partial / max(1, face_frames),
        "reversals_per_min": reversals / max(minutes, 1e-9),
        "static": static / max(1, steps),
        "max_jump": max_jump,
        "off_centre_frames": off_frames,
        "vs_centre": 100 * (off_ours - off_centre) / max(1, off_frames),
        "moves": len(moves),
        "short_detection_moves": short,
        "moves_without_face": unexplained,
    }


def _moves(moving: np.ndarray, dx: np.ndarray, start: int, cw: float) -> list[tuple[int, int]]:
    """Runs of moving steps (a pause of up to 3 frames inside one move is part of it) that take
    the camera at least 1 % of a crop width: ``(first frame, last frame)``."""
    idx = np.flatnonzero(moving)
    if idx.size == 0:
        return []
    runs: list[tuple[int, int]] = []
    lo = hi = int(idx[0])
    for i in idx[1:].tolist():
        if i - hi <= 4 and np.sign(dx[i]) == np.sign(dx[hi]):
            hi = i
        else:
            runs.append((lo, hi))
            lo = hi = i
    runs.append((lo, hi))
    return [(start + a, start + b + 1) for a, b in runs if abs(float(dx[a : b + 1].sum())) >= 0.01 * cw]


def _move_causes(
    x: np.ndarray,
    cw: float,
    moves: list[tuple[int, int]],
    by_frame: dict[int, list[Face]],
    shot_index: np.ndarray,
    frame_rate: float,
) -> tuple[int, int]:
    """How many moves serve only faces on tracks shorter than :data:`SHORT_S`, and how many serve
    no face. A move serves a face seen within half a second of it (in the same shot) whose share
    inside the crop grows by more than 5 points from the move's first frame to its last. A track
    lasts from its first sample to its last: a face seen on one sample lasts 0 s."""
    span: dict[int, list[int]] = {}
    for f, found in by_frame.items():
        for g in found:
            span.setdefault(g.track, []).append(f)
    duration = {t: (max(fs) - min(fs)) / float(frame_rate) for t, fs in span.items()}
    window = round(SHORT_S * float(frame_rate))
    short = unexplained = 0
    for a, b in moves:
        shot = int(shot_index[a])
        nearest: dict[int, Face] = {}
        for f in range(a - window, b + window + 1):
            if f < 0 or f >= shot_index.shape[0] - 1 or int(shot_index[f]) != shot:
                continue
            for g in by_frame.get(f, []):
                best = nearest.get(g.track)
                if best is None or abs(f - b) < abs(best.frame - b):
                    nearest[g.track] = g
        served = [t for t, g in nearest.items() if _fraction_inside(x[b], cw, g) - _fraction_inside(x[a], cw, g) > 0.05]
        if not served:
            unexplained += 1
        elif all(duration[t] < SHORT_S for t in served):
            short += 1
    return short, unexplained


def labelled_faces(data: dict[str, Any]) -> tuple[list[int], list[Face], int]:
    """Hand labels as the judge's faces: ``(sampled frames, faces, frames a sample stands for)``.

    ``data["faces"]`` is either a list with one entry per frame (the sample media's
    ``ground_truth.json``) or a mapping from frame number to that frame's faces (labels on a few
    frames); each face is ``{"x", "y", "w", "h"}`` with an optional ``"id"`` (the person: one id
    is one track)."""
    raw = data.get("faces")
    try:
        if isinstance(raw, list):
            items = list(enumerate(raw))
        elif isinstance(raw, dict):
            items = sorted((int(k), v) for k, v in raw.items())
        else:
            raise TypeError("'faces' must be a list or a mapping")
        ids: dict[str, int] = {}
        faces: list[Face] = []
        for frame, found in items:
            for k, f in enumerate(found):
                key = str(f.get("id", f"{frame}:{k}"))
                tid = ids.setdefault(key, len(ids))
                faces.append(Face(frame, float(f["x"]), float(f["y"]), float(f["w"]), float(f["h"]), 1, tid))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InputError(f"not a face label file: {exc}") from None
    frames = [f for f, _ in items]
    every = int(np.median(np.diff(frames))) if len(frames) > 1 else 1
    return frames, faces, max(1, every)


def passed(figures: dict[str, Any]) -> dict[str, bool | None]:
    """Each of :data:`REAL_TARGETS` met or not (``None``: does not apply, e.g. ``vs_centre`` on a
    clip whose subjects never leave a centre crop)."""
    out: dict[str, bool | None] = {}
    for key, (op, target) in REAL_TARGETS.items():
        if key == "vs_centre" and not figures["off_centre_frames"]:
            out[key] = None
            continue
        value = figures[key]
        out[key] = bool(value >= target) if op == ">=" else bool(value <= target)
    return out


def measure(
    source: Any,
    path: CameraPath,
    shots: Sequence[tuple[int, int]],
    *,
    truth: dict[str, Any] | None = None,
    fps: float = 4.0,
    cache_dir: Any = None,
    raw: dict[str, Any] | None = None,
    own_faces: Sequence[Face] | None = None,
) -> dict[str, Any]:
    """Score ``path`` (vertcut's plan for ``source``) and a centre crop against hand labels
    (``truth``) or, without them, the independent judge (``raw``: its detections, if already at
    hand, see :func:`~vertcut.reframe.judge.raw_detections`; ``own_faces``: the planner's
    detections, see :func:`own_faces`): per method the figures of
    :func:`score_path`, and whether vertcut meets :data:`REAL_TARGETS`."""
    from .judge import judge_faces

    judge: dict[str, Any]
    if truth is None:
        seen = judge_faces(source, [a for a, _ in shots], fps=fps, cache_dir=cache_dir, raw=raw)
        frames, faces, every = list(seen.frames), list(seen.faces), seen.sample_every
        judge = {
            "kind": "consensus",
            "detectors": list(seen.detectors),
            "min_votes": seen.min_votes,
            "sample_every": every,
            "samples": len(frames),
            "faces": len(faces),
        }
    else:
        frames, faces, every = labelled_faces(truth)
        judge = {"kind": "hand labels", "samples": len(frames), "faces": len(faces)}
        if isinstance(truth.get("shots"), list) and truth["shots"]:
            try:
                shots = [(int(s["start"]), int(s["end"])) for s in truth["shots"]]
                # the black middle of a fade through black hides a move (as in evaluate): its
                # 4 frames belong to no shot
                hidden = {(int(f["mid"]) - 2, int(f["mid"]) + 2) for f in truth.get("fades", []) if "mid" in f}
                bounds = sorted(
                    {b for a, z in shots for b in (a, z) if not any(lo < b < hi for lo, hi in hidden)}
                    | {b for h in hidden for b in h}
                )
                shots = [r for r in itertools.pairwise(bounds) if r not in hidden]
            except (TypeError, ValueError, KeyError) as exc:
                raise InputError(f"not a face label file: shots: {exc}") from None
    n = len(path.x)
    centre = [round((path.source_width - path.crop_width) / 2)] * n
    pad = [(s.start, s.stop) for s in path.shots if s.mode == "pad"]
    common: dict[str, Any] = {
        "crop_width": path.crop_width,
        "source_width": path.source_width,
        "frame_rate": float(path.frame_rate),
        "shots": shots,
        "frames": frames,
        "faces": faces,
        "sample_every": every,
    }
    methods = {
        "vertcut": score_path(path.x, pad=pad, own_faces=own_faces, **common),
        "centre": score_path(centre, **common),
    }
    return {
        "judge": judge,
        "frames": n,
        "shots": len(shots),
        "methods": methods,
        "passed": passed(methods["vertcut"]),
    }


def own_faces(analysis: Any) -> list[Face]:
    """The analysis' own face detections as the judge's faces, linked into tracks inside its shots
    (empty when the analysis does not expose ``faces``)."""
    from .judge import link_tracks

    found = list(getattr(analysis, "faces", ()) or ())
    by_frame: dict[int, list[Face]] = {}
    for f in found:
        by_frame.setdefault(int(f.frame), []).append(Face(int(f.frame), float(f.x), float(f.y), float(f.w), float(f.h)))
    return link_tracks(by_frame, sorted(by_frame), [s.start for s in analysis.shots()])
