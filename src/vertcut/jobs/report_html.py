"""``report.html``: the series report page beside ``report.json``, for people who sign a series off.

One self-contained file (no network: styles inline, poster frames and the contact sheet embedded as
data URIs): the series totals, then per episode a poster frame, its number, tier, duration, frame
range, the marker and its snap, the rungs with their sizes and bit rates, VMAF when measured, its
soft subtitle languages, labels and watermark, its warnings, and a player (HTML5 video of the
progressive MP4 rung beside the page; the HLS master playlist linked).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from ..fsutil import atomic_path

__all__ = ["PLAYER_RUNG", "POSTER_RUNG", "write_report_html"]

PLAYER_RUNG = "720p"  # the rung the page plays (what a phone shows; small enough to open from a share)
POSTER_RUNG = "540p"  # the rung poster frames are decoded from


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _poster(video: Path, at: float, width: int = 270) -> bytes | None:
    """A JPEG of the frame nearest ``at`` seconds in ``video`` (None when it cannot be read)."""
    import av
    import cv2

    try:
        with av.open(str(video)) as c:
            s = c.streams.video[0]
            chosen = None
            for frame in c.decode(s):
                chosen = frame
                if frame.time is not None and frame.time >= at:
                    break
            if chosen is None:
                return None
            h = max(2, round(chosen.height * width / chosen.width))
            img = chosen.reformat(width=width, height=h, format="bgr24").to_ndarray()
    except (av.error.FFmpegError, IndexError, OSError):
        return None
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 82])
    return bytes(buf) if ok else None


def _sheet(path: Path, width: int = 1400) -> bytes | None:
    import cv2

    img = cv2.imread(str(path))
    if img is None:
        return None
    if img.shape[1] > width:
        img = cv2.resize(img, (width, round(img.shape[0] * width / img.shape[1])), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return bytes(buf) if ok else None


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _rungs(out: Path, ep: str, enc: dict[str, Any]) -> str:
    rows = []
    vmaf = enc.get("vmaf") or {}
    for r in enc.get("rungs", []):
        mp4 = out / "encoded" / ep / "mp4" / f"{r['name']}.mp4"
        size = _size(mp4.stat().st_size) if mp4.is_file() else "-"
        score = vmaf.get(r["name"], {}).get("mean")
        rows.append(
            f"<tr><td>{_esc(r['name'])}</td><td>{r['width']}x{r['height']}</td>"
            f"<td>{r['average_bandwidth'] / 1000:.0f}</td><td>{r['bandwidth'] / 1000:.0f}</td><td>{size}</td>"
            f"<td>{_esc(r.get('codecs', ''))}</td><td>{'' if score is None else f'{score:.1f}'}</td></tr>"
        )
    head = "<tr><th>rung</th><th>size</th><th>avg kbit/s</th><th>peak kbit/s</th><th>MP4</th><th>codecs</th><th>VMAF</th></tr>"
    return f"<table class='rungs'>{head}{''.join(rows)}</table>"


def _rung_file(out: Path, ep: str, enc: dict[str, Any], wanted: str) -> Path:
    """The progressive MP4 of rung ``wanted`` (e.g. 720p), else of the rung nearest its height."""
    folder = out / "encoded" / ep / "mp4"
    if (folder / f"{wanted}.mp4").is_file():
        return folder / f"{wanted}.mp4"
    target = int(wanted.rstrip("p") or 0)
    rungs = sorted(enc.get("rungs", []), key=lambda r: abs(min(r["width"], r["height"]) - target))
    for r in rungs:
        if (folder / f"{r['name']}.mp4").is_file():
            return folder / f"{r['name']}.mp4"
    return folder / f"{wanted}.mp4"


def _marker(e: dict[str, Any]) -> str:
    m = e.get("marker")
    if not m:
        return "the end of the master"
    moved = m.get("offset_frames", 0)
    snap = f"snapped {moved:+d} frames to a {m.get('snap')}" if moved else f"on frame ({m.get('snap')})"
    return f"{_esc(m.get('name', ''))} ({_esc(m.get('colour') or 'no colour')}) at frame {m.get('frame')}, {snap}"


def _episode(out: Path, e: dict[str, Any], warnings: list[str]) -> str:
    ep = e["id"]
    enc_path = out / "encoded" / ep / "report.json"
    enc: dict[str, Any] = json.loads(enc_path.read_text()) if enc_path.is_file() else {}
    mp4 = _rung_file(out, ep, enc, PLAYER_RUNG)
    poster_src = _rung_file(out, ep, enc, POSTER_RUNG)
    duration = float(e["duration"]["s"])
    jpeg = _poster(poster_src, min(1.0, duration / 2))
    poster = f"<img class='poster' alt='{_esc(ep)} poster' src='{_data_uri(jpeg)}'>" if jpeg else ""
    poster_attr = f" poster='{_data_uri(jpeg)}'" if jpeg else ""
    player = (
        f"<video id='video-{_esc(ep)}' controls preload='metadata' playsinline muted width='270'{poster_attr} "
        f"src='{_esc(mp4.relative_to(out).as_posix())}'></video>"
        if mp4.is_file()
        else "<p>(no progressive MP4)</p>"
    )
    hls = out / "encoded" / ep / "cmaf" / "master.m3u8"
    links = f"<a href='{_esc(hls.relative_to(out).as_posix())}'>HLS master playlist</a>" if hls.is_file() else ""
    d = e.get("delivery") or {}
    langs = ", ".join(f"{_esc(s['name'])} ({_esc(s['lang'])})" for s in d.get("soft_subtitles", [])) or "none"
    labels = ", ".join(f"{_esc(lb['name'])} {float(lb['seconds']):.1f} s" for lb in d.get("labels", [])) or "none"
    mark = d.get("watermark")
    mine = (f"{ep}:", f" {ep} ", f"episode {e['number']} (")
    own = [w for w in warnings if any(k in w for k in mine)] + list(enc.get("warnings", []))
    warn = "".join(f"<li>{_esc(w)}</li>" for w in own) or "<li class='ok'>none</li>"
    frames = e["frames"]
    loud = enc.get("loudness", {})
    measured = loud.get("measured", {})
    return f"""
<section class="episode" id="{_esc(ep)}">
  <div class="media">{poster}{player}</div>
  <div class="facts">
    <h2>Episode {e["number"]} <span class="tier {_esc(e["tier"])}">{_esc(e["tier"])}</span></h2>
    <dl>
      <dt>duration</dt><dd>{duration:.2f} s ({_esc(e["duration"]["seconds"])} s exactly)</dd>
      <dt>frames</dt><dd>{frames["first"]}-{frames["last"]} ({frames["count"]} frames)</dd>
      <dt>cut at</dt><dd>{_marker(e)}</dd>
      <dt>verified</dt><dd>{"yes" if e.get("verification", {}).get("ok") else "NO"}</dd>
      <dt>loudness</dt><dd>{_esc(measured.get("input_i", "-"))} LUFS measured, {_esc(loud.get("mode", "-"))}</dd>
      <dt>soft subtitles</dt><dd>{langs}</dd>
      <dt>labels</dt><dd>{labels}</dd>
      <dt>watermark</dt><dd>{_esc(mark["distributor"]) + " (" + _esc(mark["payload"]) + ")" if mark else "none"}</dd>
      <dt>packages</dt><dd>{links}</dd>
    </dl>
    {_rungs(out, ep, enc)}
    <h3>Warnings</h3><ul class="warnings">{warn}</ul>
  </div>
</section>"""


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f2;color:#1b1b1b}
header{background:#1b1b1b;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
main{padding:12px 28px 40px}.totals{display:flex;gap:28px;flex-wrap:wrap;margin:10px 0 20px}
.totals div{background:#fff;padding:10px 16px;border-radius:6px}.totals b{display:block;font-size:20px}
.episode{display:flex;gap:24px;background:#fff;border-radius:8px;padding:16px;margin:0 0 18px}
.media{display:flex;gap:8px;align-items:flex-start}.poster{width:135px;border-radius:4px}video{width:270px;border-radius:4px;background:#000}
.facts{flex:1}.facts h2{margin:0 0 8px}dl{display:grid;grid-template-columns:130px 1fr;margin:0 0 10px}
dt{color:#666}dd{margin:0}.tier{font-size:13px;padding:2px 8px;border-radius:10px;vertical-align:middle}
.tier.free{background:#dff3df}.tier.paid{background:#f9e0c7}table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:right}td:first-child,th:first-child{text-align:left}
.warnings{margin:4px 0;color:#8a4b00}.warnings .ok{color:#2d6a2d}.sheet img{max-width:100%;border-radius:6px}
"""


def write_report_html(out: Path, manifest: dict[str, Any], report: dict[str, Any]) -> Path:
    """Write ``out/report.html`` for a finished ``vertcut run`` output folder (atomically)."""
    totals = manifest.get("totals", {})
    episodes = manifest.get("episodes", [])
    warnings = list(report.get("warnings", []))
    paid = sum(1 for e in episodes if e.get("tier") == "paid")
    sheet = ""
    if manifest.get("contact_sheet"):
        jpeg = _sheet(out / "episodes" / manifest["contact_sheet"])
        if jpeg:
            sheet = f"<section class='sheet'><h2>Contact sheet (every cut)</h2><img alt='contact sheet' src='{_data_uri(jpeg)}'></section>"
    master = Path(str(report.get("master", "")))
    body = "".join(_episode(out, e, warnings) for e in episodes)
    series = "".join(f"<li>{_esc(w)}</li>" for w in warnings) or "<li class='ok'>none</li>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vertcut report: {_esc(master.name)}</title><style>{_STYLE}</style></head>
<body><header><h1>{_esc(master.name)}: {len(episodes)} vertical episodes</h1>
<div>{_esc(report.get("out", ""))} · vertcut {_esc(report.get("vertcut", ""))}</div></header>
<main>
<div class="totals">
  <div><b>{totals.get("episodes", len(episodes))}</b>episodes</div>
  <div><b>{float(totals.get("duration_s", 0)):.1f} s</b>in all</div>
  <div><b>{totals.get("frames", "-")}</b>frames</div>
  <div><b>{len(episodes) - paid} / {paid}</b>free / paid</div>
  <div><b>{"yes" if totals.get("verified") else "NO"}</b>all verified</div>
</div>
{body}
{sheet}
<section><h2>Series warnings</h2><ul class="warnings">{series}</ul></section>
</main></body></html>
"""
    dest = out / "report.html"
    with atomic_path(dest) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dest
