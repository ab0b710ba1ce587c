"""Reframing on real footage: vertcut's camera path and a centre crop, scored by the independent judge.

Runs only when ``VERTCUT_REAL_CLIPS`` names clips (``:``-separated paths; the clips stay out of the
repository, see the README for the ones measured and their licences). For each clip: vertcut's
analysis (fresh, in ``--work``) and plan at 9:16 in ``auto`` mode, then ``score_path`` for that path
and for a static centre crop against the judge's faces (where yuface and MTCNN agree, 4 samples a
second; ``vertcut[eval]`` must be installed). The judge's detections are cached in
``VERTCUT_JUDGE_CACHE`` (default: a ``judge-cache`` folder beside each clip), keyed by the clip's
SHA-256, so a rerun after a planner or detector change decodes each clip once, for the analysis.

The figures (issue 15's targets): some face >= 95 % inside the crop on >= 97 % of face frames,
partially cut faces <= 3 %, at least 10 points above a centre crop on shots whose largest face
leaves a centre crop, and no camera move serving only faces seen for under 0.5 s. The last lines
print the whole table as Markdown (``reframe_real.md`` in ``--work`` too). ``VERTCUT_BENCH_DETECTOR``:
the face detector of the analysis (``full``, the default, or ``short``: see ``--detector``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench.harness import Result

COLUMNS = [
    ("some_face_in", "some face in", "%"),
    ("largest_face_in", "largest face in", "%"),
    ("partial_cut", "partial cut", "%"),
    ("reversals_per_min", "reversals/min", ".1f"),
    ("static", "static", "%"),
    ("max_jump", "largest jump (Wc/frame)", ".3f"),
    ("moves", "moves", "d"),
    ("short_detection_moves", "moves for < 0.5 s faces", "d"),
    ("moves_without_face", "moves bringing no face in", "d"),
    ("own_short_moves", "moves for own detections < 0.5 s", "d"),
]


def _score(clip: Path, work: Path) -> dict[str, Any]:
    os.environ["VERTCUT_CACHE_DIR"] = str(work / "cache")  # the analysis afresh, with today's detector
    from vertcut.analysis import AnalysisParams, analyse
    from vertcut.media import probe
    from vertcut.reframe.evaluate import measure, own_faces
    from vertcut.reframe.plan import crop_size, plan_camera

    v = probe(clip).require_video()
    cw, ch = crop_size(v.width, v.height, Fraction(9, 16), v.sar)
    analysis = analyse(clip, params=AnalysisParams(detector=os.environ.get("VERTCUT_BENCH_DETECTOR", "full")))
    path = plan_camera(analysis, cw, ch)
    shots = [(s.start, s.stop) for s in analysis.shots()]
    cache = Path(os.environ.get("VERTCUT_JUDGE_CACHE") or clip.resolve().parent / "judge-cache")
    result = measure(clip, path, shots, cache_dir=cache, own_faces=own_faces(analysis))
    result["modes"] = sorted({s.mode for s in path.shots})
    return result


def _cell(value: float, kind: str) -> str:
    if kind == "%":
        return f"{value * 100:.1f}"
    return format(int(value), "d") if kind == "d" else format(value, kind)


def markdown(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """The table: one row per clip and method, the vertcut row with the points over a centre crop."""
    head = "| clip | shots | face frames (off centre) | method | " + " | ".join(c[1] for c in COLUMNS)
    lines = [head + " | vs centre, off-centre shots (pts) |", "|" + "---|" * (5 + len(COLUMNS))]
    for name, r in rows:
        ours = r["methods"]["vertcut"]
        for method in ("vertcut", "centre"):
            m = r["methods"][method]
            cells = " | ".join(_cell(m[k], kind) if k in m else "" for k, _, kind in COLUMNS)
            if method == "vertcut":
                lead = f"| `{name}` | {r['shots']} | {ours['face_frames']} ({ours['off_centre_frames']}) "
                vs = f"{ours['vs_centre']:+.1f}" if ours["off_centre_frames"] else "n/a"
            else:
                lead, vs = "| | | ", ""
            lines.append(f"{lead}| {method} | {cells} | {vs} |")
    return "\n".join(lines)


def benchmarks(work: Path) -> Iterator[Result]:
    clips = [Path(p) for p in os.environ.get("VERTCUT_REAL_CLIPS", "").split(":") if p]
    rows: list[tuple[str, dict[str, Any]]] = []
    for clip in clips:
        r = _score(clip, work)
        rows.append((clip.name, r))
        ours, centre = r["methods"]["vertcut"], r["methods"]["centre"]
        name = clip.stem[:20]
        note = f"centre {centre['some_face_in'] * 100:.1f} %; {ours['face_frames']} face frames"
        yield Result(f"reframe {name}: some face in %", ours["some_face_in"] * 100, 0, "judge", target=97,
                     kind="figure", note=note)  # fmt: skip
        yield Result(f"reframe {name}: partial cut %, negated", -ours["partial_cut"] * 100, 0, "judge", target=-3,
                     kind="figure", note=f"centre {centre['partial_cut'] * 100:.1f} %")  # fmt: skip
        if ours["off_centre_frames"]:
            yield Result(f"reframe {name}: vs centre, off-centre (pts)", ours["vs_centre"], 0, "judge", target=10,
                         kind="figure", note=f"{ours['off_centre_frames']} face frames off centre")  # fmt: skip
        yield Result(f"reframe {name}: moves for <0.5 s faces, neg.", -ours["short_detection_moves"], 0, "judge",
                     target=0, kind="figure",
                     note=f"{ours['moves']} moves, {ours['moves_without_face']} bring no face in, "
                          f"{ours.get('own_short_moves', 0)} serve only own detections < 0.5 s")  # fmt: skip
    if rows:
        table = markdown(rows)
        (work / "reframe_real.md").write_text(table + "\n")
        print("\n" + table + "\n")
