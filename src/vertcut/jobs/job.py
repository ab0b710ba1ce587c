"""The main job: one master in, platform-ready vertical episodes out.

1. ``probe``   - preflight the master (PyAV): a readable, complete video.
2. ``analyse`` - one decode pass: shot cuts, fades, faces, motion (cached).
3. ``plan``    - everything decided before any encode (:mod:`vertcut.jobs.plan`): the crop path,
                 the subtitle layer, the episodes (markers snapped to cuts), each episode's
                 loudness; written to ``plan.json``.
4. ``render``  - per episode, once, from the master (:mod:`vertcut.render.episode`): its frame range
                 decoded, reframed, subtitles composited, and one ffmpeg process writing every rung
                 of the ladder, the platform masters and (``mezzanine``) an archive file. One lossy
                 generation from the master to every delivered file.
5. ``manifest`` - the episodes' manifest (verification of frames and samples, contact sheet),
                 re-timed subtitles of the other languages; ``report.json``.

An episode is the unit: each is recorded done with a key of the plan's inputs and settings, so a
killed job resumes with the finished episodes skipped, and episodes are the tasks of the local pool
and of Ray.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InputError, VertcutError
from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path
from ..media import probe
from ..media.probe import MediaInfo
from ..progress import ProgressSink, Reporter
from .executor import Executor, LocalExecutor
from .ledger import Ledger, stage_key

if TYPE_CHECKING:
    from ..render.episode import EpisodeRender
    from ..subtitles.language import LanguageChoice

__all__ = ["JobReport", "JobSpec", "JobTask", "job_task", "run_batch", "run_job", "subtitle_language"]


def subtitle_language(path: Path, flag: str | None = None) -> str:
    """The language of a subtitle file, from its text and its name (see
    :func:`vertcut.subtitles.language.choose_language`); ``flag`` wins."""
    return language_choice(path, flag).lang


def language_choice(path: Path, flag: str | None = None) -> LanguageChoice:
    """How the language of a subtitle file was told (cached per file contents)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        st = None
    return _choice(str(p), st.st_mtime_ns if st else 0, st.st_size if st else 0, flag)


@functools.lru_cache(maxsize=256)
def _choice(path: str, mtime: int, size: int, flag: str | None) -> LanguageChoice:
    from ..subtitles import load_subtitles
    from ..subtitles.language import choose_language

    track = load_subtitles(path)
    return choose_language(path, "\n".join(c.text for c in track.cues), flag)


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
    detector: str = "full"  # the analysis pass's face detector (vertcut.analysis.DETECTORS)
    subtitle_preset: str = "elder-large"
    ladder: str = "h264-default"
    packages: tuple[str, ...] = ("hls", "dash", "ts", "mp4")
    masters: tuple[str, ...] = ()
    free_episodes: int | None = None
    snap: str | None = None
    marker_colour: str = ""  # the cliffhanger markers by colour ("red", "red,pink"); the others are notes
    marker_name: str = ""  # the cliffhanger markers by name (a regular expression); with a colour: both
    vmaf: bool = False
    jobs: int = 1
    path_in: Path | None = None  # an (edited) crop path for this master, instead of planning one
    mezzanine: str = ""  # also write an episode file for archive (episodes/epNNN.mp4): "hq" or "lossless"
    subs_soft: tuple[str, ...] = ()  # soft subtitle languages in the packages (empty: all not burned; ["none"])
    labels: tuple[str, ...] = ()  # label presets composited in the render (filing, aigc, logo, endcard, ...)
    label_values: tuple[str, ...] = ()  # NAME=VALUE filling the labels' templates (filing=..., logo=FILE)
    series: str = ""  # the series' name for labels and metadata (default: the master's file name)
    watermark: str = ""  # distributor ID embedded as an invisible mark in every episode
    watermark_key: str = ""  # its key (hex); default $VERTCUT_WATERMARK_KEY. Never written to any output
    check: bool = True  # run `vertcut check` on the finished series (check.json, check.html)

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
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)  # episode -> where it was rendered
    plan: dict[str, Any] | None = None  # the plan (dry runs)
    languages: dict[str, Any] = field(default_factory=dict)  # subtitle file -> its language and how it was told

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_inputs(spec: JobSpec) -> None:
    for p in (*spec.subs, *([spec.markers] if spec.markers else []), *([spec.path_in] if spec.path_in else [])):
        if not Path(p).is_file():
            raise InputError("no such file" if not Path(p).exists() else "is not a regular file", path=p)


# stages of vertcut 0.x's staged run (reframed file -> burned -> split files -> encode), cleared away
_RETIRED = {"reframe": "work/reframed.mp4", "burn": "work/burned.mp4", "split": None}


def _episode_key(spec: JobSpec, ep: EpisodeRender) -> str:
    """What an episode's outputs depend on: the master, the burned subtitles, the crop path given, the
    episode's frame range and every setting of its render."""
    inputs = [Path(p) for p in (spec.master, spec.burn_subtitle(), spec.path_in) if p is not None]
    inputs += [Path(p) for p in spec.subs if p != spec.burn_subtitle()]  # the soft subtitles
    params = {
        "frames": [ep.source.first, ep.source.count], "aspect": spec.aspect, "mode": spec.reframe_mode,
        "subtitle_preset": spec.subtitle_preset, "burn_lang": spec.burn_lang, "ladder": spec.ladder,
        "packages": spec.packages, "masters": spec.masters, "vmaf": spec.vmaf, "mezzanine": spec.mezzanine,
        "subs": [str(p) for p in spec.subs], "subs_soft": spec.subs_soft, "labels": spec.labels,
        "label_values": spec.label_values, "series": spec.series, "watermark": spec.watermark,
        "watermark_payload": f"{ep.watermark.payload:08x}" if ep.watermark is not None else None,
        "watermark_key": file_digest_text(ep.watermark) if ep.watermark is not None else None,
    }  # fmt: skip
    if spec.detector != "full":  # (the default's keys stay those of the folders made before the option)
        params["detector"] = spec.detector
    return stage_key(inputs, params)


def file_digest_text(mark: Any) -> str:
    """A fingerprint of a watermark's key (the key itself is never written)."""
    import hashlib

    return hashlib.sha256(str(mark.key).encode()).hexdigest()[:16]


def run_job(
    spec: JobSpec,
    *,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    force: bool = False,
    executor: Executor | None = None,
) -> JobReport:
    """Plan the whole job, then render each episode once from the master (skipping episodes already done
    with the same inputs and settings).

    ``executor``: where the episodes render (default: ``spec.jobs`` threads on this machine; see
    :mod:`vertcut.jobs.executor`). A dry run plans (the analysis is cached, nothing is rendered or
    written), reports every ffmpeg command the renders would run, and returns the plan in the report.

    Raises:
        VertcutError: bad input (before any encode), or the first episode that failed (the others are
            finished and recorded first; a rerun redoes only the failed ones).
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
    created = not out.exists()
    try:
        return _run_locked(spec, info, ff, rep, out, ledger, work, report, collect, force, executor)
    except VertcutError:
        if created and not dry and not any(ledger.state.glob("episode-*.done.json")):
            shutil.rmtree(out, ignore_errors=True)  # bad input found while planning: nothing is left behind
        raise


def _run_locked(
    spec: JobSpec,
    info: MediaInfo,
    ff: FFmpeg,
    rep: Reporter,
    out: Path,
    ledger: Ledger,
    work: Path,
    report: JobReport,
    collect: ProgressSink,
    force: bool,
    executor: Executor | None,
) -> JobReport:
    from ..analysis import AnalysisParams, analyse
    from ..render.episode import render_episode, render_task
    from .plan import plan_job

    dry = ff.dry_run
    with contextlib.nullcontext() if dry else ledger.locked():
        if not dry:  # a dry run writes (and removes) nothing
            for stage, old in _RETIRED.items():
                ledger.retire(stage, [out / old] if old else [])
            for marker in [
                *ledger.state.glob("encode-*.done.json"),
                *(ledger.state.glob("episode-*.done.json") if force else []),
            ]:
                ledger.forget(marker.name.removesuffix(".done.json"))

        planning: list[str] = []  # the commands planning ran (loudness: pass 1)

        def planned(ev: Any) -> None:
            if ev.kind == "command":
                planning.append(ev.text)
            collect(ev)

        analysis = analyse(spec.master, sink=collect, threads=ff.threads, params=AnalysisParams(detector=spec.detector))
        report.stages["analyse"] = "done"
        plan = plan_job(spec, info, analysis=analysis, ffmpeg=ff.with_sink(planned), sink=planned,
                        work=None if dry else work)  # fmt: skip
        report.stages["plan"] = "done"
        report.languages = plan.languages
        if dry:
            report.plan = {**plan.to_json(), "commands": planning}
        else:
            plan.write(out / "plan.json")
            if plan.camera is not None:
                plan.camera.write(work / "reframe-path.json")

        # --- render: each episode once, on this machine or on the cluster ---------------------------
        if dry:  # every command each episode's render would run, in the plan printed
            assert report.plan is not None
            for ep, entry in zip(plan.episodes, report.plan["episodes"], strict=True):
                commands: list[str] = []

                def record(ev: Any, commands: list[str] = commands) -> None:
                    if ev.kind == "command":
                        commands.append(ev.text)
                    collect(ev)

                render_episode(ep, ffmpeg=ff.with_sink(record), sink=record)
                entry["commands"] = commands
            report.stages["render"] = "dry run"
            rep.info("dry run: nothing was rendered or written")
            return report
        pool = executor if executor is not None else LocalExecutor(spec.jobs)
        task_ff = _task_runner(ff, pool)
        todo: list[tuple[str, str, EpisodeRender]] = []
        for ep in plan.episodes:
            name, key = f"episode-{ep.name}", _episode_key(spec, ep)
            if ledger.is_done(name, key):
                continue
            todo.append((name, key, replace(ep, threads=task_ff.threads)))
        skipped = len(plan.episodes) - len(todo)
        failures: list[VertcutError] = []
        enc = Reporter(collect, "episodes")
        enc.start(len(todo), "episodes")
        for n, outcome in enumerate(pool.run(render_task, [(ep, task_ff) for _, _, ep in todo], collect), 1):
            name, key, ep = todo[outcome.index]
            if outcome.error is not None:
                failures.append(outcome.error)
            else:
                ledger.mark(name, key, [ep.dest / "report.json", *([ep.mezzanine_dest] if ep.mezzanine_dest else [])])
                if pool.name != "local":
                    enc.info(f"{ep.name} rendered on {outcome.worker.get('host')} (pid {outcome.worker.get('pid')})")
                report.workers[ep.name] = outcome.worker
            enc.advance(n, len(todo), "episodes")
        if failures:  # the other episodes are done and recorded; a rerun redoes only these
            for more in failures[1:]:
                enc.warning(f"also failed: {more}")
            raise failures[0]
        enc.end(f"{len(todo)} episode(s) rendered, {skipped} already done")
        report.stages["render"] = "skipped" if not todo else "done"

        # --- the series: manifest, other languages, contact sheet, report -----------------------------
        from .manifest import write_manifest

        manifest = write_manifest(plan, out, sink=collect)
        report.episodes = manifest["episodes"]
        report.stages["manifest"] = "done"
        data = {"vertcut": __version__, **report.to_dict()}
        with atomic_path(out / "report.json") as tmp:
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        from .report_html import write_report_html

        write_report_html(out, manifest, json.loads(json.dumps(data, default=str)))
        if spec.check:
            _check_series(spec, out, ff, collect)
    rep.end(f"{len(plan.episodes)} episode(s) in {out}")
    return report


def _check_series(spec: JobSpec, out: Path, ff: FFmpeg, sink: ProgressSink) -> None:
    """``vertcut check`` of the series just made: ``check.json`` and ``check.html``. What it finds is
    reported (its errors as notes), never a failure of the run; a check that cannot run is a warning."""
    from ..check.html import write_check_html
    from ..check.series import check_paths
    from ..errors import PresetError
    from ..presets import find_preset

    rep = Reporter(sink, "check")
    try:
        find_preset("check", spec.subtitle_preset)
        preset = spec.subtitle_preset
    except PresetError:
        preset = "elder-large"
    try:
        result = check_paths([out], preset=preset, ffmpeg=ff, sink=sink)
    except VertcutError as exc:
        rep.warning(f"the series could not be checked: {exc}")
        return
    except Exception as exc:  # a bug in a check must not fail the series it reports on
        if os.environ.get("VERTCUT_DEBUG") == "1":
            raise
        rep.warning(f"the series could not be checked (internal error: {type(exc).__name__}: {exc})")
        return
    with atomic_path(out / "check.json") as tmp:
        tmp.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str))
    write_check_html(result, out / "check.html")
    for f in result.findings:
        if f.severity == "error":
            rep.info(f"{f.episode + ': ' if f.episode else ''}{f.check}/{f.rule}: {f.message}")
    rep.end(f"{result.errors} error(s), {result.warnings} warning(s): {out / 'check.html'}")


def _task_runner(ff: FFmpeg, pool: Executor) -> FFmpeg:
    """The runner settings an executor task gets: no sink (the task may run in another process) and the
    pool's thread cap per task, else the caller's own."""
    return ff.replace(sink=None, threads=pool.threads_per_task or ff.threads)


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
