"""``vertcut watermark detect|keygen``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ...errors import CheckFailedError
from ...watermark import Detection, WatermarkKey, detect
from ..state import get_state, split_csv

__all__ = ["command"]

KEY_ENV = "VERTCUT_WATERMARK_KEY"


@click.group("watermark")
def command() -> None:
    """Per-distributor invisible watermark: make a key; find the mark (and so the distributor) in a file."""


@command.command("keygen")
@click.option("--bits", type=click.Choice(["128", "192", "256"]), default="256", show_default=True, help="Key length.")
def keygen_cmd(bits: str) -> None:
    """Print a new random key (hex) on stdout; keep it secret, e.g. in VERTCUT_WATERMARK_KEY."""
    click.echo(str(WatermarkKey.generate(int(bits))))


@command.command("detect")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "key_text",
    metavar="HEX",
    help=f"The key (32-64 hex digits); default: ${KEY_ENV} (better: a command line is visible to other users).",
)
@click.option("--ids", default="", metavar="A,B,...", help="Distributor ids to name: the one whose code is found.")
@click.option("--json", "as_json", is_flag=True, help="The detection as JSON.")
def detect_cmd(file: Path, key_text: str | None, ids: str, as_json: bool) -> None:
    """Look for the key's mark in FILE; print the payload and distributor. Exit 6 when there is no mark.

    Frame 0 of FILE must be frame 0 of the marked episode (cuts at the start break the time sync).
    """
    if key_text is None:
        key_text = os.environ.get(KEY_ENV)
    if not key_text:
        raise click.UsageError(f"no watermark key: give --key or set {KEY_ENV}")
    key = WatermarkKey.parse(key_text)
    st = get_state()
    candidates = split_csv(ids)
    det = detect(file, key, candidates=candidates, ffmpeg=st.ffmpeg(), sink=st.sink)
    if as_json:
        click.echo(json.dumps({"file": str(file), "key": key.fingerprint, **det.to_dict()}, indent=2))
    else:
        click.echo(_line(file, det, bool(candidates)))
    if not det.found:
        why = "CRC mismatch" if det.p_value < 1e-6 else f"z {det.z:.2f}, p {det.p_value:.2g}"
        raise CheckFailedError(f"no watermark of key {key.fingerprint} found ({why})", path=file)


def _line(file: Path, det: Detection, named: bool) -> str:
    geometry = f"scale {det.scale:.2f}, offset {det.offset[0]:+.3f},{det.offset[1]:+.3f}"
    stats = f"z {det.z:.1f}, p {det.p_value:.2g}, {det.frames} frames"
    if not det.found:
        return f"{file}: no watermark ({stats})"
    assert det.payload is not None
    who = f"distributor {det.distributor}" if det.distributor else ("not one of --ids" if named else "")
    code = f"payload {det.payload} (0x{det.payload:08x})"
    return f"{file}: watermark found: {who + ', ' if who else ''}{code}; {stats}, {geometry}"
