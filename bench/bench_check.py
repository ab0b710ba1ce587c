"""``vertcut check`` on a 2-minute 1080x1920 episode: speed against real time, and against plain ffmpeg.

The episode: the sample master looped to 120 s (its Chinese subtitles twice, 75 s apart), made by
``vertcut run`` into one episode with the default four-rung ladder (1080x1920 top), the subtitles
burned in and the ``filing``, ``aigc`` and ``endcard`` labels (not timed; kept in ``--work``).

* ``vertcut check OUT`` (the whole check: one decode pass at 135x240 of the smallest rung for flashes
  and pace, loudness, the subtitle files, the labels and burned text looked for in the top rung, the
  delivery re-validated), as a multiple of real time (target >= 5x);
* the peer: one plain ffmpeg process doing the part of that work ffmpeg can do, the smallest rung
  decoded and scaled to 135x240 and its sound measured by ``ebur128`` (``-f null``), timed back to
  back (the ratio: ffmpeg's time / vertcut's);
* the on-screen part alone (labels and burned text, in this process), in seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result
from bench.media import SAMPLE_MASTER, master
from vertcut.ffmpeg import FFmpeg
from vertcut.ffmpeg.runner import ffmpeg_exe

SECONDS = 120


def _episode(work: Path) -> Path:
    out = work / "out"
    if (out / "episodes" / "manifest.json").is_file():
        return out
    src = master(work)
    looped = work / "master-120s.mp4"
    if not looped.exists():
        FFmpeg().run(["-stream_loop", "1", "-i", str(src), "-t", str(SECONDS), "-c", "copy", str(looped)])
    cmd = [sys.executable, "-m", "vertcut", "--progress", "none", "run", str(looped), "--mode", "center",
           "--package", "hls,mp4", "--labels", "filing,aigc,endcard", "--label-value", "filing=(2025)第123号",
           "--no-check", "-o", str(out)]  # fmt: skip
    srt = SAMPLE_MASTER.parent / "master.zh.srt"
    if srt.is_file():
        import pysubs2

        subs = pysubs2.load(str(srt))
        twice = pysubs2.SSAFile()
        for shift in (0, 75000):
            for e in subs:
                if e.start + shift < SECONDS * 1000:
                    twice.append(pysubs2.SSAEvent(start=e.start + shift, end=min(e.end + shift, SECONDS * 1000),
                                                  text=e.text))  # fmt: skip
        twice.save(str(work / "master-120s.zh.srt"))
        cmd[7:7] = ["--subs", str(work / "master-120s.zh.srt")]
    subprocess.run(cmd, check=True)
    return out


def benchmarks(work: Path) -> Iterator[Result]:
    out = _episode(work)
    smallest = min((out / "encoded" / "ep001" / "mp4").glob("*.mp4"), key=lambda p: p.stat().st_size)
    peer_cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(smallest), "-filter_complex",
                "[0:v]scale=135:240[v];[0:a]ebur128=peak=true[a]", "-map", "[v]", "-map", "[a]", "-f", "null", "-"]  # fmt: skip
    ours_cmd = [sys.executable, "-m", "vertcut", "--progress", "none", "check", str(out), "--json"]
    ours = peer = float("inf")
    report: dict[str, object] = {}
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(peer_cmd, check=True, capture_output=True)
        peer = min(peer, time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = subprocess.run(ours_cmd, capture_output=True, text=True)
        ours = min(ours, time.perf_counter() - t0)
        report = json.loads(res.stdout)
    yield Result("check: 2-min 1080x1920 episode, x real time", SECONDS / ours, 0.0, "", target=5.0, kind="figure",
                 note=f"{ours:.1f} s for {SECONDS} s; {report.get('errors')} errors, {report.get('warnings')} warnings")  # fmt: skip
    yield Result("check vs ffmpeg decode 135x240 + ebur128", ours, peer, "ffmpeg -f null",
                 note="the peer does the decode and loudness only")  # fmt: skip
    from vertcut.check import burned, onscreen

    plan = json.loads((out / "plan.json").read_text())
    ep = plan["episodes"][0]
    top = max((out / "encoded" / "ep001" / "mp4").glob("*.mp4"), key=lambda p: p.stat().st_size)
    t0 = time.perf_counter()
    onscreen.label_findings(top, ep["delivery"]["labels"], "ep001")
    t_labels = time.perf_counter() - t0
    t0 = time.perf_counter()
    if plan.get("subtitles"):
        burned.burned_findings(top, plan["subtitles"], ep["burned_text"], "ep001", min_contrast=7)
    t_burned = time.perf_counter() - t0
    yield Result("check: labels looked for on screen, s", t_labels, 0.0, "", kind="figure",
                 note=f"{len(ep['delivery']['labels'])} labels in the {top.stem} rung")  # fmt: skip
    yield Result("check: burned text looked for on screen, s", t_burned, 0.0, "", kind="figure",
                 note=f"{len(ep['burned_text'])} events")  # fmt: skip
