"""``vertcut check``: one decode pass per episode shared by the picture checks (flashes, pace), one
loudness measurement per episode, the subtitle files linted, the delivery re-validated; one report.

What a PATH is: an episode file (``.mp4``: picture and sound checks, ``--platform`` for its limits), an
episode folder of a ``vertcut run`` (``encoded/ep001``: also its masters and playlists), or a ``vertcut
run`` output folder (the whole series, from its manifest: also the episodes' subtitle files, the
burned-in layout from ``plan.json`` and the series' loudness consistency).
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError
from ..ffmpeg import FFmpeg
from ..presets import load_preset
from ..progress import ProgressSink, Reporter
from . import audio, burned, delivery, onscreen, pace, stems
from .findings import Finding
from .profiles import CheckPreset, LoudnessProfile

__all__ = ["CHECK_SCHEMA", "CheckReport", "EpisodeCheck", "check_paths"]

CHECK_SCHEMA = "vertcut.check/1"
SAFE_AREA = "douyin"  # the safe area burned-in text must stay inside (the strictest of the built-ins)
SMALL = (135, 240)  # the frames the picture checks see (9:16; a landscape file is fitted the other way)


@dataclass
class EpisodeCheck:
    name: str
    file: Path  # the file the picture and sound were checked on
    duration: float = 0.0
    frames: int = 0
    loudness: audio.Loudness | None = None
    pace: pace.Pace | None = None
    flash: dict[str, Any] = field(default_factory=dict)  # the flash analysis (its own JSON)
    luminance: list[float] = field(default_factory=list)  # mean relative luminance per frame (for the plot)
    flash_area: list[float] = field(default_factory=list)  # share of the picture flashing per frame
    cues: list[dict[str, Any]] = field(default_factory=list)  # reading speed per cue, per language
    dialogue: Any = None  # stems.measure: the dialogue-to-background level (check.dialogue.DialogueLevel)
    labels: list[dict[str, Any]] = field(default_factory=list)  # each required label looked for (onscreen)
    burned: dict[str, Any] | None = None  # the burned-in text looked for (burned)
    findings: list[Finding] = field(default_factory=list)

    def to_json(self, preset: CheckPreset) -> dict[str, Any]:
        return {
            "episode": self.name, "file": str(self.file), "duration_s": round(self.duration, 3), "frames": self.frames,
            "loudness": self.loudness.to_json() if self.loudness else None,
            "dialogue": self.dialogue.to_json() if self.dialogue else None,
            "pace": self.pace.to_json(preset) if self.pace else None, "flash": self.flash, "cues": self.cues,
            "labels": self.labels, "burned_subtitles": self.burned, "findings": [f.to_json() for f in self.findings],
        }  # fmt: skip


@dataclass
class CheckReport:
    paths: list[str]
    preset: str
    profile: str
    episodes: list[EpisodeCheck]
    series: list[Finding] = field(default_factory=list)
    median_loudness: float | None = None
    layout: dict[str, Any] | None = None  # the burned-in subtitles' layout (from plan.json)
    check_preset: CheckPreset = field(default_factory=CheckPreset)
    loudness_profile: LoudnessProfile = field(default_factory=LoudnessProfile)

    @property
    def findings(self) -> list[Finding]:
        return [f for ep in self.episodes for f in ep.findings] + self.series

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": CHECK_SCHEMA, "vertcut": __version__, "paths": self.paths, "preset": self.preset,
            "profile": self.profile, "profile_targets": self.loudness_profile.__dict__,
            "limits": self.check_preset.__dict__, "errors": self.errors, "warnings": self.warnings,
            "series": {"median_loudness": self.median_loudness, "findings": [f.to_json() for f in self.series],
                       "burned_subtitles": self.layout},
            "episodes": [ep.to_json(self.check_preset) for ep in self.episodes],
        }  # fmt: skip


def _picture_pass(ep: EpisodeCheck, rep: Reporter) -> None:
    """Decode the episode once at a small size: flashes and cut scores from the same frames."""
    import av

    from .flash import FlashAnalyzer

    try:
        container = av.open(str(ep.file))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot read the episode: {exc}", path=ep.file) from None
    with container as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        rate = Fraction(s.average_rate or 25)
        tb = Fraction(s.time_base or Fraction(1, 90000))
        w, h = SMALL if (s.codec_context.height or 1) >= (s.codec_context.width or 1) else SMALL[::-1]
        analyzer = FlashAnalyzer(size=(w, h), rate=rate)
        scores: list[float] = []
        prev: np.ndarray | None = None
        first_pts: int | None = None
        total = int(s.frames or 0)
        rep.start(total or None, "frames")
        n = 0
        for frame in c.decode(s):
            rgb: np.ndarray = np.asarray(frame.reformat(width=w, height=h, format="rgb24").to_ndarray(), np.uint8)
            pts = frame.pts if frame.pts is not None else n
            first_pts = pts if first_pts is None else first_pts
            analyzer.add(rgb, Fraction(pts - first_pts) * tb)
            cur = rgb.astype(np.int16)
            scores.append(0.0 if prev is None else float(np.abs(cur - prev).mean()))
            prev = cur
            n += 1
            if n % 100 == 0:
                rep.advance(n, total or None, "frames")
    result = analyzer.result()
    ep.frames = n
    ep.duration = float(Fraction(n) / rate)
    ep.flash = result.to_json(series=False)
    ep.luminance = [round(float(x), 4) for x in getattr(result, "luminance", [])]
    ep.flash_area = [round(float(x), 4) for x in getattr(result, "flash_area", [])]
    ep.pace = pace.pace_of(np.asarray(scores, np.float32), rate)
    for item in result.findings():
        ep.findings.append(Finding("flash", item["kind"], item["severity"], item["message"], ep.name,
                                   item.get("start"), item.get("end"), item.get("detail", {})))  # fmt: skip
    rep.end(f"{n} frames")


def _subtitle_checks(ep: EpisodeCheck, files: dict[str, Path], preset: CheckPreset) -> None:
    """The delivered language files linted with the preset's rules; reading speed per cue."""
    from ..subtitles import lint, load_subtitles
    from ..subtitles.language import choose_language

    style = load_preset("subtitle", preset.subtitle_preset)
    for lang, path in files.items():
        track = load_subtitles(path)
        lang = choose_language(path, "\n".join(c.text for c in track.cues), lang).lang
        limit = style.limits_for(lang).max_cps
        for n, c in enumerate(track.cues, 1):
            dur = c.end - c.start
            chars = len("".join(c.text.split()))
            cps = float(chars / dur) if dur > 0 else float("inf")
            ep.cues.append({"lang": lang, "cue": n, "start_s": float(c.start), "cps": round(cps, 2), "limit": limit})
        for f in lint(track, preset=style, lang=lang):
            text = f"{path.name}: cue {f.cue}: {f.message}"
            detail = {"file": path.name, "lang": lang}
            if f.severity == "error":
                ep.findings.append(Finding("subtitles", f.rule, "error", text, ep.name, f.start, None, detail))
            else:
                ep.findings.append(Finding("subtitles", f.rule, "warning", text, ep.name, f.start, None, detail))


def _smallest_rung(folder: Path) -> Path | None:
    mp4s = sorted((folder / "mp4").glob("*.mp4"), key=lambda p: p.stat().st_size)
    return mp4s[0] if mp4s else None


def _layout_findings(out: Path, preset: CheckPreset) -> tuple[dict[str, Any] | None, list[Finding], dict[str, Any]]:
    """The burned-in subtitles' layout as the plan recorded it: the glyph height against the subtitle
    preset's, the contrast of the style's colours against its ``min_contrast``, and the text box inside the
    platform's safe area (the text actually drawn: :mod:`vertcut.check.burned`). Also the plan's subtitles
    entry (for the pixel checks)."""
    plan_file = out / "plan.json"
    if not plan_file.is_file():
        return None, [], {}
    plan = json.loads(plan_file.read_text())
    subs = plan.get("subtitles")
    if not subs:
        return None, [], {}
    from ..subtitles.style import SubtitleStyle

    h = plan["picture"]["output"][1]
    want: SubtitleStyle = load_preset("subtitle", preset.subtitle_preset)
    layout: dict[str, Any] = {"font": subs.get("font"), "fontsize": subs.get("fontsize"), "region": subs.get("region"),
                              "lang": subs.get("lang"), "safe_area": SAFE_AREA}  # fmt: skip
    found = []
    if subs.get("font") and subs.get("fontsize"):
        glyph = burned.glyph_height(float(subs["fontsize"]), str(subs["font"]), int(h))
        layout["glyph_height_px"] = round(glyph, 1)
        layout["glyph_height_wanted_px"] = want.glyph_height_px
        if glyph < want.glyph_height_px * 0.95:
            found.append(Finding("subtitles", "glyph_height", "error",
                                 f"burned-in glyphs are {glyph:.0f} px high at 1920 (the {preset.subtitle_preset} "
                                 f"preset asks {want.glyph_height_px:g})"))  # fmt: skip
    if subs.get("header"):
        ratio = burned.layout_contrast(burned.ass_style(str(subs["header"])))
        layout["contrast"] = round(ratio, 2)
        layout["min_contrast"] = want.min_contrast
        if ratio < want.min_contrast:
            found.append(Finding("subtitles", "style_contrast", "error",
                                 f"the subtitle style's colours give {ratio:.1f}:1 (the {preset.subtitle_preset} "
                                 f"preset asks {want.min_contrast:g}:1)"))  # fmt: skip
    return layout, found, subs


def _on_screen(
    ep: EpisodeCheck, src: _Source, subs: dict[str, Any], preset: CheckPreset, ff: FFmpeg,
    sprites: dict[Any, onscreen.LabelSprite],
) -> None:  # fmt: skip
    """The required labels and the burned-in text looked for in the episode's largest rung, in one read
    of the frames they want."""
    if not src.labels and not (src.burned and subs):
        return
    from ..subtitles.style import SafeArea, SubtitleStyle

    keys, step = onscreen.keyframe_times(src.top)
    labels = onscreen.LabelLook(src.labels, keys, step, ff, sprites) if src.labels else None
    with burned.burned_look(subs, src.burned, keys, step, ff) if subs else nullcontext() as text:
        onscreen.look(src.top, [lk for lk in (labels, text) if lk is not None])
        if labels is not None:
            ep.labels, found = labels.result(ep.name)
            ep.findings += found
        if text is not None:
            want: SubtitleStyle = load_preset("subtitle", preset.subtitle_preset)
            area: SafeArea = load_preset("safearea", SAFE_AREA)
            safe = area.rect((int(subs["picture"][0]), int(subs["picture"][1])))
            ep.burned, found = text.result(ep.name, len(src.burned), want.min_contrast, safe)
            ep.findings += found


@dataclass
class _Source:
    """One episode to check: the file its picture and sound are checked on, and what the run recorded."""

    name: str
    video: Path
    folder: Path | None = None  # its ``encoded/epNNN`` folder
    subs: dict[str, Path] = field(default_factory=dict)  # delivered subtitle files by language
    labels: list[dict[str, Any]] = field(default_factory=list)  # the plan's labels
    burned: list[list[str]] = field(default_factory=list)  # the plan's burned-in events [start, end, text]

    @property
    def top(self) -> Path:
        """The largest rung (where on-screen text is looked for), else the file checked."""
        mp4s = sorted((self.folder / "mp4").glob("*.mp4"), key=lambda p: p.stat().st_size) if self.folder else []
        return mp4s[-1] if mp4s else self.video


def _episodes(path: Path) -> tuple[list[_Source], Path | None]:
    """Each episode of ``path``; the run folder when ``path`` is one."""
    if path.is_file():
        return [_Source(path.stem, path)], None
    manifest = path / "episodes" / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        plan_file = path / "plan.json"
        planned = {e["id"]: e for e in json.loads(plan_file.read_text())["episodes"]} if plan_file.is_file() else {}
        eps = []
        for e in data["episodes"]:
            folder = path / "encoded" / e["id"]
            video = _smallest_rung(folder) or (path / "episodes" / f"{e['id']}.mp4")
            subs = {lang: path / "episodes" / name for lang, name in e["outputs"].get("subtitles", {}).items()}
            pe = planned.get(e["id"], {})
            eps.append(_Source(e["id"], video, folder, subs, pe.get("delivery", {}).get("labels", []),
                               pe.get("burned_text", [])))  # fmt: skip
        return eps, path
    if (path / "mp4").is_dir() or (path / "masters").is_dir():
        single = _smallest_rung(path) or next(iter(sorted((path / "masters").glob("*.mp4"))), None)
        if single is None:
            raise InputError("no episode file in this folder (mp4/ or masters/)", path=path)
        report = path / "report.json"
        labels = json.loads(report.read_text()).get("labels", []) if report.is_file() else []
        return [_Source(path.name, single, path, labels=labels)], None
    raise InputError("not an episode file, an episode folder or a vertcut run output folder", path=path)


def check_paths(
    paths: list[Path],
    *,
    preset: str = "elder-large",
    profile: str | None = None,
    platform: str | None = None,
    ffmpeg: FFmpeg | None = None,
    sink: ProgressSink | None = None,
    dialogue: Path | None = None,
    background: Path | None = None,
) -> CheckReport:
    """Check every episode of ``paths`` (see the module's docstring).

    Raises:
        InputError: a path that is none of the three; PresetError: an unknown preset or profile.
    """
    from ..progress import for_episode

    ff = ffmpeg or FFmpeg(sink=sink)
    cp: CheckPreset = load_preset("check", preset)
    profile_name = profile or cp.loudness
    lp: LoudnessProfile = load_preset("loudness", profile_name)
    report = CheckReport([str(p) for p in paths], preset, profile_name, [], check_preset=cp, loudness_profile=lp)
    found = []
    sprites: dict[Any, onscreen.LabelSprite] = {}  # label drawings, shared by the episodes
    for p in paths:
        if not p.exists():
            raise InputError("no such file or folder", path=p)
        found.append(_episodes(p))
    episode_stems = stems.plan(dialogue, background, found)  # the dialogue and M&E stems (check/stems.py)
    for eps, run_folder in found:
        plan_subs: dict[str, Any] = {}
        if run_folder is not None:
            report.layout, layout_findings, plan_subs = _layout_findings(run_folder, cp)
            report.series += layout_findings
        for src in eps:
            name, video, folder, subs = src.name, src.video, src.folder, src.subs
            esink = for_episode(sink, name) if sink is not None else None
            rep = Reporter(esink, "check picture")
            ep = EpisodeCheck(name, video)
            _picture_pass(ep, rep)
            ep.loudness = audio.measure(ff.with_sink(esink), video)
            ep.findings += audio.evaluate(ep.loudness, lp, profile_name, name)
            ep.dialogue = stems.measure(video, episode_stems.get(video))
            ep.findings += stems.evaluate(ep.dialogue, cp, preset, name)
            assert ep.pace is not None
            ep.findings += pace.evaluate(ep.pace, cp, preset, name)
            _subtitle_checks(ep, {k: v for k, v in subs.items() if v.is_file()}, cp)
            _on_screen(ep, src, plan_subs, cp, ff.with_sink(esink), sprites)
            if folder is not None:
                ep.findings += delivery.check_masters(folder, name, platform)
                for pl in (folder / "cmaf" / "master.m3u8", folder / "ts" / "master.m3u8"):
                    if pl.is_file():
                        ep.findings += delivery.check_ladder(pl, name)
            elif platform:
                from ..encode.platform import check_master

                spec = load_preset("platform", platform)
                ep.findings += [Finding("delivery", "platform", "error", f"{spec.name}: {b}", name)
                                for b in check_master(video, spec)]  # fmt: skip
            report.episodes.append(ep)
    levels = {ep.name: ep.loudness.integrated for ep in report.episodes if ep.loudness is not None}
    report.median_loudness, spread = audio.series_findings(levels, lp)
    report.series += spread
    return report
