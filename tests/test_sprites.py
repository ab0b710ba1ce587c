"""Burn-in by sprites: the same pixels as ffmpeg's ass filter, on exactly the same frames."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.errors import EXIT_INPUT
from vertcut.ffmpeg import FFmpeg
from vertcut.presets import load_preset
from vertcut.subtitles import ass_events, burn, load_subtitles
from vertcut.subtitles.fonts import font_for
from vertcut.subtitles.sprites import Event, _states, render_sprites

LOSSLESS = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
CUES = """1
00:00:00,200 --> 00:00:00,680
你终于肯回来见我了。

2
00:00:00,680 --> 00:00:01,000
这三年，你到底去了哪里？我一直在等你。

3
00:00:01,350 --> 00:00:01,800
别问了。
"""


def _planes(path: Path) -> Iterator[list[np.ndarray]]:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield [
                np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width].astype(int)
                for p in f.planes
            ]


@pytest.fixture(scope="module")
def vertical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 360x640 25 fps yuv420p, frames carrying their index, stored losslessly."""
    d = tmp_path_factory.mktemp("sprites")
    return make_clip(d / "v.mp4", frames=50, size=(360, 640), shot_len=20, audio=False, options={"qp": "0", "crf": "0"})


def test_sprites_match_the_ass_filter(tmp_path: Path, vertical: Path) -> None:
    srt = tmp_path / "c.srt"
    srt.write_text(CUES, encoding="utf-8")
    outs = {}
    for method in ("sprites", "ass"):
        outs[method] = tmp_path / f"{method}.mp4"
        burn(vertical, srt, outs[method], preset="elder-large", lang="zh", encoder_args=LOSSLESS, method=method)
    shown = {"sprites": [], "ass": []}
    worst, frames = [0, 0, 0], 0
    for i, (src, spr, ass) in enumerate(
        zip(_planes(vertical), _planes(outs["sprites"]), _planes(outs["ass"]), strict=True)
    ):
        for name, img in (("sprites", spr), ("ass", ass)):
            if any((a != b).any() for a, b in zip(img, src, strict=True)):
                shown[name].append(i)
        worst = [max(w, int(np.abs(a - b).max())) for w, a, b in zip(worst, spr, ass, strict=True)]
        frames += 1
    assert frames == 50  # no frame added or lost
    # the same frames carry text (timing repair has moved the cue ends; both ways get the repaired times)
    assert shown["sprites"] == shown["ass"]
    assert shown["sprites"][0] == 5 and 34 in shown["sprites"] and 33 not in shown["sprites"]
    # layer-by-layer blending (ass) and one straight-alpha blend (sprites) differ only by rounding
    assert worst[0] <= 3 and max(worst[1:]) <= 8, worst
    # frames without a cue are untouched, bit for bit (checked above: they are not in `shown`)


def test_sprites_are_exact_at_ntsc_rates(tmp_path: Path) -> None:
    clip = make_clip(
        tmp_path / "ntsc.mp4",
        frames=80,
        size=(360, 640),
        rate=Fraction(30000, 1001),
        time_base=Fraction(1, 30000),
        pts=[1001 * i for i in range(80)],
        audio=False,
        options={"qp": "0", "crf": "0"},
    )
    srt = tmp_path / "c.srt"
    # frame 10 is at 0.33367 s, frame 11 at 0.36703 s; frame 59 at 1.96863 s, frame 60 at 2.002 s
    srt.write_text("1\n00:00:00,334 --> 00:00:02,002\n你好\n", encoding="utf-8")
    out = tmp_path / "o.mp4"
    burn(clip, srt, out, preset="standard", lang="zh", encoder_args=LOSSLESS, method="sprites")
    changed = [
        i
        for i, (a, b) in enumerate(zip(_planes(clip), _planes(out), strict=True))
        if any((x != y).any() for x, y in zip(a, b, strict=True))
    ]
    assert changed == list(range(11, 60))


def _sprite_planes(path: Path) -> list[list[np.ndarray]]:
    return list(_planes(path))


def test_drawing_only_the_text_box_gives_the_whole_frames_pixels(tmp_path: Path) -> None:
    """libass draws on a canvas of the text box's rows only (both copies, one instance); the sprites are
    bit for bit those drawn on the whole frame. A box too small (in rows or in columns) is noticed and
    the whole frame drawn instead."""
    style = load_preset("subtitle", "elder-large")
    track = load_subtitles(_write(tmp_path / "c.srt", CUES))
    header, events, _, font = ass_events(track, style, "zh", (360, 640))
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / font.path.name).symlink_to(font.path)
    tb = Fraction(1, 25)
    whole = render_sprites(header, events, (360, 640), tb, fonts, tmp_path / "a.nut")
    assert whole is not None and whole.box[3] > 40
    x, y, w, h = whole.box
    boxed = render_sprites(
        header, events, (360, 640), tb, fonts, tmp_path / "b.nut", region=(x - 30, y - 40, w + 50, h + 60)
    )
    assert boxed is not None and boxed.box == whole.box
    for a, b in zip(_sprite_planes(tmp_path / "a.nut"), _sprite_planes(tmp_path / "b.nut"), strict=True):
        assert all((p == q).all() for p, q in zip(a, b, strict=True))
    for region in ((0, 600, 360, 20), (x + 20, y - 10, w - 40, h + 20), (0, 0, 360, 100)):  # short, narrow, no text
        fell_back = render_sprites(header, events, (360, 640), tb, fonts, tmp_path / "c.nut", region=region)
        assert fell_back is not None and fell_back.box == whole.box, region
    assert whole.states == 6  # empty, cue 1, cue 2, empty, cue 3, empty
    with av.open(str(tmp_path / "a.nut")) as c:
        pts = [f.pts * f.time_base for f in c.decode(video=0)]
    # each state from the first frame at or after its start (1.35 s -> frame 34 at 1.36 s)
    assert pts == [0, Fraction(1, 5), Fraction(17, 25), Fraction(1), Fraction(34, 25), Fraction(9, 5)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_states_of_overlapping_events() -> None:
    ev = [
        Event(Fraction(0), Fraction(2), "a"),
        Event(Fraction(1), Fraction(3), "b"),
        Event(Fraction(5), Fraction(5), ""),
    ]
    assert _states(ev, Fraction(1, 25)) == [(0, (0,)), (25, (0, 1)), (50, (1,)), (75, ())]
    # an event shorter than a tick is never shown; one starting between ticks starts on the next tick
    assert _states([Event(Fraction(1, 100), Fraction(1, 20), "x")], Fraction(1, 25)) == [(0, ()), (1, (0,)), (2, ())]
    # nothing starts at or after the picture's end
    assert _states(ev, Fraction(1, 25), until=Fraction(2)) == [(0, (0,)), (25, (0, 1))]


def test_nothing_to_draw_gives_no_sprites(tmp_path: Path) -> None:
    style = load_preset("subtitle", "standard")
    header, _, _, _ = ass_events(load_subtitles(_write(tmp_path / "c.srt", CUES)), style, "zh", (360, 640))
    font = font_for("zh")
    with tempfile.TemporaryDirectory() as fonts:
        (Path(fonts) / font.path.name).symlink_to(font.path)
        assert render_sprites(header, [], (360, 640), Fraction(1, 25), Path(fonts), tmp_path / "x.nut") is None
        blank = [Event(Fraction(0), Fraction(1), " ")]
        assert render_sprites(header, blank, (360, 640), Fraction(1, 25), Path(fonts), tmp_path / "y.nut") is None


def test_cli_method_choice(tmp_path: Path, vertical: Path) -> None:
    srt = tmp_path / "c.srt"
    srt.write_text(CUES, encoding="utf-8")
    for method, used in (("auto", "sprites"), ("ass", "ass")):
        res = run_cli(
            "subs", "burn", str(vertical), str(srt), "-o", str(tmp_path / f"{method}.mp4"), "--method", method
        )
        assert res.exit_code == 0 and res.stdout.strip().endswith(f", {used})"), res.output
    deep = tmp_path / "v10.mkv"  # 10-bit: auto takes the ass filter, a forced sprites is refused
    FFmpeg().run(["-i", str(vertical), "-c:v", "ffv1", "-pix_fmt", "yuv420p10le", str(deep)])
    res = run_cli("subs", "burn", str(deep), str(srt), "-o", str(tmp_path / "d.mkv"), "--method", "sprites")
    assert res.exit_code == EXIT_INPUT and "v10.mkv: sprite burn-in needs an 8-bit" in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("vertcut: error:")]
    assert "Traceback" not in res.stderr and len(errors) == 1
    assert not (tmp_path / "d.mkv").exists()
    res = run_cli("subs", "burn", str(deep), str(srt), "-o", str(tmp_path / "d.mkv"))
    assert res.exit_code == 0 and res.stdout.strip().endswith(", ass)")
