"""The architecture's promises: every writer handles every kind of block, layout facts and labels come from
the theme alone, the JSON form round-trips, and late diagnostics point at a source file."""

from __future__ import annotations

import io
import re
import json
import zipfile
from dataclasses import dataclass, replace
from typing import ClassVar

import pytest
from click.testing import CliRunner

from compiler import document as d
from compiler.cli import main
from compiler.diagnostics import Diagnostics
from compiler.paging import NO_PAGES
from compiler.pipeline import compile_sources
from tests.helpers import MINI


@pytest.fixture(scope="module")
def compiled():
    diags = Diagnostics()
    result = compile_sources(MINI, diags)
    assert result.document is not None, diags.items
    return result


def _with_status(doc: d.Document, status: tuple) -> d.Document:
    """``doc`` with the status column of its first row replaced."""
    pillar = doc.pillars[0]
    policy = pillar.policies[0]
    row = replace(policy.rows[0], status=status)
    policy = replace(policy, rows=(row,) + policy.rows[1:])
    return replace(doc, pillars=(replace(pillar, policies=(policy,) + pillar.policies[1:]),) + doc.pillars[1:])


SAMPLE_BLOCKS = {
    "project": d.ProjectBlock("○", "見本事業アルファ", ("【見本予算ベータ】",), "", "k"),
    "list": d.ListBlock((d.ListItem("•", "見本箇条ガンマ", 1, paragraphs=("見本段落ガンマ二",)),)),
    "paragraph": d.ParagraphBlock("見本段落デルタ"),
    "note": d.NoteBlock("※", "見本注記イプシロン"),
    "ministry_tag": d.MinistryTagBlock("［見本府省ゼータ］"),
}


def _texts(block) -> list[str]:
    if isinstance(block, d.ProjectBlock):
        return [block.name, *block.budget]
    if isinstance(block, d.ListBlock):
        return [t for it in block.items for t in (it.text, *it.paragraphs)]
    return [block.text]


def _docx_text(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")


def _pdf_text(data: bytes) -> str:
    import subprocess

    from tests.helpers import norm

    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True).stdout
    return norm(text.decode("utf-8"))


# How to read back the text of each registered format; a writer added to WRITERS without one fails here.
READ_BACK = {
    "html": lambda data: re.sub(r"<span[^>]*>|</span>", "", data.decode("utf-8")),  # text, not its nowrap spans
    "docx": _docx_text,
    "pdf": _pdf_text,
}


def _writers(doc, theme):
    """Every registered writer (compiler.writers.WRITERS), and the text dump, as text producers."""
    from compiler.writers import WRITERS, WriteOptions

    out = {name: (lambda write=write, name=name: READ_BACK[name](write(doc, theme, NO_PAGES, WriteOptions())))
           for name, write in WRITERS.items()}
    out["dump"] = lambda: d.dump(doc)
    return out


def test_sample_covers_every_block_kind():
    assert set(SAMPLE_BLOCKS) == set(d.BLOCK_KINDS)


@pytest.mark.parametrize("kind", d.BLOCK_KINDS)
def test_every_writer_prints_every_kind_of_block(compiled, kind):
    block = SAMPLE_BLOCKS[kind]
    doc = _with_status(compiled.document, (block,))
    from tests.helpers import norm

    for name, write in _writers(doc, compiled.theme).items():
        out = write()
        for text in _texts(block):
            assert (norm(text) if name == "pdf" else text) in out, f"{name} dropped a {kind} block"


def test_a_block_kind_without_a_case_is_an_error_in_every_writer(compiled):
    @dataclass(frozen=True)
    class Strange:
        kind: ClassVar[str] = "strange"
        text: str = "見本の未知ブロック"

    doc = _with_status(compiled.document, (Strange(),))
    for name, write in _writers(doc, compiled.theme).items():
        with pytest.raises(d.UnknownBlock):
            write()


# --- one source of layout facts -------------------------------------------------------------

def _theme_with(theme, **changes):
    """A copy of ``theme`` with dotted fields changed, e.g. ``{"table.commitment_width_percent": 30}``."""
    data = theme.model_dump()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        node[leaf] = value
    return type(theme).model_validate(data)


def _left_column_width(pdf_bytes: bytes) -> float:
    """Outer left rule to the column rule of the table on the first page that has one."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        for page in pdf.pages:
            xs = [e["x0"] for e in page.edges if e["orientation"] == "v"]
            inner = [x for x in xs if xs and min(xs) + 5 < x < max(xs) - 5]
            if inner:
                return min(inner) - min(xs)
    raise AssertionError("no two-column table")


def _docx_grid(data: bytes) -> list[int]:
    import re

    xml = _docx_text(data)
    tables = re.findall(r"<w:tblGrid>(.*?)</w:tblGrid>", xml)
    two = [t for t in tables if t.count("<w:gridCol") == 2]
    return [int(w) for w in re.findall(r'w:w="(\d+)"', two[-1])]  # the last policy's table (the first is the contents)


def test_changing_the_left_column_width_in_the_theme_changes_both_outputs(compiled):
    from compiler.writers import docx, pdf

    doc = compiled.document
    narrow = _theme_with(compiled.theme, **{"table.commitment_width_percent": 30})
    want = narrow.column_widths_mm[0] / compiled.theme.column_widths_mm[0]
    assert want < 0.75  # about 30/45, rounded to whole characters
    ratio = _left_column_width(pdf.write(doc, narrow)) / _left_column_width(pdf.write(doc, compiled.theme))
    assert ratio == pytest.approx(want, rel=0.01)
    wide_grid, narrow_grid = _docx_grid(docx.write(doc, compiled.theme)), _docx_grid(docx.write(doc, narrow))
    for grid, theme in ((wide_grid, compiled.theme), (narrow_grid, narrow)):
        widths = theme.column_widths_mm
        assert grid[0] / sum(grid) == pytest.approx(widths[0] / sum(widths), abs=0.002)
    assert narrow_grid[0] / sum(narrow_grid) == pytest.approx(0.30, abs=0.03)


def test_changing_the_text_size_in_the_theme_changes_both_outputs(compiled):
    from compiler.writers import docx
    from compiler.writers.html import stylesheet

    bigger = _theme_with(compiled.theme, **{"text.size_pt": 11})
    assert "font-size: 11.0pt" in stylesheet(bigger) and "font-size: 11.0pt" not in stylesheet(compiled.theme)
    styles = zipfile.ZipFile(io.BytesIO(docx.write(compiled.document, bigger))).read("word/styles.xml").decode()
    assert '<w:sz w:val="22"/>' in styles  # half-points


def test_content_labels_come_from_the_theme_and_document_yaml(mini, tmp_path):
    from compiler.writers import docx, html

    doc_yaml = mini / "document.yaml"
    doc_yaml.write_text(doc_yaml.read_text(encoding="utf-8").replace("新たな取組方針", "見本の左見出し"), encoding="utf-8")
    diags = Diagnostics()
    result = compile_sources(mini, diags)
    theme = _theme_with(result.theme, **{"labels.principle": "■見本の大方針", "labels.toc_title": "見本の目次"})
    from compiler.transforms import resolve

    doc = resolve(result.valid, theme)
    for out in (html.render_html(doc, theme), _docx_text(docx.write(doc, theme))):
        for label in ("■見本の大方針", "見本の目次", "見本の左見出し"):
            assert label in out
        assert "■新たな大方針" not in out


# --- the JSON form ---------------------------------------------------------------------------

def test_json_form_round_trips(compiled):
    data = d.to_json(compiled.document)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert d.from_json(data) == compiled.document


def test_dump_json_on_the_command_line_carries_ids_numbers_anchors_and_spans():
    r = CliRunner().invoke(main, ["dump", "--json", "--sources", str(MINI)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    rows = [row for p in data["pillars"] for q in p["policies"] for row in q["rows"]]
    first = rows[0]
    assert (first["id"], first["number"], first["anchor"]) == ("first-a", "（①－1）", "item.first-a")
    assert first["span"]["file"] == "10-alpha/10-first/010-first-a.yaml" and first["span"]["line"] == 1
    assert data["pillars"][0]["policies"][0]["span"]["file"] == "10-alpha/10-first/policy.yaml"


def test_dump_text_is_the_golden_form():
    r = CliRunner().invoke(main, ["dump", "--sources", str(MINI)])
    diags = Diagnostics()
    assert r.exit_code == 0 and r.stdout == d.dump(compile_sources(MINI, diags).document)


# --- late diagnostics point at a file ------------------------------------------------------------

def test_unknown_and_empty_previews_point_at_the_registry(mini, tmp_path):
    from tests.helpers import build

    _, diags = build(mini, tmp_path / "out", ministries=["存在しない省"])
    [e024] = [x for x in diags.items if x.code == "E024"]
    assert e024.span.file == "document.yaml" and e024.span.line > 0
    doc_yaml = mini / "document.yaml"
    doc_yaml.write_text(doc_yaml.read_text(encoding="utf-8") + "  - name: 総務省\n", encoding="utf-8")
    _, diags = build(mini, tmp_path / "out", ministries=["総務省"], formats={"pdf"})
    [w106] = [x for x in diags.items if x.code == "W106"]
    lines = doc_yaml.read_text(encoding="utf-8").splitlines()
    assert w106.span.file == "document.yaml" and "総務省" in lines[w106.span.line - 1]
