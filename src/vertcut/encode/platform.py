"""Checking an upload master against its platform's limits."""

from __future__ import annotations

from pathlib import Path

from ..media.probe import _top_level_boxes, probe
from .presets import PlatformSpec

__all__ = ["check_master"]


def _has_edit_list(path: Path) -> bool:
    """True if the file's ``moov`` holds an ``elst`` (edit list) box."""
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        name = data[pos + 4 : pos + 8]
        if size < 8:
            return False
        if name == b"moov":
            return b"elst" in data[pos : pos + size]
        pos += size
    return False


def check_master(path: Path, spec: PlatformSpec) -> list[str]:
    """Every limit of ``spec`` the file breaches (empty when it complies)."""
    info = probe(path)
    v = info.require_video()
    breaches: list[str] = []
    dur = float(info.duration or 0)
    if not spec.min_duration_s <= dur <= spec.max_duration_s:
        breaches.append(f"duration {dur:.2f} s outside {spec.min_duration_s:g}-{spec.max_duration_s:g} s")
    size_mb = path.stat().st_size / 1_000_000
    if size_mb > spec.max_size_mb:
        breaches.append(f"size {size_mb:.1f} MB above {spec.max_size_mb:g} MB")
    if spec.max_bitrate_k and dur > 0:
        kbps = path.stat().st_size * 8 / dur / 1000
        if kbps > spec.max_bitrate_k:
            breaches.append(f"bit rate {kbps:.0f} kbit/s above {spec.max_bitrate_k} kbit/s")
    fps = float(v.frame_rate)
    if not spec.fps_min <= fps <= spec.fps_max or v.is_vfr:
        breaches.append(f"frame rate {fps:.3f}{' (VFR)' if v.is_vfr else ''} outside {spec.fps_min:g}-{spec.fps_max:g}")
    if (v.width, v.height) != (spec.width, spec.height):
        breaches.append(f"resolution {v.width}x{v.height}, expected {spec.width}x{spec.height}")
    if v.codec != spec.codec:
        breaches.append(f"codec {v.codec}, expected {spec.codec}")
    boxes = _top_level_boxes(path)
    if "moov" in boxes and "mdat" in boxes and boxes.index("moov") > boxes.index("mdat"):
        breaches.append("moov is after mdat (not faststart)")
    if _has_edit_list(path):
        breaches.append("has an edit list (elst)")
    if v.sar != 1:
        breaches.append(f"non-square pixels (SAR {v.sar})")
    if not info.audio:
        breaches.append("no audio track")
    return breaches
