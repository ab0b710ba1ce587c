"""Memory stays flat as the input grows: peak RSS for 60 s vs 600 s of video.

Each measurement runs in a fresh child process (``resource`` peak RSS of the
child): the analysis pass (no cache) and the reframe render of a 640x360
clip. The figure is peak(600 s) / peak(60 s); 1.0 is perfectly flat, and
anything near 1.1 means the per-frame arrays (a few floats per frame) are
all that grows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Result
from bench.media import long_clip

_CHILD = """
import json, resource, sys
from pathlib import Path
src, what, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
if what == "analyse":
    from vertcut.analysis import analyse
    analyse(src, cache=False)
else:
    from vertcut.reframe import reframe
    reframe(src, out, size=(360, 640), encoder_args=["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"])
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _peak_kb(src: Path, what: str, work: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(src), what, str(work / f"{what}-{src.stem}.mp4")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(json.loads(out.stdout.strip().splitlines()[-1]))


def benchmarks(work: Path) -> Iterator[Result]:
    short, long = long_clip(work, 60), long_clip(work, 600)
    for what in ("analyse", "reframe"):
        a, b = _peak_kb(short, what, work), _peak_kb(long, what, work)
        yield Result(f"{what}: peak RSS 600 s / 60 s", b / a, 0.0, "", kind="figure",
                     note=f"{a / 1024:.0f} MiB -> {b / 1024:.0f} MiB (1.0 = flat)")  # fmt: skip
