"""``vertcut doctor``: what a job needs, checked here (the cluster checks are in test_executor.py)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from vertcut.errors import EXIT_CHECK
from vertcut.presets import user_dir


def test_doctor_passes_on_this_machine() -> None:
    res = run_cli("doctor")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    for want in ("ok    ffmpeg encoder libx264:", "ok    ffmpeg filter ass:", "ok    font zh:", "ok    face model:",
                 "ok    presets:", "ok    cache folder:"):  # fmt: skip
        assert any(line.startswith(want) for line in lines), want


def test_doctor_fails_on_a_broken_user_preset_and_names_it() -> None:
    bad = Path(user_dir()) / "ladder" / "mine.toml"
    bad.parent.mkdir(parents=True)
    bad.write_text('extends = "h264-default"\nspeed = 3\nunknown_key = 1\n')
    res = run_cli("doctor", "--json")
    assert res.exit_code == EXIT_CHECK
    checks = {c["name"]: c for c in json.loads(res.stdout)}
    mine = checks["preset ladder/mine"]
    assert mine["status"] == "fail" and "unknown_key" in mine["detail"] and "speed" in mine["detail"]
    assert checks["presets"]["status"] == "fail" and "(1 yours)" in checks["presets"]["detail"]
    assert res.stderr.strip() == "vertcut: error: 2 check(s) failed: preset ladder/mine, presets"
