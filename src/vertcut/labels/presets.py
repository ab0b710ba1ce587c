"""Label presets (``presets/label/*.toml``): what a required on-screen label shows, where, when and how
large. Sizes and margins are for a 1080x1920 frame and scale with the picture."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..presets import register_kind

__all__ = ["ANCHORS", "LabelPreset"]

ANCHORS = ("top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right")
Anchor = Literal["top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right"]


@dataclass(frozen=True)
class LabelPreset:
    content: Literal["text", "image"] = "text"
    # text: a template; {name} is filled from the job (episode, episodes, next, tier, series, distributor)
    # or from --label-value name=VALUE
    text: str = ""
    paid_text: str = ""  # the text on paid episodes, when it differs
    image: str = ""  # image labels: a PNG (with alpha) path, or a template such as "{logo}"
    anchor: Anchor = "top-left"
    margin_px: int = 24  # from the safe area's edges
    size_px: float = 30.0  # text: ink height of 田; image: its width
    when: Literal["start", "whole", "end"] = "whole"
    seconds: float = 5.0  # how long, for "start" and "end"
    opacity: float = 1.0
    text_colour: str = "#FFFFFF"
    outline_colour: str = "#000000"
    outline_px: float = 2.0
    bold: bool = False
    lang: str = "zh"  # picks the font
    safe_area: str = "douyin"  # the platform UI the label must stay clear of (presets/safearea)
    # container tags (templates as text) every output file of the episode carries: the implicit label
    implicit: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.content == "text" and not self.text:
            raise ValueError("a text label needs 'text'")
        if self.content == "image" and not self.image:
            raise ValueError("an image label needs 'image'")
        if not 0 < self.opacity <= 1:
            raise ValueError("opacity must be within (0, 1]")
        if self.size_px <= 0 or self.seconds <= 0:
            raise ValueError("size_px and seconds must be positive")
        for key in ("text_colour", "outline_colour"):
            v = getattr(self, key)
            if not (isinstance(v, str) and len(v) == 7 and v.startswith("#")):
                raise ValueError(f"{key} must be a #RRGGBB colour, got {v!r}")
            int(v[1:], 16)


register_kind("label", LabelPreset)
