"""Delivery: every platform master against its platform preset (the encode stage's checks, again, on
the delivered file), and each HLS ladder's playlists re-validated from the segments on disk:
keyframes aligned across the rungs, ``BANDWIDTH`` within 10 % of the measured peak segment rate (video
plus the audio it plays with), ``CODECS`` as the streams' own decoder configurations say, and
``FRAME-RATE`` as the streams run."""

from __future__ import annotations

import re
import tempfile
from fractions import Fraction
from pathlib import Path

from .findings import Finding

__all__ = ["check_ladder", "check_masters"]

TOLERANCE = Fraction(1, 10)


def check_masters(folder: Path, episode: str, platform: str | None = None) -> list[Finding]:
    """``folder/masters/*.mp4``, each against the platform preset its name says (or ``platform``)."""
    from ..encode import PLATFORM_ALIASES
    from ..encode.platform import check_master
    from ..errors import PresetError
    from ..presets import load_preset

    out = []
    for f in sorted((folder / "masters").glob("*.mp4")):
        name = platform or f.stem
        try:
            spec = load_preset("platform", PLATFORM_ALIASES.get(name, name))
        except PresetError:
            continue  # a master for a platform vertcut has no preset of
        for b in check_master(f, spec):
            out.append(Finding("delivery", "platform", "error", f"{f.name}: {spec.name}: {b}", episode,
                               detail={"file": f.name, "platform": spec.name}))  # fmt: skip
    return out


def _attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def _annexb_codec(path: Path) -> str | None:
    """``avc1.PPCCLL`` from the first H.264 SPS in an MPEG-TS file's video packets (TS carries no
    decoder configuration record); None for another codec."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if s.codec_context.name != "h264":
            return None
        for packet in c.demux(s):
            data = bytes(packet)
            at = data.find(b"\x00\x00\x01\x67")
            if at >= 0 and at + 7 <= len(data):
                return f"avc1.{data[at + 4]:02X}{data[at + 5]:02X}{data[at + 6]:02X}"
    return None


def check_ladder(master: Path, episode: str) -> list[Finding]:
    """Re-validate an HLS master playlist (CMAF or MPEG-TS) against its segments."""
    import av

    from ..encode import _codec_string, _concat, _keyframes
    from ..encode.hls import parse_media_playlist, peak_rate

    out: list[Finding] = []
    lines = master.read_text().splitlines()
    audio_uri = next((_attrs(ln).get("URI") for ln in lines if ln.startswith("#EXT-X-MEDIA:TYPE=AUDIO")), None)
    audio_peak = peak_rate(parse_media_playlist(master.parent / audio_uri)) if audio_uri else 0
    keys: dict[str, list[Fraction]] = {}
    for k, ln in enumerate(lines):
        if not ln.startswith("#EXT-X-STREAM-INF:"):
            continue
        attrs, uri = _attrs(ln), lines[k + 1].strip()
        media = parse_media_playlist(master.parent / uri)
        measured = peak_rate(media) + audio_peak
        declared = int(attrs.get("BANDWIDTH", "0"))
        where = f"{master.parent.name}/{uri}"
        if abs(declared - measured) > TOLERANCE * measured:
            out.append(Finding("delivery", "bandwidth", "error",
                               f"{where}: BANDWIDTH {declared} is not within 10 % of the segments' {measured} bit/s",
                               episode, detail={"declared": declared, "measured": measured}))  # fmt: skip
        parts = ([master.parent / media.init] if media.init else []) + [master.parent / u for u, _ in media.segments]
        with tempfile.TemporaryDirectory(prefix="vertcut-check-") as tmp:
            joined = _concat(parts, Path(tmp) / ("v.mp4" if media.init else "v.ts"))
            keys[uri] = _keyframes(joined)
            with av.open(str(joined)) as c:
                s = c.streams.video[0]
                codec = s.codec_context.name
                rate = Fraction(s.average_rate or 0)
                frames = sum(1 for p in c.demux(s) if p.size)
            real = _codec_string(parts[0], codec) if media.init else _annexb_codec(joined)
        codecs = attrs.get("CODECS", "").split(",")
        if real is not None and real not in codecs:
            out.append(Finding("delivery", "codecs", "error", f"{where}: CODECS {attrs.get('CODECS')} but the stream is {real}",
                               episode))  # fmt: skip
        total = sum((d for _, d in media.segments), Fraction(0))
        if total > 0 and frames:
            rate = Fraction(frames) / total
        said = float(attrs.get("FRAME-RATE", "0") or 0)
        if rate and abs(said - float(rate)) > 0.01:
            out.append(Finding("delivery", "frame_rate", "error",
                               f"{where}: FRAME-RATE {said:.3f} but the stream runs at {float(rate):.3f}", episode))  # fmt: skip
    if keys and len({tuple(v) for v in keys.values()}) > 1:
        out.append(Finding("delivery", "keyframes", "error",
                           f"{master.parent.name}: keyframes not aligned across the rungs ({', '.join(keys)})", episode))  # fmt: skip
    return out
