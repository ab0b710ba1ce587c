"""Marker roles: which markers are cliffhangers (cuts) and which are notes kept in the manifest."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.errors import EXIT_INPUT, EXIT_PRESET, EXIT_USAGE, MarkerError, PresetError
from vertcut.markers import Marker, assign_roles, read_markers
from vertcut.presets import load_preset_file, user_dir

# Resolve's "Timeline Markers to EDL": two red cliffhangers and a blue note for the colourist between them
RESOLVE_EDL = """TITLE: Timeline 1
FCM: NON-DROP FRAME

001  001      V     C        01:00:01:00 01:00:01:01 01:00:01:00 01:00:01:01
 |C:ResolveColorRed |M:EP01 cliffhanger |D:1

002  001      V     C        01:00:01:12 01:00:01:13 01:00:01:12 01:00:01:13
warmer here |C:ResolveColorBlue |M:note for colourist |D:1

003  001      V     C        01:00:02:00 01:00:02:01 01:00:02:00 01:00:02:01
 |C:ResolveColorRed |M:EP02 cliffhanger |D:1
"""


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s clip (cuts every 25 frames), the EDL above and a split preset for 1 s episodes."""
    d = tmp_path_factory.mktemp("roles")
    make_clip(d / "m.mp4", frames=75, size=(160, 90), shot_len=25, audio=False)
    (d / "m.edl").write_text(RESOLVE_EDL)
    (d / "short.toml").write_text('extends = "default"\nmin_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    return d


def _split(series: Path, *args: str) -> tuple[str, ...]:
    return ("split", str(series / "m.mp4"), "--markers", str(series / "m.edl"), "--snap", "0f",
            "--preset", str(series / "short.toml"), *args)  # fmt: skip


def _m(name: str, colour: str = "") -> Marker:
    return Marker(Fraction(1), name, colour)


def test_one_colour_or_none_makes_every_marker_a_cliffhanger() -> None:
    for colours in (["Red", "ResolveColorRed"], ["", ""]):
        roles = assign_roles([_m("a", colours[0]), _m("b", colours[1])])
        assert [m.name for m in roles.cliffhangers] == ["a", "b"] and roles.notes == []
    assert assign_roles([_m("a", "RED")]).rule == "every marker (one colour: red)"


def test_several_colours_and_no_rule_is_refused_in_one_line(series: Path) -> None:
    markers = read_markers(series / "m.edl", rate=25)
    with pytest.raises(MarkerError) as info:
        assign_roles(markers)
    msg = str(info.value)
    assert msg.startswith(f"{series / 'm.edl'}: its 3 markers have 2 colours (red: 2, blue: 1)")
    assert "--marker-colour red" in msg and "\n" not in msg
    # a marker with no colour among coloured ones is a colour of its own ("none")
    with pytest.raises(MarkerError, match=r"2 colours \(red: 1, none: 1\)"):
        assign_roles([_m("a", "red"), _m("b")])


def test_rules_by_colour_name_or_both() -> None:
    ms = [_m("EP01", "ResolveColorRed"), _m("fix grade", "ResolveColorBlue"), _m("vfx", "red"), _m("EP02")]
    by_colour = assign_roles(ms, colour="red")
    assert [m.name for m in by_colour.cliffhangers] == ["EP01", "vfx"]
    assert [m.name for m in by_colour.notes] == ["fix grade", "EP02"] and by_colour.rule == "colour red"
    assert [m.name for m in assign_roles(ms, name=r"^ep\d+").cliffhangers] == ["EP01", "EP02"]
    both = assign_roles(ms, colour="red", name="^EP")
    assert [m.name for m in both.cliffhangers] == ["EP01"] and both.rule == "colour red and name /^EP/"
    assert [m.name for m in assign_roles(ms, colour="blue, none").cliffhangers] == ["fix grade", "EP02"]
    with pytest.raises(MarkerError, match=r"none of its 4 markers is a cliffhanger by colour green"):
        assign_roles(ms, colour="green")


def test_split_preset_rules_are_validated(tmp_path: Path) -> None:
    p = tmp_path / "split" / "roles.toml"
    p.parent.mkdir()
    p.write_text('marker_colour = "red"\nmarker_name = "^EP"\n')
    cfg = load_preset_file("split", p)
    assert (cfg.marker_colour, cfg.marker_name) == ("red", "^EP")
    p.write_text('marker_colour = "red;blue"\n')
    with pytest.raises(PresetError, match="marker_colour: 'red;blue' is not a colour name"):
        load_preset_file("split", p)
    p.write_text('marker_name = "EP("\n')
    with pytest.raises(PresetError, match="marker_name: 'EP\\(' is not a valid regular expression"):
        load_preset_file("split", p)
    p.write_text("marker_colour = ['red']\n")
    with pytest.raises(PresetError, match="marker_colour: expected a string"):
        load_preset_file("split", p)


def test_cli_split_refuses_several_colours_without_a_rule(series: Path, tmp_path: Path) -> None:
    res = run_cli(*_split(series, "-o", str(tmp_path / "out")))
    assert res.exit_code == EXIT_INPUT and res.stderr.count("\n") == 1 and "Traceback" not in res.output
    assert "2 colours (red: 2, blue: 1)" in res.stderr and "--marker-colour red" in res.stderr
    assert not (tmp_path / "out").exists()
    res = run_cli(*_split(series, "--marker-name", "EP(", "--dry-run"))
    assert res.exit_code == EXIT_USAGE and "not a valid regular expression" in res.stderr
    res = run_cli(*_split(series, "--marker-colour", "green", "--dry-run"))
    assert res.exit_code == EXIT_INPUT and "colours found: red: 2, blue: 1" in res.stderr


def test_cli_split_by_colour_keeps_the_note_in_the_manifest(series: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_cli(*_split(series, "--marker-colour", "red", "-o", str(out)))
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(e["frames"]["first"], e["frames"]["last"]) for e in manifest["episodes"]] == [(0, 24), (25, 49), (50, 74)]
    assert [e["marker"] and e["marker"]["name"] for e in manifest["episodes"]] == [
        "EP01 cliffhanger", "EP02 cliffhanger", None,
    ]  # fmt: skip
    markers = manifest["markers"]
    assert markers["count"] == 2 and markers["cliffhangers"] == "colour red"
    assert markers["filter"] == {"names": None, "colours": ["red"]}
    (note,) = markers["notes"]
    # 01:00:01:12 on the timeline: frame 37 of the master, 37/25 s, frame 12 of episode 2
    assert note == {
        "name": "note for colourist", "colour": "ResolveColorBlue", "colour_name": "blue", "kind": "marker",
        "note": "warmer here", "line": 7, "source": "resolve_edl", "seconds": "37/25", "s": 1.48, "frame": 37,
        "timecode": "00:00:01:12", "episode": 2, "episode_frame": 12,
    }  # fmt: skip
    assert manifest["settings"]["marker_colour"] == "red"


def test_cli_split_by_name(series: Path) -> None:
    res = run_cli(*_split(series, "--marker-name", "cliffhanger$", "--dry-run"))
    assert res.exit_code == 0, res.output
    rows = [line.split() for line in res.stdout.splitlines()[1:] if not line.startswith("note:")]
    assert [(r[1], r[2]) for r in rows] == [("0", "24"), ("25", "49"), ("50", "74")]
    assert "note: 'note for colourist' (blue, line 7) at frame 37 (00:00:01:12), not a cut" in res.stdout
    # a preset's rule does the same
    preset = series / "by-name.toml"
    preset.write_text(f'extends = "{series / "short.toml"}"\nmarker_name = "cliffhanger"\n')
    res = run_cli("split", str(series / "m.mp4"), "--markers", str(series / "m.edl"), "--snap", "0f",
                  "--preset", str(preset), "--dry-run")  # fmt: skip
    assert res.exit_code == 0 and res.stdout.count("cliffhanger") == 2, res.output


def test_a_preset_with_a_bad_rule_exits_with_the_preset_code(series: Path) -> None:
    preset = series / "bad-rule.toml"
    preset.write_text('marker_colour = "red blue"\n')
    res = run_cli("split", str(series / "m.mp4"), "--markers", str(series / "m.edl"), "--preset", str(preset),
                  "--dry-run")  # fmt: skip
    assert res.exit_code == EXIT_PRESET and "marker_colour" in res.stderr


def test_cli_run_refuses_several_colours_without_a_rule_before_any_output(series: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_cli("run", str(series / "m.mp4"), "--markers", str(series / "m.edl"), "-o", str(out), "--dry-run")
    assert res.exit_code == EXIT_INPUT and "Traceback" not in res.output, res.output
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("vertcut: error:")]
    assert "2 colours (red: 2, blue: 1)" in line and "--marker-colour red" in line and not out.exists()


def test_cli_run_takes_the_rule(series: Path, tmp_path: Path) -> None:
    (user_dir() / "split").mkdir(parents=True)
    (user_dir() / "split" / "default.toml").write_text((series / "short.toml").read_text().split("\n", 1)[1])
    res = run_cli("run", str(series / "m.mp4"), "--markers", str(series / "m.edl"), "-o", str(tmp_path / "out"),
                  "--marker-colour", "red", "--dry-run")  # fmt: skip
    assert res.exit_code == 0, res.output
