"""Reading editor markers (cliffhangers) from the formats NLEs really write.

Supported, detected from the content (not the extension):

* DaVinci Resolve marker EDL (one 1-frame event per marker, then
  ``|C:ResolveColorRed |M:name |D:1``; record timecode, timeline start
  01:00:00:00 by default) and Avid ``* LOC:`` lines in a CMX3600 EDL;
* Final Cut Pro FCPXML (``marker`` and ``chapter-marker``, exact rational
  times, clip ``offset``/``start`` arithmetic);
* Premiere Pro marker export (tab-separated, UTF-16 with BOM) and FCP7 XML
  (``xmeml``) sequence markers;
* OpenTimelineIO ``.otio`` JSON (read directly);
* Avid marker export (tab-separated ``user  TC  track  colour  comment``);
* container chapters (MP4/MKV, read with PyAV);
* a plain CSV (``frame``/``time``/``timecode`` column, ``name``, ``colour``)
  or JSON cut list.

Every marker keeps its line in the file, its original colour string and its
name. Times are exact: either a frame index at the file's rate or a
``Fraction`` of seconds from the start of the timeline.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import MarkerError
from ..subtitles.track import decode_text
from ..timebase import parse_rate, parse_time, parse_timecode

__all__ = ["Marker", "filter_markers", "read_markers"]


@dataclass(frozen=True)
class Marker:
    """A marker: where (``seconds`` from the timeline start, exact) and what."""

    seconds: Fraction
    name: str = ""
    colour: str = ""
    line: int | None = None
    source: str = ""
    kind: str = "marker"  # marker | chapter | locator
    rate: Fraction | None = None  # the frame rate the file states, if any
    tier: str | None = None  # "free" / "paid" when the marker says so
    note: str = ""


def _tier(*texts: str) -> str | None:
    joined = " ".join(texts).lower()
    if re.search(r"\b(paid|vip|unlock|付费|解锁)\b", joined) or "付费" in joined:
        return "paid"
    if re.search(r"\bfree\b", joined) or "免费" in joined:
        return "free"
    return None


def _timeline_start(tcs: list[int], rate: Fraction, start: str | None) -> int:
    if start is not None:
        return parse_timecode(start, rate)
    hour = parse_timecode("01:00:00:00", rate)
    # Resolve and most NLEs start timelines at 01:00:00:00
    return hour if tcs and min(tcs) >= hour else 0


def _read_edl(text: str, path: Path, rate: Fraction, timeline_start: str | None) -> list[Marker]:
    lines = text.splitlines()
    raw: list[tuple[int, int, str, str, str, str]] = []  # line, frames, name, colour, note, kind
    event_re = re.compile(r"^\s*(\d{3,6})\s+\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")
    loc_re = re.compile(r"^\*\s*LOC:\s*(\S+)\s+(\w+)\s*(.*)$")
    for i, line in enumerate(lines, 1):
        if m := loc_re.match(line.strip()):
            raw.append((i, _tc(m[1], rate, path, i), m[3].strip(), m[2], "", "locator"))
            continue
        if m := event_re.match(line):
            record_in = m[4]
            frame = _tc(record_in, rate, path, i)
            name = colour = note = ""
            nxt = lines[i] if i < len(lines) else ""
            if "|" in nxt:
                note = nxt.split("|", 1)[0].strip()
                for part in nxt.split("|")[1:]:
                    key, _, value = part.strip().partition(":")
                    if key == "C":
                        colour = value.strip()
                    elif key == "M":
                        name = value.strip()
            raw.append((i, frame, name or note, colour, note, "marker"))
    if any(r[5] == "locator" for r in raw):
        # an Avid EDL: its events are clips; the locators are the markers
        raw = [r for r in raw if r[5] == "locator"]
    if not raw and not any(line.startswith(("TITLE:", "FCM:")) for line in lines):
        raise MarkerError("not an EDL", path=path)
    base = _timeline_start([r[1] for r in raw], rate, timeline_start)
    return [
        Marker(Fraction(f - base) / rate, name, colour, ln, "edl", kind, None, _tier(name, note), note)
        for ln, f, name, colour, note, kind in raw
    ]


def _tc(text: str, rate: Fraction, path: Path, line: int) -> int:
    try:
        return parse_timecode(text, rate)
    except ValueError as exc:
        raise MarkerError(str(exc), path=path, line=line) from None


def _fcpx_time(value: str | None) -> Fraction:
    if not value:
        return Fraction(0)
    v = value.rstrip("s")
    return Fraction(v)


def _line_of(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    pos = text.find(needle, start)
    if pos < 0:
        return 0, start
    return text.count("\n", 0, pos) + 1, pos + 1


def _read_fcpxml(text: str, path: Path) -> list[Marker]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MarkerError(f"not valid XML: {exc}", path=path) from None
    rate: Fraction | None = None
    formats = {f.get("id"): f for f in root.iter("format")}
    seq = next(root.iter("sequence"), None)
    if seq is not None and seq.get("format") in formats:
        fd = formats[seq.get("format")].get("frameDuration")
        if fd:
            rate = 1 / _fcpx_time(fd)
    tl_start = _fcpx_time(seq.get("tcStart")) if seq is not None else Fraction(0)
    out: list[Marker] = []
    cursor = 0
    spine = next(root.iter("spine"), None)
    containers = list(spine) if spine is not None else []

    def walk(el: Any, parent_offset: Fraction) -> None:
        nonlocal cursor
        offset = _fcpx_time(el.get("offset"))
        start = _fcpx_time(el.get("start"))
        # timeline position of this element's local time t: parent + offset + (t - start)
        for child in el:
            if child.tag in ("marker", "chapter-marker"):
                t = parent_offset + offset + (_fcpx_time(child.get("start")) - start) - tl_start
                name = child.get("value", "")
                line, cursor = _line_of(text, f'value="{name}"', cursor)
                kind = "chapter" if child.tag == "chapter-marker" else "marker"
                colour = {"0": "red (to-do)", "1": "green (done)"}.get(
                    child.get("completed", ""), "orange" if kind == "chapter" else "blue"
                )
                out.append(
                    Marker(
                        t,
                        name,
                        colour,
                        line or None,
                        "fcpxml",
                        kind,
                        rate,
                        _tier(name, child.get("note", "")),
                        child.get("note", ""),
                    )
                )
            elif child.tag in ("asset-clip", "clip", "ref-clip", "gap", "sync-clip", "mc-clip", "video", "title"):
                walk(child, parent_offset + offset - start)

    for el in containers:
        walk(el, Fraction(0))
    return out


def _read_fcp7(text: str, path: Path) -> list[Marker]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MarkerError(f"not valid XML: {exc}", path=path) from None
    seq = next(root.iter("sequence"), None)
    if seq is None:
        raise MarkerError("FCP7 XML without a <sequence>", path=path)
    r = seq.find("rate")
    timebase = int(r.findtext("timebase", "25")) if r is not None else 25
    ntsc = r is not None and r.findtext("ntsc", "FALSE").upper() == "TRUE"
    rate = Fraction(timebase * 1000, 1001) if ntsc else Fraction(timebase)
    out = []
    cursor = 0
    for m in seq.findall("marker"):
        frame = int(m.findtext("in", "0"))
        name = m.findtext("name", "")
        line, cursor = _line_of(text, "<marker>", cursor)
        colour = m.findtext("pproColor", "") or m.findtext("color", "")
        out.append(
            Marker(
                Fraction(frame) / rate,
                name,
                colour,
                line or None,
                "fcp7xml",
                "marker",
                rate,
                _tier(name, m.findtext("comment", "")),
            )
        )
    return out


def _read_otio(text: str, path: Path) -> list[Marker]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MarkerError(f"not valid OTIO JSON: {exc}", path=path, line=exc.lineno) from None
    out: list[Marker] = []

    def rt(d: dict[str, Any]) -> tuple[Fraction, Fraction]:
        r = parse_rate(float(d["rate"]))
        return Fraction(d["value"]).limit_denominator(1_000_000) / r, r

    def walk(obj: Any, offset: Fraction) -> None:
        if isinstance(obj, dict):
            schema = str(obj.get("OTIO_SCHEMA", ""))
            if schema.startswith("Marker"):
                start, rate = rt(obj["marked_range"]["start_time"])
                out.append(
                    Marker(
                        offset + start,
                        obj.get("name", ""),
                        str(obj.get("color", "")),
                        None,
                        "otio",
                        "marker",
                        rate,
                        _tier(obj.get("name", "")),
                    )
                )
                return
            if schema.startswith("Timeline"):
                walk(obj.get("tracks"), offset)
                return
            if schema.startswith("Stack") or schema.startswith("Track"):
                for m in obj.get("markers", []):
                    walk(m, offset)
                pos = offset
                for child in obj.get("children", []):
                    sr = child.get("source_range") if isinstance(child, dict) else None
                    cstart = rt(sr["start_time"])[0] if sr else Fraction(0)
                    cdur = rt(sr["duration"])[0] if sr else Fraction(0)
                    for m in child.get("markers", []) if isinstance(child, dict) else []:
                        mstart, rate = rt(m["marked_range"]["start_time"])
                        out.append(
                            Marker(
                                pos + mstart - cstart,
                                m.get("name", ""),
                                str(m.get("color", "")),
                                None,
                                "otio",
                                "marker",
                                rate,
                                _tier(m.get("name", "")),
                            )
                        )
                    if isinstance(child, dict) and str(child.get("OTIO_SCHEMA", "")).startswith(("Stack", "Track")):
                        walk(child, pos)
                    if "Stack" in str(obj.get("OTIO_SCHEMA", "")):
                        continue
                    pos += cdur
                return
            for v in obj.values():
                walk(v, offset)

    walk(data, Fraction(0))
    return out


def _read_tsv(text: str, path: Path, rate: Fraction, timeline_start: str | None) -> list[Marker]:
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows:
        raise MarkerError("is empty", path=path)
    header = [h.strip().lower() for h in rows[0]]
    out: list[tuple[int, int, str, str, str]] = []
    if "in" in header and "marker name" in header:  # Premiere Pro
        i_in, i_name = header.index("in"), header.index("marker name")
        i_desc = header.index("description") if "description" in header else None
        for n, row in enumerate(rows[1:], 2):
            if len(row) <= max(i_in, i_name):
                continue
            note = row[i_desc] if i_desc is not None and i_desc < len(row) else ""
            out.append((n, _tc(row[i_in].strip(), rate, path, n), row[i_name], "", note))
        source = "premiere"
    else:  # Avid: user, TC, track, colour, comment, duration
        for n, row in enumerate(rows, 1):
            if len(row) >= 4 and re.match(r"^\d{2}[:;]\d{2}[:;]\d{2}[:;]\d{2}$", row[1].strip()):
                out.append((n, _tc(row[1].strip(), rate, path, n), row[4] if len(row) > 4 else "", row[3], ""))
        source = "avid"
    base = _timeline_start([o[1] for o in out], rate, timeline_start)
    return [
        Marker(Fraction(f - base) / rate, name, col, ln, source, "marker", None, _tier(name, note), note)
        for ln, f, name, col, note in out
    ]


def _read_csv(text: str, path: Path, rate: Fraction) -> list[Marker]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if not {"frame", "time", "timecode", "seconds"} & set(fields):
        raise MarkerError("CSV needs a 'frame', 'time', 'seconds' or 'timecode' column", path=path, line=1)
    out = []
    for n, row in enumerate(reader, 2):
        r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        try:
            if r.get("frame"):
                t = Fraction(int(r["frame"])) / rate
            elif r.get("seconds"):
                t = Fraction(r["seconds"])
            elif r.get("time"):
                t = parse_time(r["time"], rate)
            else:
                t = Fraction(parse_timecode(r["timecode"], rate)) / rate
        except (ValueError, KeyError) as exc:
            raise MarkerError(f"bad time: {exc}", path=path, line=n) from None
        name = r.get("name", "")
        out.append(
            Marker(
                t, name, r.get("colour") or r.get("color", ""), n, "csv", "marker", None, r.get("tier") or _tier(name)
            )
        )
    return out


def _read_json(text: str, path: Path, rate: Fraction) -> list[Marker]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MarkerError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    items = data.get("markers", data.get("cuts")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise MarkerError("JSON cut list needs a list (or a 'markers' list)", path=path)
    out = []
    for i, it in enumerate(items):
        if isinstance(it, int):
            it = {"frame": it}
        if not isinstance(it, dict):
            raise MarkerError(f"marker {i + 1}: expected an object or a frame number", path=path)
        try:
            if "frame" in it:
                t = Fraction(int(it["frame"])) / rate
            elif "time" in it:
                t = parse_time(str(it["time"]), rate)
            else:
                t = Fraction(parse_timecode(str(it["timecode"]), rate)) / rate
        except (ValueError, KeyError, TypeError) as exc:
            raise MarkerError(f"marker {i + 1}: bad time: {exc}", path=path) from None
        name = str(it.get("name", ""))
        out.append(
            Marker(
                t,
                name,
                str(it.get("colour", it.get("color", ""))),
                None,
                "json",
                "marker",
                None,
                it.get("tier") or _tier(name),
            )
        )
    return out


def _read_chapters(path: Path) -> list[Marker]:
    from ..media.probe import probe

    info = probe(path)
    # a chapter's start is an episode boundary; the first one starts the master
    return [Marker(c.start, c.title or "", "", None, "chapters", "chapter") for c in info.chapters if c.start > 0]


_MEDIA_SUFFIXES = {".mp4", ".mov", ".mkv", ".m4v", ".webm", ".mxf"}


def read_markers(
    path: str | Path,
    *,
    rate: Fraction,
    timeline_start: str | None = None,
    names: str | None = None,
    colours: tuple[str, ...] = (),
) -> list[Marker]:
    """Read markers from ``path``, in file order.

    Args:
        rate: the master's frame rate (timecodes are counted at it).
        timeline_start: the timeline's start timecode; default: 01:00:00:00 when
            every marker is past it (Resolve's default), else 00:00:00:00.
        names: a regular expression a marker's name must match (case-insensitive).
        colours: keep only markers whose colour contains one of these (case-insensitive).

    Raises:
        MarkerError: unreadable, empty or unknown-format file; a bad entry names its line.
    """
    p = Path(path)
    if not p.is_file():
        raise MarkerError("no such marker file" if not p.exists() else "is not a regular file", path=p)
    if p.suffix.lower() in _MEDIA_SUFFIXES:
        markers = _read_chapters(p)
        return filter_markers(markers, names, colours)
    data = p.read_bytes()
    if not data.strip():
        raise MarkerError("is empty", path=p)
    text, _enc = decode_text(data, p)
    text = text.lstrip("\ufeff")
    head = text.lstrip()[:400]
    if head.startswith("<") and "<fcpxml" in text[:2000]:
        markers = _read_fcpxml(text, p)
    elif head.startswith("<") and "<xmeml" in text[:2000]:
        markers = _read_fcp7(text, p)
    elif head.startswith("{") and "OTIO_SCHEMA" in text[:4000]:
        markers = _read_otio(text, p)
    elif head.startswith(("{", "[")):
        markers = _read_json(text, p, rate)
    elif head.startswith(("TITLE:", "FCM:")) or re.search(r"^\d{3,6}\s+\S+\s+[VA]", text, re.M) or "* LOC:" in text:
        markers = _read_edl(text, p, rate, timeline_start)
    elif "\t" in head.splitlines()[0] if head else False:
        markers = _read_tsv(text, p, rate, timeline_start)
    elif "," in (head.splitlines()[0] if head else ""):
        markers = _read_csv(text, p, rate)
    else:
        raise MarkerError(
            "unknown marker format (expected EDL, FCPXML, FCP7 XML, OTIO, Premiere/Avid TSV, CSV or JSON)", path=p
        )
    if not markers:
        raise MarkerError("holds no markers", path=p)
    for m in markers:
        if m.seconds < 0:
            raise MarkerError(f"marker {m.name!r} lies before the timeline start", path=p, line=m.line)
    return filter_markers(markers, names, colours)


def filter_markers(markers: list[Marker], names: str | None, colours: tuple[str, ...]) -> list[Marker]:
    """Keep markers whose name matches ``names`` and whose colour contains one of ``colours``."""
    out = markers
    if names:
        rx = re.compile(names, re.IGNORECASE)
        out = [m for m in out if rx.search(m.name)]
    if colours:
        wanted = [c.lower() for c in colours]
        out = [m for m in out if any(w in m.colour.lower() for w in wanted)]
    return [replace(m) for m in out]
