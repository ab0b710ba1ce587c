"""ABR ladder, packaging and platform masters, checked by parsing what was written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import m3u8
import pytest
from conftest import run_cli
from mediagen import make_clip, x264_threads

from vertcut.encode import encode_episode
from vertcut.encode.platform import check_master
from vertcut.errors import EXIT_CHECK, OutOfSpaceError
from vertcut.ffmpeg import FFmpeg
from vertcut.media import probe
from vertcut.presets import load_preset
from vertcut.progress import ProgressEvent

SMALL_LADDER = """
description = "test ladder"
extends = "h264-default"
segment_seconds = 1
[[rungs]]
name = "hi"
width = 180
height = 320
crf = 23
maxrate_k = 900
[[rungs]]
name = "lo"
width = 90
height = 160
crf = 28
maxrate_k = 300
"""


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    base = tmp_path_factory.mktemp("enc")
    loud = make_clip(base / "loud.mp4", frames=100, size=(180, 320), shot_len=13)  # cuts off the segment grid
    src = base / "ep.mp4"
    FFmpeg().run(["-i", str(loud), "-c:v", "copy", "-af", "volume=-12dB", "-c:a", "aac", str(src)])  # about -27 LUFS
    ladder = base / "small.toml"
    ladder.write_text(SMALL_LADDER)
    plat = base / "test-platform.toml"
    plat.write_text('name = "Test"\nwidth = 180\nheight = 320\nmin_duration_s = 1\nmax_duration_s = 60\n')
    plat2 = base / "twin.toml"
    plat2.write_text(plat.read_text().replace('"Test"', '"Twin"').replace("60", "30"))
    out = base / "out"
    report = encode_episode(src, out, ladder=str(ladder), masters=(str(plat), str(plat2)), vmaf=True)
    return out, report.to_dict()


def test_master_playlist_is_by_the_spec(encoded: tuple[Path, dict[str, object]]) -> None:
    out, _ = encoded
    master = m3u8.load(str(out / "cmaf" / "master.m3u8"))
    text = (out / "cmaf" / "master.m3u8").read_text()
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    assert len(master.playlists) == 2 and len(master.iframe_playlists) == 2
    audio = master.media[0]
    assert audio.type == "AUDIO" and audio.uri
    for pl in master.playlists:
        si = pl.stream_info
        assert si.codecs.startswith("avc1.64") and si.codecs.endswith("mp4a.40.2")
        assert si.frame_rate == 25.0 and si.resolution in ((180, 320), (90, 160))
        # BANDWIDTH/AVERAGE-BANDWIDTH within 10% of what the segments + audio really hold
        media = m3u8.load(str(out / "cmaf" / pl.uri))
        aud = m3u8.load(str(out / "cmaf" / audio.uri))
        vbytes = sum((out / "cmaf" / s.uri).stat().st_size for s in media.segments)
        abytes = sum((out / "cmaf" / s.uri).stat().st_size for s in aud.segments)
        vdur = sum(s.duration for s in media.segments)
        adur = sum(s.duration for s in aud.segments)
        avg = vbytes * 8 / vdur + abytes * 8 / adur
        assert abs(si.average_bandwidth - avg) / avg < 0.10
        assert si.bandwidth >= si.average_bandwidth
        assert all(abs(s.duration - 1.0) < 1e-6 for s in media.segments[:-1])


def test_keyframes_identical_in_every_rung(encoded: tuple[Path, dict[str, object]]) -> None:
    out, report = encoded
    assert report["keyframes_aligned"] is True
    times = []
    for name in ("hi", "lo"):
        with av.open(str(out / "mp4" / f"{name}.mp4")) as c:
            s = c.streams.video[0]
            times.append([Fraction(p.pts) * s.time_base for p in c.demux(s) if p.is_keyframe and p.pts is not None])
    assert times[0] == times[1] == [Fraction(k) for k in range(4)]  # closed 1 s GOPs, no scene-cut keyframes


def test_iframe_playlists_point_at_keyframes(encoded: tuple[Path, dict[str, object]]) -> None:
    out, _ = encoded
    master = m3u8.load(str(out / "cmaf" / "master.m3u8"))
    ipl = m3u8.load(str(out / "cmaf" / master.iframe_playlists[0].uri))
    assert ipl.is_i_frames_only and len(ipl.segments) == 4
    for seg in ipl.segments:
        length = int(seg.byterange.split("@")[0])
        assert 0 < length < (out / "cmaf" / seg.uri).stat().st_size


def test_packages_and_masters(encoded: tuple[Path, dict[str, object]]) -> None:
    out, report = encoded
    assert (out / "cmaf" / "manifest.mpd").read_text().count("<Representation") == 3
    # DASH and HLS share the segments; each Representation's bandwidth is its measured peak segment rate
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    reps = ET.parse(out / "cmaf" / "manifest.mpd").getroot().findall(".//d:Representation", ns)
    for rep in reps:
        media = m3u8.load(str(out / "cmaf" / f"media_{rep.get('id')}.m3u8"))
        peak = max((out / "cmaf" / seg.uri).stat().st_size * 8 / seg.duration for seg in media.segments)
        assert abs(int(rep.get("bandwidth", "0")) - peak) <= 1
        assert all(seg.uri.startswith(f"chunk-stream{rep.get('id')}-") for seg in media.segments)
    assert [r.get("sar") for r in reps if r.get("width")] == ["1:1", "1:1"]
    ts = m3u8.load(str(out / "ts" / "master.m3u8"))
    assert len(ts.playlists) == 2 and all(
        s.uri.endswith(".ts") for s in m3u8.load(str(out / "ts" / ts.playlists[0].uri)).segments
    )
    for name, (w, h) in (("hi", (180, 320)), ("lo", (90, 160))):
        info = probe(out / "mp4" / f"{name}.mp4")
        v = info.video[0]
        assert (v.width, v.height, v.sar, v.frame_count) == (w, h, 1, 100)
        assert v.color.primaries == "bt709" and info.audio[0].sample_rate == 48000
    masters = report["masters"]
    assert isinstance(masters, list) and [m["breaches"] for m in masters] == [[], []]
    # same encode settings, different limits: one encode, checked once per platform
    assert (out / "masters" / "test.mp4").stat().st_ino == (out / "masters" / "twin.mp4").stat().st_ino
    v = probe(out / "masters" / "test.mp4").video[0]
    assert (v.width, v.height, v.sar, v.frame_count) == (180, 320, 1, 100)
    saved = json.loads((out / "report.json").read_text())
    assert saved["loudness"]["target"]["integrated"] == -14.0


def test_vmaf_scores_every_rung_against_the_episode(encoded: tuple[Path, dict[str, object]]) -> None:
    out, report = encoded
    scores = json.loads((out / "report.json").read_text())["vmaf"]
    assert scores == report["vmaf"] and set(scores) == {"hi", "lo"}
    # the top rung is close to the source; the quarter-size rung (upscaled back) is clearly worse
    assert 80 < scores["hi"]["mean"] <= 100 and scores["lo"]["mean"] < scores["hi"]["mean"] - 5
    assert not list((out / "mp4").glob("*.json"))


def test_loudness_is_normalised(encoded: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    from vertcut.encode import measure_loudness

    out, report = encoded
    before = report["loudness"]["measured"]["input_i"]  # type: ignore[index]
    after = measure_loudness(FFmpeg(), out / "mp4" / "hi.mp4")
    assert before < -24 and abs(after["input_i"] - (-14.0)) < 1.0
    assert after["input_tp"] <= -1.0  # -1.5 dBTP target, allowing for AAC overshoot
    # the same normalised audio in the ladder and the master
    master = measure_loudness(FFmpeg(), out / "masters" / "test.mp4")
    assert abs(master["input_i"] - after["input_i"]) < 0.5


def test_master_breaches_are_reported(tmp_path: Path, clip: Path) -> None:
    spec = load_preset("platform", "youtube-shorts")
    breaches = check_master(clip, spec)  # 320x180 landscape, 2 s, default mp4 (moov last, edit lists)
    assert any("resolution 320x180" in b for b in breaches)
    assert "moov is after mdat (not faststart)" in breaches and "has an edit list (elst)" in breaches
    tight = tmp_path / "tight.toml"
    tight.write_text('name = "Tight"\nwidth = 320\nheight = 180\nmax_bitrate_k = 1\nmax_size_mb = 0.001\n')
    breaches = check_master(clip, load_preset("platform", str(tight)))
    assert any(b.startswith("bit rate") and b.endswith("above 1 kbit/s") for b in breaches)
    assert any(b.startswith("size") and "above 0.001 MB" in b for b in breaches)
    plat = tmp_path / "strict.toml"
    plat.write_text('name = "Strict"\nwidth = 180\nheight = 320\nmin_duration_s = 10\n')
    src = make_clip(tmp_path / "ep.mp4", frames=25, size=(180, 320))
    lad = tmp_path / "l.toml"
    lad.write_text(SMALL_LADDER)
    res = run_cli(
        "encode", str(src), "-o", str(tmp_path / "o"), "--ladder", str(lad), "--package", "hls", "--masters", str(plat)
    )
    assert res.exit_code == EXIT_CHECK and re.search(r"Strict: duration 1\.\d+ s outside 10-600 s", res.stderr)


def test_episode_without_audio_gets_silence_and_odd_size_is_fixed(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "odd.mp4", frames=30, size=(181, 321), audio=False, codec="libx264", pix_fmt="yuv444p")
    lad = tmp_path / "l.toml"
    lad.write_text(SMALL_LADDER)
    events: list[object] = []
    report = encode_episode(src, tmp_path / "o", ladder=str(lad), packages=("mp4",), sink=events.append)
    info = probe(tmp_path / "o" / "mp4" / "hi.mp4")
    assert (
        info.audio and (info.video[0].width, info.video[0].height) == (180, 320) and info.video[0].pix_fmt == "yuv420p"
    )
    assert any("silent" in w for w in report.warnings)


def test_hdr_input_is_tonemapped_with_a_warning(tmp_path: Path, clip: Path) -> None:
    hdr = tmp_path / "hdr.mp4"
    FFmpeg().run(
        ["-i", str(clip), "-t", "1", "-vf", "scale=180:320,setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc",
         "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", str(hdr)]
    )  # fmt: skip
    assert probe(hdr).video[0].color.is_hdr
    lad = tmp_path / "l.toml"
    lad.write_text(SMALL_LADDER)
    report = encode_episode(hdr, tmp_path / "o", ladder=str(lad), packages=("mp4",))
    v = probe(tmp_path / "o" / "mp4" / "hi.mp4").video[0]
    assert v.color.bit_depth == 8 and not v.color.is_hdr and v.color.transfer == "bt709"
    assert any("HDR" in w for w in report.warnings)


def test_full_disk_leaves_nothing_behind(tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg reporting ENOSPC mid-encode: a clear error and no partial package."""
    from vertcut.ffmpeg import runner

    real = runner.FFmpegProcess._raise_failure

    def full(self: runner.FFmpegProcess) -> None:
        self._tail.append("av_interleaved_write_frame(): No space left on device\n")
        real(self)

    monkeypatch.setattr(runner.FFmpegProcess, "_raise_failure", full)
    src = make_clip(tmp_path / "ep.mp4", frames=25, size=(180, 320))
    lad = tmp_path / "l.toml"
    lad.write_text(SMALL_LADDER)
    # make the ladder encode fail by pointing ffmpeg at an impossible option on its last argument
    monkeypatch.setattr(
        runner.FFmpeg, "argv", lambda self, args: [runner.ffmpeg_exe(), "-v", "error", "-i", "/nonexistent", *args[-1:]]
    )
    with pytest.raises(OutOfSpaceError, match="disk is full"):
        encode_episode(src, tmp_path / "o", ladder=str(lad), packages=("hls",))
    leftovers = [p.name for p in (tmp_path / "o").rglob("*")]
    assert leftovers == []


def test_default_ladder_dry_run(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "ep.mp4", frames=10, size=(180, 320))
    res = run_cli("--dry-run", "encode", str(src), "-o", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    cmd = next(line for line in res.stdout.splitlines() if "-f dash" in line)
    for part in (
        "scale=1080:1920",
        "scale=720:1280",
        "scale=540:960",
        "scale=360:640",
        "expr:gte(t,n_forced*2)",
        "-sc_threshold 0",
        "-hls_playlist 1",
    ):
        assert part in cmd


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs: ffmpeg and Python both hit ENOSPC on it (needs root to mount)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_full_disk_mid_encode(tmp_path: Path, tiny_disk: Path) -> None:
    src = make_clip(tmp_path / "ep.mp4", frames=75, size=(180, 320))
    lad = tmp_path / "l.toml"
    lad.write_text(SMALL_LADDER)
    out = tiny_disk / "ep"
    with pytest.raises(OutOfSpaceError) as info:
        encode_episode(src, out, ladder=str(lad))
    assert "disk is full" in str(info.value) and "partial output removed" in str(info.value)
    assert list(tiny_disk.iterdir()) == []  # nothing left behind, not even temp folders
    res = run_cli("encode", str(src), "-o", str(out), "--ladder", str(lad))
    assert res.exit_code != 0 and "disk is full" in res.stderr and "Traceback" not in res.stderr
    assert list(tiny_disk.iterdir()) == []


def test_audio_less_ladder_when_the_preset_says_so(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "mute.mp4", frames=25, size=(180, 320), audio=False)
    lad = tmp_path / "l.toml"
    lad.write_text('no_audio = "none"\n' + SMALL_LADDER)
    report = encode_episode(src, tmp_path / "o", ladder=str(lad), packages=("hls", "mp4"))
    master = m3u8.load(str(tmp_path / "o" / "cmaf" / "master.m3u8"))
    assert not master.media and all(p.stream_info.codecs.startswith("avc1.") for p in master.playlists)
    assert all("mp4a" not in p.stream_info.codecs for p in master.playlists)
    assert not probe(tmp_path / "o" / "mp4" / "hi.mp4").audio
    assert any("audio-less" in w for w in report.warnings)


def test_decoder_config_is_read_from_the_init_segment(encoded: tuple[Path, dict[str, object]]) -> None:
    from vertcut.encode import _mp4_decoder_config

    out, _ = encoded
    init = (out / "cmaf" / "init-stream0.m4s").read_bytes()
    with av.open(str(out / "mp4" / "hi.mp4")) as c:  # the same encode, muxed as one file
        extradata = bytes(c.streams.video[0].codec_context.extradata or b"")
    assert extradata[:1] == b"\x01" and _mp4_decoder_config(init) == extradata
    assert _mp4_decoder_config(init[:-3]) is None  # a truncated box is not misread
    assert _mp4_decoder_config(b"not an mp4 file") is None


def test_hevc_ladder_is_hvc1_fmp4_only(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    src = make_clip(tmp_path / "ep.mp4", frames=25, size=(180, 320))
    lad = tmp_path / "h.toml"
    lad.write_text(
        'extends = "hevc"\nsegment_seconds = 1\n[[rungs]]\nname = "hi"\nwidth = 180\nheight = 320\ncrf = 30\nmaxrate_k = 500\n'
    )
    report = encode_episode(src, tmp_path / "o", ladder=str(lad), packages=("hls", "ts"))
    assert "ts" not in report.packages and any("MPEG-TS" in w for w in report.warnings)
    master = m3u8.load(str(tmp_path / "o" / "cmaf" / "master.m3u8"))
    # hvc1.<profile>.<compat flags, reversed>.L<level>.<constraint bytes>: Main profile, main tier
    assert re.fullmatch(r"hvc1\.1\.6\.L\d+(\.[0-9A-F]{2})*,mp4a\.40\.2", master.playlists[0].stream_info.codecs)
    init = next((tmp_path / "o" / "cmaf").glob("init-stream0*"))
    assert b"hvc1" in init.read_bytes() and b"hev1" not in init.read_bytes()
    assert "Could not find codec parameters" not in capfd.readouterr().err  # init segments are not opened by libav


def test_hevc_codec_string_from_hvcc() -> None:
    from vertcut.encode import hevc_codec_string

    # Main 10, main tier, level 5.1 (153), progressive/frame-only constraint byte 0xB0
    hvcc = bytes([1, 0x02, 0x20, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 153])
    assert hevc_codec_string(hvcc) == "hvc1.2.4.L153.B0"
    assert hevc_codec_string(bytes([1, 0x21, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 120])) == "hvc1.1.6.H120.90"


def test_thread_cap_reaches_every_encoder(tmp_path: Path) -> None:
    """``FFmpeg(threads=N)`` (what a Ray task's reserved CPUs set): the rungs' and the masters' x264
    run N threads, as x264 records in the stream (left to itself it takes 1.5 per CPU)."""
    src = make_clip(tmp_path / "ep.mp4", frames=25, size=(180, 320))
    lad = tmp_path / "l.toml"
    lad.write_text(SMALL_LADDER)
    plat = tmp_path / "p.toml"
    plat.write_text('name = "P"\nwidth = 180\nheight = 320\nmin_duration_s = 0.5\n')
    events: list[ProgressEvent] = []
    ff = FFmpeg(threads=1, sink=events.append)
    encode_episode(src, tmp_path / "o", ladder=str(lad), packages=("mp4",), masters=(str(plat),), ffmpeg=ff)
    made = [*sorted((tmp_path / "o" / "mp4").glob("*.mp4")), tmp_path / "o" / "masters" / "p.mp4"]
    for path in made:
        assert x264_threads(path) == 1, path.name
    commands = [ev.text for ev in events if ev.kind == "command"]
    assert commands and all("-filter_complex_threads 1" in c for c in commands)
