"""Splitting a master into episodes at cliffhanger markers, frame-exactly.

``plan_split`` maps each marker to a frame through the master's real frame
table (so VFR and non-zero start times are handled), snaps it to the nearest
hard cut within a tolerance (else a fade or black gap, else keeps it with a
warning), checks the episode durations and assigns free/paid tiers.

``render_split`` cuts each episode by re-encoding from the exact first
frame: ``-ss`` (input seeking, floored to microseconds) to the first frame's
time, ``-t`` to the next episode's first frame and ``-frames:v`` the exact
count, so the first frame of episode k+1 is the frame after the last frame of
episode k and the audio is cut at the same instants. It re-times the
subtitles per episode, verifies every output's frame count, and writes
``manifest.json`` and a contact sheet of the frame pair at every cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import MarkerError, PresetError
from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path, file_digest
from ..markers import Marker
from ..media.probe import FrameTable, MediaInfo, frame_table, probe
from ..presets import load_preset
from ..progress import ProgressSink, Reporter
from ..timebase import FrameRange, format_timecode, seconds_to_frame, to_ffmpeg_seconds
from .settings import SplitSettings

__all__ = ["EpisodePlan", "SplitPlan", "SplitSettings", "plan_split", "render_split"]


@dataclass(frozen=True)
class EpisodePlan:
    number: int
    frames: FrameRange
    start: Fraction  # seconds from the master's first frame
    end: Fraction
    tier: str
    marker: Marker | None  # the cliffhanger that ends this episode (None for the last)
    marker_frame: int | None  # where the marker pointed before snapping
    snap: str  # "cut" | "fade" | "black" | "none" | "end"

    @property
    def duration(self) -> Fraction:
        return self.end - self.start


@dataclass
class SplitPlan:
    master: Path
    info: MediaInfo
    table: FrameTable
    settings: SplitSettings
    episodes: list[EpisodePlan]
    markers_path: str | None = None
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        rate = self.info.require_video().frame_rate
        return [
            {
                "episode": e.number,
                "first": e.frames.start,
                "last": e.frames.end_inclusive,
                "frames": e.frames.count,
                "start_tc": format_timecode(e.frames.start, rate),
                "duration_s": float(e.duration),
                "tier": e.tier,
                "marker": e.marker.name if e.marker else "",
                "snap": e.snap if e.marker_frame is None else f"{e.snap} ({e.frames.stop - e.marker_frame:+d}f)",
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
    try:
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})
    except (TypeError, ValueError) as exc:
        raise PresetError(f"bad split setting: {exc}") from None


def plan_split(
    master: str | Path,
    markers: list[Marker],
    *,
    settings: SplitSettings | str | None = None,
    analysis: Any = None,
    sink: ProgressSink | None = None,
    markers_path: str | Path | None = None,
    **overrides: Any,
) -> SplitPlan:
    """Plan the episodes of ``master`` ending at ``markers``.

    Raises:
        MarkerError: a marker out of order, duplicated, beyond the end, at another
            frame rate, or an episode shorter/longer than the settings allow; each
            names the marker and its line.
    """
    master = Path(master)
    cfg = _settings(settings, overrides)
    rep = Reporter(sink, "split")
    info = probe(master)
    v = info.require_video()
    table = frame_table(master)
    n = len(table)
    rate = v.frame_rate
    where = str(markers_path) if markers_path else None
    if not markers:
        raise MarkerError("no markers to split at", path=where)
    first = table.seconds(0)
    end_s = table.seconds(n - 1) - first + (v.duration - (table.seconds(n - 1) - first) if v.duration else 1 / rate)
    if analysis is None:
        from ..analysis import analyse

        analysis = analyse(master, sink=sink)
    tol = seconds_to_frame(cfg.seconds("snap", rate), rate, "nearest")
    bounds: list[tuple[int, Marker, int, str]] = []
    previous: Marker | None = None
    for m in markers:
        if m.rate is not None and m.rate != rate:
            raise MarkerError(
                f"marker {m.name!r} is timed at {float(m.rate):.3f} fps but the master is {float(rate):.3f} fps",
                path=where,
                line=m.line,
            )
        if m.seconds >= end_s:
            raise MarkerError(
                f"marker {m.name!r} at {float(m.seconds):.3f} s is beyond the end of the master ({float(end_s):.3f} s)",
                path=where,
                line=m.line,
            )
        if previous is not None and m.seconds == previous.seconds:
            raise MarkerError(
                f"marker {m.name!r} duplicates marker {previous.name!r} (line {previous.line})", path=where, line=m.line
            )
        if previous is not None and m.seconds < previous.seconds:
            raise MarkerError(
                f"marker {m.name!r} is out of order: it comes before marker {previous.name!r} (line {previous.line})",
                path=where,
                line=m.line,
            )
        previous = m
        frame = table.nearest_frame(first + m.seconds)
        if frame <= 0:
            raise MarkerError(f"marker {m.name!r} is at the very start of the master", path=where, line=m.line)
        snapped, how = _snap(frame, tol, analysis)
        if how == "none":
            rep.warning(
                f"marker {m.name!r} (line {m.line}) at frame {frame}: no cut within {cfg.snap}; kept where it is"
            )
        if bounds and snapped <= bounds[-1][0]:
            raise MarkerError(
                f"marker {m.name!r} snaps to frame {snapped}, the same cut as marker {bounds[-1][1].name!r}",
                path=where,
                line=m.line,
            )
        bounds.append((snapped, m, frame, how))
    episodes: list[EpisodePlan] = []
    starts = [0, *(b[0] for b in bounds)]
    stops = [*(b[0] for b in bounds), n]
    min_s, warn_s, max_s = (cfg.seconds(k, rate) for k in ("min_duration", "warn_duration", "max_duration"))
    warnings: list[str] = []
    for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
        marker = bounds[i][1] if i < len(bounds) else None
        start = table.seconds(a) - first
        end = table.seconds(b) - first if b < n else end_s
        dur = end - start
        label = f"episode {i + 1} (frames {a}-{b - 1}, {float(dur):.2f} s)"
        line = marker.line if marker else (bounds[-1][1].line if bounds else None)
        if dur < min_s:
            raise MarkerError(f"{label} is shorter than {cfg.min_duration}", path=where, line=line)
        if dur > max_s:
            raise MarkerError(f"{label} is longer than {cfg.max_duration}", path=where, line=line)
        if dur < warn_s:
            warnings.append(f"{label} is shorter than {cfg.warn_duration}")
            rep.warning(warnings[-1])
        tier = (marker.tier if marker and marker.tier else None) or ("free" if i < cfg.free_episodes else "paid")
        episodes.append(
            EpisodePlan(
                i + 1,
                FrameRange(a, b),
                start,
                end,
                tier,
                marker,
                bounds[i][2] if marker else None,
                bounds[i][3] if marker else "end",
            )
        )
    return SplitPlan(master, info, table, cfg, episodes, where, warnings)


def _snap(frame: int, tol: int, analysis: Any) -> tuple[int, str]:
    cuts = list(analysis.cuts)
    if cuts:
        best = min(cuts, key=lambda c: (abs(c - frame), c))
        if abs(best - frame) <= tol:
            return best, "cut"
    gaps: list[tuple[int, str]] = []
    for f in analysis.fades:
        seg = analysis.luma[f.start : f.stop]
        gaps.append((f.start + int(seg.argmin()) if seg.size else f.start, "fade"))
    gaps += [((r.start + r.stop) // 2, "black") for r in analysis.black]
    near = [g for g in gaps if abs(g[0] - frame) <= tol and g[0] > 0]
    if near:
        return min(near, key=lambda g: abs(g[0] - frame))
    return frame, "none"


def render_split(
    plan: SplitPlan,
    out_dir: str | Path,
    *,
    subtitles: dict[str, Path] | None = None,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    encoder_args: list[str] | None = None,
) -> dict[str, Any]:
    """Write the episodes, their subtitles, ``manifest.json`` and ``contact-sheet.png``; returns the manifest."""
    from ..subtitles import load_subtitles, retime, write_srt

    out = Path(out_dir)
    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, "split")
    cfg = plan.settings
    v = plan.info.require_video()
    container_start = plan.info.start_time
    first = plan.table.seconds(0)
    tracks = {lang: load_subtitles(p) for lang, p in (subtitles or {}).items()}
    episodes_json: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    for ep in plan.episodes:
        name = cfg.name_pattern.format(number=ep.number)
        video = out / f"{name}.mp4"
        ss = to_ffmpeg_seconds(first + ep.start - container_start)
        args = ["-ss", ss, "-i", str(plan.master), "-t", to_ffmpeg_seconds(ep.duration)]
        args += ["-map", "0:v:0", "-map", "0:a:0?", "-fps_mode", "passthrough", "-frames:v", str(ep.frames.count)]
        args += encoder_args or ["-c:v", "libx264", "-preset", cfg.preset, "-crf", str(cfg.crf), "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-movflags", "+faststart"]
        with atomic_path(video) as tmp:
            ff.run([*args, str(tmp)], stage=f"split {name}", duration=ep.duration)
        subs_json: dict[str, Any] = {}
        for lang, track in tracks.items():
            part, report = retime(track, ep.start, ep.end, cfg.cue_policy)
            srt = out / f"{name}.{lang}.srt"
            if not ff.dry_run:
                write_srt(part, srt)
            for n_cue in report.straddling_end:
                rep.warning(f"{name}: the cut falls inside {lang} cue {n_cue} (policy {cfg.cue_policy})")
            subs_json[lang] = {
                "file": srt.name,
                "cues": len(part.cues),
                "clipped": report.clipped,
                "dropped": report.dropped,
                "straddling_cut": report.straddling_end,
            }
        verification: dict[str, Any] = {}
        if not ff.dry_run:
            got = frame_table(video)
            verification = {
                "frames_expected": ep.frames.count,
                "frames_written": len(got),
                "frames_ok": len(got) == ep.frames.count,
            }
            if not verification["frames_ok"]:
                rep.warning(f"{name}: wrote {len(got)} frames, expected {ep.frames.count}")
        episodes_json.append(
            {
                "number": ep.number,
                "name": name,
                "tier": ep.tier,
                "frames": {"first": ep.frames.start, "last": ep.frames.end_inclusive, "count": ep.frames.count},
                "start": {
                    "seconds": str(ep.start),
                    "pts": int(plan.table.pts[ep.frames.start]),
                    "timecode": format_timecode(ep.frames.start, v.frame_rate),
                },
                "end": {"seconds": str(ep.end)},
                "duration": {"seconds": str(ep.duration), "float": float(ep.duration)},
                "marker": None
                if ep.marker is None
                else {
                    "name": ep.marker.name,
                    "colour": ep.marker.colour,
                    "line": ep.marker.line,
                    "kind": ep.marker.kind,
                    "frame": ep.marker_frame,
                    "snapped_to": ep.frames.stop,
                    "snap": ep.snap,
                    "offset_frames": ep.frames.stop - (ep.marker_frame or ep.frames.stop),
                },
                "outputs": {"video": video.name},
                "subtitles": subs_json,
                "verification": verification,
            }
        )
    manifest: dict[str, Any] = {
        "schema": "vertcut.manifest/1",
        "vertcut": __version__,
        "master": {
            "path": str(plan.master),
            "sha256": file_digest(plan.master) if not ff.dry_run else None,
            "frame_rate": str(v.frame_rate),
            "frames": len(plan.table),
            "time_base": str(plan.table.time_base),
            "start_pts": int(plan.table.pts[0]),
            "timecode_start": format_timecode(0, v.frame_rate),
        },
        "markers": {"path": plan.markers_path, "count": sum(1 for e in plan.episodes if e.marker)},
        "settings": {k: (list(x) if isinstance(x, tuple) else x) for k, x in plan.settings.__dict__.items()},
        "episodes": episodes_json,
        "warnings": plan.warnings,
    }
    if not ff.dry_run:
        _contact_sheet(out, [e["outputs"]["video"] for e in episodes_json])
        manifest["contact_sheet"] = "contact-sheet.png"
        with atomic_path(out / "manifest.json") as tmp:
            tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    rep.end(f"{len(plan.episodes)} episodes in {out}")
    return manifest


def _contact_sheet(out: Path, videos: list[str]) -> None:
    """Last frame of episode k beside the first frame of episode k+1, one row per cut."""
    import av
    import cv2
    import numpy as np

    def frames(path: Path) -> tuple[Any, Any]:
        first = last = None
        with av.open(str(path)) as c:
            for f in c.decode(video=0):
                img = f.reformat(width=180, height=320 if f.height > f.width else 101, format="bgr24").to_ndarray()
                if first is None:
                    first = img
                last = img
        return first, last

    if len(videos) < 2:
        return
    ends = [frames(out / v) for v in videos]
    rows = []
    for k in range(len(videos) - 1):
        a, b = ends[k][1], ends[k + 1][0]
        if a is None or b is None:
            continue
        gap = np.full((a.shape[0], 8, 3), 255, np.uint8)
        row = np.hstack([a, gap, b])
        cv2.putText(row, f"ep{k + 1} last | ep{k + 2} first", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        rows.append(row)
    if rows:
        with atomic_path(out / "contact-sheet.png") as tmp:
            _ok, buf = cv2.imencode(".png", np.vstack(rows))
            tmp.write_bytes(buf.tobytes())
