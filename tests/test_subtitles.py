"""Subtitles: decoding, timing repair, layout, lint, and burn-in checked on the pixels."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_cli

from vertcut.errors import EXIT_CHECK, SubtitleError
from vertcut.ffmpeg import FFmpeg
from vertcut.presets import load_preset
from vertcut.subtitles import burn, lint, load_subtitles, repair_timing
from vertcut.subtitles.fonts import font_for, missing_glyphs
from vertcut.subtitles.layout import break_lines

SRT = "1\n00:00:00,200 --> 00:00:01,800\n{text}\n"


def _srt(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(SRT.format(text=text).encode(encoding))
    return path


@pytest.fixture(scope="module")
def canvas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of flat mid-grey 720x1280 video (so boxes, outlines and text are all measurable)."""
    out = tmp_path_factory.mktemp("canvas") / "grey.mp4"
    FFmpeg().run(
        [
            "-f",
            "lavfi",
            "-i",
            "color=c=0x808080:s=720x1280:r=25:d=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv444p",
            str(out),
        ]
    )
    return out


def _frame(path: Path, index: int = 25) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24").astype(float)
    raise AssertionError("frame not found")


def _lum(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * lin[..., 0] + 0.7152 * lin[..., 1] + 0.0722 * lin[..., 2]


LOSSLESS = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030", "big5"])
def test_text_encodings(tmp_path: Path, encoding: str) -> None:
    text = (
        "你到底去了哪裡？這是一個很長的句子，用來測試編碼"
        if encoding == "big5"
        else "你到底去了哪里？这是一个很长的句子，用来测试编码"
    )
    track = load_subtitles(_srt(tmp_path / "s.srt", text, encoding))
    assert track.cues[0].text == text and track.cues[0].start == Fraction(1, 5)


def test_webvtt_and_ass(tmp_path: Path) -> None:
    vtt = tmp_path / "s.vtt"
    vtt.write_text("WEBVTT\n\nNOTE hi\n\nc1\n00:01.000 --> 00:02.500\n<i>Hello</i>\n")
    assert load_subtitles(vtt).cues[0].text == "Hello" and load_subtitles(vtt).cues[0].end == Fraction(5, 2)
    ass = tmp_path / "s.ass"
    ass.write_text(
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\nStyle: Default,Arial,20\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\b1}第一行\\N第二行\n"
    )
    assert load_subtitles(ass).cues[0].text == "第一行\n第二行"


@pytest.mark.parametrize(("ext", "codec"), [("mkv", "srt"), ("mp4", "mov_text")])
def test_embedded_subtitle_stream(tmp_path: Path, clip: Path, ext: str, codec: str) -> None:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:01,840\n你好\n第二行\n\n2\n00:00:01,900 --> 00:00:02,000\n<i>再见</i>\n")
    media = tmp_path / f"with-subs.{ext}"
    FFmpeg().run(["-i", str(clip), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy", "-c:s", codec, str(media)])
    track = load_subtitles(media)  # read straight from the container, exact packet times
    assert [(c.start, c.end, c.text) for c in track.cues] == [
        (Fraction(1, 5), Fraction(46, 25), "你好\n第二行"),
        (Fraction(19, 10), Fraction(2), "再见"),
    ]
    with pytest.raises(SubtitleError, match="no stream 1"):
        load_subtitles(media, stream=1)
    with pytest.raises(SubtitleError, match="no subtitle stream"):
        load_subtitles(clip)


def test_frame_exact_cues_with_a_rate(tmp_path: Path) -> None:
    p = _srt(tmp_path / "s.srt", "你好")  # 0.200 -> 1.800
    track = load_subtitles(p, rate=Fraction(30000, 1001))
    frame = Fraction(1001, 30000)
    c = track.cues[0]
    assert c.start / frame == 6 and c.end / frame == 54  # 0.2 s = 5.99 frames, 1.8 s = 53.95 frames


def test_malformed_cue_names_its_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.srt"
    p.write_text("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbroken\n")
    with pytest.raises(SubtitleError) as info:
        load_subtitles(p)
    assert info.value.line == 5 and f"{p}:5:" in str(info.value)
    res = run_cli("subs", "lint", str(p))
    assert res.exit_code == 3 and res.stderr.strip().count("\n") == 0


def test_two_line_chinese_cue_breaks_at_a_word_boundary() -> None:
    font = font_for("zh")
    lines = break_lines("妈妈留下的那封信，你看过了吗？", "zh", 10, 9.5, font)
    assert lines == ["妈妈留下的那封信，", "你看过了吗？"]
    import budoux

    text = "我早就知道你会回来找我的"
    lines = break_lines(text, "zh", 8, 7.5, font)
    assert len(lines) == 2 and "".join(lines) == text and all(len(ln) <= 8 for ln in lines)
    chunks = budoux.load_default_simplified_chinese_parser().parse(text)
    cut = len(lines[0])
    assert cut in {len("".join(chunks[:i])) for i in range(1, len(chunks))}  # at a word boundary
    assert "知道" in lines[0] or "知道" in lines[1]  # never "知|道"
    # never a closing punctuation mark at a line start
    assert break_lines("他说：“我们走吧！”然后就离开了，再也没有回来。", "zh", 10, 9.5, font)[1][0] not in "，。！？”"


def test_timing_repair() -> None:
    from vertcut.subtitles.track import Cue, SubtitleTrack

    style = load_preset("subtitle", "elder-large")
    cues = (
        Cue(Fraction(0), Fraction(1, 2), "你好"),  # too short: extended to 1.2 s
        Cue(Fraction(3), Fraction(4), "第二句话"),  # 0.2 s gap before the next: closed to 2 frames
        Cue(Fraction(21, 5), Fraction(5), "第三句话很长很长很长很长"),  # cannot reach its reading time
        Cue(Fraction(51, 10), Fraction(6), "最后"),
    )
    fixed, findings = repair_timing(SubtitleTrack(cues), style, "zh", Fraction(25))
    ends = [c.end for c in fixed.cues]
    assert ends[0] == Fraction(6, 5)
    assert ends[1] == Fraction(21, 5) - Fraction(2, 25)
    assert all(a.end <= b.start for a, b in zip(fixed.cues, fixed.cues[1:], strict=False))
    assert [f.cue for f in findings] == [2, 3]  # 1.12 s and 0.72 s cannot reach 1.2 s before the next cue


def test_lint_reports_every_rule(tmp_path: Path) -> None:
    p = tmp_path / "x.zh.srt"
    p.write_text(
        "1\n00:00:00,000 --> 00:00:00,500\n太快了太快了太快了\n\n"
        "2\n00:00:00,400 --> 00:00:02,000\n重叠\n\n"
        "3\n00:00:03,000 --> 00:00:12,000\n太长\n\n"
        "4\n00:00:13,000 --> 00:00:15,000\n表情😀\n",
        encoding="utf-8",
    )
    findings = lint(load_subtitles(p), preset="elder-large", lang="zh")
    rules = {(f.cue, f.rule) for f in findings}
    assert {(1, "max-cps"), (1, "min-duration"), (1, "overlap"), (3, "max-duration"), (4, "glyph-coverage")} <= rules
    res = run_cli("subs", "lint", str(p), "--preset", "elder-large", "--json")
    assert res.exit_code == EXIT_CHECK
    data = json.loads(res.stdout)
    assert data[0]["cue"] == 1 and data[0]["start"] == "00:00:00,000" and data[0]["suggestion"]


def test_no_tofu(tmp_path: Path, canvas: Path) -> None:
    assert missing_glyphs("你好😀", font_for("zh")) == ["😀"]
    srt = _srt(tmp_path / "t.srt", "你好😀")
    res = run_cli("subs", "burn", str(canvas), str(srt), "-o", str(tmp_path / "o.mp4"))
    assert res.exit_code == 3 and "U+1F600" in res.stderr and not (tmp_path / "o.mp4").exists()


def _ink_rows(img: np.ndarray, mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows.min()), int(rows.max())


@pytest.mark.parametrize("preset", ["standard", "elder-large", "elder-xl"])
def test_glyph_height_matches_the_preset(tmp_path: Path, canvas: Path, preset: str) -> None:
    srt = _srt(tmp_path / "t.srt", "田田田")
    out = tmp_path / "o.mp4"
    burn(canvas, srt, out, preset=preset, lang="zh", encoder_args=LOSSLESS)
    img = _frame(out)
    text = img.min(axis=2) > 235  # white glyph pixels
    top, bottom = _ink_rows(img, text)
    expected = load_preset("subtitle", preset).glyph_height_px * 1280 / 1920
    assert abs((bottom - top + 1) - expected) <= 0.05 * expected + 1


def test_box_inside_safe_area_and_contrast(tmp_path: Path, canvas: Path) -> None:
    srt = _srt(tmp_path / "t.srt", "她走了，你还在等她吗？")
    out = tmp_path / "o.mp4"
    burn(canvas, srt, out, preset="elder-xl", lang="zh", safe_area="douyin", encoder_args=LOSSLESS)
    img = _frame(out)
    k = 1280 / 1920
    box = img.max(axis=2) < 80  # the dark box (75% black over grey)
    rows, cols = np.flatnonzero(box.any(axis=1)), np.flatnonzero(box.any(axis=0))
    assert rows.size and cols.size
    safe = load_preset("safearea", "douyin")
    assert rows.max() <= 1280 - safe.bottom * k and rows.min() >= safe.top * k
    assert cols.min() >= safe.left * 720 / 1080 - 1 and cols.max() <= 720 - safe.right * 720 / 1080 + 1
    text = img.min(axis=2) > 235
    t_lum = _lum(img[text]).mean()
    b_lum = _lum(img[box & ~text]).mean()
    contrast = (t_lum + 0.05) / (b_lum + 0.05)
    assert contrast >= load_preset("subtitle", "elder-xl").min_contrast
    # two lines, broken after the comma
    bands = np.flatnonzero(np.diff(np.concatenate([[0], text.any(axis=1).astype(int), [0]])) != 0)
    assert len(bands) == 4


def test_outline_contrast_standard(tmp_path: Path, canvas: Path) -> None:
    srt = _srt(tmp_path / "t.srt", "田田")
    out = tmp_path / "o.mp4"
    burn(canvas, srt, out, preset="standard", lang="zh", encoder_args=LOSSLESS)
    img = _frame(out)
    text = img.min(axis=2) > 235
    from scipy.ndimage import binary_dilation

    edge = binary_dilation(text, iterations=2) & ~text
    contrast = (_lum(img[text]).mean() + 0.05) / (_lum(img[edge]).mean() + 0.05)
    assert contrast >= load_preset("subtitle", "standard").min_contrast


def test_english_and_arabic_fonts_cover_their_text() -> None:
    assert missing_glyphs("Where have you been?", font_for("en")) == []
    assert missing_glyphs("أين كنت؟", font_for("ar")) == []
    assert missing_glyphs("คุณไปอยู่ที่ไหนมา", font_for("th")) == []


def test_lint_line_breaks_width_and_gaps(tmp_path: Path) -> None:
    p = tmp_path / "b.zh.srt"
    p.write_text(
        "1\n00:00:00,000 --> 00:00:02,000\n我早就知道你会回来\n，可是太晚了\n\n"  # comma at a line start
        "2\n00:00:02,300 --> 00:00:04,300\n我早就知\n道你会回来\n\n"  # break inside 知道, 220 ms flicker gap
        "3\n00:00:05,000 --> 00:00:07,000\n妈妈留下的那封信，\n你看过了吗？\n",  # fine
        encoding="utf-8",
    )
    findings = lint(load_subtitles(p), preset="standard", lang="zh")
    got = {(f.cue, f.rule): f for f in findings}
    assert got[(1, "break-punctuation")].severity == "error" and "'，'" in got[(1, "break-punctuation")].message
    assert got[(2, "break-inside-word")].severity == "warning"
    assert "burn repairs this: out-time 00:00:02,220" in got[(1, "flicker-gap")].suggestion
    assert not [f for f in findings if f.cue == 3]
    hw = tmp_path / "hw.zh.srt"
    hw.write_text(
        "1\n00:00:00,000 --> 00:00:03,000\n你好,我是他哥哥...\n\n2\n00:00:05,000 --> 00:00:08,000\n3.5元，OK?\n"
    )
    hw_findings = [f for f in lint(load_subtitles(hw), preset="standard", lang="zh") if f.rule == "cjk-punctuation"]
    assert [f.cue for f in hw_findings] == [1] and "','" in hw_findings[0].message and "'...'" in hw_findings[0].message
    wide = tmp_path / "w.en.srt"
    wide.write_text("1\n00:00:00,000 --> 00:00:04,000\nWWWWWWWWWWWWWWWWWWWW\n", encoding="utf-8")
    rules = {f.rule for f in lint(load_subtitles(wide), preset="elder-large", lang="en")}
    assert "line-width" in rules  # 20 characters fit the count, but W is wide: measured with the font


def test_thai_and_arabic_layout() -> None:
    import budoux

    th = "คุณไปอยู่ที่ไหนมาตลอดสามปีที่ผ่านมานี้"
    lines = break_lines(th, "th", 12, 9.0, font_for("th"))
    assert len(lines) >= 2 and "".join(lines) == th
    chunks = budoux.load_default_thai_parser().parse(th)
    bounds = {len("".join(chunks[:i])) for i in range(1, len(chunks))}
    assert len(lines[0]) in bounds  # Thai breaks between words
    from vertcut.subtitles.ass import write_ass
    from vertcut.subtitles.track import Cue, SubtitleTrack

    ass, _, font = write_ass(
        SubtitleTrack((Cue(Fraction(0), Fraction(2), "أين كنت؟"),)),
        load_preset("subtitle", "standard"),
        "ar",
        (1080, 1920),
    )
    style = next(ln for ln in ass.splitlines() if ln.startswith("Style:"))
    assert style.endswith(",-1") and font.family == "Noto Sans Arabic"  # Encoding -1: libass picks RTL itself


def test_long_cue_is_split_in_time_at_punctuation(tmp_path: Path) -> None:
    from vertcut.subtitles.timing import split_long_cues
    from vertcut.subtitles.track import Cue, SubtitleTrack

    text = "今天的董事会，我一定要出席，谁也拦不住我，否则公司就完了！"
    track = SubtitleTrack((Cue(Fraction(268, 10), Fraction(304, 10), text),))
    style = load_preset("subtitle", "elder-large")
    out, findings = split_long_cues(track, style, "zh", Fraction(25))
    assert [c.text for c in out.cues] == ["今天的董事会，我一定要出席，", "谁也拦不住我，否则公司就完了！"]
    a, b = out.cues
    assert a.start == track.cues[0].start and b.end == track.cues[0].end
    assert b.start - a.end == Fraction(2, 25) and (b.start * 25).denominator == 1  # two frames apart, on a frame
    assert findings[0].rule == "split"
    p = tmp_path / "long.zh.srt"
    p.write_text(f"1\n00:00:26,800 --> 00:00:30,400\n{text}\n", encoding="utf-8")
    f = next(f for f in lint(load_subtitles(p), preset="elder-large") if f.rule == "max-lines")
    assert "burn does it: shown as 2 cues" in f.suggestion


def test_high_contrast_yellow_on_opaque_box(tmp_path: Path, canvas: Path) -> None:
    srt = _srt(tmp_path / "t.srt", "快走！")
    out = tmp_path / "o.mp4"
    burn(canvas, srt, out, preset="high-contrast", lang="zh", encoder_args=LOSSLESS)
    img = _frame(out)
    style = load_preset("subtitle", "high-contrast")
    yellow = np.array([int(style.text_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    text = np.abs(img - yellow).max(axis=2) < 30
    box = img.max(axis=2) < 20  # opaque black
    assert text.sum() > 200 and box.sum() > 10 * text.sum() ** 0.5
    contrast = (_lum(img[text]).mean() + 0.05) / (_lum(img[box]).mean() + 0.05)
    assert contrast >= style.min_contrast
    rows = np.flatnonzero(box.any(axis=1))
    assert rows.max() <= 1280 - style.margin_bottom_px * 1280 / 1920  # box above the bottom UI margin


def test_outline_text_inside_the_safe_area(tmp_path: Path, canvas: Path) -> None:
    # 15 characters, one more than the preset's line: laid out on two lines, ink (text + outline) inside the margins
    srt = _srt(tmp_path / "t.srt", "这是一行超过十四个字的中文字幕")
    out = tmp_path / "o.mp4"
    burn(canvas, srt, out, preset="standard", lang="zh", encoder_args=LOSSLESS)
    img = _frame(out)
    ink = (img.min(axis=2) > 235) | (img.max(axis=2) < 40)  # white text or black outline
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    style, k = load_preset("subtitle", "standard"), 1280 / 1920
    assert rows.max() <= 1280 - style.margin_bottom_px * k
    assert cols.min() >= style.margin_side_px * k - 1 and cols.max() <= 720 - style.margin_side_px * k + 1


def test_presets_name_their_fonts(tmp_path: Path) -> None:
    from vertcut.errors import PresetError
    from vertcut.subtitles.ass import write_ass
    from vertcut.subtitles.track import Cue, SubtitleTrack

    std = load_preset("subtitle", "standard")
    assert std.font_family("zh") == "Noto Sans CJK SC" and std.font_family("zh-Hant") == "Noto Sans CJK TC"
    d = tmp_path / "subtitle"
    d.mkdir()
    (d / "tc.toml").write_text('extends = "elder-large"\n[fonts]\nzh = "Noto Sans CJK TC"\n')
    tc = load_preset("subtitle", str(d / "tc.toml"))
    ass, _, font = write_ass(SubtitleTrack((Cue(Fraction(0), Fraction(2), "這裡"),)), tc, "zh", (1080, 1920))
    assert font.family == "Noto Sans CJK TC" and ",Noto Sans CJK TC," in ass
    (d / "bad.toml").write_text('extends = "standard"\n[fonts]\nzh = "Comic Sans"\n')
    with pytest.raises(PresetError) as info:
        load_preset("subtitle", str(d / "bad.toml"))
    assert "Comic Sans" in str(info.value) + " ".join(info.value.problems)


def test_cli_burn_and_bad_inputs(tmp_path: Path, canvas: Path) -> None:
    from vertcut.errors import EXIT_PRESET

    srt = tmp_path / "t.zh.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:02,000\n今天的董事会，我一定要出席，谁也拦不住我，否则公司就完了！\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.mp4"
    res = run_cli("subs", "burn", str(canvas), str(srt), "-o", str(out), "--preset", "standard")
    assert res.exit_code == 0, res.stderr
    assert "1 cues burned as 2" in res.stdout and "too long for 2 lines" in res.stderr
    early, late = _frame(out, 10), _frame(out, 45)  # the two halves of the split cue differ on screen
    assert (early.min(axis=2) > 235).sum() > 100 and np.abs(early - late).max() > 100
    res = run_cli("subs", "burn", str(canvas), str(srt), "-o", str(tmp_path / "x.mp4"), "--preset", "nope")
    assert res.exit_code == EXIT_PRESET and not (tmp_path / "x.mp4").exists()
    res = run_cli("subs", "burn", str(canvas), str(tmp_path / "missing.srt"), "-o", str(tmp_path / "x.mp4"))
    assert res.exit_code == 3 and "missing.srt" in res.stderr and not (tmp_path / "x.mp4").exists()


def _word_spans(img: np.ndarray) -> list[tuple[int, int]]:
    """Column spans of white text, letters closer than 8 px merged into words."""
    cols = (img.min(axis=2) > 235).any(axis=0).astype(int)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], cols, [0]])))
    spans: list[list[int]] = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if spans and a - spans[-1][1] < 8:
            spans[-1][1] = int(b)
        else:
            spans.append([int(a), int(b)])
    return [(a, b) for a, b in spans]


def test_arabic_is_laid_out_right_to_left(tmp_path: Path, canvas: Path) -> None:
    # "I was here OK": in a right-to-left line the Latin word comes last, i.e. leftmost on screen; with the
    # default left-to-right base direction (ASS Encoding 1) libass would put it rightmost
    spans = {}
    for name, text in (("line", "كنت هنا OK"), ("number", "OK")):
        srt = tmp_path / f"{name}.ar.srt"
        srt.write_text(f"1\n00:00:00,000 --> 00:00:02,000\n{text}\n", encoding="utf-8")
        burn(canvas, srt, tmp_path / f"{name}.mp4", preset="standard", lang="ar", encoder_args=LOSSLESS)
        spans[name] = _word_spans(_frame(tmp_path / f"{name}.mp4"))
    line, (number,) = spans["line"], spans["number"]
    assert len(line) == 3
    width = number[1] - number[0]
    assert abs((line[0][1] - line[0][0]) - width) <= 2  # leftmost word is "OK"
    assert abs((line[-1][1] - line[-1][0]) - width) > 4  # rightmost is Arabic (the first word)


def test_ass_times_keep_frame_boundaries() -> None:
    from vertcut.subtitles.ass import _ass_time

    frame = Fraction(1001, 30000)
    assert _ass_time(frame) == "0:00:00.03"  # 33.37 ms: 0.03 s <= frame 1's time < 0.04 s
    assert _ass_time(5 * frame) == "0:00:00.16"  # 166.8 ms
    assert _ass_time(Fraction(3723, 1) + Fraction(1, 2)) == "1:02:03.50"
