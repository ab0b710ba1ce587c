"""The mark's layout, shared by the embedder and the detector.

The frame is a grid of :data:`GRID` cells in normalised frame coordinates (9:16: square cells, about
45 pixels on a 1080x1920 frame). :data:`PILOT_CELLS` cells carry the pilot (always +1), the others
:data:`CELLS_PER_BIT` cells each for the 40 code bits (32 payload bits and their CRC-8); which cell
carries what, and each cell's ±1 chip, are drawn from the key. A bit's cells take its sign
(1: +chip, 0: -chip). The cell values are upsampled smoothly (bicubic, pixel centres aligned) to any
frame size, so the mark is low-frequency.

In time, the whole pattern's sign follows a ±1 sequence of chips of :data:`CHIP_FRAMES` frames each,
drawn from the key in blocks of :data:`BLOCK_CHIPS` chips with as many + as - in every block.
"""

from __future__ import annotations

import functools
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from .key import WatermarkKey, crc8

__all__ = [
    "BITS",
    "BLOCK_CHIPS",
    "CHIP_FRAMES",
    "GRID",
    "PILOT_CELLS",
    "Layout",
    "chip_signs",
    "codeword",
    "decode_codeword",
    "layout",
    "upsample",
]

GRID = (42, 24)  # rows, columns: square cells on a 9:16 frame
PAYLOAD_BITS = 32
BITS = PAYLOAD_BITS + 8  # payload and CRC-8
PILOT_CELLS = 128
CELLS_PER_BIT = (GRID[0] * GRID[1] - PILOT_CELLS) // BITS  # 22
CHIP_FRAMES = 12  # frames per temporal chip (0.48 s at 25 fps)
BLOCK_CHIPS = 16  # chips per balanced block of the time sequence

F32 = npt.NDArray[np.float32]


class Layout:
    """Which cell carries what, and each cell's chip, for one key (see the module's docstring)."""

    def __init__(self, key: WatermarkKey) -> None:
        rng = key.seed("layout")
        n = GRID[0] * GRID[1]
        owner = np.full(n, -2, dtype=np.int16)  # -1: pilot, 0..39: code bit, -2: unused
        order = rng.permutation(n)
        owner[order[:PILOT_CELLS]] = -1
        for b in range(BITS):
            a = PILOT_CELLS + b * CELLS_PER_BIT
            owner[order[a : a + CELLS_PER_BIT]] = b
        self.owner = owner.reshape(GRID)
        self.chips = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=GRID).astype(np.float32)

    def cells(self, bits: npt.NDArray[np.int8]) -> F32:
        """The cell values (±1, 0 for unused cells) for code bits ``bits`` (40 values, 0 or 1)."""
        sign = np.where(np.asarray(bits) > 0, 1.0, -1.0).astype(np.float32)
        value = np.where(self.owner == -1, 1.0, np.where(self.owner >= 0, sign[np.maximum(self.owner, 0)], 0.0))
        return cast(F32, (value * self.chips).astype(np.float32))

    def basis(self) -> F32:
        """The cell values of the pilot and of each bit (set to 1) alone: shape (1 + BITS, *GRID)."""
        out = np.zeros((1 + BITS, *GRID), dtype=np.float32)
        for k in range(-1, BITS):
            out[k + 1] = np.where(self.owner == k, self.chips, 0.0)
        return out


@functools.lru_cache(maxsize=8)
def layout(key: WatermarkKey) -> Layout:
    return Layout(key)


def codeword(payload: int) -> npt.NDArray[np.int8]:
    """The 40 code bits of ``payload``: its 32 bits and their CRC-8, high bit first."""
    word = (payload << 8) | crc8(payload)
    return np.array([(word >> (BITS - 1 - i)) & 1 for i in range(BITS)], dtype=np.int8)


def decode_codeword(bits: npt.NDArray[np.int8]) -> tuple[int, bool]:
    """(payload, CRC matches) of 40 decoded bits."""
    word = 0
    for b in bits:
        word = (word << 1) | int(b)
    payload = word >> 8
    return payload, crc8(payload) == (word & 0xFF)


def chip_signs(key: WatermarkKey, first: int, count: int, label: str = "time") -> npt.NDArray[np.float32]:
    """The time sequence's signs of chips ``first`` .. ``first + count`` (``label``: another sequence,
    such as the detector's decoys)."""
    lo, hi = first // BLOCK_CHIPS, (first + count + BLOCK_CHIPS - 1) // BLOCK_CHIPS
    half = np.repeat(np.array([1.0, -1.0], dtype=np.float32), BLOCK_CHIPS // 2)
    blocks = [key.seed(label, b).permutation(half) for b in range(lo, hi)]
    seq = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    start = first - lo * BLOCK_CHIPS
    return cast(npt.NDArray[np.float32], seq[start : start + count].astype(np.float32))


def upsample(cells: F32, width: int, height: int) -> F32:
    """Cell values (``GRID`` or a stack of them) upsampled to width x height, pixel centres aligned, so
    that any frame size shows the same pattern in normalised coordinates."""
    if cells.ndim == 3:
        return np.stack([upsample(c, width, height) for c in cells])
    return cast(F32, cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC))
