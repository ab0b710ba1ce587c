"""The presets ``vertcut check`` judges against: loudness profiles (``presets/loudness``) and check
presets (``presets/check``: the subtitle preset to lint with, the advisory pace limits, the loudness
profile by default, the dialogue-to-background level the audience needs)."""

from __future__ import annotations

from dataclasses import dataclass

from ..presets import register_kind

__all__ = ["CheckPreset", "LoudnessProfile"]


@dataclass(frozen=True)
class LoudnessProfile:
    integrated: float = -14.0  # LUFS
    tolerance: float = 1.0  # LU either side
    true_peak: float = -1.0  # dBTP ceiling
    max_lra: float = 15.0  # LU; above: a warning
    short_term_over: float = 0.0  # LU above the integrated a short-term value may reach (0: not checked)
    series_spread: float = 1.0  # LU an episode may sit from the series' median

    def __post_init__(self) -> None:
        if self.tolerance <= 0 or self.series_spread <= 0 or self.max_lra <= 0:
            raise ValueError("tolerance, series_spread and max_lra must be positive")
        if self.integrated >= 0 or self.true_peak > 0:
            raise ValueError("integrated (LUFS) must be negative and true_peak (dBTP) at most 0")


@dataclass(frozen=True)
class CheckPreset:
    subtitle_preset: str = "elder-large"
    loudness: str = "streaming"
    max_cuts_per_minute: float = 30.0  # advisory
    max_short_shot_share: float = 0.25  # of shots shorter than short_shot_s
    short_shot_s: float = 1.0
    # LU the dialogue must sit above the background where it is active (0: not checked); check.stems
    dialogue_to_background_min_lu: float = 8.0

    def __post_init__(self) -> None:
        if self.max_cuts_per_minute <= 0 or not 0 < self.max_short_shot_share <= 1 or self.short_shot_s <= 0:
            raise ValueError("pace limits must be positive (max_short_shot_share within (0, 1])")
        if not 0 <= self.dialogue_to_background_min_lu <= 40:
            raise ValueError("dialogue_to_background_min_lu must be within 0-40 LU (0: not checked)")


register_kind("loudness", LoudnessProfile)
register_kind("check", CheckPreset)
