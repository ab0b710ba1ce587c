"""Reframing: 16:9 or scope masters to 9:16 (4:5, 1:1), and vertical to 16:9 for TVs.

``reframe(src, out)`` analyses the source (one cached decode pass), plans a
calm virtual camera per shot (:mod:`vertcut.reframe.plan`) and renders it in
a NumPy/OpenCV loop over YUV planes feeding ffmpeg
(:mod:`vertcut.reframe.render`). Portrait sources (also those portrait only
through rotation metadata) are never cropped for a portrait target: they are
scaled, or fitted over a blurred copy when the aspect differs; a portrait
source asked for 16:9 gets a blurred pillarbox. Non-square pixels are
corrected in the same resize.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..errors import InvalidMediaError
from ..ffmpeg import FFmpeg
from ..media.probe import probe
from ..media.threads import cv_threads
from ..progress import ProgressSink, Reporter
from .plan import CameraPath, Mode, crop_size, plan_camera
from .render import OUTPUT_COLOR, Planes, encode_planes, fit_over_blur, iter_yuv, resize_plane

if TYPE_CHECKING:
    from ..subtitles.burn import BurnResult
    from ..subtitles.layer import BurnOptions

__all__ = ["CameraPath", "ReframeResult", "output_size", "parse_aspect", "reframe"]

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


def _rotate(planes: Planes, rotation: int) -> Planes:
    if rotation == 0:
        return planes
    code = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}[rotation]
    y, u, v = (np.ascontiguousarray(cv2.rotate(p, code), dtype=np.uint8) for p in planes)
    return y, u, v


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
) -> ReframeResult:
    """Reframe ``src`` into ``out`` (written atomically).

    ``burn``: subtitles to burn onto the reframed picture in the same encode (placed in the output
    frame; the cue times are the source's), which saves the separate encode of ``subtitles.burn``.

    Raises:
        InputError: unreadable source, no video, a picture too small to reframe,
            or a crop path that does not fit the source; with ``burn``, unreadable
            subtitles or text the font cannot show.
        FFmpegError: the encoder failed.
    """
    src, out = Path(src), Path(out)
    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, "reframe")
    target = parse_aspect(aspect) if isinstance(aspect, str) else aspect
    info = probe(src)
    v = info.require_video()
    if min(v.width, v.height) < MIN_SIDE:
        raise InvalidMediaError(
            f"picture is {v.width}x{v.height}, too small to reframe (minimum {MIN_SIDE} px)", path=src
        )
    ow, oh = size or output_size(target)
    disp_w, disp_h = v.display_size
    source_aspect = Fraction(disp_w, disp_h)
    portrait_source = disp_h > disp_w
    crop = not portrait_source and source_aspect > target and mode != "pad"
    rate = v.frame_rate
    total = v.frame_count
    camera: CameraPath | None = None
    piped: tuple[int, int] | None = None
    if crop:
        if v.rotation:
            raise InvalidMediaError("rotated landscape sources are not supported for cropping yet", path=src)
        cw, ch = crop_size(v.width, v.height, target, v.sar)
        if path_in is not None:
            camera = CameraPath.read(path_in, total, v.width, v.height)
        else:
            if analysis is None:
                from ..analysis import analyse

                analysis = analyse(src, sink=sink, threads=ff.threads)
            camera = plan_camera(analysis, cw, ch, mode=mode)
        if path_out is not None:
            camera.write(Path(path_out))
        if any(s.mode == "pad" for s in camera.shots):
            frames = _cropped(src, v.width, v.height, camera, ow, oh, ff.threads)
        else:  # crops only: pipe them at crop size and let ffmpeg scale
            frames = _cropped(src, v.width, v.height, camera, cw, ch, ff.threads)
            piped = (cw, ch)
    else:
        frames = _fitted(src, v.width, v.height, v.rotation, ow, oh, target, portrait_source, ff.threads)
    with ExitStack() as stack:
        stack.enter_context(cv_threads(ff.threads))  # the resizes run in this process
        layer = None
        if burn is not None:
            from ..subtitles.layer import Picture, subtitle_layer

            picture = Picture((ow, oh), "yuv420p", OUTPUT_COLOR, 1 / rate, rate, Fraction(total) / rate)
            layer = stack.enter_context(
                subtitle_layer(picture, burn, path=src, ffmpeg=ff, reporter=Reporter(sink, "subtitles"))
            )
        rep.start(total, "frames")
        written = encode_planes(
            frames,
            out,
            size=(ow, oh),
            piped_size=piped,
            rate=rate,
            info=info,
            ffmpeg=ff,
            reporter=rep,
            total=total,
            encoder_args=encoder_args,
            layer=layer,
        )
        burned = layer.result(out) if layer is not None else None
    if preview is not None and camera is not None:
        from .preview import write_preview

        if analysis is None:
            from ..analysis import analyse

            analysis = analyse(src, sink=sink, threads=ff.threads)
        write_preview(src, Path(preview), camera, analysis, ff, rep)
    rep.end(f"{written} frames, {ow}x{oh}, {'crop' if crop else 'fit'}")
    return ReframeResult(out, (ow, oh), written, camera, "crop" if crop else "fit", burned)


def _cropped(src: Path, w: int, h: int, camera: CameraPath, ow: int, oh: int, threads: int | None) -> Iterator[Planes]:
    cw, ch = camera.crop_width, camera.crop_height
    y0 = (h - ch) // 2 // 2 * 2
    pad_frames = {i for s in camera.shots if s.mode == "pad" for i in range(s.start, s.stop)}
    for i, planes in enumerate(iter_yuv(src, w, h, threads)):
        if i in pad_frames:
            yield fit_over_blur(planes, ow, oh)
            continue
        x = camera.x[min(i, len(camera.x) - 1)] // 2 * 2
        y, u, v = planes
        yield (
            resize_plane(y[y0 : y0 + ch, x : x + cw], ow, oh),
            resize_plane(u[y0 // 2 : (y0 + ch) // 2, x // 2 : (x + cw) // 2], ow // 2, oh // 2),
            resize_plane(v[y0 // 2 : (y0 + ch) // 2, x // 2 : (x + cw) // 2], ow // 2, oh // 2),
        )


def _fitted(
    src: Path,
    w: int,
    h: int,
    rotation: int,
    ow: int,
    oh: int,
    target: Fraction,
    portrait_source: bool,
    threads: int | None,
) -> Iterator[Planes]:
    for planes in iter_yuv(src, w, h, threads):
        p = _rotate(planes, rotation)
        ph, pw = p[0].shape
        if abs(Fraction(pw, ph) - target) < Fraction(1, 100):
            yield resize_plane(p[0], ow, oh), resize_plane(p[1], ow // 2, oh // 2), resize_plane(p[2], ow // 2, oh // 2)
        else:
            yield fit_over_blur(p, ow, oh)
