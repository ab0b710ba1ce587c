"""Going out: soft subtitles in every package, required labels composited in the render, the implicit
label in every file's metadata, and the bad inputs of all three."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import av
import m3u8
import numpy as np
import pytest
from conftest import run_cli, tiny_ladder
from mediagen import make_clip

from vertcut.errors import EXIT_INPUT
from vertcut.subtitles import load_subtitles
from vertcut.subtitles.track import retime

ZH = "1\n00:00:00,200 --> 00:00:01,600\n你到底去了哪里？\n\n2\n00:00:02,000 --> 00:00:03,600\n我不能告诉你。\n"
EN = (
    "1\n00:00:00,240 --> 00:00:01,500\nWhere have you been all this time, my old friend?\n\n"
    "2\n00:00:01,900 --> 00:00:02,700\nI cannot tell you.\n\n3\n00:00:03,100 --> 00:00:03,900\nNot now.\n"
)
AR = "1\n00:00:00,300 --> 00:00:01,500\n2025 أين كنت؟\n\n2\n00:00:02,100 --> 00:00:03,500\n- لا أستطيع أن أخبرك.\n"
TH = "1\n00:00:00,500 --> 00:00:02,500\nฉันไม่สามารถบอกคุณได้ว่าฉันไปอยู่ที่ไหนมาตลอดเวลานี้\n"


def _presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """User presets: short episodes, and a label shown for the first second only."""
    base = tmp_path / "presets"
    monkeypatch.setenv("VERTCUT_PRESETS_DIR", str(base))
    (base / "split").mkdir(parents=True)
    (base / "split" / "default.toml").write_text('min_duration = "0.5s"\nwarn_duration = "0.5s"\n')
    tiny_ladder(base)
    (base / "label").mkdir()
    (base / "label" / "flash.toml").write_text(
        'text = "第{episode}集 {filing}"\nanchor = "top-left"\nsize_px = 60\nwhen = "start"\nseconds = 1\n'
        'text_colour = "#FFFFFF"\noutline_px = 0\n'
    )
    return base


def _ms(t: Fraction) -> int:
    return int(t * 1000)


def _vtt_cues(text: str) -> list[tuple[int, int, str]]:
    out = []
    for block in text.split("\n\n"):
        lines = block.strip().split("\n")
        for i, ln in enumerate(lines):
            m = re.match(r"(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})", ln)
            if m:
                g = [int(x) for x in m.groups()]
                start = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
                end = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
                out.append((start, end, "\n".join(lines[i + 1 :])))
    return out


def _first_video_pts_90k(path: Path) -> int:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = Fraction(s.time_base)
        return round(min(p.pts for p in c.demux(s) if p.pts is not None) * tb * 90000)


def test_soft_subtitles_in_every_package_with_exact_cue_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _presets(tmp_path, monkeypatch)
    master = make_clip(tmp_path / "m.mp4", frames=100, size=(320, 180), shot_len=25)
    for lang, text in (("zh", ZH), ("en", EN), ("ar", AR), ("th", TH)):
        (tmp_path / f"m.{lang}.srt").write_text(text, encoding="utf-8")
    (tmp_path / "cuts.csv").write_text("frame,name\n50,EP01 cliffhanger\n")
    out = tmp_path / "out"
    subs = [a for lang in ("zh", "en", "ar", "th") for a in ("--subs", str(tmp_path / f"m.{lang}.srt"))]
    res = run_cli("run", str(master), *subs, "--markers", str(tmp_path / "cuts.csv"), "--snap", "0f",
                  "--masters", "youtube-shorts", "--ladder", "tiny", "--mode", "center", "-o", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    plan = json.loads((out / "plan.json").read_text())
    sources = {lang: load_subtitles(tmp_path / f"m.{lang}.srt") for lang in ("en", "ar", "th")}
    for ep in plan["episodes"]:
        start, end = Fraction(ep["start"]), Fraction(ep["end"])
        folder = out / "encoded" / ep["id"]
        expected = {}
        for lang, track in sources.items():
            part, _ = retime(track, start, end, "clip")
            expected[lang] = [(_ms(c.start), _ms(c.end)) for c in part.cues]
        for package, first in (("cmaf", folder / "cmaf" / "init-stream0.m4s"), ("ts", None)):
            master_pl = m3u8.load(str(folder / package / "master.m3u8"))
            media = {m.language: m for m in master_pl.media if m.type == "SUBTITLES"}
            assert set(media) == {"en", "ar", "th"}  # the burned-in language is not repeated
            assert media["ar"].name == "العربية" and media["th"].name == "ไทย" and media["en"].name == "English"
            assert all(m.default == "NO" and m.autoselect == "YES" for m in media.values())  # zh is burned in
            assert all(p.stream_info.subtitles == "subs" for p in master_pl.playlists)
            # cue time 0 is the media time of the episode's first frame in that package
            if package == "cmaf":
                seg = folder / "cmaf" / "chunk-stream0-00001.m4s"
                assert first is not None
                joined = tmp_path / "first.mp4"
                joined.write_bytes(first.read_bytes() + seg.read_bytes())
                mpegts = _first_video_pts_90k(joined)
            else:
                mpegts = _first_video_pts_90k(sorted((folder / "ts").glob("360p_*.ts"))[0])
            video = m3u8.load(str(folder / package / master_pl.playlists[0].uri))
            for lang, m in media.items():
                pl = m3u8.load(str(folder / package / m.uri))
                assert [s.duration for s in pl.segments] == [s.duration for s in video.segments]
                seen = []
                for s in pl.segments:
                    text = (folder / package / s.uri).read_text(encoding="utf-8")
                    assert f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000" in text.split("\n\n")[0]
                    seen += [c for c in _vtt_cues(text) if c not in seen]
                assert [(a, b) for a, b, _ in seen] == expected[lang], (package, lang)
        # DASH: one WebVTT file per language in a text adaptation set
        mpd = (folder / "cmaf" / "manifest.mpd").read_text()
        for lang in ("en", "ar", "th"):
            assert re.search(rf'<AdaptationSet [^>]*contentType="text" mimeType="text/vtt" lang="{lang}"', mpd)
            cues = _vtt_cues((folder / "cmaf" / "subs" / f"{lang}.vtt").read_text(encoding="utf-8"))
            assert [(a, b) for a, b, _ in cues] == expected[lang]
        # the progressive MP4s carry a mov_text track per language with cues (exact to the millisecond)
        with av.open(str(folder / "mp4" / "360p.mp4")) as c:
            tracks = {s.metadata.get("language"): s for s in c.streams.subtitles}
            wanted = {"eng": "en", "ara": "ar", "tha": "th"}
            have = {k: v for k, v in wanted.items() if expected[v]}
            assert set(tracks) == set(have)
            times: dict[str, list[tuple[int, int]]] = {code: [] for code in tracks}
            for p in c.demux(*tracks.values()):
                if p.pts is not None and p.size > 2:  # an empty sample fills a gap between cues
                    tb = p.stream.time_base
                    code = p.stream.metadata["language"]
                    times[code].append((round(p.pts * tb * 1000), round((p.pts + p.duration) * tb * 1000)))
            for code, s in tracks.items():
                assert s.codec_context.name == "mov_text"
                assert times[code] == expected[have[code]], code
        # platform masters: SRT sidecars where the platform takes them (YouTube; not Douyin)
        assert (folder / "masters" / "youtube-shorts.en.srt").is_file()
        from vertcut.presets import load_preset

        assert load_preset("platform", "douyin").subtitles == "none"
        report = json.loads((folder / "report.json").read_text())
        assert [s["lang"] for s in report["subtitles"]] == ["en", "ar", "th"]
    # right to left: every Arabic line opens with U+200F; Thai is broken between words, within its length
    ep1 = out / "encoded" / "ep001" / "cmaf" / "subs"
    ar = _vtt_cues((ep1 / "ar.vtt").read_text(encoding="utf-8"))
    assert all(line.startswith("\u200f") for _, _, t in ar for line in t.split("\n"))
    (th,) = _vtt_cues((ep1 / "th.vtt").read_text(encoding="utf-8"))
    lines = th[2].split("\n")
    source = TH.split("\n")[2]
    assert len(lines) >= 2 and "".join(lines) == source
    from vertcut.presets import load_preset
    from vertcut.subtitles.layout import display_len, word_boundaries

    limit = load_preset("subtitle", "elder-large").limits_for("th").max_chars_per_line
    assert all(display_len(ln) <= limit for ln in lines)
    breaks = [sum(len(ln) for ln in lines[:k]) for k in range(1, len(lines))]
    assert set(breaks) <= word_boundaries(source, "th")


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def test_labels_are_composited_in_the_render_at_exact_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A label shown for the first second is in its box on frames 0-24 (25 fps) and gone from frame 25,
    where the picture is bit for bit the unlabelled render; the AIGC label is in every file's metadata."""
    _presets(tmp_path, monkeypatch)
    master = make_clip(tmp_path / "m.mp4", frames=50, size=(320, 180), shot_len=25)
    common = [
        "--mode",
        "center",
        "--package",
        "hls,mp4",
        "--masters",
        "douyin",
        "--mezzanine",
        "lossless",
        "--ladder",
        "tiny",
    ]
    res = run_cli("run", str(master), *common, "-o", str(tmp_path / "plain"))
    assert res.exit_code == 0, res.output
    import cv2

    logo = np.zeros((60, 120, 4), np.uint8)  # a red disc on a clear background (BGRA)
    cv2.circle(logo, (60, 30), 28, (0, 0, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    res = run_cli("run", str(master), *common, "--labels", "flash,aigc,logo", "--label-value", "filing=(2025)第123号",
                  "--label-value", f"logo={tmp_path / 'logo.png'}", "--series", "重生", "-o", str(tmp_path / "lab"))  # fmt: skip
    assert res.exit_code == 0, res.output
    plain = _frames(tmp_path / "plain" / "episodes" / "ep001.mp4")
    lab = _frames(tmp_path / "lab" / "episodes" / "ep001.mp4")
    report = json.loads((tmp_path / "lab" / "encoded" / "ep001" / "report.json").read_text())
    boxes = {lb["name"]: lb for lb in report["labels"]}
    assert boxes["flash"]["text"] == "第1集 (2025)第123号" and boxes["flash"]["seconds"] == 1.0
    x, y, w, h = boxes["flash"]["box"]
    assert x >= 60 and y >= 180  # inside Douyin's safe area
    for i, (a, b) in enumerate(zip(plain, lab, strict=True)):
        diff = np.abs(a.astype(int) - b.astype(int))
        flash = diff[y : y + h, x : x + w]
        if i < 25:
            assert (flash > 40).sum() > 200, i  # white text over the picture
        else:  # the AIGC label and the logo stay for the whole episode; nothing else differs
            rest = diff.copy()
            for name in ("aigc", "logo"):
                ax, ay, aw, ah = boxes[name]["box"]
                rest[max(0, ay - 8) : ay + ah + 8, max(0, ax - 8) : ax + aw + 8] = 0
            assert rest.max() == 0, i
    lx, ly, lw, lh = boxes["logo"]["box"]
    assert (lw, lh) == (140, 70) and lx + lw <= 1080 - 150  # 140 px wide at 1080, clear of the right rail
    with av.open(str(tmp_path / "lab" / "episodes" / "ep001.mp4")) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24")
    centre = rgb[ly + lh // 2 - 5 : ly + lh // 2 + 5, lx + lw // 2 - 5 : lx + lw // 2 + 5].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 200 and centre[1] < 80 and centre[2] < 80, centre  # red, at 0.85 opacity
    # the implicit label: the same JSON in every MP4 file, and in the HLS master's session data
    tags = []
    for f in [tmp_path / "lab" / "episodes" / "ep001.mp4", *(tmp_path / "lab" / "encoded" / "ep001").rglob("*.mp4")]:
        with av.open(str(f)) as c:
            tags.append(json.loads(c.metadata["AIGC"]))
    assert len(tags) == 4 and all(t == tags[0] for t in tags)  # mezzanine, 2 rungs, the Douyin master
    assert tags[0]["Label"] == "1" and tags[0]["ProduceID"] == "重生-1"
    hls = (tmp_path / "lab" / "encoded" / "ep001" / "cmaf" / "master.m3u8").read_text()
    m = re.search(r'#EXT-X-SESSION-DATA:DATA-ID="org.vertcut.AIGC",URI="([^"]+)"', hls)
    assert m is not None
    assert json.loads((tmp_path / "lab" / "encoded" / "ep001" / "cmaf" / m.group(1)).read_text()) == tags[0]


def test_bad_delivery_input_is_one_line_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _presets(tmp_path, monkeypatch)
    (base / "label" / "huge.toml").write_text('text = "这是一个非常非常长的标签文字"\nsize_px = 120\n')
    master = make_clip(tmp_path / "m.mp4", frames=50, size=(320, 180), shot_len=25)
    (tmp_path / "m.zh.srt").write_text(ZH.split("\n\n")[0] + "\n", encoding="utf-8")
    (tmp_path / "long.en.srt").write_text("1\n00:00:05,000 --> 00:00:06,000\nToo late.\n", encoding="utf-8")
    (tmp_path / "m.km.srt").write_text("1\n00:00:00,500 --> 00:00:01,000\nសួស្តី\n", encoding="utf-8")
    cases = [
        (["--labels", "huge"], "does not fit inside the douyin safe area"),
        (["--labels", "flash"], "needs a value for filing"),
        (["--subs", str(tmp_path / "m.zh.srt"), "--subs", str(tmp_path / "long.en.srt")], "runs past the end"),
        (["--subs", str(tmp_path / "m.zh.srt"), "--subs", str(tmp_path / "m.km.srt")], "no installed font"),
        (["--subs", str(tmp_path / "m.zh.srt"), "--subs-soft", "fr"], "no subtitle file"),
        (["--labels", "flash", "--label-value", "Filing:1"], "is not NAME=VALUE"),
    ]
    for k, (args, message) in enumerate(cases):
        out = tmp_path / f"o{k}"
        res = run_cli("run", str(master), "--mode", "center", *args, "-o", str(out))
        assert res.exit_code == EXIT_INPUT, (args, res.output)
        errors = [ln for ln in res.output.splitlines() if "error" in ln]
        assert len(errors) == 1 and message in errors[0], (args, res.output)
        assert "Traceback" not in res.output
        assert not out.exists(), args


def test_watermark_through_run_is_found_in_the_rungs_and_the_key_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_watermark import KEY_HEX, encode

    base = _presets(tmp_path, monkeypatch)
    master = encode(tmp_path / "drama.mp4", None)  # 12 s of a textured 360x640 drama, unmarked
    out = tmp_path / "out"
    res = run_cli("run", str(master), "--mode", "center", "--package", "hls,mp4", "--ladder", tiny_ladder(base),
                  "--no-check", "--watermark", "douyin-cn", "--watermark-key", KEY_HEX, "-o", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run_cli("watermark", "detect", str(out / "encoded" / "ep001" / "mp4" / "360p.mp4"), "--key", KEY_HEX,
                  "--ids", "tiktok-eu,douyin-cn", "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    found = json.loads(res.stdout)
    assert found["found"] and found["distributor"] == "douyin-cn"
    report = json.loads((out / "encoded" / "ep001" / "report.json").read_text())
    assert report["watermark"]["distributor"] == "douyin-cn"
    # the key is in no file vertcut wrote (the plan and reports name the distributor and its payload only)
    for p in out.rglob("*"):
        if p.is_file() and p.suffix in (".json", ".html", ".m3u8", ".mpd", ".vtt", ".srt"):
            assert KEY_HEX not in p.read_text(encoding="utf-8", errors="replace"), p
    res = run_cli("run", str(master), "--watermark", "douyin-cn", "--watermark-key", "xyz", "-o", str(tmp_path / "b"))
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("vertcut: error:")]
    assert res.exit_code == EXIT_INPUT and len(errors) == 1 and "xyz" not in errors[0], res.stderr
    assert not (tmp_path / "b").exists()
