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
(``retries`` times). A remote task's progress reaches the caller's sink while
it runs, through an actor the run holds on the cluster (``advance`` at most
twice a second per task and stage); its warnings and notes come back with its
result, once even if Ray ran it again.
"""

from __future__ import annotations

import contextlib
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
_LIVE_KINDS = ("start", "advance", "end", "command")  # warnings and notes come with the result, once


class _EventBox:
    """A Ray actor holding a run's live progress events until the caller takes them."""

    def __init__(self) -> None:
        self._events: list[ProgressEvent] = []

    def put(self, ev: ProgressEvent) -> None:
        self._events.append(ev)

    def take(self) -> list[ProgressEvent]:
        out, self._events = self._events, []
        return out


class _Live:
    """A task's sink for live events: sends them to the caller's :class:`_EventBox` without waiting
    (a task blocked in ``ray.get`` would lend its CPUs to another task), ``advance`` at most every
    ``_ADVANCE_EVERY`` seconds per stage, the last one held back until the stage ends."""

    def __init__(self, box: Any) -> None:
        self.box, self.sent = box, None
        self._last: dict[str, float] = {}
        self._held: dict[str, ProgressEvent] = {}

    def __call__(self, ev: ProgressEvent) -> None:
        if self.box is None:
            return
        if ev.kind == "advance":
            now = time.monotonic()
            if now - self._last.get(ev.stage, -_ADVANCE_EVERY) < _ADVANCE_EVERY:
                self._held[ev.stage] = ev
                return
            self._last[ev.stage] = now
            self._held.pop(ev.stage, None)
        elif ev.kind == "end" and ev.stage in self._held:
            self._send(self._held.pop(ev.stage))
        self._send(ev)

    def _send(self, ev: ProgressEvent) -> None:
        try:
            self.sent = self.box.put.remote(ev)  # calls from one task to one actor run in order
        except Exception:  # the caller's box is gone (its process, or a node): progress stops, work goes on
            self.box = None

    def flush(self, ray: Any) -> None:
        """Wait (briefly) until the caller's box holds every event sent, so they come before the result."""
        if self.sent is not None:
            ray.wait([self.sent], timeout=5)


def _remote_call(task: Task[T, R], index: int, item: T, expected: dict[str, str], box: Any = None) -> Outcome[R]:
    """A task on a Ray worker: refuse a node that differs; send its progress to the caller's ``box``
    as it happens; keep its warnings and notes for the result (so a rerun task reports them once)."""
    here = fingerprint()
    if here != expected:
        diff = ", ".join(f"{k} {here.get(k)} (caller: {v})" for k, v in expected.items() if here.get(k) != v)
        err = UnsupportedError(f"node {socket.gethostname()} runs a different {diff}; install the same on every node")
        return Outcome(index, None, err, _where())
    events: list[ProgressEvent] = []
    live = _Live(box)

    def keep(ev: ProgressEvent) -> None:
        if ev.kind in _LIVE_KINDS:
            live(ev)
        elif ev.kind in ("warning", "info"):
            events.append(ev)

    out = _call(task, index, item, keep)
    import ray

    live.flush(ray)
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
        if not (math.isfinite(cpus_per_task) and cpus_per_task >= 0.01):
            raise VertcutError(f"CPUs per task must be a number from 0.01 up, not {cpus_per_task}")
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
        nodes: Any = ray.nodes()  # type: ignore[no-untyped-call]
        largest = max((n.get("Resources", {}).get("CPU", 0) for n in nodes if n.get("Alive")), default=0)
        if cpus_per_task > largest:  # Ray would keep such tasks waiting for a node forever
            self.close()
            raise VertcutError(f"no node of the Ray cluster has {cpus_per_task:g} CPUs for a task (the largest has "
                               f"{largest:g})")  # fmt: skip
        self._task_options = {"num_cpus": cpus_per_task, "max_retries": retries}
        # ffmpeg and x264 would otherwise start threads for every CPU of the node, in every task
        self.threads_per_task = max(1, math.ceil(cpus_per_task))
        self._box_cls: Any = None
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
        refs = [  # a check reserves no CPU: it must run on every node, however busy or small
            self._fn.options(
                num_cpus=0, max_retries=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
            ).remote(task, i, item, expected)
            for i, node in enumerate(nodes)
        ]
        return [self._ray.get(ref) for ref in refs]

    def run(self, task: Task[T, R], items: Sequence[T], sink: ProgressSink | None = None) -> Iterator[Outcome[R]]:
        ray = self._ray
        expected = fingerprint()
        box = self._event_box() if sink is not None else None
        refs = {self._remote.remote(task, i, item, expected, box): i for i, item in enumerate(items)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=_ADVANCE_EVERY if box else None)
                box = _drain(ray, box, sink)
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
            with contextlib.suppress(Exception):  # Ray may be gone already: keep the original error
                for ref in pending:  # the caller stopped early (an error, Ctrl-C): do not leave work running
                    ray.cancel(ref, force=True)
                if box is not None:
                    ray.kill(box)

    def _event_box(self) -> Any:
        """An actor on the cluster holding the tasks' live progress (reserving no CPU, so it never waits
        behind the tasks); None if it cannot be made (progress then comes per finished task)."""
        try:
            if self._box_cls is None:
                self._box_cls = self._ray.remote(num_cpus=0)(_EventBox)
            return self._box_cls.remote()
        except Exception:  # progress is a nicety; the work must not fail for it
            return None


def _drain(ray: Any, box: Any, sink: ProgressSink | None) -> Any:
    """Pass the events waiting in ``box`` to ``sink``; the box, or None once it stops answering."""
    if box is None or sink is None:
        return box
    try:
        events: list[ProgressEvent] = ray.get(box.take.remote(), timeout=2)
    except Exception:  # the box's actor died or cannot be reached: no more live progress in this run
        return None
    for ev in events:
        sink(ev)
    return box


def make_executor(
    kind: str = "local", *, workers: int = 1, address: str = "auto", retries: int = 3, cpus_per_task: float = 1
) -> Executor:
    """The executor named ``kind`` (``local`` or ``ray``)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, cpus_per_task=cpus_per_task, retries=retries)
    raise UnsupportedError(f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})")
