"""``vertcut doctor``: is this machine (or every node of a Ray cluster) ready to run vertcut?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ...doctor import check_cluster, check_here
from ...errors import EXIT_CHECK
from ...jobs.executor import RayExecutor
from ..state import executor_options

__all__ = ["command"]


@click.command("doctor")
@click.option("--shared", type=click.Path(path_type=Path, file_okay=False), default=".", show_default=True,
              help="ray: a folder every node must see at the same path (the media and outputs).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The checks as JSON.")
@executor_options
def command(shared: Path, as_json: bool, executor: str, address: str, retries: int, cpus_per_task: float) -> None:
    """Check ffmpeg, fonts, the face model, presets and the cache here; with --executor ray, also that
    every node of the cluster runs the same vertcut, ffmpeg and Python and sees --shared.

    Exits 0 when nothing failed (warnings: only some jobs are affected), 6 otherwise.
    """
    checks = check_here()
    if executor == "ray":
        with RayExecutor(address, cpus_per_task=cpus_per_task, retries=retries) as pool:
            checks += check_cluster(pool, shared)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2, ensure_ascii=False))
    else:
        for c in checks:
            where = f"[{c.node}] " if c.node else ""
            click.echo(f"{c.status:<5} {where}{c.name}: {c.detail}")
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        click.echo(f"vertcut: error: {len(failed)} check(s) failed: " + ", ".join(c.name for c in failed), err=True)
        raise click.exceptions.Exit(EXIT_CHECK)
