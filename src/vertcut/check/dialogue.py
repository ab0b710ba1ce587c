"""The dialogue-to-background level: how far the dialogue sits above the music and effects under it.

Every signal is decoded at 48 kHz (PyAV, up to two channels: a 5.1 file is downmixed), K-weighted as
ITU-R BS.1770 weights it, and summed over its channels as powers, so one LU here is one LU of the
loudness meter ``audio.measure`` runs.

**With stems** (:func:`measure_stems`): the dialogue's blocks (400 ms, every 100 ms, BS.1770's
momentary blocks) that pass BS.1770's gates (absolute -70 LUFS, relative -10 LU: the same gating as
the integrated loudness, hence "dialogue-gated") are where dialogue is active; the level is the
dialogue's loudness over those blocks minus the background's loudness over the same blocks. Only the
dialogue stem given: the background is the episode's mix minus the dialogue (:func:`subtract`), the
stem aligned to the mix by cross-correlation (a lag within +-1 s, to a fraction of a sample) and scaled
by a least-squares gain per mix channel, which absorbs a gain change or a loudness normalisation
applied after the stems were bounced; a compressor or limiter on the mix after the stems does not
cancel, and a lossy (AAC) delivery leaves its coding noise in the difference and thins a noisy
background (measured in ``bench/bench_dialogue.py`` through AAC 128 kb/s: -0.45 to +0.30 LU off
the known level, the most at +20 LU, where the coding noise is a sizeable part of what is left).

**Without stems** (:func:`estimate`): an energy test on 100 ms blocks of the mix. A drama's lines
have pauses between them, where only the background plays: the background's floor is the 15th
percentile of the block levels within 5 s, blocks within 1.5 dB of it are pauses, and the background
under any block is the mean power of the pauses within 5 s of it. A block 1 dB or more above that
carries dialogue, whose power is the block's minus the background's; BS.1770's gates on those powers
give the dialogue's stretches, and the level is figured over them as with stems. Measured on known
mixes (``bench/bench_dialogue.py``: formant, recorded and espeak-ng speech over pink noise and a music
bed at +20, +10, +4 and 0 LU, through AAC) it reads 0.3 to 1.5 LU high (the pauses picked are the
background's quieter blocks), the error largest at 0 LU. Where it is wrong: a background that swells
under the dialogue, or music ducked under it (the pauses then show the background louder than it is
under the lines: the estimate reads low, towards a warning); a dialogue with no pause within 5 s
(the floor is then quiet speech: the estimate reads low); music with dynamics and no dialogue reads as
dialogue when more than 15 % of it rises out of its own floor. WebRTC's voice-activity detector (the
``webrtcvad-wheels`` package) was tried first and dropped: it called a steady sine, pink noise and the
music bed speech in every frame, and every frame of the mixes at +10 LU and below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "RATE",
    "DialogueLevel",
    "block_powers",
    "decode",
    "estimate",
    "k_weight",
    "level_from_powers",
    "measure_stems",
    "subtract",
]

RATE = 48000
HOP = RATE // 10  # 100 ms
BLOCK = 4 * HOP  # 400 ms
MAX_LAG_S = 1.0
# a lone stem whose K-weighted correlation with the mix is below this is not in it (another episode's
# dialogue reached 0.10 at its best lag; this episode's stem under a background 10 LU louder, 0.3)
_MIN_CORRELATION = 0.15
_WINDOW_S = 5.0  # the worst stretch reported, and the reach of the local background estimate
_FLOOR_PERCENTILE = 15  # the estimate: the background's floor, the 15th percentile of the blocks within 5 s
_PAUSE_DB = 1.5  # blocks within 1.5 dB of the floor are pauses: the background alone
_SPEECH_DB = 1.0  # blocks 1 dB or more above the background under them carry dialogue
_MIN_SPEECH_SHARE = 0.15  # less of the episode than that stands out as dialogue: no estimate

# BS.1770-4 K-weighting at 48 kHz: the high-shelf pre-filter, then the RLB high-pass
_SOS = np.array(
    [
        [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]
)


def _lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


@dataclass(frozen=True)
class DialogueLevel:
    """The dialogue-to-background level of one episode, or why there is none."""

    method: str  # "stems" (both stems), "stem-minus-mix" (the dialogue stem and the mix), "estimate"
    level_lu: float | None  # dialogue loudness minus background loudness over the dialogue's stretches
    dialogue_lufs: float | None = None
    background_lufs: float | None = None  # over the same stretches
    speech_s: float = 0.0  # how much of the episode the level was measured over
    background_s: float = 0.0  # the estimate: background-only stretches it learnt the background from
    worst: tuple[float, float, float] | None = None  # (start s, end s, level LU) of the lowest 5 s
    note: str = ""  # why there is no level, or what the level rests on
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(x, 2)

        return {
            "method": self.method, "level_lu": r(self.level_lu), "dialogue_lufs": r(self.dialogue_lufs),
            "background_lufs": r(self.background_lufs), "speech_s": round(self.speech_s, 2),
            "background_s": round(self.background_s, 2),
            "worst": None if self.worst is None else {"start_s": round(self.worst[0], 2),
                                                      "end_s": round(self.worst[1], 2), "level_lu": r(self.worst[2])},
            "note": self.note or None, **self.detail,
        }  # fmt: skip


def decode(path: Path, *, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """The file's first audio stream as float32 samples ``(n, channels)`` at 48 kHz, mono or stereo.

    Raises:
        InputError: not a file with sound PyAV can read.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot read the audio: {exc}", path=path) from None
    with container as c:
        if not c.streams.audio:
            raise InputError("has no audio stream", path=path)
        s = c.streams.audio[0]
        layout = "mono" if (s.codec_context.channels or 1) == 1 else "stereo"
        res = av.AudioResampler(format="flt", layout=layout, rate=RATE)
        chunks: list[np.ndarray] = []
        channels = 1 if layout == "mono" else 2
        if start > 0:
            c.seek(int(max(0.0, start - 1.0) * 1_000_000), any_frame=False)  # a second early: trimmed below
        first: float | None = None
        try:
            for frame in c.decode(s):
                if first is None:
                    first = float(frame.time) if frame.time is not None else 0.0
                for out in res.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), np.float32).reshape(-1, channels))
                if duration is not None and sum(len(x) for x in chunks) / RATE > start - first + duration + 0.1:
                    break
            for out in res.resample(None):
                chunks.append(np.asarray(out.to_ndarray(), np.float32).reshape(-1, channels))
        except (av.error.FFmpegError, ValueError) as exc:
            raise InputError(f"cannot decode the audio: {exc}", path=path) from None
    x = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
    if start > 0 or duration is not None:
        a = max(0, round((start - (first or 0.0)) * RATE))
        b = len(x) if duration is None else a + round(duration * RATE)
        x = x[a:b]
    return x


def k_weight(x: np.ndarray) -> np.ndarray:
    """BS.1770 K-weighting of 48 kHz samples ``(n, channels)``."""
    from scipy.signal import sosfilt

    return np.asarray(sosfilt(_SOS, x.astype(np.float64), axis=0))


def block_powers(k: np.ndarray, block: int = BLOCK, hop: int = HOP) -> np.ndarray:
    """Mean square of K-weighted samples over blocks of ``block`` samples every ``hop``, summed over
    the channels (BS.1770's channel weights for mono and stereo are 1)."""
    sq = (k * k).sum(axis=1) if k.ndim == 2 else k * k
    if len(sq) < block:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(sq)])
    starts = np.arange(0, len(sq) - block + 1, hop)
    return np.asarray((c[starts + block] - c[starts]) / block)


def _gated(pd: np.ndarray) -> np.ndarray:
    """BS.1770's gates on block powers: above -70 LUFS, then above the gated loudness - 10 LU."""
    abs_gate = 10 ** ((-70 + 0.691) / 10)
    keep = pd > abs_gate
    if not keep.any():
        return keep
    rel_gate = pd[keep].mean() * 10 ** (-10 / 10)
    return np.asarray(keep & (pd > rel_gate))


def _worst(pd: np.ndarray, pb: np.ndarray, active: np.ndarray, hop_s: float, span_s: float) -> tuple[float, float, float] | None:  # fmt: skip
    """The lowest level over ``_WINDOW_S`` of the episode (with at least 1 s of dialogue in it)."""
    w = max(1, round(_WINDOW_S / hop_s))
    if len(pd) < w:
        return None
    cd = np.concatenate([[0.0], np.cumsum(np.where(active, pd, 0.0))])
    cb = np.concatenate([[0.0], np.cumsum(np.where(active, pb, 0.0))])
    cn = np.concatenate([[0], np.cumsum(active)])
    d, b, n = cd[w:] - cd[:-w], cb[w:] - cb[:-w], cn[w:] - cn[:-w]
    ok = n * hop_s >= 1.0
    if not ok.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = np.where(ok & (b > 0), 10 * np.log10(np.maximum(d, 1e-30) / np.maximum(b, 1e-30)), np.inf)
    j = int(np.argmin(lv))
    if not math.isfinite(float(lv[j])):
        return None
    return (j * hop_s, j * hop_s + span_s + (w - 1) * hop_s, float(lv[j]))


def level_from_powers(
    pd: np.ndarray, pb: np.ndarray, method: str, detail: dict[str, Any] | None = None
) -> DialogueLevel:
    """The level from the dialogue's and the background's block powers (400 ms blocks every 100 ms)."""
    n = min(len(pd), len(pb))
    pd, pb = pd[:n], pb[:n]
    active = _gated(pd)
    if not active.any():
        return DialogueLevel(method, None, note="the dialogue is silent (no block above -70 LUFS)", detail=detail or {})
    d, b = float(pd[active].mean()), float(pb[active].mean())
    level = _lufs(d) - _lufs(b) if b > 0 else math.inf
    with np.errstate(divide="ignore"):
        per_block = 10 * np.log10(pd[active] / np.maximum(pb[active], 1e-30))
    detail = {"median_block_lu": round(float(np.median(per_block)), 2), **(detail or {})}
    return DialogueLevel(method, level, _lufs(d), _lufs(b), speech_s=float(active.sum()) * HOP / RATE,
                         worst=_worst(pd, pb, active, HOP / RATE, BLOCK / RATE), detail=detail)  # fmt: skip


def measure_stems(
    dialogue: np.ndarray, background: np.ndarray, method: str = "stems", detail: dict[str, Any] | None = None
) -> DialogueLevel:
    """The level from two 48 kHz stems (see the module's docstring)."""
    n = min(len(dialogue), len(background))
    pd, pb = block_powers(k_weight(dialogue[:n])), block_powers(k_weight(background[:n]))
    return level_from_powers(pd, pb, method, detail)


def _lag(mix: np.ndarray, dia: np.ndarray) -> float:
    """The dialogue stem's delay in the mix in samples (a fraction from the correlation peak's
    parabola), searched within +-``MAX_LAG_S`` over the stem's busiest minute."""
    from scipy.signal import correlate

    m, d = mix.mean(axis=1), dia.mean(axis=1)
    n = min(len(m), len(d))
    span = min(n, 60 * RATE)
    if n > span:  # the minute of the stem with the most energy
        c = np.concatenate([[0.0], np.cumsum(d[:n].astype(np.float64) ** 2)])
        step = 5 * RATE
        starts = np.arange(0, n - span + 1, step)
        a = int(starts[np.argmax(c[starts + span] - c[starts])])
    else:
        a = 0
    max_lag = int(MAX_LAG_S * RATE)
    seg = d[a : a + span].astype(np.float64)
    ref = np.zeros(span + 2 * max_lag)  # the mix from a - max_lag on, zero outside it
    lo, hi = max(0, a - max_lag), min(len(m), a + span + max_lag)
    ref[lo - (a - max_lag) : hi - (a - max_lag)] = m[lo:hi]
    xc = correlate(ref, seg, mode="valid", method="fft")  # xc[k]: seg against ref[k:k+span], lag k - max_lag
    lags = np.arange(len(xc)) - max_lag
    k = int(np.argmax(xc))
    frac = 0.0
    if 0 < k < len(xc) - 1:
        y0, y1, y2 = xc[k - 1], xc[k], xc[k + 1]
        den = y0 - 2 * y1 + y2
        frac = float(0.5 * (y0 - y2) / den) if den != 0 else 0.0
    return float(lags[k]) + max(-0.5, min(0.5, frac))


def _shift(x: np.ndarray, lag: float, n: int) -> np.ndarray:
    """``x`` delayed by ``lag`` samples (windowed-sinc for the fraction), cut or padded to ``n``."""
    from scipy.signal import oaconvolve

    whole = math.floor(lag)
    frac = lag - whole
    if frac > 1e-3:
        taps = np.arange(-32, 33) - frac
        kern = np.sinc(taps) * np.hanning(len(taps) + 2)[1:-1]
        x = oaconvolve(x, kern[:, None] / kern.sum(), mode="full", axes=0)[32:-32]
    out = np.zeros((n, x.shape[1]), np.float64)
    src_a, dst_a = max(0, -whole), max(0, whole)
    m = min(len(x) - src_a, n - dst_a)
    if m > 0:
        out[dst_a : dst_a + m] = x[src_a : src_a + m]
    return out


def subtract(
    mix: np.ndarray, dialogue: np.ndarray, *, path: Path | None = None, what: str = "dialogue"
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The stem as it sits in the mix, and the mix minus that, both ``mix``'s shape (``what``: the
    stem's kind, for the error).

    Raises:
        InputError: the stem does not correlate with the mix (another episode's stem, or not dialogue
            of this mix); ``path`` names it.
    """
    lag = _lag(mix, dialogue)
    d = _shift(dialogue.astype(np.float64), lag, len(mix))
    m = mix.astype(np.float64)
    if d.shape[1] != m.shape[1]:
        d = np.repeat(d.mean(axis=1, keepdims=True), m.shape[1], axis=1)
    km, kd = k_weight(m), k_weight(d)  # the fit as loudness weighs: a low rumble's chance likeness counts less
    dd = (kd * kd).sum(axis=0)
    gains = np.where(dd > 0, (km * kd).sum(axis=0) / np.maximum(dd, 1e-30), 0.0)
    placed = d * gains
    sm, sd = km.sum(axis=1), kd.sum(axis=1)
    corr = float((sm * sd).sum() / math.sqrt(max((sm * sm).sum() * (sd * sd).sum(), 1e-30)))
    if not gains.max() > 0 or corr < _MIN_CORRELATION:
        raise InputError(
            f"the {what} stem does not match the episode's sound (correlation {corr:.2f} at the best lag "
            f"within +-{MAX_LAG_S:g} s): another episode's stem?", path=path,
        )  # fmt: skip
    info = {"lag_ms": round(lag / RATE * 1000, 3), "gain_db": [round(20 * math.log10(g), 2) if g > 0 else None for g in gains],
            "correlation": round(corr, 3)}  # fmt: skip
    return placed, m - placed, info


def estimate(mix: np.ndarray) -> DialogueLevel:
    """The level estimated from the mix alone (see the module's docstring)."""
    from scipy.ndimage import percentile_filter, uniform_filter1d

    p = block_powers(k_weight(mix), HOP, HOP)  # 100 ms blocks
    if len(p) < 50:
        return DialogueLevel("estimate", None, note="under 5 s of sound: too short to estimate")
    db = 10 * np.log10(np.maximum(p, 1e-12))
    size = 2 * round(_WINDOW_S * 10) + 1
    floor = percentile_filter(db, _FLOOR_PERCENTILE, size=size, mode="nearest")
    pause = db <= floor + _PAUSE_DB
    near = uniform_filter1d(pause.astype(np.float64), size, mode="nearest")
    under = uniform_filter1d(np.where(pause, p, 0.0), size, mode="nearest") / np.maximum(near, 1e-9)
    dia = np.where(p >= under * 10 ** (_SPEECH_DB / 10), p - under, 0.0)
    active = _gated(dia)
    speech_s, pause_s = float(active.sum()) / 10, float(pause.sum()) / 10
    if speech_s < 2.0 or active.mean() < _MIN_SPEECH_SHARE:
        return DialogueLevel("estimate", None, speech_s=speech_s, background_s=pause_s,
                             note=f"too little that stands out of the background as dialogue ({speech_s:.1f} s)")  # fmt: skip
    d, b = float(dia[active].mean()), float(under[active].mean())
    level = _lufs(d) - _lufs(b) if b > 0 else math.inf
    return DialogueLevel("estimate", level, _lufs(d), _lufs(b), speech_s=speech_s, background_s=pause_s,
                         worst=_worst(dia, under, active, 0.1, 0.1))  # fmt: skip
