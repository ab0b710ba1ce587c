"""Episode split on the 75 s 1080p sample master, against the ffmpeg commands one would script by hand.

* speed: ``render_split`` (re-encode every episode from its exact first frame, re-time two
  subtitle tracks, verify frame counts / edit lists / audio length / first and last frame,
  write the contact sheet and manifest) against plain per-episode
  ``ffmpeg -ss T -i master -t D -c:v libx264 -preset veryfast -crf 16 -c:a aac`` with the same
  cut points and encoder settings and no checks: wall-clock and CPU seconds of the round with the
  median ratio, of 3 paired rounds (every other round the peer first);
* figures: markers snapped onto the ground-truth nearest hard cut (sample_media/ground_truth.json),
  and the planning time with a cached analysis.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result, paired_results, paired_rounds
from bench.media import REPO, master
from vertcut.ffmpeg import FFmpeg
from vertcut.markers import read_markers
from vertcut.split import plan_split, render_split
from vertcut.timebase import to_ffmpeg_seconds

REPEAT = 3


def benchmarks(work: Path) -> Iterator[Result]:
    src = master(work)
    edl = REPO / "sample_media" / "markers.edl"
    truth_path = REPO / "sample_media" / "ground_truth.json"
    if not edl.is_file() or not truth_path.is_file():
        return
    markers = read_markers(edl, rate=25)
    plan_split(src, markers)  # warm the analysis cache
    t0 = time.perf_counter()
    plan = plan_split(src, markers)
    t_plan = time.perf_counter() - t0
    truth = json.loads(truth_path.read_text())
    want = [m["nearest_cut"] for m in truth["markers"]]
    got = [e.frames.stop for e in plan.episodes[:-1]]
    hits = sum(g == w for g, w in zip(got, want, strict=True))
    yield Result(
        "markers snapped to the true nearest cut",
        hits / len(want),
        0.0,
        "",
        target=1.0,
        kind="figure",
        note=f"{hits}/{len(want)}: got {got}, truth {want}",
    )
    yield Result("plan_split (cached analysis), s", t_plan, 0.0, "", kind="figure")

    subs = {
        lang: REPO / "sample_media" / f"master.{lang}.srt"
        for lang in ("zh", "en")
        if (REPO / "sample_media" / f"master.{lang}.srt").is_file()
    }
    peer_dir = work / "split-peer"
    ff = FFmpeg()

    def ours() -> None:
        render_split(plan, work / "split-ours", subtitles=subs)

    def peer() -> None:
        shutil.rmtree(peer_dir, ignore_errors=True)
        peer_dir.mkdir(parents=True)
        for ep in plan.episodes:
            ff.run(
                ["-ss", to_ffmpeg_seconds(ep.start), "-i", str(src), "-t", to_ffmpeg_seconds(ep.duration),
                 "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "aac",
                 "-b:a", "256k", str(peer_dir / f"ep{ep.number:03d}.mp4")]
            )  # fmt: skip

    rounds = paired_rounds([ours, peer], REPEAT)
    manifest = json.loads((work / "split-ours" / "manifest.json").read_text())
    ok = manifest["totals"]["verified"]
    yield from paired_results(
        rounds,
        "split 75 s 1080p master into 4 episodes (+subs, checks, sheet)",
        "ffmpeg -ss/-t per episode, same encoder",
        0.7,
        f"all verified: {ok}",
    )
