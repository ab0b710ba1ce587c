"""OpenTimelineIO JSON (``.otio``, as Resolve and Kdenlive export it), read directly.

Markers live on items (clips, gaps, tracks, stacks); a marker's
``marked_range.start_time`` is in the item's own (source) time, so its
timeline time is the item's position in its parent minus the item's
``source_range.start_time`` plus the marker's start. Tracks place their
children one after another (transitions take no time), stacks in parallel.
Times are ``RationalTime`` ``{value, rate}``; they are turned into exact
``Fraction`` seconds (29.97 is read as 30000/1001).
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import MarkerError
from ..timebase import parse_rate
from .model import Marker, line_at, tier_from_text

__all__ = ["read_otio"]

_MARKER_KEY = re.compile(r'"OTIO_SCHEMA"\s*:\s*"Marker\.')


def _schema(obj: Any) -> str:
    return str(obj.get("OTIO_SCHEMA", "")).split(".")[0] if isinstance(obj, dict) else ""


def read_otio(text: str, path: Path) -> list[Marker]:
    counter = iter(range(1 << 30))

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if str(d.get("OTIO_SCHEMA", "")).startswith("Marker."):
            d["__n__"] = next(counter)
        return d

    try:
        data = json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        raise MarkerError(f"not valid OTIO JSON: {exc.msg}", path=path, line=exc.lineno) from None
    positions = [m.start() for m in _MARKER_KEY.finditer(text)]

    def rt(d: Any, what: str) -> tuple[Fraction, Fraction]:
        try:
            rate = parse_rate(str(d["rate"]))
            return Fraction(str(d["value"])) / rate, rate
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise MarkerError(f"{what}: bad RationalTime {d!r}"[:120], path=path) from None

    def media_range(item: dict[str, Any]) -> dict[str, Any] | None:
        refs = item.get("media_references")
        ref = refs.get(item.get("active_media_reference_key", "DEFAULT_MEDIA")) if isinstance(refs, dict) else None
        ref = ref or item.get("media_reference")
        return ref.get("available_range") if isinstance(ref, dict) else None

    def start(item: dict[str, Any]) -> Fraction:
        sr = item.get("source_range") or (media_range(item) if _schema(item) == "Clip" else None)
        return rt(sr["start_time"], item.get("name", ""))[0] if sr else Fraction(0)

    def duration(item: dict[str, Any]) -> Fraction:
        sr = item.get("source_range") or (media_range(item) if _schema(item) == "Clip" else None)
        if sr:
            return rt(sr["duration"], item.get("name", ""))[0]
        kids = [c for c in item.get("children", []) if _schema(c) != "Transition"]
        if _schema(item) == "Track":
            return sum((duration(c) for c in kids), Fraction(0))
        if _schema(item) == "Stack":
            return max((duration(c) for c in kids), default=Fraction(0))
        return Fraction(0)

    out: list[Marker] = []

    def walk(item: dict[str, Any], pos: Fraction) -> None:
        zero = pos - start(item)  # timeline time of the item's local time 0
        for m in item.get("markers", []) or []:
            n = m.get("__n__", -1)
            line = line_at(text, positions[n]) if 0 <= n < len(positions) else None
            name = str(m.get("name", ""))
            try:
                t, rate = rt(m["marked_range"]["start_time"], name)
            except (KeyError, TypeError):
                raise MarkerError(f"marker {name!r} has no marked_range", path=path, line=line) from None
            note = str((m.get("metadata") or {}).get("note", "")) if isinstance(m.get("metadata"), dict) else ""
            at = zero + t
            if at < 0:
                raise MarkerError(f"marker {name!r} lies before the timeline start", path=path, line=line)
            f = at * rate
            frame = int(f) if f.denominator == 1 else None
            colour = str(m.get("color", ""))
            tier = tier_from_text(name, note)
            out.append(Marker(at, name, colour, line, "otio", "marker", rate, tier, note, frame, str(path)))
        kind = _schema(item)
        if kind == "Track":
            p = zero
            for child in item.get("children", []):
                if _schema(child) == "Transition":
                    continue
                walk(child, p)
                p += duration(child)
        elif kind == "Stack":
            for child in item.get("children", []):
                walk(child, zero)

    if _schema(data) == "Timeline":
        tracks = data.get("tracks")
        if not isinstance(tracks, dict):
            raise MarkerError("OTIO timeline without tracks", path=path)
        walk(tracks, Fraction(0))
    elif _schema(data) in ("Track", "Stack"):
        walk(data, Fraction(0))
    else:
        raise MarkerError(f"OTIO file holds a {_schema(data) or 'non-OTIO object'}, not a timeline", path=path)
    out.sort(key=lambda m: (m.seconds, m.line or 0))
    return out
