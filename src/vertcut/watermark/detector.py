"""Detection: accumulate the file's luma against the key's time sequence, find the geometry, read the bits.

1. Every frame's luma is averaged down to :data:`WORK` pixels. At each chip boundary where the key's
   sign flips, the mean of the k frames after it minus the mean of the k before (k of 1, 2 or 4:
   the one with the least energy, so moving pictures take 1 frame and still ones 4) holds twice the
   mark and little of the picture; each pixel of it is weighed by the inverse of its neighbourhood's
   energy (motion, cuts count less). ``A`` is the sum of those, signed by the flip.
2. The geometry (scale about the centre, offset) is the one where ``A`` best matches the pilot's
   template (normalised cross-correlation over :data:`SCALES` and every whole-pixel offset up to
   :data:`MAX_OFFSET` of the frame): the hypotheses the p-value counts.
3. The null: :data:`DECOYS` random cell templates orthogonal to every pattern the key can embed,
   correlated with ``A`` at that geometry, show how ``A`` correlates with a template that holds no
   mark (the picture's residue, another key's mark). The z-score is the pilot's correlation over the
   decoys' root mean square at the same norm; the family-wise p-value the one-sided Gaussian tail
   times the hypotheses.
4. The bits: the geometry refined near the grid's best for the whole pattern, each bit the sign of its
   cells' correlation, one error (the least sure bit) corrected by the CRC-8. Found: p <
   :data:`P_FOUND` and the CRC matches. ``docs/watermark.md`` has the measurements behind each step.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError, NoVideoStreamError
from ..ffmpeg import FFmpeg
from ..media.probe import open_container
from ..media.threads import decode_threads, in_background
from ..progress import ProgressSink, Reporter
from .key import WatermarkKey, payload_for
from .pattern import BITS, BLOCK_CHIPS, CHIP_FRAMES, GRID, chip_signs, decode_codeword, layout, upsample

__all__ = ["DECOYS", "P_FOUND", "SCALES", "WORK", "Accumulator", "Detection", "decide", "detect", "detect_luma"]

WORK = (GRID[1] * 4, GRID[0] * 4)  # (width, height) the detector works at: 4 pixels a cell
DECOYS = 256
SCALES = tuple(round(0.80 + 0.01 * i, 2) for i in range(41))  # 0.80 .. 1.20
MAX_OFFSET = 0.06  # of the frame's width and height, each way
P_FOUND = 1e-6
_EPS = 0.05  # luma levels squared: the floor of a boundary's local residual energy (its weight's ceiling)
_SIDE = (1, 2, 4)  # frames averaged each side of a chip boundary: the one with the least residual is used
_LOCAL_SIGMA = 3.0  # working pixels: the neighbourhood whose residual energy weighs each pixel

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found.

    ``z``: the pilot's z-score against the decoy templates at the geometry found; ``p_value``: the family-wise
    probability of a z as high on a file without this key's mark (tail times the geometries
    searched); ``bits_ok``: the decoded bits' CRC-8 matches (``corrected``: after flipping the least
    sure bit); ``found``: p < 1e-6 and bits_ok;
    ``payload``: the decoded 32-bit code when found; ``distributor``: the candidate id with that
    payload; ``scale``, ``offset``: the geometry (the picture scaled about its centre by ``scale``,
    then shifted by ``offset`` (x, y) in fractions of the frame); ``frames``: frames read;
    ``hypotheses``: geometries searched; ``bit_z``: the weakest bit's z-score.
    """

    found: bool
    payload: int | None
    distributor: str | None
    z: float
    p_value: float
    bits_ok: bool
    scale: float
    offset: tuple[float, float]
    frames: int
    hypotheses: int
    bit_z: float
    corrected: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["offset"] = list(self.offset)
        return d


def _luma(frame: Any) -> npt.NDArray[np.uint8]:
    if frame.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "gray"):
        frame = frame.reformat(format="gray")
    p = frame.planes[0]
    return np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]


def small_luma(y: npt.NDArray[np.uint8]) -> F32:
    """A luma plane averaged down to the detector's working size (float levels)."""
    return cast(F32, cv2.resize(y, WORK, interpolation=cv2.INTER_AREA).astype(np.float32))


class Accumulator:
    """Step 1 of the module's docstring, fed one working-size frame at a time (memory: ``A`` and a few
    frames, whatever the length)."""

    def __init__(self, key: WatermarkKey) -> None:
        self.key = key
        self.a = np.zeros(WORK[0] * WORK[1], dtype=np.float64)
        self.frames = 0
        self.boundaries = 0  # chip boundaries where the key's sign flips (what carries the mark)
        self._recent: deque[F32] = deque(maxlen=2 * _SIDE[-1])
        self._block = -1
        self._signs = np.zeros(0, dtype=np.float32)

    def add(self, small: F32) -> None:
        self._recent.append(small)
        self.frames += 1
        f = self.frames - _SIDE[-1]  # the boundary whose frames after it are all here
        if f > 0 and f % CHIP_FRAMES == 0:
            self._boundary(f, self.frames)

    def _sign(self, chip: int) -> float:
        block = chip // BLOCK_CHIPS
        if block != self._block:
            self._signs = chip_signs(self.key, block * BLOCK_CHIPS, BLOCK_CHIPS)
            self._block = block
        return float(self._signs[chip - block * BLOCK_CHIPS])

    def _boundary(self, f: int, end: int) -> None:
        """Adds the boundary before frame ``f`` (frames up to ``end`` read), if the key's sign flips there."""
        c = f // CHIP_FRAMES
        flip = self._sign(c) - self._sign(c - 1)  # -2, 0 or 2
        if not flip:
            return
        recent = list(self._recent)
        base = end - len(recent)  # frame index of recent[0]
        best: tuple[float, F32] | None = None
        for k in _SIDE:
            if f - k < base or f + k > end:
                continue
            after = sum(recent[f - base + i] for i in range(k))
            before = sum(recent[f - base - 1 - i] for i in range(k))
            e = cast(F32, (after - before) / np.float32(k))
            e -= e.mean()
            energy = float(np.mean(e * e))
            if best is None or energy < best[0]:
                best = (energy, e)
        if best is None:
            return
        e = best[1]
        local = cv2.GaussianBlur(e * e, (0, 0), _LOCAL_SIGMA)
        self.a += flip * (e / (local + _EPS)).ravel()
        self.boundaries += 1

    def finish(self) -> F32:
        """``A`` at the working size."""
        end = self.frames
        f = (max(0, end - _SIDE[-1]) // CHIP_FRAMES + 1) * CHIP_FRAMES
        while f < end:  # boundaries too near the end for every side length
            self._boundary(f, end)
            f += CHIP_FRAMES
        self._recent.clear()
        return self.a.astype(np.float32).reshape(WORK[1], WORK[0])


def _warp(img: F32, scale: float, dx: float, dy: float, size: tuple[int, int], margin: tuple[int, int]) -> F32:
    """The observed working-size image ``img`` seen in canonical coordinates: a canvas of ``size``
    whose pixel (mx, my) is the canonical frame's top-left, for a picture scaled by ``scale`` about
    the centre and shifted by (dx, dy) working pixels."""
    w, h = WORK
    mx, my = margin
    # canvas pixel xc -> canonical x = xc - mx -> observed x = s (x + .5 - w/2) + w/2 - .5 + dx
    ox = scale * (0.5 - mx - w / 2) + w / 2 - 0.5 + dx
    oy = scale * (0.5 - my - h / 2) + h / 2 - 0.5 + dy
    m = np.array([[scale, 0.0, ox], [0.0, scale, oy]], dtype=np.float64)
    return cast(
        F32,
        cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT),
    )


def _q(z: float) -> float:
    """One-sided Gaussian tail P(Z > z)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def detect_luma(
    frames: Iterable[npt.NDArray[np.uint8] | F32],
    key: WatermarkKey,
    *,
    candidates: Iterable[str] = (),
    small: bool = False,
    search: bool = True,
) -> Detection:
    """:func:`detect` on luma planes (uint8, any size; with ``small``, already at :data:`WORK` as float).
    ``search=False`` takes the geometry as it is (scale 1, no offset: one hypothesis), to check the
    null's calibration."""
    acc = Accumulator(key)
    for y in frames:
        acc.add(cast(F32, y) if small else small_luma(cast(npt.NDArray[np.uint8], y)))
    return decide(acc, key, candidates, search)


@functools.cache
def _adjoint() -> tuple[F32, F32]:
    """(U_y, U_x^T) with ``upsample(cells) == U_y @ cells @ U_x^T`` at the working size (bicubic is
    separable), so ``U_y^T @ image @ U_x`` is every cell's correlation with an image at once."""
    w, h = WORK
    uxt = cv2.resize(np.eye(GRID[1], dtype=np.float32), (w, GRID[1]), interpolation=cv2.INTER_CUBIC)
    uy = cv2.resize(np.eye(GRID[0], dtype=np.float32), (GRID[0], h), interpolation=cv2.INTER_CUBIC)
    return cast(F32, uy), cast(F32, uxt)


@functools.lru_cache(maxsize=8)
def _decoys(key: WatermarkKey) -> npt.NDArray[np.float64]:
    """:data:`DECOYS` random cell templates of unit norm, orthogonal to every pattern the key can embed:
    correlated with ``A``, they see what ``A`` holds besides this key's mark (the picture's residue,
    another key's mark, which the null must include) and nothing of the mark. A cell's response to an
    embedded cell is spread over its neighbours (the overlap of the upsampling kernels, the Gram matrix
    ``G``), so the templates are orthogonal to the pilot's and the bits' cells and to those blurred by
    ``G`` (measured: z 14.4 against 19.5 on a marked clip when only the cells themselves are left out)."""
    basis = layout(key).basis().astype(np.float64)
    uy, uxt = _adjoint()
    gy, gx = (uy.T @ uy).astype(np.float64), (uxt @ uxt.T).astype(np.float64)
    span = np.concatenate([basis.reshape(len(basis), -1), (gy @ basis @ gx).reshape(len(basis), -1)])
    q, _ = np.linalg.qr(span.T)
    t = key.seed("decoys").standard_normal((DECOYS, span.shape[1]))
    t -= (t @ q) @ q.T
    return cast(npt.NDArray[np.float64], t / np.linalg.norm(t, axis=1, keepdims=True))


def _search(a: F32, pilot: F32) -> tuple[float, float, float, int]:
    """The grid geometry where ``a`` best matches the pilot's template: (scale, dx, dy in working pixels,
    hypotheses searched)."""
    w, h = WORK
    mx, my = round(MAX_OFFSET * w), round(MAX_OFFSET * h)
    canvas = (w + 2 * mx, h + 2 * my)
    best = (-2.0, 1.0, 0, 0)
    for s in SCALES:
        view = _warp(a, s, 0.0, 0.0, canvas, (mx, my))
        res = cv2.matchTemplate(view, pilot, cv2.TM_CCORR_NORMED)
        _, peak, _, loc = cv2.minMaxLoc(res)
        if peak > best[0]:
            best = (float(peak), s, loc[0] - mx, loc[1] - my)
    _, scale, dx, dy = best
    # canonical (x, y) shows observed s (x - c) + c + s (dx, dy)
    return scale, scale * dx, scale * dy, len(SCALES) * (2 * mx + 1) * (2 * my + 1)


def _cells(images: Iterable[F32], scale: float, dx: float, dy: float) -> npt.NDArray[np.float64]:
    """Each image's correlation with every cell's template at a geometry: shape (images, cells)."""
    w, h = WORK
    uy, uxt = _adjoint()
    out = np.stack([uy.T @ _warp(img, scale, dx, dy, (w, h), (0, 0)) @ uxt.T for img in images])
    return out.reshape(len(out), -1).astype(np.float64)


def _refine(a: F32, basis: npt.NDArray[np.float64], scale: float, dx: float, dy: float) -> tuple[float, float, float]:
    """The geometry near the grid's best where the whole pattern (the pilot, and each bit whatever its
    sign) matches ``a`` best: steps of a quarter of the grid's, up to most of a grid step each way."""
    best = (-np.inf, scale, dx, dy)
    steps = (-0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75)
    for ds in steps:
        s = scale + 0.01 * ds
        for ex in steps:
            for ey in steps:
                r = basis @ _cells([a], s, dx + ex, dy + ey)[0]
                score = float(r[0] + np.abs(r[1:]).sum())
                if score > best[0]:
                    best = (score, s, dx + ex, dy + ey)
    return best[1], best[2], best[3]


def decide(acc: Accumulator, key: WatermarkKey, candidates: Iterable[str] = (), search: bool = True) -> Detection:
    """Steps 3 and 4 of the module's docstring on what ``acc`` gathered (may be called again, e.g. with
    ``search=False``: the geometry as it is, one hypothesis)."""
    ids = list(candidates)
    by_payload = {payload_for(i): i for i in ids}  # validates every id first
    a = acc.finish()
    w, h = WORK
    lay = layout(key)
    basis = lay.basis().reshape(1 + BITS, -1).astype(np.float64)  # the pilot's cells, then each bit's
    norms = np.linalg.norm(basis, axis=1)
    decoys = _decoys(key)
    scale, dx, dy, hypotheses = _search(a, upsample(lay.basis()[0], w, h)) if search else (1.0, 0.0, 0.0, 1)
    # the pilot's z on the grid (the family the p-value counts), against decoy templates of its norm
    cells = _cells([a], scale, dx, dy)[0]
    spread = float(np.sqrt(np.mean((decoys @ cells) ** 2))) or 1.0
    z = float(basis[0] @ cells / (norms[0] * spread)) if acc.boundaries else 0.0
    p = min(1.0, hypotheses * _q(z))
    # the bits where the whole pattern fits best
    if search and acc.boundaries:
        scale, dx, dy = _refine(a, basis, scale, dx, dy)
        cells = _cells([a], scale, dx, dy)[0]
        spread = float(np.sqrt(np.mean((decoys @ cells) ** 2))) or 1.0
    r = basis[1:] @ cells
    bit_z = r / (norms[1:] * spread)
    bits = (r > 0).astype(np.int8)
    payload, ok = decode_codeword(bits)
    corrected = 0
    if not ok:  # the CRC-8 has distance 4: one error is corrected safely; only the least sure bit is tried
        weakest = int(np.argmin(np.abs(r)))
        bits[weakest] ^= 1
        payload, ok = decode_codeword(bits)
        corrected = int(ok)
    ok = ok and acc.boundaries > 0
    found = ok and p < P_FOUND
    return Detection(
        found=found,
        payload=payload if found else None,
        distributor=by_payload.get(payload) if found else None,
        z=round(z, 3),
        p_value=p,
        bits_ok=ok,
        scale=round(scale, 4),
        offset=(round(dx / w, 4), round(dy / h, 4)),
        frames=acc.frames,
        hypotheses=hypotheses,
        bit_z=round(float(np.min(np.abs(bit_z))), 3) if acc.boundaries else 0.0,
        corrected=corrected if ok else 0,
    )


def detect(
    path: str | Path,
    key: WatermarkKey,
    *,
    candidates: Iterable[str] = (),
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
) -> Detection:
    """Look for ``key``'s mark in the video file ``path`` (frame 0 of the file taken as frame 0 of the
    marked episode).

    Args:
        candidates: distributor ids; the one whose :func:`payload_for` is the decoded payload is named.
        ffmpeg: the runner whose thread cap the decode follows (nothing is run through it).
        sink: progress.

    Raises:
        WatermarkError: a candidate id is malformed.
        InputError: the file is missing, not media or has no video stream.
    """
    ids = list(candidates)
    for i in ids:
        payload_for(i)
    rep = Reporter(sink, "watermark")
    threads = ffmpeg.threads if ffmpeg is not None else None
    acc = Accumulator(key)
    with open_container(path) as c:
        if not c.streams.video:
            raise NoVideoStreamError("no video stream to look for a watermark in", path=path)
        vs = c.streams.video[0]
        total = int(vs.frames or 0) or None
        decode_threads(vs, threads)
        rep.start(total, "frames")

        def produce(put: Any, stop: Any) -> None:
            for frame in c.decode(vs):
                if stop.is_set():
                    return
                put(small_luma(_luma(frame)))

        try:
            for k, small in enumerate(_frames(produce)):
                acc.add(small)
                if k % 25 == 0:
                    rep.advance(k, total, "frames")
        except (ValueError, OSError) as exc:  # PyAV's decode errors derive from these
            raise InvalidMediaError(f"decode failed after {acc.frames} frames: {exc}", path=path) from None
    det = decide(acc, key, ids)
    rep.end(f"z {det.z:.1f}, {'found' if det.found else 'not found'}")
    return det


def _frames(produce: Any) -> Iterator[F32]:
    yield from in_background(produce, maxsize=8, name="vertcut-watermark")
