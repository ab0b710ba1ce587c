"""The timing repair ``subs burn`` does before it lays out: short cues extended into free gaps (minimum
duration, reading speed), small gaps closed to ``min_gap_frames``, never an overlap; and cues too long
for ``max_lines`` lines split in time at a phrase boundary. Each reports, as findings, what it did or
could not do.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from ..timebase import parse_time
from .findings import Finding
from .layout import NO_END, NO_START, display_len, word_boundaries
from .placement import REF_H, REF_W, _geometry, _layout
from .style import SafeArea, SubtitleStyle
from .track import Cue, SubtitleTrack, srt_time

__all__ = ["repair_timing", "split_long_cues"]


def repair_timing(
    track: SubtitleTrack, style: SubtitleStyle, lang: str, rate: Fraction
) -> tuple[SubtitleTrack, list[Finding]]:
    """Extend short cues into free gaps (minimum duration, reading speed), close small gaps to
    ``min_gap_frames``, never overlap; report what cannot be repaired."""
    gap = Fraction(style.min_gap_frames) / rate
    chain = parse_time(style.chain_gap, rate)
    min_d = parse_time(style.min_duration, rate)
    limits = style.limits_for(lang)
    cues = list(track.cues)
    out: list[Cue] = []
    findings: list[Finding] = []
    for i, c in enumerate(cues):
        nxt = cues[i + 1].start if i + 1 < len(cues) else None
        chars = display_len(c.text.replace("\n", ""))
        need = max(min_d, Fraction(chars) / Fraction(limits.max_cps).limit_denominator(1000))
        end = c.end
        limit = nxt - gap if nxt is not None else None
        if end - c.start < need:
            end = c.start + need if limit is None else min(c.start + need, max(end, limit))
        if limit is not None:
            if end > limit:
                end = max(c.start + gap, limit)  # never overlap the next cue
            elif nxt is not None and nxt - end < chain and end < limit:
                end = limit  # close a small gap to exactly the minimum
        if end - c.start < need:
            findings.append(
                Finding(i + 1, c.start, end, "min-duration" if end - c.start < min_d else "max-cps", "warning",
                        f"cannot reach {float(need):.2f} s on screen before the next cue", "shorten the text or move the next cue")
            )  # fmt: skip
        out.append(replace(c, end=end))
    return replace(track, cues=tuple(out)), findings


def split_long_cues(
    track: SubtitleTrack,
    style: SubtitleStyle,
    lang: str,
    rate: Fraction,
    size: tuple[int, int] = (REF_W, REF_H),
    safe: SafeArea | None = None,
) -> tuple[SubtitleTrack, list[Finding]]:
    """Cues that need more than ``max_lines`` lines split in time at a phrase boundary (after
    punctuation when possible), the time shared by character count, two frames apart, each
    part starting on a frame boundary. Explicitly broken cues are left alone."""
    font, fontsize, margins = _geometry(style, lang, size, safe)
    gap = Fraction(style.min_gap_frames) / rate
    frame = 1 / rate
    out: list[Cue] = []
    findings: list[Finding] = []

    def too_long(c: Cue) -> bool:
        lines = _layout(SubtitleTrack((c,)), style, lang, size[0], font, fontsize, margins)[0]
        return "\n" not in c.text and len(lines) > style.max_lines

    def split(c: Cue, depth: int = 0) -> list[Cue]:
        if depth > 4 or not too_long(c):
            return [c]
        text = c.text.strip()
        cuts = sorted(word_boundaries(text, lang))
        cuts = [i for i in cuts if text[i : i + 1] not in NO_START and text[i - 1 : i] not in NO_END]
        if not cuts:
            return [c]
        half = len(text) / 2

        def cost(i: int) -> float:
            # near the middle; after punctuation is better; halves that both fit are much better
            a, b = text[:i].strip(), text[i:].strip()
            fits = not too_long(replace(c, text=a)) and not too_long(replace(c, text=b))
            return abs(i - half) - (len(text) / 4 if a[-1:] in NO_START else 0) - (len(text) if fits else 0)

        best = min(cuts, key=cost)
        left, right = text[:best].strip(), text[best:].strip()
        t = c.start + (c.end - c.start) * Fraction(len(left), len(left) + len(right))
        t = round(t / frame) * frame
        if t - gap - c.start < frame or c.end - t < frame:
            return [c]
        return split(replace(c, end=t - gap, text=left), depth + 1) + split(replace(c, start=t, text=right), depth + 1)

    for i, c in enumerate(track.cues, 1):
        parts = split(c)
        if len(parts) > 1:
            findings.append(
                Finding(i, c.start, c.end, "split", "warning",
                        f"too long for {style.max_lines} lines: shown as {len(parts)} cues "
                        + " | ".join(f"{srt_time(q.start)} {q.text}" for q in parts), "condense the text")
            )  # fmt: skip
        out += parts
    return replace(track, cues=tuple(out)), findings
