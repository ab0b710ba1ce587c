"""What a check found: one :class:`Finding` per problem, with its time range when it has one."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

__all__ = ["Finding", "frac"]

Severity = Literal["error", "warning"]


def frac(x: Fraction | None) -> str | None:
    """Exact seconds as JSON holds them (``"num/den"``)."""
    if x is None:
        return None
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


@dataclass(frozen=True)
class Finding:
    check: str  # flash, loudness, pace, subtitles, delivery
    rule: str  # general_flash, integrated, true_peak, series_spread, cuts_per_minute, bandwidth, ...
    severity: Severity
    message: str
    episode: str = ""
    start: Fraction | None = None  # seconds from the episode's first frame
    end: Fraction | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "rule": self.rule, "severity": self.severity, "message": self.message,
                "episode": self.episode or None, "start": frac(self.start), "end": frac(self.end),
                "start_s": None if self.start is None else float(self.start),
                "end_s": None if self.end is None else float(self.end), "detail": self.detail}  # fmt: skip
