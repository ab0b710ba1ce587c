"""The burn-in layer: plan it once (layout, checks, timing repair, exact-time ASS events), then draw it
for any window of the picture (a whole file, or one episode of a master).

:func:`plan_subtitles` is pure computation and gives plain data (:class:`SubtitlePlan`), so a plan made
for a whole master can travel to the task that renders one episode; :func:`draw_layer` then draws the
events of that episode's window only, re-timed to it, and gives the filter-graph chain that composites
them (:class:`SubtitleLayer`).

The burn-in happens on the already-vertical picture, with the fonts installed with vertcut: libass draws
each on-screen state once and ffmpeg's ``overlay`` composites it (:mod:`vertcut.subtitles.sprites`), or,
for pictures that path does not cover, ffmpeg's ``ass`` filter draws every frame.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

from ..errors import InvalidMediaError, SubtitleError
from ..ffmpeg import FFmpeg, escape_filter_path, require_filter
from ..fsutil import atomic_path
from ..media.probe import ColorInfo, VideoStreamInfo, probe
from ..presets import load_preset
from ..progress import ProgressSink, Reporter
from .ass import ass_document, ass_events
from .findings import Finding
from .fonts import FontInfo, font_for, missing_glyphs
from .placement import _text_box
from .sprites import Event, SpriteTrack, render_sprites, sprite_pixel_formats
from .style import SubtitleStyle, _style
from .timing import repair_timing, split_long_cues
from .track import SubtitleTrack, load_subtitles, srt_time

__all__ = [
    "OVERRUN", "BurnOptions", "BurnResult", "Picture", "SubtitleLayer", "SubtitlePlan", "burn", "check_fits",
    "draw_layer", "plan_subtitles", "subtitle_layer",
]  # fmt: skip


@dataclass(frozen=True)
class Picture:
    """What burning subtitles needs to know of the picture they go on."""

    size: tuple[int, int]  # as shown (square pixels)
    pix_fmt: str
    color: ColorInfo
    time_base: Fraction  # of the frames reaching the filter graph
    frame_rate: Fraction
    duration: Fraction | None
    rotation: int = 0
    sar: Fraction = Fraction(1)

    @classmethod
    def of(cls, v: VideoStreamInfo) -> Picture:
        return cls(v.display_size, v.pix_fmt or "unknown", v.color, v.time_base, v.frame_rate, v.duration,
                   v.rotation, v.sar)  # fmt: skip


@dataclass(frozen=True)
class BurnOptions:
    """Which subtitles to burn and how (see :func:`vertcut.subtitles.burn`)."""

    subs: str | Path | SubtitleTrack
    preset: str | SubtitleStyle = "elder-large"
    lang: str | None = None
    safe_area: str | None = None
    method: Literal["auto", "sprites", "ass"] = "auto"


@dataclass(frozen=True)
class BurnResult:
    output: Path
    ass: str
    findings: list[Finding]
    fontsize: float
    method: str = "ass"  # how the text was composited: "sprites" or "ass"


@dataclass(frozen=True)
class SubtitlePlan:
    """Laid-out, checked and repaired subtitles for one picture: plain data, times exact."""

    source: str  # the subtitle file
    lang: str
    method: str  # "sprites" or "ass"
    picture: Picture
    header: str  # the ASS header (one style, ``S``)
    events: tuple[Event, ...]  # times in seconds from the picture's first frame
    findings: tuple[Finding, ...]
    fontsize: float
    font: FontInfo
    cues: int  # in the subtitle file
    region: tuple[int, int, int, int] | None  # where the text can be (sprites)

    @property
    def text(self) -> str:
        return ass_document(self.header, self.events)

    def window(self, start: Fraction, end: Fraction) -> tuple[Event, ...]:
        """The events shown in ``[start, end)``, re-timed to it (a cue across an edge is clipped to it)."""
        return tuple(
            Event(max(e.start, start) - start, min(e.end, end) - start, e.text)
            for e in self.events
            if e.end > start and e.start < end
        )

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source, "lang": self.lang, "method": self.method, "font": self.font.family,
            "fontsize": self.fontsize, "cues": self.cues, "events": len(self.events), "region": self.region,
            "findings": [f.to_dict() for f in self.findings], "picture": list(self.picture.size),
            "header": self.header,
        }  # fmt: skip


@dataclass(frozen=True)
class SubtitleLayer:
    """Subtitles ready to composite in an ffmpeg filter graph (valid inside :func:`draw_layer`)."""

    inputs: list[str]  # ffmpeg input arguments to add after the picture's inputs (the sprite track, if any)
    plan: SubtitlePlan
    picture: Picture  # the window's picture
    sprites: SpriteTrack | None = None
    ass: Path | None = None
    fonts_dir: Path | None = None

    @property
    def text(self) -> str:
        return self.plan.text

    @property
    def findings(self) -> list[Finding]:
        return list(self.plan.findings)

    @property
    def fontsize(self) -> float:
        return self.plan.fontsize

    @property
    def font(self) -> FontInfo:
        return self.plan.font

    @property
    def cues(self) -> int:
        return self.plan.cues

    @property
    def method(self) -> str:
        return self.plan.method

    def result(self, out: Path) -> BurnResult:
        """What was burned into ``out``."""
        return BurnResult(out, self.text, self.findings, self.fontsize, self.method)

    def filter(self, main: str, out: str, first_input: int) -> str:
        """The filter-graph chain from ``[main]`` to ``[out]``; ``first_input``: the ffmpeg input number of
        ``inputs``' first file."""
        if self.sprites is not None:
            return self.sprites.filtergraph(main, f"{first_input}:v:0", out, self.picture.pix_fmt, self.picture.color)
        if self.ass is not None and self.fonts_dir is not None:
            draw = f"ass=filename={escape_filter_path(self.ass)}:fontsdir={escape_filter_path(self.fonts_dir)}"
            return f"[{main}]{draw}[{out}]"
        return f"[{main}]null[{out}]"  # nothing to draw


OVERRUN = Fraction(1)  # how far past the picture's end the last cue may run (clipped, with a warning)


def check_fits(track: SubtitleTrack, duration: Fraction, reporter: Reporter | None = None) -> None:
    """Refuse subtitles that do not belong to a picture ``duration`` long: a cue that starts after its
    end, or a last cue ending more than :data:`OVERRUN` after it (subtitles for another cut). A last
    cue running past the end by less is clipped, with a warning.

    Raises:
        SubtitleError: naming the first cue beyond the end and how many there are.
    """
    late = [(n, c) for n, c in enumerate(track.cues, 1) if c.start >= duration or c.end > duration + OVERRUN]
    if late:
        n, c = late[0]
        raise SubtitleError(
            f"cue {n} ({srt_time(c.start)} --> {srt_time(c.end)}) runs past the end of the picture "
            f"({srt_time(duration)}); {len(late)} cue(s) beyond it: subtitles for another cut?",
            path=track.path,
            line=c.line or None,
        )
    if track.cues and track.cues[-1].end > duration and reporter is not None:
        reporter.warning(f"the last cue runs past the picture's end ({srt_time(duration)}); clipped")


def plan_subtitles(
    picture: Picture,
    options: BurnOptions,
    *,
    path: str | Path | None = None,
    reporter: Reporter | None = None,
) -> SubtitlePlan:
    """Lay out, check and repair ``options.subs`` for ``picture`` (no drawing, no ffmpeg).

    ``path`` names the picture in errors. Timing repairs are reported as warnings to ``reporter``.

    Raises:
        InvalidMediaError: ``method="sprites"`` on a picture the sprite blend does not cover.
        SubtitleError: unreadable subtitles, text the font cannot show (names the characters), or a
            cue that starts after the picture has ended (subtitles for another cut).
    """
    require_filter("ass", "subtitle burn-in")
    style = _style(options.preset)
    w, h = picture.size
    fmt = picture.pix_fmt
    plain = picture.rotation == 0 and picture.sar == 1 and w % 2 == 0 and h % 2 == 0
    sprites_fit = fmt in sprite_pixel_formats and plain
    method = options.method
    if method == "auto":
        method = "sprites" if sprites_fit else "ass"
    elif method == "sprites" and not sprites_fit:
        raise InvalidMediaError(
            "sprite burn-in needs an 8-bit 4:2:0/4:2:2/4:4:4 picture with square pixels, "
            f"no rotation and an even size (this one: {fmt}, {w}x{h}, SAR {picture.sar}, "
            f"rotation {picture.rotation}); use method 'ass'",
            path=path,
        )
    subs = options.subs
    track = subs if isinstance(subs, SubtitleTrack) else load_subtitles(subs)
    if picture.duration is not None:
        check_fits(track, picture.duration, reporter)
    lang = options.lang or track.language
    if lang is None:  # told from the text, and the file name when it agrees
        from .language import choose_language

        choice = choose_language(track.path, "\n".join(c.text for c in track.cues))
        lang = choice.lang
        if reporter is not None:
            reporter.info(f"language {lang} ({choice.source}: {choice.detail})")
            if choice.warning:
                reporter.warning(choice.warning)
    font = font_for(lang, style.font_family(lang))
    found = [(i, c, missing_glyphs(c.text, font)) for i, c in enumerate(track.cues, 1)]
    tofu = [t for t in found if t[2]]
    if tofu:  # refuse to render boxes; name every character of every cue at once
        _, c, _ = tofu[0]
        detail = "; ".join(
            f"cue {n} at {srt_time(q.start)}: " + ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in chars)
            for n, q, chars in tofu[:5]
        )
        more = f" (and {len(tofu) - 5} more cues)" if len(tofu) > 5 else ""
        raise SubtitleError(f"{font.family} has no glyph for {detail}{more}", path=track.path, line=c.line or None)
    safe = load_preset("safearea", options.safe_area) if options.safe_area else None
    shown, split_findings = split_long_cues(track, style, lang, picture.frame_rate, (w, h), safe)
    repaired, findings = repair_timing(shown, style, lang, picture.frame_rate)
    # report repairs against the source's cue numbers (a split cue's parts share its number)
    origin, src_i = [], 0
    for part in shown.cues:
        while src_i + 1 < len(track.cues) and part.start >= track.cues[src_i + 1].start:
            src_i += 1
        origin.append(src_i + 1)
    findings = split_findings + [replace(f, cue=origin[f.cue - 1]) for f in findings]
    if reporter is not None:
        for f in findings:
            reporter.warning(f"cue {f.cue} at {srt_time(f.start)}: {f.message}")
    header, events, fontsize, font = ass_events(repaired, style, lang, (w, h), safe)
    region = _text_box(events, style, lang, (w, h), safe, fontsize, font) if method == "sprites" else None
    return SubtitlePlan(str(track.path or ""), lang, method, picture, header, tuple(events), tuple(findings),
                        fontsize, font, len(track.cues), region)  # fmt: skip


@contextmanager
def draw_layer(
    plan: SubtitlePlan,
    *,
    window: tuple[Fraction, Fraction] | None = None,
    time_base: Fraction | None = None,
    ffmpeg: FFmpeg | None = None,
) -> Iterator[SubtitleLayer]:
    """Draw ``plan``'s events (those of ``window``, re-timed to its start, if given) for compositing.

    ``time_base``: of the frames reaching the filter graph, when not the plan picture's.

    Raises:
        FFmpegError: libass could not draw the subtitles.
    """
    ff = ffmpeg or FFmpeg()
    picture = plan.picture
    events = plan.events
    if window is not None:
        events = plan.window(*window)
        picture = replace(picture, duration=window[1] - window[0])
    if time_base is not None:
        picture = replace(picture, time_base=time_base)
    with tempfile.TemporaryDirectory(prefix="vertcut-subs-") as tmp:
        fonts = Path(tmp) / "fonts"
        fonts.mkdir()
        (fonts / plan.font.path.name).symlink_to(plan.font.path)
        if plan.method == "sprites":
            # each on-screen state drawn once by libass, composited by overlay (see vertcut.subtitles.sprites)
            sprites = render_sprites(plan.header, events, picture.size, picture.time_base, fonts,
                                     Path(tmp) / "sprites.nut", region=plan.region, pix_fmt=picture.pix_fmt,
                                     color=picture.color, until=picture.duration, ffmpeg=ff)  # fmt: skip
            inputs = [] if sprites is None else ["-i", str(sprites.path)]
            yield SubtitleLayer(inputs, plan, picture, sprites)
        else:  # the ass filter on every frame (pictures the sprite blend does not cover)
            ass = Path(tmp) / "subs.ass"
            ass.write_text(ass_document(plan.header, events), encoding="utf-8")
            yield SubtitleLayer([], plan, picture, None, ass, fonts)


@contextmanager
def subtitle_layer(
    picture: Picture,
    options: BurnOptions,
    *,
    path: str | Path | None = None,
    ffmpeg: FFmpeg | None = None,
    reporter: Reporter | None = None,
) -> Iterator[SubtitleLayer]:
    """:func:`plan_subtitles` and :func:`draw_layer` for the whole picture."""
    plan = plan_subtitles(picture, options, path=path, reporter=reporter)
    with draw_layer(plan, ffmpeg=ffmpeg) as layer:
        yield layer


def burn(
    src_video: str | Path,
    subs: str | Path | SubtitleTrack,
    out: str | Path,
    *,
    preset: str | SubtitleStyle = "elder-large",
    lang: str | None = None,
    safe_area: str | None = None,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    encoder_args: list[str] | None = None,
    method: Literal["auto", "sprites", "ass"] = "auto",
) -> BurnResult:
    """Burn ``subs`` into ``src_video`` (written atomically to ``out``).

    ``method``: ``sprites`` draws each on-screen state once and composites it with ``overlay``
    (:mod:`vertcut.subtitles.sprites`); ``ass`` runs ffmpeg's ``ass`` filter on every frame; ``auto``
    takes ``sprites`` for 8-bit Y'CbCr pictures with square pixels and no rotation, else ``ass``.
    To burn while reframing (one encode fewer), pass :class:`BurnOptions` to ``vertcut.reframe.reframe``.

    Raises:
        InvalidMediaError: ``method="sprites"`` on a picture the sprite blend does not cover.
        SubtitleError: unreadable subtitles, or text the font cannot show (names the characters).
        FFmpegError: the encode failed.
    """
    src_video, out = Path(src_video), Path(out)
    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, "subtitles")
    v = probe(src_video).require_video()
    from ..render.graph import Output, Source, command, run

    options = BurnOptions(subs, preset, lang, safe_area, method)
    enc = encoder_args or ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
    with subtitle_layer(Picture.of(v), options, path=src_video, ffmpeg=ff, reporter=rep) as layer:
        # the same compositing as the one-pass render, on a file ffmpeg decodes itself
        source = Source(["-i", str(src_video), *layer.inputs], layer.filter("0:v:0", "src", first_input=1),
                        v.duration or Fraction(0), audio="0:a?")  # fmt: skip
        with atomic_path(out) as tmp_out:
            output = Output(tmp_out, ("",), (*enc, "-movflags", "+faststart"), ("-c:a", "copy"))
            run(ff, command(source, [output], ff), source, "subtitles")
    rep.end(f"{layer.cues} cues, {layer.font.family} {layer.fontsize:g}")
    return layer.result(out)
