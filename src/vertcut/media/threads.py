"""Thread caps for the decodes and image work vertcut runs in its own process.

``threads=None`` leaves libav's and OpenCV's own choice (threads for every CPU
this process may use). A cap matters where several jobs share a machine and
each has been given a few CPUs: a Ray task with ``--cpus-per-task``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cv_threads", "decode_threads"]


def decode_threads(stream: Any, threads: int | None) -> None:
    """Let a PyAV video ``stream`` decode with frame and slice threads, at most ``threads`` of them."""
    stream.thread_type = "AUTO"
    if threads is not None:
        stream.codec_context.thread_count = threads


@contextmanager
def cv_threads(threads: int | None) -> Iterator[None]:
    """OpenCV's worker threads capped at ``threads`` inside the block (a process-wide setting, put back
    after it)."""
    if threads is None:
        yield
        return
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        yield
    finally:
        cv2.setNumThreads(before)
