"""DOCX on any machine: embedded subset fonts, a clean package, field handles, language tags by script.

The LibreOffice tests run it on a fontconfig that sees only DejaVu Sans, as on a machine
without any Japanese font: the document must still be set in BIZ UD Mincho and Gothic
(from the fonts embedded in the DOCX), with every TOC number on its heading's page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from compiler.theme import FONTS_DIR, load_theme
from tests.helpers import MINI, build, heading_pages, read_pdf, require_libreoffice, toc_mismatches

SHIPPED = {"BIZUDMincho-Regular", "BIZUDGothic-Regular", "BIZUDGothic-Bold", "DejaVuSans"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _docx(out: Path) -> Path:
    return next(out.glob("*.docx"))


def _bigger(dst: Path) -> Path:
    """The mini fixture with one item long enough to run over several pages (later TOC numbers move)."""
    shutil.copytree(MINI, dst)
    item = dst / "10-alpha" / "10-first" / "020-first-b.yaml"
    bullets = "".join(f"      - 第{n}回の会合（令和4年{n % 12 + 1}月）で JETRO の報告 95.0億円、31.9件を確認した。"
                      "事業者の Post Merger Integration の支援について、関係機関と議論を重ねた。\n" for n in range(1, 70))
    text = item.read_text(encoding="utf-8").replace("  - note: 乙の注記。\n", f"  - bullets:\n{bullets}  - note: 乙の注記。\n")
    item.write_text(text, encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def dejavu_only(tmp_path_factory) -> Path:
    """A fontconfig file whose only font is DejaVu Sans (no Japanese font at all)."""
    folder = tmp_path_factory.mktemp("dejavu-only")
    (folder / "fonts").mkdir()
    shutil.copy(FONTS_DIR / "DejaVuSans.ttf", folder / "fonts")
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    f"<dir>{folder / 'fonts'}</dir><cachedir>{folder / 'cache'}</cachedir></fontconfig>", encoding="utf-8")
    return conf


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """Release builds (LibreOffice page pass) of the mini fixture and of a bigger one."""
    built = {}
    for name in ("mini", "bigger"):
        root = tmp_path_factory.mktemp(name)
        sources = MINI if name == "mini" else _bigger(root / "sources")
        result, diags = build(sources, root / "out", release=True)
        assert not diags.has_errors, diags.items
        built[name] = (result, root / "out")
    return built


def _render(docx: Path, conf: Path, pdf: Path) -> Path:
    from compiler.paging import libreoffice

    require_libreoffice()
    libreoffice.Job(docx.read_bytes(), load_theme(), pdf_out=pdf, fontconfig=conf).wait()
    return pdf


def _fonts(pdf: Path) -> set[str]:
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {line.split()[0].split("+", 1)[-1] for line in out.splitlines()[2:]}


@pytest.mark.parametrize("name", ["mini", "bigger"])
def test_release_docx_renders_in_its_own_fonts_on_a_machine_without_them(releases, dejavu_only, tmp_path, name):
    result, out = releases[name]
    pdf = read_pdf(_render(_docx(out), dejavu_only, tmp_path / "lo.pdf"))
    fonts = _fonts(pdf.path)
    assert fonts <= SHIPPED and {"BIZUDMincho-Regular", "BIZUDGothic-Regular", "BIZUDGothic-Bold"} <= fonts, fonts
    assert len(pdf.pages) > 3
    labels = [e.label for e in result.document.toc]
    assert not toc_mismatches(pdf, labels)
    if name == "bigger":  # the long item really moved the later headings
        assert max(p for p in heading_pages(pdf, labels) if p) > 3


def test_without_embedded_fonts_the_same_machine_has_no_japanese_font(dejavu_only, tmp_path):
    """The control: the DejaVu-only machine really lacks the fonts (so the test above can fail)."""
    _, diags = build(MINI, tmp_path / "out", formats={"docx"}, embed_fonts=False)
    assert not diags.has_errors
    docx = _docx(tmp_path / "out")
    assert not [n for n in zipfile.ZipFile(docx).namelist() if n.endswith(".odttf")]
    assert not _fonts(_render(docx, dejavu_only, tmp_path / "lo.pdf")) & {"BIZUDMincho-Regular", "BIZUDGothic-Regular"}


@pytest.fixture(scope="module")
def mini_docx(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mini-docx")
    _, diags = build(MINI, out, formats={"docx"})
    assert not diags.has_errors
    return _docx(out)


def _xml(docx: Path, part: str):
    from lxml import etree

    return etree.fromstring(zipfile.ZipFile(docx).read(part))


def test_embedded_fonts_are_the_shipped_families_subset_and_obfuscated(mini_docx):
    from io import BytesIO

    from fontTools.ttLib import TTFont

    from compiler.writers.docx_fonts import obfuscate

    z = zipfile.ZipFile(mini_docx)
    rels = {r.get("Id"): r.get("Target") for r in _xml(mini_docx, "word/_rels/fontTable.xml.rels")}
    faces = []
    for font in _xml(mini_docx, "word/fontTable.xml").iter(f"{W}font"):
        for embed in font:
            if not embed.tag.startswith(f"{W}embed"):
                continue
            data = obfuscate(z.read("word/" + rels[embed.get(f"{R}id")]), embed.get(f"{W}fontKey"))
            tt = TTFont(BytesIO(data))
            assert tt["name"].getDebugName(1) == font.get(f"{W}name")  # the name the styles ask for
            assert tt["OS/2"].fsType == 0  # installable embedding: LibreOffice keeps it
            assert 95 < len(tt.getGlyphOrder()) < 2000  # a subset, but never a tiny one (tdf#162002)
            faces.append((font.get(f"{W}name"), embed.tag == f"{W}embedBold"))
    assert sorted(faces) == [("BIZ UDGothic", False), ("BIZ UDGothic", True), ("BIZ UDMincho", False), ("DejaVu Sans", False)]
    settings = z.read("word/settings.xml").decode()
    assert "<w:embedTrueTypeFonts/>" in settings and "<w:saveSubsetFonts/>" in settings
    assert 'Extension="odttf"' in z.read("[Content_Types].xml").decode()


def test_package_has_no_leftovers_of_the_default_template(mini_docx):
    z = zipfile.ZipFile(mini_docx)
    names = set(z.namelist())
    assert not {"docProps/thumbnail.jpeg", "word/stylesWithEffects.xml"} & names
    app = z.read("docProps/app.xml").decode()
    assert "<Application>followup</Application>" in app and "Microsoft" not in app
    assert "<Pages>" not in app  # an ordinary build has no page count of its own DOCX layout
    # every relationship and content type names a part that exists, and every part is reached
    for rels in [n for n in names if n.endswith(".rels")]:
        base = rels.replace("_rels/", "").removesuffix(".rels").rpartition("/")[0]
        for rel in _xml(mini_docx, rels):
            target = str(Path(base, rel.get("Target"))).replace("\\", "/")
            target = re.sub(r"[^/]+/\.\./", "", target).lstrip("/")
            assert target in names, (rels, rel.get("Target"))
    for el in _xml(mini_docx, "[Content_Types].xml"):
        if el.get("PartName"):
            assert el.get("PartName").lstrip("/") in names


def test_release_app_xml_carries_the_libreoffice_page_count(releases):
    result, out = releases["mini"]
    app = zipfile.ZipFile(_docx(out)).read("docProps/app.xml").decode()
    pages = int(re.search(r"<Pages>(\d+)</Pages>", app).group(1))
    assert pages == len(read_pdf(next(out.glob("*.pdf"))).pages)  # the mini DOCX and PDF have the same pages


def test_every_field_has_one_handle_and_the_map_names_them(mini_docx):
    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import compile_sources
    from compiler.writers.docx import document_hash

    doc = compile_sources(MINI, Diagnostics()).document
    xml = zipfile.ZipFile(mini_docx).read("word/document.xml").decode()
    handles = _xml(mini_docx, "customXml/item1.xml")
    assert handles.get("document-sha256") == document_hash(doc)
    fields = {h.get("b"): h.get("field") for h in handles}
    marks = re.findall(r'<w:bookmarkStart w:id="\d+" w:name="(fu_\d+)"/>', xml)
    assert sorted(marks) == sorted(fields) and len(set(fields.values())) == len(fields)
    values = set(fields.values())
    for pillar in doc.pillars:
        assert f"pillar.{pillar.id}:heading" in values
        for policy in pillar.policies:
            assert f"policy.{policy.id}:heading" in values
            assert {f"policy.{policy.id}:principle:{i}" for i in range(len(policy.principle))} <= values
    for row in doc.rows():
        assert {f"{row.item_id}:category", f"{row.item_id}:ministry_tag"} <= values
        assert {f"{row.item_id}:commitment:{i}" for i in range(len(row.commitment))} <= values
        for n, block in enumerate(row.status):
            assert any(v == f"{row.item_id}:status:{n}" or v.startswith(f"{row.item_id}:status:{n}:") for v in values)
    custom = zipfile.ZipFile(mini_docx).read("docProps/custom.xml").decode()
    assert document_hash(doc) in custom


def test_latin_words_and_numbers_are_tagged_en_us_and_japanese_is_not(mini_docx):
    body = _xml(mini_docx, "word/document.xml")
    latin = japanese = 0
    for run in body.iter(f"{W}r"):
        text = "".join(t.text or "" for t in run.iter(f"{W}t"))
        if not text.strip():
            continue
        lang = run.find(f"{W}rPr/{W}lang")
        tagged = lang is not None and lang.get(f"{W}val") == "en-US" and lang.get(f"{W}eastAsia") == "en-US"
        if re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.,:;%'’&+/@# -]*", text):
            assert tagged, text
            latin += 1
        elif re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text):
            assert not tagged, text
            assert not re.search(r"[0-9A-Za-z]", text), text  # digits never share a run with kana and kanji
            japanese += 1
    assert latin > 10 and japanese > 10


def test_two_builds_give_the_same_bytes(mini_docx, tmp_path):
    _, diags = build(MINI, tmp_path, formats={"docx"})
    assert _docx(tmp_path).read_bytes() == mini_docx.read_bytes()


def test_cached_font_subsets_give_the_same_bytes_and_a_damaged_one_is_not_used(tmp_path, monkeypatch):
    from compiler.writers import docx_fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    chars = frozenset("見本の字")
    docx_fonts.subset.cache_clear()
    fresh = docx_fonts.subset("BIZUDMincho-Regular.ttf", chars)
    [cached] = (tmp_path / "cache" / "followup" / "subsets").glob("*.ttf")
    docx_fonts.subset.cache_clear()
    assert docx_fonts.subset("BIZUDMincho-Regular.ttf", chars) == fresh
    cached.write_bytes(b"damaged")
    docx_fonts.subset.cache_clear()
    assert docx_fonts.subset("BIZUDMincho-Regular.ttf", chars) == fresh
    assert cached.read_bytes() == fresh  # replaced by a good copy


def test_a_font_s_facts_are_read_once_a_process_however_they_are_asked_for(monkeypatch):
    """The source checks name the fonts folder and the DOCX writer does not: one read of the facts for both."""
    from compiler import font_facts
    from compiler.theme import FONTS_DIR
    from compiler.writers import docx_fonts

    font_facts._facts.cache_clear()
    reads = []
    original = font_facts._read_cached
    monkeypatch.setattr(font_facts, "_read_cached", lambda cache, key: reads.append(cache.name) or original(cache, key))
    try:
        checked = font_facts.facts("BIZUDMincho-Regular.ttf", FONTS_DIR)
        assert docx_fonts.face("BIZUDMincho-Regular.ttf").family == checked.family
        assert docx_fonts.covers("BIZUDMincho-Regular.ttf", "あ")
        assert reads == ["BIZUDMincho-Regular.ttf.json"]
    finally:
        font_facts._facts.cache_clear()
