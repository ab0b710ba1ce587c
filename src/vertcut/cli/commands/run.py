"""``vertcut run MASTER ...``: the whole pipeline for one master."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ...jobs import JobSpec, run_job
from ...jobs.executor import make_executor
from ..state import detector_option, executor_options, get_state, split_csv
from .split import check_marker_colour, check_marker_name

__all__ = ["DETERMINISTIC_THREADS", "command"]

# encoder threads under --deterministic: x264's bytes depend on its thread count, and with VBV (every
# rung has a maxrate) two frame threads are not repeatable on a loaded machine (5 runs, 5 streams)
DETERMINISTIC_THREADS = 1


@click.command("run")
@click.argument("master", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option(
    "--subs", multiple=True, type=click.Path(path_type=Path), help="Subtitle file (repeat; language from NAME.xx.srt)."
)
@click.option("--markers", type=click.Path(path_type=Path), help="Cliffhanger markers (EDL, FCPXML, CSV, ...).")
@click.option("--burn-lang", help="Language to burn in (default: the first --subs file).")
@click.option("--aspect", default="9:16", show_default=True, help="Target aspect: 9:16, 4:5, 1:1.")
@click.option(
    "--mode", "reframe_mode", default="auto", show_default=True, help="Reframe mode: auto|static|track|center|pad."
)
@detector_option
@click.option("--sub-preset", "subtitle_preset", default="elder-large", show_default=True, help="Subtitle preset.")
@click.option("--ladder", default="h264-default", show_default=True, help="Ladder preset.")
@click.option("--package", "packages", default="hls,dash,ts,mp4", show_default=True, help="Packages to write.")
@click.option("--masters", "masters", default="", help="Platform upload masters, e.g. douyin,youtube-shorts.")
@click.option("--free-episodes", type=int, help="The first N episodes are free.")
@click.option("--snap", help="Snap markers to shot cuts within this distance, e.g. 0.5s or 12f.")
@click.option(
    "--marker-colour",
    "marker_colours",
    multiple=True,
    metavar="COLOUR",
    callback=check_marker_colour,
    help="The cliffhangers are the markers of this colour (repeat, or red,pink); the others are notes.",
)
@click.option(
    "--marker-name",
    default="",
    metavar="REGEX",
    callback=check_marker_name,
    help="The cliffhangers are the markers whose name matches; with --marker-colour, both.",
)
@click.option("--vmaf", is_flag=True, help="Score every rung with VMAF (against a lossless render of the same pass).")
@click.option("--path-in", type=click.Path(path_type=Path), help="Use this (edited) crop path instead of planning one.")
@click.option(
    "--mezzanine",
    type=click.Choice(["hq", "lossless"]),
    is_flag=False,
    flag_value="hq",
    default=None,
    help="Also write an episode file for archive and re-delivery (episodes/epNNN.mp4): hq (x264 crf 16, "
    "the default) or lossless.",
)
@click.option(
    "--subs-soft",
    default="",
    help="Soft subtitle languages in the packages, e.g. en,th,ar (default: every --subs language not burned "
    "in; 'none': none).",
)
@click.option("--labels", default="", help="Label presets composited in the render, e.g. filing,aigc,logo,endcard.")
@click.option(
    "--label-value",
    "label_values",
    multiple=True,
    help="NAME=VALUE for the labels' templates (repeat), e.g. filing='(2025)…第123号' or logo=logo.png.",
)
@click.option("--series", default="", help="The series' name for labels and metadata (default: the master's name).")
@click.option("--watermark", default="", help="Distributor ID to embed as an invisible mark in every episode.")
@click.option(
    "--watermark-key",
    default="",
    envvar="VERTCUT_WATERMARK_KEY",
    show_envvar=True,
    help="The watermark key (32-64 hex digits; `vertcut watermark keygen` makes one).",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 16), default=1, show_default=True, help="Episodes encoded at once."
)
@click.option("--force", is_flag=True, help="Redo every episode, even those already done.")
@click.option("--no-check", is_flag=True, help="Do not check the finished series (check.json, check.html).")
@click.option(
    "--deterministic",
    is_flag=True,
    help=f"Byte-identical media on every run, locally and on Ray: every encoder runs {DETERMINISTIC_THREADS} thread.",
)
@click.option(
    "--dry-run", "dry_run", is_flag=True, help="Plan, print the plan and every ffmpeg command; render nothing."
)
@executor_options
def command(
    master: Path,
    out: Path,
    subs: tuple[Path, ...],
    markers: Path | None,
    burn_lang: str | None,
    aspect: str,
    reframe_mode: str,
    detector: str,
    subtitle_preset: str,
    ladder: str,
    packages: str,
    masters: str,
    free_episodes: int | None,
    snap: str | None,
    marker_colours: tuple[str, ...],
    marker_name: str,
    vmaf: bool,
    path_in: Path | None,
    mezzanine: str | None,
    subs_soft: str,
    labels: str,
    label_values: tuple[str, ...],
    series: str,
    watermark: str,
    watermark_key: str,
    jobs: int,
    force: bool,
    no_check: bool,
    deterministic: bool,
    dry_run: bool,
    executor: str,
    address: str,
    retries: int,
    cpus_per_task: float,
) -> None:
    """Make vertical episodes from MASTER: plan everything, then render each episode once.

    The plan (crop path, subtitle layer, episodes at the cliffhanger markers,
    loudness) comes first and is saved as plan.json; each episode is then
    decoded once from the master, reframed, subtitled and encoded into its whole
    ladder and platform masters by one ffmpeg process. Episodes already done
    with the same inputs and settings are skipped, so a killed run resumes where
    it stopped. With --executor ray the episodes render as tasks on a Ray
    cluster (every node must see the same paths). With --dry-run the plan is
    printed (JSON) with every ffmpeg command, and nothing is rendered.
    """
    st = get_state()
    spec = JobSpec(
        master=master,
        out=out,
        subs=subs,
        markers=markers,
        burn_lang=burn_lang,
        aspect=aspect,
        reframe_mode=reframe_mode,
        detector=detector,
        subtitle_preset=subtitle_preset,
        ladder=ladder,
        packages=split_csv(packages),
        masters=split_csv(masters),
        free_episodes=free_episodes,
        snap=snap,
        marker_colour=",".join(marker_colours),
        marker_name=marker_name,
        vmaf=vmaf,
        jobs=jobs,
        path_in=path_in,
        mezzanine=mezzanine or "",
        subs_soft=split_csv(subs_soft),
        labels=split_csv(labels),
        label_values=label_values,
        series=series,
        watermark=watermark,
        watermark_key=watermark_key,
        check=not no_check,
    )
    dry = st.dry_run or dry_run
    ff = st.ffmpeg().replace(dry_run=True) if dry else st.ffmpeg()
    if deterministic:
        ff = ff.replace(encoder_threads=DETERMINISTIC_THREADS)
    with make_executor(executor, workers=jobs, address=address, retries=retries, cpus_per_task=cpus_per_task) as pool:
        report = run_job(spec, ffmpeg=ff, sink=st.sink, force=force, executor=pool)
    if dry:
        click.echo(json.dumps(report.plan, indent=2, ensure_ascii=False))
        return
    for stage, status in report.stages.items():
        click.echo(f"{stage:<9} {status}")
    for ep in report.episodes:  # entries of episodes/manifest.json (docs/manifest.md)
        name = str(ep.get("id") or ep.get("name") or "")
        frames = ep.get("frames", {})
        seconds = float(ep.get("duration", {}).get("s", 0))
        hls = out / "encoded" / name / "cmaf" / "master.m3u8"
        click.echo(
            f"{name}  frames {frames.get('first')}-{frames.get('last')}  {seconds:6.2f} s  {ep.get('tier', ''):<4}"
            f"  {hls if hls.exists() else ''}"
        )
    click.echo(f"report: {out / 'report.json'}")
