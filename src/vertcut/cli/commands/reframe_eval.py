"""``vertcut reframe-eval MASTER --truth ground_truth.json``: reframing quality against ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import click

from ...analysis import analyse
from ...errors import CheckFailedError, InputError
from ...media import probe
from ...reframe import parse_aspect
from ...reframe.evaluate import TARGETS, evaluate
from ...reframe.plan import Mode, crop_size, plan_camera
from ..state import get_state

__all__ = ["command"]


@click.command("reframe-eval")
@click.argument("master", type=click.Path(path_type=Path))
@click.option(
    "--truth", type=click.Path(path_type=Path), required=True, help="Ground truth JSON (as in sample_media/)."
)
@click.option("--aspect", default="9:16", show_default=True)
@click.option("--mode", type=click.Choice(["auto", "static", "track", "center"]), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Figures as JSON.")
def command(master: Path, truth: Path, aspect: str, mode: str, as_json: bool) -> None:
    """Plan the camera for MASTER and measure it against the ground truth; exit 6 if a target is missed."""
    st = get_state()
    try:
        data = json.loads(truth.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read ground truth: {exc}", path=truth) from None
    v = probe(master).require_video()
    cw, ch = crop_size(v.width, v.height, parse_aspect(aspect), v.sar)
    path = plan_camera(analyse(master, sink=st.sink), cw, ch, mode=cast(Mode, mode))
    figures = evaluate(path, data)
    if as_json:
        click.echo(json.dumps(figures, indent=2))
    else:
        for key, (op, target) in TARGETS.items():
            value = figures[key]
            shown = (
                f"{value * 100:6.1f} %"
                if key in ("subject_inside", "partial_faces", "dialogue_static")
                else f"{value:8.3f}"
            )
            click.echo(f"{key:<18} {shown}   target {op} {target:g}   {'ok' if figures['passed'][key] else 'MISSED'}")
        click.echo(
            f"{'centre crop':<18} {figures['centre_subject_inside'] * 100:6.1f} %   (subject inside, for comparison)"
        )
    missed = [k for k, ok in figures["passed"].items() if not ok]
    if missed:
        raise CheckFailedError("targets missed: " + ", ".join(missed), path=master)
