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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .plan import CameraPath

__all__ = ["TARGETS", "evaluate"]

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
