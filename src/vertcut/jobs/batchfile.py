"""Batch files: a whole series in one TOML file.

::

    [defaults]                       # any JobSpec field, applied to every job
    subtitle_preset = "elder-large"
    ladder = "h264-default"
    masters = ["douyin", "youtube-shorts"]

    [[job]]
    master = "block01.mp4"           # paths are relative to this file
    subs = ["block01.zh.srt", "block01.en.srt"]
    markers = "block01.edl"
    out = "out/block01"

Validated like a preset: unknown keys are errors, every problem is reported at once.
"""

from __future__ import annotations

import functools
import operator
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any

from ..analysis import DETECTORS
from ..errors import PresetError
from ..presets import validate_data
from .job import JobSpec

__all__ = ["BatchFile", "load_batch_file"]


# The file's schema is JobSpec's own fields, with paths as strings (relative to the file): a new
# option of the job is a new key here too. master, out and markers belong to one [[job]] only.
_PER_JOB = ("master", "out", "markers", "path_in")


def _toml_type(tp: Any) -> Any:
    """``tp`` with every ``Path`` as ``str``."""
    if tp is Path:
        return str
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple:
        return tuple[tuple(_toml_type(a) for a in args)]  # type: ignore[misc]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return functools.reduce(operator.or_, (_toml_type(a) for a in args))
    return tp


def _require_master_out(self: Any) -> None:
    if not self.master or not self.out:
        raise ValueError("every [[job]] needs 'master' and 'out'")


_HINTS = typing.get_type_hints(JobSpec)
_Defaults = make_dataclass(
    "_Defaults",
    [(f.name, _toml_type(_HINTS[f.name]), field(default=f.default)) for f in fields(JobSpec) if f.name not in _PER_JOB],
    frozen=True,
)
_Job = make_dataclass(
    "_Job",
    [
        (name, _toml_type(_HINTS[name]), field(default=None if name in ("markers", "path_in") else ""))
        for name in _PER_JOB
    ],
    bases=(_Defaults,),
    frozen=True,
    namespace={"__post_init__": _require_master_out},
)


def _from_toml(value: Any, tp: Any, base: Path) -> Any:
    """A validated value as JobSpec holds it: strings where ``tp`` has paths become paths under ``base``."""
    if value is None:
        return None
    if tp is Path:
        return base / value
    if typing.get_origin(tp) is tuple:
        return tuple(_from_toml(v, typing.get_args(tp)[0], base) for v in value)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return _from_toml(value, next(a for a in typing.get_args(tp) if a is not type(None)), base)
    return value


@dataclass(frozen=True)
class _File:
    defaults: dict[str, object] = field(default_factory=dict)
    job: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class BatchFile:
    path: Path
    jobs: tuple[JobSpec, ...]


def load_batch_file(path: str | Path) -> BatchFile:
    """Read and validate a batch file into job specs (paths resolved against the file)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError("no such batch file", path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PresetError(f"not valid TOML: {exc}", path=path) from None
    top = validate_data(_File, raw, path=path)
    problems: list[str] = []
    defaults: Any
    try:
        defaults = validate_data(_Defaults, dict(top.defaults), path=path)
    except PresetError as exc:
        problems.extend(f"defaults.{p}" for p in exc.problems)
        defaults = _Defaults()
    specs: list[JobSpec] = []
    base = path.parent
    for i, entry in enumerate(top.job):
        merged = {f.name: getattr(defaults, f.name) for f in fields(_Defaults)}
        merged = {k: list(v) if isinstance(v, tuple) else v for k, v in merged.items()}
        merged.update(entry)
        try:
            job: Any = validate_data(_Job, merged, path=path)
        except PresetError as exc:
            problems.extend(f"job[{i}].{p}" for p in exc.problems)
            continue
        spec = JobSpec(**{f.name: _from_toml(getattr(job, f.name), _HINTS[f.name], base) for f in fields(JobSpec)})
        if spec.detector not in DETECTORS:  # a typo fails the file now, not its job mid-batch
            problems.append(f"job[{i}].detector: {spec.detector!r} is not one of {', '.join(DETECTORS)}")
            continue
        specs.append(spec)
    if not top.job:
        problems.append("job: no [[job]] entries")
    if problems:
        raise PresetError(f"{len(problems)} problem(s) in batch file", path=path, problems=problems)
    return BatchFile(path, tuple(specs))
