"""The check's page: one self-contained HTML file with inline SVG plots where people would rather look
than read: per episode the luminance and flashing-area timeline with the failing windows marked and
the loudness curve; for the series the loudness spread, the dialogue above the background, a
shot-length histogram and the reading speed of every cue against its limit."""

from __future__ import annotations

import html
from pathlib import Path

from ..fsutil import atomic_path
from .series import CheckReport, EpisodeCheck

__all__ = ["write_check_html"]

W, H = 720, 140


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _polyline(points: list[tuple[float, float]], colour: str, cls: str) -> str:
    if not points:
        return ""
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f"<polyline class='{cls}' fill='none' stroke='{colour}' stroke-width='1.2' points='{pts}'/>"


def _timeline(ep: EpisodeCheck) -> str:
    """Mean luminance (grey) and flashing area (orange) per frame; failing flash windows in red."""
    n = max(1, len(ep.luminance))
    dur = ep.duration or 1.0
    lum = [(i * W / n, H - v * (H - 10) - 5) for i, v in enumerate(ep.luminance)]
    area = [(i * W / n, H - v * (H - 10) - 5) for i, v in enumerate(ep.flash_area)]
    marks = "".join(
        f"<rect class='fail' x='{float(f.start or 0) / dur * W:.1f}' y='0' "
        f"width='{max(2.0, float((f.end or f.start or 0) - (f.start or 0)) / dur * W):.1f}' height='{H}' "
        f"fill='{'#d33' if f.severity == 'error' else '#e9a33a'}' opacity='0.3'><title>{_esc(f.message)}</title></rect>"
        for f in ep.findings
        if f.check == "flash"
    )
    return (f"<svg class='plot timeline' viewBox='0 0 {W} {H}' width='{W}' height='{H}' role='img' "
            f"aria-label='luminance and flash timeline of {_esc(ep.name)}'><rect width='{W}' height='{H}' fill='#fafafa'/>"
            f"{marks}{_polyline(lum, '#555', 'luma')}{_polyline(area, '#e07b00', 'area')}</svg>")  # fmt: skip


def _loudness_curve(ep: EpisodeCheck, target: float) -> str:
    if ep.loudness is None or not ep.loudness.curve:
        return "<p>(no sound)</p>"
    dur = ep.duration or max(t for t, _, _ in ep.loudness.curve) or 1.0
    lo, hi = target - 30, target + 10

    def y(v: float) -> float:
        return H - (max(lo, min(hi, v)) - lo) / (hi - lo) * (H - 10) - 5

    st = [(t / dur * W, y(s)) for t, _, s in ep.loudness.curve if s > -120]
    mom = [(t / dur * W, y(m)) for t, m, _ in ep.loudness.curve if m > -120]
    ty = y(target)
    return (f"<svg class='plot loudness' viewBox='0 0 {W} {H}' width='{W}' height='{H}' role='img' "
            f"aria-label='short-term loudness of {_esc(ep.name)}'><rect width='{W}' height='{H}' fill='#fafafa'/>"
            f"<line x1='0' x2='{W}' y1='{ty:.1f}' y2='{ty:.1f}' stroke='#2a7' stroke-dasharray='4 3'/>"
            f"{_polyline(mom, '#9bb7e0', 'momentary')}{_polyline(st, '#2b5fb3', 'short-term')}</svg>")  # fmt: skip


def _spread(report: CheckReport) -> str:
    eps = [ep for ep in report.episodes if ep.loudness is not None and ep.loudness.integrated > -70]
    if not eps:
        return ""
    target, tol = report.loudness_profile.integrated, report.loudness_profile.tolerance
    lo, hi = target - 12, target + 12
    step = W / max(1, len(eps))

    def y(v: float) -> float:
        return H - (max(lo, min(hi, v)) - lo) / (hi - lo) * (H - 10) - 5

    band = f"<rect x='0' y='{y(target + tol):.1f}' width='{W}' height='{y(target - tol) - y(target + tol):.1f}' fill='#dff3df'/>"
    dots = "".join(
        f"<circle class='episode-loudness' cx='{(k + 0.5) * step:.1f}' cy='{y(ep.loudness.integrated):.1f}' r='5' "
        f"fill='#2b5fb3'><title>{_esc(ep.name)}: {ep.loudness.integrated:.1f} LUFS</title></circle>"
        for k, ep in enumerate(eps)
        if ep.loudness is not None
    )
    return (f"<svg class='plot spread' viewBox='0 0 {W} {H}' width='{W}' height='{H}' role='img' "
            f"aria-label='integrated loudness per episode'><rect width='{W}' height='{H}' fill='#fafafa'/>{band}{dots}</svg>")  # fmt: skip


def _dialogue(report: CheckReport) -> str:
    """The dialogue-to-background level per episode (filled: from stems; hollow: estimated), the
    preset's limit dashed."""
    eps = [ep for ep in report.episodes if ep.dialogue is not None and ep.dialogue.level_lu is not None]
    if not eps:
        return "<p>(no dialogue level: no sound, or too little dialogue stands out of the background)</p>"
    limit = report.check_preset.dialogue_to_background_min_lu
    lo, hi = -5.0, 30.0
    step = W / max(1, len(eps))

    def y(v: float) -> float:
        return H - (max(lo, min(hi, v)) - lo) / (hi - lo) * (H - 10) - 5

    dots = "".join(
        f"<circle class='episode-dialogue' cx='{(k + 0.5) * step:.1f}' cy='{y(ep.dialogue.level_lu):.1f}' r='5' "
        f"fill='{'#fff' if ep.dialogue.method == 'estimate' else ('#d33' if ep.dialogue.level_lu < limit else '#2b5fb3')}' "
        f"stroke='{'#d33' if ep.dialogue.level_lu < limit else '#2b5fb3'}' stroke-width='2'>"
        f"<title>{_esc(ep.name)}: dialogue {ep.dialogue.level_lu:+.1f} LU above the background ({_esc(ep.dialogue.method)})</title></circle>"
        for k, ep in enumerate(eps)
    )
    ly = y(limit)
    return (f"<svg class='plot dialogue' viewBox='0 0 {W} {H}' width='{W}' height='{H}' role='img' "
            f"aria-label='dialogue above the background per episode'><rect width='{W}' height='{H}' fill='#fafafa'/>"
            f"<line x1='0' x2='{W}' y1='{ly:.1f}' y2='{ly:.1f}' stroke='#2a7' stroke-dasharray='4 3'/>{dots}</svg>")  # fmt: skip


def _histogram(report: CheckReport) -> str:
    shots = [s for ep in report.episodes if ep.pace for s in ep.pace.shots]
    if not shots:
        return ""
    edges = [0.5 * k for k in range(0, 21)]  # 0-10 s in half seconds, the rest in the last bin
    counts = [0] * (len(edges))
    for s in shots:
        counts[min(len(edges) - 1, int(s / 0.5))] += 1
    top = max(counts) or 1
    bw = W / len(counts)
    bars = "".join(
        f"<rect class='bar' x='{k * bw + 1:.1f}' y='{H - c / top * (H - 20) - 15:.1f}' width='{bw - 2:.1f}' "
        f"height='{c / top * (H - 20):.1f}' fill='{'#e07b00' if edges[k] < report.check_preset.short_shot_s else '#2b5fb3'}'>"
        f"<title>{edges[k]:.1f}-{edges[k] + 0.5:.1f} s: {c} shots</title></rect>"
        for k, c in enumerate(counts)
    )
    return (f"<svg class='plot histogram' viewBox='0 0 {W} {H}' width='{W}' height='{H}' role='img' "
            f"aria-label='shot-length histogram'><rect width='{W}' height='{H}' fill='#fafafa'/>{bars}"
            f"<text x='2' y='{H - 2}' font-size='10'>0 s</text><text x='{W - 40}' y='{H - 2}' font-size='10'>10+ s</text></svg>")  # fmt: skip


def _reading(report: CheckReport) -> str:
    cues = [(ep.name, c) for ep in report.episodes for c in ep.cues]
    if not cues:
        return "<p>(no subtitle files were delivered beside the episodes)</p>"
    top = max(max(c["cps"] for _, c in cues if c["cps"] != float("inf")), max(c["limit"] for _, c in cues)) * 1.2
    bw = W / len(cues)
    bars = "".join(
        f"<rect class='cue' x='{k * bw:.1f}' y='{H - min(c['cps'], top) / top * (H - 10):.1f}' width='{max(1.0, bw - 1):.1f}' "
        f"height='{min(c['cps'], top) / top * (H - 10):.1f}' fill='{'#d33' if c['cps'] > c['limit'] else '#2b5fb3'}'>"
        f"<title>{_esc(name)} {c['lang']} cue {c['cue']}: {c['cps']} chars/s (limit {c['limit']})</title></rect>"
        for k, (name, c) in enumerate(cues)
    )
    limit = cues[0][1]["limit"]
    ly = H - limit / top * (H - 10)
    return (f"<svg class='plot reading' viewBox='0 0 {W} {H}' width='{W}' height='{H}' role='img' "
            f"aria-label='reading speed per cue'><rect width='{W}' height='{H}' fill='#fafafa'/>{bars}"
            f"<line x1='0' x2='{W}' y1='{ly:.1f}' y2='{ly:.1f}' stroke='#2a7' stroke-dasharray='4 3'/></svg>")  # fmt: skip


_STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f2;color:#1b1b1b}
header{background:#1b1b1b;color:#fff;padding:16px 28px}main{padding:10px 28px 40px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:0 0 16px}.error{color:#b00}.warning{color:#8a4b00}
.ok{color:#2d6a2d}svg.plot{display:block;margin:6px 0;max-width:100%;height:auto}h2{margin:0 0 6px}"""


def _on_screen(ep: EpisodeCheck) -> str:
    """A row per required label (its window grey; each frame looked at green when the label is there, red
    when not) and one for the burned-in text (each frame looked at, coloured the same way)."""
    rows = [(lb["name"], lb["start_s"], lb["end_s"], lb["frames"]) for lb in ep.labels]
    if ep.burned and ep.burned.get("frames"):
        rows.append(("subtitles", None, None, [{**f, "window": True} for f in ep.burned["frames"]]))
    if not rows:
        return ""
    dur, left, row_h = ep.duration or 1.0, 90, 18
    width = W - left
    out = []
    for k, (name, start, end, frames) in enumerate(rows):
        y = k * row_h + 4
        out.append(f"<text x='0' y='{y + 11}' font-size='11'>{_esc(name)}</text>")
        if start is not None:
            out.append(f"<rect x='{left + start / dur * width:.1f}' y='{y + 3}' height='8' fill='#ccc' "
                       f"width='{max(2.0, (end - start) / dur * width):.1f}'><title>required {start:.2f}-{end:.2f} s</title></rect>")  # fmt: skip
        for f in frames:
            ok = f["score"] >= 0.5
            colour = ("#2d8a2d" if ok else "#d33") if f["window"] else ("#d33" if ok else "#999")
            out.append(f"<circle cx='{left + f['t'] / dur * width:.1f}' cy='{y + 7}' r='3.5' fill='{colour}'>"
                       f"<title>{f['t']:.2f} s: score {f['score']:.2f}</title></circle>")  # fmt: skip
    h = len(rows) * row_h + 8
    return (f"<h3>On screen: required labels and burned-in text (green: there, red: missing or outstaying)</h3>"
            f"<svg class='plot onscreen' viewBox='0 0 {W} {h}' width='{W}' height='{h}' role='img' "
            f"aria-label='labels and subtitles on screen in {_esc(ep.name)}'>{''.join(out)}</svg>")  # fmt: skip


def write_check_html(report: CheckReport, dest: Path) -> Path:
    """Write the page for ``report`` to ``dest`` (atomically)."""
    target = report.loudness_profile.integrated
    parts = []
    for ep in report.episodes:
        items = "".join(f"<li class='{f.severity}'>{_esc(f.severity)}: {_esc(f.check)}/{_esc(f.rule)}: {_esc(f.message)}"
                        + (f" (at {float(f.start):.2f} s)" if f.start is not None else "") + "</li>"
                        for f in ep.findings) or "<li class='ok'>nothing to report</li>"  # fmt: skip
        loud = ep.loudness
        facts = (f"{ep.duration:.1f} s, {ep.frames} frames; " +
                 (f"{loud.integrated:.1f} LUFS, LRA {loud.lra:.1f} LU, true peak {loud.true_peak:.1f} dBTP; " if loud else "")
                 + (f"{ep.pace.cuts_per_minute:.1f} cuts/min, median shot {ep.pace.median_shot:.2f} s" if ep.pace else "")
                 + (f"; dialogue {ep.dialogue.level_lu:+.1f} LU above the background ({ep.dialogue.method})"
                    if ep.dialogue is not None and ep.dialogue.level_lu is not None else ""))  # fmt: skip
        parts.append(
            f"<section class='episode' id='{_esc(ep.name)}'><h2>{_esc(ep.name)}</h2><p>{_esc(facts)}</p>"
            f"<h3>Luminance and flashes</h3>{_timeline(ep)}<h3>Loudness (momentary light, short-term dark; target dashed)</h3>"
            f"{_loudness_curve(ep, target)}{_on_screen(ep)}<ul>{items}</ul></section>"
        )
    series = "".join(
        f"<li class='{f.severity}'>{_esc(f.episode or 'series')}: {_esc(f.message)}</li>" for f in report.series
    )
    verdict = "FAIL" if report.errors else ("warnings" if report.warnings else "pass")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vertcut check: {_esc(verdict)}</title><style>{_STYLE}</style></head><body>
<header><h1>vertcut check: {_esc(verdict)}</h1><div>{report.errors} error(s), {report.warnings} warning(s);
preset {_esc(report.preset)}, loudness profile {_esc(report.profile)} ({target:g} LUFS)</div></header><main>
<section><h2>The series</h2><h3>Integrated loudness per episode (profile band green)</h3>{_spread(report)}
<h3>Dialogue above the background per episode (LU; hollow: estimated without stems; the preset's
{report.check_preset.dialogue_to_background_min_lu:g} LU dashed)</h3>{_dialogue(report)}
<h3>Shot lengths (under {report.check_preset.short_shot_s:g} s in orange)</h3>{_histogram(report)}
<h3>Reading speed per cue (over the limit in red)</h3>{_reading(report)}
<ul>{series or "<li class='ok'>nothing to report</li>"}</ul></section>
{"".join(parts)}
</main></body></html>
"""
    with atomic_path(dest) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dest
