"""Episode split: frame-exact, audio cut at the same instant, subtitles re-timed, clear errors."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import av
import pytest
from conftest import run_cli
from mediagen import decode_indices, make_clip

from vertcut.errors import EXIT_INPUT, MarkerError
from vertcut.markers import Marker
from vertcut.media import frame_table, probe
from vertcut.split import plan_split, render_split

LOSSLESS = ["-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
SHORT = {"min_duration": "0.5s", "warn_duration": "1s"}


def _hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [hashlib.md5(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in c.decode(video=0)]


def _markers(*frames: int, rate: Fraction = Fraction(25)) -> list[Marker]:
    return [Marker(Fraction(f) / rate, f"EP{i + 1:02d}", "Red", i + 2) for i, f in enumerate(frames)]


def _check_exact(master: Path, out: Path, boundaries: list[int], n: int) -> None:
    master_hashes = _hashes(master)
    assert len(master_hashes) == n
    got: list[str] = []
    eps = sorted(out.glob("ep*.mp4"))
    assert len(eps) == len(boundaries) + 1
    for ep, (a, b) in zip(eps, zip([0, *boundaries], [*boundaries, n], strict=True), strict=True):
        h = _hashes(ep)
        assert len(h) == b - a, ep.name
        assert decode_indices(ep) == list(range(a, b))
        got += h
    assert got == master_hashes  # no frame lost, repeated or altered


def test_cfr_with_b_frames_is_frame_exact(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20, bframes=True)
    plan = plan_split(master, _markers(41, 80), snap="3f", **SHORT)
    assert [e.frames.start for e in plan.episodes] == [0, 40, 80]  # 41 snapped to the cut at 40
    assert plan.episodes[0].snap == "cut" and plan.episodes[0].marker_frame == 41
    manifest = render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", [40, 80], 100)
    # audio: each episode's audio ends where its video ends (within one AAC frame)
    total = Fraction(0)
    for ep in manifest["episodes"]:
        info = probe(tmp_path / "out" / ep["outputs"]["video"])
        a, v = info.audio[0], info.video[0]
        assert a.duration is not None and v.duration is not None
        assert abs(a.duration - v.duration) <= Fraction(1024, 48000) + Fraction(1, 25)
        total += v.duration
    assert total == 4


def test_vfr_source_is_frame_exact(tmp_path: Path) -> None:
    pts = [0]
    for i in range(1, 60):
        pts.append(pts[-1] + (40 if i % 3 else 80))
    master = make_clip(tmp_path / "vfr.mkv", frames=60, shot_len=15, pts=pts, time_base=Fraction(1, 1000), audio=False)
    assert probe(master).video[0].is_vfr
    # markers in seconds: the frame that starts at pts[30] (not 30/fps)
    plan = plan_split(master, [Marker(Fraction(pts[30], 1000), "EP01", line=2)], snap="0f", **SHORT)
    assert plan.episodes[1].frames.start == 30
    render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", [30], 60)
    # the episode keeps the source's variable timing
    t = frame_table(tmp_path / "out" / "ep002.mp4")
    deltas = {int(d) for d in (t.pts[1:] - t.pts[:-1]) * t.time_base * 1000}
    assert deltas == {40, 80}


def test_nonzero_start_time_is_frame_exact(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "late.mkv", frames=60, shot_len=20, start_pts=250)  # starts at 10 s
    assert frame_table(master).seconds(0) == 10
    plan = plan_split(master, _markers(40), snap="2f", **SHORT)
    render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", [40], 60)


def test_subtitles_retimed_and_manifest(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20)
    srt = tmp_path / "m.zh.srt"
    srt.write_text(
        "1\n00:00:00,200 --> 00:00:01,000\n第一句\n\n2\n00:00:01,400 --> 00:00:01,800\n跨越剪辑点\n\n3\n00:00:02,000 --> 00:00:02,400\n第三句\n",
        encoding="utf-8",
    )
    plan = plan_split(master, _markers(40), snap="0f", **SHORT)  # the cut at 1.6 s falls inside cue 2
    events: list[object] = []
    manifest = render_split(plan, tmp_path / "out", subtitles={"zh": srt}, sink=events.append)
    ep1 = (tmp_path / "out" / "ep001.zh.srt").read_text(encoding="utf-8")
    ep2 = (tmp_path / "out" / "ep002.zh.srt").read_text(encoding="utf-8")
    assert "00:00:01,400 --> 00:00:01,600" in ep1 and "跨越剪辑点" in ep1
    assert "00:00:00,000 --> 00:00:00,200\n跨越剪辑点" in ep2 and "00:00:00,400 --> 00:00:00,800\n第三句" in ep2
    assert manifest["episodes"][0]["subtitles"]["zh"]["straddling_cut"] == [2]
    assert any("falls inside zh cue 2" in getattr(e, "text", "") for e in events)
    saved = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert saved["schema"] == "vertcut.manifest/1" and saved["master"]["frames"] == 100
    e1 = saved["episodes"][0]
    assert e1["frames"] == {"first": 0, "last": 39, "count": 40} and e1["tier"] == "free"
    assert e1["marker"]["name"] == "EP01" and e1["verification"]["frames_ok"]
    assert (tmp_path / "out" / "contact-sheet.png").stat().st_size > 0


def test_free_and_paid_tiers(tmp_path: Path, clip: Path) -> None:
    plan = plan_split(clip, _markers(10, 20, 30), snap="0f", free_episodes=2, min_duration="0.2s", warn_duration="0.2s")
    assert [e.tier for e in plan.episodes] == ["free", "free", "paid", "paid"]


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ((30, 20), "out of order"),
        ((20, 20), "duplicates"),
        ((20, 400), "beyond the end"),
        ((3,), "shorter than 0.5s"),
    ],
)
def test_bad_markers(clip: Path, frames: tuple[int, ...], message: str) -> None:
    with pytest.raises(MarkerError, match=message) as info:
        plan_split(clip, _markers(*frames), snap="0f", **SHORT, markers_path="cuts.csv")
    assert "cuts.csv:" in str(info.value)


def test_marker_at_another_frame_rate(clip: Path) -> None:
    m = Marker(Fraction(1), "EP01", line=7, rate=Fraction(30000, 1001))
    with pytest.raises(MarkerError, match=r"29\.970 fps but the master is 25\.000 fps") as info:
        plan_split(clip, [m], markers_path="ep.fcpxml")
    assert info.value.line == 7


def test_cli_dry_run_prints_the_plan(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20, audio=False)
    csv = tmp_path / "cuts.csv"
    csv.write_text("frame,name\n41,EP01\n80,EP02\n")
    settings = tmp_path / "short.toml"
    settings.write_text('extends = "default"\nmin_duration = "0.5s"\nwarn_duration = "1s"\n')
    res = run_cli("split", str(master), "--markers", str(csv), "--preset", str(settings), "--snap", "2f", "--dry-run")
    assert res.exit_code == 0, res.output
    rows = [r.split() for r in res.stdout.splitlines()[1:]]
    assert [(r[1], r[2], r[3]) for r in rows] == [("0", "39", "40"), ("40", "79", "40"), ("80", "99", "20")]
    assert not list(tmp_path.glob("ep*"))
    res = run_cli("split", str(master), "--markers", str(tmp_path / "none.csv"), "--dry-run")
    assert res.exit_code == EXIT_INPUT and "no such marker file" in res.stderr
