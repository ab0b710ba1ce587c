"""CMX3600 EDLs: DaVinci Resolve's "Timeline Markers to EDL" and Avid ``* LOC:`` locators.

Resolve writes one 1-frame event per marker, followed by a comment line::

    001  001      V     C        01:00:01:15 01:00:01:16 01:00:01:15 01:00:01:16
    note text |C:ResolveColorRed |M:EP01 cliffhanger |D:1

The marker is at the event's record-in timecode, in timeline time (Resolve's
timelines start at 01:00:00:00 by default). Avid writes locators as
``* LOC: 01:00:01:15 RED     comment`` lines under clip events; the locator
timecode is record time as well.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from ..errors import MarkerError
from ..timebase import parse_timecode
from .model import Marker, tier_from_text, timecode_frame

__all__ = ["looks_like_edl", "read_edl"]

_TC = r"\d{1,2}[:;]\d{2}[:;]\d{2}[:;]\d{2}"
_EVENT = re.compile(rf"^\s*(\d{{1,6}})\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+\d+)?\s+({_TC})\s+({_TC})\s+({_TC})\s+({_TC})\s*$")
_LOC = re.compile(rf"^\*\s*LOC:\s*({_TC})\s+(\S+)\s*(.*)$")


def looks_like_edl(text: str) -> bool:
    head = text.lstrip()[:2000]
    return head.startswith(("TITLE:", "FCM:")) or any(
        _EVENT.match(line) or _LOC.match(line.strip()) for line in head.splitlines()[:20]
    )


def start_frame(frames: list[int], rate: Fraction, given: int | None, drop: bool = False) -> int:
    """The timeline start: the given one, else 01:00:00:00 when every marker is past it, else 0."""
    if given is not None:
        return given
    hour = parse_timecode("01:00:00;00" if drop else "01:00:00:00", rate)
    return hour if frames and min(frames) >= hour else 0


def read_edl(text: str, path: Path, rate: Fraction | None, timeline_start: int | None) -> list[Marker]:
    lines = text.splitlines()
    events: list[tuple[int, int, str, str, str]] = []  # line, frame, name, colour, note
    locators: list[tuple[int, int, str, str, str]] = []
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if m := _LOC.match(line):
            frame = timecode_frame(m[1], rate, path, i, f"locator {m[3].strip()!r}")
            locators.append((i, frame, m[3].strip(), m[2], ""))
            continue
        if m := _EVENT.match(raw):
            name = colour = note = ""
            nxt = lines[i] if i < len(lines) else ""
            if "|" in nxt and not _EVENT.match(nxt):
                note = nxt.split("|", 1)[0].strip()
                for part in nxt.split("|")[1:]:
                    key, _, value = part.strip().partition(":")
                    if key == "C":
                        colour = value.strip()
                    elif key == "M":
                        name = value.strip()
            frame = timecode_frame(m[7], rate, path, i, f"marker {name or m[1]!r}")
            events.append((i, frame, name or note, colour, note))
        elif line and line[0].isdigit() and re.match(r"^\d{1,6}\s", line):
            raise MarkerError(f"event line not understood: {line[:60]!r}", path=path, line=i)
    if locators:  # an Avid EDL: its events are clips, the locators are the markers
        raw_markers, source, kind = locators, "avid_edl", "locator"
    else:
        raw_markers, source, kind = events, "resolve_edl", "marker"
    if not raw_markers:
        return []
    assert rate is not None
    drop = ";" in text or "FCM: DROP" in text.upper()
    base = start_frame([r[1] for r in raw_markers], rate, timeline_start, drop)
    out = []
    for ln, frame, name, colour, note in raw_markers:
        if frame < base:
            raise MarkerError(
                f"marker {name!r} lies before the timeline start (frame {frame} < {base})", path=path, line=ln
            )
        out.append(
            Marker(
                Fraction(frame - base) / rate,
                name,
                colour,
                ln,
                source,
                kind,
                None,
                tier_from_text(name, note),
                note,
                frame - base,
                str(path),
            )
        )
    return out
