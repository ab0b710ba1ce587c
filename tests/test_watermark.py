"""The forensic watermark: key and id forms, the embedder, detection after the attacks, the CLI.

The clips are drama-like luma (a textured backdrop per shot, a slow pan, a moving subject, grain) at
360x640, the ladder's lowest rung size, 12 s: marked at the default strength, encoded with libx264
through :class:`vertcut.ffmpeg.FFmpeg`, then attacked: the lowest rung's bit rate (500 kbit/s at this
size), 0.9x scaled and padded back, 1/0.9x scaled and cropped back, a re-upload at two thirds of the
size (as 720x1280 is of 1080x1920) at the bit rate a platform gives that size.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli

from vertcut.errors import EXIT_CHECK, EXIT_INPUT, EXIT_USAGE, InputError
from vertcut.ffmpeg import FFmpeg
from vertcut.watermark import Embedder, WatermarkError, WatermarkKey, detect, detect_luma, payload_for
from vertcut.watermark.key import crc8

W, H = 360, 640
FRAMES = 300
KEY_HEX = "3f9a0c1d" * 4
KEY = WatermarkKey.parse(KEY_HEX)
ID = "douyin-cn"
FF = FFmpeg(threads=2)  # x264's output depends on its thread count: fixed, so the clips are the same everywhere

# attack -> (video filter, x264 rate options); bit rates scaled from the full-size ones by the pixel count
ATTACKS = {
    "lowest-rung-rate": ("null", ["-b:v", "500k", "-maxrate", "500k", "-bufsize", "1000k"]),
    "shrink-pad": (f"scale=324:576,pad={W}:{H}:18:32", ["-crf", "23"]),
    "zoom-crop": (f"scale=400:712,crop={W}:{H}", ["-crf", "23"]),
    "re-upload": ("scale=240:426", ["-crf", "23", "-maxrate", "280k", "-bufsize", "560k"]),
}
SCALE = {"shrink-pad": 0.9, "zoom-crop": 1 / 0.9}


def drama(frames: int = FRAMES, seed: int = 0, shot: int = 100) -> Iterator[np.ndarray]:
    """Luma planes: per shot a textured backdrop (blurred noise, a gradient), a slow pan on odd shots, a
    bright moving subject, per-frame grain."""
    rng = np.random.default_rng(seed)
    yy = np.mgrid[0 : H + 40, 0 : W + 40][0].astype(np.float32)
    tex = np.zeros_like(yy)
    for i in range(frames):
        k, j = divmod(i, shot)
        if j == 0:
            r = np.random.default_rng(seed * 100 + k)
            noise = r.normal(0, 1, yy.shape).astype(np.float32)
            tex = cv2.GaussianBlur(noise, (0, 0), 1.5) * 25 + cv2.GaussianBlur(noise, (0, 0), 8) * 120
            tex += r.uniform(60, 150) + 40 * (yy / H - 0.5)
        off = int(j * 0.3) if k % 2 else 0
        f = tex[20 : 20 + H, off : off + W].copy()
        cv2.ellipse(f, (int(W * (0.3 + 0.4 * j / shot)), int(H * 0.4)), (W // 8, H // 10), 0, 0, 360, 200.0, -1)
        f += rng.normal(0, 2.0, f.shape).astype(np.float32)
        yield np.clip(f, 16, 235).astype(np.uint8)


def encode(out: Path, emb: Embedder | None) -> Path:
    """The drama clip, marked by ``emb`` (or not), as the delivered H.264 file."""
    chroma = np.full((H // 2, W // 2), 128, np.uint8).tobytes()
    args = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", "25", "-i", "pipe:0",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    with FF.open(args) as proc:
        for n, y in enumerate(drama()):
            if emb is not None:
                emb.apply(n, y)
            proc.write(y.tobytes() + chroma + chroma)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("watermark")
    return {
        "marked": encode(d / "marked.mp4", Embedder(KEY, payload_for(ID))),
        "plain": encode(d / "plain.mp4", None),
        "dir": d,
    }


def attacked(clips: dict[str, Path], name: str) -> Path:
    out = clips["dir"] / f"{name}.mp4"
    if not out.exists():
        vf, rate = ATTACKS[name]
        FF.run(["-i", str(clips["marked"]), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", *rate, str(out)])
    return out


# --- keys and ids ---


@pytest.mark.parametrize(
    "text", ["", "3f9a", "3f9a" * 7 + "3f9", "3f9a" * 16 + "0", "z" * 40, "3f9a " * 8 + "x", "0x" + "3f9a" * 8]
)
def test_a_bad_key_is_one_line_saying_the_form_without_the_key(text: str) -> None:
    with pytest.raises(WatermarkError) as info:
        WatermarkKey.parse(text)
    msg = str(info.value)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    assert "\n" not in msg and "32 to 64 hex digits" in msg
    assert len(text) < 8 or text.strip() not in msg


def test_keys_parse_generate_and_hide() -> None:
    assert str(WatermarkKey.parse(f"  {KEY_HEX.upper()}\n")) == KEY_HEX
    assert WatermarkKey.parse("ab" * 32).bits == 256
    fresh = WatermarkKey.generate()
    assert re.fullmatch(r"[0-9a-f]{64}", str(fresh)) and fresh != WatermarkKey.generate()
    assert len(str(WatermarkKey.generate(128))) == 32
    assert KEY_HEX not in repr(KEY) and KEY.fingerprint in repr(KEY)
    with pytest.raises(WatermarkError):
        WatermarkKey.generate(100)


def test_payload_for_ids() -> None:
    assert payload_for("12345") == 12345
    assert payload_for("007") == 7
    assert payload_for(str(2**32 - 1)) == 2**32 - 1
    big = str(2**32)
    assert payload_for(big) == int.from_bytes(hashlib.sha256(big.encode()).digest()[:4], "big")
    assert payload_for(ID) == int.from_bytes(hashlib.sha256(ID.encode()).digest()[:4], "big")
    assert payload_for("A.b_c-9") != payload_for("A.b_c-8")
    assert payload_for("x" * 64) > 0


@pytest.mark.parametrize("bad", ["", "-lead", ".dot", "has space", "ünï", "x" * 65, "a/b", "a\nb"])
def test_a_bad_distributor_id_is_refused(bad: str) -> None:
    with pytest.raises(WatermarkError) as info:
        payload_for(bad)
    assert "\n" not in str(info.value) and "distributor id" in str(info.value)


def test_the_crc_catches_every_one_two_and_three_bit_error() -> None:
    """CRC-8 (0x07) over the 40 code bits has Hamming distance 4, which the one-bit correction relies on."""

    def valid(word: int) -> bool:
        return crc8(word >> 8) == word & 0xFF

    assert not any(valid(sum(1 << i for i in c)) for r in (1, 2, 3) for c in combinations(range(40), r))


# --- the embedder ---


def test_the_embedder_marks_any_size_in_place_and_travels() -> None:
    emb = Embedder(KEY, payload_for(ID))
    clone = pickle.loads(pickle.dumps(emb))
    for w, h in ((608, 1080), (1080, 1920), (180, 320), (321, 177)):
        y = np.random.default_rng(1).integers(0, 256, (h, w), dtype=np.uint8)
        before = y.copy()
        emb.apply(5, y)
        diff = y.astype(int) - before
        assert np.count_nonzero(diff) > 0 and np.abs(diff).max() <= 2
        again = before.copy()
        clone.apply(5, again)
        assert np.array_equal(again, y)
    buf = np.full((640, 400), 100, np.uint8)  # a view with a row stride wider than the picture, as PyAV's planes
    emb.apply(0, buf[:, :360])
    assert np.count_nonzero(buf[:, :360] != 100) and not np.count_nonzero(buf[:, 360:] != 100)
    for level in (0, 255):  # saturates, never wraps
        y = np.full((640, 360), level, np.uint8)
        emb.apply(0, y)
        assert np.abs(y.astype(int) - level).max() <= 2


def test_the_time_signs_are_balanced_and_the_inputs_checked() -> None:
    emb = Embedder(KEY, 1)
    signs = [emb.sign(n) for n in range(0, 12 * 64, 12)]
    assert sum(signs) == 0 and {emb.sign(n) for n in range(12)} == {emb.sign(0)}
    with pytest.raises(WatermarkError):
        emb.apply(0, np.zeros((64, 36), np.float32))  # type: ignore[arg-type]
    for bad in ({"payload": -1}, {"payload": 2**32}, {"strength": 0}, {"strength": 9}):
        with pytest.raises(WatermarkError):
            Embedder(KEY, **{"payload": 1, **bad})  # type: ignore[arg-type]


def test_detect_on_frames_in_memory() -> None:
    emb = Embedder(KEY, 0xC0FFEE)
    frames = []
    for n, y in enumerate(drama(150)):
        emb.apply(n, y)
        frames.append(y)
    det = detect_luma(frames, KEY, candidates=["12648430"])
    assert (
        det.found
        and det.payload == 0xC0FFEE
        and det.distributor == "12648430"
        and det.scale == pytest.approx(1, abs=0.01)
    )


# --- detection after the attacks ---


def test_the_delivered_file_is_found(clips: dict[str, Path]) -> None:
    det = detect(clips["marked"], KEY, candidates=["kuaishou", ID])
    assert det.found and det.payload == payload_for(ID) and det.distributor == ID
    assert det.bits_ok and det.p_value < 1e-6 and det.frames == FRAMES
    assert det.to_dict()["offset"] == list(det.offset)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_found_after(clips: dict[str, Path], attack: str) -> None:
    det = detect(attacked(clips, attack), KEY, candidates=[ID, "kuaishou"])
    assert det.found, det
    assert det.payload == payload_for(ID) and det.distributor == ID
    assert det.scale == pytest.approx(SCALE.get(attack, 1.0), abs=0.015)


def test_nothing_found_unmarked_or_with_another_key(clips: dict[str, Path]) -> None:
    plain = detect(clips["plain"], KEY, candidates=[ID])
    assert not plain.found and plain.payload is None and plain.distributor is None and plain.p_value > 1e-3
    other = detect(clips["marked"], WatermarkKey.parse("5eed" * 8), candidates=[ID])
    assert not other.found and other.p_value > 1e-3


# --- the CLI ---


def test_cli_detect_names_the_distributor(clips: dict[str, Path]) -> None:
    res = run_cli("-q", "watermark", "detect", str(clips["marked"]), "--key", KEY_HEX, "--ids", f"kuaishou,{ID}")
    assert res.exit_code == 0, res.stderr
    assert f"distributor {ID}" in res.stdout and f"payload {payload_for(ID)}" in res.stdout
    res = run_cli("-q", "watermark", "detect", str(clips["marked"]), "--key", KEY_HEX, "--json")
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and data["found"] and data["payload"] == payload_for(ID) and data["distributor"] is None
    assert KEY_HEX not in res.stdout


def test_cli_takes_the_key_from_the_environment(clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTCUT_WATERMARK_KEY", KEY_HEX)
    res = run_cli("-q", "watermark", "detect", str(clips["marked"]), "--ids", ID)
    assert res.exit_code == 0 and ID in res.stdout
    monkeypatch.delenv("VERTCUT_WATERMARK_KEY")
    res = run_cli("-q", "watermark", "detect", str(clips["marked"]))
    assert res.exit_code == EXIT_USAGE and "VERTCUT_WATERMARK_KEY" in res.stderr


def test_cli_no_mark_is_exit_6_in_one_line(clips: dict[str, Path]) -> None:
    res = run_cli("-q", "watermark", "detect", str(clips["plain"]), "--key", KEY_HEX)
    assert res.exit_code == EXIT_CHECK
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vertcut: error: ") and "no watermark" in lines[0]
    assert "no watermark" in res.stdout


@pytest.mark.parametrize(
    "args",
    [["--key", "not-hex-" + KEY_HEX], ["--key", KEY_HEX[:20]], ["--key", KEY_HEX, "--ids", "ok,bad id"]],
    ids=["not-hex", "short", "bad-id"],
)
def test_cli_bad_key_or_id_is_one_line(clips: dict[str, Path], args: list[str]) -> None:
    res = run_cli("watermark", "detect", str(clips["plain"]), *args)
    assert res.exit_code == EXIT_INPUT
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vertcut: error: "), res.stderr
    assert "Traceback" not in res.output and KEY_HEX not in res.stderr


def test_cli_keygen() -> None:
    res = run_cli("watermark", "keygen")
    assert res.exit_code == 0 and re.fullmatch(r"[0-9a-f]{64}\n", res.stdout)
    res = run_cli("watermark", "keygen", "--bits", "128")
    assert re.fullmatch(r"[0-9a-f]{32}\n", res.stdout)
    assert WatermarkKey.parse(res.stdout)
