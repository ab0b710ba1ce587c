"""``vertcut demo [DIR]``: the bundled sample series, end to end, and where to look afterwards."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import click

from ...errors import VertcutError
from ...jobs import load_batch_file, run_batch
from ..state import get_state

__all__ = ["command", "sample_job_file"]


def sample_job_file() -> Path:
    """The sample series' job file, shipped with vertcut (next to its media)."""
    return Path(str(resources.files("vertcut.sample_data").joinpath("series.toml")))


@click.command("demo")
@click.argument("folder", required=False, default="vertcut-demo", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Redo every episode, even those already done.")
@click.option("-j", "--jobs", type=click.IntRange(1, 16), default=1, show_default=True, help="Episodes at once.")
def command(folder: Path, force: bool, jobs: int) -> None:
    """Run the bundled sample series into FOLDER (default ./vertcut-demo).

    The sample is a 75 s 16:9 master with Chinese and English subtitles and a
    Resolve EDL with three cliffhanger markers: vertcut plans it, renders the four
    vertical episodes once each into their HLS/DASH ladders with the Chinese
    subtitles burned in, the English ones as soft subtitles and the filing, AIGC
    and end-card labels, then prints where to look.
    """
    st = get_state()
    batch = load_batch_file(sample_job_file())
    specs = [replace(spec, out=folder / spec.out.name if len(batch.jobs) > 1 else folder, jobs=jobs)
             for spec in batch.jobs]  # fmt: skip
    for spec, result in run_batch(specs, ffmpeg=st.ffmpeg(), sink=st.sink, force=force):
        if isinstance(result, VertcutError):
            raise result
        out = Path(spec.out)
        if st.ffmpeg().dry_run:
            continue
        manifest = json.loads((out / "episodes" / "manifest.json").read_text())
        first = manifest["episodes"][0]["id"]
        page = out / "report.html"
        click.echo(f"{len(manifest['episodes'])} episodes of {spec.master.name} in {out}")
        click.echo(f"  report:        {page if page.exists() else out / 'report.json'}")
        click.echo(f"  {first} (HLS):   {out / 'encoded' / first / 'cmaf' / 'master.m3u8'}")
        click.echo(f"  {first} (MP4):   {out / 'encoded' / first / 'mp4' / '720p.mp4'}")
        if manifest.get("contact_sheet"):
            click.echo(f"  contact sheet: {out / 'episodes' / manifest['contact_sheet']}")
        click.echo(f"  the plan:      {out / 'plan.json'}")
