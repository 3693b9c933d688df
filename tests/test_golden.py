"""Golden files of the mini fixture as the renderers make it: per-page PDF text, DOCX paragraph and cell text.

After an intended change of layout or wording, regenerate with ``UPDATE_GOLDEN=1`` and read the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import MINI, build, pdf_pages

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def mini_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    result, diags = build(MINI, out)
    assert not diags.has_errors
    return out


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_pdf_text_per_page(mini_build):
    pages = pdf_pages(mini_build / "mini.pdf")
    text = "".join(f"=== page {n} ===\n" + "\n".join(line.rstrip() for line in page.strip().splitlines()) + "\n"
                   for n, page in enumerate(pages, 1))
    check("mini.pdf.txt", text)


def test_docx_paragraph_and_cell_text(mini_build):
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(str(mini_build / "mini.docx"))
    lines = []
    blocks = []
    for block in document.element.body.iterchildren():  # content controls hold blocks too (the contents)
        blocks.extend(block.find(qn("w:sdtContent")).iterchildren() if block.tag == qn("w:sdt") else [block])
    for block in blocks:
        if block.tag == qn("w:p"):
            text = "".join(t.text or "" for t in block.iter(qn("w:t")))
            if text:
                lines.append(f"[{_style(document, block)}] {text}")
        elif block.tag == qn("w:tbl"):
            for r, row in enumerate(block.iter(qn("w:tr"))):
                for c, cell in enumerate(row.iter(qn("w:tc"))):
                    for p in cell.iter(qn("w:p")):
                        text = "".join(t.text or "" for t in p.iter(qn("w:t")))
                        if text:
                            lines.append(f"  r{r}c{c} [{_style(document, p)}] {text}")
    check("mini.docx.txt", "\n".join(lines) + "\n")


def _style(document, p) -> str:
    from docx.oxml.ns import qn

    ppr = p.find(qn("w:pPr"))
    pstyle = ppr.find(qn("w:pStyle")) if ppr is not None else None
    if pstyle is None:
        return "Normal"
    style_id = pstyle.get(qn("w:val"))
    return next((s.name for s in document.styles if s.style_id == style_id), style_id)
