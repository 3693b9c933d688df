"""PDF layout of the official document: TOC numbers, repeated header row, fonts, size."""

from __future__ import annotations

import subprocess

from tests.helpers import (OFFICIAL, PdfText, assert_header_on_every_table_page, build, edited_copy, heading_pages,
                           match_in_order, norm, read_pdf, toc_mismatches)


def pdf_of(result):
    return next(p for p in result.written if p.suffix == ".pdf")


def test_every_toc_number_is_the_page_of_its_heading(official):
    pdf = read_pdf(pdf_of(official))
    labels = [e.label for e in official.document.toc]
    assert len(labels) == 3 + 9 + 30  # 30 categories: the published TOC lists 29 (it omits 知財戦略支援)
    wrong = toc_mismatches(pdf, labels)
    assert not wrong, "\n".join(wrong)


def test_toc_matching_is_by_position_not_by_label():
    """One category under two policies: each TOC line is matched to its own heading."""
    labels = ["① 政策", "【分類】", "② 政策", "【分類】"]
    toc = [("目次", None), ("① 政策", 1), ("【分類】", 1), ("② 政策", 3), ("【 分類 】", 4)]
    assert match_in_order(labels, toc) == [1, 1, 3, 4]
    assert match_in_order(labels + ["【ない】"], toc) == [1, 1, 3, 4, None]
    assert match_in_order(["② 政策", "① 政策"], toc) == [3, None]  # out of order is not found
    pdf = PdfText(None, ["目次 ① 政策 ② 政策", "① 政策 【分類】", "本文", "② 政策", "【分類】"],
                  [], [None, 1, 2, 3, 4])
    assert heading_pages(pdf, labels) == [1, 1, 3, 4]
    assert heading_pages(pdf, ["① 政策", "① 政策"]) == [1, 1]  # two headings may share a page


def test_toc_numbers_when_a_category_stands_under_two_policies(tmp_path):
    """The official copy with an item moved and given another policy's category (tests.helpers.edited_copy)."""
    sources = tmp_path / "sources"
    _, borrowed = edited_copy(OFFICIAL, sources)
    result, diags = build(sources, tmp_path / "out", formats={"pdf"})
    assert not diags.has_errors, diags.items
    pdf = read_pdf(pdf_of(result))
    labels = [e.label for e in result.document.toc]
    twice = [i for i, label in enumerate(labels) if norm(borrowed) in norm(label)]
    assert len(twice) == 2
    pages = heading_pages(pdf, labels)
    assert pages[twice[0]] != pages[twice[1]]  # the two headings are on different pages
    wrong = toc_mismatches(pdf, labels)
    assert not wrong, "\n".join(wrong)


def test_front_page_is_unnumbered_and_body_starts_at_one(official):
    pdf = read_pdf(pdf_of(official))
    numbers, first = pdf.footers, pdf.first_body
    assert first >= 1 and all(n is None for n in numbers[:first])
    assert numbers[first:] == list(range(1, len(numbers) - first + 1))


def test_table_header_row_stands_at_the_top_of_every_table_page(official):
    doc = official.document
    pdf = read_pdf(pdf_of(official))
    checked = assert_header_on_every_table_page(pdf, doc.labels.commitment_heading, doc.labels.status_heading)
    assert checked == len(pdf.footers) - pdf.first_body > 20


def test_fonts_are_the_shipped_ones_embedded_and_subset(official):
    out = subprocess.run(["pdffonts", str(pdf_of(official))], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:]]
    names = {r[0].split("+", 1)[-1] for r in rows}
    # the @font-face families of layouts/style.css, i.e. the files in fonts/; a system fallback would show up here
    assert names <= {"FU-Mincho", "FU-Gothic", "FU-Gothic-Bold", "FU-Symbols"}, names
    assert all("+" in r[0] for r in rows)  # subset
    assert all(r[-5] == "yes" for r in rows)  # embedded


def test_pdf_metadata(official):
    from pypdf import PdfReader

    reader = PdfReader(pdf_of(official))
    assert reader.metadata.title == official.document.title
    assert reader.metadata.author == official.document.author
    assert reader.trailer["/Root"]["/Lang"] == "ja"


def test_memoized_page_references_write_the_same_bytes(tmp_path, monkeypatch):
    """The pydyf speed-up in writers/pdf.py must not change a single byte."""
    import pydyf

    from compiler.pipeline import compile_sources
    from compiler.diagnostics import Diagnostics
    from compiler.writers import pdf as pdfmod
    from tests.helpers import MINI

    compiled = compile_sources(MINI, Diagnostics())
    doc, theme = compiled.document, compiled.theme
    fast = pdfmod.write(doc, theme, identifier=b"same")
    assert pydyf.PDF._followup_memo
    monkeypatch.setattr(pydyf.PDF, "page_references", property(
        lambda self: tuple(f"{n} 0 R".encode("ascii") for n in self.pages["Kids"][::3])))
    monkeypatch.setattr(pdfmod, "_memoize_page_references", lambda: None)
    slow = pdfmod.write(doc, theme, identifier=b"same")
    assert fast == slow
