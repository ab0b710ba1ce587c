"""Presets as data: validation, every error at once, user presets, the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import pytest
from conftest import run_cli

from vertcut.errors import EXIT_PRESET, PresetError
from vertcut.presets import builtin_dir, list_presets, load_preset, load_preset_file, register_kind, user_dir


@dataclass(frozen=True)
class Rung:
    height: int
    bitrate_kbps: int


@dataclass(frozen=True)
class DemoPreset:
    codec: Literal["h264", "hevc"] = "h264"
    crf: int = 23
    gain_db: float = 0.0
    rate: Fraction | None = None
    enabled: bool = True
    rungs: tuple[Rung, ...] = ()
    per_script: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be within 0..51, got {self.crf}")


@pytest.fixture(autouse=True)
def _demo_kind() -> None:
    register_kind("demo", DemoPreset)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_preset_loads_into_the_dataclass(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "demo" / "good.toml",
        'description = "ok"\ncodec = "hevc"\ncrf = 20\ngain_db = -1\nrate = "30000/1001"\n'
        "per_script = { zh = 16, en = 42 }\n[[rungs]]\nheight = 1920\nbitrate_kbps = 4000\n",
    )
    preset = load_preset_file("demo", p)
    assert preset == DemoPreset(
        "hevc", 20, -1.0, Fraction(30000, 1001), True, (Rung(1920, 4000),), {"zh": 16, "en": 42}
    )
    assert isinstance(preset.gain_db, float)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "demo" / "bad.toml",
        'codec = "vp9"\ncrf = "high"\ncolour = 3\nenabled = 1\n[[rungs]]\nheight = 720\nbitrat_kbps = 9\n',
    )
    with pytest.raises(PresetError) as info:
        load_preset_file("demo", p)
    problems = info.value.problems
    assert len(problems) == 6, problems
    text = "\n".join(problems)
    for key in (
        "codec:",
        "crf:",
        "colour: unknown key",
        "enabled:",
        "rungs[0].bitrat_kbps: unknown key",
        "rungs[0].bitrate_kbps: missing",
    ):
        assert key in text
    assert str(p) in str(info.value)


def test_cross_field_checks_are_reported(tmp_path: Path) -> None:
    p = _write(tmp_path / "demo" / "crf.toml", "crf = 80\n")
    with pytest.raises(PresetError, match="crf must be within"):
        load_preset_file("demo", p)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    p = _write(tmp_path / "demo" / "broken.toml", "crf = = 3\n")
    with pytest.raises(PresetError, match="not valid TOML") as info:
        load_preset_file("demo", p)
    assert info.value.path == str(p)


def test_user_presets_extend_and_override(tmp_path: Path) -> None:
    _write(
        user_dir() / "demo" / "base.toml", 'description = "base"\ncodec = "hevc"\ncrf = 30\nper_script = { zh = 1 }\n'
    )
    _write(user_dir() / "demo" / "child.toml", 'extends = "base"\ncrf = 18\nper_script = { en = 2 }\n')
    child = load_preset("demo", "child")
    assert (child.codec, child.crf, child.per_script) == ("hevc", 18, {"zh": 1, "en": 2})
    names = {(p.name, p.source) for p in list_presets("demo")}
    assert names == {("base", "user"), ("child", "user")}
    with pytest.raises(PresetError, match="no demo preset named 'nope'"):
        load_preset("demo", "nope")


def test_extends_cycle_is_an_error() -> None:
    _write(user_dir() / "demo" / "a.toml", 'extends = "b"\n')
    _write(user_dir() / "demo" / "b.toml", 'extends = "a"\n')
    with pytest.raises(PresetError, match="cycle"):
        load_preset("demo", "a")


def test_builtins_ship_as_package_data() -> None:
    root = builtin_dir()
    assert root.is_dir() and (root / "__init__.py").is_file()
    # every shipped preset validates against its kind's schema
    for info in list_presets():
        if info.source == "builtin":
            load_preset(info.kind, info.name)


def test_cli_validate_reports_every_problem(tmp_path: Path) -> None:
    good = _write(tmp_path / "demo" / "good.toml", "crf = 20\n")
    bad = _write(tmp_path / "demo" / "bad.toml", 'codec = "vp9"\nfoo = 1\n')
    res = run_cli("presets", "validate", str(good), str(bad))
    assert res.exit_code == EXIT_PRESET
    assert f"{good}: ok" in res.stdout
    assert "codec: must be 'h264' or 'hevc'" in res.stderr and "foo: unknown key" in res.stderr


def test_cli_list_and_show() -> None:
    _write(user_dir() / "demo" / "mine.toml", 'description = "my demo"\ncrf = 21\n')
    res = run_cli("presets", "list", "--kind", "demo")
    assert res.exit_code == 0 and "mine" in res.stdout and "my demo" in res.stdout
    res = run_cli("presets", "show", "demo/mine")
    assert res.exit_code == 0 and '"crf": 21' in res.stdout
    res = run_cli("presets", "show", "demo/none")
    assert res.exit_code == EXIT_PRESET and res.stderr.startswith("vertcut: error:")
