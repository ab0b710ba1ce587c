"""The bundled sample master matches its ground truth."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import SAMPLE

from vertcut.media import probe
from vertcut.timebase import parse_timecode

TRUTH = json.loads((SAMPLE / "ground_truth.json").read_text())


def test_master_properties() -> None:
    info = probe(SAMPLE / "master.mp4")
    v = info.require_video()
    assert (v.width, v.height, v.frame_rate, v.frame_count) == (1920, 1080, Fraction(25), TRUTH["frames"])
    assert not v.is_vfr and v.color.primaries == "bt709"
    assert info.audio[0].sample_rate == 48000 and info.audio[0].channels == 2
    size = sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file())
    assert size < 10_000_000


def test_ground_truth_is_consistent() -> None:
    cuts = TRUTH["hard_cuts"]
    assert len(cuts) >= 6 and cuts == sorted(cuts) and cuts[0] > 0 and cuts[-1] < TRUTH["frames"]
    assert len(TRUTH["fades"]) == 1 and len(TRUTH["faces"]) == TRUTH["frames"]
    shots = TRUTH["shots"]
    assert shots[0]["start"] == 0 and shots[-1]["end"] == TRUTH["frames"]
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(shots))
    for m in TRUTH["markers"]:
        assert 0 < m["frame"] < TRUTH["frames"] and abs(m["frame"] - m["nearest_cut"]) <= 12


def test_marker_files_agree_with_the_truth() -> None:
    edl = (SAMPLE / "markers.edl").read_text().splitlines()
    events = [line.split() for line in edl if line[:3].isdigit()]
    frames = [parse_timecode(e[4], Fraction(25)) - parse_timecode("01:00:00:00", Fraction(25)) for e in events]
    assert frames == [m["frame"] for m in TRUTH["markers"]]
    rows = (SAMPLE / "markers.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == frames


@pytest.fixture(scope="module")
def early_frames() -> dict[int, np.ndarray]:
    """Gray frames 0..600 at a quarter size, decoded once."""
    out: dict[int, np.ndarray] = {}
    with av.open(str(SAMPLE / "master.mp4")) as c:
        c.streams.video[0].thread_type = "AUTO"
        for i, f in enumerate(c.decode(video=0)):
            out[i] = f.reformat(width=480, height=270, format="gray").to_ndarray()
            if i >= 600:
                break
    return out


def test_hard_cuts_are_real(early_frames: dict[int, np.ndarray]) -> None:
    def diff(a: int, b: int) -> float:
        return float(np.abs(early_frames[a].astype(np.int16) - early_frames[b].astype(np.int16)).mean())

    for cut in (c for c in TRUTH["hard_cuts"] if c <= 600):
        assert diff(cut - 1, cut) > 5 * max(1.0, diff(cut - 2, cut - 1))


def test_face_boxes_match_a_real_detector(early_frames: dict[int, np.ndarray]) -> None:
    """scikit-image's LBP frontal-face cascade finds the astronaut where the truth says."""
    skdata = pytest.importorskip("skimage.data")
    from skimage.feature import Cascade

    cascade = Cascade(skdata.lbp_frontal_face_cascade_filename())
    hits = 0
    samples = [50, 150, 240, 500, 600]
    for i in samples:
        truth = next(f for f in TRUTH["faces"][i] if f["id"] == "astronaut")
        found = cascade.detect_multi_scale(
            early_frames[i], scale_factor=1.2, step_ratio=1, min_size=(30, 30), max_size=(120, 120)
        )
        tx, ty, tw, th = (truth[k] / 4 for k in ("x", "y", "w", "h"))
        for d in found:
            ix = max(0, min(tx + tw, d["c"] + d["width"]) - max(tx, d["c"]))
            iy = max(0, min(ty + th, d["r"] + d["height"]) - max(ty, d["r"]))
            inter = ix * iy
            if inter / (tw * th + d["width"] * d["height"] - inter) > 0.3:
                hits += 1
                break
    assert hits >= 4
