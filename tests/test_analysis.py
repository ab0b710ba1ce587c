"""The analysis pass: cuts, fades, black runs, faces, and the disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mediagen import make_clip

from vertcut.analysis import AnalysisParams, analyse
from vertcut.analysis.detect import cuts_from_scores, fades_from_luma, runs_below
from vertcut.ffmpeg import FFmpeg
from vertcut.progress import ProgressEvent
from vertcut.timebase import FrameRange


def test_hard_cuts_found_exactly(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=90, shot_len=15, audio=False)
    a = analyse(clip, params=AnalysisParams(faces=False))
    assert a.cuts == (15, 30, 45, 60, 75) and a.frame_count == 90
    assert [(s.start, s.stop) for s in a.shots()] == [(0, 15), (15, 30), (30, 45), (45, 60), (60, 75), (75, 90)]


def test_fade_through_black_is_a_fade_not_a_cut(tmp_path: Path) -> None:
    src = tmp_path / "fade.mp4"
    FFmpeg().run(
        ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2", "-f", "lavfi", "-i", "smptebars=s=320x180:r=25:d=2",
         "-filter_complex", "[0:v]fade=t=out:st=1.5:d=0.5[a];[1:v]fade=t=in:st=0:d=0.5[b];[a][b]concat=n=2:v=1[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", str(src)]
    )  # fmt: skip
    a = analyse(src, params=AnalysisParams(faces=False))
    assert a.cuts == ()
    assert len(a.fades) == 1 and a.fades[0].start < 50 < a.fades[0].stop
    assert a.black and a.black[0].start <= 50 <= a.black[0].stop


def test_second_run_is_a_cache_hit(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=30, shot_len=10, audio=False)
    first = analyse(clip)
    events: list[ProgressEvent] = []
    again = analyse(clip, sink=events.append)
    assert any(e.kind == "info" and "cache hit" in e.text for e in events)
    assert again.cuts == first.cuts and np.array_equal(again.scores, first.scores)


def test_faces_detected_on_real_face(tmp_path: Path) -> None:
    from test_reframe import _face_clip

    src, (fx, _fy, fw, _fh) = _face_clip(tmp_path / "face.mp4", frames=30)
    a = analyse(src)
    assert a.faces and all(abs(f.cx - (fx + fw / 2)) < fw for f in a.faces)


def test_detectors_on_plain_arrays() -> None:
    scores = np.array([0, 1, 1, 1, 40, 1, 1, 1, 1, 1, 1, 1, 1, 30, 1, 1], dtype=np.float32)
    assert cuts_from_scores(scores, 3.0, 8.0, 2, 8) == [4, 13]
    assert cuts_from_scores(scores, 3.0, 8.0, 2, 10) == [4]  # min shot length
    luma = np.array([100, 80, 60, 40, 10, 5, 10, 40, 70, 100], dtype=np.float32)
    black = runs_below(luma, 18)
    assert black == [FrameRange(4, 7)]
    from fractions import Fraction

    assert fades_from_luma(luma, black, Fraction(25)) == [FrameRange(0, 10)]
