"""Japanese typography of the PDF: unbreakable tokens, kinsoku, hanging indents, rules, fonts.

One crafted document is built once (the mini fixture plus two rows written
here) and its glyphs are read back with pdfplumber:

* every protected token (amounts, era dates, item numbers, ministry tags…) is
  placed at every offset of a line, and no line break falls inside it — while
  a plain run of kanji placed the same way *is* broken, so the check can fail;
* no line starts with ）。、 or ～ and none ends with （ or a ※ mark;
* wrapped lines of bullets, sub-bullets, third-level bullets, numbered items,
  ※ notes (in the status column and in the principle box) and ○ project names
  start where the text after the marker starts;
* no glyph comes closer than 1 mm to a rule of the table, also in a row split
  across pages; every glyph is from a font shipped in fonts/.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers import crafted_pdf

# Tokens that must never be split by a line break (compiler/writers/html.py: nobreak).
TOKENS = ["157.7億円", "1兆1842億円", "2,001億円", "令和4年度", "12月", "（①－1）", "［経産省］", "2023年", "87,471人"]
# A date may break between its parts (JLReq keeps a number with its unit, not a whole date), never inside one.
DATE, DATE_PARTS = "令和4年12月26日", ("令和4年", "12月", "26日")
CONTROL = "一二三四五六七八"  # plain kanji: breaks are allowed anywhere, so the harness must see one
OFFSETS = range(0, 30)  # a status-column line holds about 27 full-width characters
FILLER = "あ"

# Runs that identify the lines of the hanging-indent checks (one repeated kanji each).
HANG = {
    "bullet": "甲" * 70,
    "sub-bullet": "乙" * 70,
    "third-bullet": "丙" * 70,
    "numbered": "丁" * 70,
    "sub-numbered": "戊" * 70,
    "note": "己" * 70,
    "project": "庚" * 45,
}
PRINCIPLE_NOTE = "壬" * 120  # a ※ note of the policy's principle box (full width, above the table)
MM = 72 / 25.4


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """The mini fixture plus a row of token probes and a row of long marked blocks, built to PDF."""
    items = [FILLER * k + "（" + token + "）。" for token in TOKENS + [CONTROL, DATE] for k in OFFSETS]
    items += [FILLER * k + "3～5" for k in OFFSETS]
    items += [FILLER * k + "※印の注記" for k in OFFSETS]
    pdf = crafted_pdf(tmp_path_factory.mktemp("typography"), PRINCIPLE_NOTE, {"080-hang.yaml": {
        "id": "hang", "category": "字下げ", "commitment": ["字下げの確認。"], "ministry": "経産省",
        "status": [
            {"project": HANG["project"], "budget": ["令和4年度当初：157.7億円の内数"]},
            {"bullets": [HANG["bullet"], {"text": "短い項目。", "bullets": [
                HANG["sub-bullet"], {"text": "短い下位項目。", "bullets": [HANG["third-bullet"]]}]}]},
            {"numbered": [HANG["numbered"], "短い番号項目。"]},
            {"bullets": [{"text": "番号付きの下位。", "numbered": [HANG["sub-numbered"]]}]},
            {"note": HANG["note"]},
            {"ministry": "経産省"},
        ]}, "090-tokens.yaml": {
        "id": "tokens", "category": "禁則", "commitment": ["禁則の確認。"], "ministry": "経産省",
        "status": [{"bullets": items}, {"ministry": "経産省"}]}})
    return read_layout(pdf)


class Layout:
    """Glyphs, lines and rules of the body pages of a PDF."""

    def __init__(self, pages):
        self.pages = pages  # [(chars, vertical edges, horizontal edges, width)]

    def column_split(self, page) -> float:
        chars, vertical, _, width = page
        inner = [e["x0"] for e in vertical if 60 < e["x0"] < width - 60]
        return min(inner)

    def full_width_lines(self, char: str) -> list[list[dict]]:
        """Lines (whole page width) with at least three ``char``, in order."""
        out = []
        for chars, *_ in self.pages:
            rows = defaultdict(list)
            for c in chars:
                if c["text"].strip():
                    rows[round(c["matrix"][5], 1)].append(c)
            out += [sorted(rows[y], key=lambda c: c["x0"]) for y in sorted(rows, reverse=True)
                    if sum(c["text"] == char for c in rows[y]) >= 3]
        return out

    def lines(self, column: str) -> list[list[dict]]:
        """Lines of one column ("left" or "right") of the table, page after page, top to bottom."""
        out = []
        for page in self.pages:
            chars = page[0]
            split = self.column_split(page)
            rows = defaultdict(list)  # by baseline: glyphs of two fonts on one line differ in "top"
            for c in chars:
                if (c["x0"] >= split) == (column == "right") and c["text"].strip():
                    rows[round(c["matrix"][5], 1)].append(c)
            out += [sorted(rows[y], key=lambda c: c["x0"]) for y in sorted(rows, reverse=True)]
        return out


def read_layout(pdf: Path) -> Layout:
    import pdfplumber

    pages = []
    with pdfplumber.open(str(pdf)) as doc:
        fonts = {c["fontname"].split("+", 1)[-1] for page in doc.pages for c in page.chars}
        markers = {(c["text"], c["fontname"].split("+", 1)[-1]) for page in doc.pages for c in page.chars if c["text"] == "➢"}
        for page in doc.pages:
            vertical = [e for e in page.edges if e["orientation"] == "v"]
            if len({round(e["x0"]) for e in vertical}) < 3:
                continue  # not a table page (title and contents)
            pages.append((list(page.chars), vertical, [e for e in page.edges if e["orientation"] == "h"], page.width))
    layout = Layout(pages)
    layout.fonts, layout.arrow_fonts = fonts, markers
    return layout


def text(line) -> str:
    return "".join(c["text"] for c in line)


# --- line breaking ---------------------------------------------------------------------

def _breaks_inside(lines: list[str], token: str) -> list[str]:
    found = []
    for a, b in zip(lines, lines[1:]):
        for j in range(1, len(token)):
            if a.endswith(token[:j]) and b.startswith(token[j:]):
                found.append(f"{a}｜{b}")
    return found


def test_tokens_never_break_inside(crafted):
    lines = [text(line) for line in crafted.lines("right")]
    assert any(FILLER * 5 in line for line in lines), "the probe row is missing"
    for token in TOKENS:
        assert not _breaks_inside(lines, token), f"{token} broken across lines"
        # At some offset the token (with its opening bracket) was carried whole to the next line.
        assert any(line.startswith("（" + token) for line in lines), token


def test_dates_break_only_between_their_parts(crafted):
    lines = [text(line) for line in crafted.lines("right")]
    boundaries = {len(DATE_PARTS[0]), len(DATE_PARTS[0]) + len(DATE_PARTS[1])}
    splits = {j for a, b in zip(lines, lines[1:]) for j in range(1, len(DATE))
              if a.endswith(DATE[:j]) and b.startswith(DATE[j:])}
    assert splits and splits <= boundaries, splits


def test_control_run_does_break(crafted):
    """The harness sees breaks: plain kanji, placed the same way, is broken somewhere."""
    lines = [text(line) for line in crafted.lines("right")]
    assert _breaks_inside(lines, CONTROL)


def test_kinsoku(crafted):
    lines = [text(line) for line in crafted.lines("right")] + [text(line) for line in crafted.lines("left")]
    starts = [line for line in lines if line[0] in "）。、」】］～"]
    ends = [line for line in lines if line[-1] in "（「【［※"]
    assert not starts, starts[:5]
    assert not ends, ends[:5]
    # ～ is really probed at line starts: "3～" is kept together, "5" may start a line.
    assert any(line.startswith("3～") or line.endswith("3～") for line in lines)


# --- hanging indents ---------------------------------------------------------------------

def _block_lines(layout: Layout, run: str) -> list[list[dict]]:
    char = run[0]
    lines = [line for line in layout.lines("right") if sum(c["text"] == char for c in line) >= 3]
    assert len(lines) >= 2, f"{char}: the block did not wrap"
    return lines


@pytest.mark.parametrize("kind", list(HANG))
def test_hanging_indent(crafted, kind):
    char = HANG[kind][0]
    first, *rest = _block_lines(crafted, HANG[kind])
    marker = first[0]
    text_start = next(c for c in first if c["text"] == char)
    assert marker["text"] != char and text_start["x0"] - marker["x0"] > 5, "no marker before the text"
    for line in rest:
        assert abs(line[0]["x0"] - text_start["x0"]) < 0.5, \
            f"{kind}: wrapped line at x={line[0]['x0']:.1f}, text starts at {text_start['x0']:.1f} (marker {marker['x0']:.1f})"


def test_principle_note_hangs(crafted):
    """The ※ notes of a policy carry their ※ in the text; wrapped lines start after it."""
    first, *rest = crafted.full_width_lines(PRINCIPLE_NOTE[0])
    assert first[0]["text"] == "※" and rest
    text_start = first[1]
    for line in rest:
        assert abs(line[0]["x0"] - text_start["x0"]) < 0.5, (line[0]["x0"], text_start["x0"], first[0]["x0"])


def test_levels_step_by_one_marker_width(crafted):
    """Sub-bullets hang 1em further in than bullets, third-level bullets 1em further still."""
    xs = [_block_lines(crafted, HANG[kind])[1][0]["x0"] for kind in ("bullet", "sub-bullet", "third-bullet")]
    em = 9.5
    assert abs(xs[1] - xs[0] - em) < 0.5 and abs(xs[2] - xs[1] - em) < 0.5, xs


def test_constant_line_pitch(crafted):
    """Inside a paragraph, lines follow each other at 1.45 × the font size (9.5pt, notes 9pt)."""
    for kind, size in (("bullet", 9.5), ("numbered", 9.5), ("note", 9)):  # notes are set at 9pt
        tops = [line[0]["top"] for line in _block_lines(crafted, HANG[kind])]
        for a, b in zip(tops, tops[1:]):
            assert abs((b - a) - size * 1.45) < 0.2, (kind, tops)


# --- rules and fonts -----------------------------------------------------------------------

def test_nothing_touches_a_rule(crafted):
    """Every glyph of the table keeps at least 1 mm from the rules around it, also where a row is split."""
    assert len(crafted.pages) >= 3, "the probe row should run over pages"
    for chars, vertical, horizontal, width in crafted.pages:
        xs = sorted({round(e["x0"], 1) for e in vertical})
        split = crafted.column_split((chars, vertical, horizontal, width))
        inner = [e for e in vertical if abs(e["x0"] - split) < 1]  # the column rule: table rows only
        table_top = min(e["top"] for e in inner)
        table_bottom = max(e["bottom"] for e in inner)
        ys = sorted({round(e["top"], 1) for e in horizontal
                     if e["x0"] < xs[0] + 1 and table_top - 1 <= e["top"] <= table_bottom + 1})
        assert ys and abs(ys[-1] - table_bottom) < 1, "the table (or the split row) is not closed by a rule"
        for c in chars:
            if not (table_top <= c["top"] <= table_bottom) or not c["text"].strip():
                continue
            left = max(x for x in xs if x <= c["x0"] + 0.01)
            right = min(x for x in xs if x >= c["x1"] - 0.01)
            above = max(y for y in ys if y <= c["top"] + 0.01)
            below = min(y for y in ys if y >= c["bottom"] - 0.01)
            gaps = (c["x0"] - left, right - c["x1"], c["top"] - above, below - c["bottom"])
            assert min(gaps) >= 1 * MM - 0.3, f"{c['text']!r} at ({c['x0']:.1f}, {c['top']:.1f}) is {min(gaps):.2f}pt from a rule"


def test_every_glyph_from_a_shipped_font(crafted):
    assert crafted.fonts <= {"FU-Mincho", "FU-Gothic", "FU-Gothic-Bold", "FU-Symbols"}, crafted.fonts
    assert crafted.arrow_fonts == {("➢", "FU-Symbols")}


def test_hyphenated_latin_words_and_paragraph_tails_stay_together():
    from compiler.writers.html import nobreak, nobreak_tail

    assert '<span class="nb">J-Bridge</span>' in nobreak("J-Bridge等を活用")
    assert '<span class="nb">A-STEP</span>' in nobreak("A-STEPで支援")
    tail = nobreak_tail("事業承継・引継ぎ支援センターの支援")
    assert tail.endswith('<span class="nb">の支援</span>')
    # a token cut by the tail joins it whole
    assert nobreak_tail("支援を実施した令和4年度").endswith('<span class="nb">令和4年度</span>')
