"""The virtual camera: one subject per shot, a calm path, fallbacks.

For each shot (between cuts) the planner links the face detections into
tracks (:mod:`vertcut.reframe.tracks`; only a track lasting 0.5 s may move the
camera), picks its subject by the two-shot rule (:func:`choose_subject`: the
faces that fit together, else the speaker, else the larger and more frontal
face, else the pad) and a camera:

* ``static``: the subject's whole movement fits in the crop, so the camera
  does not move (most dialogue shots);
* ``track``: it does not fit, so the camera follows an L1-optimal path (the
  method of Grundmann et al., "Auto-directed video stabilization with robust
  L1 optimal camera paths", as used by Google's AutoFlip): minimise the L1 norm
  of the path's first, second and third differences, subject to the subject
  staying inside a band around its position. The optimum is piecewise
  static / constant-speed / eased, with no jitter. Solved with SciPy's HiGHS;
* ``pad``: several faces of similar size that cannot fit together and no
  speaker told (a wide two-shot): the whole frame, fitted to the width over a
  blurred copy;
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
from .tracks import Track, join_fragments, link_tracks, persistent

__all__ = ["CameraPath", "Choice", "ShotPlan", "choose_subject", "crop_size", "l1_path", "plan_camera", "speaker"]

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


MIN_TRACK_SECONDS = 0.5  # a face must be tracked this long before the camera moves for it
TRACK_GAP = 0.5  # seconds a track may go undetected and continue
MARGIN = 0.25  # face widths kept between a framed face and the crop's edge
HOLD_MARGIN = 0.1  # face widths a held (static) frame must keep at least, its margin shrunk to fit
SIGNIFICANT = 0.25  # a track with less than this share of the main track's weight is an extra
DOMINANT = 1.5  # prominence ratio at which the larger, more frontal face is framed alone
SPEAKER_T = 1.7  # Student's t a mouth-audio correlation needs to tell the speaker (one-sided, ~5 %)


@dataclass(frozen=True)
class Choice:
    """Who a shot frames: ``members`` (indices into the shot's lasting tracks, by weight) or the pad."""

    kind: Literal["one", "group", "pad"]
    members: tuple[int, ...]
    reason: str


def _union_edges(
    tracks: list[Track], members: tuple[int, ...], frames: npt.NDArray[np.int_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    edges = [tracks[k].edges(frames) for k in members]
    return np.min([e[0] for e in edges], axis=0), np.max([e[1] for e in edges], axis=0)


def _fits(tracks: list[Track], members: tuple[int, ...], frames: npt.NDArray[np.int_], crop_w: int) -> bool:
    """Whether the members' faces fit in the crop together, with margins, in (nearly) every frame."""
    left, right = _union_edges(tracks, members, frames)
    margin = MARGIN * max(tracks[k].size for k in members)
    return bool(np.mean(right - left + 2 * margin <= crop_w) >= 0.95)


def speaker(
    tracks: list[Track], audio_rms: npt.NDArray[np.float32], members: tuple[int, ...]
) -> tuple[int, float] | None:
    """The member who speaks, as (index, correlation), or None if it cannot be told.

    Each face's mouth motion (from the analysis, one value a sample) is correlated with the audio's
    energy around that sample (a 200 ms window at 25 fps); the speaker's mouth moves when there is
    sound, a listener's does not. Told only when one face correlates clearly (r >= 0.3, 0.15 above
    every other member, and significantly: r = 0.67 over 4 samples is chance one time in six) and
    its mouth moves visibly at all (mean >= 0.3 luma levels).
    """
    rms = np.asarray(audio_rms, dtype=np.float64)
    if rms.size == 0 or not np.isfinite(rms).any():
        return None
    kernel = np.ones(5) / 5
    smooth = np.convolve(np.nan_to_num(rms, nan=0.0), kernel, mode="same")
    result = []
    for k in members:
        frames = np.array([f.frame for f in tracks[k].faces])
        mouth = np.array([f.mouth for f in tracks[k].faces], dtype=np.float64)
        inside = frames < rms.size
        frames, mouth = frames[inside], mouth[inside]
        ok = np.isfinite(mouth) & np.isfinite(rms[frames])
        if ok.sum() < 4 or np.std(mouth[ok]) < 1e-6 or np.std(smooth[frames[ok]]) < 1e-9:
            result.append((k, 0.0, 0.0))
            continue
        r = float(np.corrcoef(mouth[ok], smooth[frames[ok]])[0, 1])
        r = r if np.isfinite(r) else 0.0
        # a correlation over a handful of samples is chance as often as not: it counts only where
        # it is significant (Student's t over n - 2 degrees of freedom, one-sided, about 5 %)
        n = int(ok.sum())
        if r * np.sqrt((n - 2) / max(1e-9, 1 - r * r)) < SPEAKER_T:
            r = min(r, 0.0)
        result.append((k, r, float(mouth[ok].mean())))
    result.sort(key=lambda v: -v[1])
    best = result[0]
    runner_up = result[1][1] if len(result) > 1 else 0.0
    if best[1] >= 0.3 and best[1] - runner_up >= 0.15 and best[2] >= 0.3:
        return best[0], best[1]
    return None


def prominence(track: Track, shot_frames: int) -> float:
    """Face area, more for a frontal face, times the share of the shot the face is seen in."""
    cover = min(1.0, track.duration() / max(1, shot_frames))
    return float(track.size**2 * (0.5 + 0.5 * track.frontal) * cover)


def choose_subject(
    tracks: list[Track], audio_rms: npt.NDArray[np.float32], shot: FrameRange, crop_w: int, allow_pad: bool = True
) -> Choice:
    """The two-shot rule, on the shot's lasting tracks (sorted by weight, heaviest first).

    One face (or extras much smaller than the main one): frame it. Several that fit in the crop
    together, with margins: frame them all (or the two heaviest). Otherwise the speaker
    (:func:`speaker`), held for the whole shot; else the larger and more frontal face if it clearly
    dominates (:func:`prominence`, :data:`DOMINANT`); else the whole frame over a blurred copy
    (``pad``; the heaviest face when ``allow_pad`` is False).
    """
    frames = np.arange(shot.start, shot.stop)
    main = tracks[0].weight
    people = tuple(k for k, t in enumerate(tracks) if t.weight >= SIGNIFICANT * main)
    if len(people) == 1:
        return Choice("one", (0,), "one face")
    if _fits(tracks, people, frames, crop_w):
        return Choice("group", people, f"{len(people)} faces fit together")
    if len(people) > 2 and _fits(tracks, people[:2], frames, crop_w):
        return Choice("group", people[:2], "the two main faces fit together")
    who = speaker(tracks, audio_rms, people)
    if who is not None:
        return Choice(
            "one", (who[0],), f"{len(people)} faces too far apart; the speaker (mouth x audio r={who[1]:.2f})"
        )
    ranked = sorted(people, key=lambda k: -prominence(tracks[k], shot.count))
    p0, p1 = prominence(tracks[ranked[0]], shot.count), prominence(tracks[ranked[1]], shot.count)
    if p0 >= DOMINANT * p1:
        return Choice(
            "one", (ranked[0],), f"{len(people)} faces too far apart, no speaker told; the larger, more frontal"
        )
    if not allow_pad:
        return Choice("one", (0,), f"{len(people)} faces too far apart; the main one")
    return Choice("pad", (), f"{len(people)} faces too far apart for one crop, no speaker told")


def _motion_trend(analysis: Any, shot: FrameRange) -> npt.NDArray[np.float64]:
    """Where pixels move (source x), a one-second running median; NaN where nothing moves."""
    motion = np.asarray(analysis.motion_x[shot.start : shot.stop], dtype=np.float64) * analysis.width
    motion[0] = np.nan  # the first frame's motion is the cut itself
    win = max(1, int(analysis.frame_rate))
    padded = np.pad(motion, win // 2, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, win)[: motion.size]
    valid = np.isfinite(windows).sum(axis=1) >= max(1, win // 2)
    out = np.full(motion.size, np.nan)
    if valid.any():
        with np.errstate(all="ignore"):
            out[valid] = np.nanmedian(windows[valid], axis=1)
    return out


def subject_edges(
    tracks: list[Track],
    members: tuple[int, ...],
    frames: npt.NDArray[np.int_],
    trend: npt.NDArray[np.float64],
    gap: float,
    crop_w: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Left and right edges of what the crop must hold, per frame. Where a lone subject has gone
    undetected for longer than ``gap`` frames after its last sample (turned away, walked off), the
    motion trend stands in for its centre, frame by frame, while it stays within half a crop width
    of where the subject was last placed (so it starts at the face and follows only motion tied to
    it); otherwise the face's last box holds. Before its first sample the first box holds (the
    camera is on the subject from the cut, not wandering to find it), and a miss between two samples
    is interpolated."""
    left, right = _union_edges(tracks, members, frames)
    if len(members) != 1:
        return left, right
    track = tracks[members[0]]
    # inside the track's span a miss is bridged by interpolation (the face is there before and after it)
    lost = ~track.seen(frames, gap) & (frames > track.last)
    if not lost.any():
        return left, right
    centre, half = (left + right) / 2, (right - left) / 2
    out = centre.copy()
    last = track.last - int(frames[0])
    placed = float(centre[last])
    for j in range(last, frames.size):
        if lost[j] and np.isfinite(trend[j]) and abs(trend[j] - placed) < crop_w / 2:
            out[j] = trend[j]
        placed = float(out[j])
    return out - half, out + half


def _static_x(
    left: npt.NDArray[np.float64],
    right: npt.NDArray[np.float64],
    margin: float,
    crop_w: int,
    lo: float,
    hi: float,
    others: npt.NDArray[np.float64],
) -> float:
    """A fixed crop holding ``left..right`` (with margins), placed among the positions that do to cut
    as few other faces in part as it can (each face either wholly in or wholly out), then centred.
    ``others`` are the other faces' sampled boxes, ``(x0, x1)`` rows: every detection of the shot
    not on the subject (a face seen briefly does not move the camera, but a fixed crop still should
    not run its edge through it). Holding another face wholly is not sought beyond that: for a small
    face the detectors' boxes differ by a third of its width, so an edge placed just outside one
    detector's box grazes the face in another's."""
    a = max(lo, float(right.max()) + margin - crop_w)
    b = min(hi, float(left.min()) - margin)
    mid = float(np.clip((a + b) / 2, lo, hi))
    if not others.size or b <= a:
        return mid
    # each face with a safety margin (:data:`MARGIN` of its width: detectors draw a face's box a
    # few pixels apart), so an edge placed by one detector's box does not graze the face in another's
    pad = MARGIN * (others[:, 1] - others[:, 0])
    ol, orr = others[:, 0] - pad, others[:, 1] + pad
    # the positions where another face just comes wholly in or goes wholly out are candidates too
    edges = np.concatenate([ol, orr - crop_w, orr, ol - crop_w])
    candidates = np.unique(np.concatenate([np.linspace(a, b, 33), [mid], edges[(edges >= a) & (edges <= b)]]))
    overlap = np.minimum(orr[None, :], candidates[:, None] + crop_w) - np.maximum(ol[None, :], candidates[:, None])
    width = (orr - ol)[None, :]
    cut = ((overlap > 0) & (overlap < width - 1e-6)).sum(axis=1)
    cost = cut + np.abs(candidates - mid) / max(1.0, crop_w)  # ties: the centred position
    return float(candidates[int(np.argmin(cost))])


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
    if mode == "pad":
        return ShotPlan(shot.start, shot.stop, "pad", None, "pad requested"), centre
    rate = float(analysis.frame_rate)
    found = list(analysis.faces_in(shot))
    if mode == "auto" and _too_wide(found, crop_w, rate, count):
        return ShotPlan(shot.start, shot.stop, "pad", None, "a face wider than the crop: the whole frame"), centre
    tracks = join_fragments(link_tracks(found, rate, TRACK_GAP), rate)
    # only tracks that last may move the camera: a detection on texture in one sample never does
    lasting = sorted((t for t in tracks if persistent(t, rate, MIN_TRACK_SECONDS, count)), key=lambda t: -t.weight)
    if not lasting:
        return _plan_no_face(analysis, shot, crop_w, lo, hi, mode)
    audio = getattr(analysis, "audio_rms", np.zeros(0, np.float32))
    choice = choose_subject(lasting, audio, shot, crop_w, allow_pad=mode == "auto")
    if choice.kind == "pad":
        return ShotPlan(shot.start, shot.stop, "pad", None, choice.reason), centre
    trend = _motion_trend(analysis, shot)
    left, right = subject_edges(lasting, choice.members, frames, trend, TRACK_GAP * rate, crop_w)
    size = max(lasting[k].size for k in choice.members)
    margin = MARGIN * size
    target_cx = (left + right) / 2
    target = target_cx - crop_w / 2
    # the crop must keep the whole subject, with a margin where there is room for one: slack around
    # its centre (at least half the free room, so a face nearly as wide as the crop still leaves the
    # path some play instead of pinning it to every detection's jitter)
    free = np.maximum(0.0, (crop_w - (right - left)) / 2)
    slack_t = np.maximum(free - margin, 0.5 * free)
    spread = float(target_cx.max() - target_cx.min())
    # a fixed crop keeps ``room`` on each side of everything the subject covers over the shot: the
    # frame is held when that is at least HOLD_MARGIN face widths (the margin shrinks to fit)
    room = (crop_w - float(right.max() - left.min())) / 2
    subject = choice.members[0]
    what = choice.reason
    if mode in ("auto", "static") and (room >= HOLD_MARGIN * size or mode == "static"):
        mine = {id(f) for k in choice.members for f in lasting[k].faces}
        others = np.array([(f.x, f.x + f.w) for t in tracks for f in t.faces if id(f) not in mine], np.float64)
        others = others.reshape(-1, 2)
        if room < HOLD_MARGIN * size:
            x = float(np.clip((target.max() + target.min()) / 2, lo, hi))
        else:
            x = _static_x(left, right, min(margin, room), crop_w, lo, hi, others)
        return ShotPlan(
            shot.start, shot.stop, "static", subject, f"{what}; subject moves {spread:.0f} px, fits"
        ), np.full(count, x)
    # track: solve on a decimated grid (every 5th frame) for speed, then interpolate
    step = 5 if count > 40 else 1
    grid = np.arange(0, count, step)
    if grid[-1] != count - 1:
        grid = np.append(grid, count - 1)
    path = l1_path(target[grid], slack_t[grid], lo, hi, max_step=MAX_SPEED * crop_w * step)
    full = np.interp(np.arange(count), grid, path)
    return ShotPlan(shot.start, shot.stop, "track", subject, f"{what}; subject moves {spread:.0f} px"), full


def _too_wide(faces: list[Any], crop_w: int, rate: float, count: int) -> bool:
    """Whether the shot is a close-up too big for the crop: a face wider than the crop on at least
    half the frames the detector found faces on, those frames spanning :data:`MIN_TRACK_SECONDS`
    (or most of a shorter shot). No crop holds such a face, and every position cuts it; the whole
    frame over a blurred copy shows it (one detection that large does not decide it)."""
    frames = {int(f.frame) for f in faces}
    wide = sorted({int(f.frame) for f in faces if f.w > crop_w})
    if len(wide) < 2 or 2 * len(wide) < len(frames):
        return False
    return wide[-1] - wide[0] + 1 >= min(MIN_TRACK_SECONDS * rate, 0.8 * count)


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
