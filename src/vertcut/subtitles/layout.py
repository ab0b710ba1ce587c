"""Line breaking done by vertcut, not left to libass.

Chinese, Japanese and Thai have no spaces: BudouX splits them into phrases
(its models ship inside the ``budoux`` wheel). Latin scripts split at spaces.
A break must respect the Chinese line-start/line-end punctuation rules
(避头尾: no ``，。！？）》」`` at a line start, no ``（《「`` at a line end),
each line must fit the preset's characters-per-line and the pixel width
measured with the real font, and among the breaks that fit the most
balanced one wins (a slightly longer bottom line is preferred). Explicit
breaks in the source are kept.
"""

from __future__ import annotations

import functools
from typing import Any

from .fonts import FontInfo, advance

__all__ = ["NO_END", "NO_START", "break_lines", "display_len", "word_boundaries"]

NO_START = set("，。、；：？！）》」』】〕〉］｝〗〙”’…‥·・ー～—%,.;:?!)]}")
NO_END = set("（《「『【〔〈［｛〖〘“‘([{")
_SPACELESS = ("zh", "ja", "th", "yue", "cmn")


@functools.cache
def _parser(lang: str) -> Any:
    import budoux

    base = lang.lower()
    if base.startswith("zh-hant") or base in ("zh-tw", "zh-hk", "yue"):
        return budoux.load_default_traditional_chinese_parser()
    if base.startswith("ja"):
        return budoux.load_default_japanese_parser()
    if base.startswith("th"):
        return budoux.load_default_thai_parser()
    return budoux.load_default_simplified_chinese_parser()


def display_len(text: str) -> float:
    """Characters as style guides count them (a CJK or full-width character is 1, like a Latin letter)."""
    return float(len(text.replace("\u200b", "")))


def _chunks(text: str, lang: str) -> list[str]:
    return list(_chunks_cached(text, lang))


@functools.lru_cache(maxsize=16384)
def _chunks_cached(text: str, lang: str) -> tuple[str, ...]:
    if lang.split("-")[0].lower() in _SPACELESS:
        parts: list[str] = _parser(lang).parse(text)
        # keep "……" and "——" pairs together
        merged: list[str] = []
        for p in parts:
            if merged and p and p[0] in NO_START:
                merged[-1] += p
            else:
                merged.append(p)
        return tuple(merged)
    words = text.split(" ")
    return (*[w + " " for w in words[:-1]], words[-1])


def word_boundaries(text: str, lang: str) -> set[int]:
    """Character offsets in ``text`` where a line may break without splitting a word (BudouX phrases)."""
    cuts: set[int] = set()
    pos = 0
    for chunk in _chunks(text, lang)[:-1]:
        pos += len(chunk)
        cuts.add(pos)
    return cuts


def _ok_break(left: str, right: str) -> bool:
    left_s, right_s = left.rstrip(), right.lstrip()
    if not left_s or not right_s:
        return False
    return right_s[0] not in NO_START and left_s[-1] not in NO_END


def break_lines(
    text: str, lang: str, max_chars: int, max_width_em: float, font: FontInfo, max_lines: int = 2
) -> list[str]:
    """Lines for one cue (see :func:`_break`; memoised, so the search over suffixes stays polynomial)."""
    return list(_break(text, lang, max_chars, max_width_em, font, max_lines))


@functools.lru_cache(maxsize=65536)
def _break(
    text: str, lang: str, max_chars: int, max_width_em: float, font: FontInfo, max_lines: int
) -> tuple[str, ...]:
    """Lines for one cue (explicit ``\\n`` breaks are kept as they are).

    Returns the single line when it fits; otherwise the most balanced break into
    up to ``max_lines`` lines at phrase boundaries that respects the punctuation
    rules. When nothing fits, the best effort (the caller's lint reports it).
    """
    if "\n" in text:
        return tuple(ln.strip() for ln in text.split("\n") if ln.strip())
    text = text.strip()

    def fits(line: str) -> bool:
        return display_len(line.strip()) <= max_chars and advance(line.strip(), font) <= max_width_em

    if fits(text) or max_lines < 2:
        return (text,)
    chunks = _chunks(text, lang)
    total = advance(text, font)
    best: tuple[float, tuple[str, ...]] | None = None
    for i in range(1, len(chunks)):
        left, right = "".join(chunks[:i]), "".join(chunks[i:])
        if not _ok_break(left, right):
            continue
        a, b = left.strip(), right.strip()
        if not fits(a):
            continue
        if fits(b):
            cost = abs(advance(a, font) - advance(b, font)) + (0.3 if advance(a, font) > advance(b, font) else 0.0)
            if a[-1] in NO_START:  # a break after a comma or full stop reads best
                cost -= max(3.0, 0.35 * total)
            if best is None or cost < best[0]:
                best = (cost, (a, b))
        elif max_lines > 2:
            rest = _break(b, lang, max_chars, max_width_em, font, max_lines - 1)
            if all(fits(r) for r in rest):
                cost = 10.0 + abs(advance(a, font) - advance(rest[0], font))
                if best is None or cost < best[0]:
                    best = (cost, (a, *rest))
    if best is not None:
        return best[1]
    if max_lines < 4:
        # too long for the preset's lines (lint reports it): use one more line rather than overflow the frame
        return _break(text, lang, max_chars, max_width_em, font, max_lines + 1)
    # nothing fits: split into balanced halves at any allowed boundary
    for i in sorted(range(1, len(chunks)), key=lambda k: abs(len("".join(chunks[:k])) - len(text) / 2)):
        left, right = "".join(chunks[:i]), "".join(chunks[i:])
        if _ok_break(left, right):
            return (left.strip(), right.strip())
    return (text,)
