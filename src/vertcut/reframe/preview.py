"""A preview for editors: why the camera moved.

Draws over a downscaled source: the crop window (green; orange in pad shots),
every face detection (yellow), the shot's mode and reason, and a red frame on
each cut. Written as a small H.264 file.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..ffmpeg import FFmpeg
from ..fsutil import atomic_path
from ..media.probe import open_container
from ..media.threads import decode_threads
from ..progress import Reporter
from .plan import CameraPath

__all__ = ["write_preview"]


def write_preview(src: Path, out: Path, camera: CameraPath, analysis: Any, ff: FFmpeg, rep: Reporter) -> None:
    pw = 640
    ph = round(pw * camera.source_height / camera.source_width / 2) * 2
    k = pw / camera.source_width
    faces: dict[int, list[Any]] = {}
    for f in analysis.faces:
        faces.setdefault(f.frame, []).append(f)
    cuts = set(analysis.cuts)
    rate: Fraction = camera.frame_rate
    args = ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{pw}x{ph}", "-r", f"{rate.numerator}/{rate.denominator}",
            "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p"]  # fmt: skip
    last_faces: list[Any] = []
    with atomic_path(out) as tmp, ff.open([*args, str(tmp)], stage="preview") as proc, open_container(src) as c:
        s = c.streams.video[0]
        decode_threads(s, ff.threads)
        for i, frame in enumerate(c.decode(s)):
            img = frame.reformat(width=pw, height=ph, format="bgr24").to_ndarray().copy()
            shot = next((p for p in camera.shots if p.start <= i < p.stop), None)
            x = camera.x[min(i, len(camera.x) - 1)] * k
            colour = (0, 165, 255) if shot is not None and shot.mode == "pad" else (0, 255, 0)
            cv2.rectangle(img, (int(x), 0), (int(x + camera.crop_width * k), ph - 1), colour, 2)
            if i in faces:
                last_faces = faces[i]
            elif i in cuts:
                last_faces = []
            for f in last_faces:
                cv2.rectangle(
                    img,
                    (int(f.x * k), int(f.y * k)),
                    (int((f.x + f.w) * k), int((f.y + f.h) * k)),
                    (0, 255, 255),
                    1,
                )
            if shot is not None:
                cv2.putText(
                    img, f"{shot.mode}: {shot.reason}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1
                )
            if i in cuts:
                cv2.rectangle(img, (0, 0), (pw - 1, ph - 1), (0, 0, 255), 6)
            proc.write(np.ascontiguousarray(img).data)
