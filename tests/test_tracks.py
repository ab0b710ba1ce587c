"""Face tracks and the two-shot rule, on synthetic detections (no media, no detector)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vertcut.analysis import Analysis, FaceBox
from vertcut.reframe.plan import choose_subject, crop_size, plan_camera, speaker
from vertcut.reframe.tracks import join_fragments, link_tracks, persistent
from vertcut.timebase import FrameRange

RATE = 25.0
W, H = 1920, 1080
CROP_W = crop_size(W, H, Fraction(9, 16))[0]  # 606


def _faces(
    xs: list[float] | np.ndarray, *, start: int = 0, step: int = 5, w: float = 150, **kw: float
) -> list[FaceBox]:
    return [FaceBox(start + k * step, float(x), 400.0, w, w, 0.9, **kw) for k, x in enumerate(xs)]


def _analysis(
    faces: list[FaceBox], n: int = 200, cuts: tuple[int, ...] = (), audio: np.ndarray | None = None
) -> Analysis:
    nan = np.full(n, np.nan, np.float32)
    return Analysis(
        frame_count=n,
        frame_rate=Fraction(25),
        width=W,
        height=H,
        cuts=cuts,
        fades=(),
        black=(),
        scores=np.zeros(n, np.float32),
        luma=np.full(n, 100.0, np.float32),
        motion_x=nan,
        saliency_x=np.full(n, 0.5, np.float32),
        faces=tuple(sorted(faces, key=lambda f: (f.frame, f.x))),
        audio_rms=audio if audio is not None else nan,
    )


def test_constant_face_is_one_lasting_track() -> None:
    tracks = link_tracks(_faces([800.0] * 40), RATE)
    assert len(tracks) == 1 and len(tracks[0].faces) == 40 and persistent(tracks[0], RATE)


def test_jitter_stays_one_track() -> None:
    rng = np.random.default_rng(0)
    xs = 800 + rng.normal(0, 10, 40)
    tracks = link_tracks(_faces(xs), RATE)
    assert len(tracks) == 1


def test_fast_move_is_followed_by_the_motion_model() -> None:
    """60 px faces moving 80 px a sample: consecutive boxes never overlap, the prediction does."""
    xs = 100 + 80 * np.arange(20)
    tracks = link_tracks(_faces(xs, w=60), RATE)
    assert len(tracks) == 1 and len(tracks[0].faces) == 20


def test_step_is_two_tracks() -> None:
    tracks = link_tracks(_faces([300.0] * 10 + [1400.0] * 10), RATE)
    assert sorted(len(t.faces) for t in tracks) == [10, 10]


def test_gap_tolerance() -> None:
    short_gap = _faces([800.0] * 10) + _faces([810.0] * 10, start=45 + 10)  # 0.4 s from sample to sample
    assert len(link_tracks(short_gap, RATE)) == 1
    long_gap = _faces([800.0] * 10) + _faces([810.0] * 10, start=45 + 25)  # 1 s
    assert len(link_tracks(long_gap, RATE)) == 2


def test_two_subjects_are_two_tracks() -> None:
    faces = _faces([300.0] * 30) + _faces([1400.0] * 30)
    tracks = link_tracks(faces, RATE)
    assert len(tracks) == 2 and all(len(t.faces) == 30 for t in tracks)


def test_flicker_does_not_last() -> None:
    one = link_tracks(_faces([800.0]), RATE)
    two = link_tracks(_faces([800.0, 800.0]), RATE)  # 0.4 s from first sample to the end of the second
    three = link_tracks(_faces([800.0] * 3), RATE)
    assert not persistent(one[0], RATE) and not persistent(two[0], RATE) and persistent(three[0], RATE)
    # in a shot shorter than the minimum, a face seen all along it lasts
    assert persistent(two[0], RATE, shot_frames=10)


def test_one_sample_false_positive_does_not_move_the_camera() -> None:
    """A face held still on the left; one detection on texture far right: the crop never goes there."""
    faces = [*_faces([200.0] * 40), FaceBox(100, 1600.0, 300.0, 300.0, 300.0, 0.95)]
    path = plan_camera(_analysis(faces), CROP_W, H)
    assert len(set(path.x)) == 1 and path.x[0] <= 200 and path.x[0] + CROP_W >= 350
    # a shot with nothing but that detection: the camera does not follow it
    alone = plan_camera(_analysis([FaceBox(100, 1600.0, 300.0, 300.0, 300.0, 0.95)]), CROP_W, H)
    assert alone.shots[0].mode in ("saliency", "center") and max(alone.x) + CROP_W < 1600


def test_camera_only_changes_subject_at_a_cut() -> None:
    faces = _faces([200.0] * 20) + _faces([1500.0] * 20, start=100)
    path = plan_camera(_analysis(faces, cuts=(100,)), CROP_W, H)
    assert len(set(path.x[:100])) == 1 and len(set(path.x[100:])) == 1
    assert path.x[0] <= 200 and path.x[150] + CROP_W >= 1650


def _two(a_x: float, b_x: float, n: int = 200, a_w: float = 150, b_w: float = 150, **kw: float) -> list[FaceBox]:
    return _faces([a_x] * (n // 5), w=a_w, **kw) + _faces([b_x] * (n // 5), w=b_w, **kw)


def _choose(faces: list[FaceBox], audio: np.ndarray | None = None, n: int = 200) -> tuple[str, list[float]]:
    tracks = sorted((t for t in link_tracks(faces, RATE) if persistent(t, RATE)), key=lambda t: -t.weight)
    rms = audio if audio is not None else np.full(n, np.nan, np.float32)
    choice = choose_subject(tracks, rms, FrameRange(0, n), CROP_W)
    return choice.kind, sorted(tracks[k].faces[0].x for k in choice.members)


def test_two_faces_that_fit_are_framed_together() -> None:
    kind, members = _choose(_two(700, 950))
    assert kind == "group" and members == [700, 950]
    path = plan_camera(_analysis(_two(700, 950)), CROP_W, H)
    x = path.x[0]
    assert path.shots[0].mode == "static" and x <= 700 and x + CROP_W >= 1100


def test_faces_too_far_apart_without_a_speaker() -> None:
    # the same size, no audio: the pad
    assert _choose(_two(200, 1500))[0] == "pad"
    # one clearly larger: that one
    assert _choose(_two(200, 1500, a_w=260, b_w=150)) == ("one", [200])
    # the same size, one frontal and one in profile: the frontal one
    faces = _faces([200.0] * 40, frontal=0.2) + _faces([1500.0] * 40, frontal=1.0)
    assert _choose(faces) == ("one", [1500])


def _speech(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Audio energy bursts, and the speaking mouth's motion sampled from them."""
    rng = np.random.default_rng(seed)
    loud = (np.sin(np.arange(n) / 3.0) > 0).astype(np.float32)
    rms = (0.02 + 0.2 * loud * rng.uniform(0.5, 1.0, n)).astype(np.float32)
    return rms, loud


def test_the_speaker_is_framed_and_held() -> None:
    n = 200
    rms, loud = _speech(n, 1)
    rng = np.random.default_rng(2)
    frames = np.arange(0, n, 5)
    a = [
        FaceBox(int(i), 200.0, 400.0, 150.0, 150.0, 0.9, 1.0, float(3 * loud[i] + rng.uniform(0, 0.3))) for i in frames
    ]
    b = [FaceBox(int(i), 1500.0, 400.0, 150.0, 150.0, 0.9, 1.0, float(rng.uniform(0, 0.3))) for i in frames]
    tracks = sorted(link_tracks(a + b, RATE), key=lambda t: -t.weight)
    who = speaker(tracks, rms, (0, 1))
    assert who is not None and tracks[who[0]].faces[0].x == 200.0 and who[1] > 0.5
    assert _choose(a + b, rms) == ("one", [200])
    path = plan_camera(_analysis(a + b, audio=rms), CROP_W, H)
    assert len(set(path.x)) == 1 and path.x[0] <= 200 - 0.25 * 150 + 1  # held, with its margin
    assert "speaker" in path.shots[0].reason
    # the listener speaking instead: the other one
    b2 = [FaceBox(f.frame, f.x, f.y, f.w, f.h, f.score, f.frontal, float(3 * loud[f.frame])) for f in b]
    a2 = [FaceBox(f.frame, f.x, f.y, f.w, f.h, f.score, f.frontal, float(rng.uniform(0, 0.3))) for f in a]
    assert _choose(a2 + b2, rms) == ("one", [1500])
    # both mouths moving with the sound (they talk over each other): no speaker told
    assert speaker(sorted(link_tracks(a + b2, RATE), key=lambda t: -t.weight), rms, (0, 1)) is None


def test_static_crop_avoids_cutting_another_face() -> None:
    """A lone subject with a second, smaller face nearby: the crop holds the subject and keeps the other
    face either wholly in or wholly out, never half."""
    faces = _faces([800.0] * 40, w=200) + _faces([1150.0] * 40, w=60)
    path = plan_camera(_analysis(faces), CROP_W, H)
    x = path.x[0]
    assert x <= 800 and x + CROP_W >= 1000
    assert x + CROP_W <= 1150 or x + CROP_W >= 1210


def test_lost_face_hands_over_to_motion_near_it() -> None:
    """A face seen for the first second, then only motion, drifting right from where it was: the camera
    follows the motion; motion far from the face (elsewhere in the frame) is ignored."""
    n = 150
    faces = _faces([600.0] * 5)
    a = _analysis(faces, n=n)
    motion = np.full(n, np.nan, np.float32)
    motion[25:] = np.linspace(675, 1300, n - 25) / W
    a2 = Analysis(**{**a.__dict__, "motion_x": motion})
    path = plan_camera(a2, CROP_W, H)
    assert path.x[-1] > path.x[0] + 50
    far = np.full(n, np.nan, np.float32)
    far[25:] = 1700 / W
    a3 = Analysis(**{**a.__dict__, "motion_x": far})
    held = plan_camera(a3, CROP_W, H)
    assert len(set(held.x)) == 1


def test_pieces_of_one_face_are_joined() -> None:
    """The detector loses a face for 1.2 s and finds it again near where it was: one track. Pieces far
    apart, of another size, or more than 2 s apart stay separate."""
    again = _faces([800.0] * 10) + _faces([830.0] * 10, start=45 + 30)
    pieces = link_tracks(again, RATE)
    assert len(pieces) == 2
    joined = join_fragments(pieces, RATE)
    assert len(joined) == 1 and len(joined[0].faces) == 20 and joined[0].last == 120
    elsewhere = _faces([800.0] * 10) + _faces([1400.0] * 10, start=75)
    assert len(join_fragments(link_tracks(elsewhere, RATE), RATE)) == 2
    bigger = _faces([800.0] * 10) + _faces([800.0] * 10, start=75, w=300)
    assert len(join_fragments(link_tracks(bigger, RATE), RATE)) == 2
    late = _faces([800.0] * 10) + _faces([800.0] * 10, start=45 + 60)
    assert len(join_fragments(link_tracks(late, RATE), RATE)) == 2
    # a face present all along is not taken as the continuation of one that ended beside it
    beside = _faces([800.0] * 10) + _faces([1000.0] * 30)
    assert sorted(len(t.faces) for t in join_fragments(link_tracks(beside, RATE), RATE)) == [10, 30]


def test_a_miss_inside_a_track_is_bridged_not_handed_to_motion() -> None:
    """A face missed for 1.6 s between two sightings in the same place, with motion nearby meanwhile
    (a hand, a passer-by): the camera holds on the face instead of following the motion."""
    n = 150
    faces = _faces([600.0] * 6, w=300) + _faces([600.0] * 8, start=25 + 40 + 5, w=300)
    a = _analysis(faces, n=n)
    motion = np.full(n, np.nan, np.float32)
    motion[30:70] = np.linspace(800, 1100, 40) / W
    path = plan_camera(Analysis(**{**a.__dict__, "motion_x": motion}), CROP_W, H)
    assert len(set(path.x)) == 1 and path.x[0] <= 600 and path.x[0] + CROP_W >= 900


def _reversals(xs: tuple[int, ...]) -> int:
    dx = np.diff(np.asarray(xs, dtype=np.float64))
    signs = np.sign(dx[np.abs(dx) > 0.5])
    return int(np.sum(signs[1:] != signs[:-1]))


def test_a_close_up_that_moves_a_little_is_held() -> None:
    """A face two thirds of the crop wide drifting 60 px: no room for the full margin on both sides
    all along, but a fixed crop still holds the whole drift with a smaller one: held, not followed."""
    faces = _faces(np.linspace(700, 760, 40), w=400)
    path = plan_camera(_analysis(faces), CROP_W, H)
    x = path.x[0]
    assert path.shots[0].mode == "static" and len(set(path.x)) == 1
    assert x + 0.1 * 400 <= 700 and x + CROP_W >= 760 + 400 + 0.1 * 400


def test_a_face_nearly_as_wide_as_the_crop_does_not_make_the_camera_shake() -> None:
    """A close-up 520 px wide in a 606 px crop, its box jittering 10 px from sample to sample: the
    camera absorbs the jitter (it keeps part of the free room as play) and never cuts the face."""
    rng = np.random.default_rng(5)
    xs = 700 + np.linspace(0, 200, 40) + rng.uniform(-10, 10, 40)
    faces = _faces(xs, w=520)
    path = plan_camera(_analysis(faces), CROP_W, H)
    assert path.shots[0].mode == "track"
    assert _reversals(path.x) <= 1
    for f in faces:
        assert path.x[f.frame] <= f.x + 1 and path.x[f.frame] + CROP_W >= f.x + f.w - 1


def test_the_camera_waits_on_a_face_that_appears_after_the_cut() -> None:
    """A face first seen a second after the cut, with motion beside it before (a body coming into
    the light): the camera is on the face from the cut and does not wander first."""
    n = 150
    faces = _faces([600.0] * 20, start=25, w=300)
    a = _analysis(faces, n=n)
    motion = np.full(n, np.nan, np.float32)
    motion[1:25] = np.linspace(1000, 800, 24) / W
    path = plan_camera(Analysis(**{**a.__dict__, "motion_x": motion}), CROP_W, H)
    assert len(set(path.x)) == 1 and path.x[0] <= 600 and path.x[0] + CROP_W >= 900


def test_static_crop_does_not_cut_a_face_seen_briefly() -> None:
    """A second face seen on two samples only (too brief to move the camera) beside a held subject:
    the crop still does not run its edge through it (with a safety margin), and does not move."""
    faces = _faces([800.0] * 40, w=200) + _faces([1150.0] * 2, start=100, w=60)
    path = plan_camera(_analysis(faces), CROP_W, H)
    x = path.x[0]
    assert len(set(path.x)) == 1 and x <= 800 and x + CROP_W >= 1000
    assert x + CROP_W <= 1150 - 0.25 * 60 or x + CROP_W >= 1210 + 0.25 * 60


def test_a_face_wider_than_the_crop_is_shown_whole() -> None:
    """An extreme close-up, the face wider than the crop for a second: every crop would cut it, so
    the shot is the whole frame over a blurred copy; one such detection alone does not do that."""
    wide = _faces(np.linspace(600, 700, 8), w=700)
    path = plan_camera(_analysis(wide, n=60), CROP_W, H)
    assert path.shots[0].mode == "pad" and "wider" in path.shots[0].reason
    once = [*_faces([800.0] * 12, w=200), FaceBox(30, 600.0, 300.0, 700.0, 700.0, 0.9)]
    assert plan_camera(_analysis(once, n=60), CROP_W, H).shots[0].mode != "pad"
    # asked for a crop ("track"/"static"), the planner still crops
    assert plan_camera(_analysis(wide, n=60), CROP_W, H, mode="track").shots[0].mode != "pad"


def test_a_speaker_is_not_told_from_a_chance_correlation() -> None:
    """Mouth motion following the sound at r = 0.76: over 4 samples (a 0.8 s shot) that is chance
    about one time in eight, so no speaker is told; the same pattern over 12 samples tells one."""
    levels = np.array([1.0, 2.0, 3.0, 4.0])
    mouth_a, mouth_b = [1.0, 3.0, 2.0, 3.5], [2.0, 1.0, 1.5, 1.2]
    for reps, told in ((1, False), (3, True)):
        n = 20 * reps
        rms = np.repeat(np.tile(levels, reps), 5).astype(np.float32)  # constant over each sample's window
        frames = range(2, n, 5)
        a = [FaceBox(f, 200.0, 400.0, 150.0, 150.0, 0.9, 1.0, mouth_a[k % 4]) for k, f in enumerate(frames)]
        b = [FaceBox(f, 1500.0, 400.0, 150.0, 150.0, 0.9, 1.0, mouth_b[k % 4]) for k, f in enumerate(frames)]
        tracks = sorted(link_tracks(a + b, RATE), key=lambda t: -t.weight)
        assert (speaker(tracks, rms, (0, 1)) is not None) is told
