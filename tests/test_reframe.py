"""Reframing: the subject stays in shot, portrait sources are not cropped, bad input is clear."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_cli
from mediagen import draw_frame, make_clip

from vertcut.errors import EXIT_INPUT
from vertcut.ffmpeg import FFmpeg
from vertcut.media import probe
from vertcut.reframe import output_size, parse_aspect, reframe
from vertcut.reframe.plan import crop_size, l1_path


def _face_clip(path: Path, frames: int = 40, face_cx: int = 70) -> tuple[Path, tuple[int, int, int, int]]:
    """320x180 clip with the astronaut's face (about 62 px) off-centre left; returns the face box."""
    import cv2
    import skimage.data

    astro = cv2.resize(skimage.data.astronaut()[10:300, 110:340], None, fx=0.3, fy=0.3)
    ah, aw = astro.shape[:2]
    fx, fy, fw, fh = round((175 - 110) * 0.3), round((70 - 10) * 0.3), round(93 * 0.3), round(93 * 0.3)
    x0, y0 = face_cx - (fx + fw // 2), 20
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        s.options = {"crf": "18", "preset": "veryfast"}
        for i in range(frames):
            img = draw_frame(i, 320, 180)
            img[y0 : y0 + ah, x0 : x0 + aw] = astro
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path, (x0 + fx, y0 + fy, fw, fh)


def test_aspects_and_sizes() -> None:
    assert parse_aspect("9:16") == Fraction(9, 16)
    assert output_size(Fraction(9, 16)) == (1080, 1920) and output_size(Fraction(16, 9)) == (1920, 1080)
    assert output_size(Fraction(4, 5)) == (1080, 1350) and output_size(Fraction(1)) == (1080, 1080)
    assert crop_size(1920, 1080, Fraction(9, 16)) == (606, 1080)
    assert crop_size(1440, 1080, Fraction(9, 16), sar=Fraction(4, 3)) == (454, 1080)  # anamorphic
    with pytest.raises(ValueError):
        parse_aspect("wide")


def test_l1_path_is_calm_and_inside_the_band() -> None:
    rng = np.random.default_rng(1)
    target = np.linspace(100, 400, 60) + rng.normal(0, 6, 60)  # a walk with detector jitter
    slack = np.full(60, 20.0)
    path = l1_path(target, slack, 0, 1000)
    assert np.all(np.abs(path - target) <= 20.001)
    jerk = np.abs(np.diff(path, 3)).sum()
    assert jerk < 0.2 * np.abs(np.diff(target, 3)).sum()
    reversals = int(np.sum(np.diff(np.sign(np.round(np.diff(path), 3))) != 0))
    assert reversals <= 4


def test_subject_stays_in_shot(tmp_path: Path) -> None:
    src, (fx, _fy, fw, _fh) = _face_clip(tmp_path / "face.mp4")
    res = run_cli(
        "reframe", str(src), "-o", str(tmp_path / "v.mp4"), "--size", "180x320", "--path-out", str(tmp_path / "p.json")
    )
    assert res.exit_code == 0, res.output
    path = json.loads((tmp_path / "p.json").read_text())
    cw = path["crop"]["width"]
    assert cw == 100
    xs = path["x"]
    assert len(xs) == 40 and all(x <= fx and fx + fw <= x + cw for x in xs)
    centre = (320 - cw) // 2
    assert not (centre <= fx and fx + fw <= centre + cw)  # a centre crop would have cut the face
    v = probe(tmp_path / "v.mp4").video[0]
    assert (v.width, v.height, v.frame_count) == (180, 320, 40)


def test_path_can_be_edited_and_reapplied(tmp_path: Path, clip: Path) -> None:
    out1 = tmp_path / "a.mp4"
    res = run_cli(
        "reframe",
        str(clip),
        "-o",
        str(out1),
        "--mode",
        "center",
        "--size",
        "180x320",
        "--path-out",
        str(tmp_path / "p.json"),
    )
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "p.json").read_text())
    assert set(data["x"]) == {(320 - 100) // 2}
    data["x"] = [0] * len(data["x"])  # an editor moves the camera hard left
    (tmp_path / "edited.json").write_text(json.dumps(data))
    out2 = tmp_path / "b.mp4"
    res = run_cli(
        "reframe", str(clip), "-o", str(out2), "--size", "180x320", "--path-in", str(tmp_path / "edited.json")
    )
    assert res.exit_code == 0, res.output
    with av.open(str(out1)) as a, av.open(str(out2)) as b:
        fa = next(a.decode(video=0)).to_ndarray(format="gray").astype(int)
        fb = next(b.decode(video=0)).to_ndarray(format="gray").astype(int)
    assert np.abs(fa - fb).mean() > 5
    data["x"] = data["x"][:-1]
    (tmp_path / "short.json").write_text(json.dumps(data))
    res = run_cli("reframe", str(clip), "-o", str(tmp_path / "c.mp4"), "--path-in", str(tmp_path / "short.json"))
    assert res.exit_code == EXIT_INPUT and "positions but the source has" in res.stderr


def test_centre_crop_keeps_every_frame_in_order(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "c.mp4"
    reframe(clip, out, mode="center", size=(180, 320))
    from mediagen import grid_box, read_index

    # the index grid sits in the source centre; map it through the crop and the 1.8x scale
    x0, y0, c = grid_box(320, 180)
    k = 320 / 180
    box = (round((x0 - 110) * k), round(y0 * k), round(c * k))
    with av.open(str(out)) as cont:
        got = [read_index(f.to_ndarray(format="gray"), box) for f in cont.decode(video=0)]
    assert got == list(range(50))
    assert probe(out).audio  # the source's audio is carried over


def test_audio_longer_than_video_is_cut_at_the_last_frame(tmp_path: Path) -> None:
    video = make_clip(tmp_path / "v.mp4", frames=30, size=(320, 180), audio=False)
    src = tmp_path / "long_audio.mkv"  # 1.2 s of picture, 3 s of sound
    FFmpeg().run(["-i", str(video), "-f", "lavfi", "-i", "sine=d=3:sample_rate=48000", "-map", "0:v", "-map", "1:a",
                  "-c:v", "copy", "-c:a", "flac", str(src)])  # fmt: skip
    out = tmp_path / "o.mp4"
    reframe(src, out, mode="center", size=(180, 320))
    with av.open(str(out)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(str(out)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert frames == 30
    assert abs(samples - 48000 * 30 // 25) < 1024  # within one AAC frame of the picture's 1.2 s


def test_portrait_source_is_not_cropped(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "p.mp4", frames=10, size=(180, 320), audio=False)
    r = reframe(src, tmp_path / "o.mp4", size=(360, 640))
    assert r.strategy == "fit" and r.path is None
    with av.open(str(tmp_path / "o.mp4")) as c:
        f = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert f.shape == (640, 360, 3)
    ref = np.asarray(__import__("cv2").resize(draw_frame(0, 180, 320), (360, 640)), dtype=int)
    assert np.abs(f.astype(int) - ref).mean() < 6  # the whole picture, just scaled


def test_portrait_by_rotation_is_not_cropped(tmp_path: Path, clip: Path) -> None:
    rot = tmp_path / "rot.mp4"
    FFmpeg().run(["-display_rotation", "90", "-i", str(clip), "-c", "copy", str(rot)])
    r = reframe(rot, tmp_path / "o.mp4", size=(180, 320))
    assert r.strategy == "fit" and r.frames == 50


def test_vertical_to_tv_gets_a_blurred_pillarbox(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "p.mp4", frames=5, size=(180, 320), audio=False)
    r = reframe(src, tmp_path / "tv.mp4", aspect="16:9", size=(320, 180))
    assert r.strategy == "fit"
    with av.open(str(tmp_path / "tv.mp4")) as c:
        f = next(c.decode(video=0)).to_ndarray(format="gray").astype(float)
    sides = np.concatenate([f[:, :100], f[:, -100:]], axis=1)
    edges = np.abs(np.diff(sides, axis=1)).mean()
    assert edges < 2.0  # blurred
    assert f[:, 120:200].std() > 20  # the picture itself in the middle


def test_bad_inputs(tmp_path: Path) -> None:
    audio = tmp_path / "a.m4a"
    FFmpeg().run(["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio)])
    res = run_cli("reframe", str(audio), "-o", str(tmp_path / "o.mp4"))
    assert res.exit_code == EXIT_INPUT and "no video stream" in res.stderr
    tiny = make_clip(tmp_path / "tiny.mp4", frames=5, size=(16, 16), audio=False)
    res = run_cli("reframe", str(tiny), "-o", str(tmp_path / "o.mp4"))
    assert res.exit_code == EXIT_INPUT and "too small" in res.stderr
    assert not (tmp_path / "o.mp4").exists()
    one = make_clip(tmp_path / "one.mp4", frames=1, audio=False)
    assert reframe(one, tmp_path / "one-v.mp4", size=(180, 320)).frames == 1
    black = tmp_path / "black.mp4"
    FFmpeg().run(["-f", "lavfi", "-i", "color=c=black:s=320x180:d=1", "-c:v", "libx264", str(black)])
    r = reframe(black, tmp_path / "black-v.mp4", size=(180, 320))
    assert r.frames == 25 and r.path is not None and {s.mode for s in r.path.shots} <= {"center", "saliency"}
    res = run_cli("reframe", str(black), "-o", str(tmp_path / "x.mp4"), "--aspect", "wide")
    assert res.exit_code == 2


def test_non_square_pixels_are_corrected(tmp_path: Path, clip: Path) -> None:
    """A 4:3-SAR (anamorphic) source: the crop is 9:16 as displayed, the output has square pixels."""
    ana = tmp_path / "ana.mp4"
    FFmpeg().run(
        ["-i", str(clip), "-vf", "scale=240:180,setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", str(ana)]
    )
    assert probe(ana).video[0].sar == Fraction(4, 3)
    r = reframe(ana, tmp_path / "o.mp4", mode="center", size=(180, 320))
    assert r.path is not None
    # 9:16 of the displayed 320x180 picture is 101 display px = 76 stored px
    assert r.path.crop_width * Fraction(4, 3) / 180 == pytest.approx(9 / 16, abs=0.02)
    v = probe(tmp_path / "o.mp4").video[0]
    assert (v.width, v.height, v.sar, v.frame_count) == (180, 320, 1, 50)


SUBS = "1\n00:00:00,200 --> 00:00:00,900\n你终于肯回来见我了。\n\n2\n00:00:01,000 --> 00:00:01,800\n别问了。\n"
LOSSLESS = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]


def test_burning_while_reframing_equals_reframe_then_burn(tmp_path: Path, clip: Path) -> None:
    from vertcut.subtitles import BurnOptions, burn

    srt = tmp_path / "s.zh.srt"
    srt.write_text(SUBS, encoding="utf-8")
    fused = reframe(clip, tmp_path / "fused.mp4", mode="center", size=(360, 640), encoder_args=LOSSLESS,
                    burn=BurnOptions(srt, "elder-large"))  # fmt: skip
    assert fused.subtitles is not None and fused.subtitles.method == "sprites"
    reframe(clip, tmp_path / "plain.mp4", mode="center", size=(360, 640), encoder_args=LOSSLESS)
    burn(tmp_path / "plain.mp4", srt, tmp_path / "two.mp4", preset="elder-large", encoder_args=LOSSLESS)
    texted = []
    with av.open(str(tmp_path / "fused.mp4")) as a, av.open(str(tmp_path / "two.mp4")) as b, \
            av.open(str(tmp_path / "plain.mp4")) as p:  # fmt: skip
        for i, (fa, fb, fp) in enumerate(zip(a.decode(video=0), b.decode(video=0), p.decode(video=0), strict=True)):
            ya, yb, yp = (f.to_ndarray(format="gray").astype(int) for f in (fa, fb, fp))
            assert np.abs(ya - yb).max() <= 1, i  # the same sprites over the same picture
            if np.abs(ya - yp).max() > 60:
                texted.append(i)
    assert len(texted) > 20 and texted[0] == 5 and 4 not in texted  # the first cue starts at 0.2 s = frame 5
    assert probe(tmp_path / "fused.mp4").video[0].frame_count == 50


def test_cli_reframe_with_subtitles(tmp_path: Path, clip: Path) -> None:
    srt = tmp_path / "s.zh.srt"
    srt.write_text(SUBS, encoding="utf-8")
    out = tmp_path / "o.mp4"
    res = run_cli("reframe", str(clip), "-o", str(out), "--mode", "center", "--size", "360x640", "--subs", str(srt),
                  "--subs-preset", "elder-xl")  # fmt: skip
    assert res.exit_code == 0 and "subtitles burned (sprites)" in res.stdout, res.output
    bad = tmp_path / "bad.zh.srt"
    bad.write_text("1\n00:00:01,000 --> 00:00:00,500\nbackwards\n", encoding="utf-8")
    res = run_cli("reframe", str(clip), "-o", str(tmp_path / "b.mp4"), "--size", "360x640", "--subs", str(bad))
    assert res.exit_code == EXIT_INPUT and "bad.zh.srt" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "b.mp4").exists()


def test_long_paths_are_solved_in_windows_without_seams() -> None:
    """An hour-long shot's path is solved window by window (flat memory) and costs about what one LP
    over the whole shot costs: nothing changes at the seams."""
    from vertcut.reframe.plan import SEAM, WINDOW, _l1_window, l1_path

    n = 3 * WINDOW + 100
    i = np.arange(n, dtype=np.float64)
    target = 300 + 250 * np.sin(i / 160) + np.where((i // 300) % 2 == 0, 40.0, -40.0)
    slack = np.full(n, 25.0)

    def cost(x: np.ndarray) -> float:
        d = [np.abs(np.diff(x, k)).sum() for k in (1, 2, 3)]
        return 10 * d[0] + d[1] + 100 * d[2] + 1000 * np.clip(np.abs(x - target) - slack, 0, None).sum()

    windowed = l1_path(target, slack, 0.0, 1000.0, max_step=4.0)
    whole = _l1_window(target, slack, 0.0, 1000.0, 4.0, np.full(n, np.nan))
    assert np.abs(np.diff(windowed)).max() <= 4.0 + 1e-6
    assert cost(windowed) <= 1.02 * cost(whole), (cost(windowed), cost(whole))
    # at every seam the path goes on as smoothly as inside a window (no kink where a window starts)
    acc = np.abs(np.diff(windowed, 2))
    for seam in range(WINDOW, n - 2, WINDOW - SEAM):
        assert acc[seam - 2 : seam + 2].max() <= max(0.05, np.percentile(acc, 99)), seam
