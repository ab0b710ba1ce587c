"""Analysis pass: speed against real time, and shot detection against PySceneDetect.

* ``analyse`` on the 75 s 1080p25 sample master (faces included), as a multiple
  of real time (target >= 5x), with the face detector's cost on its own: the
  wall time of the detector thread per sampled frame, its share of the pass,
  and the pass without faces for comparison;
* shot detection precision/recall (+-1 frame) against the ground truth, for
  vertcut and for PySceneDetect's AdaptiveDetector at the same downscale, and
  the two detectors' wall-clock times in the same run (vertcut's detection-only
  pass vs PySceneDetect's PyAV backend). PySceneDetect is a dev extra
  (``pip install --no-deps scenedetect``); without it those rows are skipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result
from bench.media import SAMPLE_MASTER, master
from vertcut.analysis import AnalysisParams, analyse


def _pr(found: list[int], truth: list[int], tol: int = 1) -> tuple[float, float]:
    matched = sum(1 for t in truth if any(abs(f - t) <= tol for f in found))
    precise = sum(1 for f in found if any(abs(f - t) <= tol for t in truth))
    return precise / max(1, len(found)), matched / max(1, len(truth))


def benchmarks(work: Path) -> Iterator[Result]:
    src = master(work)
    truth_path = SAMPLE_MASTER.parent / "ground_truth.json"
    truth = json.loads(truth_path.read_text()) if src == SAMPLE_MASTER else None
    duration = 75.0
    t0 = time.perf_counter()
    full = analyse(src, cache=False)
    t_full = time.perf_counter() - t0
    yield Result("analysis (faces on), x real time", duration / t_full, 0.0, "", target=5.0, kind="figure",
                 note=f"{t_full:.1f} s for {duration:.0f} s of 1080p25")  # fmt: skip
    per_sample = 1000 * full.detect_seconds / max(1, full.face_samples)
    yield Result("face detection, ms a sampled frame", per_sample, 0.0, "", kind="figure",
                 note=f"BlazeFace full-range via OpenCV DNN, {full.face_samples} samples "
                      f"({full.face_samples / duration:.1f}/s), {full.detect_seconds:.1f} s in the detector thread "
                      f"beside the decode ({100 * full.detect_seconds / t_full:.0f} % of the pass's wall time)")  # fmt: skip
    t0 = time.perf_counter()
    cuts_only = analyse(src, cache=False, params=AnalysisParams(faces=False))
    t_cuts = time.perf_counter() - t0
    yield Result("analysis (faces off), x real time", duration / t_cuts, 0.0, "", kind="figure",
                 note=f"{t_cuts:.1f} s; the faces cost {t_full - t_cuts:+.1f} s of wall time")  # fmt: skip
    try:
        from scenedetect import AdaptiveDetector, SceneManager, open_video
    except ImportError:
        return
    t0 = time.perf_counter()
    manager = SceneManager()
    manager.auto_downscale = False
    manager.downscale = max(1, round(full.width / AnalysisParams().width))  # the same small frames as vertcut
    manager.add_detector(AdaptiveDetector())
    manager.detect_scenes(open_video(str(src), backend="pyav"))
    scenes = manager.get_scene_list(start_in_scene=True)
    t_psd = time.perf_counter() - t0
    psd_cuts = [s[0].frame_num for s in scenes[1:]]
    _ = cuts_only
    yield Result("shot detection vs PySceneDetect (time)", t_cuts, t_psd, "PySceneDetect Adaptive", target=1.0,
                 note="vertcut: cuts+fades+motion pass; PySceneDetect: AdaptiveDetector, PyAV backend")  # fmt: skip
    if truth is not None:
        p, r = _pr(list(full.cuts), truth["hard_cuts"])
        pp, pr_ = _pr(psd_cuts, truth["hard_cuts"])
        yield Result(
            "shot detection precision (vertcut)", p, 0.0, "", target=pp, kind="figure", note=f"PySceneDetect {pp:.2f}"
        )
        yield Result(
            "shot detection recall (vertcut)", r, 0.0, "", target=pr_, kind="figure", note=f"PySceneDetect {pr_:.2f}"
        )
