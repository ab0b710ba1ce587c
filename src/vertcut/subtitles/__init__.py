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
