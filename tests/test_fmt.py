"""followup fmt: house-style rules, idempotence, comments/key order, --check, robustness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from ruamel.yaml import YAML

from compiler.fmt import FormatError, fmt_command, format_string, format_text, format_tree
from compiler.theme import load_theme
from tests.helpers import MINI, OFFICIAL

S = load_theme()
OFFICIAL_FILES = sorted(p for p in OFFICIAL.rglob("*.yaml"))


def fmt(text: str) -> str:
    return format_text(text, S)


def load(text: str):
    return YAML(typ="safe", pure=True).load(text)


def shape(value):
    """Keys, list lengths and scalar types: what formatting must never change."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


ITEM = """\
# 取組方針のテスト
id: t-item              # 識別子
category: 分類
commitment:
  - {commitment}
ministry: {ministry}
status:
  - project: 事業
    budget:
      - {budget}
  - bullets:
      - {bullet}
  - ministry: 経産省
"""


def item(commitment="本文。", ministry="経産省", budget="令和4年度当初：1億円", bullet="状況。") -> str:
    return ITEM.format(commitment=commitment, ministry=ministry, budget=budget, bullet=bullet)


# --- idempotence on real files ----------------------------------------------------

@pytest.mark.parametrize("path", OFFICIAL_FILES, ids=lambda p: p.relative_to(OFFICIAL).as_posix())
def test_idempotent_on_every_official_file(path: Path):
    once = fmt(path.read_text(encoding="utf-8"))
    assert fmt(once) == once
    assert shape(load(once)) == shape(load(path.read_text(encoding="utf-8")))
    assert "\t" not in once and once.endswith("\n")


def test_official_copy_second_run_changes_nothing(tmp_path: Path):
    dst = tmp_path / "sources"
    shutil.copytree(OFFICIAL, dst)
    format_tree(dst, S, check=False)
    before = {p: p.read_bytes() for p in dst.rglob("*.yaml")}
    assert format_tree(dst, S, check=False) == []
    assert {p: p.read_bytes() for p in dst.rglob("*.yaml")} == before


def test_mini_fixture_idempotent(mini: Path):
    format_tree(mini, S, check=False)
    before = {p: p.read_bytes() for p in mini.rglob("*.yaml")}
    assert format_tree(mini, S, check=True) == []
    assert format_tree(mini, S, check=False) == []
    assert {p: p.read_bytes() for p in mini.rglob("*.yaml")} == before


def test_clean_files_in_both_indentation_styles_are_unchanged():
    nested = item()
    root_list = ("# 修正記録\n- file: 10-a/20-b/010-c.yaml\n  original: ODX\n  corrected: ○DX\n  reason: 理由\n"
                 "- file: 10-a/20-b/020-d.yaml\n  original: x\n  corrected: y\n  reason: z\n")
    assert fmt(nested) == nested
    assert fmt(root_list) == root_list
    assert fmt("# 該当なし\n[]\n") == "# 該当なし\n[]\n"


# --- one example per rule -----------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("令和４年度に１５７億円", "令和4年度に157億円"),                # full-width digits
    ("１５７．７億円、１，０００件", "157.7億円、1,000件"),          # decimal point / separator between digits
    ("ＤＸとＩｏＴ", "DXとIoT"),                                      # full-width Latin letters
    ("4月～6月", "4月〜6月"),                                         # FULLWIDTH TILDE → WAVE DASH
    ("4月~6月、令和4~5年度", "4月〜6月、令和4〜5年度"),               # ASCII ~ between digits/kanji
    ("ver~a と a~b", "ver~a と a~b"),                                 # … but not elsewhere
    ("ｶﾞｲﾄﾞﾗｲﾝ･ﾏﾆｭｱﾙ｡", "ガイドライン・マニュアル。"),               # half-width katakana
    ("カ\u3099イド", "ガイド"),                                       # NFC
    ("Ａ\u0301", "\u00c1"),                                           # NFC after the width change
    ("末尾の空白  ", "末尾の空白"),                                   # trailing spaces
    ("末尾の全角空白\u3000", "末尾の全角空白"),
    ("タブ\tあり", "タブ あり"),
    ("①②（注）【予算】※○「」・①－1", "①②（注）【予算】※○「」・①－1"),  # never touched
    ("Ｎｏ．１", "No．1"),  # only digits and letters change width; other punctuation is left alone
])
def test_string_rules(raw: str, expected: str):
    assert format_string(raw, S) == expected
    assert format_string(expected, S) == expected


@pytest.mark.parametrize("raw, expected", [
    ("［経産省］", "経産省"),
    ("[経産省] ", "経産省"),
    ("〔経産省〕", "経産省"),
    ("［内閣官房・内閣府］", "内閣官房・内閣府"),
    ("［文科省］［農水省］", "文科省、農水省"),
    ("［文科省］・［農水省］", "文科省・農水省"),
    ("［経産省", "経産省"),
    ("経産省", "経産省"),
])
def test_ministry_brackets_stripped(raw: str, expected: str):
    assert format_string(raw, S, key="ministry") == expected
    assert format_string(raw, S, key="text") == raw.strip()  # other keys keep their brackets


def test_rules_applied_in_a_file():
    src = item(commitment="令和４年度に１０件～２０件、ＤＸを推進。ｶﾞｲﾄﾞ  ", ministry="［経産省］",
               budget="'令和５年度：１５７．７億円'", bullet='"［経産省］は括弧のまま"')
    src = src.replace("  - ministry: 経産省\n", "  - ministry: 〔文科省〕  \n")
    out = fmt(src)
    data = load(out)
    assert data["commitment"] == ["令和4年度に10件〜20件、DXを推進。ガイド"]
    assert data["ministry"] == "経産省"
    assert data["status"][0]["budget"] == ["令和5年度：157.7億円"]
    assert data["status"][1]["bullets"] == ["［経産省］は括弧のまま"]
    assert data["status"][2]["ministry"] == "文科省"
    assert "budget:\n      - '令和5年度：157.7億円'\n" in out  # quoting style kept
    assert fmt(out) == out


def test_ministry_written_as_yaml_flow_list_becomes_a_string():
    out = fmt(item(ministry="[文科省, 農水省]"))
    assert load(out)["ministry"] == "文科省、農水省"
    assert "ministry: 文科省、農水省\n" in out


def test_literal_block_lines_lose_trailing_spaces():
    src = "id: a\nstatus:\n  - text: |\n      一行目  \n      二行目\n"
    out = fmt(src)
    assert out == "id: a\nstatus:\n  - text: |\n      一行目\n      二行目\n"


def test_file_hygiene_final_newline_no_bom_no_crlf_no_trailing_spaces_in_comments():
    src = "\ufeff# 見出し   \r\nid: a    # 注記  \r\ntitle: 表題"
    assert fmt(src) == "# 見出し\nid: a    # 注記\ntitle: 表題\n"


def test_corrections_original_is_kept_verbatim():
    src = "- file: 10-a/20-b/010-c.yaml\n  original: 令和４年～５年\n  corrected: 令和４年～５年\n  reason: 例\n"
    out = fmt(src)
    assert load(out) == [{"file": "10-a/20-b/010-c.yaml", "original": "令和４年～５年",
                          "corrected": "令和4年〜5年", "reason": "例"}]


# --- comments and key order ---------------------------------------------------------

def test_comments_and_key_order_preserved():
    src = ("# 先頭のコメント\n\n"
           "status:                 # 右の列\n"
           "  # ブロックの前のコメント\n"
           "  - project: 事業１     # 事業名\n"
           "    budget:\n"
           "      - 令和４年度\n"
           "ministry: 経産省        # 府省庁\n"
           "id: z-last\n"
           "category: 分類\n"
           "commitment:\n"
           "  - 本文\n"
           "# 末尾のコメント\n")
    out = fmt(src)
    assert out == src.replace("事業１", "事業1").replace("令和４年度", "令和4年度")
    assert list(load(out)) == ["status", "ministry", "id", "category", "commitment"]


# --- the tree and the command ---------------------------------------------------------

def _dirty_tree(root: Path) -> tuple[Path, Path]:
    shutil.copytree(MINI, root)
    dirty = root / "10-alpha" / "10-first" / "020-first-b.yaml"
    dirty.write_text(dirty.read_text(encoding="utf-8").replace("令和4", "令和４") + "# 末尾  \n", encoding="utf-8")
    bad = root / "10-alpha" / "10-first" / "090-broken.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    return dirty, bad


def test_format_tree_reports_unparsable_files_and_goes_on(tmp_path: Path):
    dirty, bad = _dirty_tree(tmp_path / "src")
    errors = []
    changed = format_tree(tmp_path / "src", S, check=False, on_error=lambda p, m: errors.append((p, m)))
    assert changed == [dirty]
    assert [p for p, _ in errors] == [bad]
    assert bad.read_text(encoding="utf-8") == "id: [unclosed\n"
    assert "令和４" not in dirty.read_text(encoding="utf-8")
    assert not list((tmp_path / "src").rglob("*.tmp"))  # atomic write left no temp file


def test_safety_net_refuses_output_that_reads_back_differently(monkeypatch):
    import compiler.fmt as fmt_module

    real_dump = fmt_module._dump
    monkeypatch.setattr(fmt_module, "_dump", lambda data, style, start: real_dump(data, style, start).replace("経産省", "農水省"))
    with pytest.raises(FormatError):
        fmt(item())


def test_format_text_raises_on_invalid_yaml():
    with pytest.raises(FormatError):
        fmt("a: b: c\n")
    with pytest.raises(FormatError):
        fmt("id: a\nid: b\n")


def snapshot(root: Path) -> dict:
    """Every path under root, with content and modification time of the files."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None for p in root.rglob("*")}


def test_check_exits_1_and_writes_nothing(tmp_path: Path):
    root = tmp_path / "src"
    dirty, _ = _dirty_tree(root)
    before = snapshot(root)
    result = CliRunner().invoke(fmt_command, ["--sources", str(root), "--check"])
    assert result.exit_code == 1, result.output
    assert "整形が必要です" in result.output and "020-first-b.yaml" in result.output
    assert "整形できません" in result.output and "090-broken.yaml" in result.output
    assert snapshot(root) == before


def test_fmt_writes_then_check_exits_0(tmp_path: Path):
    root = tmp_path / "src"
    dirty, bad = _dirty_tree(root)
    result = CliRunner().invoke(fmt_command, ["--sources", str(root)])
    assert result.exit_code == 0, result.output
    assert "整形しました" in result.output and "020-first-b.yaml" in result.output
    bad.unlink()
    result = CliRunner().invoke(fmt_command, ["--sources", str(root), "--check"])
    assert result.exit_code == 0, result.output
    assert "整形が必要" not in result.output


def test_check_on_clean_mini_copy_exits_0(mini: Path):
    result = CliRunner().invoke(fmt_command, ["--sources", str(mini), "--check"])
    assert result.exit_code == 0, result.output


def test_missing_sources_folder_is_a_usage_error(tmp_path: Path):
    result = CliRunner().invoke(fmt_command, ["--sources", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_command_metadata():
    assert fmt_command.name == "fmt"
    assert {p.name for p in fmt_command.params} >= {"sources", "check"}


# --- property: random text values ----------------------------------------------------

ALPHABET = ("0123456789０１２３４５６７８９～~〜ｱｶｻﾀﾅﾊﾞﾟｰ｡｢｣､･ ｶﾞ　\t\n年月度令和億円経産省"
            "ＡＢａｂABab．，.,①②（）【】［］[]〔〕※○・、。:#'\"-\u3099か")
texts = st.text(alphabet=ALPHABET, max_size=30)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commitment=texts, ministry=texts, budget=texts, bullet=texts)
def test_property_idempotent_and_structure_kept(commitment, ministry, budget, bullet):
    q = lambda s: json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar
    src = item(q(commitment), q(ministry), q(budget), q(bullet))
    before = load(src)
    once = fmt(src)
    assert fmt(once) == once
    after = load(once)
    assert list(after) == list(before)
    assert [list(b) for b in after["status"]] == [list(b) for b in before["status"]]
    assert len(after["commitment"]) == 1 and len(after["status"][0]["budget"]) == 1
    assert len(after["status"][1]["bullets"]) == 1
    assert after["commitment"][0] == format_string(commitment, S, field="commitment")
    assert after["ministry"] == format_string(ministry, S, key="ministry", field="ministry")
    assert after["status"][0]["budget"][0] == format_string(budget, S, field="budget")
    assert "\t" not in once and once.endswith("\n")
    assert all(line == line.rstrip(" ") for line in once.split("\n"))
    assert "# 識別子" in once and once.startswith("# 取組方針のテスト\n")


def test_digits_full_setting_widens_digits_but_not_identifiers():
    from compiler.theme import HouseStyle

    full = S.model_copy(update={"house_style": HouseStyle(digits="full", tilde="〜")})
    out = format_text("id: item-10\ncommitment:\n  - 令和4年度に10件\n", full)
    assert out == "id: item-10\ncommitment:\n  - 令和４年度に１０件\n"
    assert format_text(out, full) == out
