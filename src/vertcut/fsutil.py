"""Writing outputs atomically: a temporary name in the same folder, then rename.

A failed or interrupted stage never leaves a partial output under the final
name, and a rerun can trust that an existing output is complete::

    with atomic_path(out) as tmp:        # tmp keeps out's extension
        ffmpeg.run([..., str(tmp)])      # ffmpeg picks the muxer from it
    # out exists now; on an exception tmp was removed and out untouched

``atomic_dir`` does the same for a folder of outputs (HLS, DASH).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import OutOfSpaceError

__all__ = ["TMP_MARK", "atomic_dir", "atomic_path", "cache_root", "file_digest", "json_cached"]

TMP_MARK = ".vertcut-tmp"


def _tmp_name(final: Path) -> Path:
    tag = uuid.uuid4().hex[:8]
    return final.with_name(f".{final.stem}{TMP_MARK}-{tag}{final.suffix}")


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    If the block wrote nothing there (a dry run), ``final`` is left alone.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final)
    with _cleanup_on_failure(tmp, final):
        yield tmp
        if tmp.exists():  # nothing written (a dry run): nothing to put in place
            os.replace(tmp, final)


@contextlib.contextmanager
def _cleanup_on_failure(tmp: Path, final: Path) -> Iterator[None]:
    """Remove ``tmp`` if the block fails; a full disk becomes :class:`OutOfSpaceError`."""
    try:
        yield
    except OSError as exc:
        _remove(tmp)
        if exc.errno == errno.ENOSPC:
            raise OutOfSpaceError("the disk is full", path=final) from exc
        raise
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; it replaces ``final`` on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final)
    tmp.mkdir()
    with _cleanup_on_failure(tmp, final):
        yield tmp
        if not any(tmp.iterdir()):  # nothing written (a dry run): leave no empty folder
            tmp.rmdir()
        elif final.exists():
            old = _tmp_name(final)
            os.replace(final, old)
            os.replace(tmp, final)
            _remove(old)
        else:
            os.replace(tmp, final)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def file_digest(path: str | os.PathLike[str], *, quick: bool = False) -> str:
    """SHA-256 of a file (``quick``: size plus the first and last MiB, for cache keys)."""
    h = hashlib.sha256()
    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as fh:
        if quick and size > 4 << 20:
            h.update(str(size).encode())
            h.update(fh.read(1 << 20))
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
        else:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def cache_root() -> Path:
    """Where analysis caches live: ``$VERTCUT_CACHE_DIR`` or ``$XDG_CACHE_HOME/vertcut``."""
    env = os.environ.get("VERTCUT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vertcut"


def json_cached(kind: str, key: str, compute: Callable[[], Any], keep: Callable[[Any], bool] = bool) -> Any:
    """``compute()``'s JSON-able result, kept in ``cache_root()/kind`` under ``key`` (which must name
    everything the result depends on, such as a file's size and mtime) when ``keep(result)`` (by default:
    when it is not empty). An unreadable entry is computed again; a cache that cannot be written only
    costs time."""
    cached = cache_root() / kind / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    data = compute()
    if not keep(data):
        return data
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            tmp.write_text(json.dumps(data))
    except OSError:
        pass
    return data
