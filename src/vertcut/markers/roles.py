"""Marker roles: which of a file's markers are cliffhangers (cuts) and which are notes.

Editors leave notes for the colourist, VFX and sound in the same timeline as the cliffhangers, told
apart by colour or name. A rule names the cliffhangers by colour (``red``; several: ``red,pink``;
``none`` for markers without a colour), by name (a regular expression, case-insensitive, searched
anywhere in the name) or both (a marker must match both). With no rule every marker is a
cliffhanger when the file's markers have one colour (or none); with several colours and no rule
there is no safe guess, and :func:`assign_roles` refuses, listing the colours and their counts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..errors import MarkerError
from .model import Marker

__all__ = ["NO_COLOUR", "MarkerRoles", "assign_roles", "colour_counts", "compile_name", "parse_colours"]

NO_COLOUR = "none"  # the rule's name for markers the file gives no colour
_COLOUR_WORD = re.compile(r"^[\w-]+$")


def parse_colours(value: str) -> tuple[str, ...]:
    """``"red, Pink"`` -> ``("red", "pink")``.

    Raises:
        ValueError: an empty item, or one that is not a colour word (letters, digits, ``-``, ``_``).
    """
    if not value.strip():
        return ()
    items = tuple(c.strip().lower() for c in value.split(","))
    for c in items:
        if not c or not _COLOUR_WORD.match(c):
            raise ValueError(f"{value!r} is not a colour name or a comma-separated list of them (e.g. red,pink)")
    return items


def compile_name(pattern: str) -> re.Pattern[str] | None:
    """The name rule as a case-insensitive regular expression (None when empty).

    Raises:
        ValueError: not a valid regular expression.
    """
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None


def _colour_key(m: Marker) -> str:
    return m.colour_name or NO_COLOUR


def colour_counts(markers: list[Marker]) -> Counter[str]:
    """How many markers of each colour (plain names, ``none`` for uncoloured), in the order first seen."""
    return Counter(_colour_key(m) for m in markers)


def _counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{c}: {n}" for c, n in counts.most_common())


@dataclass(frozen=True)
class MarkerRoles:
    """The markers of one file sorted into cliffhangers and notes, and the rule that did it."""

    cliffhangers: list[Marker]
    notes: list[Marker]
    rule: str  # how the cliffhangers were chosen, for people (the manifest, the log)


def assign_roles(markers: list[Marker], colour: str = "", name: str = "", *, path: str | None = None) -> MarkerRoles:
    """Sort ``markers`` into cliffhangers and notes by a colour rule, a name rule, both, or neither.

    Raises:
        MarkerError: no rule and several colours (one line listing them, their counts and the flag that
            chooses), a rule that matches no marker, or a bad rule.
    """
    where = path or next((m.path for m in markers if m.path), None)
    try:
        colours = parse_colours(colour)
        name_rx = compile_name(name)
    except ValueError as exc:
        raise MarkerError(f"cliffhanger rule: {exc}", path=where) from None
    counts = colour_counts(markers)
    if not colours and name_rx is None:
        if len(counts) > 1:
            example = counts.most_common(1)[0][0]
            raise MarkerError(
                f"its {len(markers)} markers have {len(counts)} colours ({_counts_text(counts)}): choose the "
                f"cliffhangers with --marker-colour {example} or --marker-name REGEX (marker_colour / marker_name "
                "in the split preset); the other markers are kept as notes",
                path=where,
            )
        only = next(iter(counts), NO_COLOUR)
        rule = "every marker (one colour: " + only + ")" if only != NO_COLOUR else "every marker (no colours)"
        return MarkerRoles(list(markers), [], rule)

    def is_cliffhanger(m: Marker) -> bool:
        if colours and not any(w == _colour_key(m) or (m.colour and w == m.colour.strip().lower()) for w in colours):
            return False
        return name_rx is None or bool(name_rx.search(m.name))

    parts = ([f"colour {','.join(colours)}"] if colours else []) + ([f"name /{name}/"] if name_rx else [])
    rule = " and ".join(parts)
    cliff = [m for m in markers if is_cliffhanger(m)]
    if not cliff:
        raise MarkerError(
            f"none of its {len(markers)} markers is a cliffhanger by {rule} (colours found: {_counts_text(counts)})",
            path=where,
        )
    return MarkerRoles(cliff, [m for m in markers if not is_cliffhanger(m)], rule)
