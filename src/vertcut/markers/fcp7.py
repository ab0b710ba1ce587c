"""Final Cut Pro 7 XML (``xmeml``), as Premiere Pro exports it: sequence markers.

``<marker><name/><comment/><in>frame</in><out>-1</out><pproColor>4281740498</pproColor></marker>``
with ``<in>`` counted at the sequence ``<rate>`` (``<timebase>`` + ``<ntsc>``).
``pproColor`` (0xAABBGGRR) is kept as written.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..errors import MarkerError
from .model import Marker, parse_xml, tier_from_text

__all__ = ["read_fcp7"]


def read_fcp7(text: str, path: Path) -> list[Marker]:
    root, lines = parse_xml(text, path)
    seq = next(root.iter("sequence"), None)
    if seq is None:
        raise MarkerError("FCP7 XML without a <sequence>", path=path)
    r = seq.find("rate")
    if r is None or not (r.findtext("timebase") or "").strip().isdigit():
        raise MarkerError("FCP7 XML sequence without a <rate><timebase>", path=path)
    timebase = int(r.findtext("timebase", "25"))
    ntsc = (r.findtext("ntsc") or "FALSE").strip().upper() == "TRUE"
    rate = Fraction(timebase * 1000, 1001) if ntsc else Fraction(timebase)
    out = []
    for m in seq.findall("marker"):  # sequence markers (clip markers live in clip time)
        line = lines.get(id(m))
        name = (m.findtext("name") or "").strip()
        comment = (m.findtext("comment") or "").strip()
        raw = (m.findtext("in") or "").strip()
        try:
            frame = int(raw)
        except ValueError:
            raise MarkerError(f"marker {name!r}: <in> is not a frame number: {raw!r}", path=path, line=line) from None
        if frame < 0:
            raise MarkerError(f"marker {name!r}: negative frame {frame}", path=path, line=line)
        colour = (m.findtext("pproColor") or m.findtext("color") or "").strip()
        tier = tier_from_text(name, comment)
        out.append(
            Marker(
                Fraction(frame) / rate, name, colour, line, "fcp7_xml", "marker", rate, tier, comment, frame, str(path)
            )
        )
    return out
