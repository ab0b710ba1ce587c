"""Generated sound for the dialogue-level tests and benchmark: speech-like dialogue, backgrounds, and
mixes at a known dialogue-to-background level.

The dialogue is formant speech: lines of 1-3 s of syllables (a glottal pulse train with jitter and a
falling pitch through three formant resonators that move per syllable, with an occasional fricative),
separated by pauses of 0.4-1.5 s, as a drama's lines are. ``real_speech`` strings recorded utterances
(any 16/22/48 kHz WAV files) together with the same kind of pauses instead.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

RATE = 48000


def _resonator(x: np.ndarray, f: float, bw: float) -> np.ndarray:
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bw / RATE)
    a = [1.0, -2 * r * np.cos(2 * np.pi * f / RATE), r * r]
    return np.asarray(lfilter([1 - r], a, x))


def _syllable(rng: np.random.Generator, f0: float, dur: float) -> np.ndarray:
    n = int(dur * RATE)
    t = np.arange(n) / RATE
    pitch = f0 * (1.1 - 0.2 * t / dur) * (1 + 0.01 * rng.standard_normal())
    phase = np.cumsum(pitch / RATE)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per period
    src = np.convolve(pulses, np.exp(-np.arange(40) / 8.0))[:n]  # a rounded glottal pulse
    f1, f2 = rng.uniform(300, 800), rng.uniform(900, 2300)
    voiced = _resonator(src, f1, 80) + 0.5 * _resonator(src, f2, 120) + 0.25 * _resonator(src, 2700, 200)
    env = np.sin(np.pi * np.minimum(1, t / dur)) ** 0.6
    out = voiced * env
    if rng.random() < 0.3:  # a fricative at the syllable's start
        k = int(0.06 * RATE)
        noise = _resonator(rng.standard_normal(k), 4500, 2000) * np.hanning(k)
        out[:k] += 0.3 * noise * np.abs(voiced).max() / max(np.abs(noise).max(), 1e-9)
    return out


def formant_speech(seconds: float, seed: int = 1) -> np.ndarray:
    """Mono dialogue, ``seconds`` long: lines of syllables and pauses (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * RATE))
    pos = int(rng.uniform(0.3, 0.8) * RATE)
    while pos < len(out) - RATE:
        f0 = rng.choice([110.0, 210.0])  # two speakers
        line_end = pos + int(rng.uniform(1.0, 3.0) * RATE)
        while pos < min(line_end, len(out) - RATE // 2):
            syl = _syllable(rng, f0, rng.uniform(0.14, 0.26)) * rng.uniform(0.6, 1.0)
            out[pos : pos + len(syl)] += syl
            pos += len(syl) + int(rng.uniform(0.0, 0.05) * RATE)
        pos += int(rng.uniform(0.4, 1.5) * RATE)
    return out / np.abs(out).max() * 0.5


def read_wav(path: Path) -> np.ndarray:
    """A 16-bit PCM WAV file as mono float samples at 48 kHz."""
    from scipy.signal import resample_poly

    with wave.open(str(path)) as w:
        rate, ch = w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
    x = x.reshape(-1, ch).mean(axis=1)
    g = np.gcd(RATE, rate)
    return np.asarray(resample_poly(x, RATE // g, rate // g))


def real_speech(files: Sequence[Path], seconds: float, seed: int = 1) -> np.ndarray:
    """Recorded utterances strung together with pauses of 0.4-1.5 s, ``seconds`` long."""
    rng = np.random.default_rng(seed)
    clips = [read_wav(f) for f in files]
    out = np.zeros(int(seconds * RATE))
    pos, k = int(0.5 * RATE), 0
    while pos < len(out) - RATE:
        c = clips[k % len(clips)] * rng.uniform(0.6, 1.0)
        m = min(len(c), len(out) - pos)
        out[pos : pos + m] += c[:m]
        pos += m + int(rng.uniform(0.4, 1.5) * RATE)
        k += 1
    return out / np.abs(out).max() * 0.5


def pink_noise(seconds: float, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x / np.abs(x).max() * 0.5


def music(seconds: float, seed: int = 3) -> np.ndarray:
    """A music-like bed: sustained chords of harmonic tones changing every 2 s, a bass and a soft beat."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    out = np.zeros(n)
    for a in range(0, n, 2 * RATE):
        b = min(n, a + 2 * RATE)
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        seg = np.zeros(b - a)
        for ratio in (1, 1.26, 1.5, 2):  # a major chord and its octave
            for h in range(1, 6):
                seg += np.sin(2 * np.pi * root * ratio * h * t[a:b] + rng.uniform(0, 6)) / h**1.5
        seg += 1.5 * np.sin(2 * np.pi * root / 2 * t[a:b])
        fade = np.minimum(1, np.minimum(np.arange(b - a), np.arange(b - a)[::-1]) / (0.05 * RATE))
        out[a:b] += seg * fade
    beat = np.zeros(n)
    for a in range(0, n - RATE // 4, RATE // 2):  # 120 bpm
        k = np.arange(RATE // 4)
        beat[a : a + len(k)] += np.sin(2 * np.pi * 60 * k / RATE) * np.exp(-k / (0.05 * RATE)) * 3
    out += beat
    return out / np.abs(out).max() * 0.5


def at_level(dialogue: np.ndarray, background: np.ndarray, level_lu: float) -> np.ndarray:
    """``background`` scaled so that the dialogue sits ``level_lu`` above it (as vertcut measures the
    level from stems: the dialogue-gated blocks)."""
    from vertcut.check.dialogue import measure_stems

    now = measure_stems(dialogue[:, None], background[:, None]).level_lu
    assert now is not None
    return np.asarray(background * 10 ** ((now - level_lu) / 20))


def write_wav(path: Path, x: np.ndarray, rate: int = RATE) -> Path:
    """Float samples (mono, or ``(n, channels)``) as 16-bit PCM."""
    from scipy.signal import resample_poly

    x = x if x.ndim == 2 else x[:, None]
    if rate != RATE:
        g = np.gcd(RATE, rate)
        x = resample_poly(x, rate // g, RATE // g, axis=0)
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path
