"""The main job: one master in, platform-ready vertical episodes out.

Stages, each resumable (see :mod:`vertcut.jobs.ledger`):

1. ``probe``    - preflight the master (PyAV): a readable, complete video.
2. ``analyse``  - one decode pass: shot cuts, fades, faces, motion (cached).
3. ``reframe``  - the 9:16 picture, following the subject of each shot.
4. ``burn``     - subtitles in one language burned in with an accessibility preset,
                  composited in the reframe's encode (one lossy generation fewer).
5. ``split``    - episodes cut frame-exactly at the cliffhanger markers, with the
                  other subtitle languages re-timed per episode and a manifest.
6. ``encode``   - per episode: ABR ladder, HLS/DASH/TS/MP4 packages, platform masters.

Every output is written atomically, so a killed job resumes where it stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from .. import __version__
from ..errors import InputError, VertcutError
from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path
from ..media import probe
from ..progress import ProgressSink, Reporter
from ..reframe.plan import Mode
from .executor import Executor, LocalExecutor
from .ledger import Ledger, stage_key

__all__ = [
    "EncodeTask", "JobReport", "JobSpec", "JobTask", "encode_task", "job_task", "run_batch", "run_job",
    "subtitle_language",
]  # fmt: skip

_LANG_RE = re.compile(r"\.([a-z]{2,3}(?:-[A-Za-z]{2,4})?)\.(srt|vtt|ass|ssa)$", re.IGNORECASE)


def subtitle_language(path: Path) -> str | None:
    """The language tag in a subtitle file name (``ep.zh.srt`` -> ``zh``)."""
    m = _LANG_RE.search(Path(path).name)
    return m.group(1).lower() if m else None


@dataclass(frozen=True)
class JobSpec:
    """What to make from one master. Paths are as given; the CLI resolves them."""

    master: Path
    out: Path
    subs: tuple[Path, ...] = ()
    markers: Path | None = None
    burn_lang: str | None = None  # default: the first subtitle file's language
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

    def burn_subtitle(self) -> Path | None:
        if not self.subs:
            return None
        if self.burn_lang is None:
            return self.subs[0]
        for s in self.subs:
            if subtitle_language(s) == self.burn_lang:
                return s
        raise InputError(f"no subtitle file for language {self.burn_lang!r} among {', '.join(map(str, self.subs))}")


@dataclass
class JobReport:
    master: str
    out: str
    stages: dict[str, str] = field(default_factory=dict)  # stage -> "done" | "skipped" | "failed: ..."
    episodes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)  # episode -> where it was encoded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_inputs(spec: JobSpec) -> None:
    for p in (*spec.subs, *([spec.markers] if spec.markers else [])):
        if not Path(p).is_file():
            raise InputError("no such file" if not Path(p).exists() else "is not a regular file", path=p)


def run_job(
    spec: JobSpec,
    *,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    force: bool = False,
    executor: Executor | None = None,
) -> JobReport:
    """Run every stage for one master (skipping stages already done with the same inputs).

    ``executor``: where the episodes are encoded (default: ``spec.jobs`` threads on this machine;
    see :mod:`vertcut.jobs.executor`). A dry run always runs here.

    Raises:
        VertcutError: the first stage that fails (outputs of earlier stages stay, and
            a rerun resumes after them). When episodes fail to encode, the others are
            finished and recorded first; the first failure is raised.
    """
    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, "job")
    out = Path(spec.out)
    _check_inputs(spec)
    info = probe(spec.master)
    info.require_video()
    report = JobReport(master=str(spec.master), out=str(out))
    warnings: list[str] = report.warnings

    def collect(ev: Any) -> None:
        if ev.kind == "warning":
            warnings.append(f"{ev.stage}: {ev.text}")
        if sink is not None:
            sink(ev)

    ledger = Ledger(out)
    work = out / "work"
    dry = ff.dry_run
    with ledger.locked():
        if not dry:  # vertcut 0.x burned the subtitles in a stage of its own, into work/burned.mp4
            ledger.retire("burn", [work / "burned.mp4"])
        if force:
            for stage in ("reframe", "split", "encode"):
                ledger.forget(stage)

        # --- analyse (cached on disk by the analysis module itself) ---------------------
        from ..analysis import analyse

        analysis = analyse(spec.master, sink=collect, threads=ff.threads)
        report.stages["analyse"] = "done"

        # --- reframe (and burn: the subtitles are composited in the reframe's own encode) ------
        from ..reframe import reframe

        reframed = work / "reframed.mp4"
        burn_src = spec.burn_subtitle()
        burn = None
        params: dict[str, object] = {"aspect": spec.aspect, "mode": spec.reframe_mode}
        if burn_src is not None:
            from ..subtitles import BurnOptions

            lang = spec.burn_lang or subtitle_language(burn_src)
            burn = BurnOptions(burn_src, spec.subtitle_preset, lang)
            params |= {"burn": str(burn_src), "preset": spec.subtitle_preset, "lang": lang}
        key = stage_key([spec.master, *([burn_src] if burn_src else [])], params)
        if not dry and ledger.is_done("reframe", key):
            report.stages["reframe"] = "skipped"
        else:
            reframe(
                spec.master,
                reframed,
                aspect=spec.aspect,
                mode=cast(Mode, spec.reframe_mode),
                path_out=work / "reframe-path.json",
                analysis=analysis,
                ffmpeg=ff,
                sink=collect,
                burn=burn,
            )
            if not dry:
                ledger.mark("reframe", key, [reframed])
            report.stages["reframe"] = "done"
        if burn is not None:
            report.stages["burn"] = f"{report.stages['reframe']} (in the reframe encode)"

        if dry and not reframed.exists():
            rep.info("dry run: the later stages need the reframed picture; rerun without --dry-run")
            return report

        picture = reframed

        # --- split -----------------------------------------------------------------------
        episodes_dir = out / "episodes"
        episode_files: list[Path] = []
        if spec.markers is not None:
            from ..markers import read_markers
            from ..split import plan_split, render_split

            info_rate = info.require_video().frame_rate
            markers = read_markers(spec.markers, rate=info_rate)
            other_subs = {subtitle_language(s) or f"sub{i}": s for i, s in enumerate(spec.subs) if s != burn_src}
            plan = plan_split(picture if picture.exists() else spec.master, markers, analysis=analysis, sink=collect,
                              markers_path=spec.markers, **_split_overrides(spec))  # fmt: skip
            key = stage_key(
                [p for p in (picture, spec.markers, *other_subs.values()) if Path(p).exists()],
                {"free": spec.free_episodes, "snap": spec.snap},
            )
            manifest_path = episodes_dir / "manifest.json"
            if not dry and ledger.is_done("split", key):
                report.stages["split"] = "skipped"
            else:
                render_split(plan, episodes_dir, subtitles=other_subs or None, ffmpeg=ff, sink=collect)
                if not dry:
                    ledger.mark("split", key, [manifest_path])
                report.stages["split"] = "done"
            if manifest_path.exists():
                manifest = json.loads(manifest_path.read_text())
                for ep in manifest.get("episodes", []):
                    report.episodes.append(ep)
                    video = ep.get("outputs", {}).get("video") or ep.get("output")
                    if video:
                        episode_files.append(episodes_dir / video)
        elif picture.exists():
            episode_files = [picture]

        # --- encode: each episode on its own, on this machine or on the cluster ------------
        if episode_files:
            todo: list[tuple[str, str, EncodeTask]] = []
            skipped = 0
            pool = executor if executor is not None and not dry else LocalExecutor(spec.jobs)
            task_ff = _task_runner(ff, pool)
            for ep in episode_files:
                name = f"encode-{ep.stem}"
                k = stage_key(
                    [ep], {"ladder": spec.ladder, "packages": spec.packages, "masters": spec.masters, "vmaf": spec.vmaf}
                )
                if not dry and ledger.is_done(name, k):
                    skipped += 1
                    continue
                task = EncodeTask(ep, out / "encoded" / ep.stem, spec.ladder, spec.packages, spec.masters, spec.vmaf,
                                  task_ff)  # fmt: skip
                todo.append((name, k, task))
            failures: list[VertcutError] = []
            enc = Reporter(collect, "episodes")
            enc.start(len(todo), "episodes")
            for n, outcome in enumerate(pool.run(encode_task, [t for _, _, t in todo], collect), 1):
                name, k, task = todo[outcome.index]
                if outcome.error is not None:
                    failures.append(outcome.error)
                elif not dry:
                    ledger.mark(name, k, [task.dest / "report.json"])
                    if pool.name != "local":
                        enc.info(f"{task.episode.stem} encoded on {outcome.worker.get('host')} "
                                 f"(pid {outcome.worker.get('pid')})")  # fmt: skip
                    report.workers[task.episode.stem] = outcome.worker
                enc.advance(n, len(todo), "episodes")
            if failures:  # the other episodes are done and recorded; a rerun redoes only these
                for more in failures[1:]:
                    enc.warning(f"also failed: {more}")
                raise failures[0]
            enc.end(f"{len(todo)} episode(s) encoded, {skipped} already done")
            report.stages["encode"] = "skipped" if skipped == len(episode_files) else "done"

        if not dry:
            with atomic_path(out / "report.json") as tmp:
                tmp.write_text(
                    json.dumps({"vertcut": __version__, **report.to_dict()}, indent=2, ensure_ascii=False, default=str)
                )
    rep.end(f"{len(episode_files)} episode(s) in {out}")
    return report


@dataclass(frozen=True)
class EncodeTask:
    """One episode's encode stage, as plain data an executor can send to another machine."""

    episode: Path
    dest: Path
    ladder: str
    packages: tuple[str, ...]
    masters: tuple[str, ...]
    vmaf: bool
    ffmpeg: FFmpeg  # the caller's runner settings (no sink)


def encode_task(task: EncodeTask, sink: ProgressSink) -> str:
    """Encode one episode (an executor task); returns its report's path."""
    from ..encode import encode_episode

    ff = task.ffmpeg.with_sink(sink)
    encode_episode(task.episode, task.dest, ladder=task.ladder, packages=task.packages, masters=task.masters,
                   vmaf=task.vmaf, ffmpeg=ff, sink=sink)  # fmt: skip
    return str(task.dest / "report.json")


def _task_runner(ff: FFmpeg, pool: Executor) -> FFmpeg:
    """The runner settings an executor task gets: no sink (the task may run in another process) and the
    pool's thread cap per task, else the caller's own."""
    return ff.replace(sink=None, threads=pool.threads_per_task or ff.threads)


def _split_overrides(spec: JobSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.free_episodes is not None:
        out["free_episodes"] = spec.free_episodes
    if spec.snap is not None:
        out["snap"] = spec.snap
    return out


@dataclass(frozen=True)
class JobTask:
    """One master's whole job, as plain data an executor can send to another machine."""

    spec: JobSpec
    ffmpeg: FFmpeg  # the caller's runner settings (no sink)
    force: bool = False


def job_task(task: JobTask, sink: ProgressSink) -> JobReport:
    """Run one master's job (an executor task); its episodes are encoded on the same machine."""
    return run_job(task.spec, ffmpeg=task.ffmpeg.with_sink(sink), sink=sink, force=task.force)


def run_batch(
    specs: Sequence[JobSpec],
    *,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    force: bool = False,
    executor: Executor | None = None,
) -> Iterator[tuple[JobSpec, JobReport | VertcutError]]:
    """Run several jobs; a failing job does not stop the others. Yields each job's report (or error)
    as it finishes. ``executor``: where the jobs run, one master per task (default: one after
    another on this machine). A dry run always runs here, one after another."""
    ff = ffmpeg or FFmpeg(sink=sink)
    pool = executor if executor is not None and not ff.dry_run else LocalExecutor(1)
    tasks = [JobTask(spec, _task_runner(ff, pool), force) for spec in specs]
    for outcome in pool.run(job_task, tasks, sink):
        spec = specs[outcome.index]
        if outcome.error is not None:
            yield spec, outcome.error
        else:
            assert outcome.value is not None
            yield spec, outcome.value
