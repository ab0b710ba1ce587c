"""``vertcut batch FILE``: every job of a series, failures isolated, a summary at the end."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import BatchFailedError, VertcutError
from ...jobs import load_batch_file, run_batch
from ...jobs.executor import make_executor
from ..state import executor_options, get_state

__all__ = ["command"]


@click.command("batch")
@click.argument("batch_file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Redo every stage of every job.")
@click.option("-w", "--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="local: masters run at once on this machine.")  # fmt: skip
@executor_options
def command(
    batch_file: Path, force: bool, workers: int, executor: str, address: str, retries: int, cpus_per_task: float
) -> None:
    """Run every [[job]] in BATCH_FILE (TOML); a failing job does not stop the others.

    With --executor ray each master's job is a task on a Ray cluster (every
    node must see the same paths). Exits 0 when every job succeeded, 7 when
    some failed (each listed once); a bad batch file is refused before any job (4).
    """
    st = get_state()
    batch = load_batch_file(batch_file)
    failed: list[tuple[str, str]] = []
    with make_executor(
        executor, workers=workers, address=address, retries=retries, cpus_per_task=cpus_per_task
    ) as pool:
        for spec, result in run_batch(batch.jobs, ffmpeg=st.ffmpeg(), sink=st.sink, force=force, executor=pool):
            if isinstance(result, VertcutError):
                failed.append((str(spec.master), str(result)))
                click.echo(f"FAILED  {spec.master}: {result}")
            else:
                click.echo(f"ok      {spec.master} -> {spec.out}")
    click.echo(f"{len(batch.jobs) - len(failed)} of {len(batch.jobs)} jobs succeeded")
    if failed:
        for _master, why in failed:
            click.echo(f"vertcut: error: {why}", err=True)
        raise BatchFailedError(f"{len(failed)} of {len(batch.jobs)} jobs failed", path=batch_file)
