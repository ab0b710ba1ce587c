"""Resumable stages: a done-marker per stage output, keyed by its inputs.

A stage is skipped on a rerun when its marker exists, the marker's key (a hash
of the input files' digests, the stage parameters and vertcut's version)
matches, and every output it recorded is still there with the recorded size.
Markers are written atomically *after* the outputs were renamed into place,
so a crash between the two only costs a redo, never a wrong skip.

The output folder is locked for the duration of a run, so two runs cannot
write the same folder at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError, VertcutError
from ..fsutil import TMP_MARK, atomic_path, file_digest

__all__ = ["Ledger", "LockedError", "stage_key"]

STATE_DIR = ".vertcut"


class LockedError(VertcutError):
    """Another vertcut run is writing the same output folder."""


def stage_key(inputs: Sequence[Path], params: dict[str, Any]) -> str:
    """Hash of the input contents (quick digests), the parameters and vertcut's version."""
    h = hashlib.sha256()
    h.update(__version__.encode())
    for p in inputs:
        h.update(str(Path(p).name).encode())
        h.update(file_digest(p, quick=True).encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


class Ledger:
    """Done-markers of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.state = self.out_dir / STATE_DIR

    def _marker(self, stage: str) -> Path:
        return self.state / f"{stage}.done.json"

    def is_done(self, stage: str, key: str) -> bool:
        """True if ``stage`` completed with ``key`` and its outputs are intact."""
        try:
            data = json.loads(self._marker(stage).read_text())
        except (OSError, ValueError):
            return False
        if data.get("key") != key:
            return False
        for rel, size in data.get("outputs", {}).items():
            p = self.out_dir / rel
            if not p.exists() or (p.is_file() and p.stat().st_size != size):
                return False
        return True

    def mark(self, stage: str, key: str, outputs: Sequence[Path]) -> None:
        """Record that ``stage`` completed with ``key``, producing ``outputs``."""
        self.state.mkdir(parents=True, exist_ok=True)
        record = {
            "key": key,
            "outputs": {
                str(Path(p).resolve().relative_to(self.out_dir.resolve())): (
                    Path(p).stat().st_size if Path(p).is_file() else -1
                )
                for p in outputs
            },
        }
        with atomic_path(self._marker(stage)) as tmp:
            tmp.write_text(json.dumps(record, indent=1))

    def forget(self, stage: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._marker(stage).unlink()

    def retire(self, stage: str, outputs: Sequence[Path]) -> None:
        """Remove a stage an earlier vertcut had and this one does not: its marker and its outputs."""
        self.forget(stage)
        for p in outputs:
            with contextlib.suppress(FileNotFoundError):
                Path(p).unlink()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock; sweep temporary files left by a killed run.

        Raises:
            InputError: the output folder is a file, or cannot be made.
            LockedError: another run holds the lock.
        """
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise InputError(
                "is not a folder: the output folder must be a folder (or not exist yet)", path=self.out_dir
            )
        try:
            self.state.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot make the output folder: {exc.strerror or exc}", path=self.out_dir) from None
        lock = self.state / "lock"
        fh = lock.open("a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                owner = fh.read().strip() or "another process"
                raise LockedError(f"is being written by {owner}", path=self.out_dir) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{socket.gethostname()}:{os.getpid()}")
            fh.flush()
            self._sweep()
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def _sweep(self) -> None:
        for p in self.out_dir.rglob(f"*{TMP_MARK}*"):
            with contextlib.suppress(OSError):
                if p.is_dir():
                    import shutil

                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink()
