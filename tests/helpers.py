"""Shared test helpers: building, text extraction from PDF and DOCX, LibreOffice rendering."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MINI = FIXTURES / "mini"
SOURCES = ROOT / "sources"
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
    from compiler import lopages

    assert lopages.available(), f"LibreOffice is required for this test: apt-get install {lopages.PACKAGES} (scripts/test installs it)"


def libreoffice_pdf(docx_path: Path, out_dir: Path) -> Path:
    """Convert with plain ``soffice --convert-to pdf`` (fields are NOT updated), project fonts visible."""
    from compiler import lopages
    from compiler.settings import load_settings

    require_libreoffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "lo-work"
    work.mkdir(exist_ok=True)
    env = dict(os.environ, FONTCONFIG_FILE=str(lopages.fontconfig_file(work, load_settings())), HOME=str(work))
    subprocess.run(
        [shutil.which("soffice"), f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out_dir), str(docx_path)],
        env=env, capture_output=True, check=True, timeout=300)
    pdf = out_dir / (docx_path.stem + ".pdf")
    assert pdf.exists()
    return pdf


def build(sources: Path, out: Path, **kwargs):
    """Run the whole pipeline in-process; returns (result, diagnostics)."""
    from compiler.build import run_build
    from compiler.diagnostics import Diagnostics

    diags = Diagnostics(strict=kwargs.get("release", False))
    result = run_build(Path(sources), Path(out), diags, **kwargs)
    return result, diags


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


def _column_texts(page) -> list[str]:
    """Text of a page column by column: split at a vertical band near the middle that no word crosses."""
    words = page.extract_words()
    title = next((w for w in words if w["text"] == "目次"), None)
    top = title["bottom"] + 1 if title else 0
    words = [w for w in words if w["top"] >= top]
    mid = page.width / 2
    band = (mid - 4, mid + 4)
    crossing = [w for w in words if w["x0"] < band[1] and w["x1"] > band[0]]
    head = "目次\n" if title else ""
    if words and not crossing:
        halves = [page.crop((0, top, mid, page.height)), page.crop((mid, top, page.width, page.height))]
        return [head + "\n".join(h.extract_text() or "" for h in halves)]
    return [head + (page.crop((0, top, page.width, page.height)).extract_text() or "")]


def toc_printed_numbers(pdf: PdfText, labels: list[str]) -> dict[str, int]:
    """Read 「label ..... N」 entries of the table of contents (the pages before the first numbered page).

    Entries that wrap are joined until a line ends in a number; two-column contents are read column by column."""
    import pdfplumber

    with pdfplumber.open(str(pdf.path)) as doc:
        columns = [t for page in doc.pages[:pdf.first_body] for t in _column_texts(page)]
    text = "\n".join(columns)
    text = text.split("目次", 1)[1] if "目次" in text else text
    entries, buffer = [], ""
    for line in text.splitlines():
        buffer += line.strip()
        if re.search(r"\d+$", buffer):
            entries.append(buffer)
            buffer = ""
    found: dict[str, int] = {}
    wanted = {norm(label): label for label in labels}
    for entry in entries:
        m = re.match(r"^(.*?)[\s.…‥・]*(\d+)$", entry)
        label = wanted.get(norm(m.group(1))) if m else None
        if label and label not in found:
            found[label] = int(m.group(2))
    return found


def heading_pages(pdf: PdfText, labels: list[str]) -> dict[str, int]:
    """Printed page on which each label first appears, searching in order from the first numbered page."""
    body = [(n, norm(t)) for n, t in zip(pdf.footers, pdf.pages)]
    found: dict[str, int] = {}
    i = pdf.first_body
    for label in labels:
        key = norm(label)
        while i < len(body) and key not in body[i][1]:
            i += 1
        if i == len(body):
            break
        found[label] = body[i][0]
    return found


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


def pdf_column_texts(pdf: Path, split_mm: float, margin_bottom_mm: float = 14.0) -> tuple[str, str]:
    """Normalised text left and right of ``split_mm`` over all pages, footers cut off.

    Two-column tables interleave their cells line by line in plain extraction;
    reading each column separately lets a row that runs over pages be read whole."""
    import pdfplumber

    mm = 72 / 25.4
    left, right = [], []
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            bottom = page.height - margin_bottom_mm * mm
            left.append(page.crop((0, 0, split_mm * mm, bottom)).extract_text() or "")
            right.append(page.crop((split_mm * mm, 0, page.width, bottom)).extract_text() or "")
    return norm("".join(left)), norm("".join(right))
