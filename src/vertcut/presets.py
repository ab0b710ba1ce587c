"""Presets are data: TOML files validated against a typed schema.

Each preset *kind* (``subtitle``, ``ladder``, ``platform``, ``reframe``...)
has a frozen dataclass as its schema, registered by the module that uses it::

    @dataclass(frozen=True)
    class LadderPreset:
        codec: Literal["h264", "hevc", "av1"] = "h264"
        rungs: tuple[Rung, ...] = ()

    register_kind("ladder", LadderPreset)
    ladder = load_preset("ladder", "h264-default")

A preset file is ``<kind>/<name>.toml``; its top-level keys are the schema's
fields, plus ``description`` and an optional ``extends = "other-name"`` that
starts from another preset of the same kind. Nested dataclasses are TOML
tables; ``tuple[Dataclass, ...]`` is an array of tables; ``dict[str, X]`` a
table keyed by name. Unknown keys are errors; every problem in a file is
reported at once, each with its key path.

Lookup order for a name: a path to a ``.toml`` file, then the user's presets
(``$VERTCUT_PRESETS_DIR`` or ``$XDG_CONFIG_HOME/vertcut/presets``, default
``~/.config/vertcut/presets``), then the built-ins shipped in the package
(sources in the repository's top-level ``presets/`` folder).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from .errors import PresetError

__all__ = [
    "PresetInfo",
    "builtin_dir",
    "find_preset",
    "kinds",
    "list_presets",
    "load_preset",
    "load_preset_file",
    "register_kind",
    "user_dir",
    "validate_data",
]

T = TypeVar("T")

_KINDS: dict[str, type[Any]] = {}
_META_KEYS = {"description", "extends", "kind"}
# modules whose import registers the built-in kinds
_KIND_MODULES = (
    "vertcut.reframe.presets",
    "vertcut.subtitles.style",
    "vertcut.split.settings",
    "vertcut.encode.presets",
    "vertcut.labels.presets",
    "vertcut.check.profiles",
)


def register_kind(kind: str, schema: type[Any]) -> None:
    """Register the schema (a frozen dataclass) for preset kind ``kind``."""
    if not dataclasses.is_dataclass(schema):
        raise TypeError(f"preset schema for {kind!r} must be a dataclass")
    _KINDS[kind] = schema


def _load_kind_modules() -> None:
    import importlib

    for name in _KIND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise


def kinds() -> dict[str, type[Any]]:
    """Every registered preset kind and its schema."""
    _load_kind_modules()
    return dict(_KINDS)


def _schema(kind: str) -> type[Any]:
    known = kinds()
    if kind not in known:
        raise PresetError(f"unknown preset kind {kind!r} (known: {', '.join(sorted(known)) or 'none'})")
    return known[kind]


def builtin_dir() -> Path:
    """Folder of the built-in presets shipped with the package."""
    return Path(str(resources.files("vertcut.preset_data")))


def user_dir() -> Path:
    """Folder of the user's own presets."""
    env = os.environ.get("VERTCUT_PRESETS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vertcut" / "presets"


@dataclass(frozen=True)
class PresetInfo:
    kind: str
    name: str
    path: Path
    source: str  # "builtin" | "user" | "file"
    description: str


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise PresetError("no such preset file", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"not valid TOML: {exc}", path=path) from None
    except OSError as exc:
        raise PresetError(f"cannot read: {exc.strerror}", path=path) from None


def list_presets(kind: str | None = None) -> list[PresetInfo]:
    """Built-in and user presets (a user preset hides a built-in of the same name)."""
    found: dict[tuple[str, str], PresetInfo] = {}
    for source, root in (("builtin", builtin_dir()), ("user", user_dir())):
        if not root.is_dir():
            continue
        for kind_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
            if kind is not None and kind_dir.name != kind:
                continue
            for f in sorted(kind_dir.glob("*.toml")):
                desc = ""
                try:
                    desc = str(_read_toml(f).get("description", ""))
                except PresetError:
                    desc = "(unreadable)"
                found[(kind_dir.name, f.stem)] = PresetInfo(kind_dir.name, f.stem, f, source, desc)
    return sorted(found.values(), key=lambda p: (p.kind, p.name))


def find_preset(kind: str, name: str) -> Path:
    """Path of preset ``name`` of ``kind`` (a ``.toml`` path is taken as it is)."""
    if name.endswith(".toml") or os.sep in name:
        return Path(name)
    for root in (user_dir(), builtin_dir()):
        candidate = root / kind / f"{name}.toml"
        if candidate.is_file():
            return candidate
    names = sorted({p.name for p in list_presets(kind)})
    raise PresetError(f"no {kind} preset named {name!r} (available: {', '.join(names) or 'none'})")


def load_preset(kind: str, name: str) -> Any:
    """Load and validate a preset by name or path; returns the schema's dataclass."""
    return load_preset_file(kind, find_preset(kind, name))


def _raw_with_extends(kind: str, path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    data = _read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise PresetError("'extends' must be a preset name", path=path)
    parent_path = find_preset(kind, parent)
    if parent_path.resolve() == path.resolve() or parent_path in seen:
        raise PresetError(f"'extends = \"{parent}\"' makes a cycle", path=path)
    base = _raw_with_extends(kind, parent_path, (*seen, path))
    base.pop("description", None)
    return _deep_merge(base, {k: v for k, v in data.items() if k != "extends"})


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_preset_file(kind: str | None, path: str | Path) -> Any:
    """Load and validate one preset file.

    ``kind`` may be None when the file says ``kind = "..."`` itself or sits in
    a folder named after its kind.

    Raises:
        PresetError: listing every problem, each with its key path.
    """
    path = Path(path)
    raw_kind = _read_toml(path).get("kind")
    if kind is None:
        kind = raw_kind if isinstance(raw_kind, str) else path.parent.name
    elif raw_kind is not None and raw_kind != kind:
        raise PresetError(f"is a {raw_kind!r} preset, expected {kind!r}", path=path)
    schema = _schema(kind)
    data = _raw_with_extends(kind, path)
    return validate_data(schema, {k: v for k, v in data.items() if k not in _META_KEYS}, path=path)


def validate_data(schema: type[T], data: dict[str, Any], *, path: str | Path | None = None) -> T:
    """Build ``schema`` from ``data``, collecting every problem before failing."""
    problems: list[str] = []
    value = _build(schema, data, "", problems)
    if problems:
        n = len(problems)
        raise PresetError(f"{n} problem{'s' if n > 1 else ''} in preset", path=path, problems=problems)
    return typing.cast(T, value)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if isinstance(tp, type):
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}.get(
            tp.__name__, tp.__name__
        )
    return str(tp)


def _build(tp: Any, value: Any, key: str, problems: list[str]) -> Any:
    where = key or "(top level)"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table")
            return None
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
        before = len(problems)
        for unknown in sorted(set(value) - set(fields)):
            close = [f for f in fields if f.replace("_", "") == unknown.replace("_", "").replace("-", "")]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{_join(key, unknown)}: unknown key{hint}")
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            sub = _join(key, name)
            if name in value:
                kwargs[name] = _build(hints[name], value[name], sub, problems)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{sub}: missing (required)")
        if len(problems) > before:
            return None
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as exc:
            # __post_init__ checks that span several keys
            problems.append(f"{where}: {exc}")
            return None
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _build(non_none[0], value, key, problems)
        for a in non_none:
            trial: list[str] = []
            out = _build(a, value, key, trial)
            if not trial:
                return out
        problems.append(f"{where}: expected {' or '.join(_describe(a) for a in non_none)}, got {value!r}")
        return None
    if origin is typing.Literal:
        if value not in args:
            problems.append(f"{where}: must be {_describe(tp)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list")
            return None
        item_tp = args[0] if args else Any
        items = [_build(item_tp, v, f"{key}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table")
            return None
        val_tp = args[1] if len(args) == 2 else Any
        return {k: _build(val_tp, v, _join(key, k), problems) for k, v in value.items()}
    if tp is Any or tp is object:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where}: expected a number, got {value!r}")
            return value
        return float(value)
    if tp is Fraction:
        try:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError
            return Fraction(value)
        except (ValueError, ZeroDivisionError):
            problems.append(f"{where}: expected an exact number like 30000/1001 or 25, got {value!r}")
            return None
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string, got {value!r}")
        return value
    problems.append(f"{where}: unsupported schema type {tp!r}")
    return value


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
