"""Writers: the intermediate document → bytes, one module per format, behind one interface.

``WRITERS`` is the registry: format name → a function
``write(doc, theme, pages, options) -> bytes``. Writers only lay out what the
document holds: they never number, look anything up or validate. The PDF
writer also offers its two steps (``pdf.layout`` then ``LaidOut.write``) so a
pipeline can read the page map between them without laying out twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from compiler.document import Document
from compiler.paging import PageMap
from compiler.theme import Theme


@dataclass(frozen=True)
class WriteOptions:
    pdf_variant: str | None = None  # None (tagged PDF 1.7), "pdf/ua-1" or "pdf/a-2b"
    identifier: bytes | None = None  # pins the PDF file identifier (reproducible releases)
    embed_fonts: bool = True  # DOCX: embed the subset fonts
    revision: str | None = None  # DOCX: revision of the sources, recorded in the package


def _html(doc: Document, theme: Theme, pages: PageMap, options: WriteOptions) -> bytes:
    from compiler.writers.html import render_html

    return render_html(doc, theme, inline_css=True).encode("utf-8")


def _pdf(doc: Document, theme: Theme, pages: PageMap, options: WriteOptions) -> bytes:
    from compiler.writers import pdf

    return pdf.write(doc, theme, options.pdf_variant, options.identifier)


def _docx(doc: Document, theme: Theme, pages: PageMap, options: WriteOptions) -> bytes:
    from compiler.writers import docx

    return docx.write(doc, theme, pages, options.embed_fonts, options.revision)


WRITERS: dict[str, Callable[[Document, Theme, PageMap, WriteOptions], bytes]] = {
    "html": _html,
    "pdf": _pdf,
    "docx": _docx,
}
