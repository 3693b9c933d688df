"""Rows split by a page break say whose they are, and nothing is stranded at a page foot (issue 15).

Read from WeasyPrint's laid-out boxes (``compiler.writers.pdf.layout``), one row
fragment (a row's part on one page) at a time, and checked:

* every fragment's left cell has text;
* every later fragment's left cell starts with the row's number and the theme's
  （続き） label — also in the written PDF, at the top of the left column;
* a cell that goes on to the next page shows at least ``row_start_min_lines``
  lines on the row's first page (a row whose cell would start with fewer moves to
  the next page);
* no cell's part on a page ends, while the cell goes on, with its category, a
  project name (○) or a budget line.

On the frozen official sources and on a synthetic policy of rows of many lengths.
With ``compiler.writers.pdf_rows`` switched off, the synthetic policy shows empty
left cells, unlabelled continuations, rows starting at a page foot with too few
lines and budget lines left at a page foot: the checks can fail.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostics
from compiler.pipeline import compile_sources
from compiler.theme import load_theme
from compiler.writers import pdf, pdf_rows
from tests.helpers import MINI, _regions, _text, continuation_label

HELD = {"category", "project", "budget"}  # a cell's part on a page never ends with one of these (while it goes on)


@dataclass
class Fragment:
    page: int  # 1-based physical page
    anchor: str  # the row's anchor
    part: int  # 0 on the row's first page
    cells: list[list[tuple[str, str]]]  # per cell, its lines: (text, class of the block holding the line)


def _lines(box, cls: str, out: list) -> None:
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):
        out.append(("".join(_texts(box)), cls))
        return
    if box.element is not None and isinstance(box, boxes.BlockBox):
        cls = box.element.get("class") or ""
    for child in getattr(box, "children", ()):
        _lines(child, cls, out)


def _texts(box):
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TextBox):
        yield box.text
    for child in getattr(box, "children", ()):
        yield from _texts(child)


def _rows(box):
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TableRowBox):
        yield box
        return
    for child in getattr(box, "children", ()):
        yield from _rows(child)


def fragments(laid) -> list[Fragment]:
    """Every body row's fragments, page after page."""
    parts: dict[str, int] = defaultdict(int)
    out = []
    for number, page in enumerate(laid.document.pages, 1):
        for row in _rows(page._page_box):
            anchor = row.element.get("id") if row.element is not None else None
            if not anchor:
                continue  # the header row, omission lines
            cells = []
            for cell in row.children:
                lines: list = []
                _lines(cell, "", lines)
                cells.append([(text.strip(), cls.split()[0] if cls else "") for text, cls in lines if text.strip()])
            out.append(Fragment(number, anchor, parts[anchor], cells))
            parts[anchor] += 1
    return out


def _content(lines):
    return [line for line in lines if line[1] != pdf_rows.LABEL_CLASS]


@dataclass
class Faults:
    empty_left: list[str]
    unlabelled: list[str]
    short_start: list[str]
    stranded: list[str]

    def any(self) -> bool:
        return bool(self.empty_left or self.unlabelled or self.short_start or self.stranded)


def faults(frags: list[Fragment], numbers: dict[str, str], continued: str, min_lines: int) -> Faults:
    by_row: dict[str, list[Fragment]] = defaultdict(list)
    for f in frags:
        by_row[f.anchor].append(f)
    found = Faults([], [], [], [])
    for f in frags:
        where = f"{numbers[f.anchor]} p.{f.page}"
        if not f.cells[0]:
            found.empty_left.append(where)
        if f.part and (not f.cells[0] or f.cells[0][0] != (numbers[f.anchor] + continued, pdf_rows.LABEL_CLASS)):
            found.unlabelled.append(f"{where}: {f.cells[0][:1]}")
    for anchor, parts in by_row.items():
        for here, after in zip(parts, parts[1:]):
            for i, lines in enumerate(here.cells):
                if not _content(after.cells[i]):
                    continue  # the cell ended on this page
                where = f"{numbers[anchor]} p.{here.page} cell {i}"
                if here.part == 0 and len(_content(lines)) < min_lines:
                    found.short_start.append(f"{where}: {len(lines)} line(s)")
                if lines and lines[-1][1] in HELD:
                    found.stranded.append(f"{where}: ends with {lines[-1]}")
    return found


def _laid_out(sources: Path):
    diags = Diagnostics()
    compiled = compile_sources(sources, diags)
    assert compiled.document is not None, diags.items
    return compiled.document, pdf.layout(compiled.document, compiled.theme)


def _check(doc, laid) -> tuple[list[Fragment], Faults]:
    theme = load_theme()
    frags = fragments(laid)
    numbers = {row.anchor: row.number for row in doc.rows()}
    return frags, faults(frags, numbers, doc.labels.continued, theme.table.row_start_min_lines)


# --- synthetic policies: one row meeting a page foot in every position --------------------------------

SENTENCE = "地域の中堅企業等の取組を支援する。"
FILLER_LINES = 28  # one-line entries of the row that fills a policy's first page
SWEEP = range(14)  # policy k's filler has k more entries: the row after it starts k lines higher up


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML


def _probe(k: int) -> dict:
    """A row with a category, a six-line commitment and a status that opens with a project name,
    two budget lines and a long first entry (held together, they do not fit a few lines), and a
    second project whose budget line is followed by a paragraph (where a page break may fall)."""
    return {"id": f"probe-{k}", "category": f"試験{k}", "commitment": [SENTENCE * 8], "ministry": "経産省",
            "status": [
                {"project": "地域の中堅企業等の海外展開を支援するための総合的な事業", "budget": [
                    f"令和4年度当初予算：{k + 1}.5億円の内数", f"令和3年度補正予算：{k + 2}.0億円の内数"]},
                {"bullets": [SENTENCE * 5, SENTENCE * 3]},
                {"project": "二つ目の事業", "budget": ["令和4年度当初予算：3.0億円"]},
                {"text": SENTENCE * 4},
                {"bullets": [SENTENCE * 4] * 2},
                {"ministry": "経産省"}]}


def synthetic_sources(base: Path) -> Path:
    """The mini fixture and a pillar of policies, each a filler row of ``FILLER_LINES + k`` lines and a
    probe row, and a last policy with a row over three pages and a row whose commitment runs on."""
    sources = base / "sources"
    shutil.copytree(MINI, sources)
    pillar = sources / "30-split"
    _write(pillar / "pillar.yaml", {"id": "split", "title": "分割の柱"})
    for k in SWEEP:
        folder = pillar / f"{10 + k:02d}-sweep"
        _write(folder / "policy.yaml", {"id": f"sweep-{k}", "short_title": f"分割{k}", "principle": ["大方針。"]})
        _write(folder / "010-filler.yaml", {
            "id": f"filler-{k}", "category": "詰め物", "commitment": ["詰め物の行。"], "ministry": "経産省",
            "status": [{"bullets": ["状況。"] * (FILLER_LINES + k)}]})
        _write(folder / "020-probe.yaml", _probe(k))
    folder = pillar / "90-long"
    _write(folder / "policy.yaml", {"id": "long", "short_title": "長い行", "principle": ["大方針。"]})
    _write(folder / "010-long-status.yaml", {
        "id": "long-status", "category": "長い状況", "commitment": ["短い取組。"], "ministry": "経産省",
        "status": [{"bullets": [SENTENCE * 12] * 14}, {"ministry": "経産省"}]})
    _write(folder / "020-long-commitment.yaml", {
        "id": "long-commitment", "category": "長い取組", "commitment": [SENTENCE * 70], "ministry": "経産省",
        "status": [{"bullets": [SENTENCE * 30]}, {"ministry": "経産省"}]})
    return sources


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    sources = synthetic_sources(tmp_path_factory.mktemp("split"))
    doc, laid = _laid_out(sources)
    try:
        yield doc, laid, laid.write()
    finally:
        laid.close()


@pytest.fixture(scope="module")
def synthetic_without_rules(tmp_path_factory):
    sources = synthetic_sources(tmp_path_factory.mktemp("split-off"))
    with pdf_rows.disabled():
        doc, laid = _laid_out(sources)
    try:
        yield doc, laid
    finally:
        laid.close()


def test_split_rows_of_the_synthetic_policy_say_whose_they_are(synthetic):
    doc, laid, _ = synthetic
    frags, found = _check(doc, laid)
    assert not found.any(), found
    later = [f for f in frags if f.part]
    assert len(later) >= 10, "the policy splits too few rows to prove anything"
    # continuations of both kinds: a left cell with nothing left but its label, and one whose text goes on
    assert any(len(f.cells[0]) == 1 for f in later) and any(len(f.cells[0]) > 3 for f in later)
    assert any(f.part == 2 for f in later), "no row runs over three pages"


def test_without_the_rules_the_synthetic_policy_shows_every_fault(synthetic_without_rules):
    """The control: WeasyPrint's own row splitting leaves empty left cells, short starts and a project
    name with its budget at page feet here."""
    doc, laid = synthetic_without_rules
    _, found = _check(doc, laid)
    assert found.empty_left and found.unlabelled and found.short_start and found.stranded, found


def _first_left_line(page, heading: str) -> list[dict]:
    """The characters of the left column's first line under the table's header row on ``page``."""
    regions, x = _regions(page)
    table = next(((top, bottom) for kind, top, bottom in regions if kind == "table"), None)
    if table is None:
        return []
    lines: dict[float, list] = defaultdict(list)
    for c in page.chars:
        if table[0] <= (c["top"] + c["bottom"]) / 2 < table[1] and (c["x0"] + c["x1"]) / 2 < x and c["text"].strip():
            lines[round(c["bottom"])].append(c)
    ordered = [sorted(cs, key=lambda c: c["x0"]) for _, cs in sorted(lines.items())]
    if len(ordered) < 2 or "".join(c["text"] for c in ordered[0]) != heading:
        return []
    return ordered[1]


def _labels_drawn(path: Path, doc) -> dict[int, list[dict]]:
    """Page → characters of the （続き） label opening its left column, for every page that has one."""
    import pdfplumber

    found = {}
    with pdfplumber.open(str(path)) as document:
        for number, page in enumerate(document.pages, 1):
            chars = _first_left_line(page, doc.labels.commitment_heading)
            if continuation_label().fullmatch("".join(c["text"] for c in chars)):
                found[number] = chars
    return found


def test_the_label_is_drawn_atop_the_left_column_of_each_continuation(synthetic, tmp_path):
    """In the PDF itself: on every page a row goes on to, its number and （続き） open the left column."""
    doc, laid, data = synthetic
    path = tmp_path / "split.pdf"
    path.write_bytes(data)
    frags, _ = _check(doc, laid)
    expected = {f.page: f.cells[0][0][0] for f in frags if f.part}
    drawn = {page: "".join(c["text"] for c in chars) for page, chars in _labels_drawn(path, doc).items()}
    assert drawn == expected
    assert all(text.endswith(load_theme().labels.continued) for text in expected.values())


def test_the_label_is_a_paragraph_of_its_cell_in_the_structure_tree(synthetic, tmp_path):
    """PDF/UA-1: the label's text is marked content of a P inside the left TD, like any text of the cell."""
    import pikepdf

    doc, laid, _ = synthetic
    path = tmp_path / "split-ua.pdf"
    path.write_bytes(laid.write("pdf/ua-1"))
    labels = _labels_drawn(path, doc)
    assert labels
    with pikepdf.open(path) as pdf:
        nums = list(pdf.Root.StructTreeRoot.ParentTree.Nums)
        parents = dict(zip(nums[::2], nums[1::2]))
        for number, chars in labels.items():
            marked = parents[int(pdf.pages[number - 1].StructParents)]
            for mcid in {c["mcid"] for c in chars}:
                chain, element = [], marked[mcid]
                while "/P" in element and str(element.S) not in ("/P", "/Document"):
                    element = element.P
                    chain.append(str(element.S))
                assert chain[-1:] == ["/P"] and str(element.P.S) == "/TD", (number, chain)


def test_the_official_document_has_no_unlabelled_or_stranded_row(official):
    doc = official.document
    laid = pdf.layout(doc, load_theme())
    try:
        frags, found = _check(doc, laid)
    finally:
        laid.close()
    assert not found.any(), found
    assert sum(1 for f in frags if f.part) >= 15
