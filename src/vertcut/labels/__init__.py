"""Required on-screen labels (filing number, AI-generated content, logo bug, end card, a visible
distributor mark) as presets, placed while planning and composited in the one-pass render."""

from .draw import LabelLayer, draw_labels
from .plan import LabelPlan, PlacedLabel, default_values, label_values, plan_labels
from .presets import LabelPreset

__all__ = [
    "LabelLayer", "LabelPlan", "LabelPreset", "PlacedLabel", "default_values", "draw_labels", "label_values",
    "plan_labels",
]  # fmt: skip
