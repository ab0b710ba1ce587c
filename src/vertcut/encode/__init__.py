"""ABR ladder encoding, HLS/DASH packaging and platform upload masters.

``encode_episode`` works in a fixed order:

1. loudness: one measuring pass (EBU R128 ``loudnorm``) over the audio;
2. one ffmpeg run decodes the episode once, splits the picture into every
   rung (scale, SAR 1:1, BT.709 tags), encodes them all with keyframes forced
   at the same instants (every ``segment_seconds``; no scene-cut keyframes,
   closed GOPs) and the audio once, loudness-normalised with the measured
   values; its output is CMAF: fMP4 segments shared by the DASH manifest and
   the HLS playlists;
3. vertcut rewrites the HLS master playlist from the real segments (see
   :mod:`vertcut.encode.hls`) and writes I-frame playlists;
4. from the same segments, without re-encoding: an MPEG-TS HLS fallback for
   older TV players and a faststart progressive MP4 per rung;
5. platform upload masters, each checked against its platform's limits;
6. optionally, VMAF of every rung against the top one.

Everything is written into temporary folders and renamed into place.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from .. import __version__
from ..errors import CheckFailedError, FFmpegError, InputError, OutOfSpaceError, UnsupportedError
from ..ffmpeg import FFmpeg, escape_filter_path, has_encoder
from ..fsutil import atomic_dir, atomic_path
from ..media.probe import ColorInfo, MediaInfo, VideoStreamInfo, probe
from ..presets import load_preset
from ..progress import ProgressSink, Reporter
from ..timebase import to_ffmpeg_seconds
from .hls import (
    Variant,
    parse_media_playlist,
    peak_rate,
    rewrite_mpd_bandwidth,
    tidy_media_playlist,
    write_iframe_playlist,
    write_master,
)
from .platform import check_master
from .presets import LadderPreset, PlatformSpec, Rung
from .softsubs import SoftSubtitle, add_dash_subtitles, hls_renditions, iso639_2, metadata_args, tagged

if TYPE_CHECKING:
    from ..render.graph import Output, Source

__all__ = [
    "EncodeReport", "EncodeSettings", "LadderPreset", "PictureInfo", "PlatformSpec", "Rung", "encode_episode",
    "encode_source", "measure_loudness",
]  # fmt: skip

PACKAGES = ("hls", "dash", "ts", "mp4")
PLATFORM_ALIASES = {"shorts": "youtube-shorts", "reels": "instagram-reels", "instagram": "instagram-reels",
                    "wechat": "wechat-channels", "channels": "wechat-channels", "youtube": "youtube-shorts"}  # fmt: skip
_ENCODERS = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}


@dataclass
class EncodeReport:
    source: str
    ladder: str
    rungs: list[dict[str, Any]] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    masters: list[dict[str, Any]] = field(default_factory=list)
    loudness: dict[str, Any] = field(default_factory=dict)
    keyframes_aligned: bool = False
    vmaf: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    subtitles: list[dict[str, Any]] = field(default_factory=list)  # the soft subtitle languages packaged
    metadata: dict[str, str] = field(default_factory=dict)  # container tags written into every file

    def to_dict(self) -> dict[str, Any]:
        return {"vertcut": __version__, **self.__dict__}


_EBUR128 = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS\s*Threshold:\s*(?P<thresh>-?[\d.]+|-inf) LUFS"
    r".*?LRA:\s*(?P<lra>-?[\d.]+) LU.*?True peak:\s*Peak:\s*(?P<tp>-?[\d.]+|-inf) dBFS",
    re.S,
)


def measure_loudness(
    ff: FFmpeg, src: Path, stream: int = 0, *, input_args: Sequence[str] = (), head: str = ""
) -> dict[str, float]:
    """EBU R128 measurement (pass 1 of the two-pass normalisation) of one audio stream.

    ``input_args`` and ``head`` (a filter chain ending with a comma): the part of the stream to
    measure, e.g. one episode's range of a master (:func:`vertcut.render.source.measure_args`).

    Uses ffmpeg's ``ebur128`` meter (integrated loudness, its gating threshold,
    loudness range and true peak): the same numbers ``loudnorm``'s own first
    pass prints, about ten times faster. Keys follow ``loudnorm``'s JSON.
    """
    meter = ff.replace(loglevel="info")
    af = f"{head}ebur128=peak=true:framelog=quiet"
    res = meter.run(
        [*input_args, "-i", str(src), "-map", f"0:a:{stream}", "-af", af, "-f", "null", "-"], stage="loudness"
    )
    if res.dry_run:
        return {"input_i": -23.0, "input_tp": -2.0, "input_lra": 7.0, "input_thresh": -33.0, "target_offset": 0.0}
    found = list(_EBUR128.finditer(res.stderr_tail))
    if not found:
        raise FFmpegError("ebur128 printed no loudness summary", argv=res.argv, stderr_tail=res.stderr_tail)
    m = found[-1]  # the summary at the end of the run
    return {
        "input_i": float(m["i"]),
        "input_tp": float(m["tp"]),
        "input_lra": float(m["lra"]),
        "input_thresh": float(m["thresh"]),
        "target_offset": 0.0,
    }


def _loudnorm_filter(lad: LadderPreset, m: dict[str, float]) -> tuple[str, str]:
    """Pass 2 of the normalisation: (filter, mode).

    ``loudnorm`` with measured values applies one constant gain (its linear
    mode) whenever that gain keeps the true peak and the loudness range within
    the targets, and otherwise falls back to its dynamic mode. vertcut makes
    the same decision itself and applies the linear case as a plain
    ``volume`` gain: the same result without loudnorm's 192 kHz resampling.
    """
    ln = lad.loudness
    if m["input_i"] == float("-inf") or m["input_i"] < -70:
        return "aresample=48000", "silent"  # nothing to normalise
    gain = ln.integrated - m["input_i"]
    if m["input_tp"] + gain <= ln.true_peak and m["input_lra"] <= ln.lra:
        return f"volume={gain:.2f}dB,aresample=48000", f"linear {gain:+.2f} dB"
    # loudnorm reads measured_LRA == 0 as "not measured"
    lra = max(m["input_lra"], 0.1)
    return (
        f"loudnorm=I={ln.integrated}:TP={ln.true_peak}:LRA={ln.lra}:measured_I={m['input_i']}:"
        f"measured_TP={m['input_tp']}:measured_LRA={lra}:measured_thresh={m['input_thresh']}:"
        f"offset={m['target_offset']}:linear=true,aresample=48000"
    ), "dynamic (a linear gain would break the true-peak or range target)"


def _picture_filter(v: PictureInfo, rate: Fraction) -> str:
    """The chain making every rung's and master's picture 8-bit SDR BT.709 at a constant ``rate``."""
    parts = []
    if v.color.is_hdr:
        parts.append(
            "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv"
        )
    if v.is_vfr:  # constant frame rate for every rung (a CFR episode needs no fps filter: cheaper)
        parts.append(f"fps={rate.numerator}/{rate.denominator}")
    parts.append("format=yuv420p")
    parts.append("setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv")
    return ",".join(parts)


def _scale(r: Rung | PlatformSpec, flags: str = "bicubic", source: tuple[int, int] | None = None) -> str:
    """Fit into the rung (letterbox/pillarbox if the aspect differs), square pixels.

    The ladder uses bicubic (ffmpeg's default: lanczos costs about 20 % more CPU
    for the four rungs, measured); upload masters use lanczos. ``source`` is the
    displayed size: when its aspect is exactly the rung's, no pad is needed.
    """
    w, h = r.width, r.height
    if source is not None and source[0] * h == source[1] * w:
        return f"scale={w}:{h}:flags={flags},setsar=1"
    return (
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags={flags},"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
    )


def _video_args(lad: LadderPreset, i: int, rung: Rung, seg: int) -> list[str]:
    enc = _ENCODERS[lad.codec]
    if not has_encoder(enc):
        raise UnsupportedError(f"this ffmpeg has no {enc} encoder for the {lad.codec} ladder")
    bufsize = rung.bufsize_k or 2 * rung.maxrate_k
    args = [
        f"-c:v:{i}",
        enc,
        f"-crf:v:{i}",
        str(rung.crf),
        f"-maxrate:v:{i}",
        f"{rung.maxrate_k}k",
        f"-bufsize:v:{i}",
        f"{bufsize}k",
    ]
    args += [f"-force_key_frames:v:{i}", f"expr:gte(t,n_forced*{seg})"]
    if lad.codec == "h264":
        args += [f"-profile:v:{i}", lad.profile, f"-preset:v:{i}", lad.speed]
    elif lad.codec == "hevc":
        args += [f"-preset:v:{i}", lad.speed, f"-tag:v:{i}", "hvc1"]
    else:
        args += [f"-preset:v:{i}", lad.speed]
    return args


def _codec_string(path: Path, codec: str) -> str:
    """RFC 6381 codec string from the stream's real parameters (avcC / hvcC / av1C)."""
    extra = _mp4_decoder_config(path.read_bytes()) if path.suffix in (".mp4", ".m4s") else None
    if extra is None:  # not an ISO-BMFF file, or a config box we do not know: ask libav
        with av.open(str(path)) as c:
            extra = bytes(c.streams.video[0].codec_context.extradata or b"")
    if codec == "h264" and len(extra) >= 4 and extra[0] == 1:
        return f"avc1.{extra[1]:02X}{extra[2]:02X}{extra[3]:02X}"
    if codec == "hevc" and len(extra) >= 13 and extra[0] == 1:
        return hevc_codec_string(extra)
    if codec == "av1" and len(extra) >= 4 and extra[0] == 0x81:
        profile, level = extra[1] >> 5, extra[1] & 0x1F
        tier = "H" if extra[2] & 0x80 else "M"
        depth = (12 if extra[2] & 0x20 else 10) if extra[2] & 0x40 else 8
        return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"
    raise InputError(f"cannot read the {codec} decoder configuration for the CODECS attribute", path=path)


_MP4_CONTAINERS = {b"moov": 0, b"trak": 0, b"mdia": 0, b"minf": 0, b"stbl": 0, b"stsd": 8}
_MP4_SAMPLE_ENTRIES = {b"avc1", b"avc3", b"hvc1", b"hev1", b"av01"}
_MP4_CONFIGS = {b"avcC", b"hvcC", b"av1C"}


def _mp4_decoder_config(data: bytes) -> bytes | None:
    """The payload of the first avcC / hvcC / av1C box in an ISO-BMFF file (an fMP4 init segment).

    Read from the boxes directly: an init segment holds no samples, and opening it with libav
    only to read the extradata makes libav warn on stderr that it found no frame.
    """

    def walk(start: int, end: int) -> bytes | None:
        pos = start
        while pos + 8 <= end:
            size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
            head = 8
            if size == 1 and pos + 16 <= end:
                size, head = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
            elif size == 0:
                size = end - pos
            if size < head or pos + size > end:
                return None
            body = pos + head
            if kind in _MP4_CONFIGS:
                return data[body : pos + size]
            if kind in _MP4_CONTAINERS or kind in _MP4_SAMPLE_ENTRIES:
                # stsd: version/flags + entry count; a visual sample entry: 78 bytes of fixed fields
                skip = 78 if kind in _MP4_SAMPLE_ENTRIES else _MP4_CONTAINERS[kind]
                found = walk(body + skip, pos + size)
                if found is not None:
                    return found
            pos += size
        return None

    return walk(0, len(data))


def hevc_codec_string(hvcc: bytes) -> str:
    """``hvc1.P.C.TL.CC`` per ISO/IEC 14496-15 annex E from an ``hvcC`` record."""
    space = "ABC"[(hvcc[1] >> 6) - 1] if hvcc[1] >> 6 else ""
    tier = "H" if hvcc[1] & 0x20 else "L"
    profile = hvcc[1] & 0x1F
    compat = int(f"{int.from_bytes(hvcc[2:6], 'big'):032b}"[::-1], 2)  # bits in reverse order
    constraints = list(hvcc[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [f"hvc1.{space}{profile}", f"{compat:X}", f"{tier}{hvcc[12]}", *(f"{b:02X}" for b in constraints)]
    return ".".join(parts)


def _concat(parts: list[Path], dest: Path) -> Path:
    with dest.open("wb") as out:
        for p in parts:
            with p.open("rb") as fh:
                shutil.copyfileobj(fh, out)
    return dest


def _keyframes(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = Fraction(s.time_base or Fraction(1))
        return sorted(Fraction(p.pts) * tb for p in c.demux(s) if p.pts is not None and p.is_keyframe)


@dataclass(frozen=True)
class PictureInfo:
    """What the ladder needs to know of the picture it encodes (a file's video stream, or a render's
    finished picture)."""

    display_size: tuple[int, int]
    color: ColorInfo
    is_vfr: bool
    rate: Fraction  # the ladder's constant frame rate
    duration: Fraction

    @classmethod
    def of(cls, v: VideoStreamInfo) -> PictureInfo:
        rate = v.frame_rate if not v.is_vfr else (v.average_rate or v.frame_rate)
        return cls(v.display_size, v.color, v.is_vfr, rate, v.duration or Fraction(v.frame_count) / rate)


@dataclass(frozen=True)
class EncodeSettings:
    """Which outputs an episode gets: plain data (it travels to executor tasks)."""

    ladder: str | LadderPreset = "h264-default"
    packages: tuple[str, ...] = PACKAGES
    masters: tuple[str | PlatformSpec, ...] = ()
    vmaf: bool = False
    ladder_name: str = ""  # the ladder preset's name, once ``ladder`` holds the preset itself

    def resolved(self) -> tuple[LadderPreset, list[PlatformSpec]]:
        lad: LadderPreset = load_preset("ladder", self.ladder) if isinstance(self.ladder, str) else self.ladder
        unknown = set(self.packages) - set(PACKAGES)
        if unknown:
            raise InputError(f"unknown package(s): {', '.join(sorted(unknown))} (choose from {', '.join(PACKAGES)})")
        specs = [m if isinstance(m, PlatformSpec) else load_preset("platform", PLATFORM_ALIASES.get(m, m))
                 for m in self.masters]  # fmt: skip
        return lad, specs

    def frozen(self) -> EncodeSettings:
        """These settings with their presets loaded (plain data: an executor task on another machine does
        not need this machine's user presets)."""
        lad, specs = self.resolved()
        return replace(self, ladder=lad, masters=tuple(specs), ladder_name=self.name)

    @property
    def name(self) -> str:
        """The ladder's name, for reports."""
        return self.ladder if isinstance(self.ladder, str) else self.ladder_name or "custom"

    @property
    def master_names(self) -> list[str]:
        return [m if isinstance(m, str) else m.name for m in self.masters]


def encode_episode(
    src: str | Path,
    out_dir: str | Path,
    *,
    ladder: str | LadderPreset = "h264-default",
    packages: tuple[str, ...] | list[str] = PACKAGES,
    masters: tuple[str, ...] | list[str] = (),
    vmaf: bool = False,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
) -> EncodeReport:
    """Encode one episode file into an ABR ladder, packages and platform masters under ``out_dir``
    (one ffmpeg run decodes it once and writes every rung and master).

    Raises:
        InputError: unreadable episode or no video; PresetError: unknown ladder/platform;
        FFmpegError / OutOfSpaceError: encoding failed (nothing partial is left).
    """
    from ..render.graph import Source

    src = Path(src)
    ff = ffmpeg or FFmpeg(sink=sink)
    settings = EncodeSettings(ladder, tuple(packages), tuple(masters), vmaf)
    settings.resolved()  # bad presets before any work
    info = probe(src)
    v = info.require_video()
    pic = PictureInfo.of(v)
    source = Source([*ff.thread_args(), "-i", str(src)], "[0:v]null[src]", pic.duration,
                    audio="0:a:0" if info.audio else None)  # fmt: skip
    loudness = measure_loudness(ff, src) if info.audio else None
    return encode_source(source, pic, out_dir, settings, loudness=loudness, name=str(src), ffmpeg=ff, sink=sink,
                         reference=(src, ""))  # fmt: skip


def encode_source(
    source: Source,
    pic: PictureInfo,
    out_dir: str | Path,
    settings: EncodeSettings,
    *,
    loudness: dict[str, float] | None,
    name: str,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    extra: Sequence[Output] = (),
    reference: tuple[Path, str] | None = None,
    subtitles: Sequence[SoftSubtitle] = (),
    metadata: Mapping[str, str] | None = None,
) -> EncodeReport:
    """Render ``source`` in one ffmpeg run into the ladder (CMAF for HLS and DASH), the platform masters
    and the ``extra`` outputs (e.g. a mezzanine file), then package TS and progressive MP4 from the
    ladder's own segments (remuxes, no encode).

    ``loudness``: the source's measured loudness (pass 1), or None when it has no sound. ``reference``:
    the picture VMAF is measured against (a file and the filter chain making it the finished picture);
    None renders a lossless one in the same pass. ``subtitles``: soft subtitles, packaged in every
    package (:mod:`vertcut.encode.softsubs`). ``metadata``: container tags written into every file
    (MP4 ``udta`` keys, the HLS master's ``EXT-X-SESSION-DATA``, the DASH manifest's program information).
    The output folder is all or nothing: on failure, what this call wrote is removed.
    """
    out = Path(out_dir)
    made_out = not out.exists()
    before = {p.name for p in out.iterdir()} if out.is_dir() else set()
    try:
        return _encode_source(source, pic, out, settings, loudness, name, ffmpeg or FFmpeg(sink=sink), sink, extra,
                              reference, tuple(subtitles), dict(metadata or {}))  # fmt: skip
    except CheckFailedError:
        raise  # everything was written; the report names the breaches
    except BaseException as exc:
        # an episode is all or nothing: remove what this call wrote
        if out.is_dir():
            for p in out.iterdir():
                if p.name not in before:
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            if made_out and not any(out.iterdir()):
                out.rmdir()
        if isinstance(exc, OutOfSpaceError):
            raise OutOfSpaceError(f"{exc.message}; partial output removed", path=exc.path or out) from exc
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise OutOfSpaceError(
                f"the disk is full (writing {exc.filename or 'the output'}); partial output removed", path=out
            ) from exc
        raise


def _ladder_output(lad: LadderPreset, pic: PictureInfo, dest: Path, audio_filter: str | None) -> Output:
    """Every rung and the sound into CMAF segments: keyframes forced at the same instants in every rung
    (every ``segment_seconds``; no scene-cut keyframes, closed GOPs), the sound encoded once."""
    from ..render.graph import Output

    seg = lad.segment_seconds
    head = _picture_filter(pic, pic.rate)
    chains = tuple(f"{head},{_scale(rung, source=pic.display_size)}" for rung in lad.rungs)
    args: list[str] = []
    for i, rung in enumerate(lad.rungs):
        args += _video_args(lad, i, rung, seg)
    if lad.codec == "h264":
        args += ["-x264-params", "scenecut=0:open-gop=0"]
    elif lad.codec == "hevc":
        args += ["-x265-params", "scenecut=0:open-gop=0:log-level=error"]
    # keyframes come only from -force_key_frames: the encoder's own GOP limit is set beyond the segment
    keyint = str(math.ceil(2 * seg * pic.rate))
    args += ["-g", keyint, "-sc_threshold", "0", "-fps_mode", "cfr", "-t", to_ffmpeg_seconds(pic.duration)]
    sets = "id=0,streams=v" + (" id=1,streams=a" if audio_filter is not None else "")
    args += ["-f", "dash", "-seg_duration", str(seg), "-use_template", "1", "-use_timeline", "0"]
    args += ["-hls_playlist", "1", "-adaptation_sets", sets]
    audio = ("-c:a", "aac", "-b:a", f"{lad.audio_bitrate_k}k", "-ar", "48000", "-ac", "2")
    return Output(dest, chains, tuple(args), audio if audio_filter is not None else None, audio_filter or "")


def _master_output(spec: PlatformSpec, pic: PictureInfo, dest: Path, audio_filter: str | None) -> Output:
    """One platform's upload master (lanczos scaling, the platform's GOP, bit rate and frame-rate range)."""
    from ..render.graph import Output

    rate = pic.rate
    out_rate = rate if spec.fps_min <= rate <= spec.fps_max else Fraction(30)
    vf = f"{_picture_filter(pic, out_rate)},{_scale(spec, 'lanczos', pic.display_size)}"
    if out_rate != rate and not pic.is_vfr:  # outside the platform's fps range
        vf += f",fps={out_rate.numerator}/{out_rate.denominator}"
    args = ["-c:v", _ENCODERS[spec.codec], "-crf", str(spec.crf)]
    args += ["-maxrate", f"{spec.video_bitrate_k}k", "-bufsize", f"{2 * spec.video_bitrate_k}k"]
    gop = max(1, round(out_rate * Fraction(spec.gop_seconds)))
    args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-preset", spec.speed]
    if spec.codec == "h264":
        args += ["-profile:v", "high", "-bf", "2", "-x264-params", "open-gop=0"]
    else:
        args += ["-tag:v", "hvc1", "-x265-params", "open-gop=0:log-level=error"]
    args += ["-fps_mode", "cfr", "-t", to_ffmpeg_seconds(pic.duration), "-movflags", "+faststart", "-use_editlist", "0"]
    audio = ("-c:a", "aac", "-b:a", f"{spec.audio_bitrate_k}k", "-ar", "48000", "-ac", "2")
    return Output(dest, (vf,), tuple(args), audio if audio_filter is not None else None, audio_filter or "")


def _master_name(spec: PlatformSpec) -> str:
    return re.sub(r"[^a-z0-9]+", "-", spec.name.lower()).strip("-")


def _encode_source(
    source: Source,
    pic: PictureInfo,
    out: Path,
    settings: EncodeSettings,
    loudness: dict[str, float] | None,
    name: str,
    ff: FFmpeg,
    sink: ProgressSink | None,
    extra: Sequence[Output],
    reference: tuple[Path, str] | None,
    subtitles: tuple[SoftSubtitle, ...],
    metadata: dict[str, str],
) -> EncodeReport:
    from ..render.graph import Output, command, run

    rep = Reporter(sink, "encode")
    lad, specs = settings.resolved()
    packages = list(settings.packages)
    report = EncodeReport(name, settings.name)
    rate = pic.rate
    seg = lad.segment_seconds
    if lad.codec != "h264" and "ts" in packages:
        rep.warning(f"{lad.codec} is packaged as fMP4 only; skipping the MPEG-TS fallback")
        report.warnings.append(f"{lad.codec}: no MPEG-TS fallback")
        packages = [p for p in packages if p != "ts"]

    if pic.color.is_hdr or pic.color.bit_depth > 8:
        what = "HDR" if pic.color.is_hdr else f"{pic.color.bit_depth}-bit"
        rep.warning(f"{what} input converted to 8-bit SDR BT.709")
        report.warnings.append(f"{what} input converted to 8-bit SDR BT.709")

    # 1. loudness (measured by the caller: pass 1) ---------------------------------------------------
    audio_filter: str | None = None
    if source.audio is not None and loudness is not None:
        report.loudness = {"measured": loudness, "target": lad.loudness.__dict__}
        audio_filter, mode = _loudnorm_filter(lad, loudness)
        report.loudness["mode"] = mode
    elif lad.no_audio == "silence":
        rep.warning("episode has no audio: adding a silent stereo track")
        report.warnings.append("no audio in the episode: silent track added")
        silence = ["-f", "lavfi", "-t", to_ffmpeg_seconds(pic.duration), "-i", "anullsrc=r=48000:cl=stereo"]
        source = replace(source, inputs=[*source.inputs, *silence], audio=f"{source.inputs.count('-i')}:a:0",
                         audio_head="")  # fmt: skip
        audio_filter = ""
    else:
        report.warnings.append("no audio in the episode: audio-less ladder")
    has_audio = audio_filter is not None

    # 2. one pass: every rung, every platform master and the extra outputs --------------------------------
    cmaf_dir = out / "cmaf"
    work = out / ".work"
    dry = ff.dry_run

    def folder(final: Path) -> Path:  # written under a temporary name, renamed when complete (a dry run: nothing)
        return final if dry else stack.enter_context(atomic_dir(final))

    if not dry:
        out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        tmp = folder(cmaf_dir)
        outputs = [_ladder_output(lad, pic, tmp / "manifest.mpd", audio_filter)]
        masters_tmp: Path | None = None
        links: list[tuple[Path, Path]] = []  # (same encode as, dest): platforms with identical settings
        master_files: list[tuple[PlatformSpec, Path]] = []
        if specs:
            masters_tmp = folder(out / "masters")
            made: dict[tuple[str, ...], Path] = {}
            for spec in specs:
                dest = masters_tmp / f"{_master_name(spec)}.mp4"
                o = _master_output(spec, pic, dest, audio_filter)
                key = (*o.video, *o.args, *(o.audio or ()))
                if key in made:
                    links.append((made[key], dest))
                else:
                    made[key] = dest
                    outputs.append(o)
                master_files.append((spec, dest))
        lossless_ref: Path | None = None
        if settings.vmaf and reference is None and "mp4" in packages:
            if not dry:
                work.mkdir(exist_ok=True)
            lossless_ref = work / "reference.mkv"
            top = lad.rungs[0]
            outputs.append(Output(lossless_ref, (f"{_picture_filter(pic, rate)},"
                                                 f"{_scale(top, source=pic.display_size)}",),
                                  ("-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-fps_mode", "cfr",
                                   "-t", to_ffmpeg_seconds(pic.duration))))  # fmt: skip
        outputs += extra
        if metadata:  # every file carries the tags (MP4 keys need use_metadata_tags)
            outputs = [replace(o, args=tagged(o.args, metadata)) for o in outputs]
            report.metadata = dict(metadata)
        run(ff, command(source, outputs, ff), source, "encode")
        if dry:
            return report
        for first, dest in links:
            os.link(first, dest)
        variants = _rewrite_hls(tmp, lad, rate, has_audio, report, subtitles, metadata)
        if "dash" not in packages:
            (tmp / "manifest.mpd").unlink()
        else:
            add_dash_subtitles(tmp / "manifest.mpd", subtitles, tmp, metadata)
        for spec, dest in master_files:  # sidecar files for the platforms that take them
            if spec.subtitles == "sidecar":
                for sub in subtitles:
                    _write_srt(sub, dest.with_name(f"{dest.stem}.{sub.lang}.srt"))
    # the playlists now live in the final folder
    for var in variants:
        var.video.path = cmaf_dir / var.video.path.name
    if variants and variants[0].audio is not None:
        variants[0].audio.path = cmaf_dir / variants[0].audio.path.name
    if "hls" not in packages and "dash" not in packages:
        report.packages["cmaf"] = str(cmaf_dir)
    if "hls" in packages:
        report.packages["hls"] = str(cmaf_dir / "master.m3u8")
    if "dash" in packages:
        report.packages["dash"] = str(cmaf_dir / "manifest.mpd")

    # 3. from the same segments: progressive MP4 and MPEG-TS HLS ------------------------------------
    work.mkdir(exist_ok=True)
    try:
        frags = _fragments(cmaf_dir, variants, work, has_audio)
        # a language without a cue in this episode has no mov_text track (ffmpeg reads no empty SRT)
        in_mp4 = [sub for sub in subtitles if sub.cues]
        srts = [_write_srt(sub, work / f"soft.{sub.slug}.srt") for sub in in_mp4]
        mp4s: list[Path] = []
        want_mp4 = "mp4" in packages or settings.vmaf
        with ExitStack() as dirs:  # both remuxes in one ffmpeg run: each start of this ffmpeg costs 0.2 s CPU
            mp4_tmp = dirs.enter_context(atomic_dir(out / "mp4")) if want_mp4 else None
            ts_tmp = dirs.enter_context(atomic_dir(out / "ts")) if "ts" in packages else None
            _remux(ff, lad, frags, mp4_tmp, ts_tmp, seg, list(zip(in_mp4, srts, strict=True)), metadata)
            if ts_tmp is not None:
                _ts_master(ts_tmp, lad, frags, rate, subtitles, metadata)
        if want_mp4:
            mp4s = [out / "mp4" / f"{r.name}.mp4" for r in lad.rungs]
            report.packages["mp4"] = str(out / "mp4")
        if "ts" in packages:
            report.packages["ts"] = str(out / "ts" / "master.m3u8")
        # keyframes identical in every rung
        keys = [_keyframes(vf) for vf, _ in frags]
        report.keyframes_aligned = all(k == keys[0] for k in keys)
        for rung, var, k in zip(lad.rungs, variants, keys, strict=True):
            peak, avg = var.bitrates()
            report.rungs.append(
                {"name": rung.name, "width": rung.width, "height": rung.height, "codecs": var.codecs,
                 "bandwidth": peak, "average_bandwidth": avg, "keyframes": [str(t) for t in k]}
            )  # fmt: skip
        report.subtitles = [
            {**sub.to_json(),
             "hls": f"cmaf/subs_{sub.slug}.m3u8" if "hls" in packages else None,
             "dash": f"cmaf/subs/{sub.slug}.vtt" if "dash" in packages else None,
             "mp4": "mov_text" if want_mp4 and sub.cues else None,
             "masters": [f"masters/{d.stem}.{sub.lang}.srt" for sp_, d in master_files if sp_.subtitles == "sidecar"]}
            for sub in subtitles
        ]  # fmt: skip
        if settings.vmaf and mp4s:
            if reference is not None:
                ref_file = reference[0]
                ref_filter = f"{_picture_filter(pic, rate)},{_scale(lad.rungs[0], source=pic.display_size)}"
            else:
                assert lossless_ref is not None
                ref_file, ref_filter = lossless_ref, "null"
            report.vmaf = _vmaf(ff, ref_file, ref_filter, mp4s, lad)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # 4. the platform masters' checks -------------------------------------------------------------------
    for spec, dest in master_files:
        final = out / "masters" / dest.name
        breaches = check_master(final, spec)
        for b in breaches:
            rep.warning(f"{spec.name} master: {b}")
        report.masters.append({"platform": spec.name, "file": f"masters/{final.name}", "breaches": breaches})
    with atomic_path(out / "report.json") as tmp_report:
        tmp_report.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    breaches = [f"{m['platform']}: {b}" for m in report.masters for b in m["breaches"]]
    rep.end(f"{len(lad.rungs)} rungs, {', '.join(report.packages)}")
    if breaches:
        raise CheckFailedError("platform limits breached: " + "; ".join(breaches), path=out / "report.json")
    return report


def _rewrite_hls(
    folder: Path,
    lad: LadderPreset,
    rate: Fraction,
    has_audio: bool,
    report: EncodeReport,
    subtitles: Sequence[SoftSubtitle] = (),
    metadata: Mapping[str, str] | None = None,
) -> list[Variant]:
    n = len(lad.rungs)
    playlists = [folder / f"media_{i}.m3u8" for i in range(n + (1 if has_audio else 0))]
    for p in playlists:
        tidy_media_playlist(p)
    audio = parse_media_playlist(playlists[n]) if has_audio else None
    variants = []
    for i, rung in enumerate(lad.rungs):
        media = parse_media_playlist(playlists[i])
        init = folder / (media.init or "")
        codecs = (
            _codec_string(init, lad.codec) if media.init else _codec_string(folder / media.segments[0][0], lad.codec)
        )
        var = Variant(media, audio, rung.width, rung.height, rate, codecs, f"iframes_{i}.m3u8")
        var.iframe_bandwidth = write_iframe_playlist(media, folder / f"iframes_{i}.m3u8")
        variants.append(var)
    renditions = []
    if subtitles:  # cue time 0 is the first frame's presentation time in the segments
        media = variants[0].video
        first = _first_pts_90k([folder / (media.init or ""), folder / media.segments[0][0]] if media.init
                               else [folder / media.segments[0][0]])  # fmt: skip
        renditions = hls_renditions(subtitles, folder, [d for _, d in media.segments], first)
    write_master(variants, folder / "master.m3u8", playlists[n].name if has_audio else None,
                 subtitles=renditions, session_data=metadata)  # fmt: skip
    # DASH: each Representation's @bandwidth = its own peak segment rate (ffmpeg writes the average)
    peaks = {str(i): peak_rate(var.video) for i, var in enumerate(variants)}
    if audio is not None:
        peaks[str(n)] = peak_rate(audio)
    rewrite_mpd_bandwidth(folder / "manifest.mpd", peaks)
    return variants


def _fragments(folder: Path, variants: list[Variant], work: Path, has_audio: bool) -> list[tuple[Path, Path | None]]:
    """Each rung (and the audio) as one fragmented MP4: init segment + media segments."""
    audio_frag: Path | None = None
    if has_audio and variants[0].audio is not None:
        a = variants[0].audio
        audio_frag = _concat([folder / (a.init or "")] + [folder / u for u, _ in a.segments], work / "audio.mp4")
    out = []
    for i, var in enumerate(variants):
        m = var.video
        out.append(
            (_concat([folder / (m.init or "")] + [folder / u for u, _ in m.segments], work / f"v{i}.mp4"), audio_frag)
        )
    return out


def _remux(
    ff: FFmpeg,
    lad: LadderPreset,
    frags: list[tuple[Path, Path | None]],
    mp4_dir: Path | None,
    ts_dir: Path | None,
    seg: int,
    subtitles: Sequence[tuple[SoftSubtitle, Path]] = (),
    metadata: Mapping[str, str] | None = None,
) -> None:
    """From the ladder's own segments, without re-encoding, in one ffmpeg run: a faststart progressive
    MP4 per rung into ``mp4_dir`` (with a ``mov_text`` track per soft subtitle language) and an MPEG-TS
    HLS rendition per rung into ``ts_dir``."""
    if mp4_dir is None and ts_dir is None:
        return
    audio = frags[0][1]
    args = [arg for vf, _ in frags for arg in ("-i", str(vf))] + (["-i", str(audio)] if audio else [])
    first_sub = len(frags) + (1 if audio else 0)
    for _, srt in subtitles:
        args += ["-i", str(srt)]
    subs: list[str] = []
    for k, (sub, _) in enumerate(subtitles):
        subs += ["-map", f"{first_sub + k}:s:0", f"-metadata:s:s:{k}", f"language={iso639_2(sub.lang)}",
                 f"-metadata:s:s:{k}", f"title={sub.name}", f"-disposition:s:{k}", "default" if sub.default else "0"]  # fmt: skip
    tags = metadata_args(metadata or {})
    for i, rung in enumerate(lad.rungs):
        maps = ["-map", f"{i}:v:0"] + (["-map", f"{len(frags)}:a:0"] if audio else [])
        if mp4_dir is not None:
            args += [*maps, *subs, "-c", "copy", *(["-c:s", "mov_text"] if subs else []), *tags,
                     "-movflags", "+faststart+use_metadata_tags", str(mp4_dir / f"{rung.name}.mp4")]  # fmt: skip
        if ts_dir is not None:
            args += [*maps, "-c", "copy", "-f", "hls", "-hls_time", str(seg), "-hls_playlist_type", "vod",
                     "-hls_segment_type", "mpegts", "-hls_flags", "independent_segments",
                     "-hls_segment_filename", str(ts_dir / f"{rung.name}_%04d.ts"), str(ts_dir / f"{rung.name}.m3u8")]  # fmt: skip
    ff.run(args, stage="package")


def _ts_master(
    folder: Path,
    lad: LadderPreset,
    frags: list[tuple[Path, Path | None]],
    rate: Fraction,
    subtitles: Sequence[SoftSubtitle] = (),
    metadata: Mapping[str, str] | None = None,
) -> None:
    variants = []
    for rung, (vf, af) in zip(lad.rungs, frags, strict=True):
        media = parse_media_playlist(folder / f"{rung.name}.m3u8")
        codecs = _codec_string(vf, lad.codec) + (",mp4a.40.2" if af else "")
        variants.append(Variant(media, None, rung.width, rung.height, rate, codecs))
    renditions = []
    if subtitles:  # MPEG-TS timestamps start at ffmpeg's offset (1.4 s) plus the B-frame delay: measured
        media = variants[0].video
        first = _first_pts_90k([folder / media.segments[0][0]])
        renditions = hls_renditions(subtitles, folder, [d for _, d in media.segments], first)
    write_master(variants, folder / "master.m3u8", None, audio_codec="", subtitles=renditions,
                 session_data=metadata)  # fmt: skip


def _first_pts_90k(parts: list[Path]) -> int:
    """The presentation time (90 kHz) of the first video frame of a segment (an fMP4 one: after its init
    segment), i.e. the media time of the episode's first frame."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vertcut-pts-") as tmp:
        probe_file = parts[0] if len(parts) == 1 else _concat(parts, Path(tmp) / "first.mp4")
        with av.open(str(probe_file)) as c:
            s = c.streams.video[0]
            tb = Fraction(s.time_base or Fraction(1))
            pts = [p.pts for p in c.demux(s) if p.pts is not None]
    if not pts:
        raise InputError("the first segment holds no video frame", path=parts[-1])
    return round(min(pts) * tb * 90000)


def _write_srt(sub: SoftSubtitle, dest: Path) -> Path:
    from ..subtitles.track import SubtitleTrack, write_srt

    return write_srt(SubtitleTrack(sub.cues, language=sub.lang), dest)


def _vmaf(ff: FFmpeg, src: Path, ref_filter: str, mp4s: list[Path], lad: LadderPreset) -> dict[str, dict[str, float]]:
    """VMAF (model vmaf_v0.6.1) of every rung against the episode itself at the top rung's size."""
    top = lad.rungs[0]
    scores: dict[str, dict[str, float]] = {}
    for rung, path in zip(lad.rungs, mp4s, strict=True):
        log = path.with_suffix(".vmaf.json")
        graph = (
            f"[0:v]setpts=PTS-STARTPTS,scale={top.width}:{top.height}:flags=bicubic,setsar=1,format=yuv420p[d];"
            f"[1:v]{ref_filter},setpts=PTS-STARTPTS[r];[d][r]libvmaf=model=version=vmaf_v0.6.1:n_threads=2:"
            f"shortest=1:log_fmt=json:log_path={escape_filter_path(log)}"
        )
        ff.run(["-i", str(path), "-i", str(src), "-lavfi", graph, "-f", "null", "-"], stage=f"vmaf {rung.name}")
        pooled = json.loads(log.read_text())["pooled_metrics"]["vmaf"]
        scores[rung.name] = {k: round(float(pooled[k]), 2) for k in ("mean", "min", "harmonic_mean") if k in pooled}
        log.unlink()
    return scores


def describe(info: MediaInfo) -> str:
    v = info.require_video()
    return f"{v.width}x{v.height} {v.codec} {float(v.frame_rate):.3f} fps"
