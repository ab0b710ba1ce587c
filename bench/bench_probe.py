"""Probe and frame-table speed against ffmpeg demuxing the same file.

Both sides read every packet of the file without decoding: vertcut's probe
(PyAV: headers, first frame for rotation, every packet for the pts table) and
``frame_table``; the peer is ``ffmpeg -i FILE -map 0 -c copy -f null -``.
Also reports how the frame table's time grows with input length (it should be
linear) as a figure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result, interleaved
from bench.media import long_clip, master
from vertcut.ffmpeg import FFmpeg
from vertcut.media import frame_table, probe


def _ffmpeg_demux(path: Path) -> None:
    FFmpeg().run(["-i", str(path), "-map", "0", "-c", "copy", "-f", "null", "-"])


def benchmarks(work: Path) -> Iterator[Result]:
    src = master(work)
    ours, peer = interleaved(lambda: probe(src), lambda: _ffmpeg_demux(src), repeat=5)
    yield Result("probe (75 s 1080p master)", ours, peer, "ffmpeg demux -c copy", target=1.0)
    ours, peer = interleaved(lambda: frame_table(src), lambda: _ffmpeg_demux(src), repeat=5)
    yield Result("frame_table (75 s 1080p master)", ours, peer, "ffmpeg demux -c copy", target=1.0)
    short, long = long_clip(work, 60), long_clip(work, 600)
    t_short, t_long = interleaved(lambda: frame_table(short), lambda: frame_table(long), repeat=3)
    yield Result(
        "frame_table 600 s vs 60 s (time ratio)",
        t_long / t_short,
        0.0,
        "",
        kind="figure",
        note="about 10 means linear in length",
    )
