"""The ASS document libass draws: the script info, one style from the preset (``WrapStyle: 2`` so libass
never re-wraps the lines vertcut broke, ``Encoding: -1`` for Arabic, ``BorderStyle: 4`` for one box per
event) and one event a cue, laid out in the output frame (:mod:`vertcut.subtitles.placement`), its
times floored to centiseconds so it keeps its frame. ``_ass_colour`` also colours the labels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction

from .fonts import FontInfo
from .placement import REF_H, _geometry, _layout
from .sprites import Event
from .style import SafeArea, SubtitleStyle
from .track import SubtitleTrack

__all__ = ["ass_document", "ass_events", "write_ass"]


def _ass_colour(hex_rgb: str, opacity: float = 1.0) -> str:
    r, g, b = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    alpha = round((1 - opacity) * 255)
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def _ass_time(t: Fraction) -> str:
    """ASS centiseconds, floored: a cue starting (ending) on a frame's time then starts (ends) on that frame,
    since frames are more than 10 ms apart; rounding up could show it one frame late."""
    cs = max(0, math.floor(Fraction(t) * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def write_ass(
    track: SubtitleTrack, style: SubtitleStyle, lang: str, size: tuple[int, int], safe: SafeArea | None = None
) -> tuple[str, float, FontInfo]:
    """The ASS document for ``track`` on a ``size`` frame; returns (text, Fontsize, font)."""
    header, events, fontsize, font = ass_events(track, style, lang, size, safe)
    return ass_document(header, events), fontsize, font


def ass_document(header: str, events: Sequence[Event]) -> str:
    """The ASS document of :func:`ass_events`' header and events."""
    doc = [header.rstrip("\n")]
    doc += [f"Dialogue: 0,{_ass_time(e.start)},{_ass_time(e.end)},S,,0,0,0,,{e.text}" for e in events]
    return "\n".join(doc) + "\n"


def ass_events(
    track: SubtitleTrack, style: SubtitleStyle, lang: str, size: tuple[int, int], safe: SafeArea | None = None
) -> tuple[str, list[Event], float, FontInfo]:
    """The ASS header (script info, the one style, the events' format line) and the laid-out events with
    their exact times; returns (header, events, Fontsize, font)."""
    out_w, out_h = size
    k = out_h / REF_H
    font, fontsize, margins = _geometry(style, lang, size, safe)
    lines = _layout(track, style, lang, out_w, font, fontsize, margins)
    box = style.border == "box"
    fields = [
        "S", font.family, f"{fontsize:g}", _ass_colour(style.text_colour), _ass_colour(style.text_colour),
        _ass_colour(style.outline_colour), _ass_colour(style.box_colour if box else style.outline_colour, style.box_opacity if box else 0.5),
        "-1" if style.bold else "0", "0", "0", "0", "100", "100", "0", "0",
        "4" if box else "1",
        f"{0 if box else style.outline_px * k:.1f}",
        f"{style.box_padding_px * k if box else style.shadow_px * k:.1f}",
        "2", str(margins[0]), str(margins[0]), str(margins[1]),
        "-1" if lang.split("-")[0] in ("ar", "fa", "ur", "he") else "1",
    ]  # fmt: skip
    doc = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {out_w}",
        f"PlayResY: {out_h}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        "Style: " + ",".join(fields),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = [
        Event(c.start, c.end, "\\N".join(re.sub(r"[{}\\]", "", ln) for ln in ls))
        for c, ls in zip(track.cues, lines, strict=True)
    ]
    return "\n".join(doc) + "\n", events, fontsize, font
