"""The exact time model: parsing, SMPTE, ffmpeg formatting, round trips."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediagen import make_clip, read_index

from vertcut.ffmpeg import FFmpeg
from vertcut.timebase import (
    NTSC_23_976,
    NTSC_29_97,
    NTSC_59_94,
    FrameRange,
    MediaTime,
    format_timecode,
    frame_to_seconds,
    parse_rate,
    parse_time,
    parse_time_to_frame,
    parse_timecode,
    seconds_to_frame,
    to_ffmpeg_seconds,
)

RATES = [NTSC_23_976, Fraction(24), Fraction(25), NTSC_29_97, Fraction(30), Fraction(50), NTSC_59_94, Fraction(60)]
DAY = 24 * 3600


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("23.976", NTSC_23_976),
        ("29.97", NTSC_29_97),
        ("30000/1001", NTSC_29_97),
        ("59.94", NTSC_59_94),
        ("25", Fraction(25)),
    ],
)
def test_parse_rate_is_exact(text: str, rate: Fraction) -> None:
    assert parse_rate(text) == rate
    assert parse_rate(float(rate)) == rate


def test_parse_rate_rejects_nonsense() -> None:
    for bad in ("0", "-25", "abc", "1/0"):
        with pytest.raises(ValueError):
            parse_rate(bad)


@pytest.mark.parametrize(
    ("text", "rate", "seconds"),
    [
        ("12.5s", None, Fraction(25, 2)),
        ("250ms", None, Fraction(1, 4)),
        ("00:01:02.500", None, Fraction(125, 2)),
        ("01:02.5", None, Fraction(125, 2)),
        ("360f", Fraction(25), Fraction(72, 5)),
        ("00:01:02:12", Fraction(25), Fraction(62) + Fraction(12, 25)),
        # drop frame: 00:01:00;02 is frame 1800 at 29.97
        ("00:01:00;02", NTSC_29_97, Fraction(1800) / NTSC_29_97),
    ],
)
def test_parse_time(text: str, rate: Fraction | None, seconds: Fraction) -> None:
    assert parse_time(text, rate) == seconds


@pytest.mark.parametrize("bad", ["12.5", "abc", "00:61:00.0", "360f", "00:00:01:00"])
def test_parse_time_errors_name_the_text(bad: str) -> None:
    with pytest.raises(ValueError, match="'"):
        parse_time(bad)


def test_drop_frame_skips_labels() -> None:
    assert format_timecode(1799, NTSC_29_97) == "00:00:59;29"
    assert format_timecode(1800, NTSC_29_97) == "00:01:00;02"
    assert format_timecode(17982, NTSC_29_97) == "00:10:00;00"
    with pytest.raises(ValueError, match="does not exist"):
        parse_timecode("00:01:00;00", NTSC_29_97)
    assert parse_timecode("00:10:00;00", NTSC_29_97) == 17982
    assert format_timecode(1800, NTSC_29_97, drop_frame=False) == "00:01:00:00"


def test_to_ffmpeg_seconds_floors_to_microseconds() -> None:
    assert to_ffmpeg_seconds(Fraction(1001, 30000)) == "0.033366"  # 0.0333666...
    assert to_ffmpeg_seconds(Fraction(2, 3)) == "0.666666"
    assert to_ffmpeg_seconds(Fraction(0)) == "0.000000"
    assert to_ffmpeg_seconds(MediaTime(3003, Fraction(1, 90000))) == "0.033366"
    assert to_ffmpeg_seconds(Fraction(-1, 3)) == "-0.333334"
    assert to_ffmpeg_seconds(Fraction(3600 * 30)) == "108000.000000"


def test_media_time_equality_across_time_bases() -> None:
    a = MediaTime(1, Fraction(1, 25))
    b = MediaTime(40, Fraction(1, 1000))
    assert a == b and hash(a) == hash(b)
    assert a + b == MediaTime(80, Fraction(1, 1000))
    assert MediaTime(3, NTSC_29_97**-1).rescale(Fraction(1, 90000)).pts == 9009
    with pytest.raises(ValueError):
        MediaTime(1, Fraction(1, 3)).rescale(Fraction(1, 2))


def test_frame_range_is_half_open() -> None:
    r = FrameRange(10, 20)
    assert len(r) == 10 and r.end_inclusive == 19 and 19 in r and 20 not in r
    with pytest.raises(ValueError):
        FrameRange(5, 4)


@settings(max_examples=400, deadline=None)
@given(rate=st.sampled_from(RATES), data=st.data())
def test_frame_time_frame_round_trip_over_a_day(rate: Fraction, data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=int(DAY * rate)))
    t = frame_to_seconds(n, rate)
    assert seconds_to_frame(t, rate) == n
    assert seconds_to_frame(t, rate, "nearest") == n
    # through the text ffmpeg gets: -ss X selects the first frame with pts >= X
    back = parse_time(to_ffmpeg_seconds(t) + "s")
    assert back <= t and t - back < Fraction(1, 1_000_000)
    assert seconds_to_frame(back, rate, "ceil") == n
    # through a 90 kHz MPEG time base and SMPTE timecode
    if (t * 90000).denominator == 1:
        assert MediaTime.from_seconds(t, Fraction(1, 90000)).to_frame(rate, "nearest") == n
    assert parse_timecode(format_timecode(n, rate), rate) == n
    assert parse_time_to_frame(f"{n}f", rate) == n


@pytest.fixture(scope="module")
def ntsc_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("ntsc") / "ntsc.mp4", frames=60, rate=NTSC_29_97, audio=False)


@pytest.mark.parametrize("frame", [1, 16, 29, 30, 47, 59])
def test_ffmpeg_seek_lands_on_the_exact_frame(ntsc_clip: Path, tmp_path: Path, frame: int) -> None:
    """The formatted time, given to real ffmpeg as -ss, starts at exactly that frame."""
    out = tmp_path / "f.gray"
    ss = to_ffmpeg_seconds(frame_to_seconds(frame, NTSC_29_97))
    FFmpeg().run(["-ss", ss, "-i", str(ntsc_clip), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", str(out)])
    img = np.frombuffer(out.read_bytes(), dtype=np.uint8).reshape(180, 320)
    assert read_index(img) == frame
