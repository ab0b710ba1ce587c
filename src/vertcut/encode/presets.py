"""Encoding presets: ABR ladders and platform upload masters (``presets/ladder``, ``presets/platform``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..presets import register_kind

__all__ = ["LadderPreset", "Loudness", "PlatformSpec", "Rung"]


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    crf: int
    maxrate_k: int  # capped CRF: the VBV cap
    bufsize_k: int = 0  # default 2 x maxrate

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"rung {self.name}: width and height must be even")
        if not 0 <= self.crf <= 63:
            raise ValueError(f"rung {self.name}: crf must be within 0..63")


@dataclass(frozen=True)
class Loudness:
    integrated: float = -14.0  # LUFS
    true_peak: float = -1.5  # dBTP
    lra: float = 11.0  # LU


@dataclass(frozen=True)
class LadderPreset:
    codec: Literal["h264", "hevc", "av1"] = "h264"
    speed: str = "veryfast"  # x264/x265 preset, or SVT-AV1 preset number as text
    segment_seconds: int = 2
    profile: str = "high"
    audio_bitrate_k: int = 128
    no_audio: Literal["silence", "none"] = "silence"
    loudness: Loudness = field(default_factory=Loudness)
    rungs: tuple[Rung, ...] = ()

    def __post_init__(self) -> None:
        if not self.rungs:
            raise ValueError("a ladder needs at least one [[rungs]] entry")
        if self.codec != "h264" and self.profile == "high":
            object.__setattr__(self, "profile", "main")
        if self.segment_seconds < 1:
            raise ValueError("segment_seconds must be >= 1")


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    width: int = 1080
    height: int = 1920
    fps_min: float = 23.0
    fps_max: float = 60.0
    max_duration_s: float = 600.0
    min_duration_s: float = 1.0
    max_size_mb: float = 500.0
    video_bitrate_k: int = 8000
    audio_bitrate_k: int = 192
    codec: Literal["h264", "hevc"] = "h264"
    crf: int = 18
    max_bitrate_k: int = 0  # platform's limit on the file's average bit rate (0: none published)
    gop_seconds: float = 1.0  # closed GOP length of the master
    speed: str = "medium"  # x264/x265 preset of the master
    subtitles: Literal["sidecar", "none"] = "none"  # soft subtitles: SRT files beside the master, or none

    def __post_init__(self) -> None:
        if self.fps_min > self.fps_max:
            raise ValueError("fps_min is above fps_max")
        if self.min_duration_s > self.max_duration_s:
            raise ValueError("min_duration_s is above max_duration_s")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even")
        if self.gop_seconds <= 0:
            raise ValueError("gop_seconds must be positive")


register_kind("ladder", LadderPreset)
register_kind("platform", PlatformSpec)
