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
