"""The one ffmpeg runner: argv, dry run, progress, failures, timeouts, capabilities."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import run_cli

from vertcut.errors import FFmpegError, FFmpegTimeoutError, OutOfSpaceError
from vertcut.ffmpeg import FFmpeg, escape_filter_value, ffmpeg_exe, has_encoder, has_filter, has_muxer
from vertcut.progress import ProgressEvent


def test_run_reports_progress_and_writes_output(tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    out = tmp_path / "o.mp4"
    res = FFmpeg(sink=events.append).run(
        ["-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=2", "-c:v", "libx264", "-preset", "ultrafast", str(out)],
        stage="enc",
        duration=Fraction(2),
    )
    assert out.stat().st_size > 0 and res.returncode == 0
    kinds = [e.kind for e in events]
    assert kinds[0] == "command" and kinds[1] == "start" and kinds[-1] == "end"
    advances = [e for e in events if e.kind == "advance"]
    assert advances and advances[-1].done == Fraction(2) and advances[-1].total == 2
    assert res.progress["progress"] == "end"
    assert events[0].text.split()[0] == ffmpeg_exe() and "-progress pipe:1" in events[0].text


def test_dry_run_runs_nothing(tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    out = tmp_path / "never made.mp4"
    res = FFmpeg(dry_run=True, sink=events.append).run(["-f", "lavfi", "-i", "testsrc2=d=1", str(out)])
    assert res.dry_run and not out.exists()
    assert [e.kind for e in events] == ["command"]
    assert "'" + str(out) + "'" in events[0].text  # shell-quoted


def test_cli_dry_run_prints_the_command(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vertcut.cli.state import CliState

    out = tmp_path / "x y.mp4"
    CliState(dry_run=True, progress_mode="none").ffmpeg().run(["-i", str(clip), str(out)])
    printed = capsys.readouterr().out
    assert f"-i {clip} '{out}'" in printed and not out.exists()


def test_failure_carries_argv_and_stderr_tail(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as info:
        FFmpeg().run(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")])
    err = info.value
    assert err.returncode != 0 and err.argv[0] == ffmpeg_exe()
    assert "No such file" in err.stderr_tail and "No such file" in str(err)
    assert isinstance(err, RuntimeError)


def test_timeout_kills_the_child() -> None:
    t0 = time.monotonic()
    with pytest.raises(FFmpegTimeoutError):
        FFmpeg(timeout=0.5).run(["-re", "-f", "lavfi", "-i", "testsrc2=d=30", "-f", "null", "-"])
    assert time.monotonic() - t0 < 10


def test_writer_pipes_raw_frames(tmp_path: Path) -> None:
    out = tmp_path / "raw.mp4"
    ff = FFmpeg()
    frame = bytes([128]) * (64 * 48 * 3 // 2)
    with ff.open(
        ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "64x48", "-r", "25", "-i", "pipe:0", str(out)]
    ) as proc:
        for _ in range(10):
            proc.write(frame)
    import av

    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 10


def test_writer_reports_a_dead_ffmpeg(tmp_path: Path) -> None:
    ff = FFmpeg()
    with (
        pytest.raises(FFmpegError),
        ff.open(
            ["-f", "rawvideo", "-s", "64x48", "-i", "pipe:0", "-c:v", "nosuchcodec", str(tmp_path / "o.mp4")]
        ) as proc,
    ):
        for _ in range(200):
            proc.write(bytes(64 * 48 * 3))
            time.sleep(0.005)


def test_full_disk_is_out_of_space(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with pytest.raises(OutOfSpaceError):
        FFmpeg().run(["-f", "lavfi", "-i", "testsrc2=s=320x240:d=2", "-f", "rawvideo", "-y", "/dev/full"])


def test_child_dies_with_its_parent(tmp_path: Path) -> None:
    """A parent killed with SIGKILL takes its ffmpeg child with it (PR_SET_PDEATHSIG)."""
    pidfile = tmp_path / "pid"
    script = textwrap.dedent(
        f"""
        import threading, time, os
        from vertcut.ffmpeg import FFmpeg
        from vertcut.ffmpeg import runner
        orig = runner.subprocess.Popen
        class Spy(orig):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                open({str(pidfile)!r}, "w").write(str(self.pid))
        runner.subprocess.Popen = Spy
        FFmpeg().run(["-re", "-f", "lavfi", "-i", "testsrc2=d=60", "-f", "null", "-"])
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.1)
    child = int(pidfile.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        # a zombie still answers kill(0); check its state
        stat = Path(f"/proc/{child}/stat")
        if stat.exists() and stat.read_text().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("ffmpeg outlived its parent")


def test_capabilities_are_detected() -> None:
    assert has_encoder("libx264") and has_filter("scale") and has_muxer("hls")
    assert has_filter("subtitles") and has_filter("libvmaf")
    assert not has_filter("no_such_filter") and not has_encoder("no_such_encoder")


def test_escape_filter_value() -> None:
    assert escape_filter_value("a:b") == "a\\\\:b"
    assert escape_filter_value("it's,here[1];x") == "it\\\\\\'s\\,here\\[1\\]\\;x"


def test_escaped_path_survives_a_real_filter_graph(tmp_path: Path) -> None:
    """A subtitle path with ':', ',' and a quote works in ffmpeg's subtitles filter."""
    from vertcut.ffmpeg import escape_filter_path

    subs = tmp_path / "ep1,zh's:cut.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:01,000\nhi\n", encoding="utf-8")
    out = tmp_path / "o.mp4"
    FFmpeg().run(
        [
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=160x90:d=1",
            "-vf",
            f"subtitles=filename={escape_filter_path(subs)}",
            str(out),
        ]
    )
    assert out.stat().st_size > 0


def test_vertcut_ffmpeg_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from vertcut.ffmpeg import runner

    runner.ffmpeg_exe.cache_clear()
    monkeypatch.setenv("VERTCUT_FFMPEG", str(tmp_path / "nope"))
    try:
        res = run_cli("--dry-run", "probe", "--help")
        assert res.exit_code == 0
        from vertcut.errors import UnsupportedError

        with pytest.raises(UnsupportedError, match="VERTCUT_FFMPEG"):
            runner.ffmpeg_exe()
    finally:
        runner.ffmpeg_exe.cache_clear()


def test_capability_queries_are_cached_per_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """ffmpeg is asked once per binary; the answer comes from the cache until the binary changes."""
    from vertcut.ffmpeg import runner

    calls: list[tuple[str, ...]] = []
    real_ask = runner._ask

    def ask(exe: str, *args: str) -> str:
        calls.append(args)
        return real_ask(exe, *args)

    monkeypatch.setattr(runner, "_ask", ask)
    assert "scale" in runner._query("-filters") and "scale" in runner._query("-filters")
    assert calls == [("-filters",)]
    # another binary (a copy with its own size and mtime) is asked again
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'ffmpeg version test-build'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("VERTCUT_FFMPEG", str(fake))
    runner.ffmpeg_exe.cache_clear()
    try:
        assert runner._query("-version") == "ffmpeg version test-build\n"
        fake.write_text("#!/bin/sh\necho 'ffmpeg version other-build'\n")
        os.utime(fake, ns=(1, 1))
        assert runner._query("-version") == "ffmpeg version other-build\n"
        assert calls[1:] == [("-version",), ("-version",)]
        # a failed query is not kept
        fake.write_text("#!/bin/sh\nexit 1\n")
        os.utime(fake, ns=(2, 2))
        assert runner._query("-version") == "" and runner._query("-version") == ""
        assert len(calls) == 5
    finally:
        runner.ffmpeg_exe.cache_clear()


def test_the_bundled_ffmpeg_is_found_without_starting_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    from vertcut.ffmpeg import runner

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("ffmpeg was started to find it")

    runner.ffmpeg_exe.cache_clear()
    monkeypatch.delenv("VERTCUT_FFMPEG", raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    monkeypatch.setattr(runner.subprocess, "call", started)
    monkeypatch.setattr(runner.subprocess, "check_call", started)
    monkeypatch.setattr(runner.subprocess, "run", started)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", started)  # it runs the binary to check it
    try:
        found = runner.ffmpeg_exe()
    finally:
        runner.ffmpeg_exe.cache_clear()
    monkeypatch.undo()
    assert found == imageio_ffmpeg.get_ffmpeg_exe()
