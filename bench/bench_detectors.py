"""The face detectors on real footage, frame by frame: BlazeFace full-range and short-range, on the
whole picture and in tiles, against the independent judge's faces (yuface and MTCNN agreeing).

Runs only when ``VERTCUT_REAL_CLIPS`` names clips (as ``bench reframe_real``; the judge's
detections come from the same cache, ``VERTCUT_JUDGE_CACHE`` or ``judge-cache`` beside each clip).
On every frame the judge sampled, each configuration's boxes (in source pixels) are matched one to
one to the judge's faces (IoU >= 0.3); the recall is reported by the judge face's height (close-up:
at least 30 % of the frame's height; mid: 12-30 %; small: under 12 %), with the share of boxes that
match no judge face (the judge misses some profiles and dark faces: not all of those are false)
and the CPU per sampled frame on one OpenCV thread. The configurations: ``full`` and ``short``
on the whole picture, each with its tiles, and ``full+short tiles`` (what ``--detector short`` runs
on every sample).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench.harness import Result
from vertcut.reframe.judge import iou

SIZES = (("close", 0.30, 9.0), ("mid", 0.12, 0.30), ("small", 0.0, 0.12))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_THREAD)
    return r.ru_utime + r.ru_stime


def _match(truth: list[tuple[float, ...]], found: list[tuple[float, ...]]) -> tuple[list[bool], int]:
    """Which judge faces a box matches (greedy, one to one), and how many boxes match none."""
    used: set[int] = set()
    hits = []
    for t in truth:
        best, pick = 0.0, -1
        for j, f in enumerate(found):
            v = iou(t, f) if j not in used else 0.0
            if v > best:
                best, pick = v, j
        hits.append(best >= 0.3)
        if best >= 0.3:
            used.add(pick)
    return hits, len(found) - len(used)


def _configs() -> dict[str, Callable[[Any], list[Any]]]:
    from vertcut.analysis.blazeface import SHORT_MODEL as SHORT
    from vertcut.analysis.blazeface import FaceDetector, merge

    full, short = FaceDetector(), FaceDetector(spec=SHORT)
    return {
        "full": full.detect,
        "full, tiles": lambda rgb: merge(full.detect(rgb), full.detect_tiles(rgb)),
        "short": short.detect,
        "short, tiles": lambda rgb: merge(short.detect(rgb), short.detect_tiles(rgb)),
        "full + short tiles": lambda rgb: merge(full.detect(rgb), short.detect_tiles(rgb)),
    }


def _frames(clip: Path, wanted: set[int]) -> Iterator[tuple[int, Any, tuple[int, int], tuple[int, int]]]:
    """The judge's sampled frames of ``clip`` as the analysis gives them to the detector: RGB at
    display aspect, 192 px on the short side; with the source size and that picture's size."""
    import av
    import cv2
    import numpy as np

    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        sar = Fraction(s.sample_aspect_ratio or 1) or Fraction(1)
        aspect = float(s.width * sar) / s.height
        size = (max(192, round(192 * aspect)), 192) if aspect >= 1 else (192, max(192, round(192 / aspect)))
        for i, frame in enumerate(c.decode(s)):
            if i in wanted:
                rgb = cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA)
                yield i, np.ascontiguousarray(rgb), (s.width, s.height), size


def benchmarks(work: Path) -> Iterator[Result]:
    import cv2

    from vertcut.reframe.judge import judge_faces

    clips = [Path(p) for p in os.environ.get("VERTCUT_REAL_CLIPS", "").split(":") if p]
    if not clips:
        return
    cv2.setNumThreads(1)
    configs = _configs()
    hits = {(c, s[0]): [0, 0] for c in configs for s in SIZES}
    boxes = {c: [0, 0] for c in configs}  # unmatched, all
    cpu = {c: [0.0, 0] for c in configs}
    for clip in clips:
        cache = Path(os.environ.get("VERTCUT_JUDGE_CACHE") or clip.resolve().parent / "judge-cache")
        judge = judge_faces(clip, cache_dir=cache)
        by_frame = judge.by_frame()
        for i, rgb, (w, h), (fw, fh) in _frames(clip, set(judge.frames)):
            truth = [(f.x, f.y, f.w, f.h) for f in by_frame.get(i, [])]
            for name, run in configs.items():
                t0 = _cpu()
                found = run(rgb)
                cpu[name][0] += _cpu() - t0
                cpu[name][1] += 1
                got = [(f.x * w / fw, f.y * h / fh, f.w * w / fw, f.h * h / fh) for f in found]
                matched, unmatched = _match(truth, got)
                boxes[name][0] += unmatched
                boxes[name][1] += len(got)
                for t, ok in zip(truth, matched, strict=True):
                    size = next(s[0] for s in SIZES if s[1] <= t[3] / h < s[2])
                    hits[(name, size)][0] += ok
                    hits[(name, size)][1] += 1
    for name in configs:
        recall = ", ".join(f"{s[0]} {hits[(name, s[0])][0]}/{hits[(name, s[0])][1]}" for s in SIZES)
        unmatched, total = boxes[name]
        for size, _lo, _hi in SIZES:
            got, n = hits[(name, size)]
            if n:
                yield Result(f"detector {name}: {size} faces found %", 100 * got / n, 0, "judge", kind="figure",
                             note=f"{got}/{n}")  # fmt: skip
        yield Result(f"detector {name}: boxes matching no judge face %", 100 * unmatched / max(total, 1), 0, "judge",
                     kind="figure", note=f"{unmatched}/{total}; found: {recall}")  # fmt: skip
        yield Result(f"detector {name}: ms CPU a sampled frame", 1000 * cpu[name][0] / max(cpu[name][1], 1), 0,
                     "judge", kind="figure", note=f"{cpu[name][1]} frames, one OpenCV thread")  # fmt: skip
