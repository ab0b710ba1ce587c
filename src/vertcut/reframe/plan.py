"""The virtual camera: one subject per shot, a calm path, fallbacks.

For each shot (between cuts) the planner picks one subject and a camera:

* ``static``: the subject's whole movement fits in the crop, so the camera
  does not move (most dialogue shots);
* ``track``: it does not fit, so the camera follows an L1-optimal path (the
  method of Grundmann et al., "Auto-directed video stabilization with robust
  L1 optimal camera paths", as used by Google's AutoFlip): minimise the L1 norm
  of the path's first, second and third differences, subject to the subject
  staying inside a band around its position. The optimum is piecewise
  static / constant-speed / eased, with no jitter. Solved with SciPy's HiGHS;
* ``pad``: several faces of similar size that cannot fit together (a wide
  two-shot): the whole frame, fitted to the width over a blurred copy;
* ``saliency``: no face; the camera sits on the moving or salient region;
* ``center``: nothing to go on.

The subject only changes at a cut. Positions are crop left edges in source
pixels, one integer per frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from ..fsutil import atomic_path
from ..timebase import FrameRange

__all__ = ["CameraPath", "ShotPlan", "crop_size", "l1_path", "plan_camera"]

Mode = Literal["auto", "static", "track", "center", "pad"]

MAX_SPEED = 0.04  # crop widths per frame: faster looks like a jump


@dataclass(frozen=True)
class ShotPlan:
    start: int
    stop: int
    mode: str  # static | track | pad | saliency | center
    subject: int | None  # track index within the shot, if any
    reason: str


@dataclass(frozen=True)
class CameraPath:
    """Crop window per frame: ``x[i]`` is the left edge in source pixels."""

    source_width: int
    source_height: int
    crop_width: int
    crop_height: int
    frame_rate: Fraction
    shots: tuple[ShotPlan, ...]
    x: tuple[int, ...]

    def mode_at(self, frame: int) -> str:
        for s in self.shots:
            if s.start <= frame < s.stop:
                return s.mode
        return "center"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "source": {"width": self.source_width, "height": self.source_height, "frame_rate": str(self.frame_rate)},
            "crop": {"width": self.crop_width, "height": self.crop_height},
            "shots": [asdict(s) for s in self.shots],
            "x": list(self.x),
        }

    def write(self, path: Path) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=None, separators=(",", ":")))

    @classmethod
    def read(cls, path: Path, frame_count: int, width: int, height: int) -> CameraPath:
        """Read an (edited) path; checks it fits the source it is applied to."""
        try:
            data = json.loads(Path(path).read_text())
            src, crop = data["source"], data["crop"]
            shots = tuple(ShotPlan(**s) for s in data["shots"])
            xs = tuple(int(v) for v in data["x"])
            cw, ch = int(crop["width"]), int(crop["height"])
        except FileNotFoundError:
            raise InputError("no such path file", path=path) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a vertcut camera path: {exc}", path=path) from None
        if (int(src["width"]), int(src["height"])) != (width, height):
            raise InputError(f"path is for a {src['width']}x{src['height']} source, not {width}x{height}", path=path)
        if len(xs) != frame_count:
            raise InputError(f"path has {len(xs)} positions but the source has {frame_count} frames", path=path)
        bad = [i for i, v in enumerate(xs) if not 0 <= v <= width - cw]
        if bad:
            raise InputError(f"frame {bad[0]}: crop x={xs[bad[0]]} is outside 0..{width - cw}", path=path)
        return cls(width, height, cw, ch, Fraction(src["frame_rate"]), shots, xs)


def crop_size(width: int, height: int, aspect: Fraction, sar: Fraction = Fraction(1)) -> tuple[int, int]:
    """Largest crop of the stored picture with display aspect ``aspect`` (even sizes)."""
    display_w = width * sar
    if display_w / height > aspect:
        cw = int(height * aspect / sar) // 2 * 2
        return max(2, cw), height
    ch = int(display_w / aspect) // 2 * 2
    return width, max(2, ch)


WINDOW = 720  # path samples one LP solves at most (an hour-long shot costs as much memory as a minute)
SEAM = 60  # samples of each window pinned to the previous window's solution


def l1_path(
    target: npt.NDArray[np.float64],
    slack: npt.NDArray[np.float64],
    lo: float,
    hi: float,
    max_step: float | None = None,
) -> npt.NDArray[np.float64]:
    """L1-optimal smooth path that keeps within ``target +- slack`` where it can, inside ``[lo, hi]``.

    Minimises ``10*|D1 x| + 1*|D2 x| + 100*|D3 x|`` (Grundmann et al.'s weights)
    plus a large penalty for leaving the band (so a target that jumps faster
    than ``max_step`` per sample cannot make the problem infeasible), with
    ``|D1 x| <= max_step`` as a hard speed limit.

    A long path is solved in windows of :data:`WINDOW` samples, so memory stays flat with the shot's
    length: each window after the first starts :data:`SEAM` samples before the previous one's end,
    with those samples pinned to the previous solution (position, speed and acceleration continue
    across the seam), and keeps what follows.
    """
    n = target.shape[0]
    if n <= WINDOW:
        return _l1_window(target, slack, lo, hi, max_step, np.full(n, np.nan))
    out = np.empty(n)
    start = 0
    while start < n:
        stop = min(n, start + WINDOW)
        pinned = np.full(stop - start, np.nan)
        if start > 0:
            pinned[:SEAM] = out[start : start + SEAM]
        out[start:stop] = _l1_window(target[start:stop], slack[start:stop], lo, hi, max_step, pinned)
        if stop == n:
            break
        start = stop - SEAM
    return out


def _l1_window(
    target: npt.NDArray[np.float64],
    slack: npt.NDArray[np.float64],
    lo: float,
    hi: float,
    max_step: float | None,
    pinned: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """One LP of :func:`l1_path`; samples where ``pinned`` is not NaN are fixed to it."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, diags, eye, hstack, vstack

    n = target.shape[0]
    if n < 4:
        free = np.isnan(pinned)
        return np.where(free, float(np.clip(np.median(target), lo, hi)), pinned)
    # sparse difference operators: a shot of thousands of samples must not build dense n x n matrices
    stencils = {1: [-1.0, 1.0], 2: [1.0, -2.0, 1.0], 3: [-1.0, 3.0, -3.0, 1.0]}
    d = [diags(stencils[k], list(range(k + 1)), shape=(n - k, n), format="csr") for k in (1, 2, 3)]
    sizes = [n - 1, n - 2, n - 3]
    # variables: x (n), e1, e2, e3 (|D_k x| bounds), s (n, band violations)
    total = n + sum(sizes) + n
    weights = np.concatenate(
        [np.zeros(n), np.full(sizes[0], 10.0), np.full(sizes[1], 1.0), np.full(sizes[2], 100.0), np.full(n, 1000.0)]
    )
    rows = []
    rhs: list[npt.NDArray[np.float64]] = []
    offset = n
    for k in range(3):
        m = sizes[k]
        left = csr_matrix((m, offset))
        right = csr_matrix((m, total - offset - m))
        e = eye(m, format="csr")
        rows += [hstack([d[k], left[:, n:], -e, right]), hstack([-d[k], left[:, n:], -e, right])]
        rhs += [np.zeros(m), np.zeros(m)]
        offset += m
    s_cols = eye(n, format="csr")
    mid = csr_matrix((n, total - 2 * n))
    rows += [hstack([eye(n, format="csr"), mid, -s_cols]), hstack([-eye(n, format="csr"), mid, -s_cols])]
    rhs += [target + slack, -(target - slack)]
    if max_step is not None:
        pad = csr_matrix((sizes[0], total - n))
        rows += [hstack([d[0], pad]), hstack([-d[0], pad])]
        rhs += [np.full(sizes[0], max_step), np.full(sizes[0], max_step)]
    a_ub = vstack(rows).tocsr()
    b_ub = np.concatenate(rhs)
    bounds: list[tuple[float, float | None]] = [(lo, hi) if np.isnan(p) else (float(p), float(p)) for p in pinned]
    bounds += [(0.0, None)] * (total - n)
    res = linprog(weights, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0 or res.x is None:
        return np.where(np.isnan(pinned), np.clip(target, lo, hi), pinned)
    return np.asarray(res.x[:n], dtype=np.float64)


def _tracks(faces: list[Any], width: int) -> list[list[Any]]:
    """Link face detections of one shot into tracks by position."""
    tracks: list[list[Any]] = []
    for f in sorted(faces, key=lambda f: (f.frame, f.x)):
        best, best_d = None, width * 0.12
        for t in tracks:
            last = t[-1]
            if last.frame == f.frame:
                continue
            d = abs(last.cx - f.cx)
            if d < best_d:
                best, best_d = t, d
        if best is None:
            tracks.append([f])
        else:
            best.append(f)
    return tracks


def plan_camera(
    analysis: Any,
    crop_w: int,
    crop_h: int,
    *,
    mode: Mode = "auto",
) -> CameraPath:
    """Plan the crop window for every frame of an analysed source."""
    width, height, n = analysis.width, analysis.height, analysis.frame_count
    lo, hi = 0.0, float(width - crop_w)
    centre_x = (width - crop_w) / 2
    xs = np.full(n, centre_x, dtype=np.float64)
    plans: list[ShotPlan] = []
    for shot in analysis.shots():
        plan, path = _plan_shot(analysis, shot, crop_w, lo, hi, mode)
        plans.append(plan)
        xs[shot.start : shot.stop] = path
    ints = tuple(int(v) for v in np.rint(np.clip(xs, lo, hi)))
    return CameraPath(width, height, crop_w, crop_h, analysis.frame_rate, tuple(plans), ints)


def _plan_shot(
    analysis: Any, shot: FrameRange, crop_w: int, lo: float, hi: float, mode: Mode
) -> tuple[ShotPlan, npt.NDArray[np.float64]]:
    width = analysis.width
    count = shot.count
    frames = np.arange(shot.start, shot.stop)
    centre = np.full(count, (width - crop_w) / 2)
    if mode == "center" or hi <= 0:
        return ShotPlan(
            shot.start, shot.stop, "center", None, "centre requested" if hi > 0 else "no room to move"
        ), centre
    tracks = [t for t in _tracks(analysis.faces_in(shot), width) if len(t) >= 1]
    # drop one-off detections in shots that have steadier tracks (false positives)
    steady = [t for t in tracks if len(t) >= 2]
    if steady:
        tracks = steady
    if mode == "pad":
        return ShotPlan(shot.start, shot.stop, "pad", None, "pad requested"), centre
    if not tracks:
        return _plan_no_face(analysis, shot, crop_w, lo, hi, mode)
    weight = [sum(f.w * f.h for f in t) for t in tracks]
    order = np.argsort(weight)[::-1]
    subject = tracks[int(order[0])]
    size = float(np.median([f.w for f in subject]))
    if mode == "auto" and len(tracks) > 1:
        second = tracks[int(order[1])]
        if weight[int(order[1])] >= 0.5 * weight[int(order[0])]:
            span_lo = min(min(f.x for f in subject), min(f.x for f in second))
            span_hi = max(max(f.x + f.w for f in subject), max(f.x + f.w for f in second))
            if span_hi - span_lo > crop_w * 0.95:
                return ShotPlan(shot.start, shot.stop, "pad", None, "two faces too far apart for one crop"), centre
    fx = np.array([f.frame for f in subject], dtype=np.float64)
    cx = np.array([f.cx for f in subject], dtype=np.float64)
    target_cx = np.interp(frames, fx, cx)
    target = target_cx - crop_w / 2
    # the crop must keep the whole face with a margin: slack around the face centre
    slack_px = max(0.0, crop_w / 2 - size * 0.75)
    spread = float(target_cx.max() - target_cx.min())
    if mode in ("auto", "static") and (spread <= 2 * slack_px or mode == "static"):
        x = float(np.clip((target.max() + target.min()) / 2, lo, hi))
        return ShotPlan(
            shot.start, shot.stop, "static", int(order[0]), f"subject moves {spread:.0f} px, fits"
        ), np.full(count, x)
    # track: solve on a decimated grid (every 5th frame) for speed, then interpolate
    step = 5 if count > 40 else 1
    grid = np.arange(0, count, step)
    if grid[-1] != count - 1:
        grid = np.append(grid, count - 1)
    slack = np.full(grid.shape[0], slack_px)
    path = l1_path(target[grid], slack, lo, hi, max_step=MAX_SPEED * crop_w * step)
    full = np.interp(np.arange(count), grid, path)
    return ShotPlan(shot.start, shot.stop, "track", int(order[0]), f"subject moves {spread:.0f} px"), full


def _plan_no_face(
    analysis: Any, shot: FrameRange, crop_w: int, lo: float, hi: float, mode: Mode
) -> tuple[ShotPlan, npt.NDArray[np.float64]]:
    width = analysis.width
    count = shot.count
    motion = np.asarray(analysis.motion_x[shot.start : shot.stop], dtype=np.float64)
    saliency = np.asarray(analysis.saliency_x[shot.start : shot.stop], dtype=np.float64)
    motion[0] = np.nan  # the first frame's motion is the cut itself
    valid = np.isfinite(motion)
    if valid.sum() >= count * 0.3:
        idx = np.arange(count)
        centre_x = np.interp(idx, idx[valid], motion[valid]) * width
        source = "motion"
    elif np.isfinite(saliency).any():
        centre_x = np.nan_to_num(saliency, nan=0.5) * width
        source = "saliency"
    else:
        return ShotPlan(shot.start, shot.stop, "center", None, "no faces, no signal"), np.full(
            count, (width - crop_w) / 2
        )
    # a robust trend: the median over a one-second window
    win = max(1, int(analysis.frame_rate))
    padded = np.pad(centre_x, win // 2, mode="edge")
    trend = np.array([np.median(padded[i : i + win]) for i in range(count)])
    target = trend - crop_w / 2
    spread = float(np.percentile(trend, 90) - np.percentile(trend, 10))
    if mode in ("auto", "track") and spread > crop_w * 0.3:
        step = 5 if count > 40 else 1
        grid = np.arange(0, count, step)
        if grid[-1] != count - 1:
            grid = np.append(grid, count - 1)
        path = l1_path(target[grid], np.full(grid.shape[0], crop_w * 0.2), lo, hi, max_step=MAX_SPEED * crop_w * step)
        return ShotPlan(shot.start, shot.stop, "track", None, f"no faces; following {source}"), np.interp(
            np.arange(count), grid, path
        )
    x = float(np.clip(float(np.median(target)), lo, hi))
    return ShotPlan(shot.start, shot.stop, "saliency", None, f"no faces; {source} centre"), np.full(count, x)
