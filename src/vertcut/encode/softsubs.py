"""Soft subtitles in the packages: WebVTT renditions for HLS, text adaptation sets for DASH, ``mov_text``
tracks in the progressive MP4s and sidecar files for the platform masters.

A :class:`SoftSubtitle` is one language of one episode, its cues already re-timed to the episode by the
split plan (exact :class:`~fractions.Fraction` seconds from the episode's first frame) and laid out for
the language (:func:`prepare_cues`): lines broken to the preset's length for that language (Thai and
Chinese at word boundaries, from BudouX), right-to-left lines opened with U+200F so a line that starts
with a digit or a Latin word keeps its right-to-left order in every player.

HLS: each language is a media playlist of WebVTT segments as long as the video's segments (a cue that
spans a segment boundary is repeated in both, as Apple's authoring rules ask), and every segment starts
with ``X-TIMESTAMP-MAP`` mapping cue time 0 to the media timestamp of the episode's first frame
(measured: 0 in the CMAF segments, ffmpeg's 1.4 s offset plus the B-frame delay in MPEG-TS). DASH: one
WebVTT file per language as a text adaptation set. Cue times are written floored to the millisecond
(what WebVTT carries), the same rounding as the SRT sidecars.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from ..subtitles.track import Cue, SubtitleTrack

__all__ = [
    "SoftSubtitle",
    "add_dash_subtitles",
    "hls_renditions",
    "iso639_2",
    "language_name",
    "prepare_cues",
    "vtt_time",
    "write_vtt",
]

# each language's own name for itself (the NAME a player lists)
_NAMES = {
    "zh": "中文", "zh-hans": "简体中文", "zh-hant": "繁體中文", "zh-tw": "繁體中文", "zh-hk": "繁體中文",
    "yue": "粵語", "en": "English", "th": "ไทย", "ar": "العربية", "id": "Bahasa Indonesia", "ms": "Bahasa Melayu",
    "es": "Español", "pt": "Português", "fr": "Français", "de": "Deutsch", "it": "Italiano", "ru": "Русский",
    "ja": "日本語", "ko": "한국어", "vi": "Tiếng Việt", "tl": "Filipino", "fil": "Filipino", "tr": "Türkçe",
    "hi": "हिन्दी", "fa": "فارسی", "ur": "اردو", "he": "עברית", "pl": "Polski", "nl": "Nederlands",
}  # fmt: skip
# ISO 639-2/T codes (what MP4 language fields hold)
_ISO639_2 = {
    "zh": "zho", "yue": "yue", "en": "eng", "th": "tha", "ar": "ara", "id": "ind", "ms": "msa", "es": "spa",
    "pt": "por", "fr": "fra", "de": "deu", "it": "ita", "ru": "rus", "ja": "jpn", "ko": "kor", "vi": "vie",
    "tl": "tgl", "fil": "fil", "tr": "tur", "hi": "hin", "fa": "fas", "ur": "urd", "he": "heb", "pl": "pol",
    "nl": "nld",
}  # fmt: skip
_RTL = {"ar", "fa", "ur", "he", "yi", "ps", "sd", "ug"}
RLM = "\u200f"


def _base(lang: str) -> str:
    return lang.lower().split("-")[0]


def language_name(lang: str) -> str:
    """The language's own name (``th`` -> ``ไทย``); the tag itself when vertcut does not know it."""
    tag = lang.lower()
    return _NAMES.get(tag) or _NAMES.get(_base(tag)) or lang


def iso639_2(lang: str) -> str:
    """The three-letter code MP4 containers store (``en`` -> ``eng``; ``und`` when unknown)."""
    base = _base(lang)
    return _ISO639_2.get(base, base if len(base) == 3 else "und")


def is_rtl(lang: str) -> bool:
    return _base(lang) in _RTL


@dataclass(frozen=True)
class SoftSubtitle:
    """One language of one episode, ready to package: plain data (it travels to executor tasks)."""

    lang: str  # BCP 47 tag as the job names it (en, th, ar, zh-Hant)
    cues: tuple[Cue, ...]  # seconds from the episode's first frame, laid out (see prepare_cues)
    default: bool = False  # the rendition a player picks when the viewer has no preference
    source: str = ""  # the subtitle file of the whole master

    @property
    def name(self) -> str:
        return language_name(self.lang)

    @property
    def rtl(self) -> bool:
        return is_rtl(self.lang)

    @property
    def slug(self) -> str:
        """The language as it appears in file names."""
        return _slug(self.lang)

    def to_json(self) -> dict[str, object]:
        return {"lang": self.lang, "name": self.name, "cues": len(self.cues), "default": self.default,
                "rtl": self.rtl, "source": self.source}  # fmt: skip


def prepare_cues(track: SubtitleTrack, lang: str, preset: str = "elder-large") -> tuple[Cue, ...]:
    """``track``'s cues laid out for soft display in ``lang``: each cue broken into lines no longer than the
    subtitle preset's limit for the language (at word boundaries; Thai and CJK by BudouX), and for a
    right-to-left language every line opened with U+200F (RIGHT-TO-LEFT MARK), so a line starting with a
    digit, a Latin name or a dialogue dash is still laid out right to left."""
    from ..presets import load_preset
    from ..subtitles.fonts import font_for
    from ..subtitles.layout import break_lines

    style = load_preset("subtitle", preset)
    limits = style.limits_for(lang)
    font = font_for(lang, style.font_family(lang))
    out = []
    for c in track.cues:
        text = c.text.replace("\r", "")
        lines = break_lines(text, lang, limits.max_chars_per_line, 1e9, font, style.max_lines)
        if is_rtl(lang):
            lines = [ln if ln.startswith(RLM) else RLM + ln for ln in lines]
        out.append(replace(c, text="\n".join(lines)))
    return tuple(out)


def vtt_time(seconds: Fraction) -> str:
    """``HH:MM:SS.mmm`` (floored to the millisecond, as the SRT sidecars)."""
    ms = int(Fraction(seconds) * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _cue_text(text: str) -> str:
    # WebVTT cue text: '&', '<' and '>' must be escaped; a blank line would end the cue; "-->" is not allowed
    lines = [html.escape(ln, quote=False).replace("-->", "--&gt;") for ln in text.split("\n") if ln.strip()]
    return "\n".join(lines) or " "


def write_vtt(cues: Sequence[Cue], dest: Path, *, mpegts: int | None = None) -> None:
    """Write ``cues`` as a WebVTT file (with ``X-TIMESTAMP-MAP`` mapping cue time 0 to ``mpegts``, 90 kHz,
    when given: an HLS segment)."""
    head = ["WEBVTT"]
    if mpegts is not None:
        head.append(f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000")
    body = []
    for i, c in enumerate(cues, 1):
        body += [str(i), f"{vtt_time(c.start)} --> {vtt_time(c.end)}", _cue_text(c.text), ""]
    dest.write_text("\n".join(head) + "\n\n" + "\n".join(body), encoding="utf-8")


def _slug(lang: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", lang).strip("-") or "und"


@dataclass(frozen=True)
class Rendition:
    """One language's HLS rendition as the master playlist lists it."""

    lang: str
    name: str
    default: bool
    uri: str  # the media playlist, relative to the master


def hls_renditions(
    subs: Sequence[SoftSubtitle], folder: Path, segments: Sequence[Fraction], mpegts: int
) -> list[Rendition]:
    """Write each language's WebVTT segments (``folder/subs/LANG/NNNN.vtt``, one per video segment of the
    given durations) and media playlist (``folder/subs_LANG.m3u8``)."""
    out = []
    edges = [Fraction(0)]
    for d in segments:
        edges.append(edges[-1] + d)
    for sub in subs:
        slug = _slug(sub.lang)
        seg_dir = folder / "subs" / slug
        seg_dir.mkdir(parents=True, exist_ok=True)
        target = max((int(d) + (1 if d.denominator != 1 else 0) for d in segments), default=1)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:1",
                 "#EXT-X-PLAYLIST-TYPE:VOD"]  # fmt: skip
        for k, (a, b) in enumerate(itertools.pairwise(edges), 1):
            shown = [c for c in sub.cues if c.end > a and c.start < b]
            name = f"{k:04d}.vtt"
            write_vtt(shown, seg_dir / name, mpegts=mpegts)
            lines += [f"#EXTINF:{float(b - a):.6f},", f"subs/{slug}/{name}"]
        lines.append("#EXT-X-ENDLIST")
        playlist = folder / f"subs_{slug}.m3u8"
        playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out.append(Rendition(sub.lang, sub.name, sub.default, playlist.name))
    return out


def metadata_args(metadata: Mapping[str, str]) -> list[str]:
    """``-metadata KEY=VALUE`` for each container tag."""
    return [arg for k, v in metadata.items() for arg in ("-metadata", f"{k}={v}")]


def tagged(args: Sequence[str], metadata: Mapping[str, str]) -> tuple[str, ...]:
    """An output's arguments with the container tags added (MP4 files keep custom keys only with the
    ``use_metadata_tags`` flag: added to the output's ``-movflags``)."""
    out = list(args)
    if "-movflags" in out:
        i = out.index("-movflags") + 1
        out[i] += "+use_metadata_tags"
    return (*out, *metadata_args(metadata))


def add_dash_subtitles(
    mpd: Path, subs: Sequence[SoftSubtitle], folder: Path, metadata: Mapping[str, str] | None = None
) -> None:
    """Write each language as one WebVTT file (``folder/subs/LANG.vtt``) and add a text adaptation set
    for it to the DASH manifest ``mpd``; ``metadata``: tags put in the manifest's program information
    (as ``SupplementalProperty`` descriptors of the period)."""
    text = mpd.read_text()
    if metadata:
        props = "".join(
            f'\t\t<SupplementalProperty schemeIdUri="urn:vertcut:metadata:{html.escape(k, quote=True)}" '
            f'value="{html.escape(v, quote=True)}" />\n'
            for k, v in metadata.items()
        )
        m = re.search(r"<Period\b[^>]*>\n", text)
        if m is not None:
            text = text[: m.end()] + props + text[m.end() :]
    if not subs:
        mpd.write_text(text)
        return
    ids = [int(x) for x in re.findall(r'<AdaptationSet id="(\d+)"', text)]
    reps = [int(x) for x in re.findall(r'<Representation id="(\d+)"', text)]
    next_set, next_rep = max(ids, default=-1) + 1, max(reps, default=-1) + 1
    sets = []
    for k, sub in enumerate(subs):
        slug = _slug(sub.lang)
        (folder / "subs").mkdir(exist_ok=True)
        dest = folder / "subs" / f"{slug}.vtt"
        write_vtt(sub.cues, dest)
        rate = max(1, dest.stat().st_size * 8 // max(1, int(max((c.end for c in sub.cues), default=Fraction(1)))))
        role = "subtitle"
        sets.append(
            f'\t\t<AdaptationSet id="{next_set + k}" contentType="text" mimeType="text/vtt" '
            f'lang="{html.escape(sub.lang)}">\n'
            f"\t\t\t<Label>{html.escape(sub.name)}</Label>\n"
            f'\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="{role}" />\n'
            f'\t\t\t<Representation id="{next_rep + k}" bandwidth="{rate}">\n'
            f"\t\t\t\t<BaseURL>subs/{slug}.vtt</BaseURL>\n"
            "\t\t\t</Representation>\n"
            "\t\t</AdaptationSet>\n"
        )
    pos = text.rindex("\t</Period>") if "\t</Period>" in text else text.rindex("</Period>")
    mpd.write_text(text[:pos] + "".join(sets) + text[pos:])
