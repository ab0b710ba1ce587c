"""Reframing quality figures: the evaluator itself, and the targets on the sample master."""

from __future__ import annotations

import json
from fractions import Fraction

from conftest import SAMPLE, run_cli

from vertcut.reframe.evaluate import evaluate
from vertcut.reframe.plan import CameraPath, ShotPlan


def _truth(n: int, face_x: int) -> dict[str, object]:
    return {
        "shots": [{"start": 0, "end": n, "kind": "dialogue", "subject": "a"}],
        "faces": [[{"id": "a", "x": face_x, "y": 10, "w": 40, "h": 40}] for _ in range(n)],
        "fades": [],
    }


def test_evaluator_counts_what_it_says() -> None:
    n = 100
    xs = [0] * 50 + [40] * 50  # static, then one 40 px jump
    path = CameraPath(400, 200, 100, 200, Fraction(25), (ShotPlan(0, n, "static", 0, ""),), tuple(xs))
    fig = evaluate(path, _truth(n, 20))  # the face spans 20..60
    assert fig["subject_inside"] == 0.5  # inside the crop only while x = 0
    assert fig["partial_faces"] == 0.5  # cut by the left edge while x = 40
    assert fig["max_jump"] == 0.4 and fig["dialogue_static"] == 98 / 99
    assert fig["vs_centre"] == 50.0  # a centre crop (x = 150) never holds the face
    assert fig["passed"]["max_jump"] is False


def test_sample_master_meets_every_target() -> None:
    res = run_cli("reframe-eval", str(SAMPLE / "master.mp4"), "--truth", str(SAMPLE / "ground_truth.json"), "--json")
    assert res.exit_code == 0, res.output
    fig = json.loads(res.stdout)
    assert all(fig["passed"].values()), fig
    assert fig["subject_inside"] >= 0.97 and fig["vs_centre"] >= 30
