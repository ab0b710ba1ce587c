"""The main job end to end on a small clip: every stage, then a resume that skips them all."""

from __future__ import annotations

import json
from pathlib import Path

import av
import m3u8
import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.errors import EXIT_INPUT
from vertcut.jobs.ledger import STATE_DIR
from vertcut.media import probe


def test_run_all_stages_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    (tmp_path / "m.zh.srt").write_text(
        "1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n\n2\n00:00:02,000 --> 00:00:03,600\n我不能告诉你。\n",
        encoding="utf-8",
    )
    (tmp_path / "m.en.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\nWhere have you been?\n", encoding="utf-8")
    (tmp_path / "cuts.csv").write_text("frame,name\n52,EP01 cliffhanger\n")
    out = tmp_path / "out"
    args = ["run", str(master), "--subs", str(tmp_path / "m.zh.srt"), "--subs", str(tmp_path / "m.en.srt"),
            "--markers", str(tmp_path / "cuts.csv"), "--snap", "3f", "--package", "hls,mp4", "-o", str(out)]  # fmt: skip
    # a user preset overrides the built-in split settings: these episodes are 2 s long
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text(
        'snap = "0.5s"\nmin_duration = "1s"\nwarn_duration = "1s"\nmax_duration = "15min"\n'
    )
    res = run_cli(*args)
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "episodes" / "manifest.json").read_text())
    eps = manifest["episodes"]
    assert [e["frames"]["first"] for e in eps] == [0, 50]  # snapped to the cut at 50
    assert all(e["verification"]["ok"] for e in eps), [e["verification"] for e in eps]
    top = out / "encoded" / "ep001" / "mp4" / "1080p.mp4"
    v = probe(top).video[0]
    assert (v.width, v.height, v.frame_count) == (1080, 1920, 50)
    assert (out / "episodes" / "ep001.en.srt").exists()
    master_pl = m3u8.load(str(out / "encoded" / "ep002" / "cmaf" / "master.m3u8"))
    assert len(master_pl.playlists) == 4
    report = json.loads((out / "report.json").read_text())
    assert report["stages"] == {"analyse": "done", "plan": "done", "render": "done", "manifest": "done"}
    plan = json.loads((out / "plan.json").read_text())
    assert [(e["frames"]["first"], e["frames"]["count"]) for e in plan["episodes"]] == [(0, 50), (50, 50)]
    # one lossy generation: no reframed master, no split episode files; only the delivered files are video
    videos = [q for q in out.rglob("*") if q.suffix in (".mp4", ".mkv", ".mov", ".nut", ".m4s", ".ts")]
    assert videos and all(q.relative_to(out).parts[0] == "encoded" for q in videos), videos
    # the Chinese cue (0.2-1.6 s) is burned in: white text in the subtitle band of frame 20, none at frame 2
    with av.open(str(top)) as c:
        band = {i: f.to_ndarray(format="gray")[1320:1600] for i, f in enumerate(c.decode(video=0)) if i in (2, 20)}
    assert (band[2] > 228).sum() < 10 and (band[20] > 228).sum() > 500
    # a second run resumes: nothing is redone; the stages of the staged run of earlier versions are cleared away
    stale = [
        out / "work" / "reframed.mp4",
        out / STATE_DIR / "reframe.done.json",
        out / STATE_DIR / "encode-ep001.done.json",
    ]
    for q in stale:
        q.write_bytes(b"old")
    res = run_cli(*args)
    assert res.exit_code == 0, res.output
    assert "render    skipped" in res.stdout
    assert not any(q.exists() for q in stale)


def test_run_refuses_a_missing_subtitle_file(tmp_path: Path, clip: Path) -> None:
    res = run_cli("run", str(clip), "--subs", str(tmp_path / "none.zh.srt"), "-o", str(tmp_path / "o"))
    assert res.exit_code == EXIT_INPUT and "no such file" in res.stderr
    assert not (tmp_path / "o").exists()


def test_a_failed_episode_does_not_stop_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every episode is rendered (and recorded) before the first failure is reported; a rerun does the rest."""
    import vertcut.encode

    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01\n")
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "1s"\nwarn_duration = "1s"\n')
    real = vertcut.encode.encode_source
    calls: list[str] = []

    def flaky(source: object, pic: object, out: Path, settings: object, **kw: object) -> object:
        calls.append(Path(out).name)
        if Path(out).name == "ep001":
            raise vertcut.errors.OutOfSpaceError("no space left on the device", path=out)
        return real(source, pic, out, settings, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(vertcut.encode, "encode_source", flaky)
    out = tmp_path / "out"
    args = ["run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--package", "mp4", "-o", str(out)]
    res = run_cli(*args)
    assert res.exit_code == 1 and "ep001: no space left on the device" in res.stderr
    assert calls == ["ep001", "ep002"]  # the second episode was still rendered
    assert (out / STATE_DIR / "episode-ep002.done.json").exists()
    assert not (out / STATE_DIR / "episode-ep001.done.json").exists()
    monkeypatch.setattr(vertcut.encode, "encode_source", real)
    res = run_cli(*args)
    assert res.exit_code == 0, res.output
    assert json.loads((out / "report.json").read_text())["workers"].keys() == {"ep001"}  # only it was redone
