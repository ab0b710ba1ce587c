"""Where a render's picture and sound come from: a frame range of the master, decoded once.

PyAV seeks once (to the keyframe at or before a point a second before the range's first frame),
demuxes the picture and the sound together and decodes both. Video frames are told by their
presentation timestamp, looked up in the master's frame table: those before the range are dropped
and the decode stops after its last frame. Audio samples are counted from the first frame decoded
after the seek (its timestamp gives its position; the one before it is the decoder's warm-up and
never used) and trimmed to exactly ``floor(start * sr)`` .. ``floor(end * sr)``: the same instants
as the picture. The decode runs in a thread feeding a small bounded queue, so memory stays flat
whatever the master's length.

Both go to ffmpeg as one NUT stream over a pipe (raw video and 32-bit float PCM), each packet with
its own timestamp, relative to the range's start: a VFR master stays VFR, nothing is duplicated
or dropped on the way, and ffmpeg itself seeks nothing. (ffmpeg's own input seek was measured
here to shift AAC audio by 128 samples when it lands on a keyframe.)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import InvalidMediaError
from ..ffmpeg.runner import FFmpegProcess
from ..media.probe import FrameTable, MediaInfo, open_container
from ..media.threads import decode_threads, in_background

__all__ = ["AudioWindow", "FrameRangeSource", "NutWriter", "decode_range"]

_QUEUE = 16  # decoded frames in flight between the decode thread and the render loop
_WRITE_BUFFER = 1 << 22  # bytes the NUT muxer collects before writing to the pipe
_PREROLL = Fraction(1)  # seconds before the range the demuxer seeks to (audio muxed ahead of the picture)


@dataclass(frozen=True)
class AudioWindow:
    """The sound of a range: samples ``floor(start * sr)`` to ``floor(end * sr)`` of the master's first
    audio stream, on the container's clock (the same clock as the picture's timestamps)."""

    start: Fraction
    end: Fraction
    sample_rate: int
    layout: str  # the channel layout, e.g. "stereo"

    @classmethod
    def of(cls, info: MediaInfo, start: Fraction, duration: Fraction) -> AudioWindow | None:
        """The window of ``info``'s first audio stream from ``start`` (container clock) for ``duration``;
        None when the master has no sound."""
        if not info.audio:
            return None
        a0 = info.audio[0]
        return cls(start, start + duration, a0.sample_rate, a0.layout)

    @property
    def first_sample(self) -> int:
        return math.floor(self.start * self.sample_rate)

    @property
    def samples(self) -> int:
        return math.floor(self.end * self.sample_rate) - self.first_sample


def _trimmed(frame: av.AudioFrame, pos: int, lo: int, hi: int, resampler: Any) -> Iterator[av.AudioFrame]:
    """The part of ``frame`` (its first sample at ``pos``) inside ``[lo, hi)``, as packed float frames
    stamped with their first sample's offset from ``lo``."""
    a, b = max(pos, lo), min(pos + frame.samples, hi)
    if b <= a:
        return
    for packed in resampler.resample(frame):
        arr = packed.to_ndarray()  # (1, samples * channels), packed
        ch = len(packed.layout.channels)
        part = np.ascontiguousarray(arr[:, (a - pos) * ch : (b - pos) * ch])
        out = av.AudioFrame.from_ndarray(part, format="flt", layout=packed.layout.name)
        out.sample_rate = packed.sample_rate
        out.pts = a - lo
        out.time_base = Fraction(1, packed.sample_rate)
        yield out


def _slack(frame: av.AudioFrame) -> int:
    """How far (samples) a frame's timestamp may be off its true position: its time base's rounding."""
    tb = Fraction(frame.time_base or Fraction(1, frame.sample_rate))
    return max(1, math.ceil(tb * frame.sample_rate))


def _silence(a: int, b: int, lo: int, audio: AudioWindow) -> av.AudioFrame:
    """Silence for samples ``[a, b)`` of the window starting at ``lo`` (where the master has no sound)."""
    channels = len(av.AudioLayout(audio.layout).channels)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, (b - a) * channels), np.float32), format="flt", layout=audio.layout)
    frame.sample_rate = audio.sample_rate
    frame.pts = a - lo
    frame.time_base = Fraction(1, audio.sample_rate)
    return frame


def _sample_position(frame: av.AudioFrame, stream: Any) -> int:
    """The index of ``frame``'s first sample on the container's clock. Where the timestamps are coarser
    than a sample (Matroska: milliseconds), the position is snapped to a whole number of frames from
    the stream's start, when that is within the timestamp's rounding (codecs with a fixed frame size,
    such as AAC's 1024 samples, never start a frame elsewhere)."""
    tb = Fraction(frame.time_base or Fraction(1, frame.sample_rate))
    sr = frame.sample_rate
    raw = (frame.pts or 0) * tb * sr
    if tb * sr <= 1 or not frame.samples:
        return math.floor(raw + Fraction(1, 2))
    origin = (stream.start_time or 0) * Fraction(stream.time_base) * sr
    snapped = origin + round((raw - origin) / frame.samples) * frame.samples
    return math.floor((snapped if abs(snapped - raw) <= tb * sr else raw) + Fraction(1, 2))


# the render decodes on one thread: its decode runs far ahead of the encoders it feeds (about 330 fps
# of 1080p H.264 on one core, against some 30 encoded), and libav's frame threads cost 10-25 % more
# CPU for the same frames (measured on the sample, 2 cores)
DECODE_THREADS = 1


def decode_range(
    path: Path,
    pts: Sequence[int],
    first: int,
    time_base: Fraction,
    audio: AudioWindow | None = None,
) -> Iterator[tuple[int, av.VideoFrame] | av.AudioFrame]:
    """The master frames whose timestamps are ``pts`` (consecutive frames of the master's frame table,
    starting at master index ``first``; ``time_base`` theirs) as ``(index, frame)`` in presentation
    order, and with ``audio``, the window's sound as audio frames, in demux order between them. The
    video decodes on :data:`DECODE_THREADS` threads.

    Raises:
        InvalidMediaError: the decode failed, or a frame of the range never came out of the decoder.
    """
    if not pts:
        return
    want = np.asarray(pts, dtype=np.int64)

    def work(put: Callable[[Any], None], stop: threading.Event) -> None:
        with open_container(path) as c:
            vs = c.streams.video[0]
            decode_threads(vs, DECODE_THREADS)  # within any task's cap (a cap is at least one)
            streams: list[Any] = [vs]
            a_s = c.streams.audio[0] if audio is not None and c.streams.audio else None
            lo = hi = 0
            resampler = None
            if a_s is not None and audio is not None:
                streams.append(a_s)
                lo, hi = audio.first_sample, audio.first_sample + audio.samples
                resampler = av.AudioResampler(format="flt", layout=audio.layout, rate=audio.sample_rate)
            seek = int(want[0]) - math.ceil(_PREROLL / time_base)
            seeked = first > 0 and seek > 0
            if seeked:
                c.seek(seek, stream=vs, backward=True, any_frame=False)
            video_done = False
            audio_done = a_s is None
            warm = seeked  # the first audio frame after a seek is the decoder's warm-up
            pos: int | None = None
            for packet in c.demux(*streams):
                if stop.is_set():
                    return
                if packet.stream.type == "video":
                    if video_done:
                        continue
                    for frame in packet.decode():
                        if frame.pts is None:
                            continue
                        k = int(np.searchsorted(want, frame.pts))
                        if k < len(want) and want[k] == frame.pts:
                            put((first + k, frame))
                            if k == len(want) - 1:
                                video_done = True
                        elif k >= len(want):
                            video_done = True
                elif not audio_done:
                    for af in packet.decode():
                        if warm:
                            warm = False
                            continue
                        if af.pts is None and pos is None:
                            continue
                        at = _sample_position(af, a_s) if af.pts is not None else pos
                        assert at is not None and audio is not None
                        if pos is None or at - pos > _slack(af):
                            # the master's sound starts after the window does, or has a gap: silence there
                            a, b = max(lo if pos is None else pos, lo), min(at, hi)
                            if b > a:
                                put(_silence(a, b, lo, audio))
                            pos = at
                        for part in _trimmed(af, pos, lo, hi, resampler):
                            put(part)
                        pos += af.samples
                        if pos >= hi:
                            audio_done = True
                if video_done and audio_done:
                    break
            if not video_done:  # the last frames come out when the decoder is flushed
                for frame in vs.codec_context.decode(None):
                    k = int(np.searchsorted(want, frame.pts)) if frame.pts is not None else len(want)
                    if k < len(want) and want[k] == frame.pts:
                        put((first + k, frame))

    expected = first
    try:
        for item in in_background(work, maxsize=_QUEUE, name="vertcut-decode"):
            if isinstance(item, tuple):
                index = item[0]
                if index != expected:
                    raise InvalidMediaError(f"frame {expected} did not decode (next came {index})", path=path)
                expected += 1
            yield item
    except av.error.FFmpegError as exc:
        raise InvalidMediaError(f"decoding failed: {exc}", path=path) from exc
    if expected != first + len(want):
        raise InvalidMediaError(
            f"the decoder stopped at frame {expected}, before the range's end {first + len(want)}", path=path
        )


class _PipeFile:
    """The file-like object PyAV's muxer writes to: ffmpeg's stdin."""

    def __init__(self, proc: FFmpegProcess) -> None:
        self.proc = proc

    def write(self, data: bytes) -> int:
        self.proc.write(data)
        return len(data)

    def flush(self) -> None:
        pass


class NutWriter:
    """Raw frames (and float PCM) with timestamps into ffmpeg's stdin (``-f nut -i pipe:0``).

    ``time_base``: of the video timestamps given to :meth:`write`; ``rate``: the nominal frame rate
    (ffmpeg derives the output time base from it); ``pix_fmt``, ``size``: of every frame; ``audio``:
    the sound's window, whose frames go to :meth:`write_audio`.
    """

    def __init__(
        self,
        proc: FFmpegProcess,
        size: tuple[int, int],
        pix_fmt: str,
        time_base: Fraction,
        rate: Fraction,
        audio: AudioWindow | None = None,
    ) -> None:
        # a frame per write (libav's default is 32 KiB writes: 30 a frame, each a wake-up of ffmpeg)
        self._out = av.open(_PipeFile(proc), "w", format="nut", buffer_size=_WRITE_BUFFER)
        s = self._out.add_stream("rawvideo")
        s.width, s.height, s.pix_fmt = size[0], size[1], pix_fmt
        s.time_base = time_base
        s.codec_context.time_base = time_base
        s.codec_context.framerate = rate
        self._streams: list[Any] = [s]
        self._audio: Any = None
        if audio is not None:
            self._audio = self._out.add_stream("pcm_f32le", rate=audio.sample_rate, layout=audio.layout)
            self._streams.append(self._audio)
        self.time_base = time_base

    def write(self, frame: av.VideoFrame, pts: int, duration: int) -> None:
        frame.pts, frame.time_base = pts, self.time_base
        for packet in self._streams[0].encode(frame):
            packet.duration = duration
            self._out.mux(packet)

    def write_audio(self, frame: av.AudioFrame) -> None:
        for packet in self._audio.encode(frame):
            self._out.mux(packet)

    def close(self) -> None:
        for s in self._streams:
            for packet in s.encode(None):
                self._out.mux(packet)
        self._out.close()


@dataclass(frozen=True)
class FrameRangeSource:
    """A range of the master's frames: what a render task needs to decode it (plain data)."""

    master: Path
    first: int  # master frame index of the range's first frame
    pts: tuple[int, ...]  # the range's timestamps (master time base), from the frame table
    end_pts: int  # where the range ends: the next frame's timestamp, or the master's end
    time_base: Fraction
    rate: Fraction  # the master's nominal frame rate

    @classmethod
    def of(cls, master: Path, table: FrameTable, rate: Fraction, first: int, stop: int) -> FrameRangeSource:
        """Master frames ``first`` .. ``stop - 1``, ending where frame ``stop`` starts (for the last range:
        one frame interval after the last frame, as the split plan ends the master)."""
        n = len(table)
        if stop < n:
            end = int(table.pts[stop])
        else:
            end = int(table.pts[-1]) + (
                int(table.pts[-1] - table.pts[-2]) if n > 1 else max(1, int(1 / rate / table.time_base))
            )
        return cls(master, first, tuple(int(x) for x in table.pts[first:stop]), end, table.time_base, rate)

    @property
    def count(self) -> int:
        return len(self.pts)

    @property
    def duration(self) -> Fraction:
        return (self.end_pts - self.pts[0]) * self.time_base

    def relative(self, k: int) -> tuple[int, int]:
        """(timestamp from the range's start, duration) of the range's ``k``-th frame."""
        nxt = self.pts[k + 1] if k + 1 < len(self.pts) else self.end_pts
        return self.pts[k] - self.pts[0], nxt - self.pts[k]


def measure_args(window: AudioWindow, container_start: Fraction) -> tuple[list[str], str]:
    """ffmpeg input options and a filter head for measuring ``window``'s loudness in the master (an input
    seek to a whole second at least a second before it, then ``atrim`` in samples). A statistic: the
    128 samples ffmpeg's seek may shift AAC by do not matter to it, and planning seeks instead of
    decoding the master from its start for every episode."""
    from ..timebase import to_ffmpeg_seconds

    start = window.start - container_start
    pre = max(0, math.floor(start) - 1)
    lo = math.floor((start - pre) * window.sample_rate)
    args = ["-ss", to_ffmpeg_seconds(Fraction(pre))] if pre > 0 else []
    return args, f"atrim=start_sample={lo}:end_sample={lo + window.samples},"
