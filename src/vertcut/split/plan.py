"""The split plan: markers -> frames of the master -> snapped cuts -> episodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import MarkerError, PresetError
from ..markers import Marker
from ..markers.roles import assign_roles
from ..media.probe import FrameTable, MediaInfo, frame_table, probe
from ..presets import load_preset
from ..progress import ProgressSink, Reporter
from ..timebase import FrameRange, format_timecode, parse_timecode, seconds_to_frame
from .settings import SplitSettings

__all__ = ["EpisodePlan", "Note", "Snap", "SplitPlan", "cut_cue_warnings", "plan_split", "snap_frame"]


@dataclass(frozen=True)
class Snap:
    """How a marker became a cut: ``cut`` (a hard cut), ``fade``, ``black``, ``none`` (kept mid-shot)."""

    status: str
    marker_frame: int
    frame: int

    @property
    def offset(self) -> int:
        return self.frame - self.marker_frame


@dataclass(frozen=True)
class EpisodePlan:
    number: int
    frames: FrameRange  # half-open, decoded frame indices of the master
    start: Fraction  # seconds from the master's first frame (exact, from the frame table)
    end: Fraction
    tier: str  # free | paid
    marker: Marker | None  # the cliffhanger marker that ends this episode (None for the last)
    snap: Snap | None  # how that marker was snapped

    @property
    def duration(self) -> Fraction:
        return self.end - self.start

    # kept for callers of the first version
    @property
    def marker_frame(self) -> int | None:
        return self.snap.marker_frame if self.snap else None


@dataclass(frozen=True)
class Note:
    """A marker that is not a cliffhanger (a note for the colourist, VFX, sound): kept, not cut at."""

    marker: Marker
    frame: int | None  # the master frame at the marker's time (None: beyond the end of the master)
    episode: int | None  # the episode that frame falls in


@dataclass
class SplitPlan:
    master: Path
    info: MediaInfo
    table: FrameTable
    settings: SplitSettings
    episodes: list[EpisodePlan]
    markers_path: str | None = None
    markers_format: str | None = None
    warnings: list[str] = field(default_factory=list)
    start_timecode: str | None = None  # the master's own timecode at its first frame, if it has one
    end_seconds: Fraction = Fraction(0)  # end of the last frame (= master video duration)
    notes: list[Note] = field(default_factory=list)  # the markers that are not cliffhangers, in file order
    cliffhanger_rule: str = ""  # how the cliffhangers were told from the notes (markers.roles)

    @property
    def rate(self) -> Fraction:
        return self.info.require_video().frame_rate

    def timecode(self, frame: int) -> str:
        base = parse_timecode(self.start_timecode, self.rate) if self.start_timecode else 0
        return format_timecode(base + frame, self.rate)

    @property
    def first_paid(self) -> int | None:
        return next((e.number for e in self.episodes if e.tier == "paid"), None)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per episode, for tables."""
        return [
            {
                "episode": e.number,
                "first": e.frames.start,
                "last": e.frames.end_inclusive,
                "frames": e.frames.count,
                "start_tc": self.timecode(e.frames.start),
                "duration_s": float(e.duration),
                "tier": e.tier,
                "marker": e.marker.name if e.marker else "",
                "line": e.marker.line if e.marker else None,
                "snap": "end" if e.snap is None else f"{e.snap.status} ({e.snap.offset:+d}f)",
            }
            for e in self.episodes
        ]


def _settings(settings: SplitSettings | str | None, overrides: dict[str, Any]) -> SplitSettings:
    if settings is None:
        base: SplitSettings = load_preset("split", "default")
    elif isinstance(settings, str):
        base = load_preset("split", settings)
    else:
        base = settings
    unknown = set(overrides) - set(SplitSettings.__dataclass_fields__)
    if unknown:
        raise PresetError(f"unknown split setting(s): {', '.join(sorted(unknown))}")
    try:
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})
    except (TypeError, ValueError) as exc:
        raise PresetError(f"bad split setting: {exc}") from None


def snap_frame(
    frame: int,
    tol: int,
    cuts: tuple[int, ...] | list[int],
    fades: tuple[FrameRange, ...] | list[FrameRange] = (),
    black: tuple[FrameRange, ...] | list[FrameRange] = (),
    luma: Any = None,
) -> Snap:
    """Snap ``frame`` (the first frame of the next episode) to a shot boundary within ``tol`` frames.

    The nearest hard cut wins (a tie goes to the later cut); else the darkest
    frame of a fade (through black) in reach; else the first frame after a
    black gap in reach; else the marker is kept where it is (``none``).
    """
    near = [c for c in cuts if abs(c - frame) <= tol and c > 0]
    if near:
        return Snap("cut", frame, min(near, key=lambda c: (abs(c - frame), -c)))
    cands: list[tuple[int, str]] = []
    for f in fades:
        if f.stop < frame - tol or f.start > frame + tol:
            continue
        if luma is not None and len(luma) >= f.stop and f.count:
            seg = luma[f.start : f.stop]
            at = f.start + int(seg.argmin())
        else:
            at = (f.start + f.stop) // 2
        cands.append((min(max(at, frame - tol), frame + tol), "fade"))
    for b in black:
        if b.stop < frame - tol or b.start > frame + tol:
            continue
        cands.append((min(max(b.stop, frame - tol), frame + tol), "black"))
    cands = [c for c in cands if c[0] > 0]
    if cands:
        at, how = min(cands, key=lambda c: (abs(c[0] - frame), c[1] != "fade"))
        return Snap(how, frame, at)
    return Snap("none", frame, frame)


def plan_split(
    master: str | Path,
    markers: list[Marker],
    *,
    settings: SplitSettings | str | None = None,
    analysis: Any = None,
    sink: ProgressSink | None = None,
    markers_path: str | Path | None = None,
    cuts: tuple[int, ...] | list[int] | None = None,
    fades: tuple[FrameRange, ...] | list[FrameRange] = (),
    black: tuple[FrameRange, ...] | list[FrameRange] = (),
    **overrides: Any,
) -> SplitPlan:
    """Plan the episodes of ``master``: each cliffhanger marker ends one episode (it is the next one's
    first frame); the other markers are kept as notes (:mod:`vertcut.markers.roles`, by the settings'
    ``marker_colour`` / ``marker_name``).

    Shot boundaries come from ``analysis`` (a :class:`vertcut.analysis.Analysis`), or from
    explicit ``cuts``/``fades``/``black``; when neither is given and snapping is on,
    :func:`vertcut.analysis.analyse` runs (cached). ``overrides`` are
    :class:`SplitSettings` fields (``snap="2f"``, ``free_episodes=5`` ...).

    Raises:
        MarkerError: a marker out of order, duplicated, beyond the end, at another frame rate,
            at the very start, or an episode shorter/longer than allowed; each names the
            marker and its line. Markers of several colours and no rule saying which are the
            cliffhangers (one line listing the colours and their counts).
    """
    master = Path(master)
    cfg = _settings(settings, overrides)
    rep = Reporter(sink, "split")
    info = probe(master)
    v = info.require_video()
    rate = v.frame_rate
    table = frame_table(master)
    n = len(table)
    where = str(markers_path) if markers_path else next((m.path for m in markers if m.path), None)
    if not markers:
        raise MarkerError("no markers to split at", path=where)
    roles = assign_roles(markers, cfg.marker_colour, cfg.marker_name, path=where)
    all_markers, markers = markers, roles.cliffhangers
    first = table.seconds(0)
    last_start = table.seconds(n - 1) - first
    # the end of the last frame: its start plus the frame interval before it (exact; the container's
    # duration is an estimate on VFR Matroska and may include a longer audio track)
    end_s = last_start + (table.seconds(n - 1) - table.seconds(n - 2) if n > 1 else 1 / rate)
    tol = seconds_to_frame(cfg.seconds("snap", rate), rate, "nearest")
    if tol < 0:
        raise PresetError(f"snap must not be negative: {cfg.snap}")
    if cuts is None and analysis is None and tol > 0:
        from ..analysis import analyse

        analysis = analyse(master, sink=sink)
    if analysis is not None:
        cuts, fades, black = analysis.cuts, analysis.fades, analysis.black
        luma = getattr(analysis, "luma", None)
        if getattr(analysis, "frame_count", n) != n:
            rep.warning(f"analysis has {analysis.frame_count} frames, the master {n}: snapping may be off")
    else:
        luma = None
    cut_list = tuple(cuts or ())

    def fail(msg: str, m: Marker) -> MarkerError:
        return MarkerError(f"marker {m.label()}: {msg}", path=m.path or where, line=m.line)

    bounds: list[tuple[Marker, Snap]] = []
    prev: tuple[Marker, int] | None = None
    for m in markers:
        if m.rate is not None and m.rate != rate:
            raise fail(
                f"the marker file is timed at {float(m.rate):.3f} fps but the master is {float(rate):.3f} fps", m
            )
        if m.seconds >= end_s:
            raise fail(
                f"at {float(m.seconds):.3f} s is beyond the end of the master ({float(end_s):.3f} s, {n} frames)", m
            )
        frame = table.nearest_frame(first + m.seconds)
        if prev is not None:
            pm, pf = prev
            at = f"{pm.label()} (line {pm.line})" if pm.line else pm.label()
            if frame == pf:
                raise fail(f"duplicates marker {at}: both at frame {frame}", m)
            if frame < pf:
                raise fail(f"is out of order: frame {frame} comes before marker {at} at frame {pf}", m)
        prev = (m, frame)
        if frame <= 0:
            raise fail("is at the very start of the master: an episode needs at least one frame", m)
        snap = snap_frame(frame, tol, cut_list, fades, black, luma)
        if bounds and snap.frame <= bounds[-1][1].frame:
            pm = bounds[-1][0]
            raise fail(
                f"snaps to frame {snap.frame}, the same cut as marker {pm.label()} (line {pm.line}): "
                "a duplicated marker, or lower --snap",
                m,
            )
        if snap.frame >= n:
            raise fail(f"snaps past the last frame ({snap.frame} >= {n})", m)
        bounds.append((m, snap))

    starts = [0, *(s.frame for _, s in bounds)]
    stops = [*(s.frame for _, s in bounds), n]
    min_s, warn_s, max_s = (cfg.seconds(k, rate) for k in ("min_duration", "warn_duration", "max_duration"))
    warnings: list[str] = rep_warnings(bounds, cfg.snap if tol > 0 else "")
    for w in warnings:
        rep.warning(w)
    episodes: list[EpisodePlan] = []
    paywall = False
    for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
        marker: Marker | None = bounds[i][0] if i < len(bounds) else None
        ep_snap: Snap | None = bounds[i][1] if i < len(bounds) else None
        start = table.seconds(a) - first
        end = table.seconds(b) - first if b < n else end_s
        dur = end - start
        label = f"episode {i + 1} (frames {a}-{b - 1}, {float(dur):.3f} s)"
        # the marker responsible for a too-short/too-long episode: the one ending it, else the one starting it
        blame = marker or (bounds[-1][0] if bounds else None)
        if dur < min_s:
            msg = f"{label} is shorter than {cfg.min_duration} (error limit)"
            raise MarkerError(
                msg if blame is None else f"marker {blame.label()}: {msg}",
                path=where,
                line=blame.line if blame else None,
            )
        if dur > max_s:
            msg = f"{label} is longer than {cfg.max_duration} (error limit): a marker is missing"
            raise MarkerError(
                msg if blame is None else f"marker {blame.label()}: {msg}",
                path=where,
                line=blame.line if blame else None,
            )
        if dur < warn_s:
            warnings.append(f"{label} is shorter than {cfg.warn_duration}")
            rep.warning(warnings[-1])
        # tiers: the first N are free; a marker flagged "paid" starts the paywall (every later episode is
        # paid), a marker flagged "free" makes the episode it starts free
        starter = bounds[i - 1][0] if i > 0 else None
        flag = starter.tier if starter is not None else None
        if flag == "paid":
            paywall = True
        tier = "free" if flag == "free" else "paid" if paywall else ("free" if i < cfg.free_episodes else "paid")
        episodes.append(EpisodePlan(i + 1, FrameRange(a, b), start, end, tier, marker, ep_snap))
    tc = info.metadata.get("timecode") or v_timecode(master)
    if tc:
        try:
            parse_timecode(tc, rate)
        except ValueError:
            tc = None
    notes = _notes(roles.notes, table, first, end_s, episodes, warnings, rep)
    fmt = next((m.source for m in all_markers if m.source), None)
    kept = {0: "", 1: " (1 other marker kept as a note)"}.get(
        len(notes), f" ({len(notes)} other markers kept as notes)"
    )
    rep.end(f"{len(episodes)} episodes from {len(markers)} cliffhanger markers{kept}")
    return SplitPlan(master, info, table, cfg, episodes, where, fmt, warnings, tc, end_s, notes, roles.rule)


def _notes(
    markers: list[Marker],
    table: FrameTable,
    first: Fraction,
    end_s: Fraction,
    episodes: list[EpisodePlan],
    warnings: list[str],
    rep: Reporter,
) -> list[Note]:
    """The non-cliffhanger markers placed on the master's frames (a note past the end gets a warning)."""
    out = []
    for m in markers:
        if m.seconds < 0 or m.seconds >= end_s:
            warnings.append(
                f"note marker {m.label()} (line {m.line}) at {float(m.seconds):.3f} s is outside the master "
                f"(0-{float(end_s):.3f} s)"
            )
            rep.warning(warnings[-1])
            out.append(Note(m, None, None))
            continue
        frame = table.nearest_frame(first + m.seconds)
        ep = next((e.number for e in episodes if e.frames.start <= frame < e.frames.stop), None)
        out.append(Note(m, frame, ep))
    return out


def rep_warnings(bounds: list[tuple[Marker, Snap]], snap: str) -> list[str]:
    return [
        f"marker {m.label()} (line {m.line}) kept mid-shot at frame {s.frame}: no cut, fade or black within {snap}"
        for m, s in bounds
        if s.status == "none" and snap
    ]


def v_timecode(master: Path) -> str | None:
    """The master's start timecode from its video or tmcd stream tags (MOV/MP4/MXF), if any."""
    import av

    try:
        with av.open(str(master)) as c:
            for s in c.streams:
                tc = s.metadata.get("timecode")
                if tc:
                    return str(tc)
    except (OSError, av.error.FFmpegError):
        return None
    return None


def cut_cue_warnings(plan: SplitPlan, tracks: Mapping[str, Any]) -> list[str]:
    """A warning for every cut that falls inside a subtitle cue (the marker probably sits mid-line).

    ``tracks`` maps a language to a :class:`vertcut.subtitles.SubtitleTrack` of the master.
    """
    out = []
    for ep in plan.episodes[:-1]:
        t = ep.end
        m = ep.marker
        who = f"marker {m.label()} (line {m.line})" if m is not None else "a marker"
        for lang, track in tracks.items():
            for n, cue in enumerate(track.cues, 1):
                if cue.start < t < cue.end:
                    text = " ".join(str(cue.text).split())[:30]
                    out.append(
                        f"the cut at frame {ep.frames.stop} ({who}) falls inside {lang} cue {n} "
                        f"({float(cue.start):.3f}-{float(cue.end):.3f} s: {text!r})"
                    )
    return out
