"""Kill and resume, proved: ``vertcut run --deterministic`` killed with SIGKILL at five points (the
analysis, the split, an episode's render, the ladder's packaging, the manifest), then run again,
finishes with media byte-identical to a clean run's, no temporary file left, and no ffmpeg of the
killed run alive 5 s after the kill."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mediagen import make_clip

from vertcut.fsutil import TMP_MARK

MEDIA = {".mp4", ".m4s", ".ts", ".m3u8", ".mpd", ".vtt", ".srt", ".png"}


def _digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.suffix in MEDIA}  # fmt: skip


def _ffmpegs_writing(out: Path) -> list[int]:
    """Live ffmpeg processes whose command line names ``out``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = next(ln for ln in (proc / "status").read_text().splitlines() if ln.startswith("State:"))
        except (OSError, StopIteration):
            continue
        named = argv and b"ffmpeg" in Path(argv[0].decode(errors="replace")).name.encode()
        if named and "Z" not in state and any(str(out).encode() in a for a in argv):
            pids.append(int(proc.name))
    return pids


def _command(master: Path, cuts: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "vertcut", "--progress", "json", "run", str(master), "--markers", str(cuts),
            "--snap", "0f", "--package", "hls,mp4", "--mode", "center", "--ladder", "tiny", "--deterministic",
            "-o", str(out)]  # fmt: skip


def _kill_when(cmd: list[str], env: dict[str, str], when: Callable[[dict[str, object]], bool]) -> bool:
    """Start ``cmd``, SIGKILL it at the first progress event ``when`` accepts; True if it was killed."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    killed = False
    for line in proc.stderr:
        if not line.startswith("{"):
            continue
        if when(json.loads(line)):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
    proc.wait()
    proc.stderr.close()
    return killed


POINTS: dict[str, Callable[[dict[str, object]], bool]] = {
    "analysis": lambda e: e["stage"] == "analyse" and e["event"] == "advance",
    "split": lambda e: e["stage"] == "split",
    "render": lambda e: e["stage"] == "render ep002" and e["event"] == "advance",
    "ladder": lambda e: e["episode"] == "ep001" and e["stage"] == "package",
    "manifest": lambda e: e["stage"] == "manifest",
}


def test_a_run_killed_anywhere_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("frame,name\n50,EP01 cliffhanger\n")
    presets = tmp_path / "presets" / "split"
    presets.mkdir(parents=True)
    (presets / "default.toml").write_text('min_duration = "1s"\nwarn_duration = "1s"\n')
    (presets.parent / "ladder").mkdir()
    (presets.parent / "ladder" / "tiny.toml").write_text(  # two small rungs: the test is about the bytes
        'extends = "h264-default"\nsegment_seconds = 1\n'
        '[[rungs]]\nname = "360p"\nwidth = 360\nheight = 640\ncrf = 24\nmaxrate_k = 700\n'
        '[[rungs]]\nname = "180p"\nwidth = 180\nheight = 320\ncrf = 26\nmaxrate_k = 300\n'
    )
    env = {**os.environ, "VERTCUT_PRESETS_DIR": str(tmp_path / "presets")}
    clean = tmp_path / "clean"
    subprocess.run(_command(master, cuts, clean), env=env, check=True, capture_output=True)
    want = _digests(clean)
    assert len(want) > 20
    for point, when in POINTS.items():
        out = tmp_path / point
        # a fresh analysis cache for the kill during the analysis (else it is a cache hit)
        run_env = {**env, "VERTCUT_CACHE_DIR": str(tmp_path / f"cache-{point}")} if point == "analysis" else env
        assert _kill_when(_command(master, cuts, out), run_env, when), f"the run never reached {point}"
        deadline = time.monotonic() + 5
        while _ffmpegs_writing(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _ffmpegs_writing(out), f"{point}: ffmpeg still running 5 s after the kill"
        done = subprocess.run(_command(master, cuts, out), env=run_env, capture_output=True, text=True)
        assert done.returncode == 0, (point, done.stderr[-2000:])
        got = _digests(out)
        differ = sorted(k for k in want if want[k] != got.get(k))
        assert got.keys() == want.keys() and not differ, (point, differ[:5], sorted(set(got) ^ set(want))[:5])
        left = [p for p in out.rglob("*") if TMP_MARK in p.name]
        assert not left, (point, left[:5])
