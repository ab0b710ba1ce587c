"""``vertcut batch FILE``: every job of a series, failures isolated, a summary at the end."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import VertcutError
from ...jobs import load_batch_file, run_job
from ..state import get_state

__all__ = ["command"]


@click.command("batch")
@click.argument("batch_file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Redo every stage of every job.")
def command(batch_file: Path, force: bool) -> None:
    """Run every [[job]] in BATCH_FILE (TOML); a failing job does not stop the others.

    Exits 0 when every job succeeded, 2 when some failed (each listed once).
    """
    st = get_state()
    batch = load_batch_file(batch_file)
    failed: list[tuple[str, str]] = []
    for spec in batch.jobs:
        try:
            run_job(spec, ffmpeg=st.ffmpeg(), sink=st.sink, force=force)
            click.echo(f"ok      {spec.master} -> {spec.out}")
        except VertcutError as exc:
            failed.append((str(spec.master), str(exc)))
            click.echo(f"FAILED  {spec.master}: {exc}")
    click.echo(f"{len(batch.jobs) - len(failed)} of {len(batch.jobs)} jobs succeeded")
    if failed:
        for _master, why in failed:
            click.echo(f"vertcut: error: {why}", err=True)
        raise click.exceptions.Exit(2)
