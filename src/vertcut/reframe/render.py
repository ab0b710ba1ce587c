"""The render loop: decode, crop and resize YUV planes in NumPy/OpenCV, pipe to ffmpeg.

Frames are decoded by PyAV in a thread, handed over through a small bounded
queue (memory stays flat), cropped and scaled plane by plane (no RGB
conversion), and written as raw ``yuv420p`` into an ffmpeg encoder running
as a separate process at the same time. The source's audio is muxed by the
same ffmpeg.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidMediaError
from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path
from ..media.probe import ColorInfo, MediaInfo, open_container
from ..media.threads import decode_threads
from ..progress import Reporter
from ..timebase import to_ffmpeg_seconds

if TYPE_CHECKING:
    from ..subtitles.layer import SubtitleLayer

__all__ = ["DEFAULT_ENCODER", "OUTPUT_COLOR", "Planes", "encode_planes", "iter_yuv"]

Planes = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]

OUTPUT_COLOR = ColorInfo("bt709", "bt709", "bt709", "tv", 8)  # the colour tags of every picture encode_planes writes

DEFAULT_ENCODER = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]


def _planes(frame: Any) -> Planes:
    """Zero-copy views of a yuv420p frame's planes (valid while the frame lives)."""
    views = []
    for p in frame.planes[:3]:
        arr = np.frombuffer(p, dtype=np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        views.append(arr)
    return views[0], views[1], views[2]


def iter_yuv(path: Path, width: int, height: int, threads: int | None = None) -> Iterator[Planes]:
    """Decoded frames as (Y, U, V) planes, from a decode thread through a bounded queue (the decoder
    running at most ``threads`` threads of its own, if given)."""
    q: Queue[Any] = Queue(maxsize=8)
    stop = threading.Event()

    def work() -> None:
        try:
            with open_container(path) as c:
                s = c.streams.video[0]
                decode_threads(s, threads)
                for frame in c.decode(s):
                    if stop.is_set():
                        return
                    if frame.format.name != "yuv420p" or frame.width != width or frame.height != height:
                        frame = frame.reformat(width=width, height=height, format="yuv420p")
                    q.put(frame)
            q.put(None)
        except Exception as exc:
            q.put(exc)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise InvalidMediaError(f"decoding failed: {item}", path=path) from item
            yield _planes(item)
    finally:
        stop.set()
        while t.is_alive():
            while not q.empty():
                q.get_nowait()
            t.join(timeout=0.05)


def encode_planes(
    frames: Iterator[Planes],
    out: Path,
    *,
    size: tuple[int, int],
    rate: Fraction,
    info: MediaInfo,
    ffmpeg: FFmpeg,
    reporter: Reporter,
    total: int,
    encoder_args: list[str] | None = None,
    on_frame: Callable[[int], None] | None = None,
    piped_size: tuple[int, int] | None = None,
    layer: SubtitleLayer | None = None,
) -> int:
    """Pipe planes into an ffmpeg encoder (with the source's audio); returns frames written.

    ``piped_size``: the planes arrive at this size and ffmpeg scales them to
    ``size`` (a crop is a third of the bytes of the upscaled frame, and the
    scaling runs threaded inside ffmpeg, beside the encoder). ``layer``: subtitles composited
    onto the scaled picture in the same encode.
    """
    ow, oh = size
    pw, ph = piped_size or size
    args = [
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{pw}x{ph}", "-r", f"{rate.numerator}/{rate.denominator}",
        "-i", "pipe:0",
    ]  # fmt: skip
    duration = Fraction(total) / rate
    if info.audio:
        # The audio is cut at the video's exact length by an input -t: ffmpeg 9's -shortest
        # costs about 40 % more wall time here (its sync queue stalls the encoder).
        args += ["-t", to_ffmpeg_seconds(duration), "-i", info.path]
    scale = f"scale={ow}:{oh}," if (pw, ph) != (ow, oh) else ""
    c = OUTPUT_COLOR
    chain = (
        f"{scale}setparams=color_primaries={c.primaries}:color_trc={c.transfer}:colorspace={c.matrix}:range={c.range}"
    )
    if layer is None:
        args += ["-map", "0:v:0", "-vf", chain]
    else:  # the scaled frames are new, so overlay blends into them without copying them first
        graph = f"[0:v:0]{chain}[pic];" + layer.filter("pic", "vout", first_input=2 if info.audio else 1)
        args += [*layer.inputs, "-filter_complex", graph, "-map", "[vout]"]
    if info.audio:
        args += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "192k", "-ar", "48000"]
    args += [*ffmpeg.thread_args(), *(encoder_args or DEFAULT_ENCODER)]
    args += ["-movflags", "+faststart"]
    written = 0
    if ffmpeg.dry_run:
        with ffmpeg.open([*args, str(out)], stage=reporter.stage, duration=duration):
            return 0  # the command is reported; no frame is decoded
    with atomic_path(out) as tmp, ffmpeg.open([*args, str(tmp)], stage=reporter.stage, duration=duration) as proc:
        for y, u, v in frames:
            proc.write(np.ascontiguousarray(y).data)
            proc.write(np.ascontiguousarray(u).data)
            proc.write(np.ascontiguousarray(v).data)
            written += 1
            if on_frame is not None:
                on_frame(written)
    return written


def resize_plane(p: npt.NDArray[np.uint8], w: int, h: int) -> npt.NDArray[np.uint8]:
    if p.shape[1] == w and p.shape[0] == h:
        return p
    interp = cv2.INTER_AREA if p.shape[1] > w else cv2.INTER_LINEAR
    return cast(npt.NDArray[np.uint8], cv2.resize(p, (w, h), interpolation=interp))


def blurred_fill(p: npt.NDArray[np.uint8], w: int, h: int) -> npt.NDArray[np.uint8]:
    """A heavily blurred cover-fit of ``p`` at w x h (cheap: blur at 1/8 size)."""
    ph, pw = p.shape
    scale = max(w / pw, h / ph)
    cw, ch = min(pw, int(w / scale)), min(ph, int(h / scale))
    x0, y0 = (pw - cw) // 2, (ph - ch) // 2
    small = cv2.resize(p[y0 : y0 + ch, x0 : x0 + cw], (max(2, w // 8), max(2, h // 8)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3)
    return cast(npt.NDArray[np.uint8], cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))


def fit_over_blur(planes: Planes, ow: int, oh: int, dim: float = 0.6) -> Planes:
    """The whole picture fitted inside ow x oh over a blurred, dimmed copy of itself."""
    y, u, v = planes
    ph, pw = y.shape
    scale = min(ow / pw, oh / ph)
    fw, fh = max(2, int(pw * scale) // 2 * 2), max(2, int(ph * scale) // 2 * 2)
    x0, y0 = (ow - fw) // 2 // 2 * 2, (oh - fh) // 2 // 2 * 2
    out = []
    for p, sub in ((y, 1), (u, 2), (v, 2)):
        bg = blurred_fill(p, ow // sub, oh // sub)
        if sub == 1:
            bg = (bg.astype(np.float32) * dim + 16 * (1 - dim)).astype(np.uint8)
        fg = resize_plane(p, fw // sub, fh // sub)
        bg[y0 // sub : y0 // sub + fh // sub, x0 // sub : x0 // sub + fw // sub] = fg
        out.append(bg)
    return out[0], out[1], out[2]
