"""Rendering a split plan: frame-exact episodes, per-episode subtitles, manifest, contact sheet."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InputError
from ..ffmpeg import FFmpeg
from ..fsutil import atomic_dir, atomic_path, file_digest
from ..markers.roles import parse_colours
from ..media.probe import frame_table
from ..progress import ProgressSink, Reporter
from .plan import EpisodePlan, Note, SplitPlan

if TYPE_CHECKING:
    from ..render.episode import EpisodeRender

__all__ = [
    "MANIFEST_SCHEMA", "Manifest", "boundary_frames", "check_episodes", "episode_render", "episode_subtitles",
    "new_manifest", "render_split",
]  # fmt: skip

MANIFEST_SCHEMA = "vertcut.episodes/1"
THUMB = 240  # thumbnail width: contact sheet and first/last frame checks
Manifest = dict[str, Any]


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)


def episode_render(
    plan: SplitPlan,
    ep: EpisodePlan,
    dest: Path,
    encoder_args: Sequence[str] | None = None,
    threads: int | None = None,
) -> EpisodeRender:
    """``ep`` as a render of the master's frames as they are, into one file ``dest``.

    The frames are exactly the episode's (decoded from the keyframe before the first, those before
    it dropped), piped with their own timestamps (VFR stays VFR), and the sound is cut at the same
    instant (:mod:`vertcut.render.source`). ``encoder_args`` replaces the video (and, if it
    names ``-c:a``, audio) encoder arguments, e.g. a lossless encoder for verification.
    """
    from ..render.episode import EpisodeRender, Mezzanine
    from ..render.picture import PictureSpec
    from ..render.source import AudioWindow, FrameRangeSource

    v = plan.info.require_video()
    table = plan.table
    a, b = ep.frames.start, ep.frames.stop
    rng = FrameRangeSource.of(plan.master, table, v.frame_rate, a, b)
    size = (v.width, v.height)
    pix_fmt = v.pix_fmt or "yuv420p"
    picture = PictureSpec("identity", size, size, pix_fmt=pix_fmt)
    enc = tuple(encoder_args) if encoder_args else None
    if enc is None:
        cfg = plan.settings
        ten_bit = (v.color.bit_depth or 8) > 8
        enc = ("-c:v", "libx264", "-preset", cfg.preset, "-crf", str(cfg.crf))
        enc += ("-pix_fmt", "yuv420p10le", "-profile:v", "high10") if ten_bit else ("-pix_fmt", "yuv420p")
    audio_enc: tuple[str, ...] = () if "-c:a" in enc else ("-c:a", "aac", "-b:a", f"{plan.settings.audio_kbps}k")
    audio = AudioWindow.of(plan.info, table.seconds(a), ep.duration)
    return EpisodeRender(ep.number, dest.stem, rng, picture, v.color, v.is_vfr, audio, None, None, (ep.start, ep.end),
                         None, dest.parent, Mezzanine(enc, audio_enc), dest, threads)  # fmt: skip


def episode_subtitles(
    plan: SplitPlan,
    ep: EpisodePlan,
    tracks: Mapping[str, Any],
    folder: Path,
    warnings: list[str],
    rep: Reporter,
    write: bool = True,
) -> dict[str, Any]:
    """Re-time every other-language track to ``ep`` into ``folder/NAME.LANG.srt``; their manifest entries."""
    from ..subtitles import retime, write_srt

    cfg = plan.settings
    name = cfg.name_pattern.format(number=ep.number)
    subs: dict[str, Any] = {}
    for lang, track in tracks.items():
        part, report = retime(track, ep.start, ep.end, cfg.cue_policy)
        srt = folder / f"{name}.{lang}.srt"
        if write:
            with atomic_path(srt) as tmp:
                write_srt(part, tmp)
        for cue in report.straddling_end:
            warnings.append(
                f"{name}: the cut at frame {ep.frames.stop} falls inside {lang} cue {cue} (policy {cfg.cue_policy})"
            )
            rep.warning(warnings[-1])
        subs[lang] = {
            "file": srt.name,
            "cues": len(part.cues),
            "clipped": report.clipped,
            "dropped": report.dropped,
            "straddling_start": report.straddling_start,
            "straddling_end": report.straddling_end,
        }
    return subs


def boundary_frames(plan: SplitPlan, transform: Any = None) -> dict[int, Any]:
    """Thumbnails of the master's frames around every cut (``transform(index, frame)``: the picture the
    episodes show of a master frame, e.g. its reframed crop)."""
    wanted = set()
    for ep in plan.episodes:
        wanted |= {ep.frames.start - 1, ep.frames.start, ep.frames.start + 1}
        wanted |= {ep.frames.stop - 2, ep.frames.stop - 1, ep.frames.stop}
    return master_frames(plan, {f for f in wanted if 0 <= f < len(plan.table)}, THUMB, transform)


def check_episodes(
    plan: SplitPlan,
    episodes: list[dict[str, Any]],
    videos: list[Path | None],
    master_thumbs: dict[int, Any],
    folder: Path,
    warnings: list[str],
    rep: Reporter,
) -> Path | None:
    """Check each episode's first and last frames against the master's (in ``episodes``' verification
    entries) and write the contact sheet of every cut into ``folder``; returns the sheet."""
    ends = [_first_last(v, THUMB) if v is not None else (None, None) for v in videos]
    for e, ep, (first, last) in zip(episodes, plan.episodes, ends, strict=True):
        if first is None:
            continue
        checks = check_ends(plan, ep, first, last, master_thumbs)
        e["verification"].update(checks)
        for key in ("first_frame", "last_frame"):
            c = checks[key]
            if c["decidable"] and c["match"] != c["expected"]:
                e["verification"]["ok"] = False
                e["verification"]["problems"].append(
                    f"{key} looks like master frame {c['match']}, expected {c['expected']}"
                )
                warnings.append(f"{e['id']}: {e['verification']['problems'][-1]}")
                rep.warning(warnings[-1])
    return contact_sheet(folder, ends, plan)


def new_manifest(plan: SplitPlan, episodes: list[dict[str, Any]], warnings: list[str]) -> Manifest:
    """The manifest (``docs/manifest.md``) of ``plan``'s episodes, before its totals."""
    v = plan.info.require_video()
    cfg = plan.settings
    return {
        "schema": MANIFEST_SCHEMA,
        "vertcut": __version__,
        "master": {
            "path": str(plan.master),
            "sha256": None,
            "frame_rate": _frac(v.frame_rate),
            "vfr": bool(v.is_vfr),
            "frames": len(plan.table),
            "time_base": _frac(plan.table.time_base),
            "start_pts": int(plan.table.pts[0]),
            "container_start": _frac(plan.info.start_time),
            "duration": _frac(plan.end_seconds),
            "timecode_start": plan.start_timecode or "00:00:00:00",
            "timecode_source": "media" if plan.start_timecode else "default",
            "width": v.width,
            "height": v.height,
            "audio": None
            if not plan.info.audio
            else {"sample_rate": plan.info.audio[0].sample_rate, "channels": plan.info.audio[0].channels},
        },
        "markers": {
            "path": plan.markers_path,
            "format": plan.markers_format,
            "count": sum(1 for e in plan.episodes if e.marker),
            "filter": {"names": cfg.marker_name or None, "colours": list(parse_colours(cfg.marker_colour))},
            "cliffhangers": plan.cliffhanger_rule,
            "notes": [_note_json(plan, n) for n in plan.notes],
        },
        "settings": {k: (list(x) if isinstance(x, tuple) else x) for k, x in cfg.__dict__.items()},
        "paywall": {
            "first_paid_episode": plan.first_paid,
            "free_episodes": sum(e.tier == "free" for e in plan.episodes),
        },
        "episodes": episodes,
        "totals": {},
        "warnings": warnings,
    }


def _note_json(plan: SplitPlan, note: Note) -> dict[str, Any]:
    """A marker that is not a cliffhanger, where it is: exact seconds, the master frame, its episode."""
    m = note.marker
    start = next((e.frames.start for e in plan.episodes if e.number == note.episode), None)
    return {
        "name": m.name,
        "colour": m.colour,
        "colour_name": m.colour_name or None,
        "kind": m.kind,
        "note": m.note,
        "line": m.line,
        "source": m.source,
        "seconds": _frac(m.seconds),
        "s": float(m.seconds),
        "frame": note.frame,
        "timecode": plan.timecode(note.frame) if note.frame is not None else None,
        "episode": note.episode,
        "episode_frame": note.frame - start if note.frame is not None and start is not None else None,
    }


def render_split(
    plan: SplitPlan,
    out_dir: str | Path,
    *,
    subtitles: Mapping[str, str | Path] | None = None,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    encoder_args: list[str] | None = None,
) -> Manifest:
    """Write the episodes, their subtitles, ``manifest.json`` and ``contact-sheet.png`` into ``out_dir``.

    Each episode is one render of the master's frames (:func:`episode_render`). The folder is written
    atomically (all or nothing). ``subtitles`` maps a language tag to a subtitle file of the master.
    ``encoder_args`` replaces the video (and, if it names ``-c:a``, audio) encoder arguments, e.g. a
    lossless encoder for verification. With a dry-run ``ffmpeg`` the commands are only printed and
    nothing is written. Returns the manifest.
    """
    from ..render.episode import render_episode
    from ..subtitles import load_subtitles

    out = Path(out_dir)
    ff = ffmpeg or FFmpeg(sink=sink)
    rep = Reporter(sink, "split")
    cfg = plan.settings
    tracks = {lang: load_subtitles(p) for lang, p in (subtitles or {}).items()}
    warnings = list(plan.warnings)
    episodes: list[dict[str, Any]] = []
    manifest = new_manifest(plan, episodes, warnings)
    rep.start(len(plan.episodes), "episodes")

    def body(folder: Path) -> None:
        for k, ep in enumerate(plan.episodes):
            name = cfg.name_pattern.format(number=ep.number)
            video = folder / f"{name}.mp4"
            render_episode(episode_render(plan, ep, video, encoder_args, ff.threads), ffmpeg=ff, sink=sink)
            subs = episode_subtitles(plan, ep, tracks, folder, warnings, rep, write=not ff.dry_run)
            verification = {} if ff.dry_run else verify_episode(plan, ep, video)
            if verification and not verification["ok"]:
                warnings.append(f"{name}: verification failed: {verification['problems']}")
                rep.warning(warnings[-1])
            episodes.append(_episode_json(plan, ep, name, video, subs, verification))
            rep.advance(k + 1, len(plan.episodes), "episodes")
        if ff.dry_run:
            return
        videos: list[Path | None] = [folder / e["outputs"]["video"] for e in episodes]
        sheet = check_episodes(plan, episodes, videos, master_thumbs, folder, warnings, rep)
        manifest["contact_sheet"] = sheet.name if sheet else None

    master_thumbs: dict[int, Any] = {} if ff.dry_run else boundary_frames(plan)
    if ff.dry_run:
        body(out)
    else:
        _check_out_dir(out, plan, cfg.name_pattern)
        manifest["master"]["sha256"] = file_digest(plan.master)
        with atomic_dir(out) as folder:
            body(folder)
            manifest["totals"] = _totals(episodes, plan)
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    manifest["totals"] = _totals(episodes, plan)
    rep.end(f"{len(plan.episodes)} episodes in {out}")
    return manifest


def _check_out_dir(out: Path, plan: SplitPlan, pattern: str) -> None:
    """The output folder is replaced as a whole: refuse one that holds anything but a previous split."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError("the output exists and is not a folder", path=out)
    resolved = out.resolve()
    for p in (plan.master, *([Path(plan.markers_path)] if plan.markers_path else [])):
        if resolved == p.resolve().parent or resolved in p.resolve().parents:
            raise InputError(f"the output folder holds the input {p.name}; choose another folder", path=out)
    prefix = pattern.split("{", 1)[0]
    foreign = [
        p.name
        for p in out.iterdir()
        if not (p.name in ("manifest.json", "contact-sheet.png") or (prefix and p.name.startswith(prefix)))
    ]
    if foreign:
        raise InputError(
            f"the output folder already holds other files ({', '.join(sorted(foreign)[:3])}...); "
            "it is replaced as a whole, so choose a new or empty folder",
            path=out,
        )


def _totals(episodes: list[dict[str, Any]], plan: SplitPlan) -> dict[str, Any]:
    return {
        "episodes": len(episodes),
        "frames": sum(e["frames"]["count"] for e in episodes),
        "duration": _frac(sum((e.duration for e in plan.episodes), Fraction(0))),
        "duration_s": float(sum((e.duration for e in plan.episodes), Fraction(0))),
        "verified": all(e["verification"].get("ok", False) for e in episodes) if episodes else False,
    }


def _episode_json(
    plan: SplitPlan, ep: EpisodePlan, name: str, video: Path, subs: dict[str, Any], verification: dict[str, Any]
) -> dict[str, Any]:
    t0 = plan.table.seconds(0)
    last = ep.frames.end_inclusive
    m = ep.marker
    return {
        "number": ep.number,
        "id": name,
        "tier": ep.tier,
        "frames": {"first": ep.frames.start, "last": last, "count": ep.frames.count},
        "start": {
            "seconds": _frac(ep.start),
            "s": float(ep.start),
            "pts": int(plan.table.pts[ep.frames.start]),
            "timecode": plan.timecode(ep.frames.start),
        },
        "end": {
            "seconds": _frac(ep.end),
            "s": float(ep.end),
            "last_frame_pts": int(plan.table.pts[last]),
            "last_frame_seconds": _frac(plan.table.seconds(last) - t0),
            "timecode": plan.timecode(last),
        },
        "duration": {"seconds": _frac(ep.duration), "s": float(ep.duration)},
        "marker": None
        if m is None or ep.snap is None
        else {
            "name": m.name,
            "colour": m.colour,
            "kind": m.kind,
            "note": m.note,
            "line": m.line,
            "source": m.source,
            "tier_flag": m.tier,
            "seconds": _frac(m.seconds),
            "frame": ep.snap.marker_frame,
            "snapped_to": ep.snap.frame,
            "snap": ep.snap.status,
            "offset_frames": ep.snap.offset,
        },
        "outputs": {
            "video": video.name,
            "sha256": file_digest(video) if video.exists() else None,
            "subtitles": {lang: s["file"] for lang, s in subs.items()},
        },
        "subtitles": subs,
        "verification": verification,
    }


@functools.lru_cache(maxsize=8)
def _audio_end(master: Path) -> Fraction:
    """Where the master's first audio stream ends (its last packets, read from near the end)."""
    import av

    with av.open(str(master)) as c:
        a = c.streams.audio[0]
        tb = Fraction(a.time_base or Fraction(1, a.codec_context.sample_rate))
        if c.duration:
            c.seek(max(0, c.duration - 5_000_000), backward=True)
        end = Fraction(0)
        for pkt in c.demux(a):
            if pkt.pts is not None:
                end = max(end, (pkt.pts + (pkt.duration or 0)) * tb)
        return end


def verify_episode(plan: SplitPlan, ep: EpisodePlan, video: Path) -> dict[str, Any]:
    """Check a written episode: frame count, hidden (edit-list) frames, start time, audio length."""
    import av

    problems: list[str] = []
    table = frame_table(video)
    frames = len(table)
    if frames != ep.frames.count:
        problems.append(f"{frames} frames, expected {ep.frames.count}")
    start = table.seconds(0) if frames else Fraction(0)
    if start != 0:
        problems.append(f"video starts at {float(start):.6f} s")
    hidden = 0
    audio_samples: int | None = None
    expected_samples: int | None = None
    sample_rate: int | None = None
    with av.open(str(video)) as c:
        vs = c.streams.video[0]
        for pkt in c.demux(vs):
            if pkt.size and pkt.is_discard:
                hidden += 1
    if hidden:
        problems.append(f"{hidden} frames hidden by an edit list")
    if plan.info.audio:
        with av.open(str(video)) as c:
            if c.streams.audio:
                a = c.streams.audio[0]
                sample_rate = a.codec_context.sample_rate
                audio_samples = sum(f.samples for f in c.decode(a))
        if audio_samples is None or sample_rate is None:
            problems.append("no audio")
        else:
            expected_samples = int(ep.duration * sample_rate)
            # a master whose sound ends before its picture: up to there
            left = _audio_end(plan.master) - plan.table.seconds(ep.frames.start)
            expected_samples = max(0, min(expected_samples, int(left * sample_rate)))
            # AAC pads the last packet: up to one 1024-sample frame more; never less
            if not 0 <= audio_samples - expected_samples < 1024 + 1:
                problems.append(f"audio has {audio_samples} samples, expected {expected_samples}")
    return {
        "ok": not problems,
        "problems": problems,
        "frames_expected": ep.frames.count,
        "frames_written": frames,
        "hidden_frames": hidden,
        "video_start_s": float(start),
        "audio_sample_rate": sample_rate,
        "audio_samples": audio_samples,
        "audio_samples_expected": expected_samples,
    }


def _thumb(frame: Any, width: int) -> Any:
    h = max(2, round(frame.height * width / frame.width / 2) * 2)
    return frame.reformat(width=width, height=h, format="bgr24").to_ndarray()


def _first_last(path: Path, width: int) -> tuple[Any, Any]:
    """First and last frame of a video, decoding only the first frame and the last GOP (found by
    reading the packets: a fixed few seconds back would decode up to a GOP more)."""
    import av

    first = last = None
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for f in c.decode(s):
            first = _thumb(f, width)
            break
        c.seek(0)
        key = None
        for pkt in c.demux(s):
            if pkt.is_keyframe and pkt.pts is not None:
                key = pkt.pts
        if key is not None:
            c.seek(key, stream=s, backward=True, any_frame=False)
        else:
            c.seek(0)
        at: int | None = None
        for f in c.decode(s):
            if f.pts is not None and (at is None or f.pts > at):
                last, at = f, f.pts
    return first, (_thumb(last, width) if last is not None else None)


def master_frames(plan: SplitPlan, frames: set[int], width: int, transform: Any = None) -> dict[int, Any]:
    """Thumbnails of the master's frames ``frames`` (decoded index), one seek per group of neighbours
    (each through ``transform(index, frame)`` first, if given)."""
    import av
    import numpy as np

    out: dict[int, Any] = {}
    pts = plan.table.pts
    groups: list[list[int]] = []
    for f in sorted(frames):
        if groups and f - groups[-1][-1] <= 4:
            groups[-1].append(f)
        else:
            groups.append([f])
    with av.open(str(plan.master)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for g in groups:
            c.seek(int(pts[g[0]]), stream=s, backward=True, any_frame=False)
            stop = int(pts[g[-1]])
            for fr in c.decode(s):
                if fr.pts is None:
                    continue
                i = int(np.searchsorted(pts, fr.pts))
                if i in g and i < len(pts) and pts[i] == fr.pts:
                    out[i] = _thumb(transform(i, fr) if transform is not None else fr, width)
                if fr.pts >= stop:
                    break
    return out


def _psnr(a: Any, b: Any) -> float:
    import numpy as np

    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def check_ends(plan: SplitPlan, ep: EpisodePlan, first: Any, last: Any, master: dict[int, Any]) -> dict[str, Any]:
    """Which master frame the episode's first and last frames look like (PSNR against the expected frame
    and its neighbours). ``decidable`` is false when the neighbours look alike (static shot, black)
    relative to the encode's own error: then no content check can tell them apart."""
    out: dict[str, Any] = {}
    for key, img, expected in (("first_frame", first, ep.frames.start), ("last_frame", last, ep.frames.stop - 1)):
        scores = {
            f: _psnr(img, master[f]) for f in (expected - 1, expected, expected + 1) if f in master and img is not None
        }
        if not scores:
            out[key] = {"expected": expected, "match": None, "psnr": None, "decidable": False}
            continue
        ranked = sorted(scores, key=lambda f: -scores[f])
        # decidable only when the master's neighbouring frames differ from each other more than the
        # episode's frame differs from its best match (lossy encodes blur near-static neighbours)
        cands = sorted(scores)
        alike = max((_psnr(master[x], master[y]) for x, y in itertools.pairwise(cands)), default=99.0)
        out[key] = {
            "expected": expected,
            "match": ranked[0],
            "psnr": round(scores[ranked[0]], 2),
            "neighbours_psnr": round(alike, 2),
            "decidable": len(ranked) > 1 and alike < scores[ranked[0]] - 3.0,
        }
    return out


def contact_sheet(folder: Path, ends: list[tuple[Any, Any]], plan: SplitPlan) -> Path | None:
    """``contact-sheet.png``: one row per cut, the last frame of episode k beside the first of k+1."""
    import cv2
    import numpy as np

    if len(ends) < 2:
        return None
    rows = []
    for k in range(len(ends) - 1):
        a, b = ends[k][1], ends[k + 1][0]
        if a is None or b is None:
            continue
        gap = np.full((a.shape[0], 6, 3), 255, np.uint8)
        row = np.hstack([a, gap, b])
        bar = np.zeros((22, row.shape[1], 3), np.uint8)
        ep = plan.episodes[k]
        snap = ep.snap
        text = f"cut {k + 1}: frame {ep.frames.end_inclusive} | {ep.frames.stop}"
        if snap is not None:
            text += f"  {snap.status} {snap.offset:+d}f"
        cv2.putText(bar, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(np.vstack([bar, row]))
    if not rows:
        return None
    sheet = folder / "contact-sheet.png"
    with atomic_path(sheet) as tmp:
        _ok, buf = cv2.imencode(".png", np.vstack(rows))
        tmp.write_bytes(buf.tobytes())
    return sheet
