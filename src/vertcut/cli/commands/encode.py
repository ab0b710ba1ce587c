"""``vertcut encode EPISODE -o DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from ...encode import PACKAGES, encode_episode
from ..state import get_state, split_csv

__all__ = ["command"]


@click.command("encode")
@click.argument("episode", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option(
    "--ladder", default="h264-default", show_default=True, help="Ladder preset (h264-default, hevc, av1, or a .toml)."
)
@click.option(
    "--package", "packages", default=",".join(PACKAGES), show_default=True, help="Comma list: hls,dash,ts,mp4."
)
@click.option("--masters", default="", help="Platform upload masters, e.g. douyin,youtube-shorts,tiktok.")
@click.option("--vmaf", is_flag=True, help="Score every rung against the top rung with VMAF.")
def command(episode: Path, out: Path, ladder: str, packages: str, masters: str, vmaf: bool) -> None:
    """Encode EPISODE as an ABR ladder with HLS/DASH/TS/MP4 packages and platform masters."""
    st = get_state()
    report = encode_episode(
        episode,
        out,
        ladder=ladder,
        packages=split_csv(packages),
        masters=split_csv(masters),
        vmaf=vmaf,
        ffmpeg=st.ffmpeg(),
        sink=st.sink,
    )
    if st.dry_run:
        return
    for r in report.rungs:
        click.echo(
            f"{r['name']:>6} {r['width']}x{r['height']} {r['codecs']:<12} peak {r['bandwidth'] / 1000:8.0f} kbit/s  avg {r['average_bandwidth'] / 1000:8.0f} kbit/s"
        )
    for name, path in report.packages.items():
        click.echo(f"{name:>6} {path}")
    for m in report.masters:
        click.echo(f"master {m['platform']}: {m['file']} {'ok' if not m['breaches'] else '; '.join(m['breaches'])}")
    if report.vmaf:
        click.echo("vmaf   " + ", ".join(f"{k} {v['mean']:.1f} (min {v['min']:.1f})" for k, v in report.vmaf.items()))
    click.echo(f"keyframes aligned across rungs: {'yes' if report.keyframes_aligned else 'NO'}")
