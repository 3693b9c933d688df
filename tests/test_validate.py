"""Validate stage: every rule reports a stable code at the right file and line, all in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.pipeline import compile_sources
from compiler.diagnostics import Diagnostics

ITEM = "10-alpha/10-first/010-first-a.yaml"
ITEM_B = "10-alpha/10-first/020-first-b.yaml"


def run(sources: Path, strict: bool = False) -> Diagnostics:
    diags = Diagnostics(strict=strict)
    compile_sources(sources, diags)
    return diags


def edit(sources: Path, rel: str, old: str, new: str) -> None:
    f = sources / rel
    text = f.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    f.write_text(text.replace(old, new, 1), encoding="utf-8")


def only(diags: Diagnostics, code: str):
    found = [d for d in diags.items if d.code == code]
    assert len(found) == 1, [(d.code, d.message, str(d.span)) for d in diags.items]
    return found[0]


def test_fixture_is_clean(mini):
    assert run(mini).items == []


def test_unknown_key_suggests_nearest(mini):
    edit(mini, ITEM, "category:", "categroy:")
    diags = run(mini)
    d = only(diags, "E010")
    assert (d.span.file, d.span.line, d.span.col) == (ITEM, 2, 1)
    assert d.hint == "もしかして：category"
    assert only(diags, "E011").span.file == ITEM  # and the real key is then missing


def test_unknown_key_in_status_block_suggests_block_field(mini):
    edit(mini, ITEM, "    budget:", "    budjet:")
    d = only(run(mini), "E010")
    assert d.span.line == 9 and d.hint == "もしかして：budget"


def test_two_block_kinds_in_one_block(mini):
    edit(mini, ITEM, "  - bullets:", "    bullets:")
    d = only(run(mini), "E010")
    assert "「- 」" in d.hint


def test_missing_required_field(mini):
    edit(mini, ITEM, "ministry: 経産省\nstatus:", "status:")
    d = only(run(mini), "E011")
    assert d.span.file == ITEM and "ministry" in d.message


def test_wrong_type(mini):
    edit(mini, ITEM, "category: 分類甲", "category: 2023")
    d = only(run(mini), "E012")
    assert d.span.line == 2 and "引用符" in d.message


def test_empty_text(mini):
    edit(mini, ITEM, "      - 甲の一つ目の状況。", '      - "  "')
    d = only(run(mini), "E013")
    assert d.span.line == 12


def test_bad_id(mini):
    edit(mini, ITEM, "id: first-a", "id: First A")
    assert only(run(mini), "E014").span.line == 1


def test_unknown_block_kind(mini):
    edit(mini, ITEM, "  - ministry: 経産省", "  - minister: 経産省")
    assert only(run(mini), "E015").span.line == 16


def test_duplicate_ids_name_both_places(mini):
    edit(mini, ITEM_B, "id: first-b", "id: first-a")
    d = only(run(mini), "E020")
    assert d.span.file == ITEM_B and ITEM in d.message


def test_reprint_of_unknown_project(mini):
    edit(mini, ITEM_B, "reprint: project-a", "reprint: project-b")
    d = only(run(mini), "E021")
    assert d.span.file == ITEM_B and d.span.line == 7 and d.hint == "もしかして：project-a"


def test_reprint_of_an_item_id(mini):
    edit(mini, ITEM_B, "reprint: project-a", "reprint: first-a")
    assert only(run(mini), "E022").span.line == 7


def test_reprint_cannot_carry_an_id_so_no_cycles(mini):
    edit(mini, ITEM_B, "  - reprint: project-a", "  - reprint: project-a\n    id: project-c")
    assert only(run(mini), "E010").span.file == ITEM_B


def test_unknown_ministry_with_suggestion(mini):
    edit(mini, ITEM, "ministry: 経産省\nstatus", "ministry: 経産\nstatus")
    d = only(run(mini), "E023")
    assert d.span.line == 5 and d.hint.startswith("もしかして：経産省。")


def test_ministry_aliases_and_lists_are_accepted(mini):
    edit(mini, ITEM, "ministry: 経産省\nstatus", "ministry: 経済産業省・厚労省等\nstatus")
    assert run(mini).items == []


@pytest.mark.parametrize("date", ["令和4年13月", "令和4年2月30日", "平成32年4月", "平成31年5月1日"])
def test_impossible_era_dates(mini, date):
    edit(mini, ITEM, "甲の一つ目の状況。", f"{date}に実施。")
    d = only(run(mini), "E030")
    assert d.span.line == 12 and date in d.message


@pytest.mark.parametrize("date", ["令和元年5月1日", "平成31年4月30日", "令和4年度", "令和5年2月28日", "令和6年2月29日"])
def test_possible_era_dates(mini, date):
    edit(mini, ITEM, "甲の一つ目の状況。", f"{date}に実施。")
    assert run(mini).items == []


@pytest.mark.parametrize("char", ["\x0b", "\x00", "\ufffe", "\x85"])
def test_control_characters(mini, char):
    edit(mini, ITEM, "甲の一つ目の状況。", '"甲の' + char.encode("unicode_escape").decode().replace("\\x", "\\x") + '状況。"')
    diags = run(mini)
    assert only(diags, "E031").span.line == 12


def test_latin_o_for_circle(mini):
    edit(mini, ITEM, "project: 甲事業", "project: O甲事業")
    assert only(run(mini), "E033").span.line == 7


def test_halfwidth_katakana_and_fullwidth_digits_warn(mini):
    edit(mini, ITEM, "甲の一つ目の状況。", "ｶﾀｶﾅで１２件。")
    diags = run(mini)
    assert {d.code for d in diags.items} == {"W102", "W103"}
    assert not diags.has_errors
    assert run(mini, strict=True).has_errors


def test_category_not_contiguous(mini):
    edit(mini, "10-alpha/10-first/030-first-c.yaml", "category: 分類乙", "category: 分類甲")
    edit(mini, ITEM_B, "category: 分類甲", "category: 分類乙")
    d = only(run(mini), "W104")
    assert d.span.file == "10-alpha/10-first/030-first-c.yaml"


def test_item_without_status_warns_and_fails_release(mini):
    f = mini / "20-beta/10-third/020-third-b.yaml"
    f.write_text(f.read_text(encoding="utf-8").split("status:")[0] + "status:\n", encoding="utf-8")
    diags = run(mini)
    assert only(diags, "W101").severity.value == "warning" and not diags.has_errors
    assert run(mini, strict=True).has_errors


def test_repeated_project_without_reprint_warns(mini):
    edit(mini, "20-beta/10-third/010-third-a.yaml", "project: 戊事業\n    budget: 令和5年度予算案：10億円",
         "project: 甲事業\n    budget: 令和4年度当初：157.7億円の内数")
    d = only(run(mini), "W105")
    assert d.span.file == "20-beta/10-third/010-third-a.yaml"


def test_missing_glyph(mini):
    edit(mini, ITEM, "甲の一つ目の状況。", "甲の状況𠮷。")
    d = only(run(mini), "E032")
    assert d.span.line == 12 and "U+20BB7" in d.message


def test_all_problems_in_one_run(mini):
    edit(mini, ITEM, "category:", "categroy:")
    edit(mini, ITEM_B, "reprint: project-a", "reprint: nothing")
    edit(mini, "20-beta/10-third/010-third-a.yaml", "ministry: 経産省\nstatus", "ministry: 経産\nstatus")
    codes = {d.code for d in run(mini).items}
    assert {"E010", "E021", "E023"} <= codes


def test_missing_font_file(mini, monkeypatch, tmp_path):
    from compiler.frontend import glyphs

    monkeypatch.setattr(glyphs, "FONTS_DIR", tmp_path)
    glyphs.coverage.cache_clear()
    d = run(mini)
    glyphs.coverage.cache_clear()
    assert "E040" in {x.code for x in d.items}


def test_unknown_key_in_nested_list_entry_and_document(mini):
    edit(mini, ITEM, "      - text: 甲の二つ目の状況。", "      - txet: 甲の二つ目の状況。")
    d = [x for x in run(mini).items if x.code == "E010"][0]
    assert d.hint == "もしかして：text" and d.span.line == 13
    edit(mini, "document.yaml", "  commitment: 新たな取組方針", "  comitment: 新たな取組方針")
    hints = {x.hint for x in run(mini).items if x.code == "E010"}
    assert "もしかして：commitment" in hints
