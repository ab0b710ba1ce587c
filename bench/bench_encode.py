"""ABR ladder encode: one pass against separate runs, and vertcut against a hand-written ffmpeg command.

Input: a 1080x1920 25 fps vertical episode with audio (a 9:16 centre crop of
the sample master, or a lavfi stand-in), ``SECONDS`` long. Three jobs produce
the same four H.264 rungs of the default ladder (capped CRF, closed 2 s GOPs,
veryfast) plus AAC audio into fMP4 HLS/DASH segments, timed alternately:

* vertcut: ``encode_episode(packages=("hls", "dash"))`` -- loudness
  measurement, the one-pass ladder, playlist rewrite, I-frame playlists,
  keyframe check, report;
* hand-written: the single ffmpeg command an engineer would type for the
  same ladder (split, four encoders, dash muxer with HLS playlists), no
  loudness pass and no playlist rewrite;
* separate: one ffmpeg run per rung (each decodes and scales the episode
  again) plus one audio run.

Targets (issue 6): separate / vertcut >= 1.15, hand-written / vertcut >= 0.95.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result, paired_rounds
from bench.media import REPO
from vertcut.encode import encode_episode
from vertcut.encode.presets import LadderPreset
from vertcut.ffmpeg import FFmpeg
from vertcut.presets import load_preset

SECONDS = 16
REPEAT = 3


def _episode(work: Path) -> Path:
    out = work / f"episode-{SECONDS}s-1080x1920.mp4"
    if out.exists():
        return out
    master = REPO / "sample_media" / "master.mp4"
    if master.is_file():
        args = ["-i", str(master), "-t", str(SECONDS), "-vf", "crop=608:1080,scale=1080:1920,setsar=1"]
    else:
        args = ["-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=25:d={SECONDS}",
                "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}:sample_rate=48000", "-shortest"]  # fmt: skip
    FFmpeg().run(
        [*args, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-c:a", "aac", "-b:a", "192k", str(out)]
    )
    return out


def _rung_args(lad: LadderPreset, i: int, *, stream: str) -> list[str]:
    r = lad.rungs[i]
    return [f"-c{stream}", "libx264", f"-preset{stream}", lad.speed, f"-profile{stream}", lad.profile,
            f"-crf{stream}", str(r.crf), f"-maxrate{stream}", f"{r.maxrate_k}k",
            f"-bufsize{stream}", f"{r.bufsize_k or 2 * r.maxrate_k}k"]  # fmt: skip


GOP = ["-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-x264-params", "open-gop=0"]
COLOR = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
AUDIO = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
DASH = ["-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "0", "-hls_playlist", "1"]


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def benchmarks(work: Path) -> Iterator[Result]:
    src = _episode(work)
    lad: LadderPreset = load_preset("ladder", "h264-default")
    n = len(lad.rungs)
    ff = FFmpeg()
    frames = SECONDS * 25

    def vertcut() -> None:
        out = work / "vertcut"
        shutil.rmtree(out, ignore_errors=True)
        encode_episode(src, out, ladder=lad, packages=("hls", "dash"), ffmpeg=ff)

    def hand_written() -> None:
        out = _fresh(work / "hand")
        graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n))
        graph += "".join(f";[s{i}]scale={r.width}:{r.height},setsar=1[v{i}]" for i, r in enumerate(lad.rungs))
        args = ["-i", str(src), "-filter_complex", graph]
        for i in range(n):
            args += ["-map", f"[v{i}]"]
        args += ["-map", "0:a:0", *AUDIO]
        for i in range(n):
            args += _rung_args(lad, i, stream=f":v:{i}")
        args += [*GOP, *COLOR, *DASH, "-adaptation_sets", "id=0,streams=v id=1,streams=a", str(out / "manifest.mpd")]
        ff.run(args)

    def separate() -> None:
        out = _fresh(work / "separate")
        for i, r in enumerate(lad.rungs):
            d = _fresh(out / r.name)
            ff.run(["-i", str(src), "-map", "0:v:0", "-vf", f"scale={r.width}:{r.height},setsar=1",
                    *_rung_args(lad, i, stream=":v"), *GOP, *COLOR, *DASH, str(d / "manifest.mpd")])  # fmt: skip
        d = _fresh(out / "audio")
        ff.run(["-i", str(src), "-map", "0:a:0", *AUDIO, *DASH, str(d / "manifest.mpd")])

    jobs = {"vertcut": vertcut, "hand": hand_written, "separate": separate}
    rounds = paired_rounds(list(jobs.values()), REPEAT)  # interleaved rounds: load drift hits all three
    best = {name: min(row[i][0] for row in rounds) for i, name in enumerate(jobs)}
    cpu = {name: min(row[i][1] for row in rounds) for i, name in enumerate(jobs)}
    fps = {k: frames / v for k, v in best.items()}
    cpu_note = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
    yield Result(
        f"one-pass {n}-rung H.264 ladder, {SECONDS} s 1080x1920 ({fps['vertcut']:.1f} fps)",
        best["vertcut"],
        best["separate"],
        f"{n} separate ffmpeg runs + audio ({fps['separate']:.1f} fps)",
        target=1.15,
        note=f"target: one pass >= 1.15x separate runs; CPU s (self+ffmpeg): {cpu_note}; "
        f"CPU ratio {cpu['separate'] / cpu['vertcut']:.2f}x",
    )
    yield Result(
        f"vertcut encode stage, {SECONDS} s 1080x1920 (loudness 2-pass, playlists, checks)",
        best["vertcut"],
        best["hand"],
        f"hand-written single ffmpeg command ({fps['hand']:.1f} fps)",
        target=0.95,
        note=f"target: >= 0.95x the hand-written command's throughput; CPU ratio {cpu['hand'] / cpu['vertcut']:.2f}x",
    )
