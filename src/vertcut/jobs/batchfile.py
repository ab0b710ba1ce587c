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

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..errors import PresetError
from ..presets import validate_data
from .job import JobSpec

__all__ = ["BatchFile", "load_batch_file"]


@dataclass(frozen=True)
class _Defaults:
    subs: tuple[str, ...] = ()
    burn_lang: str | None = None
    aspect: str = "9:16"
    reframe_mode: str = "auto"
    subtitle_preset: str = "elder-large"
    ladder: str = "h264-default"
    packages: tuple[str, ...] = ("hls", "dash", "ts", "mp4")
    masters: tuple[str, ...] = ()
    free_episodes: int | None = None
    snap: str | None = None
    vmaf: bool = False
    jobs: int = 1


@dataclass(frozen=True)
class _Job(_Defaults):
    master: str = ""
    out: str = ""
    markers: str | None = None

    def __post_init__(self) -> None:
        if not self.master or not self.out:
            raise ValueError("every [[job]] needs 'master' and 'out'")


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
            job = validate_data(_Job, merged, path=path)
        except PresetError as exc:
            problems.extend(f"job[{i}].{p}" for p in exc.problems)
            continue
        spec = JobSpec(master=base / job.master, out=base / job.out)
        spec = replace(
            spec,
            subs=tuple(base / s for s in job.subs),
            markers=base / job.markers if job.markers else None,
            burn_lang=job.burn_lang,
            aspect=job.aspect,
            reframe_mode=job.reframe_mode,
            subtitle_preset=job.subtitle_preset,
            ladder=job.ladder,
            packages=job.packages,
            masters=job.masters,
            free_episodes=job.free_episodes,
            snap=job.snap,
            vmaf=job.vmaf,
            jobs=job.jobs,
        )
        specs.append(spec)
    if not top.job:
        problems.append("job: no [[job]] entries")
    if problems:
        raise PresetError(f"{len(problems)} problem(s) in batch file", path=path, problems=problems)
    return BatchFile(path, tuple(specs))
