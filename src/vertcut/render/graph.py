"""One ffmpeg command from one picture source into many outputs.

A :class:`Source` is where the picture and the sound come from: a file ffmpeg decodes itself, or
frames vertcut pipes in (:mod:`vertcut.render.source`); its filter chain ends in the label
``[src]``: the finished picture (reframed, subtitles composited). Each :class:`Output` is one
file (or one muxer: the DASH/CMAF ladder) with one or more video streams, each a filter chain
from ``[src]``, and optionally the sound. :func:`command` splits ``[src]`` once into every video
stream of every output, so the picture is made once and encoded once per stream, in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import FFmpegError
from ..ffmpeg import FFmpeg
from ..ffmpeg.runner import FFmpegProcess

__all__ = ["Output", "Source", "command", "run"]


@dataclass(frozen=True)
class Output:
    """One output of the render.

    ``video``: one filter chain per video stream, from the finished picture (``""``: as it is).
    ``args``: the output's options after its maps (codecs, ``-t``, ``-f``, ...), not its path.
    ``audio``: the audio encoder options, or None for no sound. ``audio_filter``: filters after the
    source's own (loudness), without a trailing comma.
    """

    dest: Path
    video: tuple[str, ...]
    args: tuple[str, ...]
    audio: tuple[str, ...] | None = None
    audio_filter: str = ""


@dataclass
class Source:
    """The picture and sound of a render.

    ``inputs``: ffmpeg's input options (every ``-i``); ``graph``: the filter chains ending in ``[src]``;
    ``audio``: the audio stream to map (``"1:a:0"``), or None; ``audio_head``: filters applied to it
    first (a trim; ends with a comma, or empty); ``feed``: writes the piped frames into the running
    ffmpeg, for a piped source (returns the frames written).
    """

    inputs: list[str]
    graph: str
    duration: Fraction
    audio: str | None = None
    audio_head: str = ""
    feed: Callable[[FFmpegProcess], int] | None = None
    frames: int | None = None  # frames the source gives, when known


def command(source: Source, outputs: Sequence[Output], ff: FFmpeg) -> list[str]:
    """The ffmpeg arguments rendering ``source`` into every output at once."""
    chains = [c for o in outputs for c in o.video]
    n = len(chains)
    graph = source.graph
    if n == 1:
        graph += f";[src]{chains[0] or 'null'}[o0]"
    else:
        graph += f";[src]split={n}" + "".join(f"[t{k}]" for k in range(n))
        graph += "".join(f";[t{k}]{c or 'null'}[o{k}]" for k, c in enumerate(chains))
    args = [*source.inputs, "-filter_complex", graph]
    k = 0
    for o in outputs:
        for _ in o.video:
            args += ["-map", f"[o{k}]"]
            k += 1
        if o.audio is not None and source.audio is not None:
            args += ["-map", source.audio, *o.audio]
            af = (source.audio_head + o.audio_filter).rstrip(",")
            if af:
                args += ["-af", af]
        args += [*ff.output_thread_args(), *o.args, str(o.dest)]
    return args


def run(ff: FFmpeg, args: list[str], source: Source, stage: str) -> int | None:
    """Run the render command (feeding the piped frames, if any); returns the frames piped.

    Raises:
        FFmpegError: ffmpeg failed, or fewer or more frames were piped than the source promised.
    """
    if source.feed is None:
        ff.run(args, stage=stage, duration=source.duration)
        return None
    with ff.open(args, stage=stage, duration=source.duration) as proc:
        if ff.dry_run:
            return 0
        frames = source.feed(proc)
    if source.frames is not None and frames != source.frames:
        raise FFmpegError(f"the render piped {frames} frames, expected {source.frames}", argv=proc.argv)
    return frames
