"""Exit codes a pipeline can trust: every command of the CLI, on a good input and on bad ones.

The commands are listed from the click group itself, so a new command without a case here fails
``test_every_command_has_a_case``. Each case runs through :func:`vertcut.cli.main`, the console
script (click's own runner exits where ``main`` returns, and once hid ``0`` behind a failed batch),
and its code is checked against the README's exit-code table. Each case is cheap: clips of a second
or two, dry runs for the whole job (``run``, ``batch``, ``demo``), a one-rung ladder for ``encode``.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from conftest import REPO, SAMPLE
from mediagen import make_clip

from vertcut import errors
from vertcut.cli import cli, main
from vertcut.presets import user_dir


def leaf_commands() -> list[str]:
    """Every runnable command, groups walked (``presets validate``, ``subs lint``...)."""
    ctx = click.Context(cli)
    out: list[str] = []

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            if isinstance(cmd, click.Group):
                walk(cmd, f"{prefix}{name} ")
            else:
                out.append(prefix + name)

    walk(cli, "")
    return out


def documented_codes() -> dict[int, str]:
    """The README's exit-code table: code -> meaning."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes and errors", 1)[1].split("\n## ", 1)[0]
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^\| (\d+) \| ([^|]+)\|", section, re.MULTILINE)}


@dataclass(frozen=True)
class Files:
    d: Path

    def __getattr__(self, name: str) -> str:  # f.wide -> str(d / files[name])
        return str(self.d / _FILES[name])


_FILES = {
    "wide": "wide.mp4", "tall": "tall.mp4", "junk": "junk.mp4", "excerpt": "excerpt.mp4",
    "truth": "excerpt.json", "truth_missed": "missed.json", "not_json": "not.json",
    "cuts": "cuts.csv", "colours": "colours.edl", "srt": "ok.en.srt", "srt_lint": "short.en.srt",
    "ladder": "tiny-ladder.toml", "split_preset": "split/short.toml", "not_toml": "split/broken.toml",
    "unknown_key": "split/unknown.toml", "batch": "series.toml", "batch_failing": "failing.toml",
    "batch_invalid": "invalid.toml", "demo_series": "demo/series.toml", "a_file": "a-file", "silent": "silent.mp4",
    "marked": "marked.mp4",
}  # fmt: skip

KEY_HEX = "3f9a0c1d" * 4  # the watermark tests' key

SHORT = 'min_duration = "0.5s"\nwarn_duration = "0.5s"\n'


@pytest.fixture(scope="module")
def f(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("exit-codes")
    make_clip(d / "wide.mp4", frames=50, size=(320, 180), shot_len=25)
    make_clip(d / "tall.mp4", frames=50, size=(180, 320), shot_len=0)
    make_clip(d / "silent.mp4", frames=50, size=(180, 320), shot_len=0, audio=False)
    from test_watermark import ID, KEY, encode

    from vertcut.watermark import Embedder, payload_for

    encode(d / "marked.mp4", Embedder(KEY, payload_for(ID)))  # 12 s of a marked 360x640 drama
    (d / "junk.mp4").write_bytes(b"\0" * 1000)
    (d / "a-file").write_text("not a folder\n")
    # reframe-eval: the sample's first shot (8 s, a static dialogue with its subject off centre) and its truth
    from vertcut.ffmpeg.runner import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(SAMPLE / "master.mp4"), "-frames:v", "200", "-an",
                    "-c", "copy", str(d / "excerpt.mp4")], check=True)  # fmt: skip
    truth = json.loads((SAMPLE / "ground_truth.json").read_text())
    (d / "excerpt.json").write_text(json.dumps({"shots": truth["shots"][:1], "faces": truth["faces"][:200]}))
    face = {"id": "a", "x": 0, "y": 60, "w": 40, "h": 40}  # at the left edge: a centred 9:16 crop misses it
    (d / "missed.json").write_text(json.dumps({"shots": [{"start": 0, "end": 50, "kind": "dialogue",
                                   "subject": "a"}], "faces": [[face]] * 50}))  # fmt: skip
    (d / "not.json").write_text("{not json")
    (d / "cuts.csv").write_text("frame,name\n25,EP01\n")
    (d / "colours.edl").write_text(
        "TITLE: Timeline 1\nFCM: NON-DROP FRAME\n\n"
        "001  001      V     C        01:00:01:00 01:00:01:01 01:00:01:00 01:00:01:01\n"
        " |C:ResolveColorRed |M:EP01 cliffhanger |D:1\n\n"
        "002  001      V     C        01:00:01:10 01:00:01:11 01:00:01:10 01:00:01:11\n"
        "warmer |C:ResolveColorBlue |M:note for colourist |D:1\n"
    )
    (d / "ok.en.srt").write_text("1\n00:00:00,100 --> 00:00:01,900\nHello there.\n")
    (d / "short.en.srt").write_text("1\n00:00:00,100 --> 00:00:00,900\nHello there.\n")  # too short, too fast
    (d / "tiny-ladder.toml").write_text(
        'extends = "h264-default"\nrungs = [{name = "tiny", width = 180, height = 320, crf = 30, maxrate_k = 300}]\n'
    )
    (d / "split").mkdir()
    (d / "split" / "short.toml").write_text(SHORT)
    (d / "split" / "broken.toml").write_text("snap = [\n")
    (d / "split" / "unknown.toml").write_text('snap = "2f"\nsnapp = "2f"\n')
    job = f'packages = ["mp4"]\nladder = "{d / "tiny-ladder.toml"}"\n'
    (d / "series.toml").write_text(
        f'[defaults]\n{job}\n[[job]]\nmaster = "wide.mp4"\nmarkers = "cuts.csv"\nout = "out/series"\n'
    )
    (d / "failing.toml").write_text(f'[defaults]\n{job}\n[[job]]\nmaster = "junk.mp4"\nout = "out/failing"\n')
    (d / "invalid.toml").write_text('[[job]]\nmaster = "wide.mp4"\nout = "o"\nmasterz = 1\n')
    (d / "demo").mkdir()
    (d / "demo" / "series.toml").write_text(
        f'[defaults]\n{job}\n[[job]]\nmaster = "../wide.mp4"\nmarkers = "../cuts.csv"\nout = "out"\n'
    )
    return Files(d)


@pytest.fixture(autouse=True)
def _short_episodes(monkeypatch: pytest.MonkeyPatch, f: Files) -> None:
    """Episodes of a second are fine here (the user's default split preset), and `vertcut demo` runs a
    stand-in series of the sample (the real one takes minutes)."""
    (user_dir() / "split").mkdir(parents=True)
    (user_dir() / "split" / "default.toml").write_text(SHORT)
    from vertcut.cli.commands import demo

    monkeypatch.setattr(demo, "sample_job_file", lambda: Path(f.demo_series))


Args = Callable[[Files, Path], list[str]]

# command -> (a good input, its code 0; bad inputs with their documented codes)
CASES: dict[str, tuple[Args, list[tuple[Args, int]]]] = {
    "batch": (
        lambda f, t: ["--dry-run", "batch", f.batch],
        [
            (lambda f, t: ["batch", f.batch_failing], errors.EXIT_BATCH),  # its only job fails
            (lambda f, t: ["batch", f.batch_invalid], errors.EXIT_PRESET),
        ],
    ),
    "demo": (
        lambda f, t: ["--dry-run", "demo", str(t / "demo")],
        [(lambda f, t: ["demo", f.a_file], errors.EXIT_INPUT)],  # the folder is a file
    ),
    "check": (
        lambda f, t: ["check", f.silent],  # no sound is a warning; nothing flashes, no cuts
        [
            (lambda f, t: ["check", f.junk], errors.EXIT_INPUT),
            (lambda f, t: ["check", f.silent, "--profile", "no-such-profile"], errors.EXIT_PRESET),
            (lambda f, t: ["check", f.silent, "--fail-on", "warning"], errors.EXIT_CHECK),
        ],
    ),
    "watermark detect": (
        lambda f, t: ["watermark", "detect", f.marked, "--key", KEY_HEX],
        [
            (lambda f, t: ["watermark", "detect", f.silent, "--key", KEY_HEX], errors.EXIT_CHECK),  # no mark
            (lambda f, t: ["watermark", "detect", f.marked, "--key", "not-hex"], errors.EXIT_INPUT),
            (lambda f, t: ["watermark", "detect", f.junk, "--key", KEY_HEX], errors.EXIT_INPUT),
        ],
    ),
    "watermark keygen": (
        lambda f, t: ["watermark", "keygen"],
        [(lambda f, t: ["watermark", "keygen", "--bits", "100"], errors.EXIT_USAGE)],
    ),
    "doctor": (lambda f, t: ["doctor"], [(lambda f, t: ["doctor"], errors.EXIT_CHECK)]),  # bad: a broken preset
    "encode": (
        lambda f, t: ["encode", f.tall, "-o", str(t / "enc"), "--package", "mp4", "--ladder", f.ladder],
        [
            (lambda f, t: ["encode", f.junk, "-o", str(t / "enc")], errors.EXIT_INPUT),
            (lambda f, t: ["encode", f.tall, "-o", str(t / "enc"), "--ladder", f.unknown_key], errors.EXIT_PRESET),
        ],
    ),
    "presets list": (lambda f, t: ["presets", "list"], [(lambda f, t: ["presets", "list", "--kind"], 2)]),
    "presets show": (
        lambda f, t: ["presets", "show", "subtitle/elder-large"],
        [(lambda f, t: ["presets", "show", "no-such-preset"], errors.EXIT_PRESET)],
    ),
    "presets validate": (
        lambda f, t: ["presets", "validate", f.split_preset],
        [
            (lambda f, t: ["presets", "validate", f.not_toml], errors.EXIT_PRESET),
            (lambda f, t: ["presets", "validate", f.unknown_key], errors.EXIT_PRESET),
        ],
    ),
    "probe": (lambda f, t: ["probe", f.wide], [(lambda f, t: ["probe", f.junk], errors.EXIT_INPUT)]),
    "reframe": (
        lambda f, t: ["reframe", f.wide, "-o", str(t / "v.mp4"), "--size", "180x320"],
        [(lambda f, t: ["reframe", str(t / "missing.mp4"), "-o", str(t / "v.mp4")], errors.EXIT_INPUT)],
    ),
    "reframe-eval": (
        lambda f, t: ["reframe-eval", f.excerpt, "--truth", f.truth],
        [
            (lambda f, t: ["reframe-eval", f.wide, "--truth", f.not_json], errors.EXIT_INPUT),
            (lambda f, t: ["reframe-eval", f.wide, "--truth", f.truth_missed], errors.EXIT_CHECK),
        ],
    ),
    "run": (
        lambda f, t: ["run", f.wide, "--markers", f.cuts, "-o", str(t / "out"), "--dry-run"],
        [
            (lambda f, t: ["run", f.wide, "--markers", f.colours, "-o", str(t / "out")], errors.EXIT_INPUT),
            (lambda f, t: ["run", f.wide, "-o", f.a_file], errors.EXIT_INPUT),
        ],
    ),
    "split": (
        lambda f, t: ["split", f.wide, "--markers", f.cuts, "--preset", f.split_preset, "--dry-run"],
        [
            # markers of two colours and no rule saying which are the cliffhangers
            (lambda f, t: ["split", f.wide, "--markers", f.colours, "-o", str(t / "eps")], errors.EXIT_INPUT),
            (lambda f, t: ["split", f.wide, "--markers", f.cuts, "--preset", f.not_toml], errors.EXIT_PRESET),
        ],
    ),
    "subs burn": (
        lambda f, t: ["subs", "burn", f.tall, f.srt, "-o", str(t / "b.mp4")],
        [(lambda f, t: ["subs", "burn", f.tall, str(t / "missing.srt"), "-o", str(t / "b.mp4")], errors.EXIT_INPUT)],
    ),
    "subs lint": (
        lambda f, t: ["subs", "lint", f.srt],
        [(lambda f, t: ["subs", "lint", f.srt_lint], errors.EXIT_CHECK)],
    ),
}


def vertcut(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the console script in-process: its exit code, stdout and stderr."""
    capsys.readouterr()
    code = main(["-q", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_has_a_case() -> None:
    commands = leaf_commands()
    assert {"batch", "run", "split", "presets validate", "subs lint"} <= set(commands), commands
    missing = sorted(set(commands) - set(CASES))
    assert not missing, f"no exit-code case for: {', '.join(missing)} (add a good and a bad input to CASES)"
    assert not sorted(set(CASES) - set(commands)), "a case for a command that is gone"


def test_the_readme_documents_every_code() -> None:
    table = documented_codes()
    constants = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert set(table) == {0, *constants}, table
    assert "usage" in table[2] and "bad input" in table[3] and "preset" in table[4] and "batch" in table[7]
    for _good, bad in CASES.values():
        assert all(code in table for _args, code in bad)


@pytest.mark.parametrize("command", leaf_commands())
def test_good_input_exits_0(command: str, f: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, _bad = CASES[command]
    code, out, err = vertcut(capsys, *good(f, tmp_path))
    assert code == 0, (command, out, err)
    assert "vertcut: error" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("command", leaf_commands())
def test_bad_input_exits_with_its_documented_code(
    command: str, f: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _good, bad = CASES[command]
    if command == "doctor":  # its bad input is the machine: a broken preset of the user's
        (user_dir() / "ladder").mkdir(parents=True)
        (user_dir() / "ladder" / "mine.toml").write_text("unknown_key = 1\n")
    for args, want in bad:
        code, out, err = vertcut(capsys, *args(f, tmp_path))
        assert code == want, (args(f, tmp_path), code, documented_codes().get(code), out, err)
        assert "Traceback" not in err, err
        if want == errors.EXIT_USAGE:
            assert "Error:" in err
            continue
        # one line for the error (a batch: one per failed job, then the summary; a preset's problems
        # follow it indented, one per key)
        failures = [line for line in err.splitlines() if line.startswith("vertcut: error: ")]
        assert len(failures) == (2 if command == "batch" and want == errors.EXIT_BATCH else 1), err


@pytest.mark.parametrize("command", leaf_commands())
def test_an_unknown_option_is_a_usage_error(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = vertcut(capsys, *command.split(), "--no-such-option")
    assert code == errors.EXIT_USAGE and "No such option '--no-such-option'" in err, err


def test_batch_with_a_failed_job_says_so_and_exits_7(f: Files, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = vertcut(capsys, "batch", f.batch_failing)
    assert code == errors.EXIT_BATCH and "0 of 1 jobs succeeded" in out
    assert (
        f"FAILED  {f.junk}: " in out
        and err.splitlines()[-1] == f"vertcut: error: {f.batch_failing}: 1 of 1 jobs failed"
    )


def test_debug_shows_the_traceback_and_keeps_the_code(f: Files, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = vertcut(capsys, "--debug", "probe", f.junk)
    assert code == errors.EXIT_INPUT and "Traceback" in err and "InvalidMediaError" in err
    code, _out, err = vertcut(capsys, "--debug", "presets", "validate", f.not_toml)
    assert code == errors.EXIT_PRESET and "not valid TOML" in err
