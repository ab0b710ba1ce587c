"""Subtitles: exact-time tracks, accessibility presets, layout, burn-in and lint."""

from .track import Cue, RetimeReport, SubtitleTrack, decode_text, load_subtitles, retime, srt_time, write_srt

__all__ = [
    "Cue",
    "RetimeReport",
    "SubtitleTrack",
    "decode_text",
    "load_subtitles",
    "retime",
    "srt_time",
    "write_srt",
]

from .burn import BurnResult, Finding, ass_events, burn, lint, repair_timing, write_ass
from .style import SafeArea, ScriptLimits, SubtitleStyle

__all__ += [
    "BurnResult",
    "Finding",
    "SafeArea",
    "ScriptLimits",
    "SubtitleStyle",
    "ass_events",
    "burn",
    "lint",
    "repair_timing",
    "write_ass",
]
