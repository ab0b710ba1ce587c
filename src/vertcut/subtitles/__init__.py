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

from .ass import ass_events, write_ass
from .findings import Finding
from .layer import (
    BurnOptions,
    BurnResult,
    Picture,
    SubtitleLayer,
    SubtitlePlan,
    burn,
    draw_layer,
    plan_subtitles,
    subtitle_layer,
)
from .lint import lint
from .style import SafeArea, ScriptLimits, SubtitleStyle
from .timing import repair_timing

__all__ += [
    "BurnOptions",
    "BurnResult",
    "Finding",
    "Picture",
    "SafeArea",
    "ScriptLimits",
    "SubtitleLayer",
    "SubtitlePlan",
    "SubtitleStyle",
    "ass_events",
    "burn",
    "draw_layer",
    "lint",
    "plan_subtitles",
    "repair_timing",
    "subtitle_layer",
    "write_ass",
]
