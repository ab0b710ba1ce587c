"""``vertcut presets list|show NAME|validate FILE``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from ...errors import PresetError
from ...presets import find_preset, list_presets, load_preset, load_preset_file, user_dir

__all__ = ["command"]


@click.group("presets")
def command() -> None:
    """List, show and validate presets (TOML data)."""


@command.command("list")
@click.option("--kind", help="Only this kind (subtitle, ladder, platform, reframe, ...).")
def list_cmd(kind: str | None) -> None:
    """List built-in and user presets."""
    rows = list_presets(kind)
    for p in rows:
        click.echo(f"{p.kind:<10} {p.name:<20} {p.source:<8} {p.description}")
    if not rows:
        click.echo("no presets found")
    click.echo(f"(user presets: {user_dir()})", err=True)


def _split(name: str) -> tuple[str, str]:
    if "/" in name and not name.endswith(".toml"):
        kind, _, rest = name.partition("/")
        return kind, rest
    matches = [p for p in list_presets() if p.name == name]
    if not matches:
        raise PresetError(f"no preset named {name!r}; see 'vertcut presets list'")
    if len(matches) > 1:
        raise PresetError(f"{name!r} is ambiguous: " + ", ".join(f"{p.kind}/{p.name}" for p in matches))
    return matches[0].kind, matches[0].name


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "numerator") and not isinstance(value, (int, float)):
        return str(value)
    return value


@command.command("show")
@click.argument("name")
def show_cmd(name: str) -> None:
    """Show preset NAME (or KIND/NAME) with every value resolved."""
    kind, pname = _split(name)
    preset = load_preset(kind, pname)
    click.echo(f"# {kind}/{pname} from {find_preset(kind, pname)}", err=True)
    click.echo(json.dumps(_plain(preset), indent=2, ensure_ascii=False))


@command.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", help="Kind (subtitle, ladder, ...), if neither the file nor its folder says.")
def validate_cmd(files: tuple[Path, ...], kind: str | None) -> None:
    """Check preset FILES; report every problem with its key."""
    failed = 0
    for f in files:
        try:
            load_preset_file(kind, f)
            click.echo(f"{f}: ok")
        except PresetError as exc:
            failed += 1
            click.echo(f"vertcut: error: {exc.path or f}: {exc.message}", err=True)
            for p in exc.problems:
                click.echo(f"  {exc.path or f}: {p}", err=True)
    if failed:
        raise click.exceptions.Exit(PresetError.exit_code)
