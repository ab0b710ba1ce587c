"""``vertcut check`` on generated clips with known answers: loudness against profiles and across the
series, flashes through the CLI, reading speed, delivery, the JSON report and the HTML page in a real
headless browser."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, tiny_ladder
from mediagen import make_clip

from vertcut.errors import EXIT_CHECK
from vertcut.ffmpeg import FFmpeg


def _tone(path: Path, lufs: float, seconds: int = 4, flash_hz: float = 0.0) -> Path:
    """A 360x640 clip with a 1 kHz tone at ``lufs`` (measured, then corrected), optionally flashing
    full screen black/white at ``flash_hz``."""
    from vertcut.encode import measure_loudness

    ff = FFmpeg()
    raw = path.with_suffix(".raw.mp4")
    if flash_hz:
        video = (
            f"color=c=black:s=360x640:r=25:d={seconds},geq=lum='if(lt(mod(T*{flash_hz},1),0.5),235,16)':cb=128:cr=128"
        )
    else:
        video = f"testsrc2=s=360x640:r=25:d={seconds}"
    ff.run(["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:d={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
            "-shortest", str(raw)])  # fmt: skip
    got = measure_loudness(ff, raw)["input_i"]
    ff.run(
        ["-i", str(raw), "-c:v", "copy", "-af", f"volume={lufs - got:.2f}dB", "-c:a", "aac", "-b:a", "128k", str(path)]
    )
    raw.unlink()
    return path


def test_loudness_profiles_and_the_series_spread(tmp_path: Path) -> None:
    quiet = _tone(tmp_path / "quiet.mp4", -23.0)
    res = run_cli("check", str(quiet), "--profile", "streaming", "--json")
    assert res.exit_code == EXIT_CHECK, res.output
    report = json.loads(res.stdout)
    (ep,) = report["episodes"]
    assert abs(ep["loudness"]["integrated"] + 23.0) < 0.5
    assert any(f["check"] == "loudness" and f["rule"] == "integrated" for f in ep["findings"])
    res = run_cli("check", str(quiet), "--profile", "ebu-r128", "--json")
    assert res.exit_code == 0, res.output
    assert not [f for f in json.loads(res.stdout)["episodes"][0]["findings"] if f["check"] == "loudness"]
    # a series where one episode is 3 LU louder than the others
    eps = [_tone(tmp_path / f"ep{k}.mp4", level) for k, level in enumerate((-14.0, -14.0, -11.0, -14.0), 1)]
    res = run_cli("check", *map(str, eps), "--profile", "streaming", "--json", "--preset", "standard")
    report = json.loads(res.stdout)
    spread = [f for f in report["series"]["findings"] if f["rule"] == "series_spread"]
    assert [f["episode"] for f in spread] == ["ep3"] and "+3.0 LU" in spread[0]["message"]
    assert abs(report["series"]["median_loudness"] + 14.0) < 0.3


def test_a_flashing_clip_fails_and_ordinary_content_passes(tmp_path: Path) -> None:
    flashing = _tone(tmp_path / "flash.mp4", -14.0, flash_hz=5)
    res = run_cli("check", str(flashing), "--preset", "standard", "--json")
    assert res.exit_code == EXIT_CHECK, res.output
    (ep,) = json.loads(res.stdout)["episodes"]
    flashes = [f for f in ep["findings"] if f["check"] == "flash" and f["severity"] == "error"]
    assert flashes and flashes[0]["start_s"] is not None and flashes[0]["start_s"] < 1.5
    calm = _tone(tmp_path / "calm.mp4", -14.0)
    res = run_cli("check", str(calm), "--preset", "standard", "--json")
    assert not [f for f in json.loads(res.stdout)["episodes"][0]["findings"] if f["check"] == "flash"]


def test_a_series_checked_from_its_run_folder_with_the_page_in_a_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading speed (a 20 chars/s English cue fails the elder preset), the delivery re-validated (the
    playlists vertcut wrote pass), the JSON schema, and the page: no console errors, its plots present."""
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    tiny_ladder(tmp_path / "presets")
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    (tmp_path / "m.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n", encoding="utf-8")
    fast = "Where have you been all this time, my old friend?"  # 40 letters in 2 s: 20 a second
    (tmp_path / "m.en.srt").write_text(f"1\n00:00:00,100 --> 00:00:02,100\n{fast}\n", encoding="utf-8")
    (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01 cliffhanger\n")
    out = tmp_path / "out"
    res = run_cli("run", str(master), "--subs", str(tmp_path / "m.zh.srt"), "--subs", str(tmp_path / "m.en.srt"),
                  "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f", "--package", "hls,ts,mp4",
                  "--ladder", "tiny", "--mode", "center", "-o", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    page = tmp_path / "check.html"
    res = run_cli("check", str(out), "--preset", "elder-large", "--json", "--html", str(page))
    report = json.loads(res.stdout)
    assert report["schema"] == "vertcut.check/1" and [e["episode"] for e in report["episodes"]] == ["ep001", "ep002"]
    ep1 = report["episodes"][0]
    cps = [c for c in ep1["cues"] if c["lang"] == "en"]
    assert cps and cps[0]["cps"] > cps[0]["limit"]
    assert any(f["check"] == "subtitles" and f["severity"] == "error" for f in ep1["findings"])
    assert res.exit_code == EXIT_CHECK
    delivery = [f for e in report["episodes"] for f in e["findings"] if f["check"] == "delivery"]
    assert not delivery, delivery  # what vertcut wrote passes its own re-validation
    burned = [e["burned_subtitles"] for e in report["episodes"]]
    assert burned[1] is None and burned[0]["found"] == burned[0]["looked_at"] > 0, burned  # the cue is in ep001
    assert not [f for f in report["series"]["findings"] if f["rule"] == "safe_area"]
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=['"](https?:)?//""", text)
    from test_report_html import FLAGS, _browser_or_skip

    chromium = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            tab = browser.new_page()
            errors: list[str] = []
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(page.as_uri())
            plots = tab.evaluate(
                "Array.from(document.querySelectorAll('svg.plot')).map(s => [s.classList[1], "
                "s.getBoundingClientRect().width > 100, s.querySelectorAll('polyline,rect,circle').length])"
            )
            kinds = {k for k, shown, marks in plots if shown and marks > (0 if k == "onscreen" else 1)}
            assert {"timeline", "loudness", "spread", "histogram", "reading", "onscreen"} <= kinds, plots
            assert not errors, errors
        finally:
            browser.close()


def _edit_plan(out: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    plan = json.loads((out / "plan.json").read_text())
    edit(plan["episodes"][0])
    (out / "plan.json").write_text(json.dumps(plan, ensure_ascii=False))


def _on_screen(out: Path, *extra: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    res = run_cli("check", str(out), "--json", "--preset", "standard", *extra)
    assert res.exit_code in (0, EXIT_CHECK), res.output
    ep = json.loads(res.stdout)["episodes"][0]
    return ep, {f["rule"]: f for f in ep["findings"] if f["check"] in ("labels", "subtitles")}


def test_required_labels_and_burned_text_are_looked_for_on_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each label is found in the delivered picture at every frame looked at inside its window and not
    just after it; a plan asking longer or shorter than the file shows, or a file without the labels, is
    caught; the burned-in text is found where and when the plan says, its contrast measured, and a dim
    style with small glyphs fails the layout and the pixel contrast."""
    base = tmp_path / "presets"
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(base))
    (base / "ladder").mkdir(parents=True)  # one rung large enough to measure a 4 px outline on
    (base / "ladder" / "one.toml").write_text(
        'extends = "h264-default"\nsegment_seconds = 1\n[[rungs]]\nname = "720p"\nwidth = 720\nheight = 1280\ncrf = 20\nmaxrate_k = 3000\n'
    )
    (base / "label").mkdir()
    (base / "label" / "first.toml").write_text(
        'text = "第{episode}集"\nanchor = "top-left"\nsize_px = 60\nwhen = "start"\nseconds = 1\n'
        'text_colour = "#FFFFFF"\noutline_px = 3\n'
    )
    (base / "subtitle").mkdir()
    (base / "subtitle" / "dim.toml").write_text(
        'extends = "standard"\ntext_colour = "#9A9A9A"\noutline_colour = "#5A5A5A"\n'
    )
    master = make_clip(tmp_path / "m.mp4", frames=50, size=(320, 180), shot_len=25)
    (tmp_path / "m.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,400\n你到底去了哪里\n", encoding="utf-8")
    common = ["--subs", str(tmp_path / "m.zh.srt"), "--ladder", "one", "--mode", "center", "--package", "mp4",
              "--no-check"]  # fmt: skip
    out = tmp_path / "out"
    res = run_cli("run", str(master), *common, "--sub-preset", "standard", "--labels", "first,aigc", "-o", str(out))
    assert res.exit_code == 0, res.output
    ep, found = _on_screen(out)
    labels = {lb["name"]: lb for lb in ep["labels"]}
    assert labels["first"]["on_screen"] and labels["aigc"]["on_screen"], labels
    first = labels["first"]["frames"]
    window = [f["t"] for f in first if f["window"]]
    assert window[0] == 0.0 and window[-1] == 0.96  # its first and last frame (25 fps)
    assert all(f["score"] < 0.5 for f in first if not f["window"])  # gone at 1.00 s
    burned = ep["burned_subtitles"]
    assert burned["looked_at"] >= 1 and burned["found"] == burned["looked_at"], burned
    assert burned["contrast_edge"] > 10  # white on a black outline
    x, y, w, h = burned["ink_box"]
    assert y + h <= 1920 - 480 and x >= 60 and x + w <= 1080 - 150  # inside Douyin's safe area
    assert not found, found

    # the plan asks 1.5 s: the file shows 1 s
    _edit_plan(out, lambda e: e["delivery"]["labels"][0].update(end="3/2"))
    _, found = _on_screen(out)
    assert found["label_missing"]["severity"] == "error" and found["label_missing"]["start_s"] == 1.0
    # the plan asks 0.5 s: the label outstays it
    _edit_plan(out, lambda e: e["delivery"]["labels"][0].update(end="1/2"))
    _, found = _on_screen(out)
    assert (
        "label_missing" not in found and found["label_outside"]["start_s"] == 0.52
    )  # the first frame at or after 0.5 s
    # the burned text asked where nothing is shown
    _edit_plan(out, lambda e: e.update(burned_text=[["3/2", "49/25", e["burned_text"][0][2]]]))
    _, found = _on_screen(out)
    assert found["burned_text_missing"]["severity"] == "error"

    dim = tmp_path / "dim"
    res = run_cli("run", str(master), *common, "--sub-preset", "dim", "-o", str(dim))
    assert res.exit_code == 0, res.output
    # the delivered file without the labels the plan asks for
    shutil.copy(dim / "encoded" / "ep001" / "mp4" / "720p.mp4", out / "encoded" / "ep001" / "mp4" / "720p.mp4")
    _edit_plan(out, lambda e: e["delivery"]["labels"][0].update(end="1"))
    ep, found = _on_screen(out)
    assert {lb["name"] for lb in ep["labels"] if not lb["on_screen"]} == {"first", "aigc"}
    res = run_cli("check", str(dim), "--json", "--preset", "elder-large")
    report = json.loads(res.stdout)
    series = {f["rule"] for f in report["series"]["findings"]}
    assert {"glyph_height", "style_contrast"} <= series, series  # 46 px < 64, 2.1:1 < 7:1
    assert report["series"]["burned_subtitles"]["contrast"] < 3
    ep = report["episodes"][0]
    assert ep["burned_subtitles"]["contrast_edge"] < 3
    assert "text_contrast" in {f["rule"] for f in ep["findings"]}
