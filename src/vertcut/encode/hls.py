"""HLS playlists measured from the real segments (Apple's HLS authoring rules).

ffmpeg's own master playlist has no AVERAGE-BANDWIDTH, no FRAME-RATE, a
BANDWIDTH without the audio, and no I-frame playlists; vertcut rewrites it:

* ``BANDWIDTH`` is the peak segment bit rate and ``AVERAGE-BANDWIDTH`` the
  average, both measured from the bytes on disk, video plus the audio
  rendition it plays with;
* ``CODECS`` from the stream's real SPS (``avc1.PPCCLL``) or ``hvc1``/``av01``;
* ``RESOLUTION``, ``FRAME-RATE``, ``EXT-X-INDEPENDENT-SEGMENTS``;
* an ``EXT-X-I-FRAME-STREAM-INF`` per variant, whose playlist addresses each
  segment's leading keyframe by byte range (parsed from the fragment's
  ``moof``/``trun``);
* the variant nearest 2 Mbit/s first (the one players start with).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .softsubs import Rendition

__all__ = [
    "MediaPlaylist",
    "Variant",
    "first_sample_range",
    "parse_media_playlist",
    "peak_rate",
    "rewrite_mpd_bandwidth",
    "write_iframe_playlist",
    "write_master",
]


@dataclass
class MediaPlaylist:
    path: Path
    init: str | None
    segments: list[tuple[str, Fraction]]  # (uri, duration)

    def sizes(self) -> list[int]:
        return [(self.path.parent / uri).stat().st_size for uri, _ in self.segments]

    def init_size(self) -> int:
        return (self.path.parent / self.init).stat().st_size if self.init else 0


@dataclass
class Variant:
    video: MediaPlaylist
    audio: MediaPlaylist | None
    width: int
    height: int
    frame_rate: Fraction
    codecs: str
    iframe_uri: str | None = None
    iframe_bandwidth: int = 0

    def bitrates(self) -> tuple[int, int]:
        """(peak, average) bits per second, video plus audio, measured from the segments."""
        v = self.video.sizes()
        durs = [d for _, d in self.video.segments]
        a_rate = Fraction(0)
        a_peak = Fraction(0)
        if self.audio is not None:
            a_sizes = self.audio.sizes()
            a_durs = [d for _, d in self.audio.segments]
            a_rate = Fraction(sum(a_sizes) * 8) / sum(a_durs, Fraction(0))
            a_peak = max(
                (Fraction(s * 8) / d for s, d in zip(a_sizes, a_durs, strict=True) if d > 0), default=Fraction(0)
            )
        peak = max((Fraction(s * 8) / d for s, d in zip(v, durs, strict=True) if d > 0), default=Fraction(0)) + a_peak
        avg = Fraction(sum(v) * 8) / sum(durs, Fraction(0)) + a_rate
        return int(peak) + 1, int(avg) + 1


def peak_rate(media: MediaPlaylist) -> int:
    """Peak segment bit rate of one media playlist (bits per second, rounded up)."""
    rates = [Fraction(size * 8) / d for size, (_, d) in zip(media.sizes(), media.segments, strict=True) if d > 0]
    return int(max(rates, default=Fraction(0))) + 1


def rewrite_mpd_bandwidth(mpd: Path, bandwidth: dict[str, int]) -> None:
    """Set ``@bandwidth`` of the MPD's Representations (by id) to measured values."""

    def fix(m: re.Match[str]) -> str:
        rid = re.search(r'\bid="([^"]+)"', m.group(0))
        if rid is None or rid.group(1) not in bandwidth:
            return m.group(0)
        return re.sub(r'\bbandwidth="\d+"', f'bandwidth="{bandwidth[rid.group(1)]}"', m.group(0))

    mpd.write_text(re.sub(r"<Representation\b[^>]*>", fix, mpd.read_text()))


def parse_media_playlist(path: Path) -> MediaPlaylist:
    init = None
    segments: list[tuple[str, Fraction]] = []
    dur: Fraction | None = None
    for line in path.read_text().splitlines():
        if line.startswith("#EXT-X-MAP:"):
            m = re.search(r'URI="([^"]+)"', line)
            init = m.group(1) if m else None
        elif line.startswith("#EXTINF:"):
            dur = Fraction(line[8:].split(",")[0])
        elif line and not line.startswith("#") and dur is not None:
            segments.append((line.strip(), dur))
            dur = None
    return MediaPlaylist(path, init, segments)


def tidy_media_playlist(path: Path) -> None:
    """Make ffmpeg's DASH-side media playlist a clean VOD playlist."""
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#EXT-X-PROGRAM-DATE-TIME")]
    out = []
    for ln in lines:
        out.append(ln)
        if ln.startswith("#EXT-X-VERSION"):
            out += ["#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    path.write_text("\n".join(out) + "\n")


def _boxes(data: bytes, start: int, end: int) -> list[tuple[str, int, int]]:
    out = []
    pos = start
    while pos + 8 <= end:
        size = struct.unpack(">I", data[pos : pos + 4])[0]
        name = data[pos + 4 : pos + 8].decode("latin-1")
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        if size < header:
            break
        out.append((name, pos + header, pos + size))
        pos += size
    return out


def first_sample_range(segment: Path) -> tuple[int, int]:
    """Byte length from the segment start through its first sample (the keyframe), and 0 offset."""
    data = segment.read_bytes()
    top = _boxes(data, 0, len(data))
    moof = next((b for b in top if b[0] == "moof"), None)
    mdat = next((b for b in top if b[0] == "mdat"), None)
    if moof is None or mdat is None:
        return len(data), 0
    traf = next((b for b in _boxes(data, moof[1], moof[2]) if b[0] == "traf"), None)
    if traf is None:
        return len(data), 0
    trun = next((b for b in _boxes(data, traf[1], traf[2]) if b[0] == "trun"), None)
    tfhd = next((b for b in _boxes(data, traf[1], traf[2]) if b[0] == "tfhd"), None)
    if trun is None:
        return len(data), 0
    p = trun[1]
    flags = int.from_bytes(data[p + 1 : p + 4], "big")
    p += 8  # version+flags, sample_count
    if flags & 0x1:
        p += 4
    if flags & 0x4:
        p += 4
    size: int | None = None
    if flags & 0x100:
        p += 4
    if flags & 0x200:
        size = struct.unpack(">I", data[p : p + 4])[0]
    if size is None and tfhd is not None:
        q = tfhd[1]
        tf = int.from_bytes(data[q + 1 : q + 4], "big")
        q += 8
        for bit, width in ((0x1, 8), (0x2, 4), (0x8, 4)):
            if tf & bit:
                q += width
        if tf & 0x10:
            size = struct.unpack(">I", data[q : q + 4])[0]
    if size is None:
        return len(data), 0
    return mdat[1] + size, 0


def write_iframe_playlist(media: MediaPlaylist, dest: Path) -> int:
    """Write the I-frame playlist of ``media``; returns its peak bit rate."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-I-FRAMES-ONLY",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    target = max((d for _, d in media.segments), default=Fraction(1))
    lines.append(f"#EXT-X-TARGETDURATION:{int(target) + (1 if target.denominator != 1 else 0)}")
    if media.init:
        lines.append(f'#EXT-X-MAP:URI="{media.init}"')
    peak = 1
    for uri, dur in media.segments:
        length, offset = first_sample_range(media.path.parent / uri)
        lines += [f"#EXTINF:{float(dur):.6f},", f"#EXT-X-BYTERANGE:{length}@{offset}", uri]
        if dur > 0:
            peak = max(peak, int(Fraction(length * 8) / dur) + 1)
    lines.append("#EXT-X-ENDLIST")
    dest.write_text("\n".join(lines) + "\n")
    return peak


def _rate_text(rate: Fraction) -> str:
    return f"{float(rate):.3f}"


def _as_json(value: str) -> object:
    """A tag's value as the JSON an ``EXT-X-SESSION-DATA`` URI must hold: itself, when it is JSON."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def write_master(
    variants: list[Variant],
    dest: Path,
    audio_uri: str | None,
    audio_codec: str = "mp4a.40.2",
    subtitles: Sequence[Rendition] = (),
    session_data: Mapping[str, str] | None = None,
) -> None:
    """Write the master playlist, the variant nearest 2 Mbit/s first; ``subtitles``: WebVTT renditions
    (one ``SUBTITLES`` group every variant refers to); ``session_data``: ``EXT-X-SESSION-DATA`` entries
    (the container tags every file of the package carries)."""
    measured = [(v, *v.bitrates()) for v in variants]
    measured.sort(key=lambda t: abs(t[2] - 2_000_000))
    first, rest = measured[:1], sorted(measured[1:], key=lambda t: -t[2])
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio_uri:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="{audio_uri}"'
        )
    for key, value in (session_data or {}).items():
        data_id = key if "." in key else f"org.vertcut.{key}"  # DATA-ID is reverse-DNS by convention
        if '"' in value or "\n" in value:  # not a quoted-string: the value goes in a JSON file beside
            sidecar = dest.with_name(f"session-{re.sub(r'[^A-Za-z0-9_.-]+', '-', key)}.json")
            sidecar.write_text(json.dumps(_as_json(value), ensure_ascii=False) + "\n", encoding="utf-8")
            lines.append(f'#EXT-X-SESSION-DATA:DATA-ID="{data_id}",URI="{sidecar.name}"')
        else:
            lines.append(f'#EXT-X-SESSION-DATA:DATA-ID="{data_id}",VALUE="{value}"')
    for r in subtitles:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{r.name}",LANGUAGE="{r.lang}",'
            f'DEFAULT={"YES" if r.default else "NO"},AUTOSELECT=YES,FORCED=NO,URI="{r.uri}"'
        )
    for v, peak, avg in first + rest:
        codecs = v.codecs + (f",{audio_codec}" if audio_uri or v.audio is not None else "")
        attrs = [
            f"BANDWIDTH={peak}",
            f"AVERAGE-BANDWIDTH={avg}",
            f'CODECS="{codecs}"',
            f"RESOLUTION={v.width}x{v.height}",
            f"FRAME-RATE={_rate_text(v.frame_rate)}",
        ]
        if audio_uri:
            attrs.append('AUDIO="aud"')
        if subtitles:
            attrs.append('SUBTITLES="subs"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(v.video.path.name)
    for v, _peak, _avg in first + rest:
        if v.iframe_uri:
            attrs = [f"BANDWIDTH={v.iframe_bandwidth}", f'CODECS="{v.codecs}"', f"RESOLUTION={v.width}x{v.height}"]
            lines.append("#EXT-X-I-FRAME-STREAM-INF:" + ",".join([*attrs, f'URI="{v.iframe_uri}"']))
    dest.write_text("\n".join(lines) + "\n")
