"""Is this machine (or every node of a Ray cluster) ready to run vertcut?

:func:`check_here` looks at what a job needs on this machine: the ffmpeg build
(its encoders and filters), the fonts the subtitle presets name, the face
model, every preset (built-in and the user's), and a writable cache with room
to spare. :func:`check_cluster` runs a probe task on every node of a Ray
cluster: the node must run the same vertcut, ffmpeg and Python as this
machine, and see the shared folder at the same path. ``vertcut doctor`` prints
the checks and exits 6 when one fails.
"""

from __future__ import annotations

import platform
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import __version__
from .errors import VertcutError

__all__ = ["Check", "check_cluster", "check_here"]

Status = Literal["ok", "warn", "fail"]

FREE_SPACE_WARN = 5 * 2**30  # intermediates of a 1080x1920 series take gigabytes

# (name, "fail" when missing, or "warn" when only some jobs need it, what needs it)
_ENCODERS: tuple[tuple[str, Status, str], ...] = (
    ("libx264", "fail", "H.264 ladders and every intermediate"),
    ("aac", "fail", "audio"),
    ("libx265", "warn", "HEVC ladders"),
    ("libsvtav1", "warn", "AV1 ladders"),
)
_FILTERS: tuple[tuple[str, Status, str], ...] = (
    ("ass", "fail", "subtitle burn-in (libass)"),
    ("overlay", "fail", "subtitle burn-in (sprites)"),
    ("ebur128", "fail", "loudness measurement"),
    ("loudnorm", "fail", "loudness normalisation"),
    ("libvmaf", "warn", "--vmaf scores"),
)
_FONT_LANGS = ("zh", "ja", "en", "th", "ar")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    node: str = ""  # the host, for a cluster check

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "node": self.node}


def _try(name: str, fn: Callable[[], str], on_error: Status = "fail") -> Check:
    try:
        return Check(name, "ok", fn())
    except (VertcutError, OSError, ValueError) as exc:
        return Check(name, on_error, str(exc))


def check_here() -> list[Check]:
    """Everything a job needs on this machine, one :class:`Check` each."""
    from .ffmpeg import ffmpeg_exe, ffmpeg_version, has_encoder, has_filter

    checks = [Check("vertcut", "ok", f"{__version__} on Python {platform.python_version()} ({platform.system()})")]
    ff = _try("ffmpeg", lambda: f"{ffmpeg_version()} ({ffmpeg_exe()})")
    checks.append(ff)
    if ff.status == "ok":
        for kind, has, table in (("encoder", has_encoder, _ENCODERS), ("filter", has_filter, _FILTERS)):
            for name, level, why in table:
                ok = has(name)
                checks.append(Check(f"ffmpeg {kind} {name}", "ok" if ok else level, why if ok else f"missing: {why}"))
    checks += _fonts()
    checks.append(_try("face model", _face_model))
    checks += _presets()
    checks.append(_try("cache folder", _cache))
    return checks


def _fonts() -> list[Check]:
    from .presets import list_presets, load_preset
    from .subtitles.fonts import font_for

    families: dict[tuple[str, str | None], None] = {(lang, None): None for lang in _FONT_LANGS}
    for p in list_presets("subtitle"):
        try:
            style = load_preset("subtitle", p.name)
        except VertcutError:
            continue  # reported by the preset checks
        for lang in _FONT_LANGS:
            families[(lang, style.font_family(lang))] = None
    out = []
    for lang, family in families:

        def find(lang: str = lang, family: str | None = family) -> str:
            font = font_for(lang, family)
            return f"{font.family}: {font.path}"

        out.append(_try(f"font {lang}" + (f" ({family})" if family else ""), find))
    return out


def _face_model() -> str:
    import cv2

    from .analysis.blazeface import detector

    spec = detector().spec
    return f"{spec.name} ({spec.file}, MediaPipe, Apache-2.0) on OpenCV {cv2.__version__} DNN (checksum verified)"


def _presets() -> list[Check]:
    from .presets import list_presets, load_preset

    out = []
    infos = list_presets()
    bad = 0
    for p in infos:
        try:
            load_preset(p.kind, p.name)
        except VertcutError as exc:
            bad += 1
            out.append(Check(f"preset {p.kind}/{p.name}", "fail", str(exc)))
    users = sum(p.source == "user" for p in infos)
    out.append(
        Check("presets", "ok" if not bad else "fail", f"{len(infos) - bad} of {len(infos)} valid ({users} yours)")
    )
    return out


def _cache() -> str:
    from .fsutil import cache_root

    d = cache_root()
    d.mkdir(parents=True, exist_ok=True)
    probe = d / f".doctor-{uuid.uuid4().hex}"
    probe.write_text("ok")
    probe.unlink()
    free = shutil.disk_usage(d).free
    if free < FREE_SPACE_WARN:
        raise ValueError(f"{d}: only {free / 2**30:.1f} GiB free")
    return f"{d} (writable, {free / 2**30:.0f} GiB free)"


def _node_probe(item: tuple[str, str], sink: Any) -> dict[str, str]:
    """On a node: its host and whether it sees the sentinel the caller wrote in the shared folder."""
    path, token = item
    try:
        seen = Path(path).read_text().strip() == token
    except OSError:
        seen = False
    return {"host": socket.gethostname(), "shared": "yes" if seen else "no"}


def check_cluster(executor: Any, shared: Path) -> list[Check]:
    """A probe task on every node of ``executor``'s Ray cluster: same software, and ``shared`` seen at the
    same path (a sentinel file written here must be readable there)."""
    shared = Path(shared).resolve()
    token = uuid.uuid4().hex
    sentinel = shared / f".vertcut-doctor-{token}"
    try:
        sentinel.write_text(token)
    except OSError as exc:
        return [Check("shared folder", "fail", f"cannot write in {shared}: {exc}")]
    try:
        outcomes = executor.on_every_node(_node_probe, (str(sentinel), token))
    finally:
        sentinel.unlink(missing_ok=True)
    checks = [Check("cluster", "ok", f"{len(outcomes)} node(s) alive")]
    for o in outcomes:
        node = str(o.worker.get("host", "?"))
        if o.error is not None:
            checks.append(Check("node", "fail", str(o.error), node))
            continue
        assert o.value is not None
        checks.append(Check("node software", "ok", "same vertcut, ffmpeg and Python", node))
        seen = o.value["shared"] == "yes"
        checks.append(Check("node shared folder", "ok" if seen else "fail",
                            f"{shared} {'seen' if seen else 'not seen (mount it at the same path)'}", node))  # fmt: skip
    return checks
