"""``vertcut reframe IN -o OUT``."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from ...reframe import parse_aspect, reframe
from ...reframe.plan import Mode
from ..state import detector_option, get_state

__all__ = ["command"]


def _aspect(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_aspect(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.command("reframe")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output video.")
@click.option(
    "--aspect", default="9:16", show_default=True, callback=_aspect, help="9:16, 4:5, 1:1, or 16:9 (vertical to TV)."
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "static", "track", "center", "pad"]),
    default="auto",
    show_default=True,
    help="Camera: auto per shot, or force one behaviour.",
)
@detector_option
@click.option("--size", help="Output size WxH (default 1080 on the short side).")
@click.option("--path-out", type=click.Path(path_type=Path), help="Write the crop path (JSON) for editing.")
@click.option("--path-in", type=click.Path(path_type=Path), help="Apply an (edited) crop path instead of planning.")
@click.option("--preview", type=click.Path(path_type=Path), help="Write a preview showing crop, faces, cuts.")
@click.option(
    "--subs",
    type=click.Path(path_type=Path),
    help="Burn these subtitles onto the reframed picture in the same encode (as `vertcut subs burn` would).",
)
@click.option(
    "--subs-preset",
    default="elder-large",
    show_default=True,
    help="Subtitle preset for --subs: standard, elder-large, elder-xl, high-contrast, or a .toml.",
)
@click.option("--subs-lang", help="Language of --subs (default: from NAME.xx.srt, else zh).")
@click.option("--safe-area", help="Platform safe area for --subs (douyin, tiktok, youtube-shorts, ...).")
def command(
    src: Path,
    out: Path,
    aspect: str,
    mode: str,
    detector: str,
    size: str | None,
    path_out: Path | None,
    path_in: Path | None,
    preview: Path | None,
    subs: Path | None,
    subs_preset: str,
    subs_lang: str | None,
    safe_area: str | None,
) -> None:
    """Reframe SRC to a vertical (or TV) picture that keeps the subject in shot."""
    st = get_state()
    dims = None
    if size:
        try:
            w, _, h = size.lower().partition("x")
            dims = (int(w) // 2 * 2, int(h) // 2 * 2)
        except ValueError:
            raise click.BadParameter(f"not a size: {size!r} (use WxH)", param_hint="--size") from None
    burn = None
    if subs is not None:
        from ...jobs.job import subtitle_language
        from ...subtitles import BurnOptions

        burn = BurnOptions(subs, subs_preset, subs_lang or subtitle_language(subs), safe_area)
    result = reframe(
        src,
        out,
        aspect=aspect,
        mode=cast(Mode, mode),
        size=dims,
        path_in=path_in,
        path_out=path_out,
        preview=preview,
        ffmpeg=st.ffmpeg(),
        sink=st.sink,
        burn=burn,
        detector=detector,
    )
    if st.dry_run:
        return
    ow, oh = result.size
    burned = f", subtitles burned ({result.subtitles.method})" if result.subtitles else ""
    click.echo(f"{out}: {ow}x{oh}, {result.frames} frames ({result.strategy}){burned}")
    if result.path is not None:
        for s in result.path.shots:
            click.echo(f"  frames {s.start:>6}-{s.stop:<6} {s.mode:<9} {s.reason}")
