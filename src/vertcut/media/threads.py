"""Thread caps for the decodes and image work vertcut runs in its own process.

``threads=None`` leaves libav's and OpenCV's own choice (threads for every CPU
this process may use). A cap matters where several jobs share a machine and
each has been given a few CPUs: a Ray task with ``--cpus-per-task``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from queue import Queue
from typing import Any

__all__ = ["cv_threads", "decode_threads", "in_background"]


def decode_threads(stream: Any, threads: int | None) -> None:
    """Let a PyAV video ``stream`` decode with frame and slice threads, at most ``threads`` of them."""
    stream.thread_type = "AUTO"
    if threads is not None:
        stream.codec_context.thread_count = threads


_CV_LOCK = threading.Lock()
_CV_CAPS: list[int] = []  # the caps of the blocks inside cv_threads now, in any thread
_CV_OWN: list[int] = []  # OpenCV's own count, saved while any block is open


@contextmanager
def cv_threads(threads: int | None) -> Iterator[None]:
    """OpenCV's worker threads capped at ``threads`` inside the block. OpenCV's count is one setting
    for the whole process, so while blocks of several threads overlap (an analysis beside a render
    in a batch) the smallest cap holds; OpenCV's own count comes back when the last block ends."""
    if threads is None:
        yield
        return
    import cv2

    with _CV_LOCK:
        if not _CV_CAPS:
            _CV_OWN[:] = [cv2.getNumThreads()]
        _CV_CAPS.append(threads)
        cv2.setNumThreads(min(_CV_CAPS))
    try:
        yield
    finally:
        with _CV_LOCK:
            _CV_CAPS.remove(threads)
            cv2.setNumThreads(min(_CV_CAPS) if _CV_CAPS else _CV_OWN[0])


def in_background(
    produce: Callable[[Callable[[Any], None], threading.Event], None], *, maxsize: int = 16, name: str = "vertcut"
) -> Iterator[Any]:
    """The items ``produce(put, stop)`` puts, made in a thread of their own and handed over through a
    bounded queue (so a decode runs beside the work on its frames, and memory stays flat).

    An exception in the producer is raised here, from the item where it happened. When the consumer
    stops early (or fails), ``stop`` is set, the queue drained and the thread joined.
    """
    q: Queue[Any] = Queue(maxsize=maxsize)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            produce(q.put, stop)
            q.put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            q.put(_Failure(exc))

    t = threading.Thread(target=work, daemon=True, name=name)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        while t.is_alive():
            while not q.empty():
                q.get_nowait()
            t.join(timeout=0.05)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
