"""Bad input gets one clear line, a non-zero exit code, no traceback, no hang."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.errors import (
    EXIT_INPUT,
    InvalidMediaError,
    MediaNotFoundError,
    NoVideoStreamError,
    VertcutError,
)
from vertcut.ffmpeg import FFmpeg
from vertcut.media import probe


def _forged_mkv(tmp_path: Path) -> Path:
    """A 10-frame Matroska file whose header declares 10 hours."""
    import struct

    p = make_clip(tmp_path / "small.mkv", frames=10, size=(64, 64), audio=False)
    data = bytearray(p.read_bytes())
    i = data.find(b"\x44\x89")  # Segment Info / Duration, an EBML float in ms
    assert data[i + 2] == 0x88
    data[i + 3 : i + 11] = struct.pack(">d", 10 * 3600 * 1000.0)
    out = tmp_path / "ten-hours.mkv"
    out.write_bytes(bytes(data))
    assert out.stat().st_size < 10_000
    return out


@pytest.fixture
def bad(tmp_path: Path, clip: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    files["missing"] = tmp_path / "missing.mp4"
    files["directory"] = tmp_path / "a-folder.mp4"
    files["directory"].mkdir()
    files["empty"] = tmp_path / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "notes.mp4"
    files["text"].write_text("This is not a video.\nJust some notes renamed to .mp4\n")
    data = clip.read_bytes()
    files["truncated"] = tmp_path / "truncated.mp4"
    moov = data.find(b"moov")
    files["truncated"].write_bytes(data[: moov - 4] if moov > 0 else data[: len(data) // 2])
    files["forged"] = _forged_mkv(tmp_path)
    # a fast-start MP4 keeps its index at the front: cut in half it still opens
    faststart = tmp_path / "faststart.mp4"
    FFmpeg().run(["-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(faststart)])
    data = faststart.read_bytes()
    files["faststart-half"] = tmp_path / "faststart-half.mp4"
    files["faststart-half"].write_bytes(data[: len(data) // 2])
    files["fifo"] = tmp_path / "pipe.mp4"
    os.mkfifo(files["fifo"])
    return files


EXPECTED = {
    "missing": (MediaNotFoundError, "no such file"),
    "directory": (InvalidMediaError, "is a directory"),
    "empty": (InvalidMediaError, "empty (0 bytes)"),
    "text": (InvalidMediaError, "text file"),
    "truncated": (InvalidMediaError, "no 'moov'"),
    "forged": (InvalidMediaError, "declares 10:00:00"),
    "faststart-half": (InvalidMediaError, "truncated or damaged"),
    "fifo": (InvalidMediaError, "FIFO"),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_library_raises_the_right_error(bad: dict[str, Path], case: str) -> None:
    cls, text = EXPECTED[case]
    with pytest.raises(cls, match=re.escape(text)) as info:
        probe(bad[case])
    assert isinstance(info.value, VertcutError) and str(bad[case]) in str(info.value)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_cli_gives_one_line_and_exit_code(bad: dict[str, Path], case: str) -> None:
    res = run_cli("probe", str(bad[case]))
    assert res.exit_code == EXIT_INPUT
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("vertcut: error: ") and str(bad[case]) in lines[0]
    assert EXPECTED[case][1] in lines[0]
    assert "Traceback" not in res.output


def test_audio_only_file(tmp_path: Path) -> None:
    audio = tmp_path / "voice.m4a"
    FFmpeg().run(["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio)])
    info = probe(audio)  # probing audio is fine ...
    assert info.audio and not info.video
    with pytest.raises(NoVideoStreamError, match="audio only"):
        info.require_video()  # ... but stages that need pictures refuse it
    res = run_cli("probe", "--frames", str(audio))
    assert res.exit_code == EXIT_INPUT and "has no video stream" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(bad: dict[str, Path]) -> None:
    res = run_cli("--debug", "probe", str(bad["text"]))
    assert res.exit_code != 0 and isinstance(res.exception, InvalidMediaError)


def test_fifo_does_not_hang_the_installed_command(bad: dict[str, Path]) -> None:
    """Through the real entry point (python -m vertcut), with a timeout as the hang detector."""
    proc = subprocess.run(
        [sys.executable, "-m", "vertcut", "probe", str(bad["fifo"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_INPUT
    assert proc.stderr.strip().startswith("vertcut: error:") and "FIFO" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_command_is_a_usage_error() -> None:
    res = run_cli("no-such-command")
    assert res.exit_code == 2


def test_version() -> None:
    res = run_cli("--version")
    assert res.exit_code == 0 and "vertcut" in res.stdout
