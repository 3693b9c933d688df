"""Resolve stage: numbering, 再掲 and the table of contents, on the mini fixture."""

from __future__ import annotations

import os
from pathlib import Path

from compiler.pipeline import compile_sources
from compiler.diagnostics import Diagnostics
from compiler.document import dump
from tests.helpers import FIXTURES

GOLDEN = Path(__file__).parent / "golden" / "mini.resolved.txt"


def resolved(sources: Path):
    diags = Diagnostics()
    doc = compile_sources(sources, diags).document
    assert doc is not None, diags.items
    return doc


def numbers(doc) -> dict[str, str]:
    return {row.item_id: row.number for row in doc.rows()}


def test_golden_dump():
    """The whole resolved mini document; regenerate with UPDATE_GOLDEN=1 after an intended change."""
    text = dump(resolved(FIXTURES / "mini"))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_numbering_is_continuous_across_pillars(mini):
    doc = resolved(mini)
    assert [p.number for p in doc.pillars] == ["1.", "2."]
    assert [q.number for p in doc.pillars for q in p.policies] == ["①", "②", "③"]
    assert numbers(doc) == {"first-a": "（①－1）", "first-b": "（①－2）", "first-c": "（①－3）",
                            "second-a": "（②－1）", "third-a": "（③－1）", "third-b": "（③－2）"}


def test_inserting_an_item_renumbers_only_the_items_after_it(mini):
    before = numbers(resolved(mini))
    policy = mini / "10-alpha" / "10-first"
    text = (policy / "020-first-b.yaml").read_text(encoding="utf-8").replace("id: first-b", "id: first-new")
    (policy / "015-first-new.yaml").write_text(text, encoding="utf-8")
    after = numbers(resolved(mini))
    assert after["first-new"] == "（①－2）"
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"first-b", "first-c"}
    assert after["first-b"] == "（①－3）" and after["first-c"] == "（①－4）"


def test_moving_one_file_renumbers_exactly_the_items_between(mini):
    before = numbers(resolved(mini))
    policy = mini / "10-alpha" / "10-first"
    (policy / "010-first-a.yaml").rename(policy / "025-first-a.yaml")
    after = numbers(resolved(mini))
    assert {k for k in before if before[k] != after[k]} == {"first-a", "first-b"}
    assert (after["first-b"], after["first-a"], after["first-c"]) == ("（①－1）", "（①－2）", "（①－3）")


def test_moving_an_item_to_another_policy(mini):
    src = mini / "10-alpha" / "10-first" / "030-first-c.yaml"
    src.rename(mini / "20-beta" / "10-third" / "005-first-c.yaml")
    after = numbers(resolved(mini))
    assert after["first-c"] == "（③－1）" and after["third-a"] == "（③－2）"


def reprint_marks(doc) -> list[tuple[str, str]]:
    return [(row.item_id, b.reprint_mark) for row in doc.rows() for b in row.status if hasattr(b, "reprint_mark")
            and b.project_key == "project-a"]


def test_reprint_fills_name_and_budget_and_marks_later_occurrences(mini):
    doc = resolved(mini)
    assert reprint_marks(doc) == [("first-a", ""), ("first-b", "（再掲）"), ("second-a", "（再掲）")]
    reprint = next(b for row in doc.rows() if row.item_id == "first-b" for b in row.status if hasattr(b, "budget"))
    assert (reprint.name, reprint.budget) == ("甲事業", ("【令和4年度当初：157.7億円の内数】",))


def test_reordering_moves_the_reprint_mark(mini):
    policy = mini / "10-alpha" / "10-first"
    (policy / "010-first-a.yaml").rename(policy / "025-first-a.yaml")
    doc = resolved(mini)
    assert reprint_marks(doc) == [("first-b", ""), ("first-a", "（再掲）"), ("second-a", "（再掲）")]


def test_toc_lists_pillars_policies_and_each_category_once(mini):
    doc = resolved(mini)
    assert [(e.level, e.label) for e in doc.toc] == [
        (1, "1. 第一の柱"), (2, "① 最初の政策"), (3, "【分類甲】"), (3, "【分類乙】"),
        (2, "② 二番目の政策"), (3, "【分類丙】"), (1, "2. 第二の柱"), (2, "③ 三番目の政策"), (3, "【分類丁】")]
    anchors = [e.anchor for e in doc.toc]
    assert len(set(anchors)) == len(anchors)
    targets = {r.category_anchor for r in doc.rows() if r.category_anchor}
    assert targets == {e.anchor for e in doc.toc if e.level == 3}


def test_markers_by_level_and_numbered_lists(mini):
    doc = resolved(mini)
    rows = {r.item_id: r for r in doc.rows()}
    bullets = rows["first-a"].status[1].items
    assert [b.marker for b in bullets] == ["•", "•"] and bullets[1].children[0].marker == "➢"
    numbered = rows["first-b"].status[1]
    assert numbered.numbered and [i.marker for i in numbered.items] == ["①", "②"]


def test_as_of_date_and_source_date_epoch(mini, monkeypatch):
    assert resolved(mini).created.isoformat() == "2023-02-01T00:00:00+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert resolved(mini).created.timestamp() == 1700000000


def test_preview_keeps_numbers_marks_and_says_what_is_left_out(mini):
    from compiler.transforms.preview import select
    from compiler.theme import load_theme

    doc = resolved(mini)
    view = select(doc, "内閣府", load_theme(), "プレビュー")
    assert [r.number for r in view.rows()] == ["（②－1）"]
    assert [b.reprint_mark for r in view.rows() for b in r.status if hasattr(b, "reprint_mark")] == ["（再掲）"]
    view = select(doc, "厚労省", load_theme(), "プレビュー")
    first = view.pillars[0].policies[0]
    assert [getattr(r, "number", getattr(r, "text", None)) for r in first.rows] == [
        "（①－1は他府省分のため省略）", "（①－2）", "（①－3）"]
    assert [e.label for e in view.toc] == ["1. 第一の柱", "① 最初の政策", "【分類甲】", "【分類乙】",
                                           "2. 第二の柱", "③ 三番目の政策", "【分類丁】"]


def test_a_reprint_may_carry_its_own_budget_lines(mini):
    item = mini / "10-alpha" / "10-first" / "020-first-b.yaml"
    item.write_text(item.read_text(encoding="utf-8").replace(
        "  - reprint: project-a\n", "  - reprint: project-a\n    budget:\n      - 今年度の予算：1億円\n"), encoding="utf-8")
    doc = resolved(mini)
    budgets = {row.item_id: b.budget for row in doc.rows() for b in row.status if hasattr(b, "budget")}
    assert budgets["first-b"] == ("【今年度の予算：1億円】",)
    assert budgets["second-a"] == budgets["first-a"] != budgets["first-b"]
