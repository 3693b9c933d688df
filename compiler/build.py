"""Orchestration: load → validate → resolve → render → write, for every command.

Nothing is written unless every stage succeeded; files are written to a
temporary name in the output folder and renamed, so the last good build
survives any error. Output paths are confined to the output folder.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from compiler.diagnostics import Diagnostics, Span
from compiler.document import Document
from compiler.settings import Settings, load_settings


@dataclass
class Compiled:
    document: Document | None
    settings: Settings
    valid: object = None


def compile_sources(sources: Path, diags: Diagnostics) -> Compiled:
    """Load, validate and resolve; ``document`` is ``None`` when there are errors."""
    from compiler import glyphs
    from compiler.loader import load_sources
    from compiler.resolve import resolve
    from compiler.validate import validate

    settings = load_settings()
    loaded = load_sources(Path(sources), diags)
    valid = validate(loaded, diags)
    glyphs.check_glyphs(loaded, settings, diags)
    if valid is None or diags.has_errors:
        return Compiled(None, settings, valid)
    return Compiled(resolve(valid, settings), settings, valid)


def safe_child(out_dir: Path, name: str) -> Path:
    """``out_dir/name`` if it stays inside ``out_dir`` (no separators, no ``..``)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ValueError(f"unsafe output name {name!r}")
    target = (out_dir / name).resolve()
    if target.parent != out_dir.resolve():
        raise ValueError(f"unsafe output name {name!r}")
    return target


def write_atomic(files: dict[Path, bytes], diags: Diagnostics) -> list[Path]:
    """Write every file via a temporary sibling and ``os.replace``; all or nothing as far as possible."""
    temps: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            temps.append((tmp, target))
    except OSError as exc:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        diags.error("E060", f"出力を書き込めません（{exc.strerror}: {exc.filename}）。", None,
                    "出力フォルダの権限と空き容量を確かめてください。")
        return []
    for tmp, target in temps:
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return [t for _, t in temps]


@dataclass
class Rendered:
    pdf: bytes | None = None
    docx: bytes | None = None
    pages: int = 0
    notes: list[str] = field(default_factory=list)


def render(doc: Document, settings: Settings, formats: set[str], diags: Diagnostics,
           release: bool = False, libreoffice_pages: bool = False,
           progress: Callable[[str], None] = lambda s: None) -> Rendered | None:
    """Render the requested formats in memory. Page numbers for the DOCX table of
    contents come from the PDF's layout, or from LibreOffice when asked."""
    from compiler.render.html import render_html
    from compiler.render.pdf import render_pdf

    out = Rendered()
    progress("PDF を組版しています")
    html = render_html(doc, settings)
    variant = "pdf/ua-1" if release else None
    pdf = render_pdf(html, variant=variant, identifier=doc.output_name.encode() if release else None)
    out.pages = pdf.pages
    if "pdf" in formats:
        out.pdf = pdf.data
    if "docx" in formats:
        from compiler.render.docx import render_docx

        progress("DOCX を作っています")
        pages = {e.anchor: pdf.anchor_pages.get(e.anchor, 0) for e in doc.toc}
        data = render_docx(doc, settings, pages)
        if libreoffice_pages or release:
            from compiler import lopages

            progress("LibreOffice でページ番号を確かめています")
            data = lopages.fix_toc_pages(doc, settings, data, diags)
            if data is None:
                return None
        else:
            out.notes.append("DOCX の目次のページ番号は PDF の組版から取った推定値です（--libreoffice-pages または --release で確定します）。")
        out.docx = data
    return out
