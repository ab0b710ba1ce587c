"""Subtitle tracks with exact times: reading SRT/WebVTT/ASS, re-timing, writing SRT.

Cue times are :class:`~fractions.Fraction` seconds (SRT and WebVTT carry
milliseconds, ASS centiseconds, so nothing is lost). Text files are decoded
from UTF-8 (with or without BOM), UTF-16 (BOM) or, failing those, whatever
charset-normalizer finds (GB18030/GBK, Big5, ...). A malformed cue is an
error naming its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

from ..errors import SubtitleError
from ..fsutil import atomic_path

__all__ = ["Cue", "RetimeReport", "SubtitleTrack", "decode_text", "load_subtitles", "retime", "srt_time", "write_srt"]

Policy = Literal["clip", "keep-in-first", "drop"]


@dataclass(frozen=True)
class Cue:
    start: Fraction
    end: Fraction
    text: str  # lines joined with "\n"
    line: int = 0  # line in the source file where the cue starts
    style: str | None = None


@dataclass(frozen=True)
class SubtitleTrack:
    cues: tuple[Cue, ...]
    path: str | None = None
    format: str = "srt"
    encoding: str = "utf-8"
    language: str | None = None


@dataclass
class RetimeReport:
    kept: int = 0
    clipped: list[int] = field(default_factory=list)  # cue indices (1-based, in the source track)
    dropped: list[int] = field(default_factory=list)
    straddling_start: list[int] = field(default_factory=list)
    straddling_end: list[int] = field(default_factory=list)


def decode_text(data: bytes, path: str | Path | None = None, encoding: str | None = None) -> tuple[str, str]:
    """Decode subtitle bytes; returns (text, encoding used)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise SubtitleError(f"cannot decode as {encoding}: {exc}", path=path) from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Chinese subtitles outside UTF: GB18030/GBK or Big5. A wrong guess still
    # decodes, so score each by how much of it is common Chinese text.
    scored = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        scored.append((_common_share(text), enc, text))
    if scored:
        share, enc, text = max(scored)
        if share > 0.8:
            return text, enc
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise SubtitleError("cannot tell the text encoding (not UTF-8/16, GB18030 or Big5)", path=path)
    enc = str(best.encoding)
    # GBK/GB2312 guesses are decoded with their superset
    if enc.lower() in ("gbk", "gb2312", "cp936", "hz"):
        enc = "gb18030"
    return data.decode(enc, "replace"), enc


def _common_share(text: str) -> float:
    """Share of non-ASCII characters that are common Chinese (GB2312, or Big5's frequent block)."""
    chars = [ch for ch in text if ord(ch) > 0x7F]
    if not chars:
        return 1.0
    common = 0
    for ch in chars:
        try:
            ch.encode("gb2312")
            common += 1
            continue
        except UnicodeEncodeError:
            pass
        try:
            b = ch.encode("big5")
            common += 0xA4 <= b[0] <= 0xC6
        except UnicodeEncodeError:
            pass
    return common / len(chars)


_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_ARROW = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")


def _t(h: str | None, m: str, s: str, frac: str) -> Fraction:
    return Fraction(int(h or 0) * 3600 + int(m) * 60 + int(s)) + Fraction(int(frac.ljust(3, "0")), 1000)


def srt_time(seconds: Fraction) -> str:
    """``HH:MM:SS,mmm`` (floored to the millisecond)."""
    ms = int(Fraction(seconds) * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _parse_srt_vtt(text: str, path: str | None) -> list[Cue]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    i = 0
    if lines and lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        i = 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = _ARROW.match(line)
        start_line = i + 1
        if m is None and i + 1 < len(lines):
            nxt = _ARROW.match(lines[i + 1])
            if nxt is not None:  # a cue number or a WebVTT cue id before the times
                i += 1
                m = nxt
                start_line = i + 1
        if m is None:
            if line.startswith(("NOTE", "STYLE", "REGION")):
                while i < len(lines) and lines[i].strip():
                    i += 1
                continue
            raise SubtitleError(
                f"expected a cue time line 'HH:MM:SS,mmm --> HH:MM:SS,mmm', got {line.strip()!r}", path=path, line=i + 1
            )
        start, end = _t(*m.groups()[:4]), _t(*m.groups()[4:])
        if end <= start:
            raise SubtitleError(
                f"cue ends ({srt_time(end)}) before it starts ({srt_time(start)})", path=path, line=start_line
            )
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        text_body = "\n".join(body)
        text_body = re.sub(r"</?(?:i|b|u|font|c|v)[^>]*>", "", text_body)  # plain text: style comes from the preset
        cues.append(Cue(start, end, text_body, start_line))
    return cues


def _parse_ass(text: str, path: str | None) -> list[Cue]:
    import pysubs2

    try:
        subs = pysubs2.SSAFile.from_string(text, format_="ass")
    except Exception as exc:
        raise SubtitleError(f"not a valid ASS/SSA file: {exc}", path=path) from None
    cues = []
    for ev in subs.events:
        if ev.is_comment:
            continue
        body = re.sub(r"\{[^}]*\}", "", ev.text).replace("\\N", "\n").replace("\\n", "\n")
        cues.append(Cue(Fraction(ev.start, 1000), Fraction(ev.end, 1000), body, 0, ev.style))
    return cues


def load_subtitles(
    path: str | Path,
    *,
    encoding: str | None = None,
    language: str | None = None,
    rate: Fraction | None = None,
    stream: int = 0,
) -> SubtitleTrack:
    """Read an SRT, WebVTT or ASS/SSA file (format from the content, then the extension), or the
    ``stream``-th text subtitle stream of an MKV/MP4/MOV/WebM file (exact packet times).

    With ``rate``, every cue boundary is moved to the nearest frame boundary of that rate
    (frame-exact cues; a cue never shrinks below one frame).

    Raises:
        SubtitleError: missing or unreadable file, unknown encoding, malformed cue (with its line).
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            magic = fh.read(16)
        if _is_container(p, magic):  # a video file: read its subtitle stream, never the whole file
            track = _load_embedded(p, stream, language)
            return _snap(track, rate) if rate else track
        data = p.read_bytes()
    except FileNotFoundError:
        raise SubtitleError("no such subtitle file", path=p) from None
    except IsADirectoryError:
        raise SubtitleError("is a directory, not a subtitle file", path=p) from None
    text, enc = decode_text(data, p, encoding)
    head = text.lstrip("\ufeff").lstrip()[:200]
    if head.startswith("[Script Info]") or p.suffix.lower() in (".ass", ".ssa"):
        fmt, cues = "ass", _parse_ass(text, str(p))
    else:
        fmt = "vtt" if head.startswith("WEBVTT") else "srt"
        cues = _parse_srt_vtt(text, str(p))
    if not cues:
        raise SubtitleError("has no cues", path=p)
    cues.sort(key=lambda c: (c.start, c.end))
    track = SubtitleTrack(tuple(cues), str(p), fmt, enc, language)
    return _snap(track, rate) if rate else track


_CONTAINER_SUFFIXES = (".mkv", ".mka", ".mks", ".webm", ".mp4", ".m4v", ".mov", ".ts", ".m2ts")


def _is_container(p: Path, head: bytes) -> bool:
    return p.suffix.lower() in _CONTAINER_SUFFIXES or head[:4] == b"\x1a\x45\xdf\xa3" or head[4:8] == b"ftyp"


def _load_embedded(p: Path, stream: int, language: str | None) -> SubtitleTrack:
    """The text cues of a subtitle stream (SubRip, mov_text, ASS, WebVTT) with exact packet times."""
    from ..media import open_container

    with open_container(p) as container:
        streams = list(container.streams.subtitles)
        if not streams:
            raise SubtitleError("has no subtitle stream", path=p)
        if not 0 <= stream < len(streams):
            raise SubtitleError(f"has {len(streams)} subtitle stream(s); there is no stream {stream}", path=p)
        st = streams[stream]
        tb = Fraction(st.time_base) if st.time_base is not None else Fraction(1, 1000)
        codec = st.codec_context.name
        cues: list[Cue] = []
        for pkt in container.demux(st):
            if pkt.pts is None or not pkt.size:
                continue
            start = pkt.pts * tb
            end = start + (pkt.duration or 0) * tb
            texts: list[str] = []
            for sub in pkt.decode():
                ass = getattr(sub, "ass", None)
                if ass is None:
                    raise SubtitleError(f"subtitle stream {stream} ({codec}) is a bitmap format, not text", path=p)
                line = bytes(ass).decode("utf-8", "replace").split(",", 8)[-1]
                texts.append(re.sub(r"\{[^}]*\}", "", line).replace("\\N", "\n").replace("\\n", "\n").strip())
            body = "\n".join(t for t in texts if t)
            if body and end > start:
                cues.append(Cue(start, end, body, len(cues) + 1))
        lang = language or (st.language if st.language not in (None, "und") else None)
    if not cues:
        raise SubtitleError(f"subtitle stream {stream} ({codec}) has no text cues", path=p)
    cues.sort(key=lambda c: (c.start, c.end))
    return SubtitleTrack(tuple(cues), str(p), codec, "utf-8", lang)


def _snap(track: SubtitleTrack, rate: Fraction) -> SubtitleTrack:
    """Cue boundaries moved to the nearest frame boundary of ``rate`` (at least one frame long)."""
    frame = 1 / Fraction(rate)
    out = []
    for c in track.cues:
        start = round(c.start / frame) * frame
        end = max(round(c.end / frame) * frame, start + frame)
        out.append(replace(c, start=start, end=end))
    return replace(track, cues=tuple(out))


def retime(
    track: SubtitleTrack, start: Fraction, end: Fraction, policy: Policy = "clip"
) -> tuple[SubtitleTrack, RetimeReport]:
    """The cues of ``[start, end)``, shifted so ``start`` becomes 0.

    Cues straddling a boundary follow ``policy``: ``clip`` cuts them at the
    boundary; ``keep-in-first`` keeps a cue that starts inside the range whole
    (it runs past the end) and drops one that started before; ``drop`` drops
    both kinds.
    """
    report = RetimeReport()
    out: list[Cue] = []
    length = end - start
    for n, c in enumerate(track.cues, 1):
        if c.end <= start or c.start >= end:
            continue
        crosses_start, crosses_end = c.start < start, c.end > end
        if crosses_start:
            report.straddling_start.append(n)
        if crosses_end:
            report.straddling_end.append(n)
        if crosses_start or crosses_end:
            if policy == "drop" or (policy == "keep-in-first" and crosses_start):
                report.dropped.append(n)
                continue
            if policy == "clip":
                report.clipped.append(n)
                c = replace(c, start=max(c.start, start), end=min(c.end, end))
        out.append(
            replace(c, start=c.start - start, end=min(c.end - start, length if policy == "clip" else c.end - start))
        )
        report.kept += 1
    return replace(track, cues=tuple(out)), report


def write_srt(track: SubtitleTrack, path: str | Path) -> Path:
    """Write ``track`` as UTF-8 SRT (atomically)."""
    lines = []
    for i, c in enumerate(track.cues, 1):
        lines += [str(i), f"{srt_time(c.start)} --> {srt_time(c.end)}", c.text, ""]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return Path(path)
