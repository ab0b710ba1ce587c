"""Run the benchmarks: ``python -m bench [NAME ...] [--json FILE]``.

Each line prints vertcut's time, the peer's time for the same work in the
same run, and the speed ratio (peer / vertcut: above 1 means vertcut is
faster), with the target the issue sets.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Result


def main() -> int:
    here = Path(__file__).resolve().parent
    names = sorted(m.name[len("bench_") :] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(names)})")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = ap.parse_args()
    chosen = args.names or names
    unknown = set(chosen) - set(names)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="vertcut-bench-") as tmp:
        work = args.work or Path(tmp)
        for name in chosen:
            module = importlib.import_module(f"bench.bench_{name}")
            sub = work / name
            sub.mkdir(parents=True, exist_ok=True)
            for r in module.benchmarks(sub):
                results.append(r)
                _print(r)
    failed = [r for r in results if r.ok is False]
    print(f"\n{len(results)} benchmarks, {len(failed)} below target")
    if args.json:
        args.json.write_text(json.dumps([{**r.__dict__, "ratio": r.ratio, "ok": r.ok} for r in results], indent=2))
    return 1 if failed else 0


def _print(r: Result) -> None:
    if r.kind == "figure":
        target = f" (target >= {r.target:g})" if r.target is not None else ""
        mark = {True: "ok", False: "BELOW", None: ""}[r.ok]
        print(f"{r.name:<44} {r.ours_s:10.3f}{target} {mark}  {r.note}")
        return
    target = f"target >= {r.target:.2f}x" if r.target is not None else "no target"
    mark = {True: "ok", False: "BELOW", None: ""}[r.ok]
    print(
        f"{r.name:<44} vertcut {r.ours_s:8.3f}s  {r.peer:<22} {r.peer_s:8.3f}s  "
        f"ratio {r.ratio:6.2f}x  ({target}) {mark}  {r.note}"
    )


if __name__ == "__main__":
    sys.exit(main())
