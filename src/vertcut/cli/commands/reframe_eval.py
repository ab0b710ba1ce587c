"""``vertcut reframe-eval MASTER [--truth labels.json]``: reframing quality, vertcut against a centre crop.

With ``--truth`` the faces are hand labels (the sample media's ``ground_truth.json``, or labels on
a few frames); without it, the independent judge's consensus faces (``vertcut[eval]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import click

from ...analysis import AnalysisParams, analyse
from ...errors import CheckFailedError, InputError
from ...media import probe
from ...reframe import parse_aspect
from ...reframe.evaluate import REAL_TARGETS, TARGETS, evaluate, measure, own_faces
from ...reframe.plan import Mode, crop_size, plan_camera
from ..state import detector_option, get_state

__all__ = ["command"]

_ROWS = [
    ("some_face_in", "some face in", "%"),
    ("largest_face_in", "largest face in", "%"),
    ("partial_cut", "partial cut", "%"),
    ("reversals_per_min", "reversals / min", "f"),
    ("static", "static", "%"),
    ("max_jump", "largest jump (crop w/frame)", "f"),
    ("vs_centre", "vs centre, off-centre shots (pts)", "f"),
    ("moves", "camera moves", "i"),
    ("short_detection_moves", "moves for faces < 0.5 s", "i"),
    ("moves_without_face", "moves bringing no face in", "i"),
    ("own_short_moves", "moves for own detections < 0.5 s", "i"),
]


@click.command("reframe-eval")
@click.argument("master", type=click.Path(path_type=Path))
@click.option(
    "--truth",
    type=click.Path(path_type=Path),
    help="Hand labels (JSON, as sample_media/ground_truth.json, or faces on a few frames). "
    "Without it: the judge, a consensus of face detectors vertcut does not use (pip install 'vertcut[eval]').",
)
@click.option("--aspect", default="9:16", show_default=True)
@click.option("--mode", type=click.Choice(["auto", "static", "track", "center"]), default="auto", show_default=True)
@click.option("--fps", type=click.FloatRange(0.1, 60), default=4.0, show_default=True, help="Judge samples per second.")
@click.option(
    "--judge-cache",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the judge's detections (default: the vertcut cache).",
)
@detector_option
@click.option("--json", "as_json", is_flag=True, help="Figures as JSON.")
def command(
    master: Path,
    truth: Path | None,
    aspect: str,
    mode: str,
    fps: float,
    judge_cache: Path | None,
    detector: str,
    as_json: bool,
) -> None:
    """Plan the camera for MASTER and measure it, and a centre crop, against faces; exit 6 if vertcut misses a target."""
    st = get_state()
    data: dict[str, Any] | None = None
    if truth is not None:
        try:
            data = json.loads(truth.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read ground truth: {exc}", path=truth) from None
        if not isinstance(data, dict):
            raise InputError("not a face label file: expected a JSON object", path=truth)
    v = probe(master).require_video()
    raw = None
    if data is None:  # the judge first: a missing extra fails before the analysis decodes anything
        from ...reframe.judge import raw_detections

        raw = raw_detections(master, fps=fps, cache_dir=judge_cache)
    cw, ch = crop_size(v.width, v.height, parse_aspect(aspect), v.sar)
    analysis = analyse(master, sink=st.sink, params=AnalysisParams(detector=detector))
    path = plan_camera(analysis, cw, ch, mode=cast(Mode, mode))
    shots = [(s.start, s.stop) for s in analysis.shots()]
    try:
        result = measure(
            master, path, shots, truth=data, fps=fps, cache_dir=judge_cache, raw=raw, own_faces=own_faces(analysis)
        )
    except InputError as exc:
        if truth is not None and exc.path is None:
            raise InputError(exc.message, path=truth) from None
        raise
    sample_truth = data is not None and any(isinstance(s, dict) and "kind" in s for s in data.get("shots", []))
    if sample_truth:
        assert data is not None
        figures = evaluate(path, data)  # the sample media's own figures and targets, as before
        figures.update({k: v for k, v in result.items() if k != "passed"})
        figures["methods_passed"] = result["passed"]  # issue 15's targets, shown but not enforced here
        missed = [k for k, ok in figures["passed"].items() if ok is False]
    else:
        figures = result
        missed = [k for k, ok in result["passed"].items() if ok is False]
    if as_json:
        click.echo(json.dumps(figures, indent=2))
    else:
        _table(result, master)
        if sample_truth:
            for key, (op, target) in TARGETS.items():
                value = figures[key]
                shown = (
                    f"{value * 100:6.1f} %"
                    if key in ("subject_inside", "partial_faces", "dialogue_static")
                    else f"{value:8.3f}"
                )
                click.echo(
                    f"{key:<18} {shown}   target {op} {target:g}   {'ok' if figures['passed'][key] else 'MISSED'}"
                )
    if missed:
        raise CheckFailedError("targets missed: " + ", ".join(missed), path=master)


def _table(result: dict[str, Any], master: Path) -> None:
    j = result["judge"]
    if j["kind"] == "consensus":
        who = f"judge: faces where {j['min_votes']} of {'+'.join(j['detectors'])} agree"
    else:
        who = "hand labels"
    click.echo(f"{master.name}: {result['frames']} frames, {result['shots']} shots; {who}, {j['samples']} samples")
    ours, centre = result["methods"]["vertcut"], result["methods"]["centre"]
    click.echo(
        f"{'':<34} {'vertcut':>9} {'centre':>9}   target   ({ours['face_frames']} face frames, "
        f"{ours['off_centre_frames']} off centre)"
    )
    for key, label, kind in _ROWS:

        def fmt(v: float, kind: str = kind) -> str:
            return f"{v * 100:7.1f} %" if kind == "%" else (f"{int(v):9d}" if kind == "i" else f"{v:9.3f}")

        target = ""
        if key in REAL_TARGETS:
            op, t = REAL_TARGETS[key]
            ok = result["passed"][key]
            shown_t = f"{t * 100:g} %" if kind == "%" else f"{t:g}"
            target = f"{op} {shown_t} " + {True: "ok", False: "MISSED", None: "n/a"}[ok]
        if key not in ours:
            continue
        cv = "" if key in ("vs_centre", "own_short_moves") else fmt(centre[key])
        click.echo(f"{label:<34} {fmt(ours[key]):>9} {cv:>9}   {target}")
