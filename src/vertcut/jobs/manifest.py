"""The series' episode manifest after the renders: ``episodes/manifest.json`` (``docs/manifest.md``),
the other languages' subtitles re-timed per episode, and the contact sheet of every cut.

Each episode is verified on a file that was delivered: its mezzanine when there is one (the
master's own timing), else the top rung's progressive MP4 (for a CFR master: the same frames): frame
count, no frame hidden by an edit list, start at zero, the audio's samples; and its first and last
frames against the master's frames at the cut, reframed the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..fsutil import atomic_path, file_digest
from ..progress import ProgressSink, Reporter
from ..render.episode import EpisodeRender
from ..split.render import (
    _episode_json,
    _totals,
    boundary_frames,
    check_episodes,
    episode_subtitles,
    new_manifest,
    verify_episode,
)
from .plan import SeriesPlan

__all__ = ["checked_file", "delivery", "write_manifest"]


def checked_file(plan: SeriesPlan, ep: EpisodeRender) -> Path | None:
    """The delivered file an episode is verified on, if any."""
    if ep.mezzanine_dest is not None and ep.mezzanine_dest.is_file():
        return ep.mezzanine_dest
    if ep.settings is None or "mp4" not in ep.settings.packages or ep.is_vfr:
        return None
    lad, _ = ep.settings.resolved()
    top = ep.dest / "mp4" / f"{lad.rungs[0].name}.mp4"
    return top if top.is_file() else None


def delivery(ep: EpisodeRender) -> dict[str, Any]:
    """What an episode carries for its distributors: soft subtitle languages, labels (on screen and in
    the metadata) and the watermark (its distributor and payload; never the key)."""
    return {
        "soft_subtitles": [sub.to_json() for sub in ep.soft_subtitles],
        "labels": ep.labels.to_json()["labels"] if ep.labels is not None else [],
        "metadata": dict(ep.labels.metadata) if ep.labels is not None else {},
        "watermark": {"distributor": ep.watermark_id, "payload": f"{ep.watermark.payload:08x}"}
        if ep.watermark is not None
        else None,
    }


def write_manifest(plan: SeriesPlan, out: Path, *, sink: ProgressSink | None = None) -> dict[str, Any]:
    """Write ``out/episodes/``: the manifest, the re-timed subtitles and the contact sheet."""
    from ..subtitles import load_subtitles

    rep = Reporter(sink, "manifest")
    sp = plan.split
    folder = out / "episodes"
    folder.mkdir(parents=True, exist_ok=True)
    tracks = {lang: load_subtitles(p) for lang, p in plan.other_subs.items()}
    warnings = list(sp.warnings)
    episodes: list[dict[str, Any]] = []
    videos: list[Path | None] = []
    for ep_plan, ep in zip(sp.episodes, plan.episodes, strict=True):
        subs = episode_subtitles(sp, ep_plan, tracks, folder, warnings, rep)
        video = checked_file(plan, ep)
        verification: dict[str, Any] = {"ok": False, "problems": ["no delivered file to verify"]}
        if video is not None:
            verification = verify_episode(sp, ep_plan, video)
            verification["file"] = str(video.relative_to(out))
            if not verification["ok"]:
                warnings.append(f"{ep.name}: verification failed: {verification['problems']}")
                rep.warning(warnings[-1])
        entry = _episode_json(sp, ep_plan, ep.name, video or folder / f"{ep.name}.mp4", subs, verification)
        mezz = ep.mezzanine_dest
        entry["outputs"]["video"] = mezz.name if mezz is not None and mezz.is_file() else None
        if entry["outputs"]["video"] is None:
            entry["outputs"]["sha256"] = None
        entry["outputs"]["ladder"] = str((ep.dest / "cmaf" / "master.m3u8").relative_to(out))
        entry["delivery"] = delivery(ep)
        episodes.append(entry)
        videos.append(video)
    manifest = new_manifest(sp, episodes, warnings)
    manifest["master"]["sha256"] = file_digest(sp.master)
    picture = plan.picture
    ow, oh = picture.output

    def shown(index: int, frame: Any) -> Any:  # the master frame as the episodes show it (before subtitles)
        return picture.apply(index, frame).reformat(width=ow, height=oh)

    thumbs = boundary_frames(sp, transform=shown)
    sheet = check_episodes(sp, episodes, videos, thumbs, folder, warnings, rep)
    manifest["contact_sheet"] = sheet.name if sheet else None
    manifest["totals"] = _totals(episodes, sp)
    with atomic_path(folder / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    rep.end(f"{len(episodes)} episodes, verified: {manifest['totals']['verified']}")
    return manifest
