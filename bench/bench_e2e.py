"""End to end: ``vertcut run`` on the sample against one plain ffmpeg process doing the same picture work.

vertcut: the README's job (``vertcut run`` with the Chinese subtitles burned in ``elder-large``, the
English ones re-timed, three cliffhanger markers, the default ladder and packages), from a fresh
cache: probe, the analysis pass (cuts, faces, motion), the plan, the loudness pass, then one render
per episode into the four rungs (CMAF for HLS/DASH), MPEG-TS and progressive MP4 remuxes, the
manifest with its checks.

The anchor: the single ffmpeg command an engineer would write for the same picture: the whole master
decoded once, a static 9:16 centre crop, scaled to 1080x1920, the same subtitles burned by libass
(vertcut's own ASS document, so both draw the same text), split into the same four rungs with the
same x264 settings (capped CRF, closed GOPs, keyframes every 2 s, veryfast) and the audio as AAC.
No analysis, no loudness pass, no packaging, no episodes.

Both run as child processes, back to back, alternating which goes first; CPU seconds are the
children's (``RUSAGE_CHILDREN``). Target (issue 14): vertcut's CPU throughput at least 0.90x the
anchor's (anchor CPU / vertcut CPU >= 0.90).

Quality: VMAF (vmaf_v0.6.1, every 5th frame) of every rung against a lossless render of the same
crop (centre, scaled, subtitles burned by libass), for the anchor's rungs and for vertcut's, the
latter run with ``--path-in`` of a static centre path so that both frame the same pixels. vertcut
pays one lossy generation as the anchor does; the target is vertcut no more than 0.5 below the
anchor on each rung.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from bench.harness import Result, paired_rounds
from bench.media import REPO
from vertcut.ffmpeg import FFmpeg, escape_filter_path
from vertcut.presets import load_preset

REPEAT = int(os.environ.get("VERTCUT_BENCH_ROUNDS", "2"))
SAMPLE = REPO / "sample_media"
SUBSAMPLE = 5  # VMAF on every 5th frame


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "VERTCUT_CACHE_DIR": str(cache), "VERTCUT_PRESETS_DIR": str(cache / "no-presets")}


def _vertcut(out: Path, cache: Path, *extra: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache / "analysis", ignore_errors=True)  # a fresh analysis every round
    subprocess.run(
        [sys.executable, "-m", "vertcut", "-q", "run", str(SAMPLE / "master.mp4"), "--subs",
         str(SAMPLE / "master.zh.srt"), "--subs", str(SAMPLE / "master.en.srt"), "--markers",
         str(SAMPLE / "markers.edl"), "-o", str(out), *extra],
        check=True, env=_env(cache), stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _ass(work: Path) -> tuple[Path, Path]:
    """vertcut's ASS document for the sample's Chinese subtitles on a 1080x1920 picture, and a fonts folder."""
    from vertcut.render.planes import OUTPUT_COLOR
    from vertcut.subtitles.layer import BurnOptions, Picture, plan_subtitles

    pic = Picture((1080, 1920), "yuv420p", OUTPUT_COLOR, Fraction(1, 25), Fraction(25), Fraction(75))
    plan = plan_subtitles(pic, BurnOptions(SAMPLE / "master.zh.srt", "elder-large", "zh"))
    ass = work / "subs.ass"
    ass.write_text(plan.text, encoding="utf-8")
    fonts = work / "fonts"
    fonts.mkdir(exist_ok=True)
    link = fonts / plan.font.path.name
    if not link.exists():
        link.symlink_to(plan.font.path)
    return ass, fonts


def _picture(ass: Path, fonts: Path) -> str:
    return (
        "crop=608:1080:656:0,scale=1080:1920,setsar=1,"
        "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv,"
        f"ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(fonts)}"
    )


def _anchor_args(out: Path, ass: Path, fonts: Path) -> list[str]:
    lad = load_preset("ladder", "h264-default")
    n = len(lad.rungs)
    graph = f"[0:v]{_picture(ass, fonts)},split={n}" + "".join(f"[s{i}]" for i in range(n))
    graph += "".join(f";[s{i}]scale={r.width}:{r.height},setsar=1[v{i}]" for i, r in enumerate(lad.rungs))
    args = ["-i", str(SAMPLE / "master.mp4"), "-filter_complex", graph]
    for i, r in enumerate(lad.rungs):
        args += [
            "-map",
            f"[v{i}]",
            *(["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{lad.audio_bitrate_k}k"] if i == 0 else []),
        ]
        args += ["-c:v", "libx264", "-preset", lad.speed, "-profile:v", lad.profile, "-crf", str(r.crf),
                 "-maxrate", f"{r.maxrate_k}k", "-bufsize", f"{r.bufsize_k or 2 * r.maxrate_k}k",
                 "-force_key_frames", f"expr:gte(t,n_forced*{lad.segment_seconds})", "-g", "100",
                 "-sc_threshold", "0", "-x264-params", "scenecut=0:open-gop=0", str(out / f"{r.name}.mp4")]  # fmt: skip
    return args


def _vmaf(ff: FFmpeg, dist: Path, ref: Path, log: Path, frames: tuple[int, int] | None = None) -> tuple[float, int]:
    """Mean VMAF of ``dist`` (upscaled to 1080x1920) against ``ref`` (its frames ``frames``), and frames scored."""
    trim = f"trim=start_frame={frames[0]}:end_frame={frames[1]}," if frames else ""
    # frames paired by their index, not their timestamps: a reference in milliseconds (Matroska) and a
    # rung in 1/fps would otherwise pair neighbouring frames now and then
    index = "settb=1/1000,setpts=N*40"
    graph = (
        f"[0:v]scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p,{index}[d];"
        f"[1:v]{trim}{index}[r];[d][r]libvmaf=model=version=vmaf_v0.6.1:n_threads=2:"
        f"n_subsample={SUBSAMPLE}:shortest=1:log_fmt=json:log_path={escape_filter_path(log)}"
    )
    ff.run(["-i", str(dist), "-i", str(ref), "-lavfi", graph, "-f", "null", "-"])
    data = json.loads(log.read_text())
    return float(data["pooled_metrics"]["vmaf"]["mean"]), len(data["frames"])


def _centre_path(work: Path, cache: Path) -> Path:
    os.environ["VERTCUT_CACHE_DIR"] = str(cache)
    from vertcut.analysis import analyse
    from vertcut.reframe.plan import plan_camera

    camera = plan_camera(analyse(SAMPLE / "master.mp4"), 608, 1080, mode="center")
    path = work / "centre-path.json"
    camera.write(path)
    return path


def benchmarks(work: Path) -> Iterator[Result]:
    ff = FFmpeg()
    cache = work / "cache"
    ass, fonts = _ass(work)
    anchor_out = work / "anchor"

    def anchor() -> None:
        shutil.rmtree(anchor_out, ignore_errors=True)
        anchor_out.mkdir()
        ff.run(_anchor_args(anchor_out, ass, fonts))

    # like for like: the anchor checks nothing, so the run's own series check (check.json) is left out
    # here and measured on its own below
    rounds = paired_rounds([lambda: _vertcut(work / "vertcut", cache, "--no-check"), anchor], REPEAT)
    for k, what in enumerate(("wall", "CPU")):
        ratios = sorted(row[1][k] / row[0][k] for row in rounds)
        mid = sorted(rounds, key=lambda row: row[1][k] / row[0][k])[len(rounds) // 2]
        yield Result(f"e2e: run vs one plain ffmpeg ({what})", mid[0][k], mid[1][k], "ffmpeg crop+ass+4 rungs",
                     target=0.90 if what == "CPU" else None,
                     note="sample 75 s, 4 episodes; rounds " + " ".join(f"{r:.2f}" for r in ratios))  # fmt: skip

    checked = paired_rounds([lambda: _vertcut(work / "vertcut", cache), anchor], 1)[0]
    yield Result("e2e: run with its series check vs one plain ffmpeg (CPU)", checked[0][1], checked[1][1],
                 "ffmpeg crop+ass+4 rungs", note="vertcut run as a user runs it: check.json and check.html too")  # fmt: skip
    if os.environ.get("VERTCUT_BENCH_NO_VMAF") == "1":
        return
    # quality: both against a lossless render of the same centre crop with the same subtitles
    ref = work / "reference.mkv"
    if not ref.exists():
        ff.run(["-i", str(SAMPLE / "master.mp4"), "-vf", _picture(ass, fonts), "-an", "-c:v", "libx264", "-qp", "0",
                "-preset", "ultrafast", str(ref)])  # fmt: skip
    centre = _centre_path(work, cache)
    out = work / "vertcut-centre"
    _vertcut(out, cache, "--path-in", str(centre), "--package", "mp4")
    plan = json.loads((out / "plan.json").read_text())
    lad = load_preset("ladder", "h264-default")
    for r in lad.rungs:
        theirs, _ = _vmaf(ff, anchor_out / f"{r.name}.mp4", ref, work / "vmaf.json")
        total = weight = 0.0
        for e in plan["episodes"]:
            a = e["frames"]["first"]
            score, n = _vmaf(ff, out / "encoded" / e["id"] / "mp4" / f"{r.name}.mp4", ref, work / "vmaf.json",
                             (a, a + e["frames"]["count"]))  # fmt: skip
            total, weight = total + score * n, weight + n
        ours = total / weight
        yield Result(f"e2e: VMAF {r.name}, vertcut minus anchor", ours - theirs, 0, "anchor", target=-0.5,
                     kind="figure", note=f"vertcut {ours:.2f}, anchor {theirs:.2f}")  # fmt: skip
