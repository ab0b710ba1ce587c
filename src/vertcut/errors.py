"""The exception tree of vertcut.

Every error the library raises derives from :class:`VertcutError`. Where a
builtin exception describes the same failure, the vertcut class inherits it
too (as PyAV does), so ``except FileNotFoundError`` keeps working for callers
who do not know vertcut's tree::

    try:
        vertcut.probe("missing.mp4")
    except FileNotFoundError as exc:     # also a vertcut.MediaNotFoundError
        ...

Each class carries the CLI exit code it maps to (documented in the README).
The library never prints or exits; :mod:`vertcut.cli` turns these into a
one-line message and the exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BatchFailedError",
    "CheckFailedError",
    "FFmpegError",
    "FFmpegTimeoutError",
    "InputError",
    "InvalidMediaError",
    "LabelError",
    "MarkerError",
    "MediaNotFoundError",
    "NoVideoStreamError",
    "OutOfSpaceError",
    "PresetError",
    "SubtitleError",
    "UnsupportedError",
    "VertcutError",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_PRESET = 4
EXIT_FFMPEG = 5
EXIT_CHECK = 6
EXIT_BATCH = 7
EXIT_WARNINGS = 8  # --fail-on warning: the work finished, but warnings were reported
EXIT_INTERRUPTED = 130


class VertcutError(Exception):
    """Root of every error vertcut raises.

    Args:
        message: what went wrong, one line, without the file name.
        path: the file the error is about, if any; the CLI prefixes it.
    """

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InputError(VertcutError):
    """An input file (media, markers, subtitles) is missing or unusable."""

    exit_code = EXIT_INPUT


class MediaNotFoundError(InputError, FileNotFoundError):
    """The input path does not exist."""


class InvalidMediaError(InputError, ValueError):
    """The file exists but is not media vertcut can read (or is damaged)."""


class NoVideoStreamError(InvalidMediaError):
    """The media has no video stream where one is required."""


class MarkerError(InputError, ValueError):
    """A marker file cannot be read or a marker cannot be placed.

    Args:
        line: 1-based line number in the marker file, when known.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(message, path=path)
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class SubtitleError(MarkerError):
    """A subtitle file cannot be read, or a cue cannot be shown."""


class LabelError(InputError, ValueError):
    """A required on-screen label cannot be placed or filled in (outside the safe area, a missing value,
    an unreadable image)."""


class PresetError(VertcutError, ValueError):
    """A preset (TOML data) is invalid; carries every problem found at once.

    Args:
        problems: one entry per problem, each naming the key.
    """

    exit_code = EXIT_PRESET

    def __init__(self, message: str, *, path: str | Path | None = None, problems: Sequence[str] = ()) -> None:
        super().__init__(message, path=path)
        self.problems = list(problems)

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "; " + "; ".join(self.problems)


class FFmpegError(VertcutError, RuntimeError):
    """An ffmpeg child process failed.

    Args:
        argv: the full command line that was run.
        returncode: its exit status (negative: killed by that signal).
        stderr_tail: the last lines ffmpeg wrote on stderr.
    """

    exit_code = EXIT_FFMPEG

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr_tail: str = "",
        path: str | Path | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        head = super().__str__()
        last = self.stderr_tail.strip().splitlines()[-1:] if self.stderr_tail else []
        return f"{head} ({last[0].strip()})" if last else head


class FFmpegTimeoutError(FFmpegError, TimeoutError):
    """ffmpeg ran past its time limit and was killed."""


class OutOfSpaceError(VertcutError, OSError):
    """The output disk filled up; the partial output was removed."""


class CheckFailedError(VertcutError):
    """A check (lint, platform limits, verification) found errors."""

    exit_code = EXIT_CHECK


class BatchFailedError(VertcutError):
    """Some jobs of a batch failed (each is reported on its own); the others finished."""

    exit_code = EXIT_BATCH


class UnsupportedError(VertcutError, NotImplementedError):
    """The request is valid but this build of vertcut or ffmpeg cannot do it."""
