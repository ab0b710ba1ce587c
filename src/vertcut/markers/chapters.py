"""Container chapters (MP4/MOV/MKV), read with :func:`vertcut.media.probe`.

A chapter's start is an episode boundary; a chapter starting at the very
beginning is the first episode, not a boundary.
"""

from __future__ import annotations

from pathlib import Path

from .model import Marker, tier_from_text

__all__ = ["looks_like_media", "read_chapters"]


def looks_like_media(head: bytes) -> bool:
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free") or head[:4] == b"\x1a\x45\xdf\xa3"


def read_chapters(path: Path) -> list[Marker]:
    from ..media.probe import probe

    info = probe(path)
    zero = info.start_time
    out = []
    for n, c in enumerate(info.chapters, 1):
        t = c.start - zero if c.start >= zero else c.start
        if t <= 0:
            continue
        title = c.title or f"chapter {n}"
        out.append(Marker(t, title, "", None, "chapters", "chapter", None, tier_from_text(title), "", None, str(path)))
    return out
