"""Real footage: ``vertcut run`` on public clips against plain ffmpeg, judged by libvmaf.

Runs only when ``VERTCUT_REAL_CLIPS`` names clips (``:``-separated paths; the clips stay out of
the repository, see the README for the ones measured and their licences). For each clip:

* markers are put on the analysis' cuts nearest a third and two thirds of the clip (as an editor
  marks cliffhangers on cuts), when it has cuts and sound;
* vertcut: ``vertcut run CLIP --mode center --package mp4`` (fresh cache: the analysis included);
* the anchor: one plain ffmpeg process, the same static centre crop, scaled to 1080x1920, the same
  four rungs and x264 settings;
* with ``VERTCUT_OLD_SRC`` (the ``src`` folder of an earlier vertcut checkout), that version's
  ``vertcut run`` with the same options: the staged pipeline (reframe encode, split encode, ladder);
* VMAF (vmaf_v0.6.1, every 5th frame, frames paired by index) of every rung of each against a
  lossless render of the same crop made by plain ffmpeg, and the CPU seconds of each (child
  processes, back to back). ``VERTCUT_BENCH_REUSE=1`` scores the outputs an earlier run left in
  ``--work`` without running again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bench_e2e import _vmaf
from bench.harness import Result, cpu_seconds
from vertcut.ffmpeg import FFmpeg
from vertcut.presets import load_preset

REUSE = os.environ.get("VERTCUT_BENCH_REUSE") == "1"  # score the outputs left in --work, do not run again


def _crop(clip: Path) -> tuple[int, int, int]:
    """The centre crop vertcut's ``--mode center`` takes: (x, width, height)."""
    from fractions import Fraction

    from vertcut.media import probe
    from vertcut.reframe.plan import crop_size

    v = probe(clip).require_video()
    cw, ch = crop_size(v.width, v.height, Fraction(9, 16), v.sar)
    return round((v.width - cw) / 2) // 2 * 2, cw, ch


def _markers(clip: Path, work: Path, cache: Path) -> Path | None:
    os.environ["VERTCUT_CACHE_DIR"] = str(cache)
    from vertcut.analysis import analyse
    from vertcut.media import probe

    info = probe(clip)
    a = analyse(clip)
    if not a.cuts or not info.audio:
        return None
    n = a.frame_count
    picks = sorted({min(a.cuts, key=lambda c: abs(c - n * k // 3)) for k in (1, 2)})
    path = work / f"{clip.stem}.markers.csv"
    path.write_text("frame,name\n" + "".join(f"{f},EP{i + 1:02d}\n" for i, f in enumerate(picks)))
    return path


def _timed(fn: object) -> float:
    c0 = cpu_seconds()
    fn()  # type: ignore[operator]
    return cpu_seconds() - c0


def _run(src: Path | None, clip: Path, out: Path, cache: Path, markers: Path | None) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache / "analysis", ignore_errors=True)
    env = {**os.environ, "VERTCUT_CACHE_DIR": str(cache), "VERTCUT_PRESETS_DIR": str(cache / "none")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    args = [
        sys.executable,
        "-m",
        "vertcut",
        "-q",
        "run",
        str(clip),
        "--mode",
        "center",
        "--package",
        "mp4",
        "-o",
        str(out),
    ]
    if markers is not None:
        args += ["--markers", str(markers), "--snap", "0f"]
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _episodes(out: Path) -> list[tuple[str, int, int]]:
    manifest = out / "episodes" / "manifest.json"
    if manifest.exists():
        eps = json.loads(manifest.read_text())["episodes"]
        return [(e["id"], e["frames"]["first"], e["frames"]["count"]) for e in eps]
    if (out / "plan.json").exists():
        plan = json.loads((out / "plan.json").read_text())
        return [(e["id"], e["frames"]["first"], e["frames"]["count"]) for e in plan["episodes"]]
    return [("all", 0, 1 << 30)]  # the staged pipeline without markers: one file, encoded/reframed


def _rung_file(out: Path, ep: str, rung: str) -> Path:
    new = out / "encoded" / ep / "mp4" / f"{rung}.mp4"
    if new.exists():
        return new
    return out / "encoded" / (ep if ep != "all" else "reframed") / "mp4" / f"{rung}.mp4"


def benchmarks(work: Path) -> Iterator[Result]:
    clips = [Path(p) for p in os.environ.get("VERTCUT_REAL_CLIPS", "").split(":") if p]
    old = Path(os.environ["VERTCUT_OLD_SRC"]) if os.environ.get("VERTCUT_OLD_SRC") else None
    ff = FFmpeg()
    lad = load_preset("ladder", "h264-default")
    for clip in clips:
        yield from _clip(clip, work, old, ff, lad)


def _clip(clip: Path, work: Path, old: Path | None, ff: FFmpeg, lad: Any) -> Iterator[Result]:
    cache = work / f"cache-{clip.stem}"
    markers = _markers(clip, work, cache)
    x, cw, ch = _crop(clip)
    picture = f"crop={cw}:{ch}:{x}:0,scale=1080:1920,setsar=1"
    ref = work / f"{clip.stem}.reference.mkv"
    if not ref.exists():
        ff.run(
            [
                "-i",
                str(clip),
                "-vf",
                picture,
                "-an",
                "-c:v",
                "libx264",
                "-qp",
                "0",
                "-preset",
                "ultrafast",
                str(ref),
            ]
        )
    anchor = work / f"{clip.stem}.anchor"
    n = len(lad.rungs)
    graph = f"[0:v]{picture},split={n}" + "".join(f"[s{i}]" for i in range(n))
    graph += "".join(f";[s{i}]scale={r.width}:{r.height},setsar=1[v{i}]" for i, r in enumerate(lad.rungs))
    args = ["-i", str(clip), "-filter_complex", graph]
    for i, r in enumerate(lad.rungs):
        args += ["-map", f"[v{i}]", *(["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"] if i == 0 else [])]
        args += ["-c:v", "libx264", "-preset", lad.speed, "-profile:v", lad.profile, "-crf", str(r.crf),
                 "-maxrate", f"{r.maxrate_k}k", "-bufsize", f"{r.bufsize_k or 2 * r.maxrate_k}k",
                 "-force_key_frames", f"expr:gte(t,n_forced*{lad.segment_seconds})", "-g", "100",
                 "-sc_threshold", "0", "-x264-params", "scenecut=0:open-gop=0", str(anchor / f"{r.name}.mp4")]  # fmt: skip

    def run_anchor() -> None:
        shutil.rmtree(anchor, ignore_errors=True)
        anchor.mkdir()
        ff.run(args)

    ours = work / f"{clip.stem}.vertcut"
    staged = work / f"{clip.stem}.staged"
    runs = {"vertcut": ours, **({"staged": staged} if old is not None else {})}
    if REUSE and all((out / "report.json").exists() for out in runs.values()) and anchor.exists():
        pass  # the quality of outputs an earlier run of this benchmark left in --work
    else:
        t_anchor = _timed(run_anchor)
        t_ours = _timed(lambda: _run(None, clip, ours, cache, markers))
        yield Result(f"real {clip.stem[:20]}: run CPU", t_ours, t_anchor, "ffmpeg crop+4 rungs", target=0.90,
                     note=f"{len(_episodes(ours))} episode(s)")  # fmt: skip
        if old is not None:
            t_old = _timed(lambda: _run(old, clip, staged, cache, markers))
            yield Result(f"real {clip.stem[:20]}: staged run CPU", t_old, t_anchor, "ffmpeg crop+4 rungs",
                         note="the earlier staged pipeline")  # fmt: skip
    for r in lad.rungs:
        theirs, _ = _vmaf(ff, anchor / f"{r.name}.mp4", ref, work / "vmaf.json")
        for name, out in runs.items():
            total = weight = 0.0
            for ep, first, count in _episodes(out):
                score, k = _vmaf(ff, _rung_file(out, ep, r.name), ref, work / "vmaf.json", (first, first + count))
                total, weight = total + score * k, weight + k
            mine = total / weight
            yield Result(f"real {clip.stem[:20]}: VMAF {r.name} {name} - anchor", mine - theirs, 0, "anchor",
                         target=-0.5 if name == "vertcut" else None, kind="figure",
                         note=f"{name} {mine:.2f}, anchor {theirs:.2f}")  # fmt: skip
