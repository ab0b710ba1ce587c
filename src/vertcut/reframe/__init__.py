"""Reframing: 16:9 or scope masters to 9:16 (4:5, 1:1), and vertical to 16:9 for TVs.

``reframe(src, out)`` analyses the source (one cached decode pass), plans a
calm virtual camera per shot (:mod:`vertcut.reframe.plan`) and renders it in
a NumPy/OpenCV loop over YUV planes feeding ffmpeg
(:mod:`vertcut.render`). Portrait sources (also those portrait only
through rotation metadata) are never cropped for a portrait target: they are
scaled, or fitted over a blurred copy when the aspect differs; a portrait
source asked for 16:9 gets a blurred pillarbox. Non-square pixels are
corrected in the same resize.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidMediaError
from ..ffmpeg import FFmpeg
from ..media.probe import MediaInfo, frame_table, probe
from ..progress import ProgressSink, Reporter
from ..render.picture import PictureSpec
from ..render.planes import DEFAULT_ENCODER, OUTPUT_COLOR
from .plan import CameraPath, Mode, crop_size, plan_camera

if TYPE_CHECKING:
    from ..subtitles.layer import BurnOptions, BurnResult

__all__ = ["CameraPath", "ReframeResult", "output_size", "parse_aspect", "plan_picture", "reframe"]

MIN_SIDE = 32


def parse_aspect(text: str) -> Fraction:
    """``"9:16"`` -> ``Fraction(9, 16)``."""
    try:
        w, _, h = text.partition(":")
        value = Fraction(int(w), int(h))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not an aspect ratio: {text!r} (use W:H, e.g. 9:16)") from None
    if value <= 0:
        raise ValueError(f"not an aspect ratio: {text!r}")
    return value


def output_size(aspect: Fraction, long_side: int = 1920) -> tuple[int, int]:
    """Output frame size: 1080 on the short side (1080x1920 for 9:16, 1920x1080 for 16:9)."""
    short = long_side * 9 // 16
    if aspect <= 1:
        return short, min(long_side, int(short / aspect) // 2 * 2)
    return min(long_side, int(short * aspect) // 2 * 2), short


@dataclass(frozen=True)
class ReframeResult:
    output: Path
    size: tuple[int, int]
    frames: int
    path: CameraPath | None
    strategy: str  # "crop" | "fit" (scale/blurred pad, no crop)
    subtitles: BurnResult | None = None  # subtitles burned in the same encode, if asked


def plan_picture(
    src: Path,
    info: MediaInfo,
    *,
    aspect: str | Fraction = "9:16",
    mode: Mode = "auto",
    size: tuple[int, int] | None = None,
    path_in: Path | None = None,
    analysis: Any = None,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    detector: str = "full",
) -> tuple[PictureSpec, CameraPath | None]:
    """How every frame of ``src`` becomes the reframed picture: a crop along a planned (or given) camera
    path, or a fit (portrait sources, ``mode="pad"``, sources narrower than the target).

    Raises:
        InputError: a picture too small to reframe, a rotated landscape source, or a crop path that does
            not fit the source (another master's path, another frame count).
    """
    target = parse_aspect(aspect) if isinstance(aspect, str) else aspect
    v = info.require_video()
    if min(v.width, v.height) < MIN_SIDE:
        raise InvalidMediaError(
            f"picture is {v.width}x{v.height}, too small to reframe (minimum {MIN_SIDE} px)", path=src
        )
    ow, oh = size or output_size(target)
    disp_w, disp_h = v.display_size
    portrait_source = disp_h > disp_w
    crop = not portrait_source and Fraction(disp_w, disp_h) > target and mode != "pad"
    if not crop:
        return PictureSpec("fit", (ow, oh), (ow, oh), rotation=v.rotation, target=target), None
    if v.rotation:
        raise InvalidMediaError("rotated landscape sources are not supported for cropping yet", path=src)
    cw, ch = crop_size(v.width, v.height, target, v.sar)
    if path_in is not None:
        camera = CameraPath.read(path_in, v.frame_count, v.width, v.height)
    else:
        if analysis is None:
            from ..analysis import AnalysisParams, analyse

            analysis = analyse(src, sink=sink, threads=ffmpeg.threads if ffmpeg else None,
                               params=AnalysisParams(detector=detector))  # fmt: skip
        camera = plan_camera(analysis, cw, ch, mode=mode)
    cw, ch = camera.crop_width, camera.crop_height  # a given path brings its own crop size
    if cw > v.width or ch > v.height:
        raise InvalidMediaError(f"the crop path's window {cw}x{ch} is larger than the source", path=path_in or src)
    pad = frozenset(i for s in camera.shots if s.mode == "pad" for i in range(s.start, s.stop))
    piped = (ow, oh) if pad else (cw, ch)  # crops only: pipe them at crop size and let ffmpeg scale
    y0 = (v.height - ch) // 2 // 2 * 2
    return PictureSpec("crop", (ow, oh), piped, 0, camera.x, (cw, ch), y0, pad, target=target), camera


def reframe(
    src: str | Path,
    out: str | Path,
    *,
    aspect: str | Fraction = "9:16",
    mode: Mode = "auto",
    size: tuple[int, int] | None = None,
    path_in: Path | None = None,
    path_out: Path | None = None,
    preview: Path | None = None,
    analysis: Any = None,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    encoder_args: list[str] | None = None,
    burn: BurnOptions | None = None,
    detector: str = "full",
) -> ReframeResult:
    """Reframe ``src`` into ``out`` (written atomically), through the same render as ``vertcut run``.

    ``burn``: subtitles to burn onto the reframed picture in the same encode (placed in the output
    frame; the cue times are the source's), which saves the separate encode of ``subtitles.burn``.

    Raises:
        InputError: unreadable source, no video, a picture too small to reframe,
            or a crop path that does not fit the source; with ``burn``, unreadable
            subtitles or text the font cannot show.
        FFmpegError: the encoder failed.
    """
    from ..render.episode import EpisodeRender, Mezzanine, render_episode
    from ..render.source import AudioWindow, FrameRangeSource

    src, out = Path(src), Path(out)
    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, "reframe")
    info = probe(src)
    v = info.require_video()
    picture, camera = plan_picture(src, info, aspect=aspect, mode=mode, size=size, path_in=path_in,
                                   analysis=analysis, ffmpeg=ff, sink=sink, detector=detector)  # fmt: skip
    if path_out is not None and camera is not None:
        camera.write(Path(path_out))
    table = frame_table(src)
    rng = FrameRangeSource.of(src, table, v.frame_rate, 0, len(table))
    duration = rng.duration
    subs = None
    if burn is not None:
        from ..subtitles.layer import Picture, plan_subtitles

        pic = Picture(picture.output, "yuv420p", OUTPUT_COLOR, table.time_base, v.frame_rate, duration)
        subs = plan_subtitles(pic, burn, path=src, reporter=Reporter(sink, "subtitles"))
    audio = AudioWindow.of(info, table.seconds(0), duration)
    video = tuple(encoder_args or DEFAULT_ENCODER)
    mezz = Mezzanine(video=video, audio=("-c:a", "aac", "-b:a", "192k", "-ar", "48000"))
    ep = EpisodeRender(0, out.stem, rng, picture, OUTPUT_COLOR, v.is_vfr, audio, None, subs, (Fraction(0), duration),
                       None, out.parent, mezz, out, ff.threads)  # fmt: skip
    rep.start(len(rng.pts), "frames")
    render_episode(ep, ffmpeg=ff, sink=sink)
    written = 0 if ff.dry_run else len(rng.pts)  # the render checks it piped every frame
    burned = None
    if subs is not None:
        from ..subtitles.layer import BurnResult

        burned = BurnResult(out, subs.text, list(subs.findings), subs.fontsize, subs.method)
    if preview is not None and camera is not None:
        from .preview import write_preview

        if analysis is None:
            from ..analysis import AnalysisParams, analyse

            analysis = analyse(src, sink=sink, threads=ff.threads, params=AnalysisParams(detector=detector))
        write_preview(src, Path(preview), camera, analysis, ff, rep)
    kind = "crop" if picture.kind == "crop" else "fit"
    ow, oh = picture.output
    rep.end(f"{written} frames, {ow}x{oh}, {kind}")
    return ReframeResult(out, (ow, oh), written, camera, kind, burned)
