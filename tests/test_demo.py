"""``vertcut demo``: the bundled sample series, shipped as package data, run end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.cli.commands import demo
from vertcut.jobs import load_batch_file


def test_the_sample_series_ships_as_package_data() -> None:
    path = demo.sample_job_file()
    (spec,) = load_batch_file(path).jobs
    assert spec.master.name == "master.mp4" and spec.master.is_file() and spec.markers is not None
    assert [p.name for p in spec.subs] == ["master.zh.srt", "master.en.srt"] and all(p.is_file() for p in spec.subs)
    assert spec.labels == ("filing", "aigc", "endcard")


def test_demo_runs_the_series_and_says_where_to_look(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command on a small stand-in series (the real one takes a minute or two)."""
    series = tmp_path / "sample"
    series.mkdir()
    make_clip(series / "master.mp4", frames=60, size=(320, 180), shot_len=30)
    (series / "master.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n", encoding="utf-8")
    (series / "markers.csv").write_text("frame,name\n30,EP01 cliffhanger\n")
    (series / "series.toml").write_text(
        '[defaults]\npackages = ["hls", "mp4"]\nlabels = ["aigc"]\n'
        '[[job]]\nmaster = "master.mp4"\nsubs = ["master.zh.srt"]\nmarkers = "markers.csv"\nout = "out"\n'
    )
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    monkeypatch.setattr(demo, "sample_job_file", lambda: series / "series.toml")
    res = run_cli("demo", str(tmp_path / "d"))
    assert res.exit_code == 0, res.output
    out = tmp_path / "d"
    assert "2 episodes of master.mp4" in res.stdout
    for shown in (out / "encoded" / "ep001" / "cmaf" / "master.m3u8", out / "episodes" / "contact-sheet.png"):
        assert str(shown) in res.stdout and shown.is_file()
