"""Reading media: probing and frame tables."""

from .probe import (
    AudioStreamInfo,
    Chapter,
    ColorInfo,
    FrameTable,
    MediaInfo,
    SubtitleStreamInfo,
    VideoStreamInfo,
    check_media_path,
    frame_table,
    open_container,
    probe,
)

__all__ = [
    "AudioStreamInfo",
    "Chapter",
    "ColorInfo",
    "FrameTable",
    "MediaInfo",
    "SubtitleStreamInfo",
    "VideoStreamInfo",
    "check_media_path",
    "frame_table",
    "open_container",
    "probe",
]
