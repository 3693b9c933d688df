"""Hostile text: typed marks, ministry variants, Unicode traps, columns, dates, library limits,
long and deep lists, printers, CLI usage errors, anchors.

Every case asserts the code and the exact file, line and column (the character at fault);
formatting removes what ``fmt`` can remove, idempotently. Property tests insert random typing
slips into a copy of the mini fixture (``compile_sources`` only, no layout)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.diagnostics import (Diagnostic, Diagnostics, Severity, Span, display_width, format_github, format_json,
                                  format_text)
from compiler.document import dump
from compiler.pipeline import compile_sources
from compiler.theme import load_theme
from tests.helpers import MINI, ROOT

ITEM = "10-alpha/10-first/040-hostile.yaml"
DEFAULTS = dict(category="分類乙", commitment="丁の取組。", ministry="経産省", project="丁事業",
                budget="令和4年度当初：1億円", entry="丁の状況。", note="丁の注記。")
# line and column where each field's value starts in the item written by ``write_item``
WHERE = dict(category=(2, 11), commitment=(4, 5), ministry=(5, 11), project=(7, 14), budget=(9, 9),
             entry=(11, 9), note=(12, 11))


def write_item(root: Path, **fields) -> Path:
    f = {**DEFAULTS, **fields}
    path = root / ITEM
    path.write_text(
        f"id: hostile\ncategory: {f['category']}\ncommitment:\n  - {f['commitment']}\nministry: {f['ministry']}\n"
        f"status:\n  - project: {f['project']}\n    budget:\n      - {f['budget']}\n"
        f"  - bullets:\n      - {f['entry']}\n  - note: {f['note']}\n", encoding="utf-8")
    return path


def run(root: Path, strict: bool = False):
    diags = Diagnostics(strict=strict)
    compiled = compile_sources(root, diags)
    return compiled, diags.items


def found(items, code: str | None = None):
    return {(d.code, d.span.file, d.span.line, d.span.col) for d in items if d.span and (code is None or d.code == code)}


def copy_mini(tmp: Path) -> Path:
    dst = tmp / "sources"
    shutil.copytree(MINI, dst)
    return dst


# --- 1. marks the compiler adds, typed into the text ----------------------------------------

TYPED = [
    ("category", "【特定技能】", 0), ("category", "【【特定技能】】", 0), ("category", "特定技能】", 4),
    ("project", "○在留者数", 0), ("project", "◯在留者数", 0), ("project", "（再掲）丁事業", 0),
    ("note", "※令和5年度", 0), ("note", "※※令和5年度", 0), ("entry", "・令和4年", 0), ("entry", "•令和4年", 0),
    ("entry", "➢令和4年", 0), ("entry", "①令和4年", 0), ("budget", "【令和4年度当初：1億円】", 0),
    ("commitment", "（⑥－2）（⑥－2）本文。", 0), ("commitment", "（①－1）本文。", 0), ("commitment", "(①-1) 本文。", 0),
    ("commitment", "⑥－2 本文。", 0), ("ministry", "［経産省］", 0),
]


@pytest.mark.parametrize("field,value,offset", TYPED)
def test_typed_marks_warn_at_their_column_and_fmt_removes_them(mini, field, value, offset):
    from compiler.fmt import format_text as fmt_text

    path = write_item(mini, **{field: value})
    line, col = WHERE[field]
    _, items = run(mini)
    assert ("W107", ITEM, line, col + offset) in found(items, "W107")
    _, strict_items = run(mini, strict=True)
    assert any(d.code == "W107" and d.severity is Severity.ERROR for d in strict_items)
    theme = load_theme()
    once = fmt_text(path.read_text(encoding="utf-8"), theme)
    assert fmt_text(once, theme) == once
    path.write_text(once, encoding="utf-8")
    compiled, items = run(mini)
    if offset == 0:  # a mark at the start, or a wrapping pair: removed
        assert not found(items, "W107")
        assert compiled.document is not None
        text = dump(compiled.document)
        for doubled in ("【【", "○○", "○◯", "※※", "•・", "•①", "•➢", "•••", "（再掲）（再掲）", "［［", "）（"):
            assert doubled not in text


@pytest.mark.parametrize("field,value", [
    ("category", "【特定技能】関連"),  # partner in the middle: a person decides
])
def test_ambiguous_brackets_are_warned_but_left(mini, field, value):
    from compiler.fmt import format_text as fmt_text

    path = write_item(mini, **{field: value})
    line, col = WHERE[field]
    _, items = run(mini)
    assert ("W107", ITEM, line, col) in found(items, "W107")
    assert value in fmt_text(path.read_text(encoding="utf-8"), load_theme())


@pytest.mark.parametrize("field,value", [
    ("category", "特定技能"), ("commitment", "2023-24年度に実施。"), ("commitment", "(1)と(2)を実施。"),
    ("entry", "令和4年・5年"), ("project", "丁事業（第2期）"), ("note", "注記※"),
])
def test_ordinary_text_is_not_a_typed_mark(mini, field, value):
    write_item(mini, **{field: value})
    _, items = run(mini)
    assert not found(items, "W107")


def test_marks_come_from_the_theme():
    from compiler.frontend.textrules import typed_mark

    theme = load_theme()
    other = theme.model_copy(update={"markers": theme.markers.model_copy(update={"note": "◆", "category": ("〈", "〉")})})
    assert typed_mark("◆注記", other, "note") == (0, "◆")
    assert typed_mark("※注記", other, "note") is None
    assert typed_mark("〈分類〉", other, "category") == (0, "〈")
    assert typed_mark("【分類】", other, "category") is None


def test_numbers_in_policy_and_pillar_files(mini):
    pol = mini / "10-alpha/10-first/policy.yaml"
    pol.write_text("id: first\nshort_title: ①最初の政策\nprinciple:\n  - ①最初の大方針の本文。\n  - ②二つ目。\n"
                   "notes:\n  - ※大方針の注記。\n", encoding="utf-8")
    pil = mini / "10-alpha/pillar.yaml"
    pil.write_text("id: alpha\ntitle: 1. 最初の柱\n", encoding="utf-8")
    _, items = run(mini)
    got = found(items, "W107")
    assert ("W107", "10-alpha/10-first/policy.yaml", 2, 14) in got
    assert ("W107", "10-alpha/10-first/policy.yaml", 4, 5) in got
    assert ("W107", "10-alpha/10-first/policy.yaml", 7, 5) in got
    assert ("W107", "10-alpha/pillar.yaml", 2, 8) in got
    assert not any(d[2] == 5 for d in got if d[1].endswith("policy.yaml"))  # ② of the second paragraph is text


# --- 2. ministries ----------------------------------------------------------------------------

@pytest.mark.parametrize("written,printed", [
    ("経済産業省、厚生労働省", "［経産省、厚労省］"),
    ("経済産業省 厚労省", "［経産省、厚労省］"),
    ("経済産業省　厚労省", "［経産省、厚労省］"),
    ("経産省，厚労省", "［経産省、厚労省］"),
    ("経産省,厚労省", "［経産省、厚労省］"),
    ("経産省・内閣府", "［経産省・内閣府］"),
    ("経済産業省／内閣府等", "［経産省、内閣府等］"),
    ("経産省 等", "［経産省等］"),
])
def test_ministry_values_are_split_and_printed_with_short_names(mini, written, printed):
    write_item(mini, ministry=written)
    compiled, items = run(mini)
    assert not [d for d in items if d.severity is Severity.ERROR]
    row = next(r for r in compiled.document.rows() if r.item_id == "hostile")
    assert row.ministry_tag == printed
    assert "経産省" in row.responsible


def test_nfd_ministry_and_alias_match(mini):
    doc = mini / "document.yaml"
    doc.write_text(doc.read_text(encoding="utf-8") + "  - name: デジタル庁\n", encoding="utf-8")
    write_item(mini, ministry=unicodedata.normalize("NFD", "デジタル庁"))
    compiled, items = run(mini)
    assert not [d for d in items if d.code == "E023"]
    row = next(r for r in compiled.document.rows() if r.item_id == "hostile")
    assert row.ministry_tag == "［デジタル庁］" and row.responsible == frozenset({"デジタル庁"})
    assert ("W108", ITEM, 5, 11) in found(items)


def test_unknown_ministry_points_at_the_name(mini):
    write_item(mini, ministry="経産省、法務省")
    _, items = run(mini)
    assert ("E023", ITEM, 5, 15) in found(items, "E023")


def test_suggestions_only_when_plausible():
    from compiler.frontend.checks import Registry
    from compiler.frontend.schema import DocumentFile

    doc = DocumentFile.model_validate({
        "title": "t", "as_of": "a", "author": "a", "output_name": "x", "columns": {"commitment": "c", "status": "s"},
        "ministries": [{"name": "外務省"}, {"name": "経産省", "full_name": "経済産業省"}, {"name": "厚労省", "full_name": "厚生労働省"}]})
    registry = Registry.from_document(doc)
    assert registry.suggest("法務省") is None
    assert registry.suggest("財務省") is None
    assert registry.suggest("経済産業庁") == "経産省"
    assert registry.suggest("経産相") == "経産省"
    assert registry.suggest("厚生省") == "厚労省"


def test_alias_claiming_another_ministrys_name_is_an_error(mini):
    doc = mini / "document.yaml"
    text = doc.read_text(encoding="utf-8").replace("    aliases: [経済産業省]", "    aliases: [経済産業省, 厚労省]")
    doc.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    aliases: [経済産業省, 厚労省]") + 1
    _, items = run(mini)
    assert ("E042", "document.yaml", line, len("    aliases: [経済産業省, ") + 1) in found(items, "E042")


# --- 3. Unicode ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cp", [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C])
def test_bidi_controls_are_refused_at_their_column(mini, cp):
    write_item(mini, commitment=f"丁の{chr(cp)}取組。")
    _, items = run(mini)
    assert ("E034", ITEM, 4, 7) in found(items, "E034")
    assert not found(items, "E032")  # reported once, with its own code


@pytest.mark.parametrize("cp", [0x2028, 0x2029, 0x200B, 0x200C, 0x200D, 0x00AD, 0xFFFC, 0xFEFF])
def test_invisible_characters_are_reported_at_their_column(mini, cp):
    # written as an escape in a double-quoted scalar: the column is the escape's
    write_item(mini, entry=f'"丁の\\u{cp:04x}状況。"')
    _, items = run(mini)
    assert ("E035", ITEM, 11, 12) in found(items, "E035")


def test_no_break_space_is_a_warning_and_fmt_fixes_it(mini):
    from compiler.fmt import format_text as fmt_text

    path = write_item(mini, note="丁の\u00a0注記。")
    _, items = run(mini)
    assert ("W109", ITEM, 12, 13) in found(items, "W109")
    assert "\u00a0" not in fmt_text(path.read_text(encoding="utf-8"), load_theme())


def test_nfd_category_is_the_same_category(mini):
    cat = "分類ガ"
    path = mini / "10-alpha/10-first/010-first-a.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: 分類甲", f"category: {cat}"), encoding="utf-8")
    path = mini / "10-alpha/10-first/020-first-b.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: 分類甲", f"category: {unicodedata.normalize('NFD', cat)}"),
                    encoding="utf-8")
    compiled, items = run(mini)
    assert not found(items, "W104")
    assert ("W108", "10-alpha/10-first/020-first-b.yaml", 2, 13) in found(items, "W108")
    entries = [e for e in compiled.document.toc if e.level == 3 and "ガ" in unicodedata.normalize("NFC", e.label)]
    assert len(entries) == 1
    rows = [r for r in compiled.document.rows() if r.item_id in ("first-a", "first-b")]
    assert {r.category for r in rows} == {f"【{cat}】"}


# --- 4. columns ---------------------------------------------------------------------------------

def test_five_bad_dates_on_one_line_have_five_columns(mini):
    line = "2023年2月30日、4月31日、令和4年13月、平成32年、2023年13月。"
    write_item(mini, commitment=line)
    _, items = run(mini)
    cols = sorted(c for code, f, ln, c in found(items, "E030") if ln == 4)
    expected = [5 + line.index(s) for s in ("2023年2月30日", "4月31日", "令和4年13月", "平成32年", "2023年13月")]
    assert cols == expected


@pytest.mark.parametrize("scalar,line,col", [
    ('"丁の\\t\\"引用\\" 4月31日"', 4, 17),       # double-quoted with escapes
    ("'丁の''引用'' 4月31日'", 4, 15),            # single-quoted with ''
    ("|\n    丁の取組。\n    二行目 4月31日", 6, 9),   # literal block: the right line
    (">\n    丁の取組。\n    二行目 4月31日", 6, 9),   # folded block
    ("丁の取組\n    続き 4月31日", 5, 8),             # plain scalar over two lines
])
def test_columns_inside_quoted_and_block_scalars(mini, scalar, line, col):
    write_item(mini, commitment=scalar)
    _, items = run(mini)
    assert ("E030", ITEM, line, col) in found(items, "E030")


def test_caret_counts_east_asian_widths(mini):
    write_item(mini, commitment="全角の文字のあとの4月31日")
    _, items = run(mini)
    d = next(d for d in items if d.code == "E030")
    out = format_text([d], mini).splitlines()
    src, caret = out[1], out[2]
    prefix = src.split("| ", 1)[1]
    caret_at = display_width(caret.split("| ", 1)[1].rstrip("^"))
    assert caret_at == display_width(prefix[: d.span.col - 1])
    assert prefix[d.span.col - 1] == "4"


# --- 5. dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,bad", [
    ("2023年2月30日", True), ("２月３０日", True), ("4月31日", True), ("2023年13月", True), ("令和8000年1月", True),
    ("2024年2月29日", False), ("2月29日", False), ("令和5年2月28日", False), ("2023年度", False), ("12か月", False),
    ("2023年0月", True), ("0月1日", True), ("令和元年5月1日", False), ("平成31年5月1日", True),
])
def test_all_dates_are_checked(mini, text, bad):
    write_item(mini, commitment=f"丁は{text}に。")
    _, items = run(mini)
    assert (("E030", ITEM, 4, 7) in found(items, "E030")) is bad


@pytest.mark.parametrize("as_of", ["2023年13月時点", "令和8000年1月時点", "令和5年2月30日時点"])
def test_impossible_as_of_is_a_diagnostic(mini, as_of):
    doc = mini / "document.yaml"
    doc.write_text(re.sub(r"as_of: .*", f"as_of: {as_of}", doc.read_text(encoding="utf-8")), encoding="utf-8")
    _, items = run(mini)
    assert ("E030", "document.yaml", 2, 8) in found(items, "E030")


@pytest.mark.parametrize("epoch,bad", [("99999999999999", True), ("abc", True), ("-5", True), ("1.5", True),
                                       ("1675209600", False), ("", False)])
def test_source_date_epoch_is_checked(mini, monkeypatch, epoch, bad):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    compiled, items = run(mini)
    assert any(d.code == "E036" for d in items) is bad
    assert (compiled.document is None) is bad


def test_as_of_datetime_never_raises(monkeypatch):
    from compiler.transforms.numbering import as_of_datetime

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "99999999999999")
    for as_of in ("2023年13月時点", "令和8000年1月時点", "0000年1月", "令和5年2月30日"):
        assert as_of_datetime(as_of).year >= 1


# --- 6. limits of the libraries ----------------------------------------------------------------

@pytest.mark.parametrize("title_len,as_of_extra,expected", [
    (256, 0, {1, 2}),      # the title itself, and the subject made of it
    (250, 0, {2}),         # subject = title（as_of）: 250 + 2 + 9 > 255
    (100, 200, {2}),
    (200, 0, set()),
])
def test_docx_core_property_limit_is_checked(mini, title_len, as_of_extra, expected):
    doc = mini / "document.yaml"
    text = doc.read_text(encoding="utf-8")
    text = re.sub(r"title: .*", "title: " + "表" * title_len, text)
    text = re.sub(r"as_of: .*", "as_of: 令和5年2月時点" + "あ" * as_of_extra, text)
    doc.write_text(text, encoding="utf-8")
    _, items = run(mini)
    got = found(items, "E037")
    assert {line for _, _, line, _ in got} == expected
    assert all(f == "document.yaml" and col == 8 for _, f, _, col in got)


def test_short_metadata_passes(mini):
    _, items = run(mini)
    assert not found(items, "E037")


# --- 7. long and deep lists ---------------------------------------------------------------------

def _numbered_item(root: Path, n: int) -> Path:
    path = root / ITEM
    entries = "".join(f"      - 項目{i}。\n" for i in range(1, n + 1))
    path.write_text(f"id: hostile\ncategory: 分類乙\ncommitment:\n  - 丁。\nministry: 経産省\nstatus:\n  - numbered:\n{entries}",
                    encoding="utf-8")
    return path


def test_numbered_lists_continue_past_twenty(mini):
    _numbered_item(mini, 25)
    compiled, items = run(mini)
    assert not [d for d in items if d.severity is Severity.ERROR]
    row = next(r for r in compiled.document.rows() if r.item_id == "hostile")
    markers = [e.marker for e in row.status[0].items]
    assert len(set(markers)) == 25 and markers[20] == "㉑" and markers[0] == "①"


def test_numbered_lists_beyond_the_markers_are_refused(mini):
    count = len(load_theme().markers.numbered)
    _numbered_item(mini, count + 1)
    _, items = run(mini)
    assert ("E038", ITEM, 8 + count, 9) in found(items, "E038")


def test_nesting_deeper_than_the_bullet_levels_is_refused(mini):
    depth = len(load_theme().markers.bullets)
    lines, indent = ["  - bullets:"], "      "
    for level in range(1, depth + 3):
        lines.append(f"{indent}- text: 段{level}")
        lines.append(f"{indent}  bullets:")
        indent += "    "
    lines.append(f"{indent}- 最後")
    (mini / ITEM).write_text("id: hostile\ncategory: 分類乙\ncommitment:\n  - 丁。\nministry: 経産省\nstatus:\n"
                             + "\n".join(lines) + "\n", encoding="utf-8")
    _, items = run(mini)
    got = found(items, "E039")
    # the first entry one level deeper than the theme allows
    assert got == {("E039", ITEM, 8 + 2 * depth, 9 + 4 * depth)}


def test_nesting_at_the_limit_passes(mini):
    depth = len(load_theme().markers.bullets)
    lines, indent = ["  - bullets:"], "      "
    for level in range(1, depth):
        lines += [f"{indent}- text: 段{level}", f"{indent}  bullets:"]
        indent += "    "
    lines.append(f"{indent}- 最後")
    (mini / ITEM).write_text("id: hostile\ncategory: 分類乙\ncommitment:\n  - 丁。\nministry: 経産省\nstatus:\n"
                             + "\n".join(lines) + "\n", encoding="utf-8")
    compiled, items = run(mini)
    assert not found(items, "E039") and compiled.document is not None


# --- 8. printers ------------------------------------------------------------------------------------

def test_text_printer_escapes_terminal_sequences(mini):
    path = write_item(mini, commitment='"丁\\e[31m赤\\x9b2J 4月31日"')
    _, items = run(mini)
    d = Diagnostic("E030", Severity.ERROR, "msg \x1b]0;title\x07 \x9b", Span(ITEM, 4, 5), "hint \x1b[2J")
    out = format_text([d] + items, mini)
    assert not any(ord(c) < 0x20 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in out)
    assert "\\x1b" in out
    assert "\x1b" not in format_json([d]) and "\x9b" not in format_json([d])
    assert json.loads(format_json([d]))[0]["message"] == d.message
    assert path.exists()


def test_github_printer_escapes_properties_and_data():
    d = Diagnostic("E001", Severity.ERROR, "a\nb%c\r", Span("x,title=spoof:y.yaml", 3, 4), "h")
    out = format_github([d])
    head, _, data = out.partition("::")[2].partition("::")
    props = dict(p.split("=", 1) for p in head.split(" ", 1)[1].split(","))
    assert props["file"] == "x%2Ctitle%3Dspoof%3Ay.yaml".replace("%3D", "=")
    assert props["title"] == "E001" and props["line"] == "3" and props["col"] == "4"
    assert "\n" not in data and "\r" not in data and "%0A" in data and "%25" in data


def test_paths_are_relative_to_the_working_folder(mini, monkeypatch):
    write_item(mini, commitment="4月31日")
    _, items = run(mini)
    d = [x for x in items if x.code == "E030"]
    monkeypatch.chdir(mini.parent)
    assert format_text(d, mini).startswith(f"sources/{ITEM}:4:5:")
    assert f"file=sources/{ITEM}," in format_github(d, root=mini)
    monkeypatch.chdir(mini)
    assert format_text(d, Path(".")).startswith(f"{ITEM}:4:5:")
    outside = mini.parent / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert format_text(d, mini).startswith(f"{(mini / ITEM).resolve()}:4:5:")


# --- 9. CLI ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,english", [
    (["biuld"], "No such command"), (["check", "--sources"], "requires an argument"),
    (["check", "--format", "xml"], "is not one of"), (["check", "--bogus"], "No such option"),
    (["check", "extra"], "unexpected extra"), (["preview"], "Missing option"),
    (["fmt", "--sources", "/nonexistent-folder"], "does not exist"),
])
def test_usage_errors_are_japanese_with_exit_2(args, english):
    from compiler.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert english not in result.output and "Error:" not in result.output
    assert re.search(r"[\u3040-\u30ff]", result.output)
    if args == ["biuld"]:
        assert "build" in result.output


def test_broken_pipe_is_quiet():
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "ministries", "--sources", str(MINI)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    rc = proc.wait()
    assert rc in (0, 141), err
    assert "Traceback" not in err and "内部エラー" not in err and "Exception" not in err


FONT = "BIZUDGothic-Regular.ttf"


def _damaged_facts() -> list[str]:
    """Cache files of the right key, each damaged in one way: not JSON, wrong shape, wrong types, bad numbers."""
    good = {"format": "followup-font-facts/1", "key": "K", "family": "F", "bold": False, "units_per_em": 1000,
            "codepoints": [0x3042], "advances": [1000]}
    changes = [("format", "other/1"), ("key", 1), ("family", ""), ("family", 5), ("bold", 0), ("units_per_em", 0),
               ("units_per_em", 1.5), ("codepoints", []), ("codepoints", ["a"]), ("codepoints", 5),
               ("codepoints", [0x110000]), ("codepoints", [True]), ("advances", [-1]), ("advances", [1000, 1]),
               ("advances", None)]
    return ["garbage{", "[]", "\xff\xfe", '{"key": "K"}'] + [json.dumps({**good, k: v}) for k, v in changes]


@pytest.mark.parametrize("content", _damaged_facts())
def test_a_damaged_font_facts_cache_is_read_again_from_the_font(tmp_path, monkeypatch, content):
    from compiler import font_facts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "followup" / "fonts" / f"{FONT}.json"
    cache.parent.mkdir(parents=True)
    key = font_facts._key(font_facts.FONTS_DIR / FONT)
    cache.write_text(content.replace('"K"', json.dumps(key)), encoding="utf-8", errors="surrogateescape")
    facts = font_facts._facts.__wrapped__(FONT, font_facts.FONTS_DIR)
    assert len(facts.advances) > 1000 and ord("あ") in facts.advances  # the font's, not the damaged file's one
    assert facts.family == "BIZ UDGothic" and facts.units_per_em > 0
    rewritten = json.loads(cache.read_text(encoding="utf-8"))
    assert rewritten["key"] == key and len(rewritten["codepoints"]) == len(facts.advances)
    assert font_facts._read_cached(cache, key) == facts  # what is kept is what a read of the font gives


def test_font_facts_from_the_cache_are_those_of_the_font(tmp_path, monkeypatch):
    from compiler import font_facts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = font_facts._facts.__wrapped__(FONT, font_facts.FONTS_DIR)
    assert (tmp_path / "followup" / "fonts" / f"{FONT}.json").is_file()
    monkeypatch.setattr(font_facts, "_read_font", None)  # a read of the font would fail now
    assert font_facts._facts.__wrapped__(FONT, font_facts.FONTS_DIR) == fresh


def test_font_facts_without_a_cache_folder(tmp_path, monkeypatch):
    from compiler import font_facts

    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder would go
    assert ord("あ") in font_facts._facts.__wrapped__(FONT, font_facts.FONTS_DIR).advances


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "folder", "unwritable"])
def test_a_damaged_template_cache_is_compiled_again(tmp_path, monkeypatch, damage):
    """Compiled templates kept in the user's cache folder: whatever is found there, the page is the same."""
    from compiler.diagnostics import Diagnostics
    from compiler.writers import html

    compiled = compile_sources(MINI, Diagnostics())

    def page() -> str:
        html.jinja_environment.cache_clear()
        try:
            return html.render_html(compiled.document)
        finally:
            html.jinja_environment.cache_clear()

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = page()
    entries = sorted((tmp_path / "followup" / "templates").glob("*.cache"))
    assert entries  # kept
    for entry in entries:
        data = entry.read_bytes()
        if damage == "garbage":
            entry.write_bytes(b"\x80\x04garbage" + data[::-1])
        elif damage == "truncated":
            entry.write_bytes(data[: len(data) // 3])
        elif damage == "empty":
            entry.write_bytes(b"")
        elif damage == "folder":
            entry.unlink()
            entry.mkdir()
    if damage == "unwritable":
        blocked = tmp_path / "blocked"
        blocked.write_text("")
        monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder would go
    assert page() == fresh


# --- 10. anchors ----------------------------------------------------------------------------------------

def test_item_ids_cannot_collide_with_generated_anchors(mini):
    from compiler.transforms.preview import select
    from compiler.writers.html import render_html

    # ids that the old scheme (cat-<policy>-<n>, item-…, policy-…, pillar-…) would have produced
    for i, ident in enumerate(["first-1", "cat-first-1", "policy-first", "item-first-a", "pillar-alpha"]):
        (mini / f"10-alpha/10-first/0{41 + i}-x.yaml").write_text(
            f"id: {ident}\ncategory: 分類乙\ncommitment:\n  - 丁。\nministry: 経産省\n", encoding="utf-8")
    compiled, items = run(mini)
    assert compiled.document is not None, [d for d in items if d.severity is Severity.ERROR]
    for doc in (compiled.document, select(compiled.document, "厚労省", load_theme(), "p")):
        ids = re.findall(r'\sid="([^"]+)"', render_html(doc))
        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"[^\s]+", i) for i in ids)


# --- property tests: random typing slips ------------------------------------------------------------

THEME = load_theme()
SLIPS = ["mark", "invisible", "bidi", "nfd", "ministry"]
FIELD_MARKS = {
    "category": lambda v: f"【{v}】", "project": lambda v: f"{THEME.markers.project}{v}",
    "note": lambda v: f"{THEME.markers.note}{v}", "entry": lambda v: f"{THEME.markers.bullets[2]}{v}",
    "commitment": lambda v: f"（②－1）{v}", "budget": lambda v: f"【{v}】",
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slip=st.sampled_from(SLIPS), field=st.sampled_from(sorted(FIELD_MARKS)), where=st.integers(0, 20),
       cp=st.sampled_from([0x200B, 0x00AD, 0xFEFF, 0x2028, 0x200D, 0xFFFC]),
       bidi=st.sampled_from(sorted({0x202A, 0x202E, 0x2066, 0x2069, 0x200E, 0x200F, 0x061C})),
       names=st.lists(st.sampled_from(["経産省", "経済産業省", "厚労省", "厚生労働省", "内閣府"]), min_size=1, max_size=3),
       seps=st.lists(st.sampled_from(["、", ",", "，", " ", "　", "／"]), min_size=2, max_size=2))
def test_typing_slips_are_reported_or_printed_correctly(slip, field, where, cp, bidi, names, seps):
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_mini(Path(tmp))
        base = DEFAULTS[field]
        line, col = WHERE[field]
        pos = where % (len(base) + 1)
        if slip == "mark":
            write_item(root, **{field: FIELD_MARKS[field](base)})
            _, items = run(root)
            assert ("W107", ITEM, line, col) in found(items, "W107")
        elif slip in ("invisible", "bidi"):
            ch = chr(cp if slip == "invisible" else bidi)
            write_item(root, **{field: '"' + base[:pos] + f"\\u{ord(ch):04x}" + base[pos:] + '"'})
            _, items = run(root)
            code = "E035" if slip == "invisible" else "E034"
            assert (code, ITEM, line, col + 1 + pos) in found(items, code)
        elif slip == "nfd":
            value = unicodedata.normalize("NFD", "ガイド" + base)
            write_item(root, **{field: value})
            compiled, items = run(root)
            assert ("W108", ITEM, line, col) in found(items, "W108")
            row = next(r for r in compiled.document.rows() if r.item_id == "hostile")
            if field == "category":
                assert row.category == f"【{unicodedata.normalize('NFC', value)}】"
        else:
            unique = list(dict.fromkeys(names))
            written = "".join((seps[i % 2] if i else "") + n for i, n in enumerate(unique))
            write_item(root, ministry=written)
            compiled, items = run(root)
            assert not [d for d in items if d.severity is Severity.ERROR]
            row = next(r for r in compiled.document.rows() if r.item_id == "hostile")
            short = {"経済産業省": "経産省", "厚生労働省": "厚労省"}
            expected = "、".join(short.get(n, n) for n in unique)
            assert row.ministry_tag == f"［{expected}］"
            assert not re.search(r"［［|］］|、、", dump(compiled.document))


@pytest.mark.parametrize("cp", [0x200B, 0x00AD, 0xFEFF, 0x200D, 0x202E, 0x2066])
def test_fmt_removes_invisible_and_bidi_characters(mini, cp):
    from compiler.fmt import format_text as fmt_text

    path = write_item(mini, entry=f'"丁の\\u{cp:04x}状況。"')
    once = fmt_text(path.read_text(encoding="utf-8"), load_theme())
    path.write_text(once, encoding="utf-8")
    _, items = run(mini)
    assert not found(items, "E034") and not found(items, "E035")


@pytest.mark.parametrize("escape,code", [("\\x07", "E031"), ("\\x1b", "E031"), ("\\x85", "E031")])
def test_control_characters_at_their_column(mini, escape, code):
    write_item(mini, commitment=f'"丁の取組{escape}。"')
    _, items = run(mini)
    assert (code, ITEM, 4, 10) in found(items, code)


def test_latin_o_at_its_column(mini):
    write_item(mini, project="O在留支援事業")
    _, items = run(mini)
    assert ("E033", ITEM, 7, 14) in found(items, "E033")
