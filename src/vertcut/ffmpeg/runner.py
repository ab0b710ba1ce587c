"""The one place vertcut runs ffmpeg.

Every ffmpeg child process starts here, from an argv list (never a shell
string). The runner:

* resolves the binary once: ``$VERTCUT_FFMPEG``, else the static build shipped
  in the ``imageio-ffmpeg`` wheel, else ``ffmpeg`` on ``PATH``;
* always adds ``-hide_banner -nostdin -nostats -y`` and ``-progress pipe:1``, and
  reads progress (``out_time_us``) from stdout (vertcut never muxes to
  stdout) while stderr is kept as a tail for error messages; progress goes to
  the caller's sink;
* in a dry run, reports the shell-quoted command and runs nothing;
* kills the child on timeout (SIGTERM, then SIGKILL), when the caller is
  interrupted, and when vertcut itself dies (``PR_SET_PDEATHSIG`` on Linux);
* raises :class:`~vertcut.errors.FFmpegError` carrying the argv and the stderr
  tail when ffmpeg fails (:class:`~vertcut.errors.OutOfSpaceError` for a full
  disk).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import fcntl
import functools
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..errors import FFmpegError, FFmpegTimeoutError, OutOfSpaceError, UnsupportedError
from ..progress import ProgressSink, Reporter

__all__ = [
    "FFmpeg",
    "FFmpegProcess",
    "RunResult",
    "ffmpeg_exe",
    "ffmpeg_version",
    "has_encoder",
    "has_filter",
    "has_muxer",
    "require_filter",
]

log = logging.getLogger(__name__)

_TAIL_LINES = 60
_KILL_GRACE_S = 2.0
_PIPE_BYTES = 1 << 20  # stdin pipe size asked for (the kernel's default is 64 KiB)


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary vertcut uses (cached).

    Raises:
        UnsupportedError: when no ffmpeg can be found.
    """
    override = os.environ.get("VERTCUT_FFMPEG")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise UnsupportedError(f"VERTCUT_FFMPEG={override} is not an executable file")
        return override
    try:
        import imageio_ffmpeg

        bundled = _bundled(Path(imageio_ffmpeg.__file__).parent / "binaries")
        if bundled is not None and not os.environ.get("IMAGEIO_FFMPEG_EXE"):
            return bundled
        exe: str = imageio_ffmpeg.get_ffmpeg_exe()  # runs the binary once to check it
        return exe
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise UnsupportedError("no ffmpeg found: install imageio-ffmpeg or set VERTCUT_FFMPEG")


def _bundled(folder: Path) -> str | None:
    """The ffmpeg binary in the imageio-ffmpeg wheel's ``folder``, found without starting it (starting
    this static build costs 0.2 s of CPU)."""
    found = sorted(p for p in folder.glob("ffmpeg-*") if p.is_file() and os.access(p, os.X_OK))
    return str(found[0]) if len(found) == 1 else None


def _query(*args: str) -> str:
    """ffmpeg's answer to a query such as ``-filters``, cached on disk per binary (its path, size and
    mtime): each start of this static ffmpeg costs 0.2 s of CPU, every vertcut command asks."""
    from ..fsutil import json_cached

    exe = ffmpeg_exe()
    st = os.stat(exe)
    key = f"{exe}|{st.st_size}|{st.st_mtime_ns}|{' '.join(args)}"
    out: str = json_cached("ffmpeg", key, lambda: _ask(exe, *args))
    return out


def _ask(exe: str, *args: str) -> str:
    """ffmpeg's answer, or "" when it fails (not cached)."""
    proc = subprocess.run(
        [exe, "-hide_banner", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return proc.stdout if proc.returncode == 0 else ""


@functools.cache
def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version``."""
    lines = _query("-version").splitlines()
    return lines[0] if lines else "unknown"


@functools.cache
def _listing(kind: str) -> frozenset[str]:
    names = set()
    for line in _query(f"-{kind}").splitlines():
        parts = line.split()
        # rows look like " V....D libx264  description" or " .. ass  V->V  description"
        # skip the legend ("V..... = Video") and separator lines
        if len(parts) >= 2 and parts[1] != "=" and not set(parts[0]) <= {"-"}:
            names.add(parts[1])
    return frozenset(names)


def has_filter(name: str) -> bool:
    """Whether this ffmpeg has the filter ``name`` (cached)."""
    return name in _listing("filters")


def has_encoder(name: str) -> bool:
    """Whether this ffmpeg has the encoder ``name`` (cached)."""
    return name in _listing("encoders")


def has_muxer(name: str) -> bool:
    """Whether this ffmpeg has the muxer ``name`` (cached)."""
    return name in _listing("muxers")


def require_filter(name: str, why: str) -> None:
    """Raise :class:`UnsupportedError` unless the filter exists."""
    if not has_filter(name):
        raise UnsupportedError(f"this ffmpeg ({ffmpeg_exe()}) has no '{name}' filter, needed for {why}")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class RunResult:
    """What a finished (or dry) ffmpeg run left behind."""

    argv: list[str]
    returncode: int
    stderr_tail: str = ""
    dry_run: bool = False
    progress: dict[str, str] = field(default_factory=dict)


class FFmpeg:
    """Runs ffmpeg commands.

    Args:
        dry_run: report each command to the sink instead of running it.
        sink: progress sink (``command`` events carry the shell-quoted argv).
        timeout: seconds a single run may take before it is killed.
        loglevel: ffmpeg's ``-loglevel``.
        threads: at most this many threads per codec and filter graph (``None``: ffmpeg's and the
            encoders' own choice, from the CPUs this process may use). Filter graphs are capped here;
            commands put :meth:`thread_args` before their inputs and among their output options.
        encoder_threads: a fixed thread count for every encoder, whatever the cap or the machine
            (x264's output depends on its thread count: a fixed one gives the same bytes locally, on
            Ray workers and on another machine; see ``--deterministic``).
    """

    def __init__(
        self,
        *,
        dry_run: bool = False,
        sink: ProgressSink | None = None,
        timeout: float | None = None,
        loglevel: str = "warning",
        threads: int | None = None,
        encoder_threads: int | None = None,
    ) -> None:
        self.encoder_threads = encoder_threads
        self.dry_run = dry_run
        self.sink = sink
        self.timeout = timeout
        self.loglevel = loglevel
        self.threads = threads

    def replace(self, **changes: Any) -> FFmpeg:
        """A runner with these settings changed (the ``__init__`` arguments) and the others the same."""
        settings = {"dry_run": self.dry_run, "sink": self.sink, "timeout": self.timeout, "loglevel": self.loglevel,
                    "threads": self.threads, "encoder_threads": self.encoder_threads}  # fmt: skip
        return FFmpeg(**{**settings, **changes})

    def with_sink(self, sink: ProgressSink | None) -> FFmpeg:
        """The same settings reporting to ``sink`` (``None``: a runner plain enough to send to another
        process, as executor tasks do)."""
        return self.replace(sink=sink)

    def thread_args(self) -> list[str]:
        """``-threads N`` for the next input (its decoder) or output (its encoders); empty if uncapped."""
        return [] if self.threads is None else ["-threads", str(self.threads)]

    def output_thread_args(self) -> list[str]:
        """``-threads N`` among an output's options: its encoders' threads (the fixed count when set)."""
        if self.encoder_threads is not None:
            return ["-threads", str(self.encoder_threads)]
        return self.thread_args()

    def argv(self, args: Sequence[str]) -> list[str]:
        """The full argv for ``args`` (everything after the binary's fixed options)."""
        for a in args:
            if not isinstance(a, str):
                raise TypeError(f"ffmpeg arguments must be str, got {a!r}")
        return [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-y",  # outputs go to temporary names (see vertcut.fsutil); never prompt
            "-loglevel",
            self.loglevel,
            "-progress",
            "pipe:1",
            *([] if self.threads is None else ["-filter_threads", str(self.threads),
                                               "-filter_complex_threads", str(self.threads)]),
            *args,
        ]  # fmt: skip

    def run(
        self,
        args: Sequence[str],
        *,
        stage: str = "ffmpeg",
        duration: Fraction | None = None,
    ) -> RunResult:
        """Run ffmpeg with ``args`` to completion.

        Args:
            args: options after the fixed ones, e.g. ``["-i", src, "-c:v", "libx264", out]``.
            stage: the stage name progress is reported under.
            duration: the output's expected duration, so progress has a total.

        Raises:
            FFmpegError: ffmpeg exited non-zero (carries argv and stderr tail).
            FFmpegTimeoutError: it ran past ``timeout`` and was killed.
            OutOfSpaceError: the disk filled up.
        """
        argv = self.argv(args)
        reporter = Reporter(self.sink, stage)
        reporter.command(shlex.join(argv))
        if self.dry_run:
            return RunResult(argv, 0, dry_run=True)
        with FFmpegProcess(argv, reporter, duration, self.timeout, stdin=False) as proc:
            pass
        return proc.result

    def open(
        self,
        args: Sequence[str],
        *,
        stage: str = "ffmpeg",
        duration: Fraction | None = None,
    ) -> FFmpegProcess:
        """Start ffmpeg reading from a stdin pipe (e.g. ``-f rawvideo -i pipe:0``).

        Use as a context manager; write with :meth:`FFmpegProcess.write`. On a
        clean exit of the ``with`` block stdin is closed and the process waited
        for (raising on failure); on an exception the process is killed.
        """
        argv = self.argv(args)
        reporter = Reporter(self.sink, stage)
        reporter.command(shlex.join(argv))
        return FFmpegProcess(argv, reporter, duration, self.timeout, stdin=True, dry_run=self.dry_run)


class FFmpegProcess:
    """A running ffmpeg child; made by :class:`FFmpeg`, not directly."""

    def __init__(
        self,
        argv: list[str],
        reporter: Reporter,
        duration: Fraction | None,
        timeout: float | None,
        *,
        stdin: bool,
        dry_run: bool = False,
    ) -> None:
        self.argv = argv
        self.reporter = reporter
        self.duration = duration
        self.timeout = timeout
        self.dry_run = dry_run
        self.result = RunResult(argv, 0, dry_run=dry_run)
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._progress: dict[str, str] = {}
        self._timed_out = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._stdin = stdin

    # --- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> FFmpegProcess:
        if self.dry_run:
            return self
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE if self._stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent,
                close_fds=True,
            )
        except OSError as exc:
            raise FFmpegError(f"cannot start ffmpeg: {exc.strerror}", argv=self.argv) from exc
        assert self._proc.stderr is not None and self._proc.stdout is not None
        if self._proc.stdin is not None:  # piped frames: fewer, larger hand-overs (Linux; measured -20 % in ffmpeg)
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(self._proc.stdin.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
        self._threads = [
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), daemon=True),
            threading.Thread(target=self._read_progress, args=(self._proc.stdout,), daemon=True),
        ]
        for t in self._threads:
            t.start()
        self.reporter.start(self.duration, "s")
        if self.timeout is not None:
            self._timer = threading.Timer(self.timeout, self._on_timeout)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.dry_run or self._proc is None:
            return
        try:
            if exc_type is not None:
                self.kill()
                return
            self._finish()
        finally:
            timer = getattr(self, "_timer", None)
            if timer is not None:
                timer.cancel()
            for t in self._threads:
                t.join(timeout=5)

    def write(self, data: bytes | memoryview) -> None:
        """Send bytes to ffmpeg's stdin (raises :class:`FFmpegError` if ffmpeg has died)."""
        if self.dry_run:
            return
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
        except (BrokenPipeError, ValueError):
            self._proc.wait()
            self._raise_failure()

    def kill(self) -> None:
        """Stop ffmpeg now: SIGTERM, then SIGKILL after a grace period."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()

    # --- internals ---------------------------------------------------------------

    def _finish(self) -> None:
        proc = self._proc
        assert proc is not None
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                proc.stdin.close()
        try:
            proc.wait()
        except BaseException:
            self.kill()
            raise
        for t in self._threads:
            t.join(timeout=5)
        self.result = RunResult(self.argv, proc.returncode, "".join(self._tail), False, dict(self._progress))
        # ffmpeg 9 can exit 0 after failing to open an output
        if proc.returncode != 0 or self._timed_out.is_set() or "Error opening output file" in self.result.stderr_tail:
            self._raise_failure()
        self.reporter.end()

    def _raise_failure(self) -> None:
        proc = self._proc
        assert proc is not None
        for t in self._threads:
            t.join(timeout=5)
        tail = "".join(self._tail)
        code = proc.returncode
        if self._timed_out.is_set():
            raise FFmpegTimeoutError(
                f"ffmpeg ran longer than {self.timeout:g} s and was killed",
                argv=self.argv,
                returncode=code,
                stderr_tail=tail,
            )
        if "No space left on device" in tail:
            raise OutOfSpaceError("the disk is full (ffmpeg: No space left on device)")
        what = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        raise FFmpegError(f"ffmpeg failed ({what})", argv=self.argv, returncode=code, stderr_tail=tail)

    def _on_timeout(self) -> None:
        self._timed_out.set()
        self.kill()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            self._tail.append(line)
            log.debug("ffmpeg: %s", line.rstrip())
        stream.close()

    def _read_progress(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            self._progress[key] = value
            if key == "out_time_us" and value.lstrip("-").isdigit():
                done = Fraction(int(value), 1_000_000)
                self.reporter.advance(max(done, Fraction(0)), self.duration, "s")
        stream.close()
