"""The subtitle language is told from the text; the file name's tag is used only when it agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from vertcut.subtitles.language import choose_language, detect_language, file_tag

EN = (
    "1\n00:00:01,000 --> 00:00:03,000\nWhere have you been all this time?\n\n"
    "2\n00:00:03,500 --> 00:00:05,500\nI can't tell you, not now, not ever.\n\n"
    "3\n00:00:06,000 --> 00:00:08,000\nThen you know what I have to do.\n"
)
ZH = "1\n00:00:01,000 --> 00:00:03,000\n你到底去了哪里？\n\n2\n00:00:03,500 --> 00:00:05,500\n我不能告诉你。\n"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("你到底去了哪里？我不能告诉你。", "zh"),
        ("你到底去了哪裡？我不能告訴你，這是我們的事。", "zh-Hant"),
        ("どこに行っていたの？言えないよ。", "ja"),
        ("어디 갔었어? 말할 수 없어.", "ko"),
        ("ฉันไม่สามารถบอกคุณได้ว่าฉันไปไหนมา", "th"),
        ("أين كنت؟ لا أستطيع أن أخبرك.", "ar"),
        ("کجا بودی؟ نمی‌توانم به تو بگویم.", "fa"),
        ("¿Dónde estabas? No te lo puedo decir, pero lo sé.", "es"),
        ("Aku tidak tahu apa yang kamu katakan itu.", "id"),
        ("Where were you? I can't tell you that.", "en"),
    ],
)
def test_languages_from_their_text(text: str, lang: str) -> None:
    assert detect_language(text).lang == lang


def test_the_file_name_counts_only_when_it_is_a_language_that_agrees() -> None:
    assert file_tag("ep.zh.gbk.srt") is None and file_tag("ep.pt-BR.vtt") == "pt-BR" and file_tag("ep.srt") is None
    zh = "你到底去了哪里？我不能告诉你。"
    assert choose_language("ep.zh.gbk.srt", zh).lang == "zh"  # 'gbk' is an encoding, not a language
    tw = choose_language("ep.zh-TW.srt", "你到底去了哪裡？我不能告訴你。")
    assert tw.lang == "zh-TW" and tw.source == "file name and text" and tw.warning is None
    wrong = choose_language("ep.zh.srt", "Where were you? I can't tell you that.")
    assert wrong.lang == "en" and wrong.warning is not None and "file name says zh" in wrong.warning
    flag = choose_language("ep.srt", "Where were you? I can't tell you that.", flag="zh")
    assert flag.lang == "zh" and flag.source == "flag" and flag.warning is not None  # a flag always wins
    # the tag alone when the words cannot tell (too few of them)
    assert choose_language("ep.es.srt", "¡Ay!").lang == "es"


def test_lint_uses_the_text_language_not_chinese_by_default(tmp_path: Path) -> None:
    """An English dialogue.srt gets the English rules (as when it is named .en.srt); a GBK Chinese
    ep.zh.gbk.srt is Chinese."""
    (tmp_path / "dialogue.srt").write_text(EN, encoding="utf-8")
    (tmp_path / "dialogue.en.srt").write_text(EN, encoding="utf-8")
    (tmp_path / "ep.zh.gbk.srt").write_bytes(ZH.encode("gbk"))
    res = run_cli("subs", "lint", str(tmp_path / "dialogue.srt"), "--json")
    tagged = run_cli("subs", "lint", str(tmp_path / "dialogue.en.srt"), "--json")
    assert "language en (text:" in res.stderr
    plain = [(f["cue"], f["rule"]) for f in json.loads(res.stdout)]
    assert plain == [(f["cue"], f["rule"]) for f in json.loads(tagged.stdout)]
    assert not any("Chinese" in f["message"] for f in json.loads(res.stdout))
    res = run_cli("subs", "lint", str(tmp_path / "ep.zh.gbk.srt"))
    assert "language zh (text: Han, Simplified" in res.stderr, res.stderr


def test_run_reports_each_files_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediagen import make_clip

    master = make_clip(tmp_path / "m.mp4", frames=50, size=(320, 180), shot_len=25)
    (tmp_path / "a.srt").write_text(ZH.replace("00:00:05,500", "00:00:01,900").replace("00:00:03,500", "00:00:01,600")
                                    .replace("00:00:03,000", "00:00:01,500").replace("00:00:01,000", "00:00:00,200"),
                                    encoding="utf-8")  # fmt: skip
    (tmp_path / "b.zh.srt").write_text("1\n00:00:00,200 --> 00:00:01,500\nWhere were you? I can't tell you.\n")
    res = run_cli("run", str(master), "--subs", str(tmp_path / "a.srt"), "--subs", str(tmp_path / "b.zh.srt"),
                  "--mode", "center", "--package", "mp4", "-o", str(tmp_path / "out"))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "b.zh.srt: the file name says zh, but the text reads as en" in res.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    langs = {Path(k).name: v for k, v in report["languages"].items()}
    assert langs["a.srt"]["lang"] == "zh" and langs["a.srt"]["source"] == "text"
    assert langs["b.zh.srt"]["lang"] == "en" and langs["b.zh.srt"]["warning"]
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["subtitles"]["lang"] == "zh" and list(plan["other_subtitles"]) == ["en"]
