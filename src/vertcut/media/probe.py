"""Probe media with PyAV into frozen dataclasses.

``probe(path)`` opens the container once, reads the stream headers, decodes
the first video frame (for the display-matrix rotation) and demuxes every
packet (not decoding) to build the real presentation-time table, so the frame
rate and the VFR flag come from the timestamps the file actually holds, not
from its header. A header that promises far more media than the packets hold
(a damaged or forged file) is an error.

All times are exact: ``Fraction`` seconds or integer pts in a ``Fraction``
time base.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError, MediaNotFoundError, NoVideoStreamError
from ..timebase import parse_rate

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

_PRIMARIES = {
    1: "bt709",
    4: "bt470m",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    9: "bt2020",
    11: "smpte431",
    12: "smpte432",
}
_TRANSFER = {
    1: "bt709",
    4: "gamma22",
    5: "gamma28",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    18: "arib-std-b67",
}
_MATRIX = {0: "gbr", 1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
_HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}
# how far the header's duration may exceed what the packets hold (seconds)
_DURATION_SLACK = Fraction(1, 2)


@dataclass(frozen=True)
class ColorInfo:
    primaries: str | None
    transfer: str | None
    matrix: str | None
    range: str | None
    bit_depth: int

    @property
    def is_hdr(self) -> bool:
        return self.transfer in _HDR_TRANSFERS


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int
    codec: str
    profile: str | None
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    start_pts: int | None
    frame_rate: Fraction
    average_rate: Fraction | None
    is_vfr: bool
    frame_count: int
    duration: Fraction | None
    rotation: int
    sar: Fraction
    color: ColorInfo
    bit_rate: int | None
    has_b_frames: bool

    @property
    def dar(self) -> Fraction:
        """Display aspect ratio of the stored picture (before rotation)."""
        return Fraction(self.width, self.height) * self.sar

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown: square pixels, rotation applied."""
        w = round(self.width * self.sar) if self.sar >= 1 else self.width
        h = self.height if self.sar >= 1 else round(self.height / self.sar)
        return (h, w) if self.rotation % 180 == 90 else (w, h)

    @property
    def is_portrait(self) -> bool:
        w, h = self.display_size
        return h > w


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str
    time_base: Fraction
    start_pts: int | None
    duration: Fraction | None
    bit_rate: int | None
    language: str | None


@dataclass(frozen=True)
class SubtitleStreamInfo:
    index: int
    codec: str
    language: str | None
    title: str | None


@dataclass(frozen=True)
class Chapter:
    start: Fraction
    end: Fraction
    title: str | None


@dataclass(frozen=True)
class MediaInfo:
    path: str
    format_name: str
    size_bytes: int
    duration: Fraction | None
    start_time: Fraction
    bit_rate: int | None
    video: tuple[VideoStreamInfo, ...]
    audio: tuple[AudioStreamInfo, ...]
    subtitles: tuple[SubtitleStreamInfo, ...]
    chapters: tuple[Chapter, ...]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def primary_video(self) -> VideoStreamInfo | None:
        return self.video[0] if self.video else None

    def require_video(self) -> VideoStreamInfo:
        """The first video stream; raises :class:`NoVideoStreamError` if there is none."""
        if not self.video:
            what = "audio only" if self.audio else "no audio or video"
            raise NoVideoStreamError(f"has no video stream ({what})", path=self.path)
        return self.video[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: Fractions become ``"num/den"`` strings."""
        out: dict[str, Any] = _jsonable(self)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if hasattr(value, "__dataclass_fields__"):
        out = {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
        for extra in ("dar", "display_size", "is_hdr", "is_portrait"):
            if hasattr(type(value), extra):
                out[extra] = _jsonable(getattr(value, extra))
        return out
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class FrameTable:
    """Presentation timestamps of every frame of one video stream, in order."""

    time_base: Fraction
    pts: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    def seconds(self, index: int) -> Fraction:
        return int(self.pts[index]) * self.time_base

    def frame_at(self, seconds: Fraction) -> int:
        """Index of the frame shown at ``seconds`` (the last frame starting at or before it)."""
        target = Fraction(seconds) / self.time_base
        # pts are ints: the last pts <= target is the last pts <= floor(target)
        i = int(np.searchsorted(self.pts, int(target // 1), side="right")) - 1
        return max(0, min(i, len(self) - 1))

    def nearest_frame(self, seconds: Fraction) -> int:
        """Index of the frame whose start is nearest to ``seconds`` (ties go to the later frame)."""
        i = self.frame_at(seconds)
        if i + 1 < len(self):
            a, b = self.seconds(i), self.seconds(i + 1)
            if b - seconds <= seconds - a:
                return i + 1
        return i


def check_media_path(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` names a non-empty regular file, before anything opens it.

    A FIFO or device would make a demuxer block forever, so it is refused here.

    Raises:
        MediaNotFoundError: nothing at ``path``.
        InvalidMediaError: a directory, a special file, or an empty file.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaNotFoundError("no such file", path=p) from None
    except PermissionError:
        raise InvalidMediaError("permission denied", path=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidMediaError("is a directory, not a media file", path=p)
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device"
        raise InvalidMediaError(f"is {kind}, not a regular file", path=p)
    if st.st_size == 0:
        raise InvalidMediaError("is empty (0 bytes)", path=p)
    return p


def _diagnose_unreadable(p: Path) -> str:
    with p.open("rb") as fh:
        head = fh.read(4096)
    boxes = _top_level_boxes(p)
    if boxes and "ftyp" in boxes and "moov" not in boxes:
        return "truncated or unfinished MP4/MOV: it has no 'moov' index (the writer did not finish)"
    try:
        text = head.decode("utf-8")
        if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text.lstrip("\ufeff")):
            return "is a text file, not media"
    except UnicodeDecodeError:
        pass
    return "not a media file ffmpeg can read (invalid data)"


def _top_level_boxes(p: Path) -> list[str]:
    """Names of the top-level ISO-BMFF boxes (empty if the file is not one)."""
    names: list[str] = []
    size_total = p.stat().st_size
    with p.open("rb") as fh:
        pos = 0
        while pos + 8 <= size_total and len(names) < 64:
            fh.seek(pos)
            hdr = fh.read(16)
            size = int.from_bytes(hdr[:4], "big")
            name = hdr[4:8].decode("latin-1")
            if not name.isalnum() and name not in ("uuid",):
                break
            if size == 1 and len(hdr) >= 16:
                size = int.from_bytes(hdr[8:16], "big")
            elif size == 0:
                size = size_total - pos
            if size < 8:
                break
            names.append(name)
            pos += size
    return names


def open_container(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open ``path`` for reading with PyAV, mapping failures to vertcut errors."""
    p = check_media_path(path)
    try:
        return av.open(str(p), mode="r", metadata_errors="replace")
    except av.error.FileNotFoundError:
        raise MediaNotFoundError("no such file", path=p) from None
    except av.error.PermissionError:
        raise InvalidMediaError("permission denied", path=p) from None
    except (av.error.InvalidDataError, av.error.EOFError):
        raise InvalidMediaError(_diagnose_unreadable(p), path=p) from None
    except av.error.FFmpegError as exc:
        raise InvalidMediaError(f"cannot open: {exc.strerror}", path=p) from None


def _exact(value: Any) -> Fraction:
    """A PyAV rational (typed as optional) as an exact Fraction."""
    return Fraction(value)


def _fraction(value: Any) -> Fraction | None:
    """A positive Fraction from a PyAV rational, else None."""
    if value is None:
        return None
    f = Fraction(value)
    return f if f > 0 else None


def _color(cc: Any, fmt: Any) -> ColorInfo:
    depth = 8
    if fmt is not None and getattr(fmt, "components", None):
        depth = max(int(c.bits) for c in fmt.components)
    rng = {1: "tv", 2: "pc"}.get(int(cc.color_range or 0))
    return ColorInfo(
        primaries=_PRIMARIES.get(int(cc.color_primaries or 2)),
        transfer=_TRANSFER.get(int(cc.color_trc or 2)),
        matrix=_MATRIX.get(int(cc.colorspace or 2)),
        range=rng,
        bit_depth=depth,
    )


def _rate_from_pts(pts: npt.NDArray[np.int64], time_base: Fraction) -> tuple[Fraction | None, bool]:
    """Frame rate and VFR flag from a sorted pts table."""
    if pts.shape[0] < 2:
        return None, False
    deltas = np.diff(pts)
    lo, hi = int(deltas.min()), int(deltas.max())
    median = int(np.median(deltas))
    # one tick of jitter is rounding (29.97 in a 1/1000 time base gives 33,34,33)
    is_vfr = hi - lo > max(1, median // 200)
    span = int(pts[-1] - pts[0])
    if span <= 0:
        return None, is_vfr
    rate = Fraction(int(pts.shape[0]) - 1) / (span * time_base)
    if not is_vfr:
        rate = parse_rate(float(rate)) if abs(float(rate) - round(float(rate))) > 1e-3 else Fraction(round(rate))
    return rate, is_vfr


def _scan_packets(container: Any) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Demux every packet: pts lists per video stream, last end tick per stream."""
    pts: dict[int, list[int]] = {s.index: [] for s in container.streams.video}
    ends: dict[int, int] = {}
    streams = [s for s in container.streams if s.type in ("video", "audio")]
    if not streams:
        return pts, ends
    for packet in container.demux(streams):
        if packet.pts is None and packet.dts is None:
            continue
        t = packet.pts if packet.pts is not None else packet.dts
        idx = packet.stream.index
        if idx in pts and not packet.is_discard:
            pts[idx].append(int(t))
        end = int(t) + int(packet.duration or 0)
        if end > ends.get(idx, -(2**62)):
            ends[idx] = end
    return pts, ends


def frame_table(path: str | os.PathLike[str], stream_index: int | None = None) -> FrameTable:
    """Every frame's presentation timestamp for one video stream (first by default).

    Reads packets only (no decoding), so it is fast and its memory is one
    int64 per frame.

    Raises:
        NoVideoStreamError: the file has no video stream.
    """
    with open_container(path) as container:
        streams = container.streams.video
        if not streams:
            raise NoVideoStreamError("has no video stream", path=Path(path))
        stream = streams[0] if stream_index is None else container.streams[stream_index]
        values: list[int] = []
        for packet in container.demux(stream):
            if packet.pts is not None and not packet.is_discard:
                values.append(int(packet.pts))
        tb = _exact(stream.time_base)
    arr = np.array(values, dtype=np.int64)
    arr.sort()
    return FrameTable(tb, arr)


def probe(path: str | os.PathLike[str], *, scan: bool = True) -> MediaInfo:
    """Describe a media file.

    Args:
        path: the file.
        scan: demux every packet for the exact frame table (frame rate, VFR
            flag, frame count, true duration). ``False`` trusts the header.

    Raises:
        MediaNotFoundError, InvalidMediaError: see :func:`check_media_path`;
            also for damaged files and headers that promise more media than
            the file holds.
    """
    p = check_media_path(path)
    with open_container(p) as c:
        size = p.stat().st_size
        duration = Fraction(c.duration, 1_000_000) if c.duration else None
        start_time = Fraction(c.start_time or 0, 1_000_000)
        rotation = 0
        if c.streams.video:
            rotation = _first_frame_rotation(c, p)
            c.seek(0)
        pts_tables, ends = _scan_packets(c) if scan else ({}, {})
        videos = tuple(
            _video_info(s, pts_tables.get(s.index), rotation if i == 0 else 0) for i, s in enumerate(c.streams.video)
        )
        audios = tuple(_audio_info(s) for s in c.streams.audio)
        subs = tuple(
            SubtitleStreamInfo(
                s.index, s.codec_context.name if s.codec_context else "unknown", s.language, s.metadata.get("title")
            )
            for s in c.streams.subtitles
        )
        chapters = tuple(
            Chapter(
                Fraction(ch["start"]) * _exact(ch["time_base"]),
                Fraction(ch["end"]) * _exact(ch["time_base"]),
                (ch.get("metadata") or {}).get("title"),
            )
            for ch in c.chapters()
        )
        actual_end: Fraction | None = None
        if ends:
            actual_end = max(Fraction(e) * _exact(c.streams[i].time_base) for i, e in ends.items())
        info = MediaInfo(
            path=str(p),
            format_name=c.format.name,
            size_bytes=size,
            duration=duration,
            start_time=start_time,
            bit_rate=c.bit_rate or None,
            video=videos,
            audio=audios,
            subtitles=subs,
            chapters=chapters,
            metadata=dict(c.metadata),
        )
    if scan:
        _check_duration(info, actual_end)
    return info


def _first_frame_rotation(c: Any, p: Path) -> int:
    try:
        for frame in c.decode(video=0):
            return int(frame.rotation or 0) % 360
    except av.error.FFmpegError as exc:
        raise InvalidMediaError(f"cannot decode video: {exc.strerror}", path=p) from None
    return 0


def _check_duration(info: MediaInfo, actual_end: Fraction | None) -> None:
    if info.duration is None:
        return
    if actual_end is None:
        raise InvalidMediaError(
            f"header declares {float(info.duration):.3f} s of media but the file holds no packets", path=info.path
        )
    # containers disagree on whether "duration" spans from the start time or
    # from zero (Matroska); measure from zero, the lenient reading
    held = actual_end
    # a little slack for streams that end a frame early; more missing means the
    # file was cut short (a fast-start MP4 keeps its index but loses its data)
    # or its header lies
    if info.duration - held > max(_DURATION_SLACK, info.duration / 20):
        raise InvalidMediaError(
            f"header declares {_hms(info.duration)} ({float(info.duration):.3f} s) but the file holds only "
            f"{float(held):.3f} s of packets ({info.size_bytes} bytes): truncated or damaged",
            path=info.path,
        )


def _hms(seconds: Fraction) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _video_info(s: Any, pts: list[int] | None, rotation: int) -> VideoStreamInfo:
    cc = s.codec_context
    tb = _exact(s.time_base)
    fmt = cc.format
    avg = _fraction(s.average_rate)
    table = np.array(sorted(pts), dtype=np.int64) if pts else np.zeros(0, dtype=np.int64)
    rate, is_vfr = _rate_from_pts(table, tb)
    if rate is None:
        rate = avg or _fraction(s.guessed_rate) or Fraction(25)
    frame_count = int(table.shape[0]) if pts is not None else int(s.frames or 0)
    duration: Fraction | None = None
    if table.shape[0]:
        # the last frame lasts one frame interval
        duration = (int(table[-1] - table[0]) * tb) + 1 / rate
    elif s.duration:
        duration = s.duration * tb
    return VideoStreamInfo(
        index=s.index,
        codec=cc.name,
        profile=s.profile,
        width=cc.width,
        height=cc.height,
        pix_fmt=fmt.name if fmt is not None else None,
        time_base=tb,
        start_pts=int(table[0]) if table.shape[0] else s.start_time,
        frame_rate=rate,
        average_rate=avg,
        is_vfr=is_vfr,
        frame_count=frame_count,
        duration=duration,
        rotation=rotation,
        sar=_fraction(s.sample_aspect_ratio) or Fraction(1),
        color=_color(cc, fmt),
        bit_rate=cc.bit_rate or None,
        has_b_frames=bool(getattr(cc, "has_b_frames", 0)),
    )


def _audio_info(s: Any) -> AudioStreamInfo:
    cc = s.codec_context
    tb = _exact(s.time_base)
    return AudioStreamInfo(
        index=s.index,
        codec=cc.name,
        sample_rate=int(cc.sample_rate or 0),
        channels=int(cc.channels or 0),
        layout=cc.layout.name if cc.layout is not None else "unknown",
        time_base=tb,
        start_pts=s.start_time,
        duration=s.duration * tb if s.duration else None,
        bit_rate=cc.bit_rate or None,
        language=s.language,
    )
