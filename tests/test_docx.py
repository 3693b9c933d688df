"""DOCX: a real Word document (styles, TOC field, header rows), checked in its XML and as LibreOffice renders it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from docx import Document as open_docx
from docx.oxml.ns import qn

from tests.helpers import (assert_header_on_every_table_page, docx_paragraphs, libreoffice_pdf, norm, pdf_column_texts,
                           pdf_pages, read_pdf, toc_mismatches)


def docx_of(result) -> Path:
    return next(p for p in result.written if p.suffix == ".docx")


def pdf_of(result) -> Path:
    return next(p for p in result.written if p.suffix == ".pdf")


@pytest.fixture(scope="module")
def release_lo_pdf(official_release, tmp_path_factory) -> Path:
    """The release DOCX converted by plain LibreOffice (no field update)."""
    return libreoffice_pdf(docx_of(official_release), tmp_path_factory.mktemp("lo"))


@pytest.fixture(scope="module")
def release_lo_pages(release_lo_pdf):
    return read_pdf(release_lo_pdf)


# --- in the XML --------------------------------------------------------------------

def test_headings_use_heading_styles_in_document_order(official):
    document = open_docx(str(docx_of(official)))
    headings = [(p.style.name, p.text) for p in _all_paragraphs(document) if p.style.name.startswith("Heading")]
    expected = [(f"Heading {e.level}", e.label) for e in official.document.toc]
    assert headings == expected


def _all_paragraphs(document):
    from docx.text.paragraph import Paragraph

    return [Paragraph(p, document) for p in document.element.body.iter(qn("w:p"))]


def test_every_block_kind_has_its_named_style(official):
    document = open_docx(str(docx_of(official)))
    used = {p.style.name for p in _all_paragraphs(document)}
    assert any(name.startswith("FU Numbered") for name in used)
    assert {"FU Commitment", "FU Ministry Tag", "FU Project", "FU Budget", "FU Bullet 1", "FU Bullet 2", "FU Note", "FU Category", "FU Principle", "FU Table Header", "toc 1", "toc 2",
            "toc 3", "Title"} <= used
    # no direct run formatting: fonts, sizes and bold come from styles
    body = zipfile.ZipFile(docx_of(official)).read("word/document.xml").decode()
    assert "<w:rFonts" not in body and "<w:sz " not in body and "<w:b/>" not in body
    # paragraphs carry a style and nothing else (page breaks before a new policy, section breaks, and no
    # gap above the first block of a cell)
    ppr_children = set(re.findall(r"<w:pPr>((?:<w:\w+[^>]*/>|<w:sectPr.*?</w:sectPr>)*)</w:pPr>", body))
    tags = {t for chunk in ppr_children for t in re.findall(r"<w:(\w+)", chunk)}
    assert {"pStyle"} <= tags and tags - {"pStyle", "pageBreakBefore", "sectPr", "spacing"} <= SECTION_TAGS, tags
    assert set(re.findall(r"<w:pPr>(?:(?!</w:pPr>).)*?(<w:spacing [^>]*/>)", body)) == {'<w:spacing w:before="0"/>'}


SECTION_TAGS = {"type", "pgSz", "pgMar", "cols", "docGrid", "footerReference", "headerReference", "pgNumType"}


def test_fonts_and_language_are_set_for_east_asian_text(official):
    styles = zipfile.ZipFile(docx_of(official)).read("word/styles.xml").decode()
    # the family names of the shipped (and embedded) files, as their name tables say
    assert 'w:eastAsia="BIZ UDMincho"' in styles
    assert 'w:eastAsia="BIZ UDGothic"' in styles
    assert re.search(r'<w:lang [^>]*w:eastAsia="ja-JP"', styles)
    assert "<w:kinsoku" in styles


def test_toc_is_a_contents_control_with_hyperlinks_and_cached_pagerefs(official):
    xml = zipfile.ZipFile(docx_of(official)).read("word/document.xml").decode()
    # no TOC field (LibreOffice would lay it out in one full-width column); Word's contents control instead
    assert "TOC \\o" not in xml and xml.count('<w:docPartGallery w:val="Table of Contents"/>') == 1
    anchors = re.findall(r'<w:hyperlink w:anchor="(_Toc\d+)"', xml)
    pagerefs = re.findall(r"PAGEREF (_Toc\d+) \\h", xml)
    bookmarks = set(re.findall(r'<w:bookmarkStart w:id="\d+" w:name="(_Toc\d+)"', xml))
    assert len(anchors) == len(official.document.toc) == len(pagerefs)
    assert anchors == pagerefs and set(anchors) == bookmarks
    settings = zipfile.ZipFile(docx_of(official)).read("word/settings.xml").decode()
    assert "updateFields" not in settings  # opens with no prompt


def test_tables_fixed_widths_repeating_header_and_splittable_rows(official):
    document = open_docx(str(docx_of(official)))
    tables = [t for t in document.tables if len(t.columns) == 2]  # the contents' table sits in a content control
    assert len(tables) == 9
    for table in tables:
        tbl = table._tbl
        assert tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        header = table.rows[0]._tr
        assert header.trPr.find(qn("w:tblHeader")) is not None
        for row in table.rows[1:]:
            trpr = row._tr.trPr
            assert trpr is None or trpr.find(qn("w:cantSplit")) is None
        for row in table.rows:
            for tc in row._tr.findall(qn("w:tc")):
                tcw = tc.tcPr.find(qn("w:tcW"))
                assert tcw.get(qn("w:type")) == "dxa" and int(tcw.get(qn("w:w"))) > 1000


def test_footer_page_numbers_start_at_one_on_the_body(official):
    document = open_docx(str(docx_of(official)))
    body = document.sections[-1]
    assert "PAGE" in body.footer._element.xml
    assert body._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) == "1"
    assert "PAGE" not in document.sections[0].footer._element.xml


def test_properties_come_from_the_document_file(official):
    props = open_docx(str(docx_of(official))).core_properties
    doc = official.document
    assert (props.title, props.author) == (doc.title, doc.author)
    assert props.created.year == 2023 and props.created == props.modified


def test_same_items_numbers_order_and_texts_as_the_pdf(official):
    paragraphs = docx_paragraphs(docx_of(official))
    docx_text = norm("".join(paragraphs))
    pdf_text = norm("".join(pdf_pages(pdf_of(official))))
    numbers = [r.number for r in official.document.rows()]
    for text in (docx_text, pdf_text):
        positions = [text.find(norm(n)) for n in numbers]
        assert all(p >= 0 for p in positions) and positions == sorted(positions)
    docx_numbers = [m for p in paragraphs for m in re.findall(r"（[①-⑳]－\d+）", p)]
    assert docx_numbers == numbers
    for row in official.document.rows():
        for para in row.commitment:
            assert norm(para) in docx_text


# --- as LibreOffice renders the release DOCX --------------------------------------------

def test_release_toc_numbers_equal_pages_in_libreoffice(official_release, release_lo_pages):
    labels = [e.label for e in official_release.document.toc]
    assert labels
    wrong = toc_mismatches(release_lo_pages, labels)
    assert not wrong, "\n".join(wrong)


def test_header_row_on_every_table_page_in_libreoffice(official_release, release_lo_pages):
    doc = official_release.document
    assert assert_header_on_every_table_page(release_lo_pages, doc.labels.commitment_heading, doc.labels.status_heading) > 20


def test_no_text_lost_in_libreoffice(official_release, release_lo_pdf, release_lo_pages):
    doc = official_release.document
    left, right = pdf_column_texts(release_lo_pdf, release_lo_pages.first_body, doc.labels.commitment_heading, doc.labels.status_heading)
    missing = []
    for row in doc.rows():
        missing += [(row.number, p) for p in row.commitment if norm(p) not in left]
        for block in row.status:
            missing += [(row.number, v) for v in _texts(block) if norm(v) not in right]
    assert not missing, missing[:10]


def _texts(block):
    if hasattr(block, "items"):
        stack = list(block.items)
        while stack:
            item = stack.pop()
            yield item.text
            stack.extend(item.children)
    elif hasattr(block, "name"):
        yield block.name
        yield from block.budget
    else:
        yield block.text


def test_release_is_byte_reproducible(official_release, tmp_path):
    from tests.helpers import OFFICIAL, build

    again, diags = build(OFFICIAL, tmp_path, release=True)
    assert not diags.has_errors
    first = {p.name: p.read_bytes() for p in official_release.written}
    second = {p.name: p.read_bytes() for p in again.written}
    assert set(first) == {"followup.pdf", "followup.docx", "manifest.json"}
    assert first == second


def test_libreoffice_renders_with_the_shipped_fonts(release_lo_pdf):
    import subprocess

    out = subprocess.run(["pdffonts", str(release_lo_pdf)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0].split("+", 1)[-1] for line in out.splitlines()[2:]}
    assert names <= {"BIZUDMincho-Regular", "BIZUDGothic-Regular", "BIZUDGothic-Bold", "DejaVuSans"}, names
    assert "BIZUDMincho-Regular" in names


def _cached_pages(data: bytes) -> list[str]:
    """The cached result of every contents entry's PAGEREF, in order."""
    xml = zipfile.ZipFile(__import__("io").BytesIO(data)).read("word/document.xml").decode()
    return re.findall(r'PAGEREF _Toc\d+ \\h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                      r'<w:r><w:rPr>.*?</w:rPr><w:t>([^<]*)</w:t>', xml)


def test_a_docx_composed_before_the_layout_gets_its_page_numbers_when_packaged(mini):
    """What ``pipeline.render`` relies on to compose the DOCX beside the layout: packaging a composed
    document with a page map gives the bytes of writing it with that map, and only the numbers differ."""
    from compiler.diagnostics import Diagnostics
    from compiler.paging import NO_PAGES, PageMap
    from compiler.pipeline import compile_sources
    from compiler.writers import docx

    compiled = compile_sources(mini, Diagnostics())
    doc, theme = compiled.document, compiled.theme
    pages = PageMap({e.anchor: 3 + 2 * n for n, e in enumerate(doc.toc)}, "weasyprint")
    composed = docx.compose(doc, theme, embed_fonts=False)
    blank, numbered = composed.package(NO_PAGES), composed.package(pages)
    assert numbered == docx.write(doc, theme, pages, embed_fonts=False)
    assert blank == docx.write(doc, theme, embed_fonts=False)
    assert _cached_pages(numbered) == [str(3 + 2 * n) for n in range(len(doc.toc))] and len(doc.toc) >= 2
    assert _cached_pages(blank) == [""] * len(doc.toc)


def test_text_that_looks_like_a_page_slot_is_printed_as_it_is(mini, monkeypatch):
    """The draft's slots are private-use characters around an ordinal. No source brings them (no shipped
    font has them), but the intermediate document may come from elsewhere: such text is printed as it
    is, and a draft whose slots do not read back as expected is packaged from the tree instead."""
    import dataclasses

    from compiler.diagnostics import Diagnostics
    from compiler.paging import PageMap
    from compiler.pipeline import compile_sources
    from compiler.writers import docx

    compiled = compile_sources(mini, Diagnostics())
    doc, theme = compiled.document, compiled.theme
    odd = "\U000F00000\U000F0001"
    doc = dataclasses.replace(doc, toc=(dataclasses.replace(doc.toc[0], label=doc.toc[0].label + odd), *doc.toc[1:]))
    pages = PageMap({e.anchor: 7 for e in doc.toc}, "weasyprint")
    expected = docx.write(doc, theme, pages, embed_fonts=False)
    assert docx.compose(doc, theme, embed_fonts=False).package(pages) == expected
    xml = zipfile.ZipFile(__import__("io").BytesIO(expected)).read("word/document.xml").decode()
    assert odd in re.sub(r"<[^>]+>", "", xml)
    monkeypatch.setattr(docx.Draft, "slots", lambda self: [])  # as if a slot had been found in the text
    composed = docx.compose(doc, theme, embed_fonts=False)
    assert not isinstance(composed, docx.Draft) and composed.package(pages) == expected
