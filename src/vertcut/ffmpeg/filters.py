"""Escaping values for ffmpeg filter graphs (one tested place).

A filter graph has two levels of quoting (ffmpeg ``doc/utils.texi``, "Quoting
and escaping"): an option value inside a filter's arguments escapes
``\\ : '`` and the graph level then escapes ``\\ ' [ ] , ;``. Subtitle paths
with ``:`` or ``,`` (``C:\\subs``, ``ep1,zh.ass``) break without this.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["escape_filter_path", "escape_filter_value"]


def _escape(text: str, specials: str) -> str:
    return "".join("\\" + ch if ch in specials else ch for ch in text)


def escape_filter_value(value: str) -> str:
    """Escape ``value`` for use as an option value inside a filter graph string."""
    return _escape(_escape(value, "\\:'"), "\\'[],;")


def escape_filter_path(path: str | Path) -> str:
    """Escape a file path for a filter option such as ``subtitles=filename=...``."""
    return escape_filter_value(str(path))
