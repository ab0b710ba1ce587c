"""Running ffmpeg: the runner, capability checks and filter-value escaping."""

from .filters import escape_filter_path, escape_filter_value
from .runner import (
    FFmpeg,
    FFmpegProcess,
    RunResult,
    ffmpeg_exe,
    ffmpeg_version,
    has_encoder,
    has_filter,
    has_muxer,
    require_filter,
)

__all__ = [
    "FFmpeg",
    "FFmpegProcess",
    "RunResult",
    "escape_filter_path",
    "escape_filter_value",
    "ffmpeg_exe",
    "ffmpeg_version",
    "has_encoder",
    "has_filter",
    "has_muxer",
    "require_filter",
]
