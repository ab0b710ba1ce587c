"""The one-pass render of `vertcut run`: each episode decoded once from the master into every output,
frame- and sample-exact at every boundary on CFR, B-frame, VFR and late-start masters."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_cli
from mediagen import grid_box, make_clip, read_index
from test_split import _audio

from vertcut.ffmpeg import FFmpeg
from vertcut.media import frame_table, probe


def _short_episodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')


def _indices(path: Path, src: tuple[int, int], crop: tuple[int, int, int]) -> list[int]:
    """The index every frame of a centre-cropped, scaled rendition shows (the master's grid, moved and
    scaled by the crop ``(x, width, height)`` of a ``src``-sized master)."""
    x0, y0, c = grid_box(*src)
    cx, cw, ch = crop
    out = []
    with av.open(str(path)) as f:
        for frame in f.decode(video=0):
            k = frame.width / cw
            box = (round((x0 - cx) * k), round((y0 - (src[1] - ch) // 2) * k), round(c * k))
            out.append(read_index(frame.to_ndarray(format="gray"), box))
    return out


def _master(tmp_path: Path, kind: str) -> tuple[Path, list[str]]:
    """A master of ``kind`` and its marker lines (CSV)."""
    if kind == "vfr":
        pts = [0]
        for i in range(1, 60):
            pts.append(pts[-1] + (40 if i % 3 else 80))
        m = make_clip(tmp_path / "vfr.mkv", frames=60, shot_len=15, pts=pts, time_base=Fraction(1, 1000))
        return m, [f"seconds,name\n{Fraction(pts[30], 1000)},EP01\n"]
    if kind == "late":
        src = make_clip(tmp_path / "src.mp4", frames=60, shot_len=20, bframes=False)
        m = tmp_path / "late.mkv"
        FFmpeg().run(["-i", str(src), "-c", "copy", "-output_ts_offset", "10", str(m)])
        return m, ["frame,name\n40,EP01\n"]
    m = make_clip(tmp_path / "m.mp4", frames=75, shot_len=25, bframes=kind == "bframes")
    return m, ["frame,name\n25,EP01\n52,EP02\n"]


@pytest.mark.parametrize("kind", ["cfr", "bframes", "vfr", "late"])
def test_run_renders_each_episode_frame_and_sample_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    _short_episodes(tmp_path, monkeypatch)
    master, lines = _master(tmp_path, kind)
    (tmp_path / "cuts.csv").write_text(lines[0])
    out = tmp_path / "out"
    res = run_cli("run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f", "--mode", "center",
                  "--mezzanine", "lossless", "--package", "mp4", "-o", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    plan = json.loads((out / "plan.json").read_text())
    table = frame_table(master)
    n = len(table)
    firsts = [e["frames"]["first"] for e in plan["episodes"]]
    bounds = [*firsts, n]
    crop = plan["picture"]["crop"]
    v = probe(master).video[0]
    crop_x = (v.width - crop[0]) // 2 // 2 * 2
    master_audio, sr = _audio(master)
    slack = 48 if master.suffix == ".mkv" else 0  # Matroska times audio in milliseconds
    for k, e in enumerate(plan["episodes"]):
        a, b = bounds[k], bounds[k + 1]
        mezz = out / "episodes" / f"{e['id']}.mp4"
        # the mezzanine: exactly the master's frames a..b-1, with the master's own timing
        assert _indices(mezz, (v.width, v.height), (crop_x, *crop)) == list(range(a, b)), e["id"]
        got = frame_table(mezz)
        want = table.pts[a:b] - table.pts[a]
        assert np.array_equal(got.pts * got.time_base, want * table.time_base), e["id"]
        # and its sound: exactly the master's samples from the same instant (lossless FLAC)
        audio, rate = _audio(mezz)
        assert rate == sr
        first = int((table.seconds(a) - table.seconds(0)) * sr)
        expect = min(int(Fraction(e["duration"]) * sr), master_audio.shape[1] - first)
        assert abs(audio.shape[1] - expect) <= slack, (e["id"], audio.shape[1], expect)
        m = min(audio.shape[1], master_audio.shape[1] - first - slack) - 2048
        err = {
            lag: np.abs(audio[:, 1024:m] - master_audio[:, first + lag + 1024 : first + lag + m]).max()
            for lag in range(-slack, slack + 1)
            if first + lag >= 0
        }
        assert min(err.values()) < 1e-6, (e["id"], min(err, key=lambda lag: err[lag]))
        # the delivered top rung shows the same frames (CFR masters: one per frame)
        if not v.is_vfr:
            top = out / "encoded" / e["id"] / "mp4" / "1080p.mp4"
            assert _indices(top, (v.width, v.height), (crop_x, *crop)) == list(range(a, b)), e["id"]
    manifest = json.loads((out / "episodes" / "manifest.json").read_text())
    assert manifest["totals"]["verified"], [e["verification"] for e in manifest["episodes"]]


def test_dry_run_prints_the_whole_plan_and_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing earlier needs to exist and nothing is written: the plan (episodes, frames, exact times,
    loudness pass) and each episode's render commands, as JSON."""
    _short_episodes(tmp_path, monkeypatch)
    master = make_clip(tmp_path / "m.mp4", frames=75, shot_len=25)
    (tmp_path / "m.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n", encoding="utf-8")
    (tmp_path / "cuts.csv").write_text("frame,name\n25,EP01\n52,EP02\n")
    out = tmp_path / "out"
    res = run_cli("run", str(master), "--subs", str(tmp_path / "m.zh.srt"), "--markers", str(tmp_path / "cuts.csv"),
                  "--snap", "0f", "--masters", "douyin", "--mezzanine", "-o", str(out), "--dry-run")  # fmt: skip
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert not out.exists()
    eps = plan["episodes"]
    assert [(e["frames"]["first"], e["frames"]["count"]) for e in eps] == [(0, 25), (25, 27), (52, 23)]
    assert [e["start"] for e in eps] == ["0", "1", "52/25"] and eps[2]["end"] == "3"
    assert plan["picture"]["kind"] == "crop" and plan["subtitles"]["events"] == 1
    assert len(plan["commands"]) == 3 and all("ebur128" in c for c in plan["commands"])  # loudness, pass 1
    for e in eps:
        renders = [c for c in e["commands"] if "pipe:0" in c]
        assert len(renders) == 1, e["commands"]  # one process per episode...
        render = renders[0]
        # ...writing the whole ladder, the platform master and the mezzanine
        assert render.count("libx264") == 6 and "-f dash" in render and "douyin.mp4" in render
        assert f"{e['id']}.mp4" in render
    assert any("ass=" in c for c in eps[0]["commands"])  # the episode's subtitle sprites are drawn
    # the global flag gives the same plan, with the commands also printed as lines
    res = run_cli("--dry-run", "run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f",
                  "-o", str(out))  # fmt: skip
    assert res.exit_code == 0 and not out.exists()
    printed = [line for line in res.stdout.splitlines() if "pipe:0" in line and not line.startswith(" ")]
    assert len(printed) == 3  # and inside the plan's JSON (indented)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("late-marker", "shorter than"),
        ("path", "path has 60 positions but the source has 75 frames"),
        ("long-subs", "runs past the end of the picture"),
        ("long-soft-subs", "runs past the end of the picture"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, message: str
) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=75, shot_len=25)  # 3 s
    out = tmp_path / "out"
    args = ["run", str(master), "-o", str(out)]
    if case == "late-marker":  # the default split preset: episodes of at least 5 s
        (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01\n")
        args += ["--markers", str(tmp_path / "cuts.csv")]
    elif case == "path":  # a crop path made for another master
        other = make_clip(tmp_path / "other.mp4", frames=60, shot_len=20)
        assert (
            run_cli(
                "reframe", str(other), "-o", str(tmp_path / "o.mp4"), "--path-out", str(tmp_path / "p.json")
            ).exit_code
            == 0
        )
        args += ["--path-in", str(tmp_path / "p.json")]
    else:
        subs = tmp_path / ("m.zh.srt" if case == "long-subs" else "m.en.srt")
        subs.write_text("1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:04,000 --> 00:00:05,000\nbye\n")
        if case == "long-soft-subs":
            (tmp_path / "m.zh.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n你好\n", encoding="utf-8")
            args += ["--subs", str(tmp_path / "m.zh.srt")]
        args += ["--subs", str(subs)]
    res = run_cli(*args)
    assert res.exit_code == 3, res.output
    lines = [line for line in res.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.stderr, res.stderr
    assert not out.exists()
