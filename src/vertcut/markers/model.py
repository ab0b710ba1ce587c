"""The marker record and helpers shared by the format readers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import MarkerError
from ..timebase import is_drop_frame_rate, parse_timecode

__all__ = ["Marker", "colour_name", "line_at", "parse_xml", "tier_from_text", "timecode_frame"]


@dataclass(frozen=True)
class Marker:
    """One marker: where it is (exact) and what it says.

    ``seconds`` is the exact time from the start of the timeline (the master's
    first frame). ``frame`` is the frame index the file counts at ``rate`` when
    the file counts frames (timecodes, frame numbers); ``rate`` is the frame rate
    the file itself states (FCPXML, FCP7 XML, OTIO), ``None`` when it states none.
    ``colour`` is the colour string exactly as the file writes it.
    """

    seconds: Fraction
    name: str = ""
    colour: str = ""
    line: int | None = None
    source: str = ""  # reader id: resolve_edl, avid_edl, avid_txt, fcpxml, fcp7_xml, premiere_tsv, otio, ...
    kind: str = "marker"  # marker | chapter | locator | todo
    rate: Fraction | None = None
    tier: str | None = None  # "free" / "paid" when the marker says so
    note: str = ""
    frame: int | None = None
    path: str | None = None

    @property
    def colour_name(self) -> str:
        """A plain lower-case colour name for filtering (``ResolveColorRed`` -> ``red``)."""
        return colour_name(self.colour)

    def label(self) -> str:
        return repr(self.name) if self.name else f"at {float(self.seconds):.3f} s"


_TIER_PAID = re.compile(r"\b(paid|vip|unlock|locked|paywall)\b|付费|解锁|收费")
_TIER_FREE = re.compile(r"\bfree\b|免费")


def tier_from_text(*texts: str) -> str | None:
    """``paid``/``free`` when a marker's name or note says so."""
    joined = " ".join(t for t in texts if t).lower()
    if _TIER_PAID.search(joined):
        return "paid"
    if _TIER_FREE.search(joined):
        return "free"
    return None


# Premiere writes label colours as 0xAABBGGRR integers (pproColor)
_PPRO = {4281740498: "red", 4281828977: "green", 4292277273: "cyan"}
_BASIC = {
    "red": (210, 44, 54),
    "orange": (230, 130, 30),
    "yellow": (225, 210, 40),
    "green": (113, 178, 64),
    "cyan": (25, 200, 215),
    "blue": (40, 90, 220),
    "purple": (150, 60, 200),
    "pink": (230, 110, 180),
    "white": (240, 240, 240),
}


def colour_name(colour: str) -> str:
    c = colour.strip()
    if not c:
        return ""
    if c.isdigit():
        value = int(c)
        if value in _PPRO:
            return _PPRO[value]
        r, g, b = value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF
        return min(_BASIC, key=lambda k: sum((x - y) ** 2 for x, y in zip(_BASIC[k], (r, g, b), strict=True)))
    low = c.lower()
    for prefix in ("resolvecolor", "color", "colour"):
        if low.startswith(prefix) and len(low) > len(prefix):
            low = low[len(prefix) :]
    return low.split()[0].strip(" _-")


def line_at(text: str, pos: int) -> int:
    """1-based line number of character ``pos``."""
    return text.count("\n", 0, max(pos, 0)) + 1


def timecode_frame(tc: str, rate: Fraction | None, path: Path, line: int, what: str = "") -> int:
    """Frame index of a timecode in a marker file, with errors that say what is wrong."""
    if rate is None:
        raise MarkerError(
            f"{what or 'marker'}: timecode {tc} needs the master's frame rate (pass rate=)", path=path, line=line
        )
    try:
        return parse_timecode(tc, rate)
    except ValueError as exc:
        label = f"{what}: " if what else ""
        if ";" in tc and not is_drop_frame_rate(rate):
            raise MarkerError(
                f"{label}drop-frame timecode {tc} (29.97/59.94 fps) but the master is {float(rate):g} fps: "
                "the marker file is at another frame rate",
                path=path,
                line=line,
            ) from None
        parts = re.split(r"[:;]", tc.strip())
        if len(parts) == 4 and parts[3].isdigit() and int(parts[3]) >= round(rate) and int(parts[1] or 0) < 60:
            raise MarkerError(
                f"{label}timecode {tc} has frame {int(parts[3])}, impossible at the master's {float(rate):g} fps: "
                "the marker file is at another frame rate",
                path=path,
                line=line,
            ) from None
        raise MarkerError(f"{label}{exc}", path=path, line=line) from None


def parse_xml(text: str, path: Path) -> tuple[Any, dict[int, int]]:
    """Parse XML; also return ``{id(element): line}`` for every element."""
    import xml.etree.ElementTree as ET
    import xml.parsers.expat

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MarkerError(f"not valid XML: {exc}", path=path, line=exc.position[0]) from None
    lines: list[int] = []
    p = xml.parsers.expat.ParserCreate()
    p.StartElementHandler = lambda _name, _attrs: lines.append(p.CurrentLineNumber)
    try:
        p.Parse(text, True)
    except xml.parsers.expat.ExpatError:
        lines = []
    return root, {id(el): ln for el, ln in zip(root.iter(), lines, strict=False)}
