"""Inputs for the benchmarks: the bundled sample master, or a generated stand-in."""

from __future__ import annotations

from pathlib import Path

from vertcut.ffmpeg import FFmpeg

REPO = Path(__file__).resolve().parent.parent
SAMPLE_MASTER = REPO / "sample_media" / "master.mp4"


def master(work: Path) -> Path:
    """The 75 s 1080p25 sample master (generated with lavfi if it is missing)."""
    if SAMPLE_MASTER.is_file():
        return SAMPLE_MASTER
    out = work / "master.mp4"
    if not out.exists():
        FFmpeg().run(
            ["-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=75", "-f", "lavfi", "-i", "sine=d=75",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-c:a", "aac", "-shortest", str(out)]
        )  # fmt: skip
    return out


def long_clip(work: Path, seconds: int, size: str = "640x360") -> Path:
    """A plain test clip of a given length (for memory/length scaling)."""
    out = work / f"clip-{seconds}s-{size}.mp4"
    if not out.exists():
        FFmpeg().run(
            ["-f", "lavfi", "-i", f"testsrc2=s={size}:r=25:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
             "-g", "50", str(out)]
        )  # fmt: skip
    return out
