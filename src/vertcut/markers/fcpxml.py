"""Final Cut Pro FCPXML: ``marker`` (standard / to-do) and ``chapter-marker``.

Times are rational seconds (``1001/30000s``). A marker's ``start`` is in its
clip's local time, so its timeline time is
``parent_offset + clip.offset + (marker.start - clip.start)`` (Apple, "Timing
Attributes"), applied at every level of nesting, minus the sequence's
``tcStart``. The sequence format's ``frameDuration`` gives the rate; a marker
off that frame grid is an error.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import MarkerError
from .model import Marker, parse_xml, tier_from_text

__all__ = ["read_fcpxml"]

_CLIPS = {
    "asset-clip",
    "clip",
    "ref-clip",
    "gap",
    "sync-clip",
    "mc-clip",
    "video",
    "audio",
    "title",
    "spine",
    "transition",
}


def _time(value: str | None, path: Path, what: str) -> Fraction:
    if not value:
        return Fraction(0)
    try:
        return Fraction(value.strip().rstrip("s"))
    except (ValueError, ZeroDivisionError):
        raise MarkerError(f"{what}: bad FCPXML time {value!r}", path=path) from None


def read_fcpxml(text: str, path: Path) -> list[Marker]:
    root, lines = parse_xml(text, path)
    formats = {f.get("id"): f for f in root.iter("format")}
    seq = next(root.iter("sequence"), None)
    if seq is None:
        raise MarkerError("FCPXML without a <sequence>", path=path)
    rate: Fraction | None = None
    fmt = formats.get(seq.get("format"))
    if fmt is not None and fmt.get("frameDuration"):
        rate = 1 / _time(fmt.get("frameDuration"), path, "format")
    tc_start = _time(seq.get("tcStart"), path, "sequence tcStart")
    spine = seq.find("spine")
    if spine is None:
        raise MarkerError("FCPXML sequence without a <spine>", path=path)
    found: list[tuple[Fraction, Any]] = []

    def walk(el: Any, parent: Fraction) -> None:
        offset = _time(el.get("offset"), path, el.tag)
        start = _time(el.get("start"), path, el.tag)
        base = parent + offset - start  # timeline time of this element's local time 0
        for child in el:
            if child.tag in ("marker", "chapter-marker"):
                found.append((base + _time(child.get("start"), path, "marker") - tc_start, child))
            elif child.tag in _CLIPS:
                walk(child, base)

    for el in spine:
        if el.tag in _CLIPS:
            walk(el, Fraction(0))
    out: list[Marker] = []
    for t, el in found:
        line = lines.get(id(el))
        name = el.get("value", "")
        note = el.get("note", "")
        if el.tag == "chapter-marker":
            kind, colour = "chapter", "orange"
        elif el.get("completed") is not None:
            kind, colour = "todo", "red" if el.get("completed") == "0" else "green"
        else:
            kind, colour = "marker", "blue"
        frame = None
        if rate is not None:
            f = t * rate
            if f.denominator != 1:
                raise MarkerError(
                    f"marker {name!r} at {t}s is not on a frame boundary at {float(rate):.3f} fps "
                    "(the marker file is at another frame rate, or the marker sits mid-frame)",
                    path=path,
                    line=line,
                )
            frame = int(f)
        if t < 0:
            raise MarkerError(f"marker {name!r} lies before the sequence start", path=path, line=line)
        out.append(
            Marker(t, name, colour, line, "fcpxml", kind, rate, tier_from_text(name, note), note, frame, str(path))
        )
    out.sort(key=lambda m: (m.seconds, m.line or 0))
    return out
