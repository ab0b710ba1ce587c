"""What is on screen in a delivered file: full-size frames at chosen times, read by seeking (never a whole
decode), and the required labels looked for in them.

A label is looked for with its own drawing: vertcut draws it again from the plan (the same libass sprite
or image the render composited), scales it to the file's picture and correlates the sprite's expected
luma with the frame's inside the label's box. A drawn label correlates at 0.9 and above on the sample
and in the tests; the same box without the label at about 0 (see ``PRESENT``). The frames looked at: every
keyframe inside the label's window (the segment starts, every 2 s in vertcut's ladders), its first and
last frame, and the frames just outside it (a label that outstays its window is a warning).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..errors import InputError, LabelError
from ..ffmpeg import FFmpeg
from .findings import Finding

__all__ = [
    "PRESENT",
    "LabelSprite",
    "frames_at",
    "in_box",
    "keyframe_times",
    "label_findings",
    "label_sprite",
    "planes",
    "presence",
]  # fmt: skip

PRESENT = 0.5  # correlation at and above which a label counts as on screen
MAX_LABEL_LOOKS = 12  # keyframes looked at inside a label's window at most (spread over it)
Luma = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class LabelSprite:
    """A label as drawn: its box in the plan's picture, the sprite's luma and coverage (0-1)."""

    box: tuple[int, int, int, int]
    luma: npt.NDArray[np.float32]
    alpha: npt.NDArray[np.float32]


def planes(frame: Any) -> list[Luma]:
    """A decoded frame's planes as arrays (views, no copy; the line padding cut off)."""
    out = []
    for p in frame.planes:
        rows: Luma = np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)
        out.append(rows[:, : p.width])
    return out


def _luma(frame: Any) -> Luma:
    return np.ascontiguousarray(planes(frame)[0])


def _open(path: Path) -> Any:
    import av

    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot read the episode: {exc}", path=path) from None


def keyframe_times(path: Path) -> tuple[list[Fraction], Fraction]:
    """The times of ``path``'s keyframes from its first frame, and its frame duration (a demux, no decode)."""
    with _open(path) as c:
        s = c.streams.video[0]
        tb = Fraction(s.time_base or Fraction(1, 90000))
        step = 1 / Fraction(s.average_rate or 25)
        pts = [(p.pts, p.is_keyframe) for p in c.demux(s) if p.pts is not None]
    if not pts:
        return [], step
    first = min(p for p, _ in pts)
    return sorted(Fraction(p - first) * tb for p, key in pts if key), step


def frames_at(path: Path, times: Sequence[Fraction]) -> Iterator[tuple[Fraction, Fraction, Luma]]:
    """(time asked, the frame's time, its luma plane at full size) for the first frame at or after each of
    ``times`` (seconds from the file's first frame), in time order; a time past the last frame gives nothing.
    Seeks to the keyframe before a time unless it is close ahead of the frame last decoded."""
    wanted = sorted(set(times))
    if not wanted:
        return
    with _open(path) as c:
        s = c.streams.video[0]
        tb = Fraction(s.time_base or Fraction(1, 90000))
        first = next(c.decode(s)).pts or 0
        frames: Iterator[Any] = iter(())
        last: Fraction | None = None
        for t in wanted:
            if last is None or t > last + 1 or t < last:
                c.seek(first + math.floor(t / tb), stream=s, backward=True)
                frames = c.decode(s)
            for frame in frames:
                if frame.pts is None:
                    continue
                last = Fraction(frame.pts - first) * tb
                if last >= t:
                    yield t, last, _luma(frame)
                    break
            else:
                return


def label_sprite(label: Any, ffmpeg: FFmpeg | None = None) -> LabelSprite:
    """Draw ``label`` (a :class:`~vertcut.labels.PlacedLabel`) again as the render did.

    Raises:
        LabelError: it cannot be drawn (its image is gone, a font is missing).
    """
    import av

    from ..labels import LabelPlan, draw_labels

    tb = Fraction(1, 1000)
    with draw_labels(LabelPlan((label,)), label.picture, tb, label.end + 1, ffmpeg=ffmpeg) as layer:
        if not layer.tracks:
            raise LabelError(f"label {label.name!r} draws nothing")
        _, track = layer.tracks[0]
        best: tuple[float, Any, Any] | None = None
        with av.open(str(track.path)) as c:
            for frame in c.decode(video=0):
                y, _, _, alpha = planes(frame)
                a = alpha.astype(np.float32) / 255
                if best is None or a.sum() > best[0]:
                    best = (float(a.sum()), y.astype(np.float32), a)
    assert best is not None
    return LabelSprite(track.box, best[1], best[2])


def in_box(
    sprite: LabelSprite, luma: Luma, picture: tuple[int, int]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]] | None:
    """The sprite's luma and coverage scaled to ``luma`` (a frame of any size showing the ``picture``-sized
    output), and the frame's luma in the sprite's box; None when the box is under 4 px there."""
    import cv2

    fh, fw = luma.shape
    kx, ky = fw / picture[0], fh / picture[1]
    x, y, w, h = sprite.box
    x0, y0 = round(x * kx), round(y * ky)
    x1, y1 = min(fw, round((x + w) * kx)), min(fh, round((y + h) * ky))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    size = (x1 - x0, y1 - y0)
    s_luma = np.asarray(cv2.resize(sprite.luma, size, interpolation=cv2.INTER_AREA), np.float32)
    alpha = np.asarray(cv2.resize(sprite.alpha, size, interpolation=cv2.INTER_AREA), np.float32)
    return s_luma, alpha, luma[y0:y1, x0:x1].astype(np.float32)


def presence(sprite: LabelSprite, luma: Luma, picture: tuple[int, int]) -> float:
    """How much ``luma`` looks like it carries the sprite in its box: the correlation of the frame's luma
    with the sprite composited over the frame's own mean background there (1: drawn as planned; about 0:
    not there)."""
    scaled = in_box(sprite, luma, picture)
    if scaled is None:
        return 0.0
    s_luma, alpha, seen = scaled
    clear = alpha < 0.05
    background = float(seen[clear].mean()) if clear.any() else float(seen.mean())
    expected = alpha * s_luma + (1 - alpha) * background
    a, b = expected - expected.mean(), seen - seen.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


class Looker(Protocol):
    """Something looking at frames of a file: the times it wants, and what it makes of each frame."""

    times: frozenset[Fraction]

    def see(self, t: Fraction, shown: Fraction, luma: Luma) -> None: ...


def look(video: Path, lookers: Sequence[Looker]) -> None:
    """Read the frames every looker wants from ``video`` once, in time order, and show each to those that
    asked for it (no frame is kept)."""
    wanted = sorted({t for lk in lookers for t in lk.times})
    for t, shown, luma in frames_at(video, wanted):
        for lk in lookers:
            if t in lk.times:
                lk.see(t, shown, luma)


def spread(times: Sequence[Fraction], most: int) -> list[Fraction]:
    """At most ``most`` of ``times`` (sorted), evenly spread, the first and last kept."""
    if len(times) <= most:
        return list(times)
    return sorted({times[round(i * (len(times) - 1) / (most - 1))] for i in range(most)})


class LabelLook:
    """The labels of one episode (the plan's entries), drawn again and ready to be looked for: at most
    ``MAX_LABEL_LOOKS`` keyframes inside each window, its first and last frame, the frames just outside.

    Raises:
        LabelError: an entry that cannot be read or drawn.
    """

    def __init__(
        self,
        labels: Sequence[dict[str, Any]],
        keys: Sequence[Fraction],
        step: Fraction,
        ffmpeg: FFmpeg | None = None,
        sprites: dict[Any, LabelSprite] | None = None,
    ) -> None:
        from dataclasses import replace

        from ..labels import PlacedLabel

        cache = sprites if sprites is not None else {}
        self.todo: list[tuple[PlacedLabel, LabelSprite, list[Fraction], list[Fraction]]] = []
        self.scores: list[dict[Fraction, tuple[Fraction, float]]] = []
        for data in labels:
            lb = PlacedLabel.from_json(data)
            if lb.end <= lb.start:
                continue
            key = replace(lb, start=Fraction(0), end=Fraction(1))  # the drawing does not depend on the times
            if key not in cache:
                cache[key] = label_sprite(lb, ffmpeg)
            within = spread([k for k in keys if lb.start < k < lb.end - step], MAX_LABEL_LOOKS)
            inside = sorted({lb.start, *within, max(lb.start, lb.end - step)})
            outside = [t for t in (lb.start - step, lb.end) if t >= 0]  # past the last frame: nothing to look at
            self.todo.append((lb, cache[key], inside, outside))
            self.scores.append({})
        self.times = frozenset(t for _, _, inside, outside in self.todo for t in (*inside, *outside))

    def see(self, t: Fraction, shown: Fraction, luma: Luma) -> None:
        for (lb, sprite, inside, outside), scores in zip(self.todo, self.scores, strict=True):
            if t in inside or t in outside:
                scores[t] = (shown, presence(sprite, luma, lb.picture))

    def result(self, episode: str) -> tuple[list[dict[str, Any]], list[Finding]]:
        """A JSON entry per label (the frames looked at and the score of each) and the findings: an error
        for a label missing from a frame inside its window, a warning for one still there outside it."""
        entries: list[dict[str, Any]] = []
        found: list[Finding] = []
        for (lb, _, inside, outside), scores in zip(self.todo, self.scores, strict=True):
            looked = [t for t in inside if t in scores]
            missing = [scores[t][0] for t in looked if scores[t][1] < PRESENT]
            beyond = [scores[t][0] for t in outside if t in scores and scores[t][1] >= PRESENT]
            entries.append({
                "name": lb.name, "text": lb.text or None, "start_s": float(lb.start), "end_s": float(lb.end),
                "required_s": float(lb.end - lb.start), "looked_at": len(looked), "seen": len(looked) - len(missing),
                "on_screen": bool(looked) and not missing,
                "frames": [{"t": round(float(scores[t][0]), 3), "score": round(scores[t][1], 3), "window": t in inside}
                           for t in sorted(scores)],
            })  # fmt: skip
            span = f"{float(lb.start):.2f}-{float(lb.end):.2f} s"
            if missing or not looked:
                times = ", ".join(f"{float(t):.2f}" for t in missing[:5]) or "any frame"
                found.append(Finding("labels", "label_missing", "error",
                                     f"label {lb.name!r} is required on screen {span} but is not there at {times} s",
                                     episode, missing[0] if missing else lb.start, lb.end, {"label": lb.name}))  # fmt: skip
            for t in beyond:
                found.append(Finding("labels", "label_outside", "warning",
                                     f"label {lb.name!r} ({span}) is also on screen at {float(t):.2f} s", episode,
                                     t, None, {"label": lb.name}))  # fmt: skip
        return entries, found


def label_findings(
    video: Path,
    labels: Sequence[dict[str, Any]],
    episode: str,
    ffmpeg: FFmpeg | None = None,
    sprites: dict[Any, LabelSprite] | None = None,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Each label of ``labels`` (the plan's entries) looked for in ``video`` (:class:`LabelLook`).
    ``sprites``: drawings already made (a series' episodes share most labels), filled in as drawn."""
    keys, step = keyframe_times(video)
    lk = LabelLook(labels, keys, step, ffmpeg, sprites)
    look(video, [lk])
    return lk.result(episode)
