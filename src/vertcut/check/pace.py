"""Editing pace for older viewers: shot cuts per minute, the shot-length distribution and the share of
shots under a second, against the check preset's advisory limits. The cuts come from the same
detector as the analysis pass (:func:`vertcut.analysis.detect.cuts_from_scores` on mean frame
differences), run on the check's own decode of the delivered episode."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from .findings import Finding
from .profiles import CheckPreset

__all__ = ["Pace", "evaluate", "pace_of"]


@dataclass(frozen=True)
class Pace:
    cuts: tuple[int, ...]  # frames starting a new shot
    shots: tuple[float, ...]  # seconds, in order
    duration: float

    @property
    def cuts_per_minute(self) -> float:
        return len(self.cuts) * 60 / self.duration if self.duration > 0 else 0.0

    @property
    def median_shot(self) -> float:
        return statistics.median(self.shots) if self.shots else 0.0

    def short_share(self, limit: float) -> float:
        return sum(1 for s in self.shots if s < limit) / len(self.shots) if self.shots else 0.0

    def to_json(self, preset: CheckPreset) -> dict[str, Any]:
        return {"cuts": list(self.cuts), "cuts_per_minute": round(self.cuts_per_minute, 2),
                "median_shot_s": round(self.median_shot, 3), "shots_s": [round(s, 3) for s in self.shots],
                "short_shot_share": round(self.short_share(preset.short_shot_s), 3)}  # fmt: skip


def pace_of(scores: npt.NDArray[np.float32], rate: Fraction) -> Pace:
    """Shots from per-frame difference scores (``scores[i]``: frame i against frame i - 1)."""
    from ..analysis import AnalysisParams
    from ..analysis.detect import cuts_from_scores

    p = AnalysisParams()
    cuts = cuts_from_scores(scores, p.threshold, p.min_score, p.window, p.min_shot)
    n = len(scores)
    edges = [0, *cuts, n]
    shots = tuple(float(Fraction(b - a) / rate) for a, b in itertools.pairwise(edges) if b > a)
    return Pace(tuple(cuts), shots, float(Fraction(n) / rate))


def evaluate(pace: Pace, preset: CheckPreset, name: str, episode: str) -> list[Finding]:
    out = []
    if pace.cuts_per_minute > preset.max_cuts_per_minute:
        out.append(Finding("pace", "cuts_per_minute", "warning",
                           f"{pace.cuts_per_minute:.1f} cuts a minute (advisory limit {preset.max_cuts_per_minute:g} for "
                           f"{name})", episode, detail={"cuts_per_minute": pace.cuts_per_minute}))  # fmt: skip
    share = pace.short_share(preset.short_shot_s)
    if share > preset.max_short_shot_share:
        out.append(Finding("pace", "short_shots", "warning",
                           f"{share * 100:.0f} % of shots under {preset.short_shot_s:g} s (advisory limit "
                           f"{preset.max_short_shot_share * 100:.0f} % for {name})", episode,
                           detail={"share": share}))  # fmt: skip
    return out
