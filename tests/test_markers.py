"""Marker readers, each on a hand-written file in the format the NLE writes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from conftest import run_cli

from vertcut.errors import EXIT_INPUT, MarkerError
from vertcut.ffmpeg import FFmpeg
from vertcut.markers import read_markers
from vertcut.timebase import NTSC_29_97

DATA = Path(__file__).parent / "data" / "markers"
R25 = Fraction(25)


def frames(path: Path, rate: Fraction = R25, **kw: object) -> list[int]:
    return [int(m.seconds * rate) for m in read_markers(path, rate=rate, **kw)]  # type: ignore[arg-type]


def test_resolve_marker_edl() -> None:
    ms = read_markers(DATA / "resolve_25.edl", rate=R25)
    assert [int(m.seconds * 25) for m in ms] == [40, 80, 100]
    assert [m.name for m in ms] == ["EP01 cliffhanger", "grade note", "EP02 cliffhanger paid"]
    assert [m.colour for m in ms] == ["ResolveColorRed", "ResolveColorBlue", "ResolveColorRed"]
    assert [m.line for m in ms] == [4, 7, 10] and ms[1].note == "fix colour here"
    assert ms[2].tier == "paid" and ms[0].tier is None
    red = read_markers(DATA / "resolve_25.edl", rate=R25, colours=("red",))
    assert [m.name for m in red] == ["EP01 cliffhanger", "EP02 cliffhanger paid"]
    assert frames(DATA / "resolve_25.edl", names=r"cliff") == [40, 100]
    # an explicit timeline start wins over the 01:00:00:00 guess
    assert frames(DATA / "resolve_25.edl", timeline_start="01:00:01:00") == [15, 55, 75]


def test_avid_locators_and_marker_export() -> None:
    assert frames(DATA / "avid_loc.edl") == [40, 100]
    assert [m.colour for m in read_markers(DATA / "avid_loc.edl", rate=R25)] == ["RED", "RED"]
    assert frames(DATA / "avid_markers.txt") == [40, 100]


def test_fcpxml_rational_times_and_clip_offsets() -> None:
    ms = read_markers(DATA / "fcpx_2997.fcpxml", rate=NTSC_29_97)
    assert [m.seconds * NTSC_29_97 for m in ms] == [45, 60, 180]  # exact, no rounding
    assert [m.kind for m in ms] == ["marker", "todo", "chapter"]
    assert ms[0].rate == NTSC_29_97 and ms[1].colour == "red" and [m.line for m in ms] == [14, 15, 18]
    assert [m.frame for m in ms] == [45, 60, 180]


def test_premiere_tsv_utf16_and_fcp7_xml() -> None:
    assert frames(DATA / "premiere_markers.csv") == [40, 100]
    assert read_markers(DATA / "premiere_markers.csv", rate=R25)[1].tier == "paid"
    ms = read_markers(DATA / "fcp7_25.xml", rate=R25)
    assert [int(m.seconds * 25) for m in ms] == [40, 100] and ms[0].colour == "4281740498"
    assert ms[1].tier == "paid" and ms[0].line == 7


def test_otio_clip_markers_in_timeline_time() -> None:
    ms = read_markers(DATA / "timeline.otio")  # no rate needed: OTIO states its own
    assert [(m.frame, m.line, m.colour, m.rate) for m in ms] == [(85, 17, "RED", R25)]


def test_otio_gaps_transitions_nested_stacks() -> None:
    ms = read_markers(DATA / "timeline_nested.otio")
    # gap 50 + (130 - clip start 100); nested stack at 150 trimmed from 10, clip B from 500: 150 + (520 - 500) - 10
    assert [(m.frame, m.name) for m in ms] == [
        (80, "EP01 cliffhanger"),
        (160, "EP02 cliffhanger"),
        (260, "EP03 on track"),
        (300, "stack marker"),
    ]
    assert [m.line for m in ms] == [97, 179, 40, 14]
    assert [m.name for m in read_markers(DATA / "timeline_nested.otio", colours="red", names=["EP0[12]"])] == [
        "EP01 cliffhanger",
        "EP02 cliffhanger",
    ]


def test_csv_and_json_cut_lists() -> None:
    assert frames(DATA / "cuts.csv") == [40, 100]
    ms = read_markers(DATA / "cuts.json", rate=R25)
    assert [int(m.seconds * 25) for m in ms] == [40, 100] and ms[1].tier == "paid"


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_container_chapters(tmp_path: Path, clip: Path, ext: str) -> None:
    meta = tmp_path / "m.txt"
    meta.write_text(
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/25\nSTART=0\nEND=20\ntitle=EP1\n[CHAPTER]\nTIMEBASE=1/25\nSTART=20\nEND=50\ntitle=EP2\n"
    )
    out = tmp_path / f"chap.{ext}"
    FFmpeg().run(["-i", str(clip), "-i", str(meta), "-map", "0", "-map_chapters", "1", "-c", "copy", str(out)])
    assert frames(out) == [20]
    (m,) = read_markers(out, rate=R25)
    assert (m.name, m.kind, m.source) == ("EP2", "chapter", "chapters")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("hello there\njust words\n", "unknown marker format"),
        ("frame,name\nabc,EP1\n", "bad time"),
        (
            "TITLE: x\nFCM: NON-DROP FRAME\n001  001  V  C  01:00:99:00 01:00:01:01 01:00:99:00 01:00:01:01\n",
            "out of range",
        ),
    ],
)
def test_bad_marker_files(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "m.txt"
    p.write_text(content)
    with pytest.raises(MarkerError, match=message) as info:
        read_markers(p, rate=R25)
    assert str(p) in str(info.value)


def test_marker_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("frame,name\n40,EP1\nxx,EP2\n")
    with pytest.raises(MarkerError) as info:
        read_markers(p, rate=R25)
    assert info.value.line == 3 and f"{p}:3:" in str(info.value)


def test_cli_unknown_format(tmp_path: Path, clip: Path) -> None:
    p = tmp_path / "m.bin"
    p.write_bytes(b"\x00\x01\x02binary")
    res = run_cli("split", str(clip), "--markers", str(p), "--dry-run")
    assert res.exit_code == EXIT_INPUT and res.stderr.count("\n") == 1


def test_colour_filter_keeps_original_string() -> None:
    ms = read_markers(DATA / "fcp7_25.xml", rate=R25, colours="red")  # Premiere's 0xAABBGGRR integer
    assert [m.colour for m in ms] == ["4281740498", "4281740498"] and ms[0].colour_name == "red"
    assert [m.name for m in read_markers(DATA / "resolve_25.edl", rate=R25, colours=["Blue"])] == ["grade note"]
    with pytest.raises(MarkerError, match="none of its 3 markers matches"):
        read_markers(DATA / "resolve_25.edl", rate=R25, colours="green")


def test_detection_by_content_not_extension(tmp_path: Path) -> None:
    for src, name in [("resolve_25.edl", "a.txt"), ("fcpx_2997.fcpxml", "b.xml"), ("timeline.otio", "c.json")]:
        p = tmp_path / name
        p.write_bytes((DATA / src).read_bytes())
        rate = NTSC_29_97 if "fcpx" in src else R25
        assert read_markers(p, rate=rate)[0].source == read_markers(DATA / src, rate=rate)[0].source


@pytest.mark.parametrize(
    ("name", "content", "message", "line"),
    [
        ("r.edl", "TITLE: x\n001  001  V  C  01:00:01:27 01:00:01:28 01:00:01:27 01:00:01:28\n |M:EP1 |D:1\n",
         r"marker 'EP1': timecode 01:00:01:27 has frame 27, impossible at the master's 25 fps", 2),
        ("r.edl", "TITLE: x\n001  001  V  C  01:00:01;15 01:00:01;16 01:00:01;15 01:00:01;16\n |M:EP1 |D:1\n",
         "drop-frame timecode .* the marker file is at another frame rate", 2),
        ("c.csv", "frame,name\n40,EP1\n-3,EP2\n", "marker 'EP2': bad time: negative frame", 3),
        ("c.json", '{"markers": [\n {"frame": 40, "name": "EP1"},\n {"name": "EP2"}\n]}', "marker 'EP2': no frame", 3),
        ("f.fcpxml", (DATA / "fcpx_2997.fcpxml").read_text().replace('start="45045/30000s"', 'start="1/7s"'),
         "marker 'EP01 cliffhanger' .* is not on a frame boundary at 29.970 fps", 14),
    ],
)  # fmt: skip
def test_bad_entries_name_marker_and_line(tmp_path: Path, name: str, content: str, message: str, line: int) -> None:
    p = tmp_path / name
    p.write_text(content)
    rate = NTSC_29_97 if name.endswith("fcpxml") else R25
    with pytest.raises(MarkerError, match=message) as info:
        read_markers(p, rate=rate)
    assert info.value.line == line and f"{p}:{line}:" in str(info.value)


def test_timecode_formats_need_the_rate() -> None:
    with pytest.raises(MarkerError, match="needs the master's frame rate"):
        read_markers(DATA / "resolve_25.edl")
