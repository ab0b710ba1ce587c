"""``vertcut subs burn|lint``."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

import click

from ...errors import CheckFailedError
from ...progress import ProgressSink, Reporter
from ...subtitles import burn, lint, load_subtitles
from ...subtitles.track import SubtitleTrack
from ...timebase import parse_rate
from ..state import get_state

__all__ = ["command"]


@click.group("subs")
def command() -> None:
    """Burn subtitles with accessibility presets; lint them against a preset."""


@command.command("burn")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("subs", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output video.")
@click.option(
    "--preset",
    default="elder-large",
    show_default=True,
    help="standard, elder-large, elder-xl, high-contrast, or a .toml.",
)
@click.option("--lang", help="Language of SUBS (default: told from the text; the NAME.xx.srt tag when it agrees).")
@click.option("--safe-area", help="Platform safe area preset (douyin, tiktok, youtube-shorts, instagram-reels, tv).")
@click.option("--encoding", help="Text encoding of SUBS (default: detected).")
@click.option(
    "--stream",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Subtitle stream when SUBS is an MKV/MP4.",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "sprites", "ass"]),
    default="auto",
    show_default=True,
    help="sprites: libass draws each on-screen state once, overlay composites it (fast); "
    "ass: ffmpeg's ass filter on every frame; auto: sprites where the picture allows.",
)
def burn_cmd(
    src: Path,
    subs: Path,
    out: Path,
    preset: str,
    lang: str | None,
    safe_area: str | None,
    encoding: str | None,
    stream: int,
    method: Literal["auto", "sprites", "ass"],
) -> None:
    """Burn SUBS into the (vertical) video SRC."""
    st = get_state()
    track = _with_language(load_subtitles(subs, encoding=encoding, stream=stream), lang, st.sink)
    result = burn(src, track, out, preset=preset, lang=lang, safe_area=safe_area, ffmpeg=st.ffmpeg(), sink=st.sink,
                  method=method)  # fmt: skip
    if not st.dry_run:
        shown = sum(1 for ln in result.ass.splitlines() if ln.startswith("Dialogue:"))
        click.echo(
            f"{out}: {len(track.cues)} cues burned as {shown} ({preset}, Fontsize {result.fontsize:g}, {result.method})"
        )


def _with_language(track: SubtitleTrack, flag: str | None, sink: ProgressSink) -> SubtitleTrack:
    """``track`` with its language: the flag, else told from its text (and its file name when that
    agrees); said on stderr."""
    from ...subtitles.language import choose_language

    choice = choose_language(track.path, "\n".join(c.text for c in track.cues), flag)
    rep = Reporter(sink, "subtitles")
    rep.info(f"language {choice.lang} ({choice.source}: {choice.detail})")
    if choice.warning:
        rep.warning(choice.warning)
    return replace(track, language=choice.lang)


@command.command("lint")
@click.argument("subs", type=click.Path(path_type=Path))
@click.option("--preset", default="elder-large", show_default=True, help="Preset whose rules to check.")
@click.option("--lang", help="Language (default: told from the text; the NAME.xx.srt tag when it agrees).")
@click.option("--fps", default="25", show_default=True, help="Frame rate for frame-based rules (gaps).")
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON.")
@click.option("--encoding", help="Text encoding (default: detected).")
@click.option(
    "--stream",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Subtitle stream when SUBS is an MKV/MP4.",
)
def lint_cmd(
    subs: Path, preset: str, lang: str | None, fps: str, as_json: bool, encoding: str | None, stream: int
) -> None:
    """Check SUBS against every rule of a preset; exit 6 if there are errors."""
    track = _with_language(load_subtitles(subs, encoding=encoding, stream=stream), lang, get_state().sink)
    lang = track.language or "zh"
    try:
        rate: Fraction = parse_rate(fps)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fps") from None
    findings = lint(track, preset=preset, lang=lang, rate=rate)
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for f in findings:
            d = f.to_dict()
            click.echo(f"{subs}: cue {f.cue} {d['start']}: {f.severity}: {f.rule}: {f.message} (fix: {f.suggestion})")
        click.echo(f"{len(findings)} finding(s) in {len(track.cues)} cues", err=True)
    errors = sum(1 for f in findings if f.severity == "error")
    if errors:
        raise CheckFailedError(f"{errors} error(s) against preset {preset}", path=subs)
