"""Progress people can follow: every event of an episode's work names the episode (``-j N``), as JSON
lines with fraction, ETA and speed, or as log lines prefixed with the episode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli, tiny_ladder
from mediagen import make_clip


def test_progress_json_and_lines_name_the_episode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    tiny_ladder(tmp_path / "presets")
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01 cliffhanger\n")
    args = ["run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f", "--package", "mp4",
            "--mode", "center", "--ladder", "tiny", "-j", "2", "-o", str(tmp_path / "out")]  # fmt: skip
    res = run_cli("--progress", "json", *args)
    assert res.exit_code == 0, res.output
    events = [json.loads(ln) for ln in res.stderr.splitlines() if ln.startswith("{")]
    assert events and all(set(e) >= {"event", "episode", "stage", "fraction", "eta_s", "speed"} for e in events)
    by_episode = {e["episode"] for e in events}
    assert {"ep001", "ep002", None} <= by_episode
    for ep in ("ep001", "ep002"):
        mine = [e for e in events if e["episode"] == ep and not e["stage"].startswith("check")]  # its render
        render = [e["fraction"] for e in mine if e["stage"] == f"render {ep}" and e["fraction"] is not None]
        assert render and render == sorted(render) and render[-1] > 0.9  # its frames piped, in order
        assert {e["stage"] for e in mine} >= {f"render {ep}", "encode", "package"}
        assert any(e["eta_s"] is not None for e in mine if e["stage"] == "encode")
        assert mine[-1]["event"] == "end" and mine[-1]["stage"] == f"render {ep}"
    count = [e for e in events if e["stage"] == "episodes" and e["event"] == "advance"]
    assert [e["done"] for e in count] == [1, 2] and all(e["total"] == 2 for e in count)
    # the series' own stages carry no episode
    assert {e["stage"] for e in events if e["episode"] is None} >= {"analyse", "plan", "manifest", "episodes"}

    res = run_cli("--progress", "lines", *args, "--force")
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    for ep in ("ep001", "ep002"):
        assert f"vertcut: [{ep}] encode: started" in lines
        assert any(ln.startswith(f"vertcut: [{ep}] render {ep}: done") for ln in lines)
    assert "vertcut: analyse: started" in lines or any(ln.startswith("vertcut: analyse:") for ln in lines)


def test_fail_on_warning_gates_a_finished_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--fail-on warning`` exits 8 when the run finished with warnings (every output written);
    the default, ``--fail-on error``, exits 0 for the same run; a clean run passes the gate."""
    from vertcut.errors import EXIT_WARNINGS

    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "5s"\n')
    tiny_ladder(tmp_path / "presets")
    master = make_clip(tmp_path / "m.mp4", frames=50, size=(320, 180), shot_len=25)
    (tmp_path / "cuts.csv").write_text("frame,name\n25,EP01 cliffhanger\n")
    args = ["run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f", "--package", "mp4",
            "--mode", "center", "--ladder", "tiny"]  # fmt: skip
    res = run_cli("--fail-on", "warning", *args, "-o", str(tmp_path / "a"))  # 1 s episodes: shorter than 5 s
    assert res.exit_code == EXIT_WARNINGS == 8, res.output
    assert "warning(s) reported (--fail-on warning)" in res.stderr and "is shorter than 5s" in res.stderr
    assert (tmp_path / "a" / "report.json").is_file() and (tmp_path / "a" / "encoded" / "ep002" / "mp4").is_dir()
    res = run_cli("--fail-on", "error", *args, "-o", str(tmp_path / "b"))
    assert res.exit_code == 0, res.output
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    res = run_cli("--fail-on", "warning", *args, "-o", str(tmp_path / "c"))
    assert res.exit_code == 0, res.stderr
