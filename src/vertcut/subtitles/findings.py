"""A finding: one problem found in a subtitle track, with the cue's 1-based number and times, the rule
broken, its severity and a suggested fix. ``subs lint`` reports them, the timing repair and the splitting
of long cues report what they did or could not do, and ``subs burn`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .track import srt_time

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    cue: int  # 1-based
    start: Fraction
    end: Fraction
    rule: str
    severity: str  # "error" | "warning"
    message: str
    suggestion: str = ""

    @property
    def cue_index(self) -> int:
        """The cue's 1-based number (same as ``cue``)."""
        return self.cue

    def to_dict(self) -> dict[str, object]:
        return {
            "cue": self.cue,
            "start": srt_time(self.start),
            "end": srt_time(self.end),
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
        }
