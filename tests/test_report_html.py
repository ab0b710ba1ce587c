"""``report.html``: the series page, opened in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_cli, tiny_ladder
from mediagen import make_clip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# the flags this machine's closed network needs (no background connections, no first-run work)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def _browser_or_skip() -> str:
    if CHROMIUM is None:
        if os.environ.get("VERTCUT_REQUIRE_BROWSER"):
            pytest.fail("no chromium on this machine (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium here (apt-get install chromium; .ci/run installs it)")
    return CHROMIUM


def test_report_page_loads_shows_every_poster_and_plays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    tiny_ladder(tmp_path / "presets")
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    (tmp_path / "m.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n", encoding="utf-8")
    (tmp_path / "m.en.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\nWhere were you?\n", encoding="utf-8")
    (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01 cliffhanger\n")
    out = tmp_path / "out"
    res = run_cli("run", str(master), "--subs", str(tmp_path / "m.zh.srt"), "--subs", str(tmp_path / "m.en.srt"),
                  "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f", "--package", "hls,mp4",
                  "--mode", "center", "--ladder", "tiny", "-o", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    page_file = out / "report.html"
    text = page_file.read_text(encoding="utf-8")
    # self-contained: nothing fetched from a network; the media it plays and links are beside it
    assert not re.search(r"""(src|href)=['"](https?:)?//""", text)
    assert "Episode 1" in text and "Episode 2" in text and "EP01 cliffhanger" in text and "English (en)" in text
    chromium = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])")
            posters = [i for i in images if "poster" in i[0]]
            assert len(posters) == 2 and all(ok and w > 0 for _, ok, w in images), images
            played = page.evaluate(
                """async () => {
                    const v = document.querySelector('#video-ep002');
                    await v.play();
                    await new Promise(r => setTimeout(r, 1200));
                    return [v.currentTime, v.videoWidth, v.error ? v.error.code : null];
                }"""
            )
            assert played[0] > 0.3 and played[1] == 360 and played[2] is None, played  # the 360p rung
            assert not errors, errors
        finally:
            browser.close()
