"""Shared test helpers: building, text extraction from PDF and DOCX, LibreOffice rendering."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
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


def pdf_pages(pdf: Path) -> list[str]:
    """Text of every page (poppler's pdftotext, reading order)."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
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
