"""Embedding: add the key's pattern, carrying the payload, to each frame's luma plane."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from .key import WatermarkError, WatermarkKey
from .pattern import BLOCK_CHIPS, CHIP_FRAMES, chip_signs, codeword, layout, upsample

__all__ = ["DEFAULT_STRENGTH", "Embedder"]

DEFAULT_STRENGTH = 0.45  # the smooth pattern's peak, in luma levels, before rounding: docs/watermark.md
MAX_STRENGTH = 8.0

U8 = npt.NDArray[np.uint8]


class Embedder:
    """Marks frames with ``payload`` (32 bits) under ``key``.

    Plain data: it pickles to its key, payload and strength (the per-size pattern cache is rebuilt
    where it is used), so it can travel to worker processes.

    Args:
        key: the secret key.
        payload: the distributor's 32-bit code (:func:`~vertcut.watermark.payload_for`).
        strength: the smooth pattern's amplitude in 8-bit luma levels (0 < strength <= 8), before it is
            rounded to whole levels: at the default 0.45 the mark is +-1 level on about a quarter of the
            picture (where the pattern peaks) and 0 elsewhere; at 1.0 +-1 on 70 %; above 1, +-2 appears.

    Raises:
        WatermarkError: payload out of range or strength out of bounds.
    """

    def __init__(self, key: WatermarkKey, payload: int, strength: float = DEFAULT_STRENGTH) -> None:
        if not isinstance(key, WatermarkKey):
            raise WatermarkError("Embedder needs a WatermarkKey (WatermarkKey.parse or .generate)")
        if isinstance(payload, bool) or not isinstance(payload, int) or not 0 <= payload < 2**32:
            raise WatermarkError("a watermark payload is an integer from 0 to 2**32 - 1")
        strength = float(strength)
        if not 0.0 < strength <= MAX_STRENGTH:
            raise WatermarkError(f"watermark strength must be above 0 and at most {MAX_STRENGTH:g} luma levels")
        self.key = key
        self.payload = payload
        self.strength = strength
        self._planes: dict[tuple[int, int], tuple[U8, U8]] = {}
        self._block = -1
        self._signs = np.zeros(0, dtype=np.float32)

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key, "payload": self.payload, "strength": self.strength}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["key"], state["payload"], state["strength"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"Embedder({self.key!r}, payload={self.payload}, strength={self.strength:g})"

    def sign(self, n: int) -> int:
        """The pattern's sign on frame ``n`` of the episode (+1 or -1)."""
        if n < 0:
            raise WatermarkError(f"frame index must be 0 or more, not {n}")
        chip = n // CHIP_FRAMES
        block = chip // BLOCK_CHIPS
        if block != self._block:
            self._signs = chip_signs(self.key, block * BLOCK_CHIPS, BLOCK_CHIPS)
            self._block = block
        return 1 if self._signs[chip - block * BLOCK_CHIPS] > 0 else -1

    def pattern(self, width: int, height: int) -> npt.NDArray[np.float32]:
        """The signed pattern (luma levels, before rounding) for a width x height frame at sign +1."""
        cells = layout(self.key).cells(codeword(self.payload)) * np.float32(self.strength)
        return upsample(cells, width, height)

    def _split(self, shape: tuple[int, int]) -> tuple[U8, U8]:
        """The pattern at ``shape`` rounded to whole levels, as its positive and its negative part (two
        uint8 planes, for saturating adds). Rounded, not dithered: a dither is static noise that flips
        sign with the pattern, which x264 spends bits on (it doubled a test clip's size at CRF 18)."""
        got = self._planes.get(shape)
        if got is None:
            h, w = shape
            p = self.pattern(w, h)
            q = np.rint(p)
            got = (np.clip(q, 0, 255).astype(np.uint8), np.clip(-q, 0, 255).astype(np.uint8))
            if len(self._planes) >= 4:
                self._planes.pop(next(iter(self._planes)))
            self._planes[shape] = got
        return got

    def apply(self, n: int, y: U8) -> None:
        """Mark frame ``n`` (0-based, within the episode): ``y`` is its writable uint8 luma plane (any
        size), changed in place (saturating at 0 and 255)."""
        if y.dtype != np.uint8 or y.ndim != 2:
            raise WatermarkError(f"Embedder.apply takes a 2-D uint8 luma plane, not {y.dtype} {y.shape}")
        pos, neg = self._split((int(y.shape[0]), int(y.shape[1])))
        up, down = (pos, neg) if self.sign(n) > 0 else (neg, pos)
        cv2.add(y, up, dst=y)
        cv2.subtract(y, down, dst=y)
