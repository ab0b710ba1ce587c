"""Which language a subtitle file is in: from its text first, the file name only when it agrees.

The script comes from Unicode ranges (Han, Kana, Hangul, Thai, Arabic, Hebrew, Cyrillic, Devanagari,
Latin); Chinese is told Simplified or Traditional from characters that differ between the two sets;
Japanese by its kana, Persian and Urdu from the Arabic script by their own letters; Latin-script
languages by their commonest words (English, Spanish, Indonesian/Malay, Portuguese, French, German,
Vietnamese, Tagalog). A file-name tag (``ep.en.srt``) is used only when it is a real language code and
agrees with the text (it may be more precise: ``zh-TW``, ``pt-BR``); when it disagrees the text wins,
with a warning; a flag (``--lang``, ``--burn-lang``) always wins. No library is needed for this: the
cues are short, but there are many of them, and the scripts of the markets vertcut serves are far
apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LanguageChoice", "choose_language", "detect_language", "file_tag", "is_language_code"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# ISO 639-1, and the 639-3 codes subtitle files use for Chinese varieties and Filipino
_CODES = _words(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz "
    "ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io "
    "is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr "
    "ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si "
    "sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh "
    "yi yo za zh zu yue cmn fil"
)
_TAG = re.compile(r"\.([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\.(srt|vtt|ass|ssa)$", re.IGNORECASE)

# characters written differently in the two sets (the commonest of each pair)
_SIMPLIFIED = set(
    "这们来对说时会个为国过还没发门问间开关头见长乐东车书话语认让谁爱听吗觉么样现实经里诉钱马妈儿亲买卖电边应该谢请给难欢战万从动后离远进报办带场师岁帮"
)
_TRADITIONAL = set(
    "這們來對說時會個為國過還沒發門問間開關頭見長樂東車書話語認讓誰愛聽嗎覺麼樣現實經裡訴錢馬媽兒親買賣電邊應該謝請給難歡戰萬從動後離遠進報辦帶場師歲幫"
)
_LATIN_WORDS = {
    "en": _words("the and you is to of what i it that are was this not have be for with my me your we do no know"),
    "es": _words("el la que de no y es en lo por un una los se me te mi qué pero está yo eres tu"),
    "id": _words("yang tidak aku kamu ini itu dan di apa saya ke dia kita ada dengan akan sudah bisa"),
    "pt": _words("não que você é de um uma o os eu em para com isso está se meu mas"),
    "fr": _words("le la je vous pas est et que les de un une tu il ce ne qui mais"),
    "de": _words("und ich nicht das ist du sie der die es zu ein was wir mir"),
    "vi": _words("không tôi là của và người anh em có này được một những cho"),
    "tl": _words("ang ng sa ako ka mo na hindi ko ito siya ikaw ba naman"),
}
_PERSIAN = set("پچژگکی")  # letters of Persian (and Urdu) that Arabic does not use
_URDU = set("ٹڈڑںےہ")


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF:
        return "kana"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F:
        return "han"
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return "hangul"
    if 0x0E00 <= o <= 0x0E7F:
        return "thai"
    if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF:
        return "arabic"
    if 0x0590 <= o <= 0x05FF:
        return "hebrew"
    if 0x0400 <= o <= 0x04FF:
        return "cyrillic"
    if 0x0900 <= o <= 0x097F:
        return "devanagari"
    if ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
        return "latin"
    return None


@dataclass(frozen=True)
class Detected:
    lang: str | None  # a BCP 47 tag, None when the text has no letters
    script: str | None
    detail: str  # how it was told, for the progress output and the report


def detect_language(text: str) -> Detected:
    """The language of ``text`` (subtitle cues joined), from its script and, for Latin, its words."""
    counts = Counter(s for s in map(_script, text) if s is not None)
    if not counts:
        return Detected(None, None, "no letters")
    letters = sum(counts.values())
    script, n = counts.most_common(1)[0]
    if counts["kana"] >= max(3, 0.05 * letters):  # Japanese mixes kana into Han
        return Detected("ja", "kana", f"{counts['kana']} kana of {letters} letters")
    if script == "han":
        simp = sum(1 for ch in text if ch in _SIMPLIFIED)
        trad = sum(1 for ch in text if ch in _TRADITIONAL)
        if trad > simp:
            return Detected("zh-Hant", "han", f"Han, Traditional ({trad} traditional, {simp} simplified forms)")
        return Detected("zh", "han", f"Han, Simplified ({simp} simplified, {trad} traditional forms)")
    if script == "arabic":
        chars = set(text)
        if chars & _URDU:
            return Detected("ur", script, "Arabic script with Urdu letters")
        if chars & _PERSIAN:
            return Detected("fa", script, "Arabic script with Persian letters")
        return Detected("ar", script, "Arabic script")
    simple = {"hangul": "ko", "thai": "th", "hebrew": "he", "cyrillic": "ru", "devanagari": "hi"}
    if script in simple:
        return Detected(simple[script], script, f"{script.capitalize()} script ({n} of {letters} letters)")
    words = Counter(w for w in re.findall(r"[^\W\d_]+", text.lower()))
    scores = {lang: sum(words[w] for w in common) for lang, common in _LATIN_WORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    total = sum(words.values())
    if scores[best] == 0 or scores[best] < 0.05 * total:
        return Detected(None, "latin", "Latin script, language not told by its words")
    second = sorted(scores.values())[-2]
    return Detected(best, "latin", f"Latin script, {scores[best]} common {best} words (next: {second})")


def is_language_code(tag: str) -> bool:
    return tag.replace("_", "-").split("-")[0].lower() in _CODES


def file_tag(path: str | Path) -> str | None:
    """The language tag of a file name (``ep.zh-TW.srt`` -> ``zh-TW``) when it is a real language code
    (``ep.gbk.srt`` has none)."""
    m = _TAG.search(Path(path).name)
    if m is None:
        return None
    tag = m.group(1).replace("_", "-")
    return tag if is_language_code(tag) else None


def _base(tag: str) -> str:
    b = tag.lower().split("-")[0]
    return "zh" if b in ("zh", "cmn", "yue") else "ms" if b == "id" else b  # Malay and Indonesian share words


@dataclass(frozen=True)
class LanguageChoice:
    lang: str
    source: str  # "flag", "file name and text", "text", "file name", "default"
    detected: str | None
    detail: str
    tag: str | None
    warning: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"lang": self.lang, "source": self.source, "detected": self.detected, "detail": self.detail,
                "file_tag": self.tag, "warning": self.warning}  # fmt: skip


def choose_language(path: str | Path | None, text: str, flag: str | None = None, default: str = "zh") -> LanguageChoice:
    """The language of a subtitle file: the flag when given; else the text's, refined by the file name's
    tag when that agrees (a disagreeing tag is reported in ``warning``); the tag alone when the text
    cannot tell (Latin words too few); ``default`` when neither can."""
    found = detect_language(text)
    tag = file_tag(path) if path is not None else None
    if flag:
        warning = None
        if found.lang is not None and _base(flag) != _base(found.lang):
            warning = f"--lang {flag} given, but the text reads as {found.lang} ({found.detail})"
        return LanguageChoice(flag, "flag", found.lang, found.detail, tag, warning)
    if found.lang is None:
        if tag is not None and (found.script != "latin" or _latin_tag(tag)):
            return LanguageChoice(tag, "file name", None, found.detail, tag)
        return LanguageChoice(default if found.script != "latin" else "en", "default", None, found.detail, tag)
    if tag is None:
        return LanguageChoice(found.lang, "text", found.lang, found.detail, None)
    if _base(tag) == _base(found.lang):
        # the tag may say more (zh-TW, pt-BR); a bare "zh" takes the text's script
        lang = found.lang if tag.lower() == "zh" else tag
        return LanguageChoice(lang, "file name and text", found.lang, found.detail, tag)
    return LanguageChoice(
        found.lang, "text", found.lang, found.detail, tag,
        f"the file name says {tag}, but the text reads as {found.lang} ({found.detail}); using {found.lang}",
    )  # fmt: skip


def _latin_tag(tag: str) -> bool:
    return _base(tag) not in ("zh", "ja", "ko", "th", "ar", "fa", "ur", "he", "ru", "hi", "uk", "bg", "sr", "el")
