"""Flash safety (vertcut.check.flash) on generated pictures with known answers: frames made in NumPy
and fed to FlashAnalyzer, and one clip encoded with PyAV and read back through analyse_flashes."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vertcut.check.flash import FlashAnalyzer, FlashReport, analyse_flashes, linear_rgb
from vertcut.errors import InvalidMediaError
from vertcut.progress import ProgressEvent

W, H = 135, 240
RATE = Fraction(30)
Frame = np.ndarray


def feed(make: Callable[[int, Fraction], Frame], seconds: float, *, rate: Fraction = RATE, **kw: object) -> FlashReport:
    a = FlashAnalyzer(size=(W, H), rate=rate, **kw)  # type: ignore[arg-type]
    for i in range(round(seconds * rate)):
        t = Fraction(i) / rate
        a.add(make(i, t), t)
    return a.result()


def grey_for(lum: float) -> int:
    """The 8-bit sRGB grey whose relative luminance is nearest ``lum``."""
    levels = linear_rgb(np.arange(256, dtype=np.uint8).reshape(1, 256, 1))[0, :, 0]
    return int(np.abs(levels - lum).argmin())


def flashing(hz: float, on: object, off: object = 0, *, rows: float = 1.0) -> Callable[[int, Fraction], Frame]:
    """A square wave at ``hz``: the top ``rows`` share of the picture shows ``on`` in the first half of
    each period, everything else ``off``."""
    band = round(H * rows)

    def make(i: int, t: Fraction) -> Frame:
        img = np.empty((H, W, 3), np.uint8)
        img[:] = off
        if (t * Fraction(hz)) % 1 < Fraction(1, 2):
            img[:band] = on
        return img

    return make


def only(report: FlashReport, kind: str) -> list:  # type: ignore[type-arg]
    return [e for e in report.events if e.kind == kind]


def test_5hz_full_screen_white_black_flash_fails() -> None:
    r = feed(flashing(5, 255), 4)
    [e] = only(r, "general_flash")
    assert e.severity == "error" and not r.passed
    assert e.max_flashes == 5 and r.max_flashes == 5
    assert e.area == 1.0 and e.bbox == (0.0, 0.0, 1.0, 1.0)
    # white for frames 0-2, black 3-5, ...: the first transition is at frame 3, the last at frame 117
    assert (e.start_frame, e.end_frame) == (3, 118)
    assert (e.start, e.end) == (Fraction(1, 10), Fraction(118, 30))
    assert not only(r, "red_flash") and not only(r, "pattern")
    assert max(r.flash_rate) == 5 and max(r.flash_area) == 1.0


def test_4hz_half_screen_red_flash_fails_as_a_red_flash() -> None:
    r = feed(flashing(4, (255, 0, 0), rows=0.5), 4)
    [red] = only(r, "red_flash")
    assert red.severity == "error" and red.signal == "red"
    assert red.max_flashes == 4 and r.max_red_flashes == 4
    assert red.area == pytest.approx(0.5) and red.bbox == (0.0, 0.0, 1.0, 0.5)
    # saturated red on black also changes relative luminance by 0.21: a general flash as well
    assert only(r, "general_flash")


def test_red_flash_needs_a_saturated_red_and_not_a_luminance_change() -> None:
    # red against darker red: relative luminance changes by only 0.09, (R-G-B) x 320 by 135
    r = feed(flashing(4, (255, 0, 0), (200, 0, 0)), 3)
    assert only(r, "red_flash") and not only(r, "general_flash")
    # pink (R/(R+G+B) = 0.62) on black: a general flash, not a red one
    r = feed(flashing(4, (255, 150, 150)), 3)
    assert only(r, "general_flash") and not only(r, "red_flash")


def test_dim_10hz_flicker_below_the_thresholds_passes() -> None:
    lo, hi = grey_for(0.02), grey_for(0.05)
    r = feed(flashing(10, hi, lo), 4)
    assert r.events == () and r.passed
    assert r.max_flashes == 0 and max(r.flash_area) == 0
    assert r.luminance[0] == pytest.approx(0.05, abs=0.003) and r.luminance[2] == pytest.approx(0.02, abs=0.003)


def test_flashing_while_the_darker_state_is_above_0_8_passes() -> None:
    r = feed(flashing(6, 255, grey_for(0.85)), 3)
    assert r.events == ()


def _texture(seed: int, size: tuple[int, int] = (700, 400)) -> Frame:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((size[1], size[0], 3)).astype(np.float32), (0, 0), 6)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    lo, hi = rng.uniform(10, 90), rng.uniform(150, 250)
    return (lo + (hi - lo) * noise).astype(np.uint8)


def test_ordinary_content_slow_pans_and_a_cut_every_second_passes() -> None:
    scenes = [_texture(s) for s in range(8)]

    def make(i: int, t: Fraction) -> Frame:
        shot = scenes[(i // 30) % len(scenes)]  # a cut every second
        x, y = i % 30 * 2, 20 + i % 30  # panning 60 px/s across, 30 px/s down
        return np.ascontiguousarray(shot[y : y + H, x : x + W])

    r = feed(make, 8)
    assert r.events == ()
    assert r.max_flashes <= 1 and r.max_red_flashes == 0


@pytest.mark.parametrize(("rows", "fails"), [(0.2, False), (0.3, True)])
def test_a_5hz_flash_fails_over_30_percent_of_the_screen_not_over_20(rows: float, fails: bool) -> None:
    r = feed(flashing(5, 255, rows=rows), 3)
    assert bool(only(r, "general_flash")) is fails
    assert max(r.flash_area) == pytest.approx(rows, abs=0.01)  # the flashing area is measured either way
    if fails:
        [e] = only(r, "general_flash")
        assert e.area == pytest.approx(0.3, abs=0.01) and e.bbox[3] == pytest.approx(0.3, abs=0.01)


def test_the_field_rule_judges_25_percent_of_a_picture_wide_square() -> None:
    # 20 % of a 9:16 screen is 35 % of a square as wide as the picture (WCAG's 10 degrees on a phone)
    assert only(feed(flashing(5, 255, rows=0.2), 3, area_rule="field"), "general_flash")
    assert not only(feed(flashing(5, 255, rows=0.1), 3, area_rule="field"), "general_flash")


def test_flashes_are_counted_as_pairs_of_transitions() -> None:
    # 3 Hz: 6 transitions, 3 flashes in every second: not more than 3; 3.5 Hz: 3.5 flashes, fails
    assert feed(flashing(3, 255), 4).events == ()
    assert only(feed(flashing(3.5, 255), 4), "general_flash")


def test_2_5hz_flashing_passes_the_rate_rule_but_8_s_of_it_is_extended_flashing() -> None:
    r = feed(flashing(2.5, 255), 8)
    assert r.passed and r.max_flashes == 2.5
    [e] = r.events
    assert (e.kind, e.severity, e.signal) == ("extended_flash", "warning", "luminance")
    assert e.duration > 5 and e.start < Fraction(1, 2) and e.end > Fraction(15, 2)
    assert e.max_flashes == 2.5 and e.area == 1.0
    assert feed(flashing(2.5, 255), 4).events == ()  # 4 s of it is not extended


@pytest.mark.parametrize("kind", ["stripes", "checkerboard"])
def test_a_full_screen_black_white_pattern_gives_the_pattern_warning(kind: str) -> None:
    yy, xx = np.mgrid[0:H, 0:W]
    cells = (xx // 4) % 2 if kind == "stripes" else ((xx // 6) + (yy // 6)) % 2
    img = np.repeat((cells * 255).astype(np.uint8)[..., None], 3, axis=2)
    r = feed(lambda i, t: img, 2)
    [e] = r.events
    assert (e.kind, e.severity, e.signal) == ("pattern", "warning", "pattern")
    assert e.area == 1.0 and e.detail["pairs"] > 5
    assert e.start == 0 and e.end == 2 and (e.start_frame, e.end_frame) == (0, 60)


def test_a_short_or_low_contrast_pattern_gives_no_warning() -> None:
    xx = np.mgrid[0:H, 0:W][1]
    stripes = ((xx // 4) % 2).astype(np.uint8)
    faint = np.repeat((100 + 8 * stripes)[..., None], 3, axis=2).astype(np.uint8)
    assert feed(lambda i, t: faint, 2).events == ()
    strong = np.repeat((255 * stripes)[..., None], 3, axis=2).astype(np.uint8)
    grey = np.full((H, W, 3), 128, np.uint8)
    assert feed(lambda i, t: strong if i < 9 else grey, 2).events == ()  # 0.3 s of it


def test_times_are_exact_fractions_of_the_frames_fed() -> None:
    rate = Fraction(30000, 1001)
    r = feed(flashing(5, 255), 3, rate=rate)
    [e] = only(r, "general_flash")
    assert e.start == Fraction(e.start_frame * 1001, 30000) and e.end == Fraction(e.end_frame * 1001, 30000)
    assert r.end == Fraction(r.frames * 1001, 30000)


def test_the_result_can_be_taken_while_feeding_and_the_json_is_complete() -> None:
    a = FlashAnalyzer(size=(W, H), rate=RATE)
    make = flashing(5, 255)
    for i in range(60):
        a.add(make(i, Fraction(i, 30)), Fraction(i, 30))
    early = a.result()
    [e] = early.events
    assert e.kind == "general_flash" and e.end_frame == 58  # the last transition so far: frame 57
    for i in range(60, 120):
        a.add(make(i, Fraction(i, 30)), Fraction(i, 30))
    r = a.result()
    [e] = r.events
    assert (e.start_frame, e.end_frame) == (3, 118)
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["passed"] is False and doc["errors"] == 1 and doc["frames"] == 120
    assert doc["events"][0]["start"] == "1/10" and doc["events"][0]["max_flashes"] == 5
    assert len(doc["series"]["luminance"]) == len(doc["series"]["flash_area"]) == 120
    assert "series" not in r.to_json(series=False)
    [f] = r.findings()
    assert f["kind"] == "general_flash" and f["start"] == Fraction(1, 10) and f["detail"]["area"] == 1.0
    assert "5 flashes in 1 s" in f["message"]


def test_bad_frames_are_refused() -> None:
    a = FlashAnalyzer(size=(W, H), rate=RATE)
    with pytest.raises(InvalidMediaError):
        a.add(np.zeros((W, H, 3), np.uint8), Fraction(0))
    a.add(np.zeros((H, W, 3), np.uint8), Fraction(0))
    with pytest.raises(InvalidMediaError):
        a.add(np.zeros((H, W, 3), np.uint8), Fraction(0))  # not after the previous frame
    with pytest.raises(ValueError):
        FlashAnalyzer(size=(W, H), rate=Fraction(0))


def _encode(path: Path, make: Callable[[int, Fraction], Frame], seconds: int, size: tuple[int, int]) -> Path:
    w, h = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "18", "preset": "ultrafast"}
        for i in range(30 * seconds):
            img = cv2.resize(make(i, Fraction(i, 30)), (w, h), interpolation=cv2.INTER_NEAREST)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


def test_an_encoded_5hz_flash_fails_through_analyse_flashes(tmp_path: Path) -> None:
    clip = _encode(tmp_path / "flash.mp4", flashing(5, 255), 3, (270, 480))
    events: list[ProgressEvent] = []
    r = analyse_flashes(clip, sink=events.append)
    assert r.size == (135, 240) and r.frames == 90 and r.end == 3
    [e] = only(r, "general_flash")
    assert e.max_flashes == 5 and e.area == 1.0
    assert e.start == Fraction(1, 10) and e.end == Fraction(88, 30)
    kinds = [ev.kind for ev in events if ev.stage == "flash"]
    assert kinds[0] == "start" and kinds[-1] == "end" and "1 error," in events[-1].text
    calm = _encode(tmp_path / "calm.mp4", flashing(10, grey_for(0.05), grey_for(0.02)), 2, (480, 270))
    r = analyse_flashes(calm)
    assert r.size == (240, 135) and r.events == ()  # a landscape file is analysed landscape


def test_a_pq_file_is_analysed_as_sdr_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "pq.mp4"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 180, 320, "yuv420p"
        vs.options = {"preset": "ultrafast", "x264-params": "transfer=smpte2084:colorprim=bt2020:colormatrix=bt2020nc"}
        for _ in range(10):
            for p in vs.encode(av.VideoFrame.from_ndarray(np.zeros((320, 180, 3), np.uint8), format="rgb24")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    events: list[ProgressEvent] = []
    assert analyse_flashes(path, sink=events.append).frames == 10
    assert [e.text for e in events if e.kind == "warning"] == [
        "HDR (PQ/HLG) picture: flashes measured as if it were SDR"
    ]
