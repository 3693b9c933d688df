"""Contents entries never leave one or two characters on a line (issue 15): the last characters of an
entry wrap together with its leader and page number, and every entry is still one link with its text.

Categories of every length around the column's width are added to the mini fixture, so that without
the rule some entry would end in a line of one or two characters."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.helpers import crafted_pdf

STEMS = "地域中小企業支援事業承継促進人材育成海外展開研究開発生産性向上"
CATEGORIES = [STEMS[:n] for n in range(14, 33)]  # a TOC column holds about 24 category characters
LEADER = re.compile(r"[.…・]{2,}\s*\d+$|\d+$")


@pytest.fixture(scope="module")
def toc(tmp_path_factory):
    import pdfplumber
    import pikepdf

    items = {f"{100 + i}-toc.yaml": {
        "id": f"toc-{i}", "category": c, "commitment": ["目次の取組。"], "ministry": "経産省",
        "status": [{"text": "状況。"}],
    } for i, c in enumerate(CATEGORIES)}
    pdf = crafted_pdf(tmp_path_factory.mktemp("toc"), "注記。", items)
    lines = []
    with pdfplumber.open(str(pdf)) as doc:
        page = doc.pages[0]
        mid = page.width / 2
        for left in (True, False):
            rows = defaultdict(list)
            for c in page.chars:
                if (c["x0"] < mid) == left:
                    rows[round(c["matrix"][5], 1)].append(c)
            for _, chars in sorted(rows.items(), reverse=True):
                lines.append("".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])).strip())
    with pikepdf.open(str(pdf)) as p:
        annotations = [str(a.Contents) for a in p.pages[0].get("/Annots", []) if a.Subtype == "/Link"]
    return lines, annotations


def test_wrapped_entries_exist(toc):
    lines, _ = toc
    assert sum(1 for line in lines if any(c in line for c in STEMS) and not LEADER.search(line)) >= 5


def test_no_line_holds_one_or_two_characters_besides_leader_and_number(toc):
    lines, _ = toc
    entry_lines = [line for line in lines if LEADER.search(line)]
    assert len(entry_lines) >= len(CATEGORIES)
    lonely = [line for line in entry_lines if len(LEADER.sub("", line).strip()) <= 2]
    assert lonely == []


def test_every_entry_is_one_link_with_its_whole_text(toc):
    _, annotations = toc
    for category in CATEGORIES:
        assert f"【{category}】" in annotations
