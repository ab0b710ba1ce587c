"""``vertcut check PATH...``: accessibility and delivery compliance of finished episodes or a series."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ...errors import CheckFailedError
from ..state import get_state

__all__ = ["command"]


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--preset", default="elder-large", show_default=True,
              help="Check preset (presets/check): the subtitle rules, the pace limits, the default loudness profile.")  # fmt: skip
@click.option("--profile", default=None,
              help="Loudness profile (streaming, ebu-r128, tv-china, atsc-a85, elder; default: the preset's).")  # fmt: skip
@click.option("--platform", default=None, help="Judge episode files against this platform's limits too.")
@click.option(
    "--dialogue",
    type=click.Path(path_type=Path),
    help="The dialogue stem: a file (one episode; or the master's, for a vertcut run output folder) or a "
    "folder of stems named by episode (ep001.wav). Without stems the level is estimated from the mix.",
)
@click.option(
    "--background",
    type=click.Path(path_type=Path),
    help="The music-and-effects stem, given the same way (without it: the mix minus the dialogue).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (schema vertcut.check/1).")
@click.option("--html", "html_out", type=click.Path(path_type=Path), help="Write the report page here.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="Exit 6 on errors only, or on warnings too.")  # fmt: skip
def command(
    paths: tuple[Path, ...], preset: str, profile: str | None, platform: str | None, dialogue: Path | None,
    background: Path | None, as_json: bool, html_out: Path | None, fail_on: str,
) -> None:  # fmt: skip
    """Check episodes for older viewers and for delivery: flashes (WCAG 2.3.1 / BT.1702), loudness
    against a profile and across the series, the dialogue above the background (stems or an estimate), editing pace, subtitles, platform limits and playlists.

    PATH is an episode file, an episode folder, or a vertcut run output folder (the whole series).
    """
    from ...check.html import write_check_html
    from ...check.series import check_paths

    st = get_state()
    report = check_paths(list(paths), preset=preset, profile=profile, platform=platform, ffmpeg=st.ffmpeg(),
                         sink=st.sink, dialogue=dialogue, background=background)  # fmt: skip
    if html_out is not None:
        write_check_html(report, html_out)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for ep in report.episodes:
            loud = f"{ep.loudness.integrated:6.1f} LUFS" if ep.loudness else "   no sound"
            cpm = f"{ep.pace.cuts_per_minute:5.1f} cuts/min" if ep.pace else ""
            lv = ep.dialogue.level_lu if ep.dialogue else None
            if lv is not None:
                cpm += f"  dialogue {lv:+5.1f} LU" + (" (est.)" if ep.dialogue.method == "estimate" else "")
            flagged = (
                sum(1 for f in ep.findings if f.severity == "error"),
                sum(1 for f in ep.findings if f.severity == "warning"),
            )
            shown = sum(1 for lb in ep.labels if lb["on_screen"])
            labels = f"  labels {shown}/{len(ep.labels)} on screen" if ep.labels else ""
            click.echo(
                f"{ep.name:<10} {ep.duration:7.2f} s  {loud}  {cpm}{labels}  {flagged[0]} error(s), {flagged[1]} warning(s)"
            )
            for f in ep.findings:
                at = f" at {float(f.start):.2f} s" if f.start is not None else ""
                click.echo(f"  {f.severity}: {f.check}/{f.rule}{at}: {f.message}")
        for f in report.series:
            click.echo(f"series: {f.severity}: {f.check}/{f.rule}: {f.episode + ': ' if f.episode else ''}{f.message}")
        click.echo(f"{report.errors} error(s), {report.warnings} warning(s)")
    failing = report.errors + (report.warnings if fail_on == "warning" else 0)
    if failing:
        what = f"{report.errors} error(s)" + (f", {report.warnings} warning(s)" if fail_on == "warning" else "")
        raise CheckFailedError(f"check failed: {what}")
