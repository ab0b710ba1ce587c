"""Where a render's picture and sound come from: a frame range of the master, decoded once.

The picture: PyAV seeks to the keyframe at or before the range's first frame, decodes, drops
every frame before it (frames are told by their presentation timestamp, looked up in the
master's frame table) and stops after the last one. The decode runs in a thread feeding a
small bounded queue, so memory stays flat whatever the master's length.

The frames go to ffmpeg as NUT packets of raw video over a pipe, each with its own
timestamp in the master's time base (relative to the range's first frame): a VFR master stays
VFR, and nothing is duplicated or dropped on the way.

The sound: ffmpeg reads the master's audio itself, seeking to a whole second at least one
second before the cut and trimming to the exact sample with ``atrim`` (start and end in
samples, computed here from exact times).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from queue import Queue
from typing import Any

import av
import numpy as np

from ..errors import InvalidMediaError
from ..ffmpeg.runner import FFmpegProcess
from ..media.probe import open_container
from ..media.threads import decode_threads

__all__ = ["AudioCut", "FrameRangeSource", "NutWriter", "audio_cut", "decode_range"]

_QUEUE = 8  # decoded frames in flight between the decode thread and the render loop


def decode_range(
    path: Path, pts: Sequence[int], first: int, threads: int | None = None
) -> Iterator[tuple[int, av.VideoFrame]]:
    """``(index, frame)`` for the master frames whose timestamps are ``pts`` (consecutive frames of the
    master's frame table, starting at master index ``first``), in presentation order.

    Raises:
        InvalidMediaError: the decode failed, or a frame of the range never came out of the decoder.
    """
    if not pts:
        return
    want = np.asarray(pts, dtype=np.int64)
    q: Queue[Any] = Queue(maxsize=_QUEUE)
    stop = threading.Event()

    def work() -> None:
        try:
            with open_container(path) as c:
                s = c.streams.video[0]
                decode_threads(s, threads)
                if first > 0:
                    c.seek(int(want[0]), stream=s, backward=True, any_frame=False)
                for frame in c.decode(s):
                    if stop.is_set():
                        return
                    if frame.pts is None:
                        continue
                    k = int(np.searchsorted(want, frame.pts))
                    if k >= len(want):
                        break
                    if want[k] != frame.pts:
                        continue  # before the range (or a timestamp the table does not hold)
                    q.put((first + k, frame))
                    if k == len(want) - 1:
                        break
            q.put(None)
        except Exception as exc:
            q.put(exc)

    t = threading.Thread(target=work, daemon=True, name="vertcut-decode")
    t.start()
    expected = first
    try:
        while True:
            item = q.get()
            if item is None:
                break
            if isinstance(item, Exception):
                raise InvalidMediaError(f"decoding failed: {item}", path=path) from item
            index, frame = item
            if index != expected:
                raise InvalidMediaError(f"frame {expected} did not decode (next came {index})", path=path)
            expected += 1
            yield index, frame
        if expected != first + len(want):
            raise InvalidMediaError(
                f"the decoder stopped at frame {expected}, before the range's end {first + len(want)}", path=path
            )
    finally:
        stop.set()
        while t.is_alive():
            while not q.empty():
                q.get_nowait()
            t.join(timeout=0.05)


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
    """Raw frames with timestamps into ffmpeg's stdin (``-f nut -i pipe:0``).

    ``time_base``: of the timestamps given to :meth:`write`; ``rate``: the nominal frame rate (ffmpeg
    derives the output time base from it); ``pix_fmt``, ``size``: of every frame.
    """

    def __init__(
        self, proc: FFmpegProcess, size: tuple[int, int], pix_fmt: str, time_base: Fraction, rate: Fraction
    ) -> None:
        self._out = av.open(_PipeFile(proc), "w", format="nut")
        s = self._out.add_stream("rawvideo")
        s.width, s.height, s.pix_fmt = size[0], size[1], pix_fmt
        s.time_base = time_base
        s.codec_context.time_base = time_base
        s.codec_context.framerate = rate
        self._stream = s
        self.time_base = time_base

    def write(self, frame: av.VideoFrame, pts: int, duration: int) -> None:
        frame.pts, frame.time_base = pts, self.time_base
        for packet in self._stream.encode(frame):
            packet.duration = duration
            self._out.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._out.mux(packet)
        self._out.close()


@dataclass(frozen=True)
class AudioCut:
    """The ffmpeg input options and ``atrim`` filter that give a range's exact samples of the master."""

    input_args: list[str]  # before ``-i MASTER``
    trim: str  # the filter chain's head (ends with a comma)
    sample_rate: int
    samples: int


def audio_cut(start: Fraction, duration: Fraction, sample_rate: int) -> AudioCut:
    """The master's audio from ``start`` (seconds from the container's start) for ``duration``.

    The input seek lands on a whole second (so its sample position is exact) at least one second
    before the cut; ``atrim`` then keeps samples ``floor(start * sr)`` to ``floor((start + duration)
    * sr)`` of the stream, counted from the container's start.
    """
    from ..timebase import to_ffmpeg_seconds

    pre = max(0, math.floor(start) - 1)
    first = math.floor((start - pre) * sample_rate)
    count = math.floor((start + duration) * sample_rate) - math.floor(start * sample_rate)
    args = ["-ss", to_ffmpeg_seconds(Fraction(pre))] if pre > 0 else []
    trim = f"atrim=start_sample={first}:end_sample={first + count},asetpts=PTS-STARTPTS,"
    return AudioCut(args, trim, sample_rate, count)


@dataclass(frozen=True)
class FrameRangeSource:
    """A range of the master's frames: what a render task needs to decode it (plain data)."""

    master: Path
    first: int  # master frame index of the range's first frame
    pts: tuple[int, ...]  # the range's timestamps (master time base), from the frame table
    end_pts: int  # where the range ends: the next frame's timestamp, or the master's end
    time_base: Fraction
    rate: Fraction  # the master's nominal frame rate

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
