"""Episode split: frame-exact (lossless re-run, per-frame hashes), audio cut at the same sample, clear errors."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from conftest import run_cli
from mediagen import decode_indices, make_clip, x264_threads

from vertcut.errors import EXIT_INPUT, InputError, MarkerError
from vertcut.ffmpeg import FFmpeg
from vertcut.markers import Marker
from vertcut.media import frame_table, probe
from vertcut.split import SplitPlan, plan_split, render_split, snap_frame
from vertcut.timebase import FrameRange

# lossless video and audio: episodes must hold exactly the master's decoded frames and samples
LOSSLESS = ["-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "flac"]
SHORT = {"min_duration": "0.5s", "warn_duration": "1s"}


def _hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [hashlib.md5(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in c.decode(video=0)]


def _audio(path: Path) -> tuple[np.ndarray, int]:
    """Decoded audio as float64 (channels, samples) and its rate."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        parts = []
        for f in c.decode(s):
            a = f.to_ndarray()
            if f.format.is_packed:
                a = a.reshape(-1, len(f.layout.channels)).T
            if a.dtype == np.int32:
                a = a / 2**31
            elif a.dtype == np.int16:
                a = a / 2**15
            parts.append(a.astype(np.float64))
        return np.concatenate(parts, axis=1), s.codec_context.sample_rate


def _markers(*frames: int, rate: Fraction = Fraction(25)) -> list[Marker]:
    return [Marker(Fraction(f) / rate, f"EP{i + 1:02d}", "Red", i + 2) for i, f in enumerate(frames)]


def _check_exact(master: Path, out: Path, plan: SplitPlan, boundaries: list[int], slack: int = 0) -> None:
    """Every episode holds exactly master[a:b] (md5 per frame) and master audio [a_s:b_s] (sample-exact).

    ``slack``: samples of tolerance where the master's audio timestamps are coarser than a
    sample (Matroska stores packet times in milliseconds: 48 samples at 48 kHz).
    """
    n = len(frame_table(master))
    master_hashes = _hashes(master)
    assert len(master_hashes) == n
    eps = sorted(out.glob("ep*.mp4"))
    assert [e.frames.start for e in plan.episodes] == [0, *boundaries]
    assert len(eps) == len(boundaries) + 1
    got: list[str] = []
    has_audio = bool(probe(master).audio)
    if has_audio:
        master_audio, sr = _audio(master)
    for ep, spec, (a, b) in zip(eps, plan.episodes, zip([0, *boundaries], [*boundaries, n], strict=True), strict=True):
        h = _hashes(ep)
        assert len(h) == b - a, ep.name
        assert decode_indices(ep) == list(range(a, b)), ep.name
        got += h
        if has_audio:
            audio, rate = _audio(ep)
            assert rate == sr
            first = int(spec.start * sr)
            # cut at the same instant as the video (the last episode: where the master's audio ends)
            want = min(int(spec.duration * sr), master_audio.shape[1] - first)
            assert abs(audio.shape[1] - want) <= slack, (ep.name, audio.shape[1], want)
            lags = [lag for lag in range(-slack, slack + 1) if first + lag >= 0]
            n = min(audio.shape[1], master_audio.shape[1] - first - slack) - 2048
            err = {
                lag: np.abs(audio[:, 1024:n] - master_audio[:, first + lag + 1024 : first + lag + n]).max()
                for lag in lags
            }
            best = min(err, key=lambda lag: err[lag])
            assert err[best] < 1e-6, (ep.name, best, err[best])  # the same samples: no shift, no gap
            assert abs(best) <= slack
    assert got == master_hashes  # no frame lost, repeated or altered


def test_cfr_source_is_frame_and_sample_exact(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=75, shot_len=25, bframes=False)
    plan = plan_split(master, _markers(25, 52), cuts=[25, 50], snap="0f", **SHORT)
    render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", plan, [25, 52])


def test_b_frame_source_snapped_to_detected_cuts(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20, bframes=True)
    with av.open(str(master)) as c:  # the source really has B-frames: decode order != presentation order
        pts = [p.pts for p in c.demux(video=0) if p.pts is not None]
    assert pts != sorted(pts)
    plan = plan_split(master, _markers(41, 78), snap="3f", **SHORT)  # analyse() finds the cuts every 20 frames
    assert [(e.snap.status, e.snap.marker_frame, e.snap.frame) for e in plan.episodes if e.snap] == [
        ("cut", 41, 40),
        ("cut", 78, 80),
    ]
    manifest = render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", plan, [40, 80])
    assert all(e["verification"]["ok"] and e["verification"]["hidden_frames"] == 0 for e in manifest["episodes"])


def test_vfr_source_is_frame_exact(tmp_path: Path) -> None:
    pts = [0]
    for i in range(1, 60):
        pts.append(pts[-1] + (40 if i % 3 else 80))
    master = make_clip(tmp_path / "vfr.mkv", frames=60, shot_len=15, pts=pts, time_base=Fraction(1, 1000))
    assert probe(master).video[0].is_vfr
    # markers in seconds: the frame shown at pts[30] (frame 30), not 30/fps (frame ~23)
    plan = plan_split(master, [Marker(Fraction(pts[30], 1000), "EP01", line=2)], cuts=[], snap="0f", **SHORT)
    render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", plan, [30])
    t = frame_table(tmp_path / "out" / "ep002.mp4")  # the episode keeps the variable timing
    deltas = {int(d) for d in (t.pts[1:] - t.pts[:-1]) * t.time_base * 1000}
    assert deltas == {40, 80}


def test_nonzero_start_time_is_frame_exact(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "src.mp4", frames=60, shot_len=20, bframes=False)
    master = tmp_path / "late.mkv"  # video and audio start at 10 s (as a recorder or an NLE export writes)
    FFmpeg().run(["-i", str(src), "-c", "copy", "-output_ts_offset", "10", str(master)])
    assert frame_table(master).seconds(0) == 10 and probe(master).start_time == 10
    plan = plan_split(master, _markers(40), cuts=[20, 40], snap="2f", **SHORT)
    render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    _check_exact(master, tmp_path / "out", plan, [40], slack=48)


def test_default_encode_verified_and_manifest(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20)
    srt = tmp_path / "m.zh.srt"
    srt.write_text(
        "1\n00:00:00,200 --> 00:00:01,000\n第一句\n\n2\n00:00:01,400 --> 00:00:01,800\n跨越剪辑点\n\n"
        "3\n00:00:02,000 --> 00:00:02,400\n第三句\n",
        encoding="utf-8",
    )
    plan = plan_split(master, _markers(40), cuts=[20, 40, 60, 80], snap="0f", **SHORT)  # cut at 1.6 s, inside cue 2
    events: list[Any] = []
    out = tmp_path / "out"
    manifest = render_split(plan, out, subtitles={"zh": srt}, sink=events.append)
    ep1 = (out / "ep001.zh.srt").read_text(encoding="utf-8")
    ep2 = (out / "ep002.zh.srt").read_text(encoding="utf-8")
    assert "00:00:01,400 --> 00:00:01,600\n跨越剪辑点" in ep1
    assert "00:00:00,000 --> 00:00:00,200\n跨越剪辑点" in ep2 and "00:00:00,400 --> 00:00:00,800\n第三句" in ep2
    assert any("falls inside zh cue 2" in getattr(e, "text", "") for e in events)
    saved = json.loads((out / "manifest.json").read_text())
    assert saved == json.loads(json.dumps(manifest))
    assert saved["schema"] == "vertcut.episodes/1" and saved["master"]["frames"] == 100
    assert saved["master"]["frame_rate"] == "25" and len(saved["master"]["sha256"]) == 64
    e1, e2 = saved["episodes"]
    assert e1["frames"] == {"first": 0, "last": 39, "count": 40} and e1["tier"] == "free"
    assert e1["start"]["timecode"] == "00:00:00:00" and e2["start"]["timecode"] == "00:00:01:15"
    assert e1["end"]["seconds"] == "8/5" and e2["duration"]["seconds"] == "12/5"
    assert e1["marker"]["name"] == "EP01" and e1["marker"]["colour"] == "Red" and e1["marker"]["line"] == 2
    assert e1["marker"]["snap"] == "cut" and e1["marker"]["offset_frames"] == 0
    assert e1["subtitles"]["zh"]["clipped"] == [2] and e2["subtitles"]["zh"]["clipped"] == [2]
    assert e1["outputs"]["video"] == "ep001.mp4" and e1["outputs"]["subtitles"] == {"zh": "ep001.zh.srt"}
    # lossy default encode: verified frame counts, no hidden frames, starts at 0, AAC audio long enough
    for e in saved["episodes"]:
        v = e["verification"]
        assert v["ok"], v
        assert v["frames_written"] == e["frames"]["count"] and v["hidden_frames"] == 0 and v["video_start_s"] == 0
        assert 0 <= v["audio_samples"] - v["audio_samples_expected"] <= 1024
        for key, want in (("first_frame", e["frames"]["first"]), ("last_frame", e["frames"]["last"])):
            assert v[key]["decidable"] and v[key]["match"] == want and v[key]["psnr"] > 30, (key, v[key])
        assert decode_indices(out / e["outputs"]["video"]) == list(range(e["frames"]["first"], e["frames"]["last"] + 1))
    assert saved["totals"] == {"episodes": 2, "frames": 100, "duration": "4", "duration_s": 4.0, "verified": True}
    # contact sheet: one row per cut (label bar + last|first frames)
    import cv2

    sheet = cv2.imread(str(out / "contact-sheet.png"))
    assert sheet.shape[1] == 240 * 2 + 6 and sheet.shape[0] == 22 + 136
    assert not list(tmp_path.glob(".out*"))  # no temporary folder left


def test_snapping_rules() -> None:
    cuts = (100, 130)
    assert snap_frame(110, 12, cuts).frame == 100 and snap_frame(110, 12, cuts).status == "cut"
    assert snap_frame(115, 15, cuts).frame == 130  # a tie goes to the later cut
    fades = (FrameRange(200, 224),)
    luma = np.full(300, 100.0)
    luma[200:224] = np.abs(np.arange(24) - 13) * 5.0  # darkest at 213
    assert (snap_frame(205, 12, cuts, fades, luma=luma).status, snap_frame(205, 12, cuts, fades, luma=luma).frame) == (
        "fade",
        213,
    )
    black = (FrameRange(250, 262),)
    s = snap_frame(255, 12, cuts, fades, black)
    assert (s.status, s.frame) == ("black", 262)  # next episode starts after the black gap
    s = snap_frame(50, 12, cuts, fades, black)
    assert (s.status, s.frame, s.offset) == ("none", 50, 0)


def test_tiers_first_n_free_and_marker_flags(clip: Path) -> None:
    plan = plan_split(
        clip, _markers(10, 20, 30), cuts=[], snap="0f", free_episodes=2, min_duration="0.2s", warn_duration="0.2s"
    )
    assert [e.tier for e in plan.episodes] == ["free", "free", "paid", "paid"]
    assert plan.first_paid == 3
    flagged = [Marker(Fraction(10, 25), "EP01", line=2), Marker(Fraction(20, 25), "EP02 paywall", line=3, tier="paid"),
               Marker(Fraction(30, 25), "EP03", line=4)]  # fmt: skip
    plan = plan_split(clip, flagged, cuts=[], snap="0f", free_episodes=10, min_duration="0.2s", warn_duration="0.2s")
    assert [e.tier for e in plan.episodes] == ["free", "free", "paid", "paid"]


def test_kept_mid_shot_warns(clip: Path) -> None:
    events: list[Any] = []
    plan = plan_split(clip, _markers(25), cuts=[10, 40], snap="3f", sink=events.append, **SHORT)
    assert plan.episodes[0].snap is not None and plan.episodes[0].snap.status == "none"
    assert any("kept mid-shot" in getattr(e, "text", "") for e in events) and plan.warnings


@pytest.mark.parametrize(
    ("frames", "message", "line"),
    [
        ((30, 20), r"marker 'EP02': is out of order: frame 20 comes before marker 'EP01' \(line 2\)", 3),
        ((20, 20), r"marker 'EP02': duplicates marker 'EP01' \(line 2\)", 3),
        ((20, 400), r"marker 'EP02': at 16\.000 s is beyond the end of the master \(2\.000 s, 50 frames\)", 3),
        ((3,), r"marker 'EP01': episode 1 \(frames 0-2, 0\.120 s\) is shorter than 0\.5s", 2),
        ((0,), "very start", 2),
    ],
)
def test_bad_markers_name_marker_and_line(clip: Path, frames: tuple[int, ...], message: str, line: int) -> None:
    with pytest.raises(MarkerError, match=message) as info:
        plan_split(clip, _markers(*frames), cuts=[], snap="0f", **SHORT, markers_path="cuts.csv")
    assert info.value.line == line and str(info.value).startswith(f"cuts.csv:{line}: ")


def test_too_long_and_snap_collision(clip: Path) -> None:
    with pytest.raises(MarkerError, match=r"episode 2 .* is longer than 1s .*a marker is missing"):
        plan_split(clip, _markers(20), cuts=[], snap="0f", min_duration="0.1s", warn_duration="0.1s", max_duration="1s")
    with pytest.raises(MarkerError, match="snaps to frame 20, the same cut as marker 'EP01'"):
        plan_split(clip, _markers(19, 22), cuts=[20], snap="3f", min_duration="0.01s", warn_duration="0.01s")


def test_marker_file_at_another_frame_rate(clip: Path) -> None:
    m = Marker(Fraction(1), "EP01", line=7, rate=Fraction(30000, 1001), path="ep.fcpxml")
    with pytest.raises(MarkerError, match=r"timed at 29\.970 fps but the master is 25\.000 fps") as info:
        plan_split(clip, [m], cuts=[])
    assert str(info.value).startswith("ep.fcpxml:7: marker 'EP01'")


def test_cli_dry_run_prints_the_plan(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20, audio=False)
    csv = tmp_path / "cuts.csv"
    csv.write_text("frame,name\n41,EP01\n80,EP02\n")
    settings = tmp_path / "short.toml"
    settings.write_text('extends = "default"\nmin_duration = "0.5s"\nwarn_duration = "1s"\n')
    res = run_cli("split", str(master), "--markers", str(csv), "--preset", str(settings), "--snap", "2f", "--dry-run")
    assert res.exit_code == 0, res.output
    rows = [r.split() for r in res.stdout.splitlines()[1:]]
    assert [(r[1], r[2], r[3], r[7]) for r in rows] == [
        ("0", "39", "40", "cut"),
        ("40", "79", "40", "cut"),
        ("80", "99", "20", "end"),
    ]
    assert not list(tmp_path.glob("ep*")) and not (tmp_path / "out").exists()


def test_cli_renders_and_global_dry_run_prints_commands(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=50, shot_len=25)
    csv = tmp_path / "cuts.csv"
    csv.write_text("frame,name\n25,EP01\n")
    args = [
        "split",
        str(master),
        "--markers",
        str(csv),
        "--snap",
        "0f",
        "--free-episodes",
        "1",
        "-o",
        str(tmp_path / "out"),
    ]
    args += ["--preset", str(_short_preset(tmp_path))]
    res = run_cli("--dry-run", *args)
    assert res.exit_code == 0, res.output
    assert "-output_ts_offset" not in res.output and "libx264" in res.output and not (tmp_path / "out").exists()
    res = run_cli(*args)
    assert res.exit_code == 0, res.output
    saved = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [e["tier"] for e in saved["episodes"]] == ["free", "paid"] and saved["paywall"]["first_paid_episode"] == 2
    assert "verified" in res.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "is empty"), ("frame,name\n30,EP02\n20,EP01\n", r"cuts\.csv:3: marker 'EP01': is out of order"),
     ("\x00\x01binary", "unknown marker format")],
)  # fmt: skip
def test_cli_bad_markers_one_line_error(tmp_path: Path, clip: Path, content: str, message: str) -> None:
    p = tmp_path / "cuts.csv"
    p.write_text(content)
    res = run_cli("split", str(clip), "--markers", str(p), "--snap", "0f", "-o", str(tmp_path / "out"))
    assert res.exit_code == EXIT_INPUT and res.stderr.count("\n") == 1 and "Traceback" not in res.output
    import re

    assert re.search(message, res.stderr), res.stderr
    assert not (tmp_path / "out").exists()


def _short_preset(tmp_path: Path) -> Path:
    p = tmp_path / "short.toml"
    p.write_text('extends = "default"\nmin_duration = "0.5s"\nwarn_duration = "1s"\n')
    return p


def test_end_frame_check_detects_an_off_by_one(clip: Path) -> None:
    from vertcut.split.render import check_ends, master_frames

    plan = plan_split(clip, _markers(20), cuts=[], snap="0f", **SHORT)
    thumbs = master_frames(plan, {18, 19, 20, 21, 22}, 240)
    assert sorted(thumbs) == [18, 19, 20, 21, 22]
    ep2 = plan.episodes[1]
    good = check_ends(plan, ep2, thumbs[20], None, thumbs)["first_frame"]
    assert good["match"] == 20 and good["decidable"]
    bad = check_ends(plan, ep2, thumbs[21], None, thumbs)["first_frame"]  # an episode starting one frame late
    assert bad["match"] == 21 and bad["expected"] == 20 and bad["decidable"]


def test_cli_dry_run_warns_of_cuts_inside_cues(tmp_path: Path) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, shot_len=20, audio=False)
    csv = tmp_path / "cuts.csv"
    csv.write_text("frame,name\n40,EP01\n")
    srt = tmp_path / "m.zh.srt"
    srt.write_text("1\n00:00:01,400 --> 00:00:01,800\n跨越剪辑点\n", encoding="utf-8")
    res = run_cli("split", str(master), "--markers", str(csv), "--preset", str(_short_preset(tmp_path)),
                  "--snap", "0f", "--subs", str(srt), "--dry-run")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "the cut at frame 40 (marker 'EP01' (line 2)) falls inside zh cue 1 (1.400-1.800 s" in res.stderr


def test_output_folder_with_other_files_is_refused(tmp_path: Path, clip: Path) -> None:
    plan = plan_split(clip, _markers(25), cuts=[], snap="0f", **SHORT)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="already holds other files"):
        render_split(plan, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    with pytest.raises(InputError, match=r"holds the input clip\.mp4"):
        render_split(plan, clip.parent)


def test_thread_cap_reaches_the_episode_encodes(tmp_path: Path) -> None:
    """``FFmpeg(threads=1)`` (a Ray task's reserved CPUs): x264 records 1 thread in every episode."""
    master = make_clip(tmp_path / "m.mp4", frames=50, shot_len=25)
    plan = plan_split(master, _markers(25), cuts=[25], snap="0f", **SHORT)
    render_split(plan, tmp_path / "out", ffmpeg=FFmpeg(threads=1))
    made = sorted((tmp_path / "out").glob("ep*.mp4"))
    assert len(made) == 2
    for path in made:
        assert x264_threads(path) == 1, path.name


def test_sound_that_starts_after_the_picture_is_padded_with_silence(tmp_path: Path) -> None:
    """A master whose audio starts 100 ms after its first frame (as WebM's Vorbis often does): the first
    episode's sound still covers it from its first frame, silent until the master's sound begins."""
    src = make_clip(tmp_path / "src.mp4", frames=50, shot_len=25, bframes=False)
    master = tmp_path / "late-audio.mkv"
    FFmpeg().run(["-i", str(src), "-itsoffset", "0.1", "-i", str(src), "-map", "0:v", "-map", "1:a", "-c", "copy",
                  str(master)])  # fmt: skip
    plan = plan_split(master, _markers(25), cuts=[25], snap="0f", **SHORT)
    manifest = render_split(plan, tmp_path / "out", encoder_args=LOSSLESS)
    first = manifest["episodes"][0]["verification"]
    assert first["ok"] and first["audio_samples"] == first["audio_samples_expected"] == 48000, first
    audio, _ = _audio(tmp_path / "out" / "ep001.mp4")
    source, _ = _audio(src)
    assert np.abs(audio[:, :4700]).max() == 0  # silence for the first 100 ms (MKV times it to the millisecond)
    assert np.abs(audio[:, 4900:40000] - source[:, 100 : 40000 - 4800]).max() < 1e-6
