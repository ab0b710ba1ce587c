"""Tab-separated marker exports: Premiere Pro's Markers panel and Avid's marker list.

Premiere (File > Export > Markers, "CSV") writes UTF-16 with a BOM, tab
separated despite the name, header ``Marker Name / Description / In / Out /
Duration / Marker Type``, times as ``HH:MM:SS:FF`` (``;`` for drop frame).
Avid's marker export is one marker a line:
``user  01:00:01:15  V1  red  comment  duration``.
"""

from __future__ import annotations

import csv
import io
import re
from fractions import Fraction
from pathlib import Path

from ..errors import MarkerError
from .edl import start_frame
from .model import Marker, tier_from_text, timecode_frame

__all__ = ["looks_like_avid_txt", "looks_like_premiere", "read_avid_txt", "read_premiere"]

_TC = re.compile(r"^\d{1,2}[:;]\d{2}[:;]\d{2}[:;]\d{2}$")


def _header(text: str) -> list[str]:
    first = text.splitlines()[0] if text else ""
    return [h.strip().lower() for h in first.split("\t")]


def looks_like_premiere(text: str) -> bool:
    h = _header(text)
    return "marker name" in h and "in" in h


def looks_like_avid_txt(text: str) -> bool:
    for line in text.splitlines()[:5]:
        cols = line.split("\t")
        if len(cols) >= 4 and _TC.match(cols[1].strip()):
            return True
    return False


def _finish(
    rows: list[tuple[int, int, str, str, str]], path: Path, rate: Fraction, start: int | None, source: str, drop: bool
) -> list[Marker]:
    base = start_frame([r[1] for r in rows], rate, start, drop)
    out = []
    for ln, frame, name, colour, note in rows:
        if frame < base:
            raise MarkerError(f"marker {name!r} lies before the timeline start", path=path, line=ln)
        kind = "chapter" if source == "premiere_tsv" and note.lower().startswith("chapter") else "marker"
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


def read_premiere(text: str, path: Path, rate: Fraction | None, timeline_start: int | None) -> list[Marker]:
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    header = [h.strip().lower() for h in rows[0]]
    i_in, i_name = header.index("in"), header.index("marker name")
    i_desc = header.index("description") if "description" in header else None
    i_type = header.index("marker type") if "marker type" in header else None
    out: list[tuple[int, int, str, str, str]] = []
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) <= max(i_in, i_name):
            raise MarkerError(f"row has {len(row)} columns, expected {len(header)}", path=path, line=n)
        name = row[i_name].strip()
        desc = row[i_desc].strip() if i_desc is not None and i_desc < len(row) else ""
        mtype = row[i_type].strip() if i_type is not None and i_type < len(row) else ""
        frame = timecode_frame(row[i_in].strip(), rate, path, n, f"marker {name!r}")
        note = " ".join(x for x in (mtype if mtype.lower() == "chapter" else "", desc) if x)
        out.append((n, frame, name, "", note))
    if not out:
        return []
    assert rate is not None
    return _finish(out, path, rate, timeline_start, "premiere_tsv", ";" in text)


def read_avid_txt(text: str, path: Path, rate: Fraction | None, timeline_start: int | None) -> list[Marker]:
    out: list[tuple[int, int, str, str, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        cols = [c.strip() for c in line.split("\t")]
        if not any(cols):
            continue
        if len(cols) < 4 or not _TC.match(cols[1]):
            raise MarkerError(f"not an Avid marker line: {line[:60]!r}", path=path, line=n)
        name = cols[4] if len(cols) > 4 else ""
        out.append((n, timecode_frame(cols[1], rate, path, n, f"marker {name!r}"), name, cols[3], ""))
    if not out:
        return []
    assert rate is not None
    return _finish(out, path, rate, timeline_start, "avid_txt", ";" in text)
