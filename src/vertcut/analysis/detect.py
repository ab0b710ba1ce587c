"""Turning per-frame signals into cuts, black runs and fades (pure NumPy, no I/O)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt

from ..timebase import FrameRange

__all__ = ["adaptive_ratio", "cuts_from_scores", "fades_from_luma", "runs_below"]


def adaptive_ratio(scores: npt.NDArray[np.float32], window: int) -> npt.NDArray[np.float32]:
    """Each score divided by the mean score of its ``window`` neighbours on both sides."""
    n = scores.shape[0]
    padded = np.pad(scores.astype(np.float64), window, mode="edge")
    kernel = np.ones(2 * window + 1)
    kernel[window] = 0
    neighbours = np.convolve(padded, kernel, mode="valid") / (2 * window)
    out = scores / np.maximum(neighbours[:n], 1.0)
    return out.astype(np.float32)


def cuts_from_scores(
    scores: npt.NDArray[np.float32], threshold: float, min_score: float, window: int, min_shot: int
) -> list[int]:
    """Frames starting a new shot: a score far above its neighbours and above a floor.

    ``scores[i]`` compares frame ``i`` with frame ``i - 1``; a cut at ``i``
    means frame ``i`` is the first frame of the new shot.
    """
    if scores.shape[0] < 2:
        return []
    ratio = adaptive_ratio(scores, window)
    candidates = np.flatnonzero((ratio >= threshold) & (scores >= min_score))
    cuts: list[int] = []
    for c in candidates.tolist():
        if c == 0:
            continue
        if cuts and c - cuts[-1] < min_shot:
            if scores[c] > scores[cuts[-1]]:
                cuts[-1] = c
            continue
        cuts.append(c)
    return cuts


def runs_below(values: npt.NDArray[np.float32], limit: float, min_len: int = 1) -> list[FrameRange]:
    """Half-open runs of frames whose value is below ``limit``."""
    below = np.concatenate([[False], values < limit, [False]])
    edges = np.flatnonzero(np.diff(below.astype(np.int8)))
    runs = [FrameRange(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=False)]
    return [r for r in runs if r.count >= min_len]


def fades_from_luma(luma: npt.NDArray[np.float32], black: list[FrameRange], rate: Fraction) -> list[FrameRange]:
    """Fades through black: a black run extended while the luma keeps falling before it and rising after.

    A run is a fade only if the luma moves gradually (at least 3 frames of
    descent or ascent); a hard cut to a black slate is not a fade.
    """
    n = luma.shape[0]
    limit = max(3, int(rate * 2))  # look at most 2 s each way
    fades: list[FrameRange] = []
    for run in black:
        a = run.start
        steps_in = 0
        while a > 0 and run.start - a < limit and luma[a - 1] > luma[a] + 0.5:
            a -= 1
            steps_in += 1
        b = run.stop
        steps_out = 0
        while b < n and b - run.stop < limit and luma[b] > luma[b - 1] + 0.5:
            b += 1
            steps_out += 1
        if steps_in >= 3 or steps_out >= 3:
            fades.append(FrameRange(a, b))
    return fades
