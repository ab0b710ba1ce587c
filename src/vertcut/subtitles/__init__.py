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

from .burn import (
    BurnOptions,
    BurnResult,
    Finding,
    Picture,
    SubtitleLayer,
    ass_events,
    burn,
    lint,
    repair_timing,
    subtitle_layer,
    write_ass,
)
from .style import SafeArea, ScriptLimits, SubtitleStyle

__all__ += [
    "BurnOptions",
    "BurnResult",
    "Finding",
    "Picture",
    "SafeArea",
    "ScriptLimits",
    "SubtitleLayer",
    "SubtitleStyle",
    "ass_events",
    "burn",
    "lint",
    "repair_timing",
    "subtitle_layer",
    "write_ass",
]
