"""Subtitle presets (``presets/subtitle/*.toml``) and platform safe areas (``presets/safearea``).

Sizes are *visible* sizes for a 1080x1920 frame: ``glyph_height_px`` is the
ink height of a full-height CJK ideograph (田). It is converted per font into
an em size from the font's own outline, and into libass's ``Fontsize`` from
the font's Windows metrics (libass scales ``usWinAscent + usWinDescent`` to
``Fontsize``, so a size typed straight into ASS is not the size you see).
Other scripts use the same em (Latin x-height looks right at the CJK em).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ..presets import load_preset, register_kind

__all__ = ["SafeArea", "ScriptLimits", "SubtitleStyle", "inside"]


@dataclass(frozen=True)
class ScriptLimits:
    max_chars_per_line: int
    max_cps: float


@dataclass(frozen=True)
class SubtitleStyle:
    glyph_height_px: float = 46.0  # ink height of 田 at 1080x1920
    bold: bool = True
    text_colour: str = "#FFFFFF"
    outline_colour: str = "#000000"
    outline_px: float = 4.0
    shadow_px: float = 2.0
    border: Literal["outline", "box"] = "outline"
    box_colour: str = "#000000"
    box_opacity: float = 0.6  # 0 transparent .. 1 opaque
    box_padding_px: float = 20.0
    margin_bottom_px: int = 480
    margin_side_px: int = 150
    max_lines: int = 2
    min_duration: str = "0.833s"
    max_duration: str = "7s"
    min_gap_frames: int = 2
    chain_gap: str = "0.5s"  # gaps shorter than this close to min_gap_frames
    min_contrast: float = 4.5  # WCAG ratio, text against its edge or box
    limits: dict[str, ScriptLimits] = field(default_factory=dict)  # by language: zh, en, th, ar, ...
    fonts: dict[str, str] = field(default_factory=dict)  # font family by language (zh, zh-hant, en, th, ar...)

    def __post_init__(self) -> None:
        for key in ("text_colour", "outline_colour", "box_colour"):
            v = getattr(self, key)
            if not (isinstance(v, str) and len(v) == 7 and v.startswith("#")):
                raise ValueError(f"{key} must be a #RRGGBB colour, got {v!r}")
            int(v[1:], 16)
        if not 0 <= self.box_opacity <= 1:
            raise ValueError("box_opacity must be within 0..1")
        if self.max_lines < 1:
            raise ValueError("max_lines must be >= 1")
        from .fonts import FAMILIES

        for lang, family in self.fonts.items():
            if family not in FAMILIES:
                raise ValueError(f"fonts.{lang}: {family!r} is not a font vertcut installs ({', '.join(FAMILIES)})")

    def font_family(self, lang: str) -> str | None:
        """The preset's font for ``lang`` (full tag first, then the base language), or None for the default."""
        tag = lang.lower()
        return self.fonts.get(tag) or self.fonts.get(tag.split("-")[0])

    def limits_for(self, lang: str) -> ScriptLimits:
        base = lang.split("-")[0].lower()
        if base in self.limits:
            return self.limits[base]
        if "default" in self.limits:
            return self.limits["default"]
        return ScriptLimits(42, 17.0)


@dataclass(frozen=True)
class SafeArea:
    """UI-free area of a 1080x1920 frame on one platform: margins in pixels."""

    name: str
    top: int = 0
    bottom: int = 480
    left: int = 60
    right: int = 150

    def rect(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """The area (x, y, w, h) in a ``size`` picture (the margins scaled from 1080x1920, rounded inwards)."""
        w, h = size
        kx, ky = w / 1080, h / 1920
        x0, y0 = math.ceil(self.left * kx), math.ceil(self.top * ky)
        x1, y1 = int(w - self.right * kx), int(h - self.bottom * ky)
        return x0, y0, x1 - x0, y1 - y0


def inside(box: tuple[int, int, int, int], area: tuple[int, int, int, int]) -> bool:
    """Whether ``box`` (x, y, w, h) lies wholly inside ``area`` (x, y, w, h)."""
    x, y, w, h = box
    ax, ay, aw, ah = area
    return x >= ax and y >= ay and x + w <= ax + aw and y + h <= ay + ah


def _style(preset: str | SubtitleStyle) -> SubtitleStyle:
    return load_preset("subtitle", preset) if isinstance(preset, str) else preset


register_kind("subtitle", SubtitleStyle)
register_kind("safearea", SafeArea)
