"""Placing the required labels of one episode: their text filled in, their box inside the platform's safe
area, their time on screen. Pure computation (no drawing, no ffmpeg): bad labels are refused while the
series is planned, before any encode.

A text label's box is measured with the font (advance widths, libass's ``Fontsize`` from the font's own
metrics, as the subtitles are); an image label's box is the image scaled to the preset's width.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..errors import LabelError
from ..presets import find_preset, load_preset
from ..subtitles.style import SafeArea, inside
from .presets import LabelPreset

__all__ = ["LabelPlan", "PlacedLabel", "default_values", "label_values", "plan_labels"]

REF_W, REF_H = 1080, 1920
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PlacedLabel:
    """One label of one episode, decided: plain data (it travels to executor tasks)."""

    name: str  # the preset's name
    content: str  # "text" or "image"
    text: str  # the text shown (text labels)
    image: str  # the image file (image labels)
    box: tuple[int, int, int, int]  # x, y, w, h in the picture (estimated for text; the drawing is checked)
    safe: tuple[int, int, int, int]  # the safe area it must stay inside (x, y, w, h)
    start: Fraction  # seconds from the episode's first frame
    end: Fraction
    fontsize: float  # libass Fontsize (text)
    font: str  # font family (text)
    lang: str
    anchor: str
    opacity: float
    text_colour: str
    outline_colour: str
    outline_px: float
    bold: bool
    picture: tuple[int, int] = (REF_W, REF_H)  # the picture the box is in

    def to_json(self) -> dict[str, object]:
        """Plain JSON: what the label is, where and when (exact times as fractions), and how it is drawn
        (so ``vertcut check`` can draw it again and look for it in the delivered files)."""
        return {
            "name": self.name, "content": self.content, "text": self.text or None, "image": self.image or None,
            "box": list(self.box), "start": f"{self.start.numerator}/{self.start.denominator}",
            "end": f"{self.end.numerator}/{self.end.denominator}", "seconds": float(self.end - self.start),
            "picture": list(self.picture), "safe": list(self.safe),
            "style": {"fontsize": self.fontsize, "font": self.font, "lang": self.lang, "anchor": self.anchor,
                      "opacity": self.opacity, "text_colour": self.text_colour,
                      "outline_colour": self.outline_colour, "outline_px": self.outline_px, "bold": self.bold},
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlacedLabel:
        """The label :meth:`to_json` wrote.

        Raises:
            LabelError: an entry without the drawing fields (written by an older vertcut) or malformed.
        """
        try:
            st = data["style"]
            x, y, w, h = (int(v) for v in data["box"])
            sx, sy, sw, sh = (int(v) for v in data["safe"])
            pw, ph = (int(v) for v in data["picture"])
            return cls(
                str(data["name"]), str(data["content"]), str(data.get("text") or ""), str(data.get("image") or ""),
                (x, y, w, h), (sx, sy, sw, sh), Fraction(str(data["start"])), Fraction(str(data["end"])),
                float(st["fontsize"]), str(st["font"]), str(st["lang"]), str(st["anchor"]), float(st["opacity"]),
                str(st["text_colour"]), str(st["outline_colour"]), float(st["outline_px"]), bool(st["bold"]),
                (pw, ph),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            raise LabelError(f"label entry {data.get('name', '?')!r} cannot be read ({exc!r})") from None


@dataclass(frozen=True)
class LabelPlan:
    """Every label of one episode and the container tags (the implicit labels) of its files."""

    labels: tuple[PlacedLabel, ...]
    metadata: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"labels": [lb.to_json() for lb in self.labels], "metadata": dict(self.metadata)}


def label_values(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings (``--label-value``) as a dict.

    Raises:
        LabelError: an entry without ``=`` or with a name that is not lower-case letters, digits, ``_``.
    """
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not _FIELD.match(name):
            raise LabelError(f"label value {pair!r} is not NAME=VALUE (NAME: lower-case letters, digits, _)")
        out[name] = value
    return out


def _fill(template: str, values: Mapping[str, str], preset: str) -> str:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    missing = sorted({n for n in names if n not in values})
    if missing:
        raise LabelError(
            f"label {preset!r} needs a value for {', '.join(missing)} (give it with --label-value {missing[0]}=...)"
        )
    try:
        return template.format_map(dict(values))
    except (ValueError, IndexError, KeyError) as exc:
        raise LabelError(f"label {preset!r}: bad template {template!r}: {exc}") from None


def _safe_rect(name: str, size: tuple[int, int]) -> tuple[int, int, int, int]:
    sa: SafeArea = load_preset("safearea", name)
    return sa.rect(size)


def _text_size(preset: LabelPreset, text: str, size: tuple[int, int]) -> tuple[int, int, float, str]:
    from ..subtitles.fonts import advance, font_for, missing_glyphs

    font = font_for(preset.lang)
    lines = [ln for ln in text.split("\n") if ln.strip()] or [" "]
    tofu = [ch for ln in lines for ch in missing_glyphs(ln, font)]
    if tofu:
        chars = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in dict.fromkeys(tofu))
        raise LabelError(f"{font.family} (lang {preset.lang}) has no glyph for {chars}")
    k = size[1] / REF_H
    em = preset.size_px * k * font.units_per_em / font.ideograph_height
    fontsize = round(em * font.libass_ratio, 1)
    border = preset.outline_px * k
    width = max(advance(ln, font) for ln in lines) * em * (1.08 if preset.bold else 1.0) + 2 * border
    height = fontsize * len(lines) + 2 * border
    return math.ceil(width), math.ceil(height), fontsize, font.family


def _image_size(preset: LabelPreset, path: str, size: tuple[int, int]) -> tuple[int, int]:
    import cv2

    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise LabelError(f"label {preset!r}: cannot read the image", path=path)
    ih, iw = img.shape[:2]
    w = max(2, round(preset.size_px * size[0] / REF_W))
    return w, max(2, round(w * ih / iw))


def _place(anchor: str, margin: int, bw: int, bh: int, safe: tuple[int, int, int, int]) -> tuple[int, int]:
    sx, sy, sw, sh = safe
    col = "left" if anchor.endswith("left") else "right" if anchor.endswith("right") else "centre"
    row = "top" if anchor.startswith("top") else "bottom" if anchor.startswith("bottom") else "middle"
    x = {"left": sx + margin, "right": sx + sw - margin - bw, "centre": sx + (sw - bw) // 2}[col]
    y = {"top": sy + margin, "bottom": sy + sh - margin - bh, "middle": sy + (sh - bh) // 2}[row]
    return x, y


def plan_labels(
    names: Sequence[str],
    values: Mapping[str, str],
    size: tuple[int, int],
    duration: Fraction,
) -> LabelPlan:
    """The labels ``names`` (presets of kind ``label``) for one episode of ``duration`` on a ``size``
    picture; ``values`` fill their templates (episode, episodes, tier, ... and the job's own values).

    Raises:
        PresetError: an unknown label preset; LabelError: a value missing, an image unreadable, text the
            font cannot show, or a label that does not fit inside its safe area.
    """
    placed, tags = [], []
    for name in names:
        preset: LabelPreset = load_preset("label", name)
        where = find_preset("label", name)
        safe = _safe_rect(preset.safe_area, size)
        text = image = ""
        fontsize, family = 0.0, ""
        if preset.content == "text":
            template = preset.paid_text if values.get("tier") == "paid" and preset.paid_text else preset.text
            text = _fill(template, values, name)
            if not text.strip():
                names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
                raise LabelError(
                    f"label {name!r} has nothing to show: give "
                    + " or ".join(f"--label-value {n}=..." for n in names or ["text"])
                    + (" (or --watermark ID)" if "distributor" in names else ""),
                    path=where,
                )
            try:
                bw, bh, fontsize, family = _text_size(preset, text, size)
            except LabelError as exc:
                raise LabelError(f"label {name!r}: {exc.message}", path=where) from None
        else:
            image = _fill(preset.image, values, name)
            bw, bh = _image_size(preset, image, size)
        margin = round(preset.margin_px * size[0] / REF_W)
        x, y = _place(preset.anchor, margin, bw, bh, safe)
        x, y = x // 2 * 2, y // 2 * 2
        box = (x, y, bw, bh)
        if not inside(box, safe):
            raise LabelError(
                f"label {name!r} ({bw}x{bh} px at {x},{y}) does not fit inside the {preset.safe_area} safe area "
                f"({safe[2]}x{safe[3]} px at {safe[0]},{safe[1]}) of the {size[0]}x{size[1]} picture",
                path=where,
            )
        seconds = Fraction(preset.seconds).limit_denominator(1000)
        if preset.when == "start":
            start, end = Fraction(0), min(duration, seconds)
        elif preset.when == "end":
            start, end = max(Fraction(0), duration - seconds), duration
        else:
            start, end = Fraction(0), duration
        outline = preset.outline_px * size[1] / REF_H
        placed.append(
            PlacedLabel(name, preset.content, text, image, box, safe, start, end, fontsize, family, preset.lang,
                        preset.anchor, preset.opacity, preset.text_colour, preset.outline_colour, outline,
                        preset.bold, size)
        )  # fmt: skip
        for key, template in preset.implicit.items():
            filled = _fill(template, values, name)
            if key == "AIGC":  # must stay valid JSON
                try:
                    json.loads(filled)
                except ValueError as exc:
                    raise LabelError(f"label {name!r}: implicit {key} is not JSON: {exc}", path=where) from None
            tags.append((key, filled))
    return LabelPlan(tuple(placed), tuple(tags))


def default_values(
    *, episode: int, episodes: int, tier: str, series: str, distributor: str, given: Mapping[str, str]
) -> dict[str, str]:
    """The values every label template may use, then the job's own (which win)."""
    base = {
        "episode": str(episode), "episodes": str(episodes), "next": str(min(episode + 1, episodes)), "tier": tier,
        "series": series, "producer": "", "distributor": distributor,
        "propagate_id": f"{distributor}-{series}-{episode}" if distributor else "",
    }  # fmt: skip
    return {**base, **given}
