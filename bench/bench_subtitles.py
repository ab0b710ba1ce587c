"""Subtitle burn-in cost: the same encode with and without burned-in subtitles.

Input: a 1080x1920 25 fps vertical clip (the reframed picture the burn-in
runs on) cut from the sample master, or a lavfi stand-in, 60 s long (a short
episode: most run 1-3 min), with the sample's Chinese subtitles for that span
(elder-large preset: layout, timing repair, coverage check, libass drawing
each on-screen state once, overlay compositing). Both sides use the same x264
settings; the peer is plain ffmpeg re-encoding the clip without any filter.
The issue's target: burn-in adds at most 5 % (ratio >= 1/1.05 = 0.952).

How it is timed. On this project's shared 2-core machine two identical
encodes run one after the other differ by up to 13 %, more than the 5 % to
resolve: most of that is other tenants' load, which changes within seconds.
So every figure comes from side-by-side rounds: vertcut and the peer start
at the same moment and meet the same load. Two ways, both with the target:
one CPU each (each pinned, x264 on one thread, the CPUs swapping every round:
how a batch runs one job per CPU), and both CPUs each (x264 threading as
usual, as one job on a 2-core machine; CPU time is the fair figure there).
Each comes with a control, the peer against itself the same way: its spread
is the method's resolution. Each figure is the round with the median ratio,
with every round's ratio in the note. For information: the compositing alone
(decode with it minus decode without) for both ways vertcut can burn:
sprites + overlay (the default) and ffmpeg's ass filter on every frame. Last,
with the target, the way ``vertcut run`` burns: inside the reframe render's
own encode, against the same render without subtitles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path

from bench.harness import Result, Rounds, median_round, paired_results, paired_rounds, side_by_side_rounds
from bench.media import REPO
from vertcut.ffmpeg import FFmpeg
from vertcut.subtitles import burn, load_subtitles, retime, write_srt

SECONDS = 60
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

    def ours() -> None:
        burn(clip, subs, work / "burned.mp4", preset="elder-large", lang="zh", ffmpeg=ff, encoder_args=ENC)

    def peer(name: str = "plain.mp4") -> None:
        ff.run(["-i", str(clip), "-map", "0:v:0", "-map", "0:a?", *ENC, "-c:a", "copy", "-movflags", "+faststart",
                str(work / name)])  # fmt: skip

    name = f"subs burn-in, {SECONDS} s 1080x1920 x264 ({n} cues)"
    yield from _burn_results(side_by_side_rounds([ours, peer], 7), f"{name}, one CPU each", "same encode, no subtitles")
    yield from _control(side_by_side_rounds, peer, "one CPU each")
    both = partial(side_by_side_rounds, pin=False)
    rounds = both([ours, peer], 5)
    yield from _burn_results(rounds, f"{name}, both CPUs each", "same encode, no subtitles")
    yield from _control(both, peer, "both CPUs each")
    yield from _filter_share(work, clip, subs, median_round(rounds, 1)[1])
    yield from _in_reframe(work, subs)
    yield from glyph_heights(work)


def _in_reframe(work: Path, subs: Path) -> Iterator[Result]:
    """The way ``vertcut run`` burns: in the reframe's own encode (the render of the 16:9 master to
    1080x1920 with the camera path fixed), against the same render without subtitles."""
    from vertcut.reframe import reframe
    from vertcut.reframe.plan import crop_size, plan_camera
    from vertcut.subtitles import BurnOptions

    src = work / f"master-{SECONDS}s.mp4"
    if not src.exists():
        FFmpeg().run(["-i", str(REPO / "sample_media" / "master.mp4"), "-t", str(SECONDS), "-c", "copy", str(src)])
    from vertcut.analysis import analyse

    analysis = analyse(src)
    cw, ch = crop_size(analysis.width, analysis.height, Fraction(9, 16))
    path = work / "reframe-path.json"
    plan_camera(analysis, cw, ch).write(path)
    burn_opts = BurnOptions(subs, "elder-large", "zh")

    def ours() -> None:
        reframe(src, work / "reframed-subs.mp4", path_in=path, encoder_args=ENC, burn=burn_opts)

    def peer() -> None:
        reframe(src, work / "reframed.mp4", path_in=path, encoder_args=ENC)

    name = f"subs burned in the reframe encode, {SECONDS} s 1080p -> 1080x1920"
    for how, timer in (
        ("one CPU each", side_by_side_rounds),
        ("both CPUs each", partial(side_by_side_rounds, pin=False)),
    ):
        yield from _burn_results(timer([ours, peer], 5), f"{name}, {how}", "same reframe, no subtitles")


def _control(timer: Callable[[list[Callable[[], object]], int], Rounds], peer: Callable[[str], None],
             how: str) -> Iterator[Result]:  # fmt: skip
    """The peer against itself, timed by ``timer`` (5 rounds): that method's resolution."""
    rounds = timer([lambda: peer("plain.mp4"), lambda: peer("plain-2.mp4")], 5)
    return paired_results(rounds, f"control: the peer against itself, {how}", "the same encode", None,
                          "this method's resolution (ideal 1.00)")  # fmt: skip


def _burn_results(rounds: Rounds, name: str, peer: str) -> Iterator[Result]:
    return paired_results(rounds, name, peer, 1 / 1.05, "target: burn-in adds <= 5 %")


def _filter_share(work: Path, clip: Path, subs: Path, encode_cpu: float) -> Iterator[Result]:
    """CPU of the compositing alone (decode with it minus decode without), as a % of the encode's CPU:
    the burn-in's own per-frame cost, free of the encoder's run-to-run noise."""
    from vertcut.ffmpeg import escape_filter_path
    from vertcut.media.probe import probe
    from vertcut.presets import load_preset
    from vertcut.subtitles import ass_events, write_ass
    from vertcut.subtitles.fonts import font_for
    from vertcut.subtitles.sprites import render_sprites

    style = load_preset("subtitle", "elder-large")
    track = load_subtitles(subs)
    v = probe(clip).require_video()
    ass = work / "bench.ass"
    ass.write_text(write_ass(track, style, "zh", v.display_size)[0], encoding="utf-8")
    fonts = work / "fonts"
    fonts.mkdir(exist_ok=True)
    font = font_for("zh", style.font_family("zh"))
    link = fonts / font.path.name
    if not link.exists():
        link.symlink_to(font.path)
    header, events, _, _ = ass_events(track, style, "zh", v.display_size)
    sprites = render_sprites(header, events, v.display_size, v.time_base, fonts, work / "sprites.nut", color=v.color)
    assert sprites is not None
    graph = sprites.filtergraph("0:v:0", "1:v:0", "o", v.pix_fmt or "yuv420p", v.color)
    vf = f"ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(fonts)}"
    ff = FFmpeg()
    rounds = paired_rounds(
        [
            lambda: ff.run(
                ["-i", str(clip), "-i", str(sprites.path), "-filter_complex", graph, "-map", "[o]", "-f", "null", "-"]
            ),
            lambda: ff.run(["-i", str(clip), "-vf", vf, "-f", "null", "-"]),
            lambda: ff.run(["-i", str(clip), "-f", "null", "-"]),
        ],
        repeat=3,
    )
    overlay, with_ass, plain = (min(r[i][1] for r in rounds) for i in range(3))  # best CPU of each
    for name, cpu in (("sprites + overlay (default)", overlay), ("ass filter on every frame", with_ass)):
        yield Result(
            f"compositing CPU as % of the encode's: {name}",
            100 * (cpu - plain) / encode_cpu,
            0.0,
            "",
            kind="figure",
            note=f"{cpu - plain:.2f} s vs {encode_cpu:.2f} s encode",
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
