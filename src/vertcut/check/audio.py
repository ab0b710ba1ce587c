"""Loudness and sound per episode against a delivery profile, and the series' consistency.

One ffmpeg run per episode: ``ebur128`` (BS.1770 meter: integrated loudness, loudness range, true peak)
with its per-100 ms momentary and short-term values written by ``ametadata`` for the curve.
"""

from __future__ import annotations

import re
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FFmpegError
from ..ffmpeg import FFmpeg, escape_filter_path
from .findings import Finding
from .profiles import LoudnessProfile

__all__ = ["Loudness", "evaluate", "measure", "series_findings"]

_SUMMARY = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS.*?LRA:\s*(?P<lra>-?[\d.]+) LU.*?"
    r"True peak:\s*Peak:\s*(?P<tp>-?[\d.]+|-inf) dBFS",
    re.S,
)


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS (-inf: silence)
    lra: float  # LU
    true_peak: float  # dBTP
    curve: list[tuple[float, float, float]] = field(default_factory=list)  # (seconds, momentary, short-term)

    @property
    def max_short_term(self) -> float | None:
        values = [s for _, _, s in self.curve if s > -70]
        return max(values) if values else None

    def to_json(self) -> dict[str, Any]:
        return {"integrated": self.integrated, "lra": self.lra, "true_peak": self.true_peak,
                "max_short_term": self.max_short_term}  # fmt: skip


def measure(ff: FFmpeg, path: Path) -> Loudness | None:
    """The episode's loudness, or None when it has no sound.

    Raises:
        FFmpegError: ffmpeg could not read the file's audio.
    """
    import av

    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None
    meter = ff.replace(loglevel="info")
    with tempfile.TemporaryDirectory(prefix="vertcut-check-") as tmp:
        log = Path(tmp) / "r128.txt"
        af = f"ebur128=peak=true:metadata=1:framelog=quiet,ametadata=mode=print:file={escape_filter_path(log)}"
        res = meter.run(["-i", str(path), "-map", "0:a:0", "-af", af, "-f", "null", "-"], stage="check loudness")
        if res.dry_run:
            return Loudness(-14.0, 5.0, -2.0)
        found = list(_SUMMARY.finditer(res.stderr_tail))
        if not found:
            raise FFmpegError("ebur128 printed no loudness summary", argv=res.argv, stderr_tail=res.stderr_tail)
        m = found[-1]
        curve, t, mom = [], 0.0, -120.0
        for line in log.read_text().splitlines():
            if line.startswith("frame:"):
                hit = re.search(r"pts_time:(-?[\d.]+)", line)
                t = float(hit.group(1)) if hit else t
            elif line.startswith("lavfi.r128.M="):
                mom = float(line.split("=", 1)[1])
            elif line.startswith("lavfi.r128.S="):
                curve.append((t, mom, float(line.split("=", 1)[1])))
    thin = curve[:: max(1, len(curve) // 1200)]  # at most ~1200 points per episode for the plot
    return Loudness(float(m["i"]), float(m["lra"]), float(m["tp"]), thin)


def evaluate(loud: Loudness | None, profile: LoudnessProfile, name: str, episode: str) -> list[Finding]:
    """The episode against the profile ``name``."""
    if loud is None:
        return [Finding("loudness", "no_audio", "warning", "the episode has no sound", episode)]
    out = []
    i, want, tol = loud.integrated, profile.integrated, profile.tolerance
    if abs(i - want) > tol:
        out.append(Finding("loudness", "integrated", "error",
                           f"integrated loudness {i:.1f} LUFS; the {name} profile wants {want:g} +-{tol:g} LU", episode,
                           detail={"measured": i, "target": want, "tolerance": tol}))  # fmt: skip
    if loud.true_peak > profile.true_peak:
        out.append(Finding("loudness", "true_peak", "error",
                           f"true peak {loud.true_peak:.1f} dBTP above the {name} ceiling of {profile.true_peak:g} dBTP",
                           episode, detail={"measured": loud.true_peak, "limit": profile.true_peak}))  # fmt: skip
    if loud.lra > profile.max_lra:
        out.append(Finding("loudness", "lra", "warning",
                           f"loudness range {loud.lra:.1f} LU above {profile.max_lra:g} LU ({name})", episode,
                           detail={"measured": loud.lra, "limit": profile.max_lra}))  # fmt: skip
    st = loud.max_short_term
    if profile.short_term_over and st is not None and st > i + profile.short_term_over:
        out.append(Finding("loudness", "short_term", "warning",
                           f"short-term loudness reaches {st:.1f} LUFS, {st - i:.1f} LU above the integrated "
                           f"(limit {profile.short_term_over:g} LU: a stinger older viewers will turn down)", episode,
                           detail={"max_short_term": st, "limit": profile.short_term_over}))  # fmt: skip
    return out


def series_findings(levels: dict[str, float], profile: LoudnessProfile) -> tuple[float | None, list[Finding]]:
    """Episode-to-episode consistency: each within ``series_spread`` LU of the series' median."""
    finite = {k: v for k, v in levels.items() if v > -70}
    if len(finite) < 2:
        return (next(iter(finite.values())) if finite else None), []
    median = statistics.median(finite.values())
    out = []
    for ep, v in finite.items():
        if abs(v - median) > profile.series_spread:
            text = f"{v - median:+.1f} LU from the series' median ({median:.1f} LUFS; limit +-{profile.series_spread:g} LU)"
            out.append(Finding("loudness", "series_spread", "warning", text, ep,
                               detail={"integrated": v, "median": median}))  # fmt: skip
    return median, out
