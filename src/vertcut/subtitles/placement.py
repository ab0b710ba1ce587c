"""Where the burned-in text goes in the output frame. Sizes in presets are for a 1080x1920 frame
(``REF_W`` x ``REF_H``) and scale with the output height: the preset's visible glyph height becomes
libass's ``Fontsize`` with the font's metrics, the margins take in the safe area (and the box's padding),
vertcut breaks the lines itself to the width left between them, and the box around all the text is the
region the sprites draw (:mod:`vertcut.subtitles.sprites`).
"""

from __future__ import annotations

import math

from .fonts import FontInfo, advance, font_for
from .layout import break_lines
from .sprites import Event
from .style import SafeArea, SubtitleStyle
from .track import SubtitleTrack

__all__ = ["REF_H", "REF_W", "ass_fontsize"]

REF_W, REF_H = 1080, 1920


def ass_fontsize(style: SubtitleStyle, font: FontInfo, out_height: int) -> float:
    """libass ``Fontsize`` that draws 田 ``glyph_height_px`` tall (scaled to the output height)."""
    visible = style.glyph_height_px * out_height / REF_H
    em = visible * font.units_per_em / font.ideograph_height
    return round(em * font.libass_ratio, 1)


def _geometry(
    style: SubtitleStyle, lang: str, size: tuple[int, int], safe: SafeArea | None
) -> tuple[FontInfo, float, tuple[int, int]]:
    """Font, libass Fontsize and (side, bottom) margins in output pixels."""
    out_w, out_h = size
    font = font_for(lang, style.font_family(lang))
    fontsize = ass_fontsize(style, font, out_h)
    side = float(max(style.margin_side_px, safe.left if safe else 0, safe.right if safe else 0))
    bottom = float(max(style.margin_bottom_px, safe.bottom if safe else 0))
    if style.border == "box":  # the box's padding must stay inside the margins too
        side += style.box_padding_px
        bottom += style.box_padding_px
    return font, fontsize, (round(side * out_w / REF_W), round(bottom * out_h / REF_H) + 1)


def _layout(
    track: SubtitleTrack,
    style: SubtitleStyle,
    lang: str,
    out_w: int,
    font: FontInfo,
    size: float,
    margins: tuple[int, int],
) -> list[list[str]]:
    limits = style.limits_for(lang)
    em_px = size / font.libass_ratio
    usable = out_w - 2 * margins[0] - (2 * style.box_padding_px * out_w / REF_W if style.border == "box" else 0)
    return [
        break_lines(c.text, lang, limits.max_chars_per_line, usable / em_px, font, style.max_lines) for c in track.cues
    ]


def _text_box(
    events: list[Event],
    style: SubtitleStyle,
    lang: str,
    size: tuple[int, int],
    safe: SafeArea | None,
    fontsize: float,
    font: FontInfo,
) -> tuple[int, int, int, int]:
    """A box ``(x, y, w, h)`` safely around all text of ``events``: they are bottom-centred, so the text
    ends at the bottom margin, rises by its lines (libass lines are about ``Fontsize`` tall) and spreads
    from the middle by half its widest line (measured with the font), plus the border; half a line
    (half an em) to spare on each side."""
    w, h = size
    _, _, (_, bottom) = _geometry(style, lang, size, safe)
    lines = [ln for e in events for ln in e.text.split("\\N")]
    rows = max((e.text.count("\\N") + 1 for e in events), default=1)
    border = (style.box_padding_px if style.border == "box" else style.outline_px + style.shadow_px) * h / REF_H
    line, em = fontsize * 1.25, fontsize / font.libass_ratio
    half = max((advance(ln, font) for ln in lines), default=0.0) * em / 2 + em / 2 + 2 * border
    x0, x1 = max(0, int(w / 2 - half)), min(w, math.ceil(w / 2 + half))
    y0, y1 = max(0, int(h - bottom - (rows + 0.5) * line - 2 * border)), min(h, int(h - bottom + line / 2 + 2 * border))
    return x0, y0, x1 - x0, y1 - y0
