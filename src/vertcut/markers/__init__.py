"""Reading editor markers (cliffhangers) from the files NLEs really write.

One reader module per format, chosen from the file's content (not its
extension):

* :mod:`.edl` - DaVinci Resolve marker EDL (``|C:ResolveColorRed |M:name
  |D:1`` note lines, record timecode, 01:00:00:00 timeline start) and Avid
  ``* LOC:`` locators in a CMX3600 EDL;
* :mod:`.fcpxml` - Final Cut Pro FCPXML ``marker`` / ``chapter-marker``;
* :mod:`.fcp7` - FCP7 XML (``xmeml``) sequence markers, as Premiere exports them;
* :mod:`.tsv` - Premiere Pro marker export (tab-separated UTF-16) and Avid's
  marker list;
* :mod:`.otio` - OpenTimelineIO ``.otio`` JSON;
* :mod:`.chapters` - chapters of an MP4/MOV/MKV file;
* :mod:`.cutlist` - vertcut's CSV / JSON cut lists.

Which markers are cliffhangers (cuts) and which are notes (for the colourist, VFX, sound) is
decided by :mod:`.roles`, from a colour and/or name rule of the split settings.

Every marker keeps its line in the file, its name and its colour string as
written; times are exact (``Fraction`` seconds from the timeline start, plus
the frame index where the file counts frames).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from ..errors import MarkerError
from ..subtitles.track import decode_text
from ..timebase import parse_rate, parse_timecode
from .chapters import looks_like_media, read_chapters
from .cutlist import looks_like_csv, read_csv, read_json
from .edl import looks_like_edl, read_edl
from .fcp7 import read_fcp7
from .fcpxml import read_fcpxml
from .model import Marker, colour_name
from .otio import read_otio
from .roles import MarkerRoles, assign_roles
from .tsv import looks_like_avid_txt, looks_like_premiere, read_avid_txt, read_premiere

__all__ = [
    "FORMATS", "Marker", "MarkerRoles", "assign_roles", "colour_name", "detect_format", "filter_markers",
    "read_markers",
]  # fmt: skip

FORMATS = (
    "resolve_edl",
    "avid_edl",
    "fcpxml",
    "fcp7_xml",
    "premiere_tsv",
    "avid_txt",
    "otio",
    "chapters",
    "csv",
    "json",
)


def detect_format(path: str | Path) -> str:
    """The marker format of ``path``, from its content: ``edl``, ``fcpxml``, ``fcp7_xml``, ...

    Raises:
        MarkerError: missing, empty or unknown.
    """
    p = Path(path)
    return _detect(p, *_load(p))[0]


def _load(p: Path) -> tuple[bytes, str]:
    if not p.exists():
        raise MarkerError("no such marker file", path=p)
    if not p.is_file():
        raise MarkerError("is not a regular file", path=p)
    data = p.read_bytes()
    if not data.strip():
        raise MarkerError("is empty: no markers", path=p)
    if looks_like_media(data[:16]):
        return data[:16], ""
    try:
        text, _enc = decode_text(data, p)
    except Exception:  # a binary file is an unknown format, whatever the decoder says
        text = ""
    return data[:16], text.lstrip("\ufeff")


def _detect(p: Path, head: bytes, text: str) -> tuple[str, str]:
    if looks_like_media(head):
        return "chapters", text
    if not text or "\x00" in text:
        raise MarkerError(_unknown(), path=p)
    lead = text.lstrip()[:2000]
    if lead.startswith("<"):
        if "<fcpxml" in lead:
            return "fcpxml", text
        if "<xmeml" in lead:
            return "fcp7_xml", text
        raise MarkerError("XML but neither FCPXML nor FCP7 XML (xmeml)", path=p)
    if lead.startswith("{") and "OTIO_SCHEMA" in text[:4000]:
        return "otio", text
    if lead.startswith(("{", "[")):
        return "json", text
    if looks_like_edl(text):
        return "edl", text
    if looks_like_premiere(text):
        return "premiere_tsv", text
    if looks_like_avid_txt(text):
        return "avid_txt", text
    if looks_like_csv(text):
        return "csv", text
    raise MarkerError(_unknown(), path=p)


def _unknown() -> str:
    return (
        "unknown marker format (expected a Resolve/Avid EDL, FCPXML, FCP7 XML, Premiere or Avid marker export, "
        ".otio, a media file with chapters, or a CSV/JSON cut list)"
    )


def read_markers(
    path: str | Path,
    *,
    rate: Fraction | int | str | None = None,
    timeline_start: str | int | None = None,
    names: str | Iterable[str] | None = None,
    colours: str | Iterable[str] | None = None,
) -> list[Marker]:
    """Read the markers of ``path`` (format detected from the content), in time order of the file.

    Args:
        rate: the master's frame rate; needed for timecodes and frame numbers
            (EDL, Premiere/Avid exports, CSV/JSON frames).
        timeline_start: the timeline's start timecode (or frame); default: 01:00:00:00
            when every marker is past it (Resolve's and Premiere's default), else 0.
        names: keep markers whose name matches one of these regular expressions (case-insensitive).
        colours: keep markers of these colours (``red`` matches ``ResolveColorRed``, ``RED``,
            Premiere's ``4281740498``); the original colour string is kept.

    Raises:
        MarkerError: missing, empty or unknown-format file, a bad entry (naming its line),
            or no marker left after filtering.
    """
    p = Path(path)
    head, text = _load(p)
    fmt, text = _detect(p, head, text)
    r = parse_rate(rate) if rate is not None else None
    start: int | None = None
    if timeline_start is not None and timeline_start != "":
        if isinstance(timeline_start, int):
            start = timeline_start
        else:
            if r is None:
                raise MarkerError("a timeline start timecode needs the master's frame rate", path=p)
            try:
                start = parse_timecode(timeline_start, r)
            except ValueError as exc:
                raise MarkerError(f"timeline start: {exc}", path=p) from None
    if fmt == "chapters":
        markers = read_chapters(p)
    elif fmt == "fcpxml":
        markers = read_fcpxml(text, p)
    elif fmt == "fcp7_xml":
        markers = read_fcp7(text, p)
    elif fmt == "otio":
        markers = read_otio(text, p)
    elif fmt == "json":
        markers = read_json(text, p, r, start)
    elif fmt == "edl":
        markers = read_edl(text, p, r, start)
    elif fmt == "premiere_tsv":
        markers = read_premiere(text, p, r, start)
    elif fmt == "avid_txt":
        markers = read_avid_txt(text, p, r, start)
    else:
        markers = read_csv(text, p, r, start)
    if not markers:
        raise MarkerError(f"holds no markers ({fmt})", path=p)
    kept = filter_markers(markers, names, colours)
    if not kept:
        raise MarkerError(
            f"none of its {len(markers)} markers matches the name/colour filter "
            f"(names={_as_list(names)}, colours={_as_list(colours)})",
            path=p,
        )
    return kept


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


def filter_markers(
    markers: list[Marker], names: str | Iterable[str] | None = None, colours: str | Iterable[str] | None = None
) -> list[Marker]:
    """Markers whose name matches one of ``names`` (regexes) and whose colour is one of ``colours``."""
    out = list(markers)
    pats = [re.compile(n, re.IGNORECASE) for n in _as_list(names)]
    if pats:
        out = [m for m in out if any(rx.search(m.name) for rx in pats)]
    wanted = [c.strip().lower() for c in _as_list(colours)]
    if wanted:
        out = [m for m in out if any(w == m.colour_name or w == m.colour.lower() for w in wanted)]
    return [replace(m) for m in out]
