"""両端揃え: non-final lines of Japanese text reach the edge of their cell or box (compiler/writers/justify.py)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.helpers import crafted_pdf

# Paragraphs with one 。 each, at the end: a line ending in 。 is a paragraph's last line.
SENTENCES = [
    "中小企業基盤整備機構が出資するファンドについて、民間出資者に優先分配する仕組みを創設し、"
    "出資総額に対する組合員に分配された金額の累計額の比率が100%を上回った時点以降に行う組合財産の分配について検討した。",
    "地域経済活性化支援機構（REVIC）は、新型コロナ関連支援の相談として約700件の相談を受け、案件精査のうえ、"
    "支援に向けた検討を進めており、これまでにポストコロナを見据えた設備投資による生産性向上の取組に対し支援を決定した。",
    "事業承継・引継ぎ支援センターのデータベースに登録された案件について「マッチング」の効率を向上させるため、"
    "民間M&Aプラットフォーマーのデータベースとの連携も念頭に、システムの改修と運用の見直しを令和5年度中に行う予定である。",
]


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    """(column edge, line) pairs of the justified paragraphs, from a crafted build."""
    import pdfplumber

    pdf = crafted_pdf(tmp_path_factory.mktemp("justify"), SENTENCES[0], {"080-justify.yaml": {
        "id": "justify", "category": "両端揃え", "commitment": SENTENCES, "ministry": "経産省",
        "status": [{"text": s} for s in SENTENCES] + [{"bullets": SENTENCES}, {"note": SENTENCES[1]}],
    }})
    out = []
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            edges = [e for e in page.edges if e["orientation"] == "v"]
            if not edges:
                continue
            rows = defaultdict(list)
            for c in page.chars:
                if c["text"].strip():
                    # the rules beside this glyph: the cell (or box) it stands in
                    beside = sorted(e["x0"] for e in edges if e["top"] - 1 <= c["top"] and c["bottom"] <= e["bottom"] + 1)
                    right = min((x for x in beside if x > c["x1"] - 0.5), default=None)
                    if right is not None:
                        rows[(round(c["matrix"][5], 1), right)].append(c)
            for (_, right), chars in rows.items():
                out.append((right, sorted(chars, key=lambda c: c["x0"])))
    return out


def _text(chars) -> str:
    return "".join(c["text"] for c in chars)


def _crafted(lines):
    """Lines of the crafted paragraphs, grouped by the rule they stand against."""
    groups = defaultdict(list)
    for edge, chars in lines:
        text = _text(chars)
        if any(s[:6] in text or s[10:16] in text or s[30:36] in text for s in SENTENCES):
            groups[round(edge, 1)].append(chars)
    return groups


def test_non_final_lines_reach_the_edge(lines):
    """Every non-final line ends where the longest line of its cell or box ends (within 0.1 em)."""
    checked = 0
    shortfalls = []
    for group in _crafted(lines).values():
        edge = max(chars[-1]["x1"] for chars in group)
        for chars in group:
            if _text(chars).endswith("。"):
                continue  # a paragraph's last line may be short
            shortfalls.append((edge - chars[-1]["x1"]) / chars[-1]["size"])
            checked += 1
    assert checked >= 20
    assert max(shortfalls) < 0.1, sorted(shortfalls)[-5:]


def test_a_paragraph_last_line_is_not_stretched(lines):
    finals = [(edge, chars) for edge, chars in lines if _text(chars).endswith("。")
              and any(s[-6:] in _text(chars) for s in SENTENCES)]
    assert finals
    for _, chars in finals:
        gaps = [b["x0"] - a["x1"] for a, b in zip(chars, chars[1:]) if b["text"] not in "。、"]
        assert max(gaps) < 0.05 * chars[0]["size"], _text(chars)


def test_gaps_follow_the_line_breaking_rules():
    from compiler.writers.justify import is_opportunity

    assert is_opportunity("本", "文")
    assert is_opportunity("本", "A") and is_opportunity("A", "本")
    assert not is_opportunity("A", "B") and not is_opportunity("1", "0")  # Latin words and numbers keep their spacing
    for closing in "、。）」ーっ":
        assert not is_opportunity("文", closing)
    for opening in "（「【":
        assert not is_opportunity(opening, "文")


def test_an_unsupported_weasyprint_is_left_alone(monkeypatch):
    import weasyprint
    from weasyprint.layout import inline

    from compiler.writers import justify

    before = inline.justify_line
    monkeypatch.setattr(weasyprint, "__version__", "99.0")
    assert justify.install() is False
    assert inline.justify_line is before
