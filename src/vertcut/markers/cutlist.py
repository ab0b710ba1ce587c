"""vertcut's own cut lists: CSV or JSON, one marker per row / item.

CSV: a header with one of ``frame``, ``seconds``, ``time`` (``12.5s``,
``00:01:02.500``, ``360f``...) or ``timecode`` (``HH:MM:SS:FF``; a 01:00:00:00
timeline start is recognised as in EDLs), and optionally ``name``,
``colour``/``color``, ``tier`` (``free``/``paid``), ``note``.

JSON: a list (or ``{"markers": [...]}``) of frame numbers or objects with the
same keys.
"""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import MarkerError
from ..timebase import parse_time
from .edl import start_frame
from .model import Marker, line_at, tier_from_text, timecode_frame

__all__ = ["looks_like_csv", "read_csv", "read_json"]

_TIME_KEYS = ("frame", "seconds", "time", "timecode")


def looks_like_csv(text: str) -> bool:
    first = text.splitlines()[0] if text else ""
    cols = {c.strip().lower() for c in first.split(",")}
    return bool(cols & set(_TIME_KEYS))


def _one(
    item: dict[str, Any], rate: Fraction | None, path: Path, line: int | None, label: str
) -> tuple[Fraction, int | None, str | None]:
    """(seconds, frame, timecode) of one cut-list item; timecodes are resolved later."""
    name = str(item.get("name", "")) or label
    try:
        if item.get("frame") not in (None, ""):
            if rate is None:
                raise MarkerError(
                    f"marker {name!r}: a frame number needs the master's frame rate", path=path, line=line
                )
            frame = int(str(item["frame"]).strip())
            if frame < 0:
                raise ValueError(f"negative frame {frame}")
            return Fraction(frame) / rate, frame, None
        if item.get("seconds") not in (None, ""):
            return Fraction(str(item["seconds"]).strip()), None, None
        if item.get("time") not in (None, ""):
            return parse_time(str(item["time"]).strip(), rate), None, None
        if item.get("timecode") not in (None, ""):
            return Fraction(0), None, str(item["timecode"]).strip()
    except (ValueError, ZeroDivisionError, TypeError) as exc:
        raise MarkerError(f"marker {name!r}: bad time: {exc}", path=path, line=line) from None
    raise MarkerError(f"marker {name!r}: no frame, seconds, time or timecode", path=path, line=line)


def _build(
    items: list[tuple[dict[str, Any], int | None]],
    path: Path,
    rate: Fraction | None,
    timeline_start: int | None,
    source: str,
) -> list[Marker]:
    parsed = []
    tcs: list[int] = []
    for n, (item, line) in enumerate(items, 1):
        seconds, frame, tc = _one(item, rate, path, line, f"#{n}")
        tc_frame = None
        if tc is not None:
            tc_frame = timecode_frame(tc, rate, path, line or 0, f"marker {str(item.get('name', '')) or n!r}")
            tcs.append(tc_frame)
        parsed.append((item, line, seconds, frame, tc_frame))
    base = start_frame(tcs, rate, timeline_start) if tcs and rate is not None else 0
    out = []
    for item, line, seconds, frame, tc_frame in parsed:
        if tc_frame is not None:
            assert rate is not None
            frame = tc_frame - base
            seconds = Fraction(frame) / rate
        name = str(item.get("name", "")).strip()
        note = str(item.get("note", "")).strip()
        if seconds < 0:
            raise MarkerError(f"marker {name!r} lies before the timeline start", path=path, line=line)
        tier = str(item.get("tier", "")).strip().lower() or None
        if tier not in (None, "free", "paid"):
            raise MarkerError(f"marker {name!r}: tier must be free or paid, not {tier!r}", path=path, line=line)
        colour = str(item.get("colour", item.get("color", "")) or "").strip()
        out.append(Marker(seconds, name, colour, line, source, "marker", None, tier or tier_from_text(name, note),
                          note, frame, str(path)))  # fmt: skip
    return out


def read_csv(text: str, path: Path, rate: Fraction | None, timeline_start: int | None) -> list[Marker]:
    reader = csv.DictReader(io.StringIO(text))
    rows: list[tuple[dict[str, Any], int | None]] = []
    for row in reader:
        line = reader.line_num
        r = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(r.values()):
            continue
        rows.append((r, line))
    return _build(rows, path, rate, timeline_start, "csv")


def read_json(text: str, path: Path, rate: Fraction | None, timeline_start: int | None) -> list[Marker]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MarkerError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if isinstance(data, list):
        start = text.index("[")
    elif isinstance(data, dict) and isinstance(data.get("markers", data.get("cuts")), list):
        m = re.search(r'"(markers|cuts)"\s*:\s*\[', text)
        if m is None:
            raise MarkerError("JSON cut list needs a list (or a 'markers' list)", path=path)
        start = m.end() - 1
        data = data.get("markers", data.get("cuts"))
    else:
        raise MarkerError("JSON cut list needs a list (or a 'markers' list)", path=path)
    # walk the list's items with raw_decode to know each item's line
    dec = json.JSONDecoder()
    idx = start + 1
    items: list[tuple[dict[str, Any], int | None]] = []
    for n in range(len(data)):
        while text[idx] in " \t\r\n,":
            idx += 1
        obj, end = dec.raw_decode(text, idx)
        line = line_at(text, idx)
        if isinstance(obj, int) and not isinstance(obj, bool):
            obj = {"frame": obj}
        if not isinstance(obj, dict):
            raise MarkerError(f"marker #{n + 1}: expected an object or a frame number", path=path, line=line)
        items.append((obj, line))
        idx = end
    return _build(items, path, rate, timeline_start, "json")
