"""The series plan: everything ``vertcut run`` decides before any encode.

:func:`plan_job` builds one :class:`SeriesPlan` from the probe, the analysis (one cached decode
pass), the crop path, the subtitle layer, the split plan (markers snapped to cuts, episode frame
ranges, tiers) and each episode's measured loudness. It is data: :meth:`SeriesPlan.to_json` gives
it with exact times (``"num/den"`` seconds, integer frames and timestamps), ``plan.json`` in the
output folder, and ``vertcut run --dry-run`` prints it. Each episode is an
:class:`~vertcut.render.episode.EpisodeRender`: the unit of rendering, resuming and distribution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import __version__
from ..encode import EncodeSettings, measure_loudness
from ..errors import PresetError
from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path, file_digest
from ..media.probe import MediaInfo, frame_table
from ..progress import ProgressSink, Reporter
from ..reframe.plan import CameraPath
from ..render.episode import MEZZANINES, EpisodeRender
from ..render.picture import PictureSpec
from ..render.source import AudioWindow, FrameRangeSource, measure_args
from ..split.plan import EpisodePlan, SplitPlan
from ..subtitles.layer import SubtitlePlan

__all__ = ["PLAN_SCHEMA", "SeriesPlan", "plan_job"]

PLAN_SCHEMA = "vertcut.plan/1"


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)


@dataclass
class SeriesPlan:
    """One master's whole job, decided: what every episode's single render will do."""

    master: Path
    info: MediaInfo
    split: SplitPlan
    picture: PictureSpec  # for the whole master (each episode carries its slice)
    camera: CameraPath | None
    subtitles: SubtitlePlan | None
    other_subs: dict[str, Path]  # language -> file, re-timed per episode
    episodes: list[EpisodeRender]
    settings: EncodeSettings
    warnings: list[str] = field(default_factory=list)
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)  # subtitle file -> how its language was told

    def to_json(self) -> dict[str, Any]:
        from .manifest import delivery

        v = self.info.require_video()
        sp = self.split
        pic = self.picture
        eps = []
        for ep, e in zip(sp.episodes, self.episodes, strict=True):
            m = ep.marker
            eps.append({
                "number": ep.number, "id": e.name, "tier": ep.tier,
                "frames": {"first": ep.frames.start, "last": ep.frames.end_inclusive, "count": ep.frames.count},
                "start": _frac(ep.start), "end": _frac(ep.end), "duration": _frac(ep.duration),
                "start_pts": e.source.pts[0], "end_pts": e.source.end_pts,
                "timecode": sp.timecode(ep.frames.start),
                "marker": None if m is None or ep.snap is None else {
                    "name": m.name, "colour": m.colour, "line": m.line, "seconds": _frac(m.seconds),
                    "frame": ep.snap.marker_frame, "snapped_to": ep.snap.frame, "snap": ep.snap.status,
                },
                "audio": None if e.audio is None else {
                    "first_sample": e.audio.first_sample, "samples": e.audio.samples,
                    "sample_rate": e.audio.sample_rate, "loudness": e.loudness,
                },
                "subtitle_events": len(self.subtitles.window(*e.window)) if self.subtitles else 0,
                # when burned-in text is on screen, from the episode's first frame (``vertcut check`` looks there)
                "burned_text": [[_frac(ev.start), _frac(ev.end), ev.text] for ev in self.subtitles.window(*e.window)]
                if self.subtitles
                else [],
                "outputs": {
                    "ladder": str(e.dest) if e.settings else None,
                    "mezzanine": str(e.mezzanine_dest) if e.mezzanine else None,
                    "subtitles": {lang: f"{e.name}.{lang}.srt" for lang in self.other_subs},
                },
                "delivery": delivery(e),
            })  # fmt: skip
        return {
            "schema": PLAN_SCHEMA,
            "vertcut": __version__,
            "master": {
                "path": str(self.master),
                "frames": len(sp.table),
                "frame_rate": _frac(v.frame_rate),
                "time_base": _frac(sp.table.time_base),
                "vfr": v.is_vfr,
                "duration": _frac(sp.end_seconds),
                "width": v.width,
                "height": v.height,
            },
            "picture": {
                "kind": pic.kind,
                "output": list(pic.output),
                "piped": list(pic.piped),
                "crop": list(pic.crop_size) if pic.kind == "crop" else None,
                "shots": [{"start": s.start, "stop": s.stop, "mode": s.mode} for s in self.camera.shots]
                if self.camera
                else [],
            },
            "subtitles": self.subtitles.to_json() if self.subtitles else None,
            "other_subtitles": {lang: str(p) for lang, p in self.other_subs.items()},
            "languages": self.languages,
            "split": {
                "markers": sp.markers_path,
                "format": sp.markers_format,
                "first_paid_episode": sp.first_paid,
                "warnings": sp.warnings,
            },
            "encode": {
                "ladder": self.settings.name,
                "packages": list(self.settings.packages),
                "masters": self.settings.master_names,
                "vmaf": self.settings.vmaf,
            },
            "episodes": eps,
            "warnings": self.warnings,
        }

    def write(self, dest: Path) -> None:
        with atomic_path(dest) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")


class _LoudnessCache:
    """Measured loudness per (master contents, sample window), kept in the output's work folder, so a
    resumed or repeated run does not measure again."""

    def __init__(self, path: Path | None, master: Path) -> None:
        self.path = path
        self.master_key = file_digest(master, quick=True)
        self.data: dict[str, dict[str, float]] = {}
        if path is not None and path.is_file():
            try:
                self.data = json.loads(path.read_text())
            except ValueError:
                self.data = {}

    def key(self, w: AudioWindow) -> str:
        return f"{self.master_key}:{w.first_sample}:{w.samples}:{w.sample_rate}"

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path) as tmp:
                tmp.write_text(json.dumps(self.data, indent=1))


def _episode_renders(
    split: SplitPlan,
    picture: PictureSpec,
    subtitles: SubtitlePlan | None,
    settings: EncodeSettings,
    out: Path,
    mezzanine: str,
    ff: FFmpeg,
    rep: Reporter,
    cache: _LoudnessCache,
) -> list[EpisodeRender]:
    from ..render.planes import OUTPUT_COLOR

    info, table = split.info, split.table
    v = info.require_video()
    renders = []
    rep.start(len(split.episodes), "episodes")
    for k, ep in enumerate(split.episodes):
        a, b = ep.frames.start, ep.frames.stop
        rng = FrameRangeSource.of(split.master, table, v.frame_rate, a, b)
        name = split.settings.name_pattern.format(number=ep.number)
        audio = AudioWindow.of(info, table.seconds(a), ep.duration)
        loudness = None
        if audio is not None:
            key = cache.key(audio)
            if key in cache.data and not ff.dry_run:
                loudness = cache.data[key]
            else:
                args, head = measure_args(audio, info.start_time)
                loudness = measure_loudness(ff, split.master, input_args=args, head=head)
                if not ff.dry_run:
                    cache.data[key] = loudness
        renders.append(
            EpisodeRender(
                ep.number,
                name,
                rng,
                picture.window(a, b - a),
                OUTPUT_COLOR,
                v.is_vfr,
                audio,
                loudness,
                subtitles,
                (ep.start, ep.end),
                settings,
                out / "encoded" / name,
                MEZZANINES[mezzanine] if mezzanine else None,
                out / "episodes" / f"{name}.mp4" if mezzanine else None,
                ff.threads,
            )
        )
        rep.advance(k + 1, len(split.episodes), "episodes")
    cache.save()
    rep.end(f"{len(renders)} episode(s) planned")
    return renders


def _languages(spec: Any, rep: Reporter) -> dict[str, Any]:
    """Each subtitle file's language, told from its text (the burned file's from ``--burn-lang`` when
    given), reported as it was told."""
    from .job import language_choice

    out = {}
    burn = spec.burn_subtitle()
    for path in spec.subs:
        choice = language_choice(path, spec.burn_lang if path == burn else None)
        out[str(path)] = choice
        rep.info(f"{Path(path).name}: {choice.lang} ({choice.source}: {choice.detail})")
        if choice.warning:
            rep.warning(f"{Path(path).name}: {choice.warning}")
    return out


def soft_languages(spec: Any, other: dict[str, Path]) -> dict[str, Path]:
    """The languages packaged as soft subtitles: ``spec.subs_soft`` (none: every language not burned in;
    ``["none"]``: none).

    Raises:
        InputError: a language asked for with no subtitle file among the job's.
    """
    from ..errors import InputError

    wanted = [x.strip() for x in spec.subs_soft if x.strip()]
    if not wanted:
        return dict(other)
    if [w.lower() for w in wanted] == ["none"]:
        return {}
    missing = [w for w in wanted if w not in other]
    if missing:
        raise InputError(
            f"no subtitle file (not burned in) for soft subtitle language(s) {', '.join(missing)}; "
            f"the job has {', '.join(other) or 'none'}"
        )
    return {w: other[w] for w in wanted}


def _soft_tracks(spec: Any, langs: dict[str, Path]) -> dict[str, Any]:
    """Each soft language's whole-master track, laid out for the language; its text checked against the
    font vertcut would burn it with (a language no installed font covers is refused, as for burn-in)."""
    from ..encode.softsubs import prepare_cues
    from ..errors import SubtitleError
    from ..presets import load_preset
    from ..subtitles import load_subtitles
    from ..subtitles.fonts import font_for, missing_glyphs
    from ..subtitles.track import SubtitleTrack, srt_time

    style = load_preset("subtitle", spec.subtitle_preset)
    tracks = {}
    for lang, path in langs.items():
        track = load_subtitles(path)
        font = font_for(lang, style.font_family(lang))
        for n, c in enumerate(track.cues, 1):
            tofu = missing_glyphs(c.text, font)
            if tofu:
                chars = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in tofu[:5])
                raise SubtitleError(
                    f"language {lang!r}: no installed font shows cue {n} at {srt_time(c.start)} ({font.family} "
                    f"has no glyph for {chars})",
                    path=path,
                    line=c.line or None,
                )
        tracks[lang] = SubtitleTrack(prepare_cues(track, lang, spec.subtitle_preset), str(path), language=lang)
    return tracks


def _deliveries(
    spec: Any, split: SplitPlan, renders: list[EpisodeRender], other: dict[str, Path], burned: bool
) -> list[EpisodeRender]:
    """Each episode's soft subtitles (re-timed by the split plan), labels and watermark."""
    import os

    from ..encode.softsubs import SoftSubtitle
    from ..subtitles.track import retime

    tracks = _soft_tracks(spec, soft_languages(spec, other))
    mark = None
    if spec.watermark:
        from ..errors import InputError
        from ..watermark import Embedder, WatermarkKey, payload_for

        key_text = spec.watermark_key or os.environ.get("VERTCUT_WATERMARK_KEY", "")
        if not key_text:
            raise InputError("--watermark needs a key: --watermark-key HEX or $VERTCUT_WATERMARK_KEY")
        mark = Embedder(WatermarkKey.parse(key_text), payload_for(spec.watermark))
    values = None
    if spec.labels:
        from ..labels import label_values

        values = label_values(spec.label_values)
    out = []
    for ep_plan, r in zip(split.episodes, renders, strict=True):
        softs = []
        for k, (lang, track) in enumerate(tracks.items()):
            part, _ = retime(track, ep_plan.start, ep_plan.end, split.settings.cue_policy)
            softs.append(SoftSubtitle(lang, part.cues, default=not burned and k == 0, source=str(track.path)))
        labels = None
        if spec.labels:
            from ..labels import default_values, plan_labels

            assert values is not None
            filled = default_values(episode=ep_plan.number, episodes=len(split.episodes), tier=ep_plan.tier,
                                    series=spec.series or Path(spec.master).stem, distributor=spec.watermark,
                                    given=values)  # fmt: skip
            labels = plan_labels(spec.labels, filled, r.picture.output, r.duration)
        out.append(replace(r, soft_subtitles=tuple(softs), labels=labels, watermark=mark,
                           watermark_id=spec.watermark))  # fmt: skip
    return out


def whole_master(master: Path, info: MediaInfo, split_settings: Any) -> SplitPlan:
    """The split plan of a master without markers: one episode, every frame."""
    from ..timebase import FrameRange

    table = frame_table(master)
    n = len(table)
    rate = info.require_video().frame_rate
    last = table.seconds(n - 1) - table.seconds(0)
    end = last + (table.seconds(n - 1) - table.seconds(n - 2) if n > 1 else 1 / rate)
    ep = EpisodePlan(1, FrameRange(0, n), Fraction(0), end, "free", None, None)
    return SplitPlan(master, info, table, split_settings, [ep], end_seconds=end)


def plan_job(
    spec: Any,
    info: MediaInfo,
    *,
    analysis: Any,
    ffmpeg: FFmpeg,
    sink: ProgressSink | None = None,
    work: Path | None = None,
) -> SeriesPlan:
    """Plan ``spec`` (a :class:`~vertcut.jobs.JobSpec`): no frame is rendered, no output written except
    the loudness cache in ``work``.

    Raises:
        InputError / MarkerError / SubtitleError / PresetError: bad input, reported before any encode
        (a crop path for another master, a marker too near the end, subtitles beyond the master).
    """
    from ..reframe import plan_picture
    from ..render.planes import OUTPUT_COLOR
    from ..subtitles.layer import BurnOptions, Picture, plan_subtitles

    master = Path(spec.master)
    ff = ffmpeg
    if spec.mezzanine and spec.mezzanine not in MEZZANINES:
        raise PresetError(f"unknown mezzanine {spec.mezzanine!r} (choose from {', '.join(MEZZANINES)})")
    v = info.require_video()
    picture, camera = plan_picture(master, info, aspect=spec.aspect, mode=spec.reframe_mode, path_in=spec.path_in,
                                   analysis=analysis, ffmpeg=ff, sink=sink)  # fmt: skip
    burn_src = spec.burn_subtitle()
    languages = _languages(spec, Reporter(sink, "subtitles"))
    other: dict[str, Path] = {}
    for s_path in spec.subs:
        if s_path == burn_src:
            continue
        lang = languages[str(s_path)].lang
        if lang in other:
            from ..errors import InputError

            raise InputError(f"two subtitle files read as {lang}: {other[lang]} and {s_path} (keep one, or tag the "
                             "file name with the language it is in)", path=s_path)  # fmt: skip
        other[lang] = Path(s_path)
    if spec.markers is not None:
        from ..markers import read_markers
        from ..split import plan_split

        markers = read_markers(spec.markers, rate=v.frame_rate)
        overrides = {k: x for k, x in (("free_episodes", spec.free_episodes), ("snap", spec.snap)) if x is not None}
        overrides.update({k: x for k, x in (("marker_colour", spec.marker_colour), ("marker_name", spec.marker_name))
                          if x})  # fmt: skip
        split = plan_split(master, markers, analysis=analysis, sink=sink, markers_path=spec.markers, **overrides)
    else:
        from ..presets import load_preset

        split = whole_master(master, info, load_preset("split", "default"))
    subtitles = None
    if burn_src is not None:
        lang = languages[str(burn_src)].lang
        pic = Picture(picture.output, "yuv420p", OUTPUT_COLOR, split.table.time_base, v.frame_rate, split.end_seconds)
        options = BurnOptions(burn_src, spec.subtitle_preset, lang)
        subtitles = plan_subtitles(pic, options, path=master, reporter=Reporter(sink, "subtitles"))
    if other:
        from ..subtitles import load_subtitles
        from ..subtitles.layer import check_fits

        for path in other.values():  # the other languages are re-timed per episode: they must fit too
            check_fits(load_subtitles(path), split.end_seconds, Reporter(sink, "subtitles"))
    settings = EncodeSettings(spec.ladder, tuple(spec.packages), tuple(spec.masters), spec.vmaf)
    settings = settings.frozen()  # an unknown ladder or platform before any work; the presets travel as data
    cache = _LoudnessCache(work / "loudness.json" if work is not None else None, master)
    renders = _episode_renders(split, picture, subtitles, settings, Path(spec.out), spec.mezzanine, ff,
                               Reporter(sink, "plan"), cache)  # fmt: skip
    renders = _deliveries(spec, split, renders, other, burned=subtitles is not None)
    return SeriesPlan(master, info, split, picture, camera, subtitles, other, renders, settings,
                      list(split.warnings), {k: v.to_json() for k, v in languages.items()})  # fmt: skip
