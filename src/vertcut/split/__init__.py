"""Splitting a master into episodes at cliffhanger markers, frame-exactly.

* :func:`plan_split` tells the cliffhanger markers from the notes (by the settings'
  colour / name rule), maps each cliffhanger to a frame through the master's real
  frame table (VFR and non-zero start times handled), snaps it to the nearest
  hard cut within a tolerance (else a fade or black gap, else keeps it with a
  warning), checks the episode durations and assigns free/paid tiers; the notes
  keep their frame.
* :func:`render_split` re-encodes each episode from its exact first frame
  (input seek to the frame's exact time + exact duration + exact frame count),
  re-times the subtitles per episode, verifies every output and writes
  ``manifest.json`` (see docs/manifest.md) and a contact sheet.
"""

from __future__ import annotations

from .plan import EpisodePlan, Note, Snap, SplitPlan, cut_cue_warnings, plan_split, snap_frame
from .render import MANIFEST_SCHEMA, Manifest, episode_render, render_split, verify_episode
from .settings import SplitSettings

__all__ = [
    "MANIFEST_SCHEMA",
    "EpisodePlan",
    "Manifest",
    "Note",
    "Snap",
    "SplitPlan",
    "SplitSettings",
    "cut_cue_warnings",
    "episode_render",
    "plan_split",
    "render_split",
    "snap_frame",
    "verify_episode",
]
