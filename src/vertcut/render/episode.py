"""One episode, rendered once from the master into every delivered file.

An :class:`EpisodeRender` is one episode of a series plan as plain data (an executor task can run
it on another machine): the master's frame range and timestamps, the picture (its slice of the
camera path), the subtitle layer, the audio range and its measured loudness, and the outputs.

:func:`piped_source` is the one place a frame range of the master becomes a finished picture:
decoded in this process, cropped or fitted per frame (:mod:`vertcut.render.picture`), piped to
ffmpeg with its timestamps, scaled there to the output size, the subtitle sprites composited on
it; the sound cut from the master at the same instant. :func:`render_episode` feeds it to
:func:`vertcut.encode.encode_source`: one ffmpeg process, one lossy generation, every rung of the
ladder, every platform master and the mezzanine.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path
from ..media.probe import ColorInfo
from ..media.threads import cv_threads
from ..progress import ProgressSink, Reporter
from ..timebase import to_ffmpeg_seconds
from .graph import Output, Source
from .picture import PictureSpec, planes_of
from .source import AudioWindow, FrameRangeSource, NutWriter, decode_range

if TYPE_CHECKING:
    from ..encode import EncodeReport, EncodeSettings
    from ..encode.softsubs import SoftSubtitle
    from ..labels import LabelPlan
    from ..subtitles.layer import SubtitlePlan
    from ..watermark import Embedder


class Layer(Protocol):
    """Something composited over the finished picture in the filter graph (subtitles, labels)."""

    @property
    def inputs(self) -> list[str]: ...

    def filter(self, main: str, out: str, first_input: int) -> str: ...


__all__ = ["MEZZANINES", "EpisodeRender", "Mezzanine", "piped_source", "render_episode", "render_task"]


@dataclass(frozen=True)
class Mezzanine:
    """The high-quality episode file for archive and re-delivery: the finished picture at full size,
    timing as the master's (VFR stays VFR), the master's own sound cut at the same sample
    (not loudness-normalised: a re-delivery has its own target)."""

    video: tuple[str, ...] = ("-c:v", "libx264", "-preset", "medium", "-crf", "16", "-pix_fmt", "yuv420p")
    audio: tuple[str, ...] = ("-c:a", "aac", "-b:a", "256k")

    def output(self, dest: Path, duration: Fraction) -> Output:
        # the picture's own timestamps (ffmpeg would otherwise renumber them at the nominal rate)
        args = (*self.video, "-fps_mode", "passthrough", "-enc_time_base:v", "filter", "-t", to_ffmpeg_seconds(duration),
                "-movflags", "+faststart+negative_cts_offsets")  # fmt: skip
        return Output(dest, ("",), args, self.audio)


MEZZANINES = {
    "hq": Mezzanine(),
    # bit-exact pictures and samples: what the frame-exactness proofs render
    "lossless": Mezzanine(
        ("-c:v", "libx264", "-qp", "0", "-preset", "veryfast", "-pix_fmt", "yuv420p"), ("-c:a", "flac")
    ),
}


@dataclass(frozen=True)
class EpisodeRender:
    """One episode's render, as plain data."""

    number: int
    name: str  # ep001
    source: FrameRangeSource
    picture: PictureSpec  # its slice of the camera path
    color: ColorInfo  # of the finished picture
    is_vfr: bool
    audio: AudioWindow | None  # the episode's sound in the master
    loudness: dict[str, float] | None  # its measured loudness (pass 1 of the normalisation)
    subtitles: SubtitlePlan | None  # the whole master's layer; the episode's window is drawn
    window: tuple[Fraction, Fraction]  # the episode in seconds from the master's first frame
    settings: EncodeSettings | None  # the ladder, packages and masters; None: the mezzanine only
    dest: Path  # the ladder's folder (encoded/ep001)
    mezzanine: Mezzanine | None = None
    mezzanine_dest: Path | None = None
    threads: int | None = None  # the task's thread cap (decode, OpenCV; ffmpeg's comes with its runner)
    soft_subtitles: tuple[SoftSubtitle, ...] = ()  # the other languages, re-timed to the episode
    labels: LabelPlan | None = None  # required on-screen labels and the implicit ones (container tags)
    watermark: Embedder | None = None  # the distributor's invisible mark, embedded in the luma per frame
    watermark_id: str = ""  # the distributor it names (for the report; the key stays out of it)

    @property
    def duration(self) -> Fraction:
        return self.window[1] - self.window[0]


def _setparams(c: ColorInfo) -> str:
    parts = [f"{k}={v}" for k, v in (("color_primaries", c.primaries), ("color_trc", c.transfer),
                                     ("colorspace", c.matrix), ("range", c.range)) if v]  # fmt: skip
    return f"setparams={':'.join(parts)}" if parts else "null"


def piped_source(ep: EpisodeRender, layers: Sequence[Layer], ff: FFmpeg, reporter: Reporter | None = None) -> Source:
    """The finished picture and sound of ``ep`` as a render source (frames piped from this process, the
    watermark embedded in them); ``layers`` (subtitles, labels) are composited over it in order."""
    rng, pic = ep.source, ep.picture
    inputs = ["-f", "nut", *ff.thread_args(), "-i", "pipe:0"]
    audio = "0:a:0" if ep.audio is not None else None
    ow, oh = pic.output
    scale = f"scale={ow}:{oh}," if pic.piped != pic.output else ""
    chain = f"[0:v]{scale}{_setparams(ep.color)}"
    if not layers:
        graph = f"{chain}[src]"
    else:  # the scaled frames are new, so overlay blends into them without copying them first
        parts, cur = [f"{chain}[pic0]"], "pic0"
        for k, layer in enumerate(layers):
            nxt = "src" if k == len(layers) - 1 else f"pic{k + 1}"
            parts.append(layer.filter(cur, nxt, first_input=inputs.count("-i")))
            inputs += layer.inputs
            cur = nxt
        graph = ";".join(parts)
    rep = reporter or Reporter(None, "render")
    mark = ep.watermark

    def feed(proc: Any) -> int:
        writer = NutWriter(proc, pic.piped, pic.pix_fmt, rng.time_base, rng.rate, ep.audio)
        n = 0
        with cv_threads(ep.threads):
            for item in decode_range(rng.master, rng.pts, rng.first, rng.time_base, ep.audio):
                if not isinstance(item, tuple):
                    writer.write_audio(item)
                    continue
                index, frame = item
                pts, dur = rng.relative(n)
                shown = pic.apply(index, frame)
                if mark is not None:
                    if shown.format.name != "yuv420p":
                        shown = shown.reformat(format="yuv420p")
                    mark.apply(n, planes_of(shown)[0])
                writer.write(shown, pts, dur)
                n += 1
                if n % 50 == 0:
                    rep.advance(n, rng.count, "frames")
        writer.close()
        return n

    return Source(inputs, graph, ep.duration, audio, "", feed, rng.count)


def render_episode(
    ep: EpisodeRender, *, ffmpeg: FFmpeg | None = None, sink: ProgressSink | None = None
) -> EncodeReport | None:
    """Render ``ep`` once into its ladder, masters and mezzanine (or the mezzanine alone, when it has no
    encode settings). Returns the encode report (None for a mezzanine-only render).

    Raises:
        InputError: the master no longer decodes; FFmpegError / OutOfSpaceError: the render failed
        (nothing partial is left); CheckFailedError: a platform master breaks its platform's limits.
    """
    from ..encode import PictureInfo, encode_source
    from ..labels import draw_labels
    from ..subtitles.layer import draw_layer

    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, f"render {ep.name}")
    pic = PictureInfo(ep.picture.output, ep.color, ep.is_vfr, ep.source.rate, ep.duration)
    with ExitStack() as stack:
        layers: list[Layer] = []
        if ep.subtitles is not None:
            layers.append(
                stack.enter_context(
                    draw_layer(ep.subtitles, window=ep.window, time_base=ep.source.time_base, ffmpeg=ff)
                )
            )
        metadata: dict[str, str] = {}
        if ep.labels is not None:
            layers.append(stack.enter_context(draw_labels(ep.labels, ep.picture.output, ep.source.time_base,
                                                          ep.duration, color=ep.color, ffmpeg=ff)))  # fmt: skip
            metadata = dict(ep.labels.metadata)
        source = piped_source(ep, layers, ff, rep)
        extra: list[Output] = []
        mezz_tmp: Path | None = None
        if ep.mezzanine is not None and ep.mezzanine_dest is not None:
            if ff.dry_run:
                mezz_tmp = ep.mezzanine_dest
            else:
                ep.mezzanine_dest.parent.mkdir(parents=True, exist_ok=True)
                mezz_tmp = stack.enter_context(atomic_path(ep.mezzanine_dest))
            mezz = ep.mezzanine.output(mezz_tmp, ep.duration)
            if metadata:
                from ..encode.softsubs import tagged

                mezz = replace(mezz, args=tagged(mezz.args, metadata))
            extra.append(mezz)
        if ep.settings is None:
            from .graph import command, run

            run(ff, command(source, extra, ff), source, f"render {ep.name}")
            rep.end(f"{ep.source.count} frames")
            return None
        report: EncodeReport = encode_source(
            source,
            pic,
            ep.dest,
            ep.settings,
            loudness=ep.loudness,
            name=ep.name,
            ffmpeg=ff,
            sink=sink,
            extra=extra,
            subtitles=ep.soft_subtitles,
            metadata=metadata,
        )
        if not ff.dry_run:
            _add_to_report(ep, report)
    rep.end(f"{ep.source.count} frames")
    return report


def _add_to_report(ep: EpisodeRender, report: EncodeReport) -> None:
    """The episode's labels and watermark in its ``report.json`` (the soft subtitles are there already)."""
    import json

    from ..jobs.manifest import delivery

    data = {**report.to_dict(), **{k: v for k, v in delivery(ep).items() if k in ("labels", "watermark")}}
    with atomic_path(ep.dest / "report.json") as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def render_task(task: tuple[EpisodeRender, FFmpeg], sink: ProgressSink) -> str:
    """Render one episode (an executor task); returns its report's path."""
    from ..progress import for_episode

    ep, ff = task
    sink = for_episode(sink, ep.name)
    render_episode(ep, ffmpeg=ff.with_sink(sink), sink=sink)
    return str(ep.dest / "report.json")
