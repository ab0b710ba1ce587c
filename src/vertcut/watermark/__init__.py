"""An invisible forensic watermark per distributor: a key-seeded, low-frequency luma pattern carrying a
32-bit payload, embedded frame by frame in the render loop and detected from a delivered file.

::

    key = WatermarkKey.parse(hex_digits)
    emb = Embedder(key, payload_for("douyin-cn"))
    emb.apply(n, y)                     # frame n's uint8 luma plane, in place
    det = detect("leak.mp4", key, candidates=["douyin-cn", "kuaishou"])

The design, its statistics and the measured robustness are in ``docs/watermark.md``.
"""

from .detector import Detection, detect, detect_luma
from .embed import DEFAULT_STRENGTH, Embedder
from .key import WatermarkError, WatermarkKey, payload_for

__all__ = [
    "DEFAULT_STRENGTH",
    "Detection",
    "Embedder",
    "WatermarkError",
    "WatermarkKey",
    "detect",
    "detect_luma",
    "payload_for",
]
