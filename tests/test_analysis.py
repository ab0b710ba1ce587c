"""The analysis pass: cuts, fades, black runs, faces, and the disk cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
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


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="libav decodes with one thread on one CPU anyway")
def test_decoder_threads_follow_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``threads=1`` (a Ray task with one CPU): libav starts no frame threads of its own (counted in
    /proc while a stream decodes, against libav's own choice); analyse() and reframe() pass the cap on."""
    import av

    from vertcut.media import threads as threads_mod
    from vertcut.reframe import reframe

    clip = make_clip(tmp_path / "c.mp4", frames=60, size=(640, 360), codec="libx264")

    def started(cap: int | None) -> int:
        with av.open(str(clip)) as c:
            s = c.streams.video[0]
            threads_mod.decode_threads(s, cap)
            before = len(os.listdir("/proc/self/task"))
            return max(len(os.listdir("/proc/self/task")) for _ in c.decode(s)) - before

    assert started(1) == 0 and started(None) >= 2

    seen: list[int | None] = []

    def spy(stream: object, cap: int | None) -> None:
        seen.append(cap)
        threads_mod.decode_threads(stream, cap)

    monkeypatch.setattr("vertcut.analysis.pass_.decode_threads", spy)
    monkeypatch.setattr("vertcut.render.source.decode_threads", spy)
    analyse(clip, cache=False, threads=1)
    reframe(clip, tmp_path / "v.mp4", ffmpeg=FFmpeg(threads=1))
    assert seen and set(seen) == {1}, seen  # the analysis inside reframe() and its own decode


def test_opencv_threads_overlapping_blocks_keep_the_smallest_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenCV's thread count is one setting for the process: blocks in two threads that overlap (an
    analysis beside a render in a batch) hold the smallest cap, and the last one out restores
    OpenCV's own count, whatever order they end in. The analysis runs OpenCV on one thread."""
    import threading

    import cv2

    from vertcut.analysis import pass_
    from vertcut.media.threads import cv_threads

    own = cv2.getNumThreads()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with cv_threads(1):
            entered.set()
            release.wait(5)

    t = threading.Thread(target=other)
    with cv_threads(2):
        assert cv2.getNumThreads() == 2
        t.start()
        assert entered.wait(5)
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == 1  # the other block is still open
    release.set()
    t.join()
    assert cv2.getNumThreads() == own

    seen: list[int] = []
    real = pass_._run_pass

    def spy(*args: Any) -> Any:
        seen.append(cv2.getNumThreads())
        return real(*args)

    monkeypatch.setattr(pass_, "_run_pass", spy)
    analyse(make_clip(tmp_path / "c.mp4", frames=10, size=(160, 90)), cache=False)
    assert seen == [1] and pass_.CV_THREADS == 1
    assert cv2.getNumThreads() == own
