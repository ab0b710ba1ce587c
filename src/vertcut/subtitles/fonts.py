"""The fonts subtitles are drawn with, all installed from PyPI with vertcut.

* CJK (zh, ja, ko) and the Latin languages in Chinese-first cues: Noto Sans
  CJK (``noto-cjk-sans-otc``; the SC face for zh, JP for ja, ...);
* Latin (en, es, id, ...): Noto Sans (``fontpkg-noto-sans``);
* Thai: Noto Sans Thai; Arabic: Noto Sans Arabic (``fontpkg-noto-sans-*``).

All are under the SIL Open Font License 1.1. libass does not fall back from
a ``fontsdir`` font to another one, so each language gets the font that
covers it, and :func:`missing_glyphs` refuses text the font cannot show.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UnsupportedError

__all__ = ["FAMILIES", "FontInfo", "default_family", "font_for", "font_named", "missing_glyphs"]

_CJK_FACES = {
    "ja": "Noto Sans CJK JP",
    "ko": "Noto Sans CJK KR",
    "zh-hant": "Noto Sans CJK TC",
    "zh-tw": "Noto Sans CJK TC",
}


@dataclass(frozen=True)
class FontInfo:
    family: str
    path: Path
    index: int
    units_per_em: int
    win_height: int  # usWinAscent + usWinDescent
    ideograph_height: int  # ink height of 田 (or of H for fonts without it), font units

    @property
    def libass_ratio(self) -> float:
        """libass ``Fontsize`` per em pixel."""
        return self.win_height / self.units_per_em


def _package_file(module: str, pattern: str) -> Path:
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise UnsupportedError(f"the font package {module.replace('_', '-')} is not installed") from None
    root = Path(next(iter(mod.__path__)))
    found = sorted(root.rglob(pattern))
    if not found:
        raise UnsupportedError(f"no font file {pattern} in {root}")
    return found[0]


@functools.cache
def _load(path: Path, index: int) -> Any:
    from fontTools.ttLib import TTFont

    return TTFont(str(path), fontNumber=index, lazy=True)


# bump when what _read_tables stores changes
_TABLES_VERSION = 1


@functools.cache
def _tables(path: Path, index: int) -> dict[str, Any]:
    """The metrics vertcut needs from face ``index`` of ``path``: units per em, the libass height, the
    reference glyph's ink height, and every mapped code point's advance. Reading them with fontTools takes
    half a second for the CJK collection, so they are cached on disk, keyed by the file's size and mtime."""
    from ..fsutil import json_cached

    st = path.stat()
    key = f"{_TABLES_VERSION}|{path}|{index}|{st.st_size}|{st.st_mtime_ns}"
    data: dict[str, Any] = json_cached("fonts", key, lambda: _read_tables(path, index))
    try:
        data["advances"] = {int(k): v for k, v in data["advances"].items()}  # JSON keys are strings
    except (KeyError, AttributeError, ValueError):
        data = _read_tables(path, index)
    return data


def _read_tables(path: Path, index: int) -> dict[str, Any]:
    from fontTools.pens.boundsPen import BoundsPen

    font = _load(path, index)
    os2 = font["OS/2"]
    cmap = font.getBestCmap()
    glyphs = font.getGlyphSet()
    ref = "田" if ord("田") in cmap else "H"
    pen = BoundsPen(glyphs)
    glyphs[cmap[ord(ref)]].draw(pen)
    upem = int(font["head"].unitsPerEm)
    bounds = pen.bounds or (0, 0, 0, upem)
    height = int(bounds[3] - bounds[1])
    if ref == "H":
        height = int(height / 0.73 * 0.842)  # scale the cap height to a CJK-ideograph-equivalent em
    hmtx = font["hmtx"]
    return {
        "units_per_em": upem,
        "win_height": int(os2.usWinAscent + os2.usWinDescent),
        "ideograph_height": height,
        "advances": {cp: hmtx[g][0] / upem for cp, g in cmap.items()},
    }


def _info(family: str, path: Path, index: int) -> FontInfo:
    t = _tables(path, index)
    return FontInfo(family, path, index, t["units_per_em"], t["win_height"], t["ideograph_height"])


FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Noto Sans",
    "Noto Sans Thai",
    "Noto Sans Arabic",
)


def default_family(lang: str) -> str:
    """The family vertcut uses for language ``lang`` (a BCP 47 tag such as zh, zh-Hant, en, th, ar)."""
    tag = lang.lower()
    base = tag.split("-")[0]
    if base in ("zh", "ja", "ko", "yue", "cmn"):
        if base == "yue":
            return "Noto Sans CJK TC"
        return _CJK_FACES.get(tag, _CJK_FACES.get(base, "Noto Sans CJK SC"))
    if base == "th":
        return "Noto Sans Thai"
    if base in ("ar", "fa", "ur"):
        return "Noto Sans Arabic"
    return "Noto Sans"


@functools.cache
def font_named(family: str) -> FontInfo:
    """One of :data:`FAMILIES` (all installed from PyPI with vertcut)."""
    if family.startswith("Noto Sans CJK "):
        index = {"JP": 0, "KR": 1, "SC": 2, "TC": 3}.get(family.rsplit(" ", 1)[1])
        if index is not None:
            return _info(family, _package_file("noto_cjk_sans_otc", "*.ttc"), index)
    if family == "Noto Sans Thai":
        return _info(family, _package_file("fontpkg_noto_sans_thai", "NotoSansThai*.ttf"), 0)
    if family == "Noto Sans Arabic":
        return _info(family, _package_file("fontpkg_noto_sans_arabic", "NotoSansArabic*.ttf"), 0)
    if family == "Noto Sans":
        return _info(family, _package_file("fontpkg_noto_sans", "NotoSans[[]*.ttf"), 0)
    raise UnsupportedError(f"font {family!r} is not one vertcut installs ({', '.join(FAMILIES)})")


def font_for(lang: str, family: str | None = None) -> FontInfo:
    """The font for language ``lang``: ``family`` when given (a preset's choice), else vertcut's default."""
    return font_named(family or default_family(lang))


def _advances(font: FontInfo) -> dict[int, float]:
    """Advance width in ems of every mapped code point."""
    advances: dict[int, float] = _tables(font.path, font.index)["advances"]
    return advances


def missing_glyphs(text: str, font: FontInfo) -> list[str]:
    """Characters of ``text`` the font has no glyph for (spaces and controls ignored)."""
    cmap = _advances(font)
    seen: list[str] = []
    for ch in text:
        if ch.isspace() or ord(ch) < 0x20 or ch in "\u200b\u200c\u200d\u200e\u200f\ufeff":
            continue
        if ord(ch) not in cmap and ch not in seen:
            seen.append(ch)
    return seen


@functools.lru_cache(maxsize=65536)
def advance(text: str, font: FontInfo) -> float:
    """Width of ``text`` in ems (sum of advance widths; no kerning; an unmapped character counts 1 em)."""
    widths = _advances(font)
    return sum(widths.get(ord(ch), 1.0) for ch in text)
