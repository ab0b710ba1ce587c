"""Which dialogue and background stems go with which episode, each episode's dialogue-to-background
level (:mod:`.dialogue`), and its finding against the check preset.

How the stems are given (``vertcut check PATH --dialogue D [--background B]``; ``--background`` is
the music-and-effects stem, either may be given alone):

* a **file**, when PATH is one episode: that episode's stem, as long as the episode;
* a **file**, when PATH is a ``vertcut run`` output folder: the stem of the *master* the series was
  cut from, as post-production bounces it; each episode's stretch is cut from it at the episode's
  first audio sample and length as ``plan.json`` records them;
* a **folder**: one stem per episode, named by the episode (``ep001.wav``, ``ep001_dx.wav``,
  ``ep001.dialogue.flac``: the episode's name then nothing or one of ``. _ - `` and anything), for
  several episode files or a series.

Any sample rate and channel count is taken (resampled to 48 kHz, at most stereo). A stem whose length is
off the episode's (or the master's) by more than 0.5 s and 2 % is refused, naming the file: that is
another episode's stem, or one whose sample rate is mislabelled (the ratio is shown when it is
44.1/48 kHz's). Only one stem given: the other part is the mix minus it (:func:`.dialogue.subtract`:
aligned by cross-correlation within +-1 s, gain fitted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError
from . import dialogue
from .findings import Finding
from .profiles import CheckPreset

__all__ = ["AUDIO_SUFFIXES", "Episode", "EpisodeStems", "evaluate", "measure", "plan"]

AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".aif", ".aiff", ".w64", ".rf64", ".caf", ".m4a", ".mp3", ".ogg", ".opus")
_SEPARATORS = "._- "
# the figure the estimate was measured to read high by at most (bench/bench_dialogue.py, README)
ESTIMATE_READS_HIGH_LU = 1.5


@dataclass(frozen=True)
class EpisodeStems:
    dialogue: Path | None
    background: Path | None
    start: float = 0.0  # seconds into the stem files (a master's stems, cut by the plan)
    duration: float | None = None  # None: the whole file


def _duration(path: Path) -> float:
    """The stem's first audio stream's length in seconds."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                raise InputError("the stem has no audio stream", path=path)
            s = c.streams.audio[0]
            if s.duration is not None and s.time_base is not None:
                return float(s.duration * s.time_base)
            if c.duration is not None:
                return float(c.duration / 1_000_000)
            return sum(f.samples for f in c.decode(s)) / float(s.sample_rate or 1)
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot read the stem: {exc}", path=path) from None


def _media_duration(path: Path) -> float | None:
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                return None
            s = c.streams.audio[0]
            if s.duration is not None and s.time_base is not None:
                return float(s.duration * s.time_base)
            return None if c.duration is None else float(c.duration / 1_000_000)
    except (av.error.FFmpegError, OSError):
        return None  # the picture pass reports the unreadable episode


def _check_length(stem: Path, got: float, want: float, what: str) -> None:
    if abs(got - want) <= max(0.5, 0.02 * want):
        return
    ratio = got / want if want else 0.0
    hint = ""
    for a, b in ((48000, 44100), (44100, 48000), (96000, 48000), (48000, 96000)):
        if abs(ratio - a / b) < 0.003:
            hint = f" (a ratio of {a}/{b}: is its sample rate mislabelled?)"
    raise InputError(f"the stem lasts {got:.2f} s and {what} {want:.2f} s: not its stem{hint}", path=stem)


def _in_folder(folder: Path, name: str) -> Path:
    hits = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        and (p.stem == name or (p.name.startswith(name) and p.name[len(name)] in _SEPARATORS))
    )  # fmt: skip
    if not hits:
        raise InputError(f"no stem for episode {name} in this folder ({name}.wav, {name}_dx.wav, ...)", path=folder)
    if len(hits) > 1:
        raise InputError(f"more than one stem for episode {name}: {', '.join(p.name for p in hits)}", path=folder)
    return hits[0]


def _plan_windows(run: Path, stem: Path) -> dict[str, tuple[float, float]]:
    """Each episode's (start s, length s) in the master, from the run's ``plan.json``."""
    plan_file = run / "plan.json"
    if not plan_file.is_file():
        raise InputError("one stem for a series needs the run's plan.json (the episodes' ranges in the master); "
                         "or pass a folder of stems named by episode", path=stem)  # fmt: skip
    data = json.loads(plan_file.read_text())
    out = {}
    for e in data.get("episodes", []):
        a = e.get("audio")
        if a and a.get("sample_rate"):
            out[e["id"]] = (a["first_sample"] / a["sample_rate"], a["samples"] / a["sample_rate"])
        else:
            out[e["id"]] = (float(Fraction(e["start"])), float(Fraction(e["duration"])))
    master = data.get("master", {}).get("duration")
    if master is not None:
        _check_length(stem, _duration(stem), float(Fraction(master)), "the master")
    return out


class Episode(Protocol):
    """What :func:`plan` needs of an episode (``series._Source``): its name and the file checked."""

    name: str
    video: Path


Episodes = list[tuple[list[Any], Path | None]]  # series._episodes's answers: (episodes, run folder)


def plan(dialogue_stem: Path | None, background_stem: Path | None, found: Episodes) -> dict[Path, EpisodeStems]:
    """The stems of every episode of ``found`` (``series._episodes``'s answers: each
    :class:`Episode` and the run folder), keyed by the file the episode is checked on; empty when no
    stem was given. Every stem is found and its length checked here, before any episode is decoded.

    Raises:
        InputError: a stem missing, unreadable, of the wrong length, or one file for several episodes.
    """
    given = [p for p in (dialogue_stem, background_stem) if p is not None]
    if not given:
        return {}
    for p in given:
        if not p.exists():
            raise InputError("no such stem file or folder", path=p)
    count = sum(len(eps) for eps, _ in found)
    out: dict[Path, EpisodeStems] = {}
    per: dict[Path, dict[Path, tuple[Path, float, float | None]]] = {}  # stem arg -> video -> (file, start, dur)
    for arg in given:
        per[arg] = {}
        if arg.is_dir():
            for eps, _ in found:
                for ep in eps:
                    per[arg][ep.video] = (_in_folder(arg, ep.name), 0.0, None)
        elif len(found) == 1 and found[0][1] is not None:
            windows = _plan_windows(found[0][1], arg)
            for ep in found[0][0]:
                if ep.name not in windows:
                    raise InputError(f"plan.json has no range for episode {ep.name}", path=arg)
                per[arg][ep.video] = (arg, *windows[ep.name])
        elif count == 1:
            (only,) = found[0][0]
            per[arg][only.video] = (arg, 0.0, None)
        else:
            raise InputError(f"one stem file for {count} episodes: pass a folder of stems named by episode "
                             "(ep001.wav, ...), or a vertcut run output folder with the master's stem", path=arg)  # fmt: skip
    for eps, _ in found:
        for ep in eps:
            video = ep.video
            files = {arg: per[arg][video] for arg in given}
            for f, _start, dur in files.values():
                if dur is None:
                    want = _media_duration(video)
                    if want is not None:
                        _check_length(f, _duration(f), want, "the episode")
            d = files.get(dialogue_stem) if dialogue_stem is not None else None
            b = files.get(background_stem) if background_stem is not None else None
            start, dur = (d or b or (None, 0.0, None))[1:]
            out[video] = EpisodeStems(d[0] if d else None, b[0] if b else None, start, dur)
    return out


def measure(video: Path, stems: EpisodeStems | None) -> dialogue.DialogueLevel | None:
    """The episode's level: from its stems, or estimated from its mix; None when it has no sound.

    Raises:
        InputError: a stem that cannot be decoded, or a lone stem that does not match the mix.
    """
    import av

    with av.open(str(video)) as c:
        if not c.streams.audio:
            return None
    if stems is not None and stems.dialogue is not None and stems.background is not None:
        d = dialogue.decode(stems.dialogue, start=stems.start, duration=stems.duration)
        b = dialogue.decode(stems.background, start=stems.start, duration=stems.duration)
        return dialogue.measure_stems(d, b, "stems")
    mix = dialogue.decode(video)
    if stems is None:
        return dialogue.estimate(mix)
    if stems.dialogue is not None:
        d = dialogue.decode(stems.dialogue, start=stems.start, duration=stems.duration)
        placed, rest, info = dialogue.subtract(mix, d, path=stems.dialogue)
        return dialogue.measure_stems(placed, rest, "stem-minus-mix", info)
    assert stems.background is not None
    b = dialogue.decode(stems.background, start=stems.start, duration=stems.duration)
    placed, rest, info = dialogue.subtract(mix, b, path=stems.background, what="music-and-effects")
    return dialogue.measure_stems(rest, placed, "mix-minus-stem", info)


def _t(x: float) -> Fraction:
    return Fraction(round(x * 1000), 1000)


def evaluate(level: dialogue.DialogueLevel | None, preset: CheckPreset, name: str, episode: str) -> list[Finding]:
    """A warning when the dialogue sits less than the preset's ``dialogue_to_background_min_lu`` above
    the background (0: not checked); its time range is the episode's lowest 5 s."""
    limit = preset.dialogue_to_background_min_lu
    if level is None or not limit:
        return []
    if level.level_lu is None:
        if level.method == "estimate":
            return []  # no estimate (the note in the report says why): nothing to warn about
        return [Finding("loudness", "dialogue_level", "warning", f"no dialogue level: {level.note}", episode)]
    if level.level_lu >= limit:
        return []
    how = {"stems": "from the stems", "stem-minus-mix": "from the dialogue stem and the mix",
           "mix-minus-stem": "from the music-and-effects stem and the mix"}.get(
        level.method, f"estimated from the mix without stems, which reads up to {ESTIMATE_READS_HIGH_LU:g} LU high")  # fmt: skip
    text = (f"dialogue {level.level_lu:+.1f} LU against the background ({how}); the {name} preset wants it at "
            f"least {limit:g} LU above, or the background buries it for older viewers")  # fmt: skip
    start = end = None
    if level.worst is not None:
        a, b, w = level.worst
        text += f"; lowest {w:+.1f} LU over {a:.1f}-{b:.1f} s"
        start, end = _t(a), _t(b)
    detail: dict[str, Any] = {"level_lu": round(level.level_lu, 2), "limit": limit, "method": level.method}
    return [Finding("loudness", "dialogue_level", "warning", text, episode, start, end, detail)]
