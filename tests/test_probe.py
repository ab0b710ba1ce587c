"""Probing with PyAV: exact rates, VFR from the pts table, rotation, colour, chapters."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.ffmpeg import FFmpeg
from vertcut.media import frame_table, probe
from vertcut.timebase import NTSC_29_97


def test_probe_constant_rate_clip(clip: Path) -> None:
    info = probe(clip)
    v = info.require_video()
    assert (v.width, v.height, v.codec, v.pix_fmt) == (320, 180, "h264", "yuv420p")
    assert v.frame_rate == 25 and not v.is_vfr and v.frame_count == 50
    assert v.duration == 2 and v.rotation == 0 and v.sar == 1 and v.has_b_frames
    assert v.color.bit_depth == 8 and not v.color.is_hdr
    a = info.audio[0]
    assert (a.codec, a.sample_rate, a.channels, a.layout) == ("aac", 48000, 2, "stereo")


def test_probe_ntsc_rate_is_exact(tmp_path: Path) -> None:
    p = make_clip(tmp_path / "ntsc.mp4", frames=30, rate=NTSC_29_97, audio=False)
    assert probe(p).video[0].frame_rate == Fraction(30000, 1001)


def test_vfr_comes_from_the_pts_table(tmp_path: Path) -> None:
    # header rate 25, but timestamps alternate 40 ms and 20 ms
    pts = [0]
    for i in range(1, 40):
        pts.append(pts[-1] + (40 if i % 2 else 20))
    p = make_clip(tmp_path / "vfr.mkv", frames=40, pts=pts, time_base=Fraction(1, 1000), audio=False)
    v = probe(p).video[0]
    assert v.is_vfr and v.frame_count == 40
    table = frame_table(p)
    assert list(table.pts) == pts and table.time_base == Fraction(1, 1000)
    assert table.frame_at(Fraction(61, 1000)) == 2 and table.nearest_frame(Fraction(59, 1000)) == 2


def test_start_time_offset(tmp_path: Path) -> None:
    p = make_clip(tmp_path / "late.mkv", frames=20, start_pts=50, audio=False)
    v = probe(p).video[0]
    assert v.start_pts * v.time_base == 2  # 50 frames at 25 fps
    assert frame_table(p).seconds(0) == 2


def test_colour_chapters_and_subtitles(tmp_path: Path, clip: Path) -> None:
    meta = tmp_path / "chapters.txt"
    meta.write_text(
        ";FFMETADATA1\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=Ep 1\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Ep 2\n"
    )
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\n你好\n", encoding="utf-8")
    out = tmp_path / "rich.mkv"
    FFmpeg().run(
        [
            "-i",
            str(clip),
            "-i",
            str(meta),
            "-i",
            str(srt),
            "-map",
            "0",
            "-map",
            "2",
            "-map_chapters",
            "1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-x264-params",
            "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
            "-pix_fmt",
            "yuv420p10le",
            "-color_primaries",
            "bt2020",
            "-color_trc",
            "smpte2084",
            "-colorspace",
            "bt2020nc",
            "-c:a",
            "copy",
            "-c:s",
            "srt",
            "-metadata:s:s:0",
            "language=chi",
            str(out),
        ]
    )
    info = probe(out)
    v = info.video[0]
    assert v.color.is_hdr and v.color.bit_depth == 10 and v.color.primaries == "bt2020"
    assert [c.title for c in info.chapters] == ["Ep 1", "Ep 2"] and info.chapters[1].start == 1
    assert info.subtitles[0].codec in ("subrip", "srt") and info.subtitles[0].language == "chi"


def test_rotation_from_the_display_matrix(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "rot.mp4"
    FFmpeg().run(["-display_rotation", "90", "-i", str(clip), "-c", "copy", str(out)])
    v = probe(out).video[0]
    assert (v.width, v.height) == (320, 180)
    assert v.rotation == 90 and v.is_portrait and v.display_size == (180, 320)


def test_anamorphic_sar(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "ana.mp4"
    FFmpeg().run(["-i", str(clip), "-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", "-an", str(out)])
    v = probe(out).video[0]
    assert v.sar == Fraction(4, 3) and v.display_size == (427, 180)


def test_probe_cli_json(clip: Path) -> None:
    res = run_cli("probe", "--json", str(clip))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["video"][0]["frame_rate"] == "25/1" and data["video"][0]["frame_count"] == 50
    assert data["duration"] is not None


def test_probe_cli_human_and_frames(clip: Path) -> None:
    res = run_cli("probe", str(clip))
    assert res.exit_code == 0 and "25 fps" in res.stdout and "50 frames" in res.stdout
    res = run_cli("probe", "--frames", str(clip))
    assert res.exit_code == 0
    rows = [line for line in res.stdout.splitlines() if line and not line.startswith("#")]
    assert len(rows) == 50 and rows[1].split()[:2] == ["1", "512"]


@pytest.mark.parametrize("rate", [Fraction(25), NTSC_29_97])
def test_frame_table_matches_decoded_frames(tmp_path: Path, rate: Fraction) -> None:
    import av

    p = make_clip(tmp_path / "t.mp4", frames=40, rate=rate, audio=False)
    with av.open(str(p)) as c:
        decoded = [f.pts for f in c.decode(video=0)]
    assert list(frame_table(p).pts) == decoded
