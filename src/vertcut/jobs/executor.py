"""Where independent work runs: on this machine, or on an existing Ray cluster.

A series is a few hundred coarse, independent pieces of work: each episode's
ABR ladder, packages and platform masters, and each master of a batch. vertcut
hands them to an executor:

``local`` (the default)
    threads on this machine; the work itself is ffmpeg child processes.
``ray``
    Ray core tasks on a cluster that already runs (``pip install "vertcut[ray]"``,
    then ``ray start --head`` on one node and ``ray start --address=HEAD:6379``
    on the others). Every node must see the files at the same paths (NFS, a
    shared volume) and run the same vertcut, ffmpeg and Python: each task checks
    this first and refuses to run on a node that differs.

The contract, the same for both: a task is a top-level function of one
picklable argument and a progress sink, returning a picklable value. A
:class:`~vertcut.errors.VertcutError` is the task's answer (bad input, a failed
encode): it is reported for that item and never retried, and the other items
go on. A worker or node that dies is Ray's business: it runs the task again
(``retries`` times). A remote task's progress, warnings and notes reach the
caller's sink while it runs, through a queue the run holds on the cluster
(progress at most twice a second per stage); if that queue is lost, the
warnings and notes come back with the task's result instead.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .. import __version__
from ..errors import UnsupportedError, VertcutError
from ..progress import ProgressEvent, ProgressSink

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "Outcome", "RayExecutor", "make_executor"]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")

Task = Callable[[T, ProgressSink], R]


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What one item gave: a value or a vertcut error, and where it ran."""

    index: int  # the item's position in the list given to ``run``
    value: R | None
    error: VertcutError | None
    worker: dict[str, Any] = field(default_factory=dict)  # host, pid (and Ray's node id and CPUs reserved)
    events: tuple[ProgressEvent, ...] = ()  # warnings and notes a remote task reported


class Executor(ABC):
    """Runs a task over items and yields each :class:`Outcome` as it completes."""

    name: str
    threads_per_task: int | None = None  # the ffmpeg thread cap a task's encodes use (None: their own choice)

    @abstractmethod
    def run(self, task: Task[T, R], items: Sequence[T], sink: ProgressSink | None = None) -> Iterator[Outcome[R]]:
        """Run ``task(item, sink)`` for every item; outcomes come in completion order."""

    @abstractmethod
    def close(self) -> None:
        """Release what the executor holds (a cluster it started; one that was running keeps running)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _where() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def fingerprint() -> dict[str, str]:
    """What must match between the caller and a worker for outputs to be the same wherever they are made."""
    from ..ffmpeg import ffmpeg_version

    return {"vertcut": __version__, "python": platform.python_version(), "ffmpeg": ffmpeg_version()}


def _call(task: Task[T, R], index: int, item: T, sink: ProgressSink | None) -> Outcome[R]:
    try:
        return Outcome(index, task(item, sink or (lambda ev: None)), None, _where())
    except VertcutError as exc:
        return Outcome(index, None, exc, _where())


class LocalExecutor(Executor):
    """``workers`` items at once in threads on this machine; the caller's sink sees progress live."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    def close(self) -> None:
        """Nothing to release: the threads end with each run."""

    def run(self, task: Task[T, R], items: Sequence[T], sink: ProgressSink | None = None) -> Iterator[Outcome[R]]:
        if self.workers == 1:  # in order, in this thread (tracebacks and debuggers stay simple)
            for i, item in enumerate(items):
                yield _call(task, i, item, sink)
            return
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(_call, task, i, item, sink) for i, item in enumerate(items)]
            for f in as_completed(futures):
                yield f.result()


# a remote task's "advance" events reach the caller at most this often per stage (seconds)
_ADVANCE_EVERY = 0.5


def _remote_call(task: Task[T, R], index: int, item: T, expected: dict[str, str], queue: Any = None) -> Outcome[R]:
    """A task on a Ray worker: refuse a node that differs; send its events to the caller's ``queue``
    (a ``ray.util.queue.Queue``) as they happen, or keep its warnings and notes for the result."""
    here = fingerprint()
    if here != expected:
        diff = ", ".join(f"{k} {here.get(k)} (caller: {v})" for k, v in expected.items() if here.get(k) != v)
        err = UnsupportedError(f"node {socket.gethostname()} runs a different {diff}; install the same on every node")
        return Outcome(index, None, err, _where())
    events: list[ProgressEvent] = []
    last: dict[str, float] = {}

    def keep(ev: ProgressEvent) -> None:
        nonlocal queue
        if queue is not None:
            if ev.kind == "advance":
                now = time.monotonic()
                if now - last.get(ev.stage, -_ADVANCE_EVERY) < _ADVANCE_EVERY:
                    return
                last[ev.stage] = now
            try:
                queue.put_nowait(ev)
                return
            except Exception:  # the caller's queue is gone (its process, or a node): keep what matters
                queue = None
        if ev.kind in ("warning", "info"):
            events.append(ev)

    out = _call(task, index, item, keep)
    import ray

    here_ctx: Any = ray.get_runtime_context()
    worker = {**out.worker, "node": here_ctx.get_node_id(), "cpus": here_ctx.get_assigned_resources().get("CPU")}
    return Outcome(out.index, out.value, out.error, worker, tuple(events))


class RayExecutor(Executor):
    """Ray core tasks on an existing cluster.

    Args:
        address: the cluster: ``auto`` (the one this machine belongs to; ``RAY_ADDRESS`` if set),
            ``HOST:PORT``, or ``local`` (a throw-away cluster on this machine, for trying it out and
            for tests). If Ray is already initialised in this process, that is used.
        cpus_per_task: CPUs Ray reserves for each task; an episode's encodes use as many threads
            (rounded up), not one per CPU of the node.
        retries: times a task is run again when its worker or node dies (not when it fails).

    Raises:
        UnsupportedError: Ray is not installed.
        VertcutError: the cluster cannot be reached.
    """

    name = "ray"

    def __init__(self, address: str = "auto", *, cpus_per_task: float = 1, retries: int = 3) -> None:
        try:
            import ray
        except ImportError:
            raise UnsupportedError('the ray executor needs Ray: pip install "vertcut[ray]"') from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            try:
                if address == "local":
                    ray.init(**kwargs)
                    self._started = True
                else:
                    ray.init(address=address, **kwargs)  # "auto": an existing cluster, or an error
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = os.environ.get("RAY_ADDRESS", address)
                raise VertcutError(f"cannot reach the Ray cluster at {where}: {exc}") from None
        self._task_options = {"num_cpus": cpus_per_task, "max_retries": retries}
        # ffmpeg and x264 would otherwise start threads for every CPU of the node, in every task
        self.threads_per_task = max(1, math.ceil(cpus_per_task))
        self._fn: Any = ray.remote(_remote_call)
        self._remote: Any = self._fn.options(**self._task_options)

    def close(self) -> None:
        if self._started:  # the throw-away cluster of address="local"
            self._ray.shutdown()
            self._started = False

    def on_every_node(self, task: Task[T, R], item: T) -> list[Outcome[R]]:
        """``task(item)`` once on every live node (``vertcut doctor`` checks the nodes this way)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        expected = fingerprint()
        nodes = [n["NodeID"] for n in self._ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
        refs = [
            self._fn.options(
                **self._task_options, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
            ).remote(task, i, item, expected)
            for i, node in enumerate(nodes)
        ]
        return [self._ray.get(ref) for ref in refs]

    def run(self, task: Task[T, R], items: Sequence[T], sink: ProgressSink | None = None) -> Iterator[Outcome[R]]:
        ray = self._ray
        expected = fingerprint()
        queue = self._queue() if sink is not None else None
        refs = {self._remote.remote(task, i, item, expected, queue): i for i, item in enumerate(items)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=_ADVANCE_EVERY)
                _drain(queue, sink)
                for ref in done:
                    try:
                        outcome: Outcome[R] = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # a worker kept dying, or the task's code crashed
                        cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                        err = VertcutError(f"the Ray task failed: {cause}")
                        outcome = Outcome(refs[ref], None, err, {})
                    if sink is not None:
                        for ev in outcome.events:
                            sink(ev)
                    yield outcome
        finally:
            for ref in pending:  # the caller stopped early (an error, Ctrl-C): do not leave work running
                ray.cancel(ref, force=True)
            if queue is not None:
                ray.kill(queue.actor)

    def _queue(self) -> Any:
        """A queue on the cluster for the tasks' events (an actor that reserves no CPU, so that it never
        waits behind the tasks); None if it cannot be made (the tasks then keep their warnings)."""
        try:
            from ray.util.queue import Queue

            return Queue(actor_options={"num_cpus": 0})
        except Exception:  # progress is a nicety; the work must not fail for it
            return None


def _drain(queue: Any, sink: ProgressSink | None) -> None:
    """Pass the events waiting in ``queue`` to ``sink``."""
    if queue is None or sink is None:
        return
    try:
        waiting = queue.qsize()
        events = queue.get_nowait_batch(waiting) if waiting else []
    except Exception:  # the queue's actor died: the tasks fall back to their results
        return
    for ev in events:
        sink(ev)


def make_executor(
    kind: str = "local", *, workers: int = 1, address: str = "auto", retries: int = 3, cpus_per_task: float = 1
) -> Executor:
    """The executor named ``kind`` (``local`` or ``ray``)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, cpus_per_task=cpus_per_task, retries=retries)
    raise UnsupportedError(f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})")
