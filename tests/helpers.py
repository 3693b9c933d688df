"""Shared test helpers: building, text extraction from PDF and DOCX, LibreOffice rendering."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MINI = FIXTURES / "mini"
# The 令和5年2月 sources, frozen (see its README.md): the tests never read the live sources/,
# which the secretariat edits every cycle (tests/test_sources_tree.py checks it through the CLI).
OFFICIAL = FIXTURES / "official-r5-02"
REFERENCE = ROOT.parent / "shared" / "reference" / "official-document.txt"


def norm(text: str) -> str:
    """Comparison key: NFKC, no whitespace, one bracket style, one tilde. Never used to rewrite text."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("〔", "[").replace("〕", "]").replace("～", "〜").replace("~", "〜")
    return re.sub(r"\s+", "", text)


def pdf_pages(pdf: Path, layout: bool = False) -> list[str]:
    """Text of every page (poppler's pdftotext; reading order, or physical layout with ``layout``)."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(pdf), "-"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return pages


def docx_paragraphs(docx_path: Path) -> list[str]:
    """Paragraph texts of the body in order, table cells included (row by row, cell by cell)."""
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(str(docx_path))
    texts = []
    for p in document.element.body.iter(qn("w:p")):
        texts.append("".join(t.text or "" for t in p.iter(qn("w:t"))))
    return texts


def require_libreoffice() -> None:
    """LibreOffice is part of the test set-up: its absence is a failure, never a skip."""
    from compiler.paging import libreoffice as lopages

    assert lopages.available(), f"LibreOffice is required for this test: apt-get install {lopages.PACKAGES} (scripts/test installs it)"


def libreoffice_pdf(docx_path: Path, out_dir: Path) -> Path:
    """Convert with plain ``soffice --convert-to pdf`` (fields are NOT updated), project fonts visible."""
    from compiler.paging import libreoffice as lopages
    from compiler.theme import load_theme

    require_libreoffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "lo-work"
    work.mkdir(exist_ok=True)
    env = dict(os.environ, FONTCONFIG_FILE=str(lopages.fontconfig_file(work, load_theme())), HOME=str(work))
    subprocess.run(
        [shutil.which("soffice"), f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out_dir), str(docx_path)],
        env=env, capture_output=True, check=True, timeout=300)
    pdf = out_dir / (docx_path.stem + ".pdf")
    assert pdf.exists()
    return pdf


@dataclass
class Built:
    written: list[Path]
    document: object
    notes: list[str]


def build(sources: Path, out: Path, **kwargs):
    """Run the whole pipeline in-process and write into ``out``; returns (result, diagnostics)."""
    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import Request, run

    for key, kind in (("ministries", tuple), ("formats", frozenset)):
        if key in kwargs:
            kwargs[key] = kind(kwargs[key])
    if kwargs.get("release"):  # tests never depend on the state of the project's own git checkout
        kwargs.setdefault("allow_dirty", True)
    diags = Diagnostics(strict=kwargs.get("release", False))
    built, written = run(Request(sources=Path(sources), **kwargs), Path(out), diags)
    return Built(written, built.document, built.notes), diags


@dataclass
class PdfText:
    """A PDF read three ways: page texts in reading order, in physical layout, and each page's footer number."""

    path: Path
    pages: list[str]
    layout: list[str]
    footers: list[int | None]

    @property
    def first_body(self) -> int:
        return next(i for i, n in enumerate(self.footers) if n is not None)


def read_pdf(pdf: Path, footer_mm: float = 14.0) -> PdfText:
    """Footer numbers come from the bottom margin only, so a TOC line ending in a digit is never taken for one."""
    import pdfplumber

    footers: list[int | None] = []
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            box = page.crop((0, page.height - footer_mm * 72 / 25.4, page.width, page.height))
            digits = re.findall(r"^\s*(\d+)\s*$", box.extract_text() or "", re.M)
            footers.append(int(digits[-1]) if digits else None)
    return PdfText(pdf, pdf_pages(pdf), pdf_pages(pdf, layout=True), footers)


def match_in_order(labels: list[str], candidates: list[tuple[str, int | None]], contains: bool = False,
                   advance: int = 1) -> list[int | None]:
    """For each label in order, the value of the first candidate (text, value) at or after the
    previous match that equals it (``contains``: holds it) after ``norm``; ``None`` if none.

    Matching is by position, never by label: a label that stands twice (one category under
    two policies) is matched twice, each time at its own place. ``advance`` is how far past a
    match the next search starts (1 for TOC lines, 0 for pages, which hold several headings)."""
    found: list[int | None] = []
    j = 0
    keys = [norm(text) for text, _ in candidates]
    for label in labels:
        key = norm(label)
        k = next((k for k in range(j, len(candidates)) if (key in keys[k] if contains else key == keys[k])), None)
        if k is None:
            found.append(None)
            continue
        found.append(candidates[k][1])
        j = k + advance
    return found


def toc_printed_numbers(pdf: PdfText, labels: list[str]) -> list[int | None]:
    """Page number printed in the table of contents for each entry of ``labels`` (the document's
    TOC in order), matched by position (``match_in_order``)."""
    import pdfplumber

    with pdfplumber.open(str(pdf.path)) as doc:
        entries = _toc_entries(doc.pages[:pdf.first_body])
    return match_in_order(labels, entries)


def heading_pages(pdf: PdfText, labels: list[str]) -> list[int | None]:
    """Printed page of each heading of ``labels`` (in document order), searched from the page of
    the previous heading on, from the first numbered page (``match_in_order``)."""
    body = list(zip(pdf.pages, pdf.footers))[pdf.first_body:]
    return match_in_order(labels, body, contains=True, advance=0)


def toc_mismatches(pdf: PdfText, labels: list[str]) -> list[str]:
    """Entries whose printed TOC number is missing, or differs from the page of their heading."""
    printed = toc_printed_numbers(pdf, labels)
    actual = heading_pages(pdf, labels)
    return [f"#{i} {label}: printed {p}, heading on {a}"
            for i, (label, p, a) in enumerate(zip(labels, printed, actual)) if p is None or a is None or p != a]


def assert_header_on_every_table_page(pdf: PdfText, commitment: str, status: str) -> int:
    """Every numbered page shows the header row as its first line, or right after a policy's opening box.

    Returns the number of pages checked."""
    checked = 0
    for number, text in zip(pdf.footers, pdf.layout):
        if number is None:
            continue
        lines = [line for line in text.splitlines() if line.strip()]
        idx = next((i for i, line in enumerate(lines) if commitment in line), None)
        assert idx is not None, f"page {number}: no table header\n{text[:400]}"
        assert status in lines[idx], f"page {number}: header row incomplete: {lines[idx]}"
        above = "\n".join(lines[:idx])
        assert idx == 0 or "■新たな大方針" in above, f"page {number}: table text above the header:\n{above}"
        checked += 1
    return checked


def pdf_column_texts(pdf: Path, first: int = 0, commitment_heading: str = "", status_heading: str = "") -> tuple[str, str]:
    """Normalised (left, right) streams of the table's columns over all pages from ``first`` on; see ``pdf_text``."""
    streams = pdf_text(pdf, first, commitment_heading, status_heading)
    return norm(streams.left), norm(streams.right)


# --- reading the PDF geometrically (pdfplumber) ---------------------------------------------------

def first_body_page(pdf: Path, anchor: str) -> int:
    """Index of the page holding ``anchor`` (the first pillar heading): the pages before it
    are the unnumbered front matter (title, table of contents)."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    return reader.get_destination_page_number(reader.named_destinations[anchor])


def _regions(page):
    """Horizontal bands of a page: ("full", top, bottom) or ("table", top, bottom), and the column rule's x.

    A table band is where the inner vertical rule of the two-column table runs."""
    vertical = [e for e in page.edges if e["orientation"] == "v"]
    spans: list[list[float]] = []
    x = None
    if vertical:
        xs = [e["x0"] for e in vertical]
        lo, hi = min(xs), max(xs)
        inner = [e for e in vertical if lo + 5 < e["x0"] < hi - 5]
        if inner:
            x = median(e["x0"] for e in inner)
            for top, bottom in sorted((e["top"], e["bottom"]) for e in inner):
                if spans and top <= spans[-1][1] + 1:
                    spans[-1][1] = max(spans[-1][1], bottom)
                else:
                    spans.append([top, bottom])
    regions, y = [], 0.0
    for top, bottom in spans:
        if top > y:
            regions.append(("full", y, top))
        regions.append(("table", top, bottom))
        y = bottom
    regions.append(("full", y, page.height))
    return regions, x


def _text(page, test) -> list[str]:
    text = page.filter(lambda o: o.get("object_type") != "char" or test(o)).extract_text()
    return [line for line in text.splitlines() if line.strip()]


@dataclass
class PdfStreams:
    front: str  # text of the front pages before 目次 (title, date)
    toc: list[tuple[str, int]]  # entries (label, page) of the table of contents
    left: str  # full-width text and the left column, page after page, headers and page numbers removed
    right: str  # the right column, page after page, headers removed


def _gutter(chars, width: float) -> float | None:
    """x of the gap between two text columns (the table of contents may be set in two), if any."""
    covered: list[list[float]] = []
    for x0, x1 in sorted((c["x0"], c["x1"]) for c in chars):
        if covered and x0 <= covered[-1][1] + 0.5:
            covered[-1][1] = max(covered[-1][1], x1)
        else:
            covered.append([x0, x1])
    gaps = [(b[0] - a[1], (a[1] + b[0]) / 2) for a, b in zip(covered, covered[1:])]
    gaps = [(w, x) for w, x in gaps if w >= 10 and 0.3 * width <= x <= 0.7 * width]
    return max(gaps)[1] if gaps else None


TOC_ENTRY_RE = re.compile(r"^(.*?)[\s.…‥·]*?(\d+)$")


def _toc_entries(pages) -> list[tuple[str, int]]:
    """(label, page) of every 「label ..... N」 of the table of contents, column by column,
    wrapped labels joined; from the line 目次 on."""
    entries = []
    seen_title = False
    for page in pages:
        top = 0.0
        if not seen_title:
            title = next((w for w in page.extract_words() if w["text"] == "目次"), None)
            if title is None:
                continue
            seen_title, top = True, title["bottom"]
        chars = [c for c in page.chars if c["top"] >= top]
        gutter = _gutter(chars, page.width)
        columns = [(0, gutter), (gutter, page.width)] if gutter else [(0, page.width)]
        for x0, x1 in columns:
            buffer = ""
            for line in _text(page, lambda c, x0=x0, x1=x1: c["top"] >= top and x0 <= (c["x0"] + c["x1"]) / 2 < x1):
                buffer += line.strip()
                if re.search(r"(\.{2,}|…|‥)\s*\d+$", buffer):
                    m = TOC_ENTRY_RE.match(buffer)
                    entries.append((m.group(1).rstrip(" .…‥"), int(m.group(2))))
                    buffer = ""
    return entries


def continuation_label() -> re.Pattern:
    """The label atop a split row's later fragments: an item number and the theme's （続き）."""
    from compiler.theme import load_theme

    return re.compile(r"（[^（）\s]+）" + re.escape(load_theme().labels.continued))


@lru_cache(maxsize=None)
def pdf_text(pdf: Path, first: int, commitment_heading: str, status_heading: str) -> PdfStreams:
    """The PDF's text as two continuous streams, so that a cell split by a page break reads on.

    pdftotext's reading order interleaves the two columns of the table, and at a page
    break the tail of the left cell is followed by the tail of the right cell; here each
    column is read on its own, page after page, with the repeated header row and the
    page number (the last line of a page, below the table) taken out, and so is the （続き）
    label that opens the left cell of a row's later fragment (``continuation_label``)."""
    import pdfplumber

    label = continuation_label()

    front_lines = "\n".join(pdf_pages(pdf)[:first]).splitlines()
    toc_at = next((i for i, line in enumerate(front_lines) if line.strip() == "目次"), len(front_lines))
    left: list[str] = []
    right: list[str] = []
    with pdfplumber.open(str(pdf)) as doc:
        toc = _toc_entries(doc.pages[:first])
        for page in doc.pages[first:]:
            regions, x = _regions(page)
            for n, (kind, top, bottom) in enumerate(regions):
                def inside(c, top=top, bottom=bottom):
                    return top <= (c["top"] + c["bottom"]) / 2 < bottom

                if kind == "full":
                    lines = _text(page, inside)
                    if n == len(regions) - 1 and lines and lines[-1].strip().isdigit():
                        lines = lines[:-1]  # the page number
                    left.extend(lines)
                else:
                    lines = [line for line in _text(page, lambda c: inside(c) and (c["x0"] + c["x1"]) / 2 < x)
                             if line.strip() != commitment_heading]
                    if lines and label.fullmatch(lines[0].strip()):
                        lines = lines[1:]
                    left.extend(lines)
                    right.extend(line for line in _text(page, lambda c: inside(c) and (c["x0"] + c["x1"]) / 2 >= x)
                                 if line.strip() != status_heading)
    return PdfStreams("\n".join(front_lines[:toc_at]), toc, "\n".join(left), "\n".join(right))




# --- editing a copy of a source tree as the secretariat does ------------------------------------

PREFIX_RE = re.compile(r"^(\d+)-(.+)$")
CATEGORY_LINE_RE = re.compile(r"^category:.*$", re.M)


def policy_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/*/policy.yaml"))


def item_files(policy: Path) -> list[Path]:
    return sorted(p for p in policy.glob("*.yaml") if p.name != "policy.yaml" and PREFIX_RE.match(p.stem))


def category(path: Path):
    from ruamel.yaml import YAML

    return (YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}).get("category")


def move_to_end(item: Path) -> Path:
    """``git mv`` an item to a new order prefix after every other item of its policy."""
    prefixes = [PREFIX_RE.match(p.stem).group(1) for p in item_files(item.parent)]
    width = len(PREFIX_RE.match(item.stem).group(1))
    new_prefix = str(max(int(n) for n in prefixes) + 10).zfill(width)
    target = item.with_name(f"{new_prefix}-{PREFIX_RE.match(item.stem).group(2)}{item.suffix}")
    assert not target.exists()
    item.rename(target)
    return target


def borrow_category(item: Path, policies: list[Path]) -> str:
    """Give ``item`` a category that stands under another policy and not under its own."""
    own = {category(p) for p in item_files(item.parent)}
    for other in policies:
        if other == item.parent:
            continue
        for donor in item_files(other):
            if category(donor) not in own | {None}:
                line = CATEGORY_LINE_RE.search(donor.read_text(encoding="utf-8")).group(0)
                text = item.read_text(encoding="utf-8")
                assert CATEGORY_LINE_RE.search(text), item
                item.write_text(CATEGORY_LINE_RE.sub(lambda _: line, text, count=1), encoding="utf-8")
                return category(donor)
    raise AssertionError("no category of another policy to borrow")


def edited_copy(src: Path, dst: Path) -> tuple[Path, str]:
    """A copy of ``src`` with its first item moved to the end of its policy and given a category
    of another policy; returns the moved file and the borrowed category."""
    shutil.copytree(src, dst)
    policies = policy_folders(dst)
    policy = next((p for p in policies if len(item_files(p)) >= 2), None)
    assert policy is not None and len(policies) >= 2, "the tree needs two policies, one with two items"
    moved = move_to_end(item_files(policy)[0])
    borrowed = borrow_category(moved, policies)
    return moved, borrowed


def crafted_pdf(base: Path, principle_note: str, items: dict[str, dict]) -> Path:
    """A PDF of the mini fixture whose first policy's note is ``principle_note`` and which has the extra
    item files ``items`` (file name → item data) in that policy."""
    import json

    sources = base / "sources"
    shutil.copytree(MINI, sources)
    folder = sources / "10-alpha" / "10-first"
    policy = folder / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("大方針の注記。", principle_note), encoding="utf-8")
    for name, data in items.items():
        (folder / name).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML
    result, diags = build(sources, base / "out", formats={"pdf"})
    assert not diags.has_errors, diags.items
    return next(p for p in result.written if p.suffix == ".pdf")


def assert_built(sources: Path, out: Path, present: list[str], absent: list[str] = ()) -> None:
    """``followup check`` passes and a build shows ``present`` (not ``absent``) in the PDF and the DOCX."""
    from click.testing import CliRunner

    from compiler.cli import main

    check = CliRunner().invoke(main, ["check", "--sources", str(sources)])
    assert check.exit_code == 0, check.output
    result, diags = build(sources, out)
    assert not diags.has_errors, diags.items
    name = result.document.output_name
    pdf = norm("".join(pdf_pages(out / f"{name}.pdf")))
    docx = norm("".join(docx_paragraphs(out / f"{name}.docx")))
    for text in present:
        assert norm(text) in pdf, text
        assert norm(text) in docx, text
    for text in absent:
        assert norm(text) not in pdf, text
        assert norm(text) not in docx, text
