"""Resumable stages, the output-folder lock and batch files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from vertcut.errors import EXIT_PRESET, PresetError
from vertcut.jobs import Ledger, LockedError, load_batch_file, stage_key


def test_stage_key_changes_with_content_and_params(tmp_path: Path) -> None:
    a = tmp_path / "a.mp4"
    a.write_bytes(b"one")
    k1 = stage_key([a], {"crf": 18})
    assert stage_key([a], {"crf": 18}) == k1
    assert stage_key([a], {"crf": 19}) != k1
    a.write_bytes(b"two")
    assert stage_key([a], {"crf": 18}) != k1


def test_ledger_skips_only_intact_outputs(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    out = tmp_path / "work" / "x.mp4"
    out.parent.mkdir()
    out.write_bytes(b"12345")
    ledger.mark("reframe", "k1", [out])
    assert ledger.is_done("reframe", "k1")
    assert not ledger.is_done("reframe", "k2")  # other inputs or settings
    out.write_bytes(b"123")  # tampered / truncated output
    assert not ledger.is_done("reframe", "k1")
    out.unlink()
    assert not ledger.is_done("reframe", "k1")


def test_lock_refuses_a_second_run_and_sweeps_temporaries(tmp_path: Path) -> None:
    stale = tmp_path / "work" / ".x.vertcut-tmp-1234abcd.mp4"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"partial")
    ledger = Ledger(tmp_path)
    with ledger.locked():
        assert not stale.exists()
        with pytest.raises(LockedError, match="is being written by"), Ledger(tmp_path).locked():
            pass
    with Ledger(tmp_path).locked():  # released
        pass


def test_batch_file(tmp_path: Path) -> None:
    f = tmp_path / "series.toml"
    f.write_text(
        '[defaults]\nsubtitle_preset = "elder-xl"\nmasters = ["douyin"]\n'
        '[[job]]\nmaster = "a.mp4"\nout = "out/a"\nsubs = ["a.zh.srt"]\nmarkers = "a.edl"\n'
        '[[job]]\nmaster = "b.mp4"\nout = "out/b"\nladder = "hevc"\npath_in = "b.path.json"\nmezzanine = "lossless"\n'
    )
    batch = load_batch_file(f)
    a, b = batch.jobs
    assert b.path_in == tmp_path / "b.path.json" and b.mezzanine == "lossless" and a.path_in is None
    assert a.master == tmp_path / "a.mp4" and a.subs == (tmp_path / "a.zh.srt",) and a.markers == tmp_path / "a.edl"
    assert a.subtitle_preset == "elder-xl" and a.masters == ("douyin",)
    assert b.ladder == "hevc" and b.subtitle_preset == "elder-xl" and b.markers is None


def test_batch_file_reports_every_problem(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('[defaults]\nladdr = "x"\n[[job]]\nmaster = "a.mp4"\nout = "o"\njobs = "two"\n[[job]]\nout = "o2"\n')
    with pytest.raises(PresetError) as info:
        load_batch_file(f)
    text = " | ".join(info.value.problems)
    assert "defaults.laddr: unknown key" in text
    assert "job[0].jobs: expected an integer" in text
    assert "job[1].(top level): every [[job]] needs" in text


def test_batch_cli_bad_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[[job]]\nmaster = 3\n")
    res = run_cli("batch", str(f))
    assert res.exit_code == EXIT_PRESET and res.stderr.startswith("vertcut: error:")


def test_batch_file_with_an_unknown_detector_fails_before_any_job(tmp_path: Path) -> None:
    f = tmp_path / "series.toml"
    f.write_text('[defaults]\ndetector = "tiny"\n[[job]]\nmaster = "a.mp4"\nout = "o"\n')
    res = run_cli("batch", str(f))
    assert res.exit_code == EXIT_PRESET and "job[0].detector" in res.stderr and "'tiny'" in res.stderr
    assert str(f) in res.stderr and not (tmp_path / "o").exists()


def test_batch_file_takes_every_job_option(tmp_path: Path) -> None:
    """The file's schema is JobSpec's fields: every option of a job can be set, in [defaults] or a [[job]]."""
    from dataclasses import fields

    from vertcut.jobs import JobSpec

    f = tmp_path / "series.toml"
    f.write_text(
        '[defaults]\nburn_lang = "en"\naspect = "4:5"\nreframe_mode = "track"\ndetector = "short"\npackages = ["hls"]\n'
        'free_episodes = 3\nsnap = "12f"\nvmaf = true\njobs = 2\nsubs_soft = ["en"]\nlabels = ["filing", "aigc"]\n'
        'label_values = ["filing=(2025)123"]\nseries = "Rebirth"\nwatermark = "tiktok-eu"\n'
        'marker_colour = "red"\nmarker_name = "^EP"\n'
        '[[job]]\nmaster = "m/a.mp4"\nout = "o"\nsubs = ["m/a.en.srt"]\nmarkers = "m/a.csv"\n'
    )
    (spec,) = load_batch_file(f).jobs
    expected = JobSpec(
        master=tmp_path / "m" / "a.mp4", out=tmp_path / "o", subs=(tmp_path / "m" / "a.en.srt",),
        markers=tmp_path / "m" / "a.csv", burn_lang="en", aspect="4:5", reframe_mode="track", detector="short",
        packages=("hls",),
        free_episodes=3, snap="12f", vmaf=True, jobs=2, subs_soft=("en",), labels=("filing", "aigc"),
        label_values=("filing=(2025)123",), series="Rebirth", watermark="tiktok-eu", marker_colour="red",
        marker_name="^EP",
    )  # fmt: skip
    assert spec == expected
    set_here = {"master", "out", "subs", "markers", "burn_lang", "aspect", "reframe_mode", "detector", "packages",
                "free_episodes", "snap", "vmaf", "jobs", "subs_soft", "labels", "label_values", "series",
                "watermark", "marker_colour", "marker_name"}  # fmt: skip
    untouched = {f.name for f in fields(JobSpec)} - set_here
    # in test_batch_file; the watermark key is best kept out of files ($VERTCUT_WATERMARK_KEY)
    assert untouched == {"subtitle_preset", "ladder", "masters", "path_in", "mezzanine", "watermark_key", "check"}


def test_batch_runs_masters_side_by_side(tmp_path: Path) -> None:
    """``-w 2``: two masters at once on this machine (threads); each gets its own complete output."""
    from mediagen import make_clip

    make_clip(tmp_path / "a.mp4", frames=40, size=(320, 180), shot_len=20)
    make_clip(tmp_path / "b.mp4", frames=30, size=(320, 180), shot_len=10)
    (tmp_path / "s.toml").write_text(
        '[defaults]\npackages = ["mp4"]\n[[job]]\nmaster = "a.mp4"\nout = "out/a"\n[[job]]\nmaster = "b.mp4"\nout = "out/b"\n'
    )
    res = run_cli("batch", str(tmp_path / "s.toml"), "-w", "2")
    assert res.exit_code == 0, res.output
    assert "2 of 2 jobs succeeded" in res.stdout
    for name in ("a", "b"):
        report = json.loads((tmp_path / "out" / name / "report.json").read_text())
        assert report["master"] == str(tmp_path / f"{name}.mp4") and report["stages"]["render"] == "done"
