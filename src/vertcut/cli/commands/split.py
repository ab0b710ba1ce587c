"""``vertcut split MASTER --markers FILE -o DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ...jobs.job import subtitle_language
from ...markers import read_markers
from ...markers.roles import compile_name, parse_colours
from ...media import probe
from ...presets import load_preset
from ...split import SplitSettings, plan_split, render_split
from ..state import get_state

__all__ = ["check_marker_colour", "check_marker_name", "command"]


def check_marker_colour(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A --marker-colour value (a string, or a tuple when repeatable) that is colour names, or a usage error."""
    for item in (value,) if isinstance(value, str) else value or ():
        try:
            parse_colours(item)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def check_marker_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --marker-name value that is a regular expression, or a usage error."""
    try:
        compile_name(value or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.command("split")
@click.argument("master", type=click.Path(path_type=Path))
@click.option(
    "--markers",
    "markers_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Marker file (EDL, FCPXML, FCP7 XML, OTIO, Premiere/Avid TSV, CSV, JSON) or a media file with chapters.",
)
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output folder (required unless --dry-run).")
@click.option("--preset", default="default", show_default=True, help="Split settings preset.")
@click.option("--snap", help="Snap markers to a hard cut within this distance (e.g. 0.5s, 12f).")
@click.option("--free-episodes", type=click.IntRange(0), help="The first N episodes are free.")
@click.option(
    "--subs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Subtitles to re-time per episode (NAME.xx.srt; repeat).",
)
@click.option("--cue-policy", type=click.Choice(["clip", "keep-in-first", "drop"]), help="Cues that straddle a cut.")
@click.option(
    "--marker-colour",
    "marker_colours",
    multiple=True,
    metavar="COLOUR",
    callback=check_marker_colour,
    help="The cliffhangers are the markers of this colour (repeat, or red,pink; none: uncoloured); "
    "the other markers are kept in the manifest as notes.",
)
@click.option(
    "--marker-name",
    metavar="REGEX",
    callback=check_marker_name,
    help="The cliffhangers are the markers whose name matches (case-insensitive); with --marker-colour, "
    "a marker must match both.",
)
@click.option("--timeline-start", help="Timeline start timecode of the marker file (default: guess 01:00:00:00).")
@click.option("--dry-run", "plan_only", is_flag=True, help="Print the plan as a table; render nothing.")
def command(
    master: Path,
    markers_path: Path,
    out: Path | None,
    preset: str,
    snap: str | None,
    free_episodes: int | None,
    subs: tuple[Path, ...],
    cue_policy: str | None,
    marker_colours: tuple[str, ...],
    marker_name: str | None,
    timeline_start: str | None,
    plan_only: bool,
) -> None:
    """Cut MASTER into episodes at the cliffhanger markers, frame-exactly, with a manifest.

    Which markers are cliffhangers: --marker-colour and/or --marker-name (or the preset's
    marker_colour / marker_name); without a rule, every marker when they all have one colour (or
    none), else a refusal listing the colours. The other markers are notes: listed with --dry-run,
    kept in the manifest with their exact time.
    """
    st = get_state()
    base: SplitSettings = load_preset("split", preset)
    rate = probe(master).require_video().frame_rate
    markers = read_markers(markers_path, rate=rate, timeline_start=timeline_start or base.timeline_start or None)
    plan = plan_split(
        master,
        markers,
        settings=base,
        sink=st.sink,
        markers_path=markers_path,
        snap=snap,
        free_episodes=free_episodes,
        cue_policy=cue_policy,
        marker_colour=",".join(marker_colours) if marker_colours else None,
        marker_name=marker_name,
    )
    if plan_only or out is None:
        if out is None and not plan_only:
            raise click.UsageError("give -o/--out, or --dry-run to see the plan")
        click.echo(
            f"{'ep':>3} {'first':>7} {'last':>7} {'frames':>6} {'start':>11} {'dur s':>7} {'tier':<5} {'snap':<14} "
            "line marker"
        )
        for r in plan.rows():
            click.echo(
                f"{r['episode']:>3} {r['first']:>7} {r['last']:>7} {r['frames']:>6} {r['start_tc']:>11} "
                f"{r['duration_s']:>7.2f} {r['tier']:<5} {r['snap']:<14} {r['line'] or '-':>4} {r['marker']}"
            )
        for n in plan.notes:
            m = n.marker
            at = f"frame {n.frame} ({plan.timecode(n.frame)})" if n.frame is not None else "outside the master"
            click.echo(f"note: {m.label()} ({m.colour_name or 'no colour'}, line {m.line or '-'}) at {at}, not a cut")
        if subs:
            from ...split import cut_cue_warnings
            from ...subtitles import load_subtitles

            tracks = {subtitle_language(s) or f"sub{i}": load_subtitles(s) for i, s in enumerate(subs)}
            for w in cut_cue_warnings(plan, tracks):
                click.echo(f"warning: {w}", err=True)
        return
    subtitles = {subtitle_language(s) or f"sub{i}": s for i, s in enumerate(subs)}
    manifest = render_split(plan, out, subtitles=subtitles, ffmpeg=st.ffmpeg(), sink=st.sink)
    if st.dry_run:
        return
    for ep in manifest["episodes"]:
        v = ep["verification"]
        state = "verified" if v.get("ok") else "VERIFICATION FAILED: " + "; ".join(v.get("problems", []))
        click.echo(
            f"{out / ep['outputs']['video']}: frames {ep['frames']['first']}-{ep['frames']['last']} {ep['tier']} {state}"
        )
    click.echo(f"manifest: {out / 'manifest.json'}")
