"""Generate vertcut's sample master: a 75 s drama-like 1920x1080 25 fps clip and its side files.

Run from the repository root::

    python sample_media/make_sample.py [--out sample_media]

Everything is deterministic (fixed seeds) and made here from two public-domain
photographs that scikit-image ships (``skimage.data.astronaut`` and
``skimage.data.camera``), so the outputs can be rebuilt anywhere. Outputs:
``master.mp4``, ``master.zh.srt``, ``master.en.srt``, ``markers.edl`` (DaVinci
Resolve marker EDL), ``markers.csv``, ``ground_truth.json``.

Frames are streamed to ffmpeg one at a time (memory stays flat).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import skimage.data

W, H = 1920, 1080
FPS = 25
FRAMES = 75 * FPS
SAMPLE_RATE = 48000


# --- people ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A head-and-shoulders cut-out and where its face is inside it."""

    name: str
    sprite: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 0..1
    face: tuple[int, int, int, int]  # x, y, w, h inside the sprite


def _cutout(
    img: np.ndarray, crop: tuple[int, int, int, int], face: tuple[int, int, int, int], scale: float, name: str
) -> Person:
    x0, y0, x1, y1 = crop
    part = img[y0:y1, x0:x1]
    sprite = cv2.resize(part, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    h, w = sprite.shape[:2]
    # a soft ellipse for the head and a wider one for the shoulders
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, int(h * 0.38)), (int(w * 0.36), int(h * 0.36)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (w // 2, h), (int(w * 0.5), int(h * 0.45)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=w * 0.03)
    fx, fy, fw, fh = face
    box = (round((fx - x0) * scale), round((fy - y0) * scale), round(fw * scale), round(fh * scale))
    return Person(name, sprite, mask, box)


def people() -> dict[str, Person]:
    astro = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    camera = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)
    # face rectangles in the source photographs: the astronaut's from scikit-image's
    # LBP frontal-face cascade (r=70, c=175, 93x93), the cameraman's measured by eye
    return {
        "astronaut": _cutout(astro, (110, 10, 340, 300), (175, 70, 93, 93), 2.2, "astronaut"),
        "camera": _cutout(camera, (130, 50, 320, 300), (178, 98, 80, 96), 2.2, "camera"),
    }


# --- the shot list -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    start: int
    end: int  # exclusive
    kind: str
    subject: str | None
    # each actor: (person, face-centre x at shot start, x at shot end, easing)
    actors: tuple[tuple[str, int, int, str], ...]
    palette: int


SHOTS = (
    Shot(0, 250, "dialogue", "astronaut", (("astronaut", 560, 560, "static"),), 0),
    Shot(250, 475, "walk", "camera", (("camera", 320, 1500, "linear"),), 1),
    Shot(475, 650, "two_shot", None, (("astronaut", 330, 330, "static"), ("camera", 1600, 1600, "static")), 2),
    Shot(650, 900, "dialogue", "astronaut", (("astronaut", 1480, 1480, "static"),), 3),
    Shot(900, 1050, "no_face", None, (), 4),
    Shot(1050, 1300, "eased", "camera", (("camera", 760, 1140, "ease"),), 5),
    Shot(1300, 1450, "dialogue", "astronaut", (("astronaut", 700, 700, "static"),), 6),
    Shot(1450, 1650, "walk", "astronaut", (("astronaut", 1500, 620, "linear"),), 7),
    Shot(1650, 1875, "dialogue", "camera", (("camera", 1260, 1260, "static"),), 0),
)
HARD_CUTS = [s.start for s in SHOTS[1:] if s.start != 1050]
FADE = {"start": 1038, "end": 1062, "mid": 1050, "kind": "fade_through_black"}
FACE_CENTRE_Y = 430

MARKERS = (
    {"frame": 470, "name": "EP01 cliffhanger", "colour": "ResolveColorRed", "nearest_cut": 475},
    {"frame": 900, "name": "EP02 cliffhanger", "colour": "ResolveColorRed", "nearest_cut": 900},
    {"frame": 1455, "name": "EP03 cliffhanger", "colour": "ResolveColorRed", "nearest_cut": 1450},
)

# (start frame, end frame exclusive, Chinese, English); times land on 40 ms frame edges
CUES = (
    (25, 90, "你终于回来了。", "You finally came back."),
    (100, 180, "这三年，你到底去了哪里？", "Where have you been these three years?"),
    (190, 245, "我不能告诉你。", "I can't tell you."),
    (270, 340, "等等！你听我解释！", "Wait! Let me explain!"),
    (350, 440, "那份合同，是他们逼我签的。", "They forced me to sign that contract."),
    (490, 560, "你们两个认识？", "You two know each other?"),
    (570, 640, "何止认识，他是我哥哥。", "More than that. He's my brother."),
    (
        670,
        760,
        "今天的董事会，我一定要出席，谁也拦不住我，否则公司就完了！",
        "I must attend today's board meeting, or the company is finished!",
    ),
    (770, 860, "董事长的位置，本来就是我的。", "The chairman's seat was always mine."),
    (880, 930, "门外是谁？", "Who's at the door?"),
    (1080, 1160, "原来一切都是你安排的。", "So you arranged all of this."),
    (1170, 1260, "我只是想保护你。", "I only wanted to protect you."),
    (1310, 1380, "别再骗我了！", "Stop lying to me!"),
    (1390, 1440, "你会后悔的。", "You will regret this."),
    (1470, 1560, "我已经没有退路了。", "There's no way back for me now."),
    (1570, 1640, "明天，一切都会结束。", "Tomorrow, it all ends."),
    (1670, 1760, "妈妈留下的那封信，你看过了吗？", "Have you read the letter Mom left?"),
    (1770, 1860, "信里写着你的真实身份。", "It tells who you really are."),
)


# --- pictures ------------------------------------------------------------------------------

PALETTES = [
    ((40, 60, 90), (120, 150, 190)),
    ((60, 90, 60), (170, 200, 150)),
    ((80, 50, 40), (200, 160, 120)),
    ((50, 40, 70), (160, 140, 200)),
    ((20, 20, 30), (90, 90, 120)),
    ((70, 70, 40), (200, 190, 130)),
    ((30, 60, 70), (140, 190, 200)),
    ((70, 40, 60), (210, 150, 180)),
]
DRIFT = 200  # background is wider than the frame and slides slowly


def backgrounds() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    yy, xx = np.mgrid[0:H, 0 : W + DRIFT].astype(np.float32)
    for lo, hi in PALETTES:
        t = (0.6 * yy / H + 0.4 * xx / (W + DRIFT))[..., None]
        base = np.array(lo, np.float32) * (1 - t) + np.array(hi, np.float32) * t
        # room-like structure: soft vertical panels and a floor line
        panels = (np.sin(xx / 97.0) * 10 + np.sin(xx / 23.0) * 4)[..., None]
        floor = (yy > H * 0.78)[..., None] * -25.0
        noise = cv2.GaussianBlur(rng.normal(0, 14, (H, W + DRIFT)).astype(np.float32), (0, 0), 3)[..., None]
        img = np.clip(base + panels + floor + noise, 0, 255).astype(np.uint8)
        out.append(img)
    return out


def _ease(t: float, how: str) -> float:
    if how == "ease":
        return t * t * (3 - 2 * t)
    return t if how == "linear" else 0.0


def _place(frame: np.ndarray, person: Person, cx: int) -> tuple[int, int, int, int]:
    """Composite ``person`` with its face centred at x=cx; return the face box in the frame."""
    fx, fy, fw, fh = person.face
    h, w = person.sprite.shape[:2]
    x0 = cx - (fx + fw // 2)
    y0 = FACE_CENTRE_Y - (fy + fh // 2)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(W, x0 + w), min(H, y0 + h)
    if dx1 <= dx0 or dy1 <= dy0:
        return (0, 0, 0, 0)
    a = person.alpha[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0, None]
    src = person.sprite[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0].astype(np.float32)
    dst = frame[dy0:dy1, dx0:dx1].astype(np.float32)
    frame[dy0:dy1, dx0:dx1] = (src * a + dst * (1 - a)).astype(np.uint8)
    bx0, by0 = max(0, x0 + fx), max(0, y0 + fy)
    bx1, by1 = min(W, x0 + fx + fw), min(H, y0 + fy + fh)
    return (bx0, by0, bx1 - bx0, by1 - by0)


def render(
    index: int, shot: Shot, bgs: list[np.ndarray], cast: dict[str, Person]
) -> tuple[np.ndarray, list[dict[str, object]]]:
    local = index - shot.start
    span = max(1, shot.end - shot.start - 1)
    offset = (shot.palette * 11) % 50 + local * 3 // 5  # slow pan, never wraps (shots <= 250 frames)
    frame = np.ascontiguousarray(bgs[shot.palette][:, offset : offset + W])
    faces: list[dict[str, object]] = []
    if shot.kind == "no_face":
        # a bright lamp drifting across a dark room: something for motion/saliency to follow
        t = local / span
        cx, cy = int(500 + 900 * t), int(540 + 180 * np.sin(t * 2 * np.pi))
        cv2.circle(frame, (cx, cy), 70, (200, 235, 255), -1, lineType=cv2.LINE_AA)
        cv2.circle(frame, (cx, cy), 110, (120, 160, 190), 8, lineType=cv2.LINE_AA)
    for name, x_start, x_end, how in shot.actors:
        cx = round(x_start + (x_end - x_start) * _ease(local / span, how))
        x, y, w, h = _place(frame, cast[name], cx)
        if w > 0 and h > 0:
            faces.append({"id": name, "x": x, "y": y, "w": w, "h": h})
    if FADE["start"] <= index < FADE["end"]:
        # fade through black: down to 0 at the midpoint, back up after it
        k = abs(index - (FADE["mid"] - 0.5)) / ((FADE["end"] - FADE["start"]) / 2)
        frame = (frame.astype(np.float32) * min(1.0, max(0.0, k - 0.04))).astype(np.uint8)
    return frame, faces


# --- sound -----------------------------------------------------------------------------------


def audio() -> np.ndarray:
    """Stereo float32: syllable-like voiced bursts during the cues over a quiet chord bed."""
    rng = np.random.default_rng(11)
    n = FRAMES * SAMPLE_RATE // FPS
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    bed = np.zeros(n)
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (196.0, 246.9, 311.1)]
    seg = n // 16
    for i in range(16):
        lo, hi = i * seg, n if i == 15 else (i + 1) * seg
        env = np.minimum(1, np.minimum(np.arange(hi - lo), np.arange(hi - lo)[::-1]) / (0.4 * SAMPLE_RATE))
        for f in chords[i % 4]:
            bed[lo:hi] += np.sin(2 * np.pi * f * t[lo:hi]) * env * 0.025
    voice = np.zeros(n)
    for k, (f0, f1, _zh, _en) in enumerate(CUES):
        lo, hi = f0 * SAMPLE_RATE // FPS, f1 * SAMPLE_RATE // FPS
        tt = t[lo:hi] - t[lo]
        pitch = 120 + 60 * (k % 3) + 15 * np.sin(2 * np.pi * 0.7 * tt)
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        harmonic = sum(np.sin(h * phase) / h for h in range(1, 8))
        syllables = np.clip(np.sin(2 * np.pi * (3.5 + 0.4 * (k % 4)) * tt) * 1.4, 0, 1) ** 0.8
        breath = rng.normal(0, 0.15, hi - lo)
        edge = np.minimum(1, np.minimum(np.arange(hi - lo), np.arange(hi - lo)[::-1]) / 1200)
        voice[lo:hi] = (harmonic * 0.12 + breath * 0.05) * syllables * edge
    # a gentle band-pass for the voice (formant-ish)
    spec = np.fft.rfft(voice)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spec *= np.exp(-(((freqs - 900) / 1400) ** 2)) + 0.3 * np.exp(-(((freqs - 2500) / 600) ** 2))
    voice = np.fft.irfft(spec, n) * 2.5
    left = voice * 0.9 + bed
    right = voice * 0.9 + bed * 0.9
    return np.stack([left, right], axis=1).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


# --- side files ----------------------------------------------------------------------------


def _srt_time(frame: int) -> str:
    ms = Fraction(frame, FPS) * 1000
    total = int(ms)
    return f"{total // 3600000:02d}:{total // 60000 % 60:02d}:{total // 1000 % 60:02d},{total % 1000:03d}"


def _tc(frame: int, start_hour: int = 0) -> str:
    s, f = divmod(frame, FPS)
    return f"{start_hour + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


def write_side_files(out: Path) -> None:
    for lang, col in (("zh", 2), ("en", 3)):
        lines = []
        for i, cue in enumerate(CUES, 1):
            lines += [str(i), f"{_srt_time(cue[0])} --> {_srt_time(cue[1])}", str(cue[col]), ""]
        (out / f"master.{lang}.srt").write_text("\n".join(lines), encoding="utf-8")
    edl = ["TITLE: vertcut sample master", "FCM: NON-DROP FRAME", ""]
    for i, m in enumerate(MARKERS, 1):
        tc_in, tc_out = _tc(int(m["frame"]), 1), _tc(int(m["frame"]) + 1, 1)
        edl.append(f"{i:03d}  001      V     C        {tc_in} {tc_out} {tc_in} {tc_out}  ")
        edl.append(f" |C:{m['colour']} |M:{m['name']} |D:1")
        edl.append("")
    (out / "markers.edl").write_text("\n".join(edl), encoding="utf-8")
    csv = ["frame,timecode,name,colour"] + [f"{m['frame']},{_tc(int(m['frame']))},{m['name']},Red" for m in MARKERS]
    (out / "markers.csv").write_text("\n".join(csv) + "\n", encoding="utf-8")


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--crf", type=int, default=30)
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cast = people()
    bgs = backgrounds()
    faces_per_frame: list[list[dict[str, object]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        write_wav(wav, audio())
        part = out / ".master.partial.mp4"
        argv = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", str(FPS), "-i", "pipe:0",
            "-i", str(wav),
            "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "medium", "-crf", str(args.crf), "-g", "50", "-pix_fmt", "yuv420p",
            "-x264-params", "keyint=50:min-keyint=1:colorprim=bt709:transfer=bt709:colormatrix=bt709",
            "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
            "-c:a", "aac", "-b:a", "64k", "-ar", str(SAMPLE_RATE),
            "-movflags", "+faststart", "-shortest", str(part),
        ]  # fmt: skip
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
        assert proc.stdin is not None
        shot_i = 0
        for index in range(FRAMES):
            while index >= SHOTS[shot_i].end:
                shot_i += 1
            frame, faces = render(index, SHOTS[shot_i], bgs, cast)
            faces_per_frame.append(faces)
            proc.stdin.write(frame.tobytes())
        proc.stdin.close()
        if proc.wait() != 0:
            raise SystemExit("ffmpeg failed")
        part.replace(out / "master.mp4")
    write_side_files(out)
    truth = {
        "fps": f"{FPS}/1",
        "frames": FRAMES,
        "width": W,
        "height": H,
        "hard_cuts": HARD_CUTS,
        "fades": [FADE],
        "shots": [{"start": s.start, "end": s.end, "kind": s.kind, "subject": s.subject} for s in SHOTS],
        "markers": list(MARKERS),
        "dialogue": [[c[0], c[1]] for c in CUES],
        "faces": faces_per_frame,
        "licences": {
            "astronaut": "skimage.data.astronaut(): Eileen Collins, NASA Great Images, public domain"
            " (scikit-image docstring)",
            "camera": "skimage.data.camera(): photograph by Lav Varshney, CC0 (scikit-image docstring)",
            "generated": "backgrounds, audio, subtitles and markers: generated by make_sample.py, MIT like vertcut",
        },
    }
    text = json.dumps({k: v for k, v in truth.items() if k != "faces"}, indent=1)
    faces_json = ",\n".join(json.dumps(f, separators=(",", ":")) for f in faces_per_frame)
    text = text[:-2] + ',\n "faces": [\n' + faces_json + "\n ]\n}\n"
    (out / "ground_truth.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
