"""Generate vertcut's sample master: a 75 s drama-like 1920x1080 25 fps clip and its side files.

Run from the repository root::

    python sample_media/make_sample.py [--out sample_media] [--crf 29] [--preset medium]

Everything is deterministic (fixed seeds) and built here from two photographs that
scikit-image ships (``skimage.data.astronaut``: NASA, public domain;
``skimage.data.camera``: CC0), so the outputs can be rebuilt anywhere without a
download. Outputs (see README.md next to this script):

* ``master.mp4`` -- H.264 High yuv420p BT.709, 25 fps CFR, 1875 frames, AAC 48 kHz stereo
* ``master.zh.srt``, ``master.en.srt`` -- subtitles on 40 ms frame boundaries
* ``markers.edl`` (DaVinci Resolve marker EDL), ``markers.csv`` -- three cliffhanger markers
* ``ground_truth.json`` -- cuts, the fade, shots, per-frame face boxes, markers, dialogue

Frames are rendered one at a time and piped to ffmpeg (memory stays flat).
The face in each photograph is located once with OpenCV's LBP frontal-face
cascade (``lbpcascade_frontalface``, shipped inside scikit-image as
``skimage.data.lbp_frontal_face_cascade_filename()``; the OpenCV 5 wheel has no
``CascadeClassifier`` and no bundled Haar files), and the face box is then
carried through the compositing, so the boxes in ``ground_truth.json`` are exact.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import skimage.data
from skimage.feature import Cascade

W, H = 1920, 1080
FPS = 25
FRAMES = 75 * FPS  # 1875
SAMPLE_RATE = 48000
DRIFT = 160  # backgrounds are this much wider than the frame and pan slowly
TIMELINE_START_HOURS = 1  # Resolve timelines start at 01:00:00:00

Box = tuple[int, int, int, int]  # x, y, w, h


# --- the cast: two photographs, cut out once ---------------------------------------------


@dataclass(frozen=True)
class CastSpec:
    name: str
    load: Callable[[], np.ndarray]  # -> BGR uint8
    face_hint: tuple[float, float, float, float]  # roughly where the face is (x, y, w, h), to pick a detection
    detect_upscale: float  # the cameraman's face is small: look for it in a 2x image
    head: tuple[int, int, int, int]  # ellipse (cx, cy, rx, ry) of the head: GrabCut seed
    body: tuple[tuple[int, int], ...]  # polygon of the shoulders: GrabCut seed
    mirror: bool = False  # use the photograph mirrored (all coordinates above are in the unmirrored one)


def _astronaut() -> np.ndarray:
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


def _camera() -> np.ndarray:
    return cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)


CAST_SPECS = (
    CastSpec(
        "astronaut",
        _astronaut,
        (176, 70, 93, 93),
        1.0,
        (222, 95, 72, 80),
        ((120, 165), (240, 168), (286, 182), (296, 232), (338, 262), (362, 310), (300, 360), (285, 430), (45, 430), (45, 300),
         (80, 230)),
    ),
    CastSpec(
        "camera",
        _camera,
        (205, 125, 50, 50),
        2.0,
        (214, 124, 58, 64),
        (
            (150, 185), (215, 195), (262, 180), (262, 140), (322, 135), (332, 185),
            (318, 240), (300, 298), (265, 300), (240, 312), (205, 305), (160, 352), (140, 380), (138, 440), (20, 440),
            (30, 330), (60, 250), (112, 200),
        ),
        # mirrored, the cameraman looks left; the frontal-face cascade also finds him far more reliably that way
        mirror=True,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    """A head-and-shoulders cut-out (source resolution) and where its face is inside it."""

    name: str
    bgr: np.ndarray  # float32 BGR
    alpha: np.ndarray  # float32 0..1
    face: tuple[float, float, float, float]  # x, y, w, h inside the cut-out
    source_face: tuple[float, float, float, float]  # the detection in the source photograph


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter) if inter > 0 else 0.0


def locate_face(
    gray: np.ndarray, hint: tuple[float, float, float, float], up: float, name: str
) -> tuple[float, float, float, float]:
    """The face in a source photograph, found by the LBP frontal-face cascade (verified against a hint)."""
    cascade = Cascade(skimage.data.lbp_frontal_face_cascade_filename())
    img = gray if up == 1 else cv2.resize(gray, None, fx=up, fy=up, interpolation=cv2.INTER_CUBIC)
    found = cascade.detect_multi_scale(
        img=img, scale_factor=1.2, step_ratio=1, min_size=(24, 24), max_size=(300, 300), min_neighbor_number=3
    )
    boxes = [(d["c"] / up, d["r"] / up, d["width"] / up, d["height"] / up) for d in found]
    best = max(boxes, key=lambda b: _iou(b, hint), default=None)
    if best is None or _iou(best, hint) < 0.3:
        raise SystemExit(f"the face detector did not find the face in skimage.data.{name}() (found {boxes})")
    return best


def cut_out(spec: CastSpec) -> Person:
    img = spec.load()
    hint, (cx, cy, rx, ry), body = spec.face_hint, spec.head, spec.body
    if spec.mirror:
        width = img.shape[1]
        img = np.ascontiguousarray(img[:, ::-1])
        hint = (width - hint[0] - hint[2], hint[1], hint[2], hint[3])
        cx = width - 1 - cx
        body = tuple((width - 1 - x, y) for x, y in body)
    face = locate_face(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), hint, spec.detect_upscale, spec.name)
    sil = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(sil, (cx, cy), (rx, ry), 0, 0, 360, 1, -1)
    cv2.fillPoly(sil, [np.array(body, np.int32)], 1)
    kernel = np.ones((3, 3), np.uint8)
    mask = np.full(img.shape[:2], cv2.GC_BGD, np.uint8)
    mask[cv2.dilate(sil, kernel, iterations=10) > 0] = cv2.GC_PR_BGD
    mask[sil > 0] = cv2.GC_PR_FGD
    mask[cv2.erode(sil, kernel, iterations=10) > 0] = cv2.GC_FGD
    cv2.setRNGSeed(1)
    cv2.grabCut(img, mask, None, np.zeros((1, 65)), np.zeros((1, 65)), 6, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # keep the largest blob (drops stray specks of sky), soften the edge
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if n > 1 else 1
    alpha = cv2.GaussianBlur((labels == keep).astype(np.float32), (0, 0), 1.0)
    ys, xs = np.nonzero(alpha > 0.01)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    alpha = alpha[y0:y1, x0:x1]
    # the body runs out of the cut-out at the bottom and the sides: fade it out there, no hard edges
    h, w = y1 - y0, x1 - x0
    alpha *= (np.clip((h - np.arange(h)) / (0.12 * h), 0, 1) ** 0.7).astype(np.float32)[:, None]
    side = np.minimum(np.arange(w), np.arange(w)[::-1]) / (0.05 * w)
    alpha *= (np.clip(side, 0, 1) ** 0.7).astype(np.float32)[None, :]
    return Person(
        spec.name,
        img[y0:y1, x0:x1].astype(np.float32),
        alpha,
        (float(face[0] - x0), float(face[1] - y0), float(face[2]), float(face[3])),
        tuple(float(v) for v in face),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Sprite:
    premul: np.ndarray  # float32 BGR * alpha
    inv_alpha: np.ndarray  # float32 1 - alpha, repeated over the 3 channels
    face: tuple[float, float, float, float]


def make_sprite(
    person: Person, scale: float, flip: bool, tint: tuple[float, float, float], fast: bool = False
) -> Sprite:
    h, w = person.alpha.shape
    nw, nh = round(w * scale), round(h * scale)
    sx, sy = nw / w, nh / h
    how = cv2.INTER_LINEAR if fast else cv2.INTER_CUBIC
    alpha = np.clip(cv2.resize(person.alpha, (nw, nh), interpolation=how), 0, 1)
    premul = cv2.resize(person.bgr * person.alpha[..., None], (nw, nh), interpolation=how)
    premul = np.clip(premul, 0, 255 * alpha[..., None])
    fx, fy, fw, fh = person.face
    face = (fx * sx, fy * sy, fw * sx, fh * sy)
    if flip:
        premul, alpha = premul[:, ::-1], alpha[:, ::-1]
        face = (nw - face[0] - face[2], face[1], face[2], face[3])
    # tinted, and never brighter than 255 where opaque, so that dst * (1 - a) + premul stays <= 255
    premul = np.ascontiguousarray(np.minimum(premul * np.array(tint, np.float32), 255 * alpha[..., None]))
    inv = np.ascontiguousarray(np.repeat((1 - alpha)[..., None], 3, axis=2))
    return Sprite(premul, inv, face)


# --- the shot list --------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    who: str
    start: tuple[float, float]  # face centre at the shot's first frame
    end: tuple[float, float]  # ... and at its last frame
    scale: tuple[float, float]  # cut-out scale at first / last frame
    easing: str = "static"  # static | linear | ease (smoothstep)
    flip: bool = False  # mirror (the cameraman looks left instead of right)
    bob: float = 0.0  # walking: vertical bounce in pixels, two steps a second


@dataclass(frozen=True)
class Shot:
    start: int
    end: int  # exclusive
    kind: str
    subject: str | None
    actors: tuple[Actor, ...]
    room: int  # which background
    pan: float  # background pan, pixels per frame (sign = direction)
    transition_in: str = "cut"


SHOTS = (
    Shot(0, 200, "dialogue", "astronaut", (Actor("astronaut", (620, 420), (620, 420), (2.4, 2.4)),), 0, 0.3, "start"),
    Shot(200, 455, "walk", "astronaut",
         (Actor("astronaut", (380, 440), (1520, 440), (2.2, 2.2), "linear", bob=7.0),), 1, -0.5),
    Shot(455, 640, "two_shot", None,
         (Actor("astronaut", (300, 500), (300, 500), (1.9, 1.9)),
          Actor("camera", (1640, 470), (1640, 470), (2.4, 2.4))), 2, 0.25),
    Shot(640, 800, "edge", "astronaut", (Actor("astronaut", (1700, 420), (1700, 420), (2.4, 2.4)),), 3, -0.3),
    Shot(800, 950, "no_face", None, (), 4, 0.4),
    Shot(950, 1150, "eased", "camera", (Actor("camera", (880, 450), (1040, 420), (2.8, 3.2), "ease"),), 5, 0.2),
    Shot(1150, 1396, "close_up", "astronaut",
         (Actor("astronaut", (1120, 440), (1120, 440), (3.0, 3.0)),), 6, -0.25, "fade"),
    Shot(1396, 1640, "walk", "camera",
         (Actor("camera", (1560, 430), (400, 430), (2.7, 2.7), "linear", bob=6.0),), 7, 0.5),
    Shot(1640, 1875, "dialogue", "astronaut",
         (Actor("astronaut", (1240, 430), (1240, 430), (2.6, 2.6)),), 8, -0.3),
)  # fmt: skip
FADE = {"start": 1144, "end": 1156, "mid": 1150, "kind": "fade_through_black"}  # end exclusive
HARD_CUTS = [s.start for s in SHOTS if s.transition_in == "cut"]
# the lamp of the no-face shot: centre path, eased left to right with a gentle swing
LAMP_RADIUS = 42

MARKER_NAMES = ("EP01 cliffhanger", "EP02 cliffhanger", "EP03 cliffhanger")
MARKER_FRAMES = (450, 950, 1400)  # 18.0 s (cut 455 is 5 later), 38.0 s (on cut 950), 56.0 s (cut 1396 is 4 earlier)
MARKER_COLOUR = "ResolveColorRed"

# (start frame, end frame exclusive, speaker, Chinese, English); 40 ms frame edges
CUES = (
    (12, 70, "astronaut", "你终于肯回来见我了。", "So you finally came back to see me."),
    (80, 140, "astronaut", "这三年，你到底去了哪里？", "Where have you been these three years?"),
    (150, 195, "astronaut", "我有我的苦衷，别问了。", "I had my reasons. Don't ask."),
    (215, 290, "astronaut", "别跟着我！我不想听解释！", "Stop following me! I don't want excuses!"),
    (300, 375, "astronaut", "那份合同，是他们逼我签的。", "They forced me to sign that contract."),
    (385, 415, "astronaut", "你信我一次，好吗？", "Trust me just this once, okay?"),
    (425, 490, "astronaut", "其实……我才是你亲姐姐。", "The truth is... I'm your real sister."),  # straddles EP01
    (500, 560, "astronaut", "你为什么一直跟着我？", "Why do you keep following me?"),
    (570, 630, "camera", "因为我答应过你父亲。", "Because I made your father a promise."),
    (655, 755, "astronaut", "董事会我必须到场，谁也拦不住我，否则公司就完了！",
     "I must be at the board meeting. Nobody stops me, or the company is finished!"),  # the long line
    (762, 798, "astronaut", "今天我看谁敢拦我！", "Let's see who dares stop me today!"),
    (820, 900, "camera", "门外好像有人……", "Someone's outside the door..."),
    (905, 945, "camera", "到底是谁在那里？", "Who's out there?"),
    (965, 1040, "camera", "原来一切都是你安排的。", "So you planned all of this."),
    (1050, 1130, "camera", "我只是想保护你而已。", "I only wanted to protect you."),
    (1170, 1240, "astronaut", "别再骗我了！我不会再信你。", "Stop lying! I won't believe you again."),
    (1250, 1320, "astronaut", "你会为今天的选择后悔的。", "You'll regret what you chose today."),
    (1330, 1390, "astronaut", "那就让我后悔吧。", "Then let me regret it."),
    (1410, 1490, "camera", "我已经没有退路了。", "There's no way back for me now."),
    (1500, 1580, "camera", "明天，一切都会结束。", "Tomorrow, it all ends."),
    (1655, 1740, "astronaut", "妈妈留下的那封信，你看过吗？", "Have you read the letter Mom left?"),
    (1750, 1830, "astronaut", "信里写着你的真实身份。", "It says who you really are."),
    (1840, 1870, "astronaut", "你……到底是谁？", "Who... are you, really?"),
)  # fmt: skip
LONG_CUE = 9  # index of the deliberately long Chinese line


def nearest_cut(frame: int) -> int:
    return min(HARD_CUTS, key=lambda c: abs(c - frame))


def check_tables() -> None:
    """Fail loudly if the hand-written tables contradict the brief of the sample."""
    assert SHOTS[0].start == 0 and SHOTS[-1].end == FRAMES
    assert all(a.end == b.start for a, b in itertools.pairwise(SHOTS))
    assert len(HARD_CUTS) >= 6 and FADE["mid"] in [s.start for s in SHOTS if s.transition_in == "fade"]
    on_cut = [f for f in MARKER_FRAMES if f in HARD_CUTS]
    assert len(on_cut) == 1, on_cut
    assert all(0 < abs(f - nearest_cut(f)) <= 7 for f in MARKER_FRAMES if f not in HARD_CUTS)
    assert 15 <= len(CUES) <= 25
    for i, (a, b, _who, zh, _en) in enumerate(CUES):
        assert 0 <= a < b <= FRAMES
        assert (len(zh) >= 22) if i == LONG_CUE else (8 <= len(zh) <= 18), zh
    assert all(CUES[i][1] <= CUES[i + 1][0] for i in range(len(CUES) - 1))
    straddle = [c for c in CUES if any(c[0] < m < c[1] for m in MARKER_FRAMES)]
    assert len(straddle) == 1, straddle


# --- pictures ------------------------------------------------------------------------------

# (wall top, wall bottom, floor, accent), BGR; one per room, distinct so that cuts are obvious
ROOMS = (
    ((150, 170, 200), (70, 90, 120), (40, 50, 70), (60, 120, 200)),  # warm beige living room
    ((120, 150, 110), (50, 80, 60), (30, 45, 40), (140, 190, 120)),  # green corridor
    ((190, 150, 120), (110, 80, 60), (60, 40, 30), (220, 180, 140)),  # blue office
    ((110, 100, 150), (60, 50, 90), (40, 30, 50), (120, 110, 220)),  # dusky red bedroom
    ((70, 45, 35), (30, 20, 15), (15, 10, 8), (160, 110, 80)),  # night: dark blue room
    ((140, 190, 210), (70, 110, 140), (40, 60, 80), (90, 160, 230)),  # golden study
    ((170, 160, 130), (90, 80, 60), (50, 45, 35), (200, 200, 170)),  # teal hospital room
    ((130, 110, 170), (70, 60, 100), (40, 35, 60), (150, 120, 210)),  # mauve stairwell
    ((160, 175, 185), (90, 100, 110), (55, 60, 65), (120, 140, 160)),  # grey kitchen
)
TINTS = (
    (0.95, 1.0, 1.05), (0.97, 1.02, 1.0), (1.05, 1.0, 0.95), (1.0, 0.97, 1.06), (1, 1, 1),
    (0.92, 1.0, 1.08), (1.04, 1.02, 0.96), (1.0, 0.98, 1.04), (1.0, 1.0, 1.0),
)  # fmt: skip


def room(index: int) -> np.ndarray:
    """A soft-focus interior, ``DRIFT`` pixels wider than the frame (uint8 BGR)."""
    top, bottom, floor, accent = (np.array(c, np.float32) for c in ROOMS[index])
    rng = np.random.default_rng(100 + index)
    w = W + DRIFT
    t = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    img = np.repeat(top * (1 - t) + bottom * t, w, axis=1)
    floor_y = int(H * rng.uniform(0.74, 0.82))
    img[floor_y:] = floor + (bottom - floor) * 0.25
    cv2.rectangle(img, (0, floor_y - 14), (w, floor_y), tuple(float(c) for c in bottom * 0.8), -1)  # skirting
    # wall panels, a window and a door frame: big soft shapes, different per room
    x = int(rng.uniform(-150, 100))
    while x < w:
        pw = int(rng.uniform(260, 420))
        shade = tuple(float(c) for c in (top * 0.88 + bottom * 0.12) * rng.uniform(0.9, 1.08))
        cv2.rectangle(img, (x + 20, int(H * 0.18)), (x + pw - 20, floor_y - 60), shade, 10)
        x += pw
    wx = int(rng.uniform(150, w - 700))
    ww, wh = int(rng.uniform(380, 520)), int(rng.uniform(360, 460))
    wy = int(H * rng.uniform(0.12, 0.2))
    sky = np.clip(accent * 1.25 + 40, 0, 255) if index != 4 else np.array((140, 90, 60), np.float32)
    cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), tuple(float(c) for c in sky), -1)
    frame_c = tuple(float(c) for c in bottom * 0.6)
    cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), frame_c, 18)
    cv2.line(img, (wx + ww // 2, wy), (wx + ww // 2, wy + wh), frame_c, 12)
    cv2.line(img, (wx, wy + wh // 2), (wx + ww, wy + wh // 2), frame_c, 12)
    dx = (wx + ww + int(rng.uniform(250, 500))) % (w - 300)
    cv2.rectangle(img, (dx, int(H * 0.2)), (dx + 260, floor_y), tuple(float(c) for c in bottom * 0.75), -1)
    cv2.rectangle(img, (dx, int(H * 0.2)), (dx + 260, floor_y), tuple(float(c) for c in accent * 0.5), 14)
    # a practical light: warm glow somewhere on the wall
    gx, gy = int(rng.uniform(0.1, 0.9) * w), int(H * rng.uniform(0.25, 0.45))
    yy, xx = np.mgrid[0:H, 0:w].astype(np.float32)
    glow = np.exp(-(((xx - gx) / 420) ** 2 + ((yy - gy) / 300) ** 2))[..., None]
    img += glow * accent * 0.35
    img = cv2.GaussianBlur(img, (0, 0), 5)  # shallow depth of field: the room is out of focus
    grain = cv2.GaussianBlur(rng.normal(0, 1, (H, w)).astype(np.float32), (0, 0), 2.0)
    img += (grain / grain.std() * 3.5)[..., None]  # fixed texture, pans with the room: not flat
    vignette = 1 - 0.35 * (((xx - w / 2) / (w / 2)) ** 2 * 0.6 + ((yy - H / 2) / (H / 2)) ** 2 * 0.4)
    img *= vignette[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _ease(t: float, how: str) -> float:
    if how == "ease":
        return t * t * (3 - 2 * t)
    return t if how == "linear" else 0.0


def composite(frame: np.ndarray, sprite: Sprite, cx: float, cy: float) -> Box | None:
    """Paste ``sprite`` with its face centred near (cx, cy); return the face box in the frame (clipped)."""
    fx, fy, fw, fh = sprite.face
    h, w = sprite.inv_alpha.shape[:2]
    x0, y0 = round(cx - fx - fw / 2), round(cy - fy - fh / 2)
    dx0, dy0, dx1, dy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if dx1 > dx0 and dy1 > dy0:
        sx0, sy0 = dx0 - x0, dy0 - y0
        sl = (slice(sy0, sy0 + dy1 - dy0), slice(sx0, sx0 + dx1 - dx0))
        region = frame[dy0:dy1, dx0:dx1].astype(np.float32)
        cv2.multiply(region, sprite.inv_alpha[sl], dst=region)
        cv2.add(region, sprite.premul[sl], dst=region)
        frame[dy0:dy1, dx0:dx1] = region.astype(np.uint8)
    bx0, by0 = max(0, round(x0 + fx)), max(0, round(y0 + fy))
    bx1, by1 = min(W, round(x0 + fx + fw)), min(H, round(y0 + fy + fh))
    return (bx0, by0, bx1 - bx0, by1 - by0) if bx1 > bx0 and by1 > by0 else None


@functools.cache
def _lamp_glow() -> np.ndarray:
    r = 260
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    d2 = (xx**2 + yy**2) / 110.0**2
    glow = np.exp(-d2)[..., None] * np.array((90, 170, 235), np.float32)
    core = np.clip((LAMP_RADIUS + 1.5 - np.sqrt(xx**2 + yy**2)) / 3, 0, 1)[..., None] * 255
    return glow + core


def lamp_centre(local: int, span: int) -> tuple[int, int]:
    t = local / span
    return round(330 + 1260 * _ease(t, "ease")), round(600 - 160 * math.sin(math.pi * t))


def draw_lamp(frame: np.ndarray, cx: int, cy: int) -> None:
    glow = _lamp_glow()
    r = glow.shape[0] // 2
    x0, y0, x1, y1 = max(0, cx - r), max(0, cy - r), min(W, cx + r + 1), min(H, cy + r + 1)
    part = glow[y0 - (cy - r) : y1 - (cy - r), x0 - (cx - r) : x1 - (cx - r)]
    frame[y0:y1, x0:x1] = np.clip(frame[y0:y1, x0:x1].astype(np.float32) + part, 0, 255).astype(np.uint8)


class Renderer:
    def __init__(self) -> None:
        self.cast = {spec.name: cut_out(spec) for spec in CAST_SPECS}
        self._room_index = -1
        self._room: np.ndarray | None = None
        self._sprites: dict[tuple[str, float, bool, tuple[float, float, float]], Sprite] = {}

    def background(self, shot: Shot, local: int) -> np.ndarray:
        if shot.room != self._room_index:
            self._room, self._room_index = room(shot.room), shot.room
        assert self._room is not None
        base = 20 if shot.pan >= 0 else DRIFT - 20
        off = min(DRIFT, max(0, base + round(shot.pan * local)))
        return np.ascontiguousarray(self._room[:, off : off + W])

    def frame(self, index: int, shot: Shot) -> tuple[np.ndarray, list[dict[str, object]], Box | None]:
        local = index - shot.start
        span = max(1, shot.end - shot.start - 1)
        frame = self.background(shot, local)
        faces: list[dict[str, object]] = []
        lamp: Box | None = None
        if shot.kind == "no_face":
            cx, cy = lamp_centre(local, span)
            draw_lamp(frame, cx, cy)
            lamp = (cx - LAMP_RADIUS, cy - LAMP_RADIUS, 2 * LAMP_RADIUS, 2 * LAMP_RADIUS)
        for actor in shot.actors:
            k = _ease(local / span, actor.easing)
            scale = actor.scale[0] + (actor.scale[1] - actor.scale[0]) * k
            person, tint = self.cast[actor.who], TINTS[shot.room]
            key = (actor.who, scale, actor.flip, tint)
            if actor.scale[0] != actor.scale[1]:  # a push-in: a new size every frame
                sprite = make_sprite(person, scale, actor.flip, tint, fast=True)
            elif (sprite := self._sprites.get(key)) is None:
                if len(self._sprites) > 4:
                    self._sprites.clear()
                sprite = self._sprites[key] = make_sprite(person, scale, actor.flip, tint)
            cx = actor.start[0] + (actor.end[0] - actor.start[0]) * k
            cy = actor.start[1] + (actor.end[1] - actor.start[1]) * k
            cy -= actor.bob * abs(math.sin(math.pi * 2.0 * local / FPS))  # two steps a second
            box = composite(frame, sprite, cx, cy)
            if box is not None:
                faces.append({"id": actor.who, "x": box[0], "y": box[1], "w": box[2], "h": box[3]})
        if FADE["start"] <= index < FADE["end"]:
            frame = (frame.astype(np.float32) * fade_gain(index)).astype(np.uint8)
        return frame, faces, lamp


def fade_gain(index: int) -> float:
    """Fade through black: 1 -> 0 over the frames before ``mid``, 0 -> 1 after; mid-1 and mid are black."""
    half = (FADE["end"] - FADE["start"]) / 2
    return min(1.0, max(0.0, (abs(index - (FADE["mid"] - 0.5)) - 0.5) / (half - 0.5)))


# --- sound -----------------------------------------------------------------------------------

# vowel formants (F1, F2, F3) in Hz, roughly /a i u e o/
VOWELS = ((750, 1200, 2500), (300, 2250, 3000), (320, 850, 2300), (500, 1850, 2550), (520, 900, 2450))
# Mandarin-like tone contours in semitones over a syllable: level, rising, dipping, falling
TONES = ((2.0, 2.0, 2.0), (-1.0, 0.5, 3.0), (-2.0, -4.0, 0.0), (4.0, 1.0, -3.0))
VOICE_F0 = {"astronaut": 205.0, "camera": 118.0}


@functools.cache
def _table(kind: str) -> np.ndarray:
    """One period (4096 samples) of a harmonic waveform: glottal-like 1/h series, or a soft pad tone."""
    phase = np.arange(4096) * 2 * np.pi / 4096
    if kind == "glottal":  # 40 harmonics: below Nyquist up to f0 = 600 Hz
        return sum(np.sin(h * phase) / h for h in range(1, 41))  # type: ignore[return-value]
    return np.sin(phase) + 0.35 * np.sin(2 * phase) + 0.12 * np.sin(3 * phase)


def _wavetable(kind: str, cycles: np.ndarray) -> np.ndarray:
    """Band-limited oscillator: ``cycles`` is the running phase in periods (f * t, or a cumulative sum)."""
    table = _table(kind)
    pos = (cycles % 1.0) * len(table)
    i = pos.astype(np.int64)
    frac = pos - i
    return table[i] * (1 - frac) + table[(i + 1) % len(table)] * frac


def _formant_response(freqs: np.ndarray, formants: tuple[int, ...], shift: float) -> np.ndarray:
    out = np.zeros_like(freqs)
    for k, f in enumerate(formants):
        f *= shift
        bw = 80 + 0.08 * f
        out += (1.0 / (1 + k)) / (1 + ((freqs - f) / bw) ** 2)
    return out


def syllable(rng: np.random.Generator, n: int, f0: float, female: bool) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    tone = TONES[int(rng.integers(len(TONES)))]
    u = np.linspace(0, 1, n)
    semis = np.interp(u, (0, 0.5, 1), tone)
    pitch = f0 * 2 ** (semis / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))  # a little vibrato
    src = _wavetable("glottal", np.cumsum(pitch) / SAMPLE_RATE)
    spec = np.fft.rfft(src * np.hanning(n) ** 0.2)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    vowel = VOWELS[int(rng.integers(len(VOWELS)))]
    voiced = np.fft.irfft(spec * _formant_response(freqs, vowel, 1.17 if female else 1.0), n)
    att, rel = int(0.025 * SAMPLE_RATE), int(0.07 * SAMPLE_RATE)
    env = np.ones(n)
    env[:att] = np.sin(np.linspace(0, np.pi / 2, att)) ** 2
    env[-rel:] = np.cos(np.linspace(0, np.pi / 2, rel)) ** 2
    out = voiced * env / (np.abs(voiced).max() + 1e-9)
    if rng.random() < 0.6:  # a consonant: a short burst of band-passed noise at the onset
        m = int(rng.uniform(0.03, 0.07) * SAMPLE_RATE)
        noise = np.fft.rfft(rng.normal(0, 1, m))
        nf = np.fft.rfftfreq(m, 1 / SAMPLE_RATE)
        centre = rng.uniform(3000, 6000)
        burst = np.fft.irfft(noise * np.exp(-(((nf - centre) / 1200) ** 2)), m)
        burst *= np.linspace(1, 0, m) ** 1.5 / (np.abs(burst).max() + 1e-9)
        lead = min(m, n)
        out[:lead] = out[:lead] * np.linspace(0.2, 1, lead) + 0.35 * burst[:lead]
    return out * rng.uniform(0.7, 1.0)


def dialogue_track(n_total: int) -> np.ndarray:
    rng = np.random.default_rng(2024)
    voice = np.zeros(n_total)
    for a, b, who, _zh, _en in CUES:
        lo = a * SAMPLE_RATE // FPS + int(0.08 * SAMPLE_RATE)
        hi = b * SAMPLE_RATE // FPS - int(0.12 * SAMPLE_RATE)
        pos, in_word, declination = lo, 0, 1.0
        f0 = VOICE_F0[who]
        while True:
            n = int(rng.uniform(0.2, 0.32) * SAMPLE_RATE)  # 3-5 syllables a second
            if pos + n > hi:
                break
            voice[pos : pos + n] += syllable(rng, n, f0 * declination, who == "astronaut") * 0.55
            pos += n
            declination *= 0.985
            in_word += 1
            if in_word >= rng.integers(2, 5):  # a pause between words
                pos += int(rng.uniform(0.06, 0.16) * SAMPLE_RATE)
                in_word = 0
    return voice


def music_bed(n: int) -> np.ndarray:
    """A quiet pad: eight sustained chords (Am F C G Am F Dm E), slightly detuned left/right."""
    chords = (
        (110.0, 220.0, 261.63, 329.63), (87.31, 174.61, 220.0, 261.63), (130.81, 196.0, 261.63, 329.63),
        (98.0, 196.0, 246.94, 293.66), (110.0, 220.0, 261.63, 329.63), (87.31, 174.61, 220.0, 261.63),
        (73.42, 146.83, 220.0, 293.66), (82.41, 207.65, 246.94, 329.63),
    )  # fmt: skip
    out = np.zeros((n, 2))
    seg = n // len(chords)
    xf = int(1.5 * SAMPLE_RATE)
    for i, notes in enumerate(chords):
        lo = max(0, i * seg - xf // 2)
        hi = n if i == len(chords) - 1 else min(n, (i + 1) * seg + xf // 2)
        m = hi - lo
        t = np.arange(lo, hi) / SAMPLE_RATE
        env = np.minimum(1, np.minimum(np.arange(m), np.arange(m)[::-1]) / xf)
        env = np.sin(env * np.pi / 2) ** 2 * (1 + 0.08 * np.sin(2 * np.pi * 0.25 * t))
        for ch, detune in ((0, -0.4), (1, 0.4)):
            sig = sum(_wavetable("pad", (f + detune) * t) for f in notes)
            out[lo:hi, ch] += sig * env
    return out / np.abs(out).max() * 0.06  # about -24 dBFS peak


def audio() -> np.ndarray:
    n = FRAMES * SAMPLE_RATE // FPS
    voice = dialogue_track(n)
    voice = voice / np.abs(voice).max() * 0.6
    mix = music_bed(n) + voice[:, None] * np.array([0.95, 0.95])
    return np.clip(mix, -1, 1).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (samples * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


# --- side files ----------------------------------------------------------------------------


def srt_time(frame: int) -> str:
    ms = frame * 1000 // FPS  # exact: 40 ms per frame
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def timecode(frame: int, hours: int = 0) -> str:
    s, f = divmod(frame, FPS)
    return f"{hours + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


def write_side_files(out: Path) -> None:
    for lang, col in (("zh", 3), ("en", 4)):
        lines = []
        for i, cue in enumerate(CUES, 1):
            lines += [str(i), f"{srt_time(cue[0])} --> {srt_time(cue[1])}", str(cue[col]), ""]
        (out / f"master.{lang}.srt").write_text("\n".join(lines), encoding="utf-8")
    # DaVinci Resolve "Timeline Markers to EDL": one 1-frame event per marker, then the marker line
    edl = ["TITLE: vertcut sample master", "FCM: NON-DROP FRAME", ""]
    for i, (frame, name) in enumerate(zip(MARKER_FRAMES, MARKER_NAMES, strict=True), 1):
        a, b = timecode(frame, TIMELINE_START_HOURS), timecode(frame + 1, TIMELINE_START_HOURS)
        edl += [f"{i:03d}  001      V     C        {a} {b} {a} {b}  ", f" |C:{MARKER_COLOUR} |M:{name} |D:1", ""]
    (out / "markers.edl").write_text("\n".join(edl), encoding="utf-8")
    rows = ["frame,timecode,name,colour"]
    rows += [f"{f},{timecode(f)},{n},Red" for f, n in zip(MARKER_FRAMES, MARKER_NAMES, strict=True)]
    (out / "markers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_truth(
    out: Path, cast: dict[str, Person], faces: list[list[dict[str, object]]], lamp: list[Box | None]
) -> None:
    shots = []
    for s in SHOTS:
        shot: dict[str, object] = {
            "start": s.start, "end": s.end, "kind": s.kind, "subject": s.subject, "transition_in": s.transition_in,
            "actors": [
                {"id": a.who, "path": a.easing, "face_centre_start": list(a.start), "face_centre_end": list(a.end),
                 "scale": list(a.scale), "flip": a.flip, "bob_px": a.bob}
                for a in s.actors
            ],
        }  # fmt: skip
        shots.append(shot)
    lamp_frames = [i for i, b in enumerate(lamp) if b is not None]
    truth = {
        "fps": f"{FPS}/1",
        "frames": FRAMES,
        "width": W,
        "height": H,
        "conventions": "frame indices from 0; shot/fade/dialogue ends are exclusive; face boxes are the "
        "detector's face rectangle in the source photo carried through scaling/mirroring/placement, clipped to "
        "the frame; faces are listed in fade frames too (dimmed); actors' face_centre_* is the face-box centre "
        "before the walking bob, scale is relative to the source photo, flip mirrors the cut-out once more (on "
        "top of cast.mirrored); timecodes in markers.edl are timeline TC starting 01:00:00:00",
        "hard_cuts": HARD_CUTS,
        "fades": [FADE],
        "shots": shots,
        "markers": [
            {
                "frame": f,
                "name": n,
                "colour": MARKER_COLOUR,
                "nearest_cut": nearest_cut(f),
                "timeline_tc": timecode(f, TIMELINE_START_HOURS),
            }
            for f, n in zip(MARKER_FRAMES, MARKER_NAMES, strict=True)
        ],
        "dialogue": [[c[0], c[1]] for c in CUES],
        "dialogue_speakers": [c[2] for c in CUES],
        "long_cue": LONG_CUE + 1,
        "straddling_cue": 1 + next(i for i, c in enumerate(CUES) if any(c[0] < m < c[1] for m in MARKER_FRAMES)),
        "cast": {
            name: {
                "source": f"skimage.data.{name}()",
                "mirrored": spec.mirror,
                "source_face_box": [round(v, 2) for v in p.source_face],
                "cutout_face_box": [round(v, 2) for v in p.face],
                "cutout_size": [p.alpha.shape[1], p.alpha.shape[0]],
                "face_located_by": "skimage.feature.Cascade(lbp_frontal_face_cascade_filename()) "
                "(OpenCV lbpcascade_frontalface)",
            }
            for spec in CAST_SPECS
            for name, p in [(spec.name, cast[spec.name])]
        },
        "objects": [
            {
                "id": "lamp",
                "start": lamp_frames[0],
                "end": lamp_frames[-1] + 1,
                "boxes": [list(b) for b in lamp if b is not None],
            },
        ],
        "licences": {
            "astronaut": "skimage.data.astronaut(): Eileen Collins, NASA (NASA Great Images); scikit-image "
            "docstring: 'No known copyright restrictions, released into the public domain.'",
            "camera": "skimage.data.camera(): scikit-image docstring: 'No copyright restrictions. CC0 by the "
            "photographer (Lav Varshney).'",
            "face_cascade": "lbpcascade_frontalface (OpenCV, BSD-3-Clause) as shipped in scikit-image",
            "generated": "backgrounds, lamp, audio, subtitles, markers and this file: generated by "
            "make_sample.py, MIT (same licence as vertcut)",
        },
    }
    truth["faces"] = faces
    text = compact_json(truth)
    assert json.loads(text) == json.loads(json.dumps(truth))  # valid, and nothing lost
    (out / "ground_truth.json").write_text(text, encoding="utf-8")


def compact_json(obj: dict[str, object]) -> str:
    """One top-level key per line; lists of objects/lists one element per line; no other indentation."""

    def one(v: object) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    parts = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], dict | list):
            parts.append(f" {one(key)}: [\n" + ",\n".join("  " + one(v) for v in value) + "\n ]")
        elif isinstance(value, dict) and value and all(isinstance(v, dict | str) for v in value.values()):
            parts.append(f" {one(key)}: {{\n" + ",\n".join(f"  {one(k)}: {one(v)}" for k, v in value.items()) + "\n }")
        else:
            parts.append(f" {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# --- main ------------------------------------------------------------------------------------


def ffmpeg_argv(wav: Path, dest: Path, crf: int, preset: str) -> list[str]:
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-framerate", str(FPS), "-i", "pipe:0",
        "-i", str(wav),
        "-map", "0:v:0", "-map", "1:a:0",
        # RGB -> Y'CbCr with the BT.709 matrix, limited range (swscale would use BT.601 otherwise)
        # (setparams: without it this ffmpeg writes primaries/transfer "unspecified" despite -color_primaries)
        "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
               "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high", "-g", "50",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
        "-c:a", "aac", "-b:a", "64k", "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-movflags", "+faststart", "-metadata", "title=vertcut sample master",
        str(dest),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    ap.add_argument("--crf", type=int, default=29, help="libx264 CRF (default 29)")
    ap.add_argument("--preset", default="medium", help="libx264 preset (default medium)")
    args = ap.parse_args(argv)
    check_tables()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    renderer = Renderer()
    faces: list[list[dict[str, object]]] = []
    lamp: list[Box | None] = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        write_wav(wav, audio())
        part = out / ".master.partial.mp4"
        proc = subprocess.Popen(ffmpeg_argv(wav, part, args.crf, args.preset), stdin=subprocess.PIPE)
        assert proc.stdin is not None
        try:
            shot_i = 0
            for index in range(FRAMES):
                while index >= SHOTS[shot_i].end:
                    shot_i += 1
                frame, boxes, lamp_box = renderer.frame(index, SHOTS[shot_i])
                faces.append(boxes)
                lamp.append(lamp_box)
                proc.stdin.write(memoryview(frame))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        if proc.wait() != 0:
            part.unlink(missing_ok=True)
            print("make_sample: ffmpeg failed", file=sys.stderr)
            return 1
        part.replace(out / "master.mp4")
    write_side_files(out)
    write_truth(out, renderer.cast, faces, lamp)
    size = (out / "master.mp4").stat().st_size
    print(f"make_sample: wrote {out} (master.mp4 {size / 1e6:.2f} MB) in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
