"""The forensic watermark (``vertcut.watermark``): embed cost, robustness, false positives, visual cost.

Footage: each clip in ``VERTCUT_REAL_CLIPS`` (``:``-separated paths, kept out of the repository), else
the bundled sample master; its first ``SECONDS`` seconds centre-cropped to 9:16 at the clip's height,
lossless (what the render loop pipes: a 1080p master gives 608x1080 frames). Then:

* **embed**: :meth:`Embedder.apply` on 100 decoded luma planes at 1080x1920 and at the crop's size, ms
  a frame (best of 3, OpenCV on one thread) against the 4 ms budget; the PyAV decode of the crop for comparison;
* **top rung**: the crop's frames, marked (at the crop's size, as the render loop does) or not, piped
  to ffmpeg, scaled to 1080x1920 (bicubic) and encoded as the ladder's top rung (x264 veryfast, CRF 21,
  maxrate 5000k); VMAF (vmaf_v0.6.1, every 5th frame) of each against the unmarked crop scaled the
  same way, lossless; the cost is the difference (target: above -0.5); the bit rates of both;
* **attacks** on the marked top rung, then :func:`detect`: the lowest rung (360x640 at 500 kbit/s),
  0.9x scale padded back to 1080x1920, 1/0.9x scale centre-cropped back, a phone-style re-upload at
  720x1280 (CRF 23, maxrate 2500k); the pilot's z (target: found, with the right payload);
* **false positives**: the detector with ``KEYS`` random wrong keys on the marked and on the unmarked
  top rung (frames decoded once): the largest z, the smallest family-wise p (target: >= 1e-6), the
  count below 0.01 against the count the p-values promise, and the z at the fixed geometry (no
  search), which should be a standard normal (mean, sd, largest).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from bench.bench_e2e import _vmaf
from bench.harness import Result
from bench.media import master
from vertcut.ffmpeg import FFmpeg
from vertcut.media.threads import cv_threads
from vertcut.watermark import DEFAULT_STRENGTH, Embedder, WatermarkKey, detect, payload_for
from vertcut.watermark.detector import P_FOUND, Accumulator, decide, small_luma

SECONDS = int(os.environ.get("VERTCUT_WM_SECONDS", "20"))
KEYS = int(os.environ.get("VERTCUT_WM_KEYS", "200"))
STRENGTH = float(os.environ.get("VERTCUT_WM_STRENGTH", str(DEFAULT_STRENGTH)))
DISTRIBUTOR = "douyin-cn"
KEY = WatermarkKey.parse("5eed" * 16)
UPSCALE = "scale=1080:1920:flags=bicubic,setsar=1"  # the render's scale of the piped frames
TOP = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-crf", "21", "-maxrate", "5000k",
       "-bufsize", "10000k", "-g", "50", "-pix_fmt", "yuv420p"]  # fmt: skip
ATTACKS = {
    "lowest rung 360x640 500k": ("scale=360:640", ["-b:v", "500k", "-maxrate", "500k", "-bufsize", "1000k"]),
    "0.9x, padded back": ("scale=972:1728,pad=1080:1920:54:96", ["-crf", "23"]),
    "1/0.9x, cropped back": ("scale=1200:2134,crop=1080:1920", ["-crf", "23"]),
    "re-upload 720x1280": ("scale=720:1280", ["-crf", "23", "-maxrate", "2500k", "-bufsize", "5000k"]),
}


def _clips(work: Path) -> list[Path]:
    real = [Path(p) for p in os.environ.get("VERTCUT_REAL_CLIPS", "").split(":") if p]
    return real or [master(work)]


def _crop(ff: FFmpeg, clip: Path, out: Path) -> Path:
    """The clip's first SECONDS, centre-cropped to 9:16 at its own height, lossless: what the render loop
    pipes (and marks) before ffmpeg scales it to 1080x1920."""
    if not out.exists():
        ff.run(["-t", str(SECONDS), "-i", str(clip), "-vf", "crop=trunc((ih*9/16+1)/2)*2:trunc(ih/2)*2,setsar=1", "-an",
                "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)])  # fmt: skip
    return out


def _scaled(ff: FFmpeg, crop: Path, out: Path) -> Path:
    """The unmarked crop scaled to 1080x1920, lossless: the VMAF reference."""
    if not out.exists():
        ff.run(["-i", str(crop), "-vf", UPSCALE, "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast",
                "-pix_fmt", "yuv420p", str(out)])  # fmt: skip
    return out


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes]


def _top(ff: FFmpeg, crop: Path, out: Path, emb: Embedder | None) -> int:
    """The crop's frames, marked by ``emb`` (or not), piped to ffmpeg, scaled to 1080x1920 and encoded as the
    top rung (as the render loop does); the number of frames."""
    n = 0
    with av.open(str(crop)) as c:
        vs = c.streams.video[0]
        size = f"{vs.codec_context.width}x{vs.codec_context.height}"
        args = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", size, "-r", "25", "-i", "pipe:0", "-vf", UPSCALE, *TOP,
                str(out)]  # fmt: skip
        with ff.open(args) as proc:
            for frame in c.decode(vs):
                y, u, v = (np.ascontiguousarray(p) for p in _planes(frame))
                if emb is not None:
                    emb.apply(n, y)
                proc.write(y.tobytes() + u.tobytes() + v.tobytes())
                n += 1
    return n


def _embed_cost(crop: Path, emb: Embedder, size: tuple[int, int], frames: int = 100) -> tuple[float, float]:
    """(ms a frame of Embedder.apply, ms a frame of the PyAV decode and plane copy) at ``size`` (w, h):
    frames decoded first and then marked, best of 3, nothing else running."""
    import cv2

    planes = []
    t0 = time.perf_counter()
    with av.open(str(crop)) as c:
        for frame in c.decode(video=0):
            planes.append(np.ascontiguousarray(_planes(frame)[0]))
            if len(planes) == frames:
                break
    decode = (time.perf_counter() - t0) / len(planes)
    ys = [cv2.resize(p, size, interpolation=cv2.INTER_LINEAR) for p in planes]
    best = float("inf")
    with cv_threads(1):
        for _ in range(3):
            work = [y.copy() for y in ys]
            t0 = time.perf_counter()
            for n, y in enumerate(work):
                emb.apply(n, y)
            best = min(best, (time.perf_counter() - t0) / len(work))
    return 1000 * best, 1000 * decode


def _size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return int(cc.width), int(cc.height)


def _kbps(path: Path) -> float:
    with av.open(str(path)) as c:
        return float(c.size * 8 / (c.duration / 1e6) / 1000)


def _small_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [small_luma(f.to_ndarray(format="gray")) for f in c.decode(video=0)]


def benchmarks(work: Path) -> Iterator[Result]:
    ff = FFmpeg()
    for clip in _clips(work):
        yield from _clip(ff, clip, work)


def _clip(ff: FFmpeg, clip: Path, work: Path) -> Iterator[Result]:
    tag = clip.stem[:16]
    crop = _crop(ff, clip, work / f"{clip.stem}.crop.mkv")
    ref = _scaled(ff, crop, work / f"{clip.stem}.ref.mkv")
    emb = Embedder(KEY, payload_for(DISTRIBUTOR), strength=STRENGTH)
    for size in ((1080, 1920), _size(crop)):
        ms, ms_decode = _embed_cost(crop, emb, size)
        yield Result(f"wm {tag}: embed ms/frame {size[0]}x{size[1]}", ms / 1000, 0.004, "4 ms budget", target=1.0,
                     note=f"{ms:.3f} ms a frame (one core: OpenCV capped at 1 thread); the crop's PyAV decode "
                     f"{ms_decode:.2f} ms a frame")  # fmt: skip
    plain, marked = work / f"{clip.stem}.top.mp4", work / f"{clip.stem}.top-marked.mp4"
    _top(ff, crop, plain, None)
    n = _top(ff, crop, marked, emb)
    v_plain, _ = _vmaf(ff, plain, ref, work / "vmaf.json")
    v_marked, _ = _vmaf(ff, marked, ref, work / "vmaf.json")
    k_plain, k_marked = _kbps(plain), _kbps(marked)
    yield Result(f"wm {tag}: VMAF top rung, marked - unmarked", v_marked - v_plain, 0, "unmarked", target=-0.5,
                 kind="figure", note=f"marked {v_marked:.2f}, unmarked {v_plain:.2f} ({n} frames, marked at "
                 f"{_size(crop)[0]}x{_size(crop)[1]}, strength {STRENGTH:g}); {k_marked:.0f} against "
                 f"{k_plain:.0f} kbit/s ({100 * (k_marked / k_plain - 1):+.1f} %)")  # fmt: skip

    want = payload_for(DISTRIBUTOR)
    for name, (vf, args) in {"top rung itself": ("null", None), **ATTACKS}.items():
        src = marked
        if args is not None:
            src = work / f"{clip.stem}.{name.split()[0].replace('/', '_')}.mp4"
            ff.run(["-i", str(marked), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", *args, str(src)])
        t0 = time.perf_counter()
        det = detect(src, KEY, candidates=[DISTRIBUTOR, "kuaishou"])
        took = time.perf_counter() - t0
        right = det.found and det.payload == want and det.distributor == DISTRIBUTOR
        yield Result(f"wm {tag}: z after {name}", det.z, 0, "", target=_z_needed(det.hypotheses), kind="figure",
                     note=f"{'found, ' + DISTRIBUTOR if right else 'NOT FOUND' if not det.found else 'WRONG'}; "
                     f"weakest bit z {det.bit_z:.1f}, scale {det.scale:.2f}, offset {det.offset}, "
                     f"{_kbps(src):.0f} kbit/s, detect {took:.1f} s")  # fmt: skip
    det = detect(plain, KEY)
    yield Result(f"wm {tag}: z of the unmarked top rung", -det.z, 0, "", kind="figure",
                 note=f"z {det.z:.2f} (shown negated), found={det.found}, p {det.p_value:.2g}")  # fmt: skip
    yield from _false_positives(tag, {"marked": marked, "unmarked": plain}, work)


def _z_needed(hypotheses: int) -> float:
    """The z whose family-wise p is P_FOUND."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - P_FOUND / hypotheses)


def _false_positives(tag: str, files: dict[str, Path], work: Path) -> Iterator[Result]:
    rng = np.random.default_rng(2024)
    rows = []
    for name, path in files.items():
        frames = _small_frames(path)
        t0 = time.perf_counter()
        for _ in range(KEYS):
            key = WatermarkKey(rng.bytes(16).hex())
            acc = Accumulator(key)
            for f in frames:
                acc.add(f)
            searched, fixed = decide(acc, key), decide(acc, key, search=False)
            rows.append({"file": name, "z": searched.z, "p": searched.p_value, "found": searched.found,
                         "fixed_z": fixed.z, "bits_ok": searched.bits_ok})  # fmt: skip
        per_key = (time.perf_counter() - t0) / KEYS / 2
        sub = [r for r in rows if r["file"] == name]
        fixed_z = [float(r["fixed_z"]) for r in sub]
        yield Result(f"wm {tag}: FP smallest p, {KEYS} keys, {name}", min(float(r["p"]) for r in sub), 0, "",
                     target=P_FOUND, kind="figure",
                     note=f"largest z {max(float(r['z']) for r in sub):.2f}; found {sum(bool(r['found']) for r in sub)}; "
                     f"p<0.01: {sum(float(r['p']) < 0.01 for r in sub)} (at most {0.01 * KEYS:.0f} expected), "
                     f"p<0.1: {sum(float(r['p']) < 0.1 for r in sub)} ({0.1 * KEYS:.0f}); CRC ok by chance "
                     f"{sum(bool(r['bits_ok']) for r in sub)} (2/256 with the 1-bit correction: {KEYS / 128:.1f}); "
                     f"fixed-geometry z mean "
                     f"{statistics.fmean(fixed_z):+.2f} sd {statistics.pstdev(fixed_z):.2f} max {max(fixed_z):.2f}; "
                     f"{per_key:.2f} s a detection")  # fmt: skip
    (work / f"fp-{tag}.json").write_text(json.dumps(rows, indent=1))
