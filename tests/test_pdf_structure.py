"""The PDF as an accessible document: tags, headings, table, lists, links, metadata, outline.

The mini fixture is compiled once and rendered three ways (plain tagged PDF as
``build`` writes it, PDF/UA-1 as a release writes it, PDF/A-2b for archiving);
the structure tree is read back with pikepdf. The PDF/UA-1 checks here are the
machine-checkable rules that do not need a full validator (veraPDF is not on
PyPI or in Debian).
"""

from __future__ import annotations

import re
from collections import Counter

import pikepdf
import pytest

from tests.helpers import MINI


@pytest.fixture(scope="module")
def mini_doc():
    from compiler.pipeline import compile_sources
    from compiler.diagnostics import Diagnostics
    diags = Diagnostics()
    compiled = compile_sources(MINI, diags)
    assert compiled.document is not None, diags.items
    return compiled.document, compiled.theme


@pytest.fixture(scope="module")
def pdfs(mini_doc, tmp_path_factory):
    """variant → path of the rendered mini document."""
    from compiler.writers.pdf import write

    doc, theme = mini_doc
    out = tmp_path_factory.mktemp("structure")
    paths = {}
    for variant in (None, "pdf/ua-1", "pdf/a-2b"):
        path = out / f"{(variant or 'plain').replace('/', '_')}.pdf"
        path.write_bytes(write(doc, theme, variant=variant, identifier=b"mini"))
        paths[variant] = path
    return paths


# --- reading the structure tree ------------------------------------------------------------

def kids(node) -> list:
    k = node.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def elements(node):
    """Structure elements under ``node`` in document (depth-first) order."""
    for kid in kids(node):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from elements(kid)


def tag(node) -> str:
    return str(node.S)[1:]


def tree(pdf: pikepdf.Pdf) -> list:
    return list(elements(pdf.Root.StructTreeRoot))


def outline(pdf: pikepdf.Pdf) -> list[tuple[int, str]]:
    entries = []

    def walk(item, level):
        while item is not None:
            entries.append((level, str(item.Title)))
            if "/First" in item:
                walk(item.First, level + 1)
            item = item.get("/Next")

    walk(pdf.Root.Outlines.First, 1)
    return entries


ALL = [None, "pdf/ua-1", "pdf/a-2b"]


# --- every variant ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ALL)
def test_tagged_with_language_and_title(pdfs, mini_doc, variant):
    doc, _ = mini_doc
    with pikepdf.open(pdfs[variant]) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == "ja"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.docinfo.Title) == doc.title
        assert tag(tree(pdf)[0]) == "Document"
        assert "/ParentTree" in pdf.Root.StructTreeRoot
        for page in pdf.pages:
            assert "/StructParents" in page
        assert not [e for e in tree(pdf) if tag(e) == "Figure" and "/Alt" not in e]


@pytest.mark.parametrize("variant", ALL)
def test_headings_h1_pillars_h2_policies_h3_categories(pdfs, mini_doc, variant):
    doc, _ = mini_doc
    with pikepdf.open(pdfs[variant]) as pdf:
        levels = [int(tag(e)[1]) for e in tree(pdf) if re.fullmatch(r"H[1-6]", tag(e))]
    expected = Counter(e.level for e in doc.toc)
    assert Counter(levels) == expected  # e.g. 2 pillars, 3 policies, 4 categories
    assert levels[0] == 1, "the title page must not add a heading before the first pillar"
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"heading level jumps from H{before} to H{after}"
    assert len(levels) == len(doc.toc)


@pytest.mark.parametrize("variant", ALL)
def test_outline_equals_table_of_contents(pdfs, mini_doc, variant):
    doc, _ = mini_doc
    with pikepdf.open(pdfs[variant]) as pdf:
        assert outline(pdf) == [(e.level, e.label) for e in doc.toc]


@pytest.mark.parametrize("variant", ALL)
def test_table_header_and_data_cells(pdfs, variant):
    with pikepdf.open(pdfs[variant]) as pdf:
        tables = [e for e in tree(pdf) if tag(e) == "Table"]
        assert tables
        for table in tables:
            parts = [tag(k) for k in kids(table) if isinstance(k, pikepdf.Dictionary)]
            assert parts[0] == "THead" and "TBody" in parts, parts
            head = next(k for k in kids(table) if tag(k) == "THead")
            (header_row,) = kids(head)
            ths = kids(header_row)
            assert [tag(th) for th in ths] == ["TH", "TH"]
            ids = {str(th.ID) for th in ths}
            for th in ths:
                assert th.A.Scope == "/Column"
            body = next(k for k in kids(table) if tag(k) == "TBody")
            cells = [c for row in kids(body) for c in kids(row)]
            assert cells and {tag(c) for c in cells} == {"TD"}
            for td in cells:
                assert {str(h) for h in td.A.Headers} <= ids and len(td.A.Headers) >= 1


@pytest.mark.parametrize("variant", ALL)
def test_lists_are_l_li_lbody(pdfs, variant):
    with pikepdf.open(pdfs[variant]) as pdf:
        elems = tree(pdf)
        lists = [e for e in elems if tag(e) == "L"]
        items = [e for e in elems if tag(e) == "LI"]
        assert len(lists) >= 4 and len(items) >= 10  # contents, bullets, sub-bullets, numbered
        for li in items:
            assert tag(li.P) == "L"
            assert {tag(k) for k in kids(li)} <= {"Lbl", "LBody"} and "LBody" in {tag(k) for k in kids(li)}
        for lst in lists:
            assert {tag(k) for k in kids(lst)} <= {"LI", "L", "NonStruct"}


@pytest.mark.parametrize("variant", ALL)
def test_contents_entries_are_links_with_their_text(pdfs, mini_doc, variant):
    doc, _ = mini_doc
    labels = {e.label for e in doc.toc}
    with pikepdf.open(pdfs[variant]) as pdf:
        links = [e for e in tree(pdf) if tag(e) == "Link"]
        annotations = [(page, a) for page in pdf.pages for a in page.get("/Annots", []) if a.Subtype == "/Link"]
        assert len(links) >= len(doc.toc)
        assert {str(a.Contents) for _, a in annotations} == labels
        for page, annotation in annotations:
            assert "/StructParent" in annotation
            assert page.Tabs == "/S"
        # every link annotation is referenced by exactly one Link element
        referenced = Counter(k.Obj.objgen for e in links for k in kids(e)
                             if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR")
        assert sorted(referenced.values()) == [1] * len(annotations)


@pytest.mark.parametrize("variant", ALL)
def test_fonts_embedded(pdfs, variant):
    with pikepdf.open(pdfs[variant]) as pdf:
        fonts = {}
        for page in pdf.pages:
            for name, font in page.Resources.get("/Font", {}).items():
                fonts[str(font.BaseFont)] = font
        assert fonts
        for name, font in fonts.items():
            descriptor = font.DescendantFonts[0].FontDescriptor if "/DescendantFonts" in font else font.FontDescriptor
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), name
            assert "/ToUnicode" in font, name
            assert name.split("+", 1)[-1].startswith("FU-"), name


# --- variants --------------------------------------------------------------------------------

def test_pdf_ua_1_identification(pdfs, mini_doc):
    doc, _ = mini_doc
    with pikepdf.open(pdfs["pdf/ua-1"]) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfuaid:part") == "1"
        assert meta.get("dc:title") == doc.title
        assert pdf.pdf_version == "1.7"


def test_pdf_a_2b_identification(pdfs, mini_doc):
    doc, _ = mini_doc
    data = pdfs["pdf/a-2b"].read_bytes()
    assert b"\r\nendstream" not in data  # ISO 19005-2 6.1.7.1: /Length must be unambiguous
    with pikepdf.open(pdfs["pdf/a-2b"]) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"
        assert meta.get("dc:title") == doc.title
        assert "/Filter" not in pdf.Root.Metadata.stream_dict  # 6.6.2.1: metadata unfiltered
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"
        assert "/DestOutputProfile" in pdf.Root.OutputIntents[0]
        for page in pdf.pages:
            for annotation in page.get("/Annots", []):
                assert int(annotation.F) & 4  # printable


def test_plain_build_has_no_conformance_claim(pdfs):
    with pikepdf.open(pdfs[None]) as pdf:
        assert "/Metadata" not in pdf.Root


def test_unknown_variant_is_refused(mini_doc):
    from compiler.writers.pdf import write

    with pytest.raises(ValueError, match="pdf/x-1a"):
        write(*mini_doc, variant="pdf/x-1a")
