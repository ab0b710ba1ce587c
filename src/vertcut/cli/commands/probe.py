"""``vertcut probe FILE [--json]``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ...media.probe import MediaInfo, frame_table, probe
from ...timebase import format_timecode, to_ffmpeg_seconds

__all__ = ["command"]


def _rate(r: object) -> str:
    from fractions import Fraction

    assert isinstance(r, Fraction)
    return f"{r.numerator}/{r.denominator} ({float(r):.3f} fps)" if r.denominator != 1 else f"{r.numerator} fps"


def _human(info: MediaInfo) -> str:
    lines = [f"{info.path}: {info.format_name}, {info.size_bytes} bytes"]
    if info.duration is not None:
        lines.append(f"  duration   {float(info.duration):.6f} s ({info.duration})")
    if info.start_time:
        lines.append(f"  start      {float(info.start_time):.6f} s")
    for v in info.video:
        w, h = v.display_size
        lines.append(
            f"  video #{v.index}  {v.codec} {v.profile or ''} {v.width}x{v.height} -> shown {w}x{h}"
            f", {v.pix_fmt}, {_rate(v.frame_rate)}{' VFR' if v.is_vfr else ''}, {v.frame_count} frames"
        )
        if v.frame_count and not v.is_vfr:
            lines.append(f"             last frame {format_timecode(v.frame_count - 1, v.frame_rate)}")
        extras = [f"SAR {v.sar}", f"DAR {v.dar}"]
        if v.rotation:
            extras.append(f"rotation {v.rotation}")
        c = v.color
        extras.append(f"colour {c.primaries or '?'}/{c.transfer or '?'}/{c.matrix or '?'} {c.bit_depth}-bit")
        if c.is_hdr:
            extras.append("HDR")
        lines.append("             " + ", ".join(extras))
    for a in info.audio:
        lang = f" {a.language}" if a.language else ""
        lines.append(f"  audio #{a.index}  {a.codec} {a.sample_rate} Hz {a.layout} ({a.channels} ch){lang}")
    for s in info.subtitles:
        lines.append(f"  subs  #{s.index}  {s.codec}{' ' + s.language if s.language else ''}")
    for i, ch in enumerate(info.chapters, 1):
        lines.append(f"  chapter {i}  {float(ch.start):.3f}-{float(ch.end):.3f} s {ch.title or ''}")
    return "\n".join(lines)


@click.command("probe")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the probe as JSON (exact times as num/den strings).")
@click.option("--no-scan", is_flag=True, help="Trust the header; do not read every packet.")
@click.option("--frames", is_flag=True, help="Print every video frame's index, pts and exact time instead.")
def command(file: Path, as_json: bool, no_scan: bool, frames: bool) -> None:
    """Describe FILE: streams, exact frame rate, VFR, rotation, colour, chapters."""
    if frames:
        table = frame_table(file)
        if as_json:
            click.echo(json.dumps({"time_base": str(table.time_base), "pts": table.pts.tolist()}))
            return
        click.echo(f"# frame pts seconds  (time base {table.time_base})")
        for i, pts in enumerate(table.pts.tolist()):
            click.echo(f"{i} {pts} {to_ffmpeg_seconds(pts * table.time_base)}")
        return
    info = probe(file, scan=not no_scan)
    if as_json:
        click.echo(json.dumps(info.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_human(info))
