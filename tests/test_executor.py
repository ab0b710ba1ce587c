"""Executors: the same work on this machine (threads) or as tasks on a Ray cluster.

The Ray tests start one throw-away cluster on this machine for the module. An
environment marker is set only while the cluster starts, so only its worker
processes carry it: a task that reports the marker and a process id other than
the test's ran on a cluster worker, not here (the local executor, the negative
control, reports neither).
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import m3u8
import pytest
from conftest import run_cli, tiny_ladder
from mediagen import make_clip, x264_threads

from vertcut import errors
from vertcut.errors import InvalidMediaError, VertcutError
from vertcut.jobs.executor import LocalExecutor, Outcome, make_executor
from vertcut.media import probe
from vertcut.progress import ProgressEvent, ProgressSink

MARKER = "VERTCUT_TEST_WORKER_MARKER"


def where(item: int, sink: ProgressSink) -> tuple[int, int, str | None]:
    """A task: the item squared, this process's id, and the worker-only marker."""
    if item < 0:
        raise InvalidMediaError("negative item", path=f"item{item}")
    sink(ProgressEvent("warning", "test", text=f"item {item}"))
    return item * item, os.getpid(), os.environ.get(MARKER)


def test_every_error_class_survives_pickling() -> None:
    """Errors cross process boundaries (Ray) with their class, message and path."""
    for name in errors.__all__:
        cls = getattr(errors, name)
        exc = cls("what went wrong", path="/media/ep01.mp4")
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is cls and str(back) == str(exc) == "/media/ep01.mp4: what went wrong"


def test_local_executor_runs_here_and_isolates_failures() -> None:
    seen: list[ProgressEvent] = []
    for workers in (1, 3):
        out = sorted(LocalExecutor(workers).run(where, [1, 2, -3, 4], seen.append), key=lambda o: o.index)
        assert [o.value[0] if o.value else None for o in out] == [1, 4, None, 16]
        assert isinstance(out[2].error, InvalidMediaError) and str(out[2].error) == "item-3: negative item"
        assert all(o.value[1] == os.getpid() and o.value[2] is None for o in out if o.value)  # here, no marker
        assert all(o.worker["pid"] == os.getpid() for o in out)
    assert sum(ev.text == "item 4" for ev in seen) == 2  # progress reaches the caller's sink live


def test_unknown_executor_and_missing_ray_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(VertcutError, match="unknown executor 'spark'"):
        make_executor("spark")
    import builtins

    real_import = builtins.__import__

    def no_ray(name: str, *args: object, **kwargs: object) -> object:
        if name == "ray":
            raise ImportError("no ray")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(errors.UnsupportedError, match=r'pip install "vertcut\[ray\]"'):
        make_executor("ray")


@pytest.mark.parametrize("value", ["0", "-1", "two", "0.001", "inf", "nan"])
def test_cpus_per_task_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    res = run_cli("run", str(tmp_path / "m.mp4"), "-o", str(tmp_path / "o"), "--executor", "ray",
                  "--cpus-per-task", value)  # fmt: skip
    assert res.exit_code != 0 and "Traceback" not in res.output, res.output
    assert ("--cpus-per-task" in res.output and res.exit_code == 2) or "CPUs per task must be" in res.output
    assert not (tmp_path / "o").exists()


def wait_for_go(item: str, sink: ProgressSink) -> bool:
    """A task: report progress, then wait (up to 30 s) for the file ``item``, which the test's sink makes
    when the progress reaches it: only possible while the task still runs if progress comes live."""
    sink(ProgressEvent("start", "test", 0, 2, "steps"))
    sink(ProgressEvent("advance", "test", 1, 2, "steps"))
    go, deadline = Path(item), time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    sink(ProgressEvent("warning", "test", text="went on"))
    return go.exists()


def test_live_progress_is_thinned_but_keeps_each_stages_last_advance() -> None:
    from vertcut.jobs.executor import _Live

    got: list[ProgressEvent] = []

    class Box:  # stands in for the caller's actor: box.put.remote(ev)
        class put:
            @staticmethod
            def remote(ev: ProgressEvent) -> None:
                got.append(ev)

    live = _Live(Box())
    live(ProgressEvent("start", "encode", 0, 10))
    for done in range(1, 11):  # ten at once: only the first goes out at once, the last before the end
        live(ProgressEvent("advance", "encode", done, 10))
    live(ProgressEvent("end", "encode"))
    assert [(ev.kind, ev.done) for ev in got] == [("start", 0), ("advance", 1), ("advance", 10), ("end", None)]


# --- on a Ray cluster -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="the ray executor's tests need Ray (pip install 'vertcut[ray]')")
    # the workers import this module's task by name, so they need this folder on their path
    path = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", PYTHONPATH=path, **{MARKER: "1"})
    try:  # a short session path: Unix sockets allow 107 characters
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 object_store_memory=100 * 2**20, _temp_dir=tempfile.mkdtemp(prefix="vr"))  # fmt: skip
    finally:
        del os.environ[MARKER]  # only the cluster's processes carry it
    yield
    ray.shutdown()


def test_ray_tasks_run_on_cluster_workers(ray_cluster: None) -> None:
    seen: list[ProgressEvent] = []
    with make_executor("ray") as pool:
        out: list[Outcome[tuple[int, int, str | None]]] = sorted(pool.run(where, [1, 2, -3], seen.append),
                                                                  key=lambda o: o.index)  # fmt: skip
    assert [o.value[0] if o.value else None for o in out] == [1, 4, None]
    for o in out[:2]:
        assert o.value is not None
        _, pid, marker = o.value
        assert pid != os.getpid() and marker == "1" and o.worker["pid"] == pid and o.worker["node"]
        assert o.worker["cpus"] == 1  # the CPUs the cluster reserved for the task (the default)
    # a vertcut error is the item's answer: same class and message as here, not retried
    assert isinstance(out[2].error, InvalidMediaError) and str(out[2].error) == "item-3: negative item"
    assert sorted(ev.text for ev in seen) == ["item 1", "item 2"]  # the workers' warnings come back


def test_ray_progress_reaches_the_caller_while_the_task_runs(tmp_path: Path, ray_cluster: None) -> None:
    go, seen = tmp_path / "go", []

    def sink(ev: ProgressEvent) -> None:
        seen.append(ev)
        if ev.kind == "advance":
            go.touch()

    with make_executor("ray") as pool:
        (out,) = list(pool.run(wait_for_go, [str(go)], sink))
    assert out.value is True and out.error is None
    assert [(ev.kind, ev.done) for ev in seen] == [("start", 0), ("advance", 1), ("warning", None)]  # each once


def test_ray_refuses_more_cpus_per_task_than_any_node_has(tmp_path: Path, ray_cluster: None) -> None:
    with pytest.raises(VertcutError, match=r"no node of the Ray cluster has 3 CPUs for a task \(the largest has 2\)"):
        make_executor("ray", cpus_per_task=3)
    res = run_cli("doctor", "--executor", "ray", "--cpus-per-task", "3", "--shared", str(tmp_path))
    assert (
        res.exit_code == 1 and "no node of the Ray cluster has 3 CPUs" in res.stderr and "Traceback" not in res.output
    )


def test_ray_refuses_a_node_that_differs(ray_cluster: None) -> None:
    import ray

    from vertcut.jobs.executor import _remote_call, fingerprint

    other = {**fingerprint(), "ffmpeg": "ffmpeg version 4.4"}
    outcome = ray.get(ray.remote(_remote_call).remote(where, 0, 5, other))
    assert outcome.value is None and "runs a different ffmpeg" in str(outcome.error)


def test_cli_run_encodes_episodes_on_the_cluster(
    tmp_path: Path, ray_cluster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01 cliffhanger\n")
    # 2 s episodes (the split runs in the command; the presets folder is only read there)
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "1s"\nwarn_duration = "1s"\n')
    outs = {}
    for executor in ("local", "ray"):
        outs[executor] = out = tmp_path / executor
        res = run_cli("run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--package", "hls",
                      "--ladder", "h264-default", "-o", str(out), "--executor", executor,
                      "--cpus-per-task", "2", "--mezzanine")  # fmt: skip
        assert res.exit_code == 0, res.output
    report = json.loads((outs["ray"] / "report.json").read_text())
    assert report["stages"]["render"] == "done"
    assert set(report["workers"]) == {"ep001", "ep002"}
    assert all(w["pid"] != os.getpid() and w["node"] for w in report["workers"].values())
    assert [w["cpus"] for w in report["workers"].values()] == [2, 2]  # --cpus-per-task reached the cluster
    # the same episodes, renditions and frames wherever they were rendered
    for ep in ("ep001", "ep002"):
        made = {}
        for executor, out in outs.items():
            pl = m3u8.load(str(out / "encoded" / ep / "cmaf" / "master.m3u8"))
            made[executor] = [(p.stream_info.resolution, p.uri) for p in pl.playlists]
        assert made["local"] == made["ray"] and len(made["ray"]) == 4
        for executor, out in outs.items():  # every rendition holds the whole 2 s episode
            for _, uri in made[executor]:
                media = m3u8.load(str(out / "encoded" / ep / "cmaf" / uri))
                assert abs(sum(seg.duration for seg in media.segments) - 2.0) < 1e-3, (executor, uri)
    frames = {x: probe(outs[x] / "episodes" / "ep002.mp4").video[0].frame_count for x in outs}
    assert frames == {"local": 50, "ray": 50}
    # each task's x264 encoders ran as many threads as it had CPUs reserved, not one per CPU of the node
    # (x264 records its settings in the stream; left to itself it takes 1.5 per CPU of the machine)
    for executor, out in outs.items():
        threads = x264_threads(sorted((out / "encoded" / "ep001" / "cmaf").glob("chunk-stream0-*.m4s"))[0])
        assert threads is not None, executor
        assert (threads == 2) == (executor == "ray"), (executor, threads)


def test_cli_batch_on_the_cluster_isolates_a_bad_master(tmp_path: Path, ray_cluster: None) -> None:
    good = make_clip(tmp_path / "good.mp4", frames=50, size=(320, 180), shot_len=25)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0" * 1000)
    (tmp_path / "series.toml").write_text(
        f'[defaults]\npackages = ["mp4"]\n\n[[job]]\nmaster = "{bad}"\nout = "{tmp_path / "o-bad"}"\n\n'
        f'[[job]]\nmaster = "{good}"\nout = "{tmp_path / "o-good"}"\n'
    )
    res = run_cli("batch", str(tmp_path / "series.toml"), "--executor", "ray", "--cpus-per-task", "2")
    assert res.exit_code == errors.EXIT_BATCH, res.output
    # a task is the master's whole job: its one render's encodes ran 2 x264 threads (no markers: one
    # episode; no reframed intermediate)
    made = sorted((tmp_path / "o-good").rglob("*.mp4"))
    assert {p.parent.name for p in made} == {"mp4"}, made
    for path in made:
        assert x264_threads(path) == 2, path
    assert f"ok      {good} -> {tmp_path / 'o-good'}" in res.stdout
    assert res.stdout.count("FAILED") == 1 and f"FAILED  {bad}: {bad}:" in res.stdout
    assert "1 of 2 jobs succeeded" in res.stdout
    assert (tmp_path / "o-good" / "report.json").exists() and not (tmp_path / "o-bad" / "report.json").exists()


def test_doctor_checks_every_node_of_the_cluster(tmp_path: Path, ray_cluster: None) -> None:
    res = run_cli("doctor", "--executor", "ray", "--shared", str(tmp_path), "--json")
    assert res.exit_code == 0, res.output
    nodes = [c for c in json.loads(res.stdout) if c["node"]]
    assert {c["name"] for c in nodes} == {"node software", "node shared folder"}
    assert all(c["status"] == "ok" for c in nodes) and f"{tmp_path} seen" in nodes[-1]["detail"]
    assert not list(tmp_path.iterdir())  # the sentinel is gone


from vertcut.cli.commands.run import DETERMINISTIC_THREADS  # noqa: E402


def _media_digests(out: Path) -> dict[str, str]:
    """sha256 of every delivered media file and playlist (not the reports: they hold paths and hosts)."""
    import hashlib

    kinds = {".mp4", ".m4s", ".ts", ".m3u8", ".mpd", ".vtt", ".srt", ".png"}
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.suffix in kinds}  # fmt: skip


def test_deterministic_runs_give_the_same_bytes_locally_and_on_ray(
    tmp_path: Path, ray_cluster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--deterministic: two local runs (one and two episodes at once) and a Ray run give byte-identical
    media; without it the Ray run's encoders take their thread count from the task's CPUs."""
    master = make_clip(tmp_path / "m.mp4", frames=60, size=(320, 180), shot_len=30)
    (tmp_path / "cuts.csv").write_text("frame,name\n30,EP01 cliffhanger\n")
    (tmp_path / "m.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n", encoding="utf-8")
    (tmp_path / "m.en.srt").write_text("1\n00:00:00,200 --> 00:00:01,600\nWhere were you?\n", encoding="utf-8")
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(tmp_path / "presets"))
    (tmp_path / "presets" / "split").mkdir(parents=True)
    (tmp_path / "presets" / "split" / "default.toml").write_text('min_duration = "1s"\nwarn_duration = "1s"\n')
    tiny_ladder(tmp_path / "presets")
    base = ["run", str(master), "--markers", str(tmp_path / "cuts.csv"), "--subs", str(tmp_path / "m.zh.srt"),
            "--subs", str(tmp_path / "m.en.srt"), "--package", "hls,ts,mp4", "--ladder", "tiny",
            "--labels", "aigc", "--deterministic"]  # fmt: skip
    digests = {}
    for name, extra in (("a", ["-j", "1"]), ("b", ["-j", "2"]), ("ray", ["--executor", "ray", "--cpus-per-task", "2"])):
        res = run_cli(*base, *extra, "-o", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        digests[name] = _media_digests(tmp_path / name)
    assert len(digests["a"]) > 20
    for name in ("b", "ray"):
        differ = sorted(k for k in digests["a"] if digests["a"][k] != digests[name].get(k))
        assert not differ and digests[name].keys() == digests["a"].keys(), (name, differ[:5])
    # the fixed count, not the task's two CPUs (x264 records its settings in the stream)
    threads = x264_threads(sorted((tmp_path / "ray" / "encoded" / "ep001" / "cmaf").glob("chunk-stream0-*.m4s"))[0])
    assert threads == DETERMINISTIC_THREADS == 1
