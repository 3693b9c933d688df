"""Commitment paragraphs that open with an enumerator （1）（2）（3） hang on it (issue 15): wrapped lines start
under the text after the enumerator, in the PDF and in the DOCX, by exactly the enumerator's width."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict

import pytest

from compiler.transforms.numbering import commitment_markers
from compiler.theme import load_theme
from tests.helpers import MINI, build, crafted_pdf

LONG = "鶴" * 60  # wraps in the left column (about 23 characters a line)
PARAGRAPHS = ["導入の段落。", f"（1）{LONG}。", f"（2）{'亀' * 60}。", f"普通の段落{'鷹' * 60}。"]


def test_the_model_marks_enumerated_paragraphs_after_the_first():
    assert commitment_markers(PARAGRAPHS) == ("", "（1）", "（2）", "")
    assert commitment_markers(["（1）最初の段落は番号の後に続く。", "本文。"]) == ()
    assert commitment_markers(["本文。", "（1)半端な括弧。", "（10）二桁。"]) == ()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import pdfplumber

    pdf = crafted_pdf(tmp_path_factory.mktemp("enum"), "注記。", {"080-enum.yaml": {
        "id": "enum", "category": "番号付きの段落", "commitment": PARAGRAPHS, "ministry": "経産省",
        "status": [{"text": "状況。"}],
    }})
    lines = defaultdict(list)  # first character of a paragraph's run → x of each of its lines
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            rows = defaultdict(list)
            for c in page.chars:
                rows[round(c["matrix"][5], 1)].append(c)
            for _, chars in sorted(rows.items(), reverse=True):
                chars = sorted((c for c in chars if c["x1"] < page.width * 0.45), key=lambda c: c["x0"])  # left column
                text = "".join(c["text"] for c in chars)
                for kind in "鶴亀鷹":
                    if kind in text:
                        lines[kind].append((chars[0]["x0"], text))
    return lines, load_theme(), pdf


def test_pdf_continuation_lines_start_under_the_text(built):
    lines, theme, _ = built
    em = theme.text.size_pt
    for kind, marker in (("鶴", "（1）"), ("亀", "（2）")):
        (first_x, first_text), *rest = lines[kind]
        assert first_text.startswith(marker)
        assert len(rest) >= 2
        for x, _ in rest:
            assert x - first_x == pytest.approx(theme.text.enumerator_em * em, abs=0.05)


def test_pdf_other_paragraphs_do_not_hang(built):
    lines, theme, _ = built
    (first_x, _), *rest = lines["鷹"]
    # an ordinary paragraph: first line indented 1 em, wrapped lines at the column's start
    assert all(x == pytest.approx(first_x - theme.text.size_pt, abs=0.05) for x, _ in rest)


def test_enumerator_width_is_the_theme_width():
    """The theme's width is the real advance of （1） in the text font (so the hang is exact in both formats)."""
    from compiler.writers import docx_fonts

    theme = load_theme()
    for marker in ("（1）", "（9）"):
        assert docx_fonts.advance(theme.fonts.text, marker) == pytest.approx(theme.text.enumerator_em)


def test_docx_paragraph_hangs_by_the_enumerator(tmp_path):
    import docx

    sources = tmp_path / "sources"
    shutil.copytree(MINI, sources)
    (sources / "10-alpha" / "10-first" / "080-enum.yaml").write_text(json.dumps({
        "id": "enum", "category": "番号付きの段落", "commitment": PARAGRAPHS, "ministry": "経産省",
        "status": [{"text": "状況。"}]}, ensure_ascii=False), encoding="utf-8")
    result, diags = build(sources, tmp_path / "out", formats={"docx"})
    assert not diags.has_errors, diags.items
    path = next(p for p in result.written if p.suffix == ".docx")
    document = docx.Document(str(path))
    size = document.styles["Normal"].font.size.pt
    paragraphs = {p.text: p for cell in (c for t in document.tables for r in t.rows for c in r.cells)
                  for p in cell.paragraphs}
    hang = load_theme().text.enumerator_em * size
    for text in PARAGRAPHS[1:3]:
        fmt = paragraphs[text].style.paragraph_format
        assert fmt.left_indent.pt == pytest.approx(hang, abs=0.05)
        assert fmt.first_line_indent.pt == pytest.approx(-hang, abs=0.05)
    plain = paragraphs[PARAGRAPHS[3]].style.paragraph_format
    assert plain.left_indent is None and plain.first_line_indent.pt == pytest.approx(size, abs=0.05)
