"""Shared fixtures: generated media, isolated config/cache dirs, in-process CLI."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

sys.path.insert(0, str(Path(__file__).parent))

from mediagen import make_clip

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_media"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep user presets and caches out of the tests (each test sees empty ones)."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(base / "presets"))
    monkeypatch.setenv("VERTCUT_CACHE_DIR", str(base / "cache"))
    yield


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    """2 s, 320x180, 25 fps, H.264 with B-frames + AAC; frame i shows index i; a cut every 10 frames."""
    return make_clip(media_dir / "clip.mp4", frames=50, shot_len=10)


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run the vertcut CLI in-process."""
    from vertcut.cli import cli

    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)


@pytest.fixture
def cli_run():  # type: ignore[no-untyped-def]
    return run_cli


def tiny_ladder(presets: Path) -> str:
    """Write a two-rung ladder preset (360x640 and 180x320, 1 s segments) into the user presets folder
    ``presets``; its name. For tests about everything but the rungs' sizes: a fifth of the encode."""
    (presets / "ladder").mkdir(parents=True, exist_ok=True)
    (presets / "ladder" / "tiny.toml").write_text(
        'extends = "h264-default"\nsegment_seconds = 1\n'
        '[[rungs]]\nname = "360p"\nwidth = 360\nheight = 640\ncrf = 24\nmaxrate_k = 700\n'
        '[[rungs]]\nname = "180p"\nwidth = 180\nheight = 320\ncrf = 26\nmaxrate_k = 300\n'
    )
    return "tiny"
