"""``subs lint``: every rule of the subtitle preset checked on a track laid out as the burn lays it out
(glyph coverage, lines and their width in the real font, 避头尾 and word breaks, characters per line and
per second, durations, CJK punctuation, overlaps and gaps), each finding with the cue, its time, the rule
and a suggested fix, saying for the timing rules and the long cues whether ``subs burn`` repairs them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction

from ..timebase import parse_time
from .findings import Finding
from .fonts import advance, font_for, missing_glyphs
from .layout import NO_END, NO_START, display_len, word_boundaries
from .placement import REF_H, REF_W, _layout, ass_fontsize
from .style import SubtitleStyle, _style
from .timing import repair_timing, split_long_cues
from .track import SubtitleTrack, srt_time

__all__ = ["lint"]


def lint(
    track: SubtitleTrack, *, preset: str | SubtitleStyle, lang: str | None = None, rate: Fraction | None = None
) -> list[Finding]:
    """Every rule of the preset checked; each finding with cue number, time, rule and a suggested fix."""
    style = _style(preset)
    lang = lang or track.language or "zh"
    rate = rate or Fraction(25)
    font = font_for(lang, style.font_family(lang))
    limits = style.limits_for(lang)
    size = ass_fontsize(style, font, REF_H)
    lines_all = _layout(track, style, lang, REF_W, font, size, (style.margin_side_px, style.margin_bottom_px))
    min_d, max_d = parse_time(style.min_duration, rate), parse_time(style.max_duration, rate)
    gap = Fraction(style.min_gap_frames) / rate
    chain = parse_time(style.chain_gap, rate)
    out: list[Finding] = []
    cues = track.cues
    for i, (c, lines) in enumerate(zip(cues, lines_all, strict=True), 1):
        dur = c.end - c.start
        missing = missing_glyphs(c.text, font)
        if missing:
            names = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in missing)
            out.append(
                Finding(
                    i,
                    c.start,
                    c.end,
                    "glyph-coverage",
                    "error",
                    f"{font.family} has no glyph for {names}",
                    "replace the characters or use another language's preset",
                )
            )
        if len(lines) > style.max_lines:
            out.append(
                Finding(
                    i,
                    c.start,
                    c.end,
                    "max-lines",
                    "error",
                    f"{len(lines)} lines (max {style.max_lines})",
                    "split the cue in two in time",
                )
            )
        usable_px = REF_W - 2 * style.margin_side_px - (2 * style.box_padding_px if style.border == "box" else 0)
        em_px = size / font.libass_ratio
        for ln in lines:
            width = advance(ln, font) * em_px + 2 * (style.outline_px if style.border == "outline" else 0)
            if width > usable_px:
                out.append(
                    Finding(i, c.start, c.end, "line-width", "error",
                            f"line {ln!r} is {width:.0f} px wide in {font.family} (usable {usable_px:.0f} px of 1080)",
                            "condense the text or add a line break")
                )  # fmt: skip
        cjk = lang.split("-")[0].lower() in ("zh", "ja", "ko", "yue", "cmn")
        for k in range(1, len(lines)):
            a, b = lines[k - 1], lines[k]
            if cjk and (b[:1] in NO_START or a[-1:] in NO_END):
                bad = b[0] if b[:1] in NO_START else a[-1]
                out.append(
                    Finding(i, c.start, c.end, "break-punctuation", "error",
                            f"line break {a!r} / {b!r} puts {bad!r} at a line "
                            f"{'start' if b[:1] in NO_START else 'end'} (避头尾)",
                            "move the punctuation mark to the other line")
                )  # fmt: skip
            elif "\n" in c.text and lang.split("-")[0].lower() in ("zh", "ja", "th"):
                joined = "".join(lines)
                cut = len("".join(lines[:k]))
                if cut not in word_boundaries(joined, lang):
                    out.append(
                        Finding(i, c.start, c.end, "break-inside-word", "warning",
                                f"line break {a[-2:]!r}|{b[:2]!r} splits a word",
                                "break at a word boundary (or drop the explicit break and let vertcut lay it out)")
                    )  # fmt: skip
        for ln in lines:
            if display_len(ln) > limits.max_chars_per_line:
                out.append(
                    Finding(
                        i,
                        c.start,
                        c.end,
                        "max-chars-per-line",
                        "error",
                        f"line of {int(display_len(ln))} characters (max {limits.max_chars_per_line}): {ln!r}",
                        "condense the text or split the cue",
                    )
                )
        chars = display_len(c.text.replace("\n", ""))
        cps = float(chars / dur) if dur > 0 else float("inf")
        if cps > limits.max_cps:
            out.append(
                Finding(
                    i,
                    c.start,
                    c.end,
                    "max-cps",
                    "error",
                    f"{cps:.1f} characters/s (max {limits.max_cps:g})",
                    f"keep it on screen at least {float(Fraction(chars) / Fraction(limits.max_cps).limit_denominator(1000)):.2f} s or condense",
                )
            )
        if dur < min_d:
            out.append(
                Finding(
                    i,
                    c.start,
                    c.end,
                    "min-duration",
                    "error",
                    f"on screen {float(dur):.2f} s (min {float(min_d):.2f} s)",
                    "extend the out-time into the gap after it",
                )
            )
        if cjk:
            half = sorted({m.group(0) for m in _HALF_WIDTH_IN_CJK.finditer(c.text)})
            if "..." in c.text:
                half.append("...")
            if half:
                bad = ", ".join(repr(h) for h in half)
                out.append(
                    Finding(i, c.start, c.end, "cjk-punctuation", "warning",
                            f"half-width punctuation {bad} in Chinese text",
                            "use full-width ，。？！：；“” and …… / … instead")
                )  # fmt: skip
        if dur > max_d:
            out.append(
                Finding(
                    i,
                    c.start,
                    c.end,
                    "max-duration",
                    "warning",
                    f"on screen {float(dur):.2f} s (max {float(max_d):.2f} s)",
                    "split the cue",
                )
            )
        if i < len(cues):
            nxt = cues[i]
            if nxt.start < c.end:
                out.append(
                    Finding(
                        i,
                        c.start,
                        c.end,
                        "overlap",
                        "error",
                        f"overlaps cue {i + 1}",
                        "end it two frames before the next one",
                    )
                )
            elif nxt.start - c.end < gap:
                out.append(
                    Finding(
                        i,
                        c.start,
                        c.end,
                        "min-gap",
                        "error",
                        f"gap {float(nxt.start - c.end) * 1000:.0f} ms (min {style.min_gap_frames} frames)",
                        f"end it {style.min_gap_frames} frames before the next cue",
                    )
                )
            elif gap < nxt.start - c.end < chain:
                out.append(
                    Finding(i, c.start, c.end, "flicker-gap", "warning",
                            f"gap {float(nxt.start - c.end) * 1000:.0f} ms before cue {i + 1} (under {float(chain):g} s "
                            f"the picture flickers)", f"chain the cues: end it {style.min_gap_frames} frames before the next")
                )  # fmt: skip
    return _with_repairs(out, track, style, lang, rate)


_HALF_WIDTH_IN_CJK = re.compile(r"(?<=[\u3400-\u9fff])[,.?!:;]|[,?!:;](?=[\u3400-\u9fff])")
_TIMING_RULES = ("min-duration", "max-cps", "min-gap", "flicker-gap")


def _with_repairs(
    findings: list[Finding], track: SubtitleTrack, style: SubtitleStyle, lang: str, rate: Fraction
) -> list[Finding]:
    """Tell, for each timing finding, whether ``subs burn``'s timing repair fixes it."""
    repaired, _ = repair_timing(track, style, lang, rate)
    cues = repaired.cues
    _, splits = split_long_cues(track, style, lang, rate)
    split_msg = {f.cue: f.message.split(": ", 1)[1] for f in splits}
    gap = Fraction(style.min_gap_frames) / rate
    min_d = parse_time(style.min_duration, rate)
    max_cps = Fraction(style.limits_for(lang).max_cps).limit_denominator(1000)
    out = []
    for f in findings:
        if f.rule in _TIMING_RULES:
            c = cues[f.cue - 1]
            nxt = cues[f.cue] if f.cue < len(cues) else None
            dur = c.end - c.start
            fixed = {
                "min-duration": dur >= min_d,
                "max-cps": Fraction(display_len(c.text.replace("\n", ""))) <= max_cps * dur,
                "min-gap": nxt is None or nxt.start - c.end >= gap,
                "flicker-gap": nxt is None or nxt.start - c.end == gap,
            }[f.rule]
            how = f"burn repairs this: out-time {srt_time(c.end)}" if fixed else "burn cannot repair this: no free time"
            f = replace(f, suggestion=f"{f.suggestion} ({how})")
        elif f.rule == "max-lines" and f.cue in split_msg:
            f = replace(f, suggestion=f"{f.suggestion} (burn does it: {split_msg[f.cue]})")
        out.append(f)
    return out
