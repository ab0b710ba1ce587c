"""The dialogue-to-background level on generated mixes at known levels: from stems, from the dialogue
stem and the mix, estimated from the mix alone; the finding against the check presets; stems per
episode (a folder, the master's cut by plan.json); bad stems refused in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from audiogen import RATE, at_level, formant_speech, music, pink_noise, write_wav
from conftest import run_cli

from vertcut.check import dialogue as dl
from vertcut.check import stems
from vertcut.errors import EXIT_INPUT, InputError
from vertcut.ffmpeg import FFmpeg

# the estimate read 0.3 to 1.5 LU high on 24 known 40 s mixes (bench/bench_dialogue.py: three kinds of
# speech, two backgrounds, +20 to 0 LU); the tests' 20 s formant mixes are held to that range with
# 0.5 LU to spare above and 0.9 below, for their shorter length
ESTIMATE_LOW, ESTIMATE_HIGH = -0.6, 2.0


def _episode(path: Path, mix: np.ndarray) -> Path:
    """A 180x320 episode with ``mix`` as its sound (AAC 128 kb/s, as delivered)."""
    wav = write_wav(path.with_suffix(".mix.wav"), mix)
    seconds = len(mix) / RATE
    FFmpeg().run(["-f", "lavfi", "-i", f"color=c=gray:s=180x320:r=25:d={seconds:.3f}", "-i", str(wav),
                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                  "-shortest", str(path)])  # fmt: skip
    wav.unlink()
    return path


def _aac(mix: np.ndarray, path: Path) -> np.ndarray:
    wav = write_wav(path.with_suffix(".wav"), mix)
    FFmpeg().run(["-i", str(wav), "-c:a", "aac", "-b:a", "128k", str(path)])
    return dl.decode(path)


@pytest.mark.parametrize("bed", ["pink", "music"])
def test_known_mixes_stems_within_half_a_db_and_the_estimate_within_its_measured_error(tmp_path: Path, bed: str) -> None:  # fmt: skip
    d = formant_speech(20.0) * 0.5
    b0 = pink_noise(20.0) if bed == "pink" else music(20.0)
    for level in (20.0, 10.0, 4.0, 0.0):
        b = at_level(d, b0, level)
        dx = dl.decode(write_wav(tmp_path / "dx.wav", d))
        me = dl.decode(write_wav(tmp_path / "me.wav", b))
        from_stems = dl.measure_stems(dx, me)
        assert from_stems.level_lu is not None and abs(from_stems.level_lu - level) < 0.5
        mix = _aac(d + b, tmp_path / f"mix{level:g}.m4a")
        placed, rest, info = dl.subtract(mix, dx)
        from_mix = dl.measure_stems(placed, rest, "stem-minus-mix", info)
        assert from_mix.level_lu is not None and abs(from_mix.level_lu - level) < 0.5, (level, info)
        est = dl.estimate(mix)
        assert est.level_lu is not None, est.note
        assert ESTIMATE_LOW <= est.level_lu - level <= ESTIMATE_HIGH, (level, est)
    # the dialogue's gated loudness is BS.1770's integrated loudness of the stem (ffmpeg's meter)
    res = FFmpeg(loglevel="info").run(["-i", str(tmp_path / "dx.wav"), "-af", "ebur128", "-f", "null", "-"])
    integrated = float(re.findall(r"I:\s*(-?[\d.]+) LUFS", res.stderr_tail)[-1])
    assert from_stems.dialogue_lufs is not None and abs(from_stems.dialogue_lufs - integrated) < 0.2


def test_a_lone_stem_shifted_and_scaled_in_the_mix_is_found() -> None:
    """A dialogue stem 37.4 samples early and 6 dB hotter than in the mix still measures the level."""
    d = formant_speech(12.0, seed=5) * 0.5
    b = at_level(d, music(12.0), 6.0)
    shifted = dl._shift(d[:, None], 37.4, len(d))[:, 0]
    mix = np.stack([shifted + b, shifted + b], axis=1) * 0.5
    placed, rest, info = dl.subtract(mix, (d * 2)[:, None])
    got = dl.measure_stems(placed, rest).level_lu
    assert got is not None and abs(got - 6.0) < 0.3 and abs(info["lag_ms"] - 37.4 / 48) < 0.01, info


def test_the_finding_fires_below_the_presets_limit_through_the_cli(tmp_path: Path) -> None:
    d = formant_speech(12.0, seed=7) * 0.5
    b = at_level(d, music(12.0, seed=8), 12.0)
    ep = _episode(tmp_path / "ep1.mp4", d + b)
    dx = write_wav(tmp_path / "dx.wav", d)
    me = write_wav(tmp_path / "me.wav", b)

    def check(*args: str) -> tuple[dict, list[dict]]:  # type: ignore[type-arg]
        res = run_cli("check", str(ep), "--json", *args)
        assert res.exit_code in (0, 6), res.output
        (e,) = json.loads(res.stdout)["episodes"]
        return e["dialogue"], [f for f in e["findings"] if f["rule"] == "dialogue_level"]

    level, found = check("--dialogue", str(dx), "--preset", "standard")  # 12 LU against 8: passes
    assert level["method"] == "stem-minus-mix" and abs(level["level_lu"] - 12.0) < 0.5 and not found
    level, found = check("--dialogue", str(dx), "--background", str(me), "--preset", "elder-large")  # 15: fails
    assert level["method"] == "stems" and abs(level["level_lu"] - 12.0) < 0.5
    (f,) = found
    assert f["severity"] == "warning" and f["detail"]["limit"] == 15.0 and f["start_s"] is not None
    level, found = check("--background", str(me), "--preset", "elder-large")
    assert level["method"] == "mix-minus-stem" and abs(level["level_lu"] - 12.0) < 0.5 and found
    level, found = check("--preset", "elder-large")  # no stems: the estimate
    assert level["method"] == "estimate" and ESTIMATE_LOW <= level["level_lu"] - 12.0 <= ESTIMATE_HIGH
    assert found and "estimated" in found[0]["message"]
    page = tmp_path / "check.html"
    res = run_cli("check", str(ep), "--dialogue", str(dx), "--preset", "elder-large", "--html", str(page))
    assert re.search(r"dialogue \+1[12]\.\d LU", res.output) and "loudness/dialogue_level" in res.output
    assert re.search(r"<svg class='plot dialogue'.*<circle class='episode-dialogue'", page.read_text())


def test_stems_per_episode_from_a_folder_and_from_the_masters_stem_by_the_plan(tmp_path: Path) -> None:
    d = formant_speech(20.0, seed=9) * 0.5
    b = music(20.0, seed=10)
    half = 10 * RATE
    b = np.concatenate([at_level(d[:half], b[:half], 16.0), at_level(d[half:], b[half:], 5.0)])
    eps = [_episode(tmp_path / "ep001.mp4", (d + b)[:half]), _episode(tmp_path / "ep002.mp4", (d + b)[half:])]
    folder = tmp_path / "dx"
    folder.mkdir()
    write_wav(folder / "ep001_dx.wav", d[:half])
    write_wav(folder / "ep002.dialogue.wav", d[half:])
    res = run_cli("check", *map(str, eps), "--dialogue", str(folder), "--preset", "standard", "--json")
    levels = [e["dialogue"]["level_lu"] for e in json.loads(res.stdout)["episodes"]]
    assert abs(levels[0] - 16.0) < 0.5 and abs(levels[1] - 5.0) < 0.5, levels
    # the master's stem, one file, cut at each episode's range as plan.json records it
    run = tmp_path / "out"
    run.mkdir()
    plan = {"master": {"duration": "20"}, "episodes": [
        {"id": "ep001", "start": "0", "duration": "10", "audio": {"first_sample": 0, "samples": half, "sample_rate": RATE}},
        {"id": "ep002", "start": "10", "duration": "10", "audio": {"first_sample": half, "samples": half, "sample_rate": RATE}},
    ]}  # fmt: skip
    (run / "plan.json").write_text(json.dumps(plan))
    master_dx = write_wav(tmp_path / "master_dx.wav", d)
    two = [SimpleNamespace(name="ep001", video=eps[0]), SimpleNamespace(name="ep002", video=eps[1])]
    planned = stems.plan(master_dx, None, [(two, run)])
    assert planned[eps[1]].start == 10.0 and planned[eps[1]].duration == 10.0
    got = [stems.measure(v, planned[v]) for v in eps]
    assert [round(g.level_lu) for g in got if g and g.level_lu is not None] == [16, 5]
    with pytest.raises(InputError, match="one stem file for 2 episodes"):
        stems.plan(master_dx, None, [(two, None)])


def test_bad_stems_get_one_line_naming_the_file(tmp_path: Path) -> None:
    d = formant_speech(10.0, seed=11) * 0.5
    ep = _episode(tmp_path / "ep1.mp4", d + at_level(d, pink_noise(10.0), 10.0))

    def fails(*args: str) -> str:
        res = run_cli("check", str(ep), "--preset", "standard", *args)
        assert res.exit_code == EXIT_INPUT, res.output
        assert "Traceback" not in res.output
        (line,) = [x for x in res.stderr.splitlines() if "error" in x]  # the rest is progress
        return line

    assert "missing.wav" in fails("--dialogue", str(tmp_path / "missing.wav"))
    # 48 kHz samples in a file that says 44.1 kHz: 10.88 s for a 10 s episode
    wrong = write_wav(tmp_path / "mislabelled.wav", d)
    data = bytearray(wrong.read_bytes())
    data[24:28] = (44100).to_bytes(4, "little")
    data[28:32] = (44100 * 2).to_bytes(4, "little")
    wrong.write_bytes(bytes(data))
    line = fails("--dialogue", str(wrong))
    assert "mislabelled.wav" in line and "48000/44100" in line
    short = write_wav(tmp_path / "short.wav", d[: 4 * RATE])
    assert "short.wav" in fails("--background", str(short)) and "4.00 s" in fails("--background", str(short))
    (tmp_path / "stems").mkdir()
    write_wav(tmp_path / "stems" / "ep2.wav", d)
    assert "no stem for episode ep1" in fails("--dialogue", str(tmp_path / "stems"))
    other = write_wav(tmp_path / "other.wav", formant_speech(10.0, seed=99) * 0.5)  # another episode's dialogue
    line = fails("--dialogue", str(other))
    assert "other.wav" in line and "does not match" in line
