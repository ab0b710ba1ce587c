"""Reframe render throughput against plain ffmpeg doing a static crop+scale+encode.

Both produce 1080x1920 H.264 (libx264 veryfast CRF 18, yuv420p) plus AAC from
the first 20 s of the sample master. vertcut's side is the render only (the
analysis is cached and the path planned before timing): decode in PyAV,
per-frame crop/scale of the YUV planes in NumPy/OpenCV following the camera
path, piped into ffmpeg. Target: at least 0.85x plain ffmpeg's speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result, interleaved
from bench.media import master
from vertcut.analysis import analyse
from vertcut.ffmpeg import FFmpeg
from vertcut.reframe import reframe
from vertcut.reframe.plan import crop_size, plan_camera

ENCODER = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]


def benchmarks(work: Path) -> Iterator[Result]:
    src = work / "clip20.mp4"
    if not src.exists():
        FFmpeg().run(["-i", str(master(work)), "-t", "20", "-c", "copy", str(src)])
    from fractions import Fraction

    analysis = analyse(src)
    cw, ch = crop_size(analysis.width, analysis.height, Fraction(9, 16))
    path = plan_camera(analysis, cw, ch)
    path_file = work / "path.json"
    path.write(path_file)
    x = path.x[0] // 2 * 2

    def ours() -> None:
        reframe(src, work / "ours.mp4", path_in=path_file, encoder_args=ENCODER)

    def peer() -> None:
        FFmpeg().run(
            ["-i", str(src), "-vf", f"crop={cw}:{ch}:{x}:0,scale=1080:1920", *ENCODER,
             "-c:a", "aac", "-b:a", "192k", str(work / "peer.mp4")]
        )  # fmt: skip

    t_ours, t_peer = interleaved(ours, peer, repeat=2)
    yield Result("reframe render 20 s 1080p -> 1080x1920", t_ours, t_peer, "ffmpeg crop+scale", target=0.85)
