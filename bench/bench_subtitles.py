"""Subtitle burn-in cost: the same encode with and without burned-in subtitles.

Input: a 1080x1920 25 fps vertical clip (the reframed picture the burn-in
runs on) cut from the sample master, or a lavfi stand-in, 20 s long, with the
sample's Chinese subtitles for that span (elder-large preset: layout, timing
repair, coverage check, ASS, libass render). Both sides use the same x264
settings; the peer is plain ffmpeg re-encoding the clip without any filter.
The issue's target: burn-in adds at most 5 % (ratio >= 1/1.05 = 0.952).
Two figures: wall-clock (best of 3, interleaved) and the CPU seconds ffmpeg
used (children's user+sys, best of 3), which a busy machine disturbs less.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

from bench.harness import Result
from bench.media import REPO
from vertcut.ffmpeg import FFmpeg
from vertcut.subtitles import burn, load_subtitles, retime, write_srt

SECONDS = 20
ENC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]


def _vertical_clip(work: Path) -> Path:
    out = work / f"vertical-{SECONDS}s.mp4"
    if out.exists():
        return out
    master = REPO / "sample_media" / "master.mp4"
    if master.is_file():  # centre 9:16 crop of the master, scaled to 1080x1920 (a stand-in for the reframe)
        args = ["-i", str(master), "-t", str(SECONDS), "-vf", "crop=608:1080,scale=1080:1920", "-an"]
    else:
        args = ["-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=25:d={SECONDS}"]
    FFmpeg().run([*args, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", str(out)])
    return out


def _subs(work: Path) -> Path:
    out = work / f"first-{SECONDS}s.zh.srt"
    if out.exists():
        return out
    src = REPO / "sample_media" / "master.zh.srt"
    if src.is_file():
        track, _ = retime(load_subtitles(src), Fraction(0), Fraction(SECONDS), policy="clip")
        write_srt(track, out)
    else:
        cues = [
            f"{i + 1}\n00:00:{2 * i:02d},200 --> 00:00:{2 * i + 1:02d},800\n你终于回来了，这三年你到底去了哪里？\n"
            for i in range(SECONDS // 2)
        ]
        out.write_text("\n".join(cues), encoding="utf-8")
    return out


def benchmarks(work: Path) -> Iterator[Result]:
    clip, subs = _vertical_clip(work), _subs(work)
    ff = FFmpeg()
    n = len(load_subtitles(subs).cues)

    results = []

    def ours() -> None:
        results.append(
            burn(clip, subs, work / "burned.mp4", preset="elder-large", lang="zh", ffmpeg=ff, encoder_args=ENC)
        )

    def peer() -> None:
        ff.run(["-i", str(clip), "-map", "0:v:0", *ENC, "-y", str(work / "plain.mp4")])

    (w_ours, c_ours), (w_peer, c_peer) = _measure([ours, peer], repeat=3)
    name = f"subs burn-in, {SECONDS} s 1080x1920 x264 ({n} cues)"
    note = "target: burn-in adds <= 5 %"
    yield Result(name + " wall", w_ours, w_peer, "same encode, no subtitles", target=1 / 1.05, note=note)
    yield Result(name + " CPU", c_ours, c_peer, "same encode, no subtitles", target=1 / 1.05, note=note)
    yield _filter_share(work, clip, results[-1].ass, c_peer)
    yield from glyph_heights(work)


def _filter_share(work: Path, clip: Path, ass_text: str, encode_cpu: float) -> Result:
    """CPU of the libass filter alone (decode with it minus decode without), as a % of the encode's CPU:
    the burn-in's own cost, free of the encoder's run-to-run noise."""
    from vertcut.ffmpeg import escape_filter_path
    from vertcut.presets import load_preset
    from vertcut.subtitles.fonts import font_for

    ass = work / "bench.ass"
    ass.write_text(ass_text, encoding="utf-8")
    fonts = work / "fonts"
    fonts.mkdir(exist_ok=True)
    font = font_for("zh", load_preset("subtitle", "elder-large").font_family("zh"))
    link = fonts / font.path.name
    if not link.exists():
        link.symlink_to(font.path)
    vf = f"ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(fonts)}"
    ff = FFmpeg()
    (_, with_ass), (_, plain) = _measure(
        [
            lambda: ff.run(["-i", str(clip), "-vf", vf, "-f", "null", "-"]),
            lambda: ff.run(["-i", str(clip), "-f", "null", "-"]),
        ],
        repeat=3,
    )
    share = 100 * (with_ass - plain) / encode_cpu
    return Result(
        "libass filter CPU as % of the encode's CPU",
        share,
        0.0,
        "",
        kind="figure",
        note=f"{with_ass - plain:.2f} s filter vs {encode_cpu:.2f} s encode (issue: <= 5 %)",
    )


def glyph_heights(work: Path) -> Iterator[Result]:
    """Rendered height of 田 at 1080x1920 against each preset's visible size (the issue allows +-5 %)."""
    import av
    import numpy as np

    from vertcut.presets import load_preset

    canvas = work / "grey-1080x1920.mp4"
    lossless = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p"]
    if not canvas.exists():
        FFmpeg().run(["-f", "lavfi", "-i", "color=c=0x808080:s=1080x1920:r=25:d=0.4", *lossless, str(canvas)])
    srt = work / "tian.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\n田田田\n", encoding="utf-8")
    for preset in ("standard", "elder-large", "elder-xl", "high-contrast"):
        out = work / f"tian-{preset}.mp4"
        burn(canvas, srt, out, preset=preset, lang="zh", encoder_args=lossless)
        with av.open(str(out)) as c:
            img = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        style = load_preset("subtitle", preset)
        colour = np.array([int(style.text_colour[i : i + 2], 16) for i in (1, 3, 5)])
        rows = np.flatnonzero((np.abs(img - colour).max(axis=2) < 30).any(axis=1))
        height = int(rows.max() - rows.min() + 1)
        err = 100 * (height / style.glyph_height_px - 1)
        yield Result(
            f"glyph height {preset} (100 - |error %|)",
            100 - abs(err),
            0.0,
            "",
            target=95.0,
            kind="figure",
            note=f"{height} px rendered for {style.glyph_height_px:g} px ({err:+.1f} %), bottom y={rows.max()}",
        )


def _measure(fns: list[Callable[[], None]], repeat: int) -> list[tuple[float, float]]:
    """Best wall-clock and best child-process CPU seconds of each function, run alternately."""
    best = [(float("inf"), float("inf")) for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            fn()
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            best[i] = (min(best[i][0], wall), min(best[i][1], cpu))
    return best
