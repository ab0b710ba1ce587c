"""The bundled sample master (sample_media/, made by sample_media/make_sample.py) matches its ground truth.

Only PyAV, NumPy, OpenCV and scikit-image are used here (no vertcut code), so a failure means the sample
media or the generator is wrong, not the package. Frames are decoded selectively (seek + short runs).
"""

from __future__ import annotations

import itertools
import json
import re
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "sample_media"
MASTER = SAMPLE / "master.mp4"
TRUTH = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
FPS = 25
HALF = (960, 540)  # frames are compared and searched for faces at half size


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter) if inter > 0 else 0.0


def read_frames(indices: list[int]) -> dict[int, np.ndarray]:
    """Half-size gray frames at the given decode indices: seek to the keyframe before, decode forward."""
    pending = sorted(set(indices))
    out: dict[int, np.ndarray] = {}
    with av.open(str(MASTER)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb, start = stream.time_base, stream.start_time or 0
        while pending:
            container.seek(start + int(Fraction(pending[0], FPS) / tb), stream=stream, backward=True)
            for frame in container.decode(stream):
                index = round((frame.pts - start) * tb * FPS)
                if index in pending:
                    out[index] = frame.reformat(width=HALF[0], height=HALF[1], format="gray").to_ndarray()
                    pending.remove(index)
                if not pending or pending[0] - index > 2 * FPS:  # done, or cheaper to seek again
                    break
            else:
                raise AssertionError(f"frames {pending} not found in {MASTER}")
    return out


def test_master_stream_properties() -> None:
    with av.open(str(MASTER)) as container:
        v = container.streams.video[0]
        a = container.streams.audio[0]
        cc = v.codec_context
        assert (cc.width, cc.height) == (1920, 1080) == (TRUTH["width"], TRUTH["height"])
        assert v.average_rate == Fraction(25) and TRUTH["fps"] == "25/1"
        assert v.codec_context.name == "h264" and cc.profile == "High" and cc.pix_fmt == "yuv420p"
        assert (cc.color_primaries, cc.color_trc, cc.colorspace) == (1, 1, 1)  # BT.709 tags
        assert a.codec_context.name == "aac" and a.rate == 48000 and a.channels == 2
        # CFR: exactly 1875 frames, one every 40 ms (demux only, no decode)
        pts = sorted(p.pts for p in container.demux(v) if p.pts is not None)
    assert len(pts) == TRUTH["frames"] == 1875
    steps = {round((b - a) * v.time_base * 1000, 6) for a, b in itertools.pairwise(pts)}
    assert steps == {40}
    assert MASTER.read_bytes()[:4096].find(b"moov") != -1  # +faststart: moov before mdat


def test_sample_media_is_small() -> None:
    size = sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file() and not p.name.startswith("."))
    assert size < 8_000_000


def test_ground_truth_is_consistent() -> None:
    frames, cuts = TRUTH["frames"], TRUTH["hard_cuts"]
    assert len(cuts) >= 6 and cuts == sorted(set(cuts)) and cuts[0] > 0 and cuts[-1] < frames
    assert len(TRUTH["fades"]) == 1
    fade = TRUTH["fades"][0]
    assert fade["kind"] == "fade_through_black" and 0 < fade["start"] < fade["mid"] < fade["end"] < frames
    assert all(not fade["start"] <= c < fade["end"] for c in cuts)
    shots = TRUTH["shots"]
    assert shots[0]["start"] == 0 and shots[-1]["end"] == frames
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(shots))
    assert sorted([*cuts, fade["mid"]]) == [s["start"] for s in shots[1:]]
    assert any(s["kind"] == "two_shot" for s in shots) and any(s["kind"] == "no_face" for s in shots)
    faces = TRUTH["faces"]
    assert len(faces) == frames
    for i, boxes in enumerate(faces):
        shot = next(s for s in shots if s["start"] <= i < s["end"])
        assert len(boxes) == len(shot["actors"]), i
        for b in boxes:
            assert b["w"] > 0 and b["h"] > 0 and b["x"] >= 0 and b["y"] >= 0
            assert b["x"] + b["w"] <= TRUTH["width"] and b["y"] + b["h"] <= TRUTH["height"]
    for m in TRUTH["markers"]:
        assert 0 < m["frame"] < frames and m["nearest_cut"] in cuts
        assert m["nearest_cut"] == min(cuts, key=lambda c: abs(c - m["frame"]))
        assert abs(m["frame"] - m["nearest_cut"]) <= 7  # within 0.3 s
    assert sum(m["frame"] == m["nearest_cut"] for m in TRUTH["markers"]) == 1
    dialogue = TRUTH["dialogue"]
    assert all(0 <= a < b <= frames for a, b in dialogue)
    assert all(x[1] <= y[0] for x, y in itertools.pairwise(dialogue))


def test_marker_files_agree_with_the_truth() -> None:
    text = (SAMPLE / "markers.edl").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[:3] == ["TITLE: vertcut sample master", "FCM: NON-DROP FRAME", ""]
    event = re.compile(r"^(\d{3})  001      V     C        (\S+) (\S+) (\S+) (\S+)  $")
    frames, names = [], []
    for i, line in enumerate(lines):
        if m := event.match(line):
            h, mi, s, f = (int(x) for x in m[2].split(":"))
            frames.append(((h - 1) * 3600 + mi * 60 + s) * FPS + f)  # timeline starts at 01:00:00:00
            assert m[2] == m[4] and m[3] == m[5]
            note = re.match(r"^ \|C:(\S+) \|M:(.+) \|D:1$", lines[i + 1])
            assert note is not None, lines[i + 1]
            names.append(note[2])
    truth = TRUTH["markers"]
    assert frames == [m["frame"] for m in truth] and names == [m["name"] for m in truth]
    rows = (SAMPLE / "markers.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "frame,timecode,name,colour"
    assert [int(r.split(",")[0]) for r in rows[1:]] == frames
    for row in rows[1:]:
        frame, tc = row.split(",")[:2]
        h, mi, s, f = (int(x) for x in tc.split(":"))
        assert ((h * 60 + mi) * 60 + s) * FPS + f == int(frame)


def _srt(path: Path) -> list[tuple[int, int, str]]:
    cues = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        _n, times, *text = block.splitlines()
        a, b = (
            ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)
            for h, m, s, ms in re.findall(r"(\d+):(\d+):(\d+),(\d+)", times)
        )
        cues.append((a, b, "\n".join(text)))
    return cues


def test_subtitles_follow_the_dialogue() -> None:
    zh, en = _srt(SAMPLE / "master.zh.srt"), _srt(SAMPLE / "master.en.srt")
    assert 15 <= len(zh) <= 25 and [c[:2] for c in zh] == [c[:2] for c in en]
    assert all(a % 40 == 0 and b % 40 == 0 for a, b, _ in zh)  # on frame boundaries
    assert [[a // 40, b // 40] for a, b, _ in zh] == TRUTH["dialogue"]
    assert max(len(t) for *_, t in zh) >= 22  # one long line that needs breaking
    markers = [m["frame"] * 40 for m in TRUTH["markers"]]
    assert sum(any(a < m < b for m in markers) for a, b, _ in zh) == 1  # one cue straddles a marker


def test_hard_cuts_and_the_fade_are_visible() -> None:
    fade = TRUTH["fades"][0]
    wanted = [c + d for c in TRUTH["hard_cuts"] for d in (-2, -1, 0)]
    wanted += [fade["start"] - 1, fade["mid"] - 1, fade["mid"]]
    frames = read_frames(wanted)

    def mad(a: int, b: int) -> float:
        return float(np.abs(frames[a].astype(np.int16) - frames[b].astype(np.int16)).mean())

    for cut in TRUTH["hard_cuts"]:
        across, before = mad(cut - 1, cut), mad(cut - 2, cut - 1)
        assert across > 5 * max(before, 1.0), (cut, across, before)
    assert frames[fade["mid"] - 1].mean() < 20 and frames[fade["mid"]].mean() < 20
    assert frames[fade["start"] - 1].mean() > 60


def test_faces_are_where_the_truth_says() -> None:
    """A stock frontal-face detector finds the faces in the compressed master where the truth boxes are.

    The detector is OpenCV's LBP frontal-face cascade as shipped in scikit-image (the OpenCV 5 wheel has no
    CascadeClassifier / Haar files), the one the truth boxes were made with; vertcut's analysis pass uses
    another detector (BlazeFace), so this checks the media, not vertcut.
    """
    skdata = pytest.importorskip("skimage.data")
    from skimage.feature import Cascade

    fade = TRUTH["fades"][0]
    samples: list[int] = []
    for shot in TRUTH["shots"]:
        if shot["actors"]:
            length = shot["end"] - shot["start"]
            samples.append(shot["start"] + length // 2)
            if shot["kind"] in ("walk", "eased"):
                samples.append(shot["start"] + length // 5)
    samples = [i for i in samples if not fade["start"] <= i < fade["end"]]
    assert 8 <= len(samples) <= 14
    frames = read_frames(samples)
    cascade = Cascade(skdata.lbp_frontal_face_cascade_filename())
    sx, sy = HALF[0] / TRUTH["width"], HALF[1] / TRUTH["height"]
    hits, total, misses = 0, 0, []
    for i in samples:
        found = cascade.detect_multi_scale(
            img=frames[i], scale_factor=1.2, step_ratio=1, min_size=(40, 40), max_size=(220, 220),
            min_neighbor_number=3,
        )  # fmt: skip
        dets = [(d["c"], d["r"], d["width"], d["height"]) for d in found]
        for b in TRUTH["faces"][i]:
            truth = (b["x"] * sx, b["y"] * sy, b["w"] * sx, b["h"] * sy)
            total += 1
            if max((_iou(truth, d) for d in dets), default=0.0) > 0.3:
                hits += 1
            else:
                misses.append((i, b["id"]))
    assert total >= 10 and hits >= 0.8 * total, misses


def test_detector_sanity_on_the_frames() -> None:
    """The frames are real pictures, not black: a no-face shot has a bright moving lamp where the truth says."""
    lamp = TRUTH["objects"][0]
    mid = (lamp["start"] + lamp["end"]) // 2
    frame = read_frames([mid])[mid]
    x, y, w, h = (v / 2 for v in lamp["boxes"][mid - lamp["start"]])
    _, _, _, (mx, my) = cv2.minMaxLoc(cv2.GaussianBlur(frame, (0, 0), 5))
    assert x <= mx <= x + w and y <= my <= y + h
