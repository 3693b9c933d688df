"""PDF writer: the HTML page and its stylesheet → PDF bytes with WeasyPrint, fetching only the project's own assets.

In two steps, so that the page map can be read between them: ``layout`` lays
the document out (its ``page_map`` gives every anchor's printed page, see
``compiler.paging.weasy``); ``LaidOut.write`` writes the tagged PDF;
``LaidOut.close`` removes WeasyPrint's temporary copies of the fonts.
The layout is WeasyPrint's own, with three small extensions installed for it:
Japanese justification (``justify``), split table rows that say whose they
are (``pdf_rows``) and leaders drawn as one text run (``leaders``), all within
the one layout pass.

Fonts come from fonts/ only: WeasyPrint's fontconfig is loaded from
``layouts/fonts.conf``, whose only font folder is fonts/, so no font of the
host can ever be a fallback (``project_fonts_only``).
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from compiler.document import Document
from compiler.paging import PageMap
from compiler.theme import FONTS_DIR, LAYOUTS_DIR, Theme

ALLOWED_DIRS = (FONTS_DIR, LAYOUTS_DIR)
FONTCONFIG_FILE = LAYOUTS_DIR / "fonts.conf"


@contextlib.contextmanager
def project_fonts_only():
    """Within the block, fontconfig loads ``layouts/fonts.conf`` (fonts/ only).

    fontconfig reads ``FONTCONFIG_FILE`` each time a configuration is loaded:
    by ``import weasyprint`` (its start-up check) and by every
    ``FontConfiguration()``. The variable is restored afterwards, so that
    other programs started later (LibreOffice has its own file) are not affected."""
    previous = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = str(FONTCONFIG_FILE)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FONTCONFIG_FILE", None)
        else:
            os.environ["FONTCONFIG_FILE"] = previous


class BlockedURL(ValueError):
    pass


def resolve_allowed(url: str, allowed_dirs=None) -> Path:
    """The real file behind a ``file:`` URL if it lies inside fonts/ or layouts/ (or ``allowed_dirs``), else raise."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise BlockedURL(f"blocked URL {url!r}: only the project's fonts and layouts may be loaded")
    real = Path(os.path.realpath(unquote(parts.path)))
    for allowed in ALLOWED_DIRS if allowed_dirs is None else allowed_dirs:
        base = Path(os.path.realpath(allowed))
        if real.is_relative_to(base) and real.is_file():
            return real
    raise BlockedURL(f"blocked URL {url!r}: outside the project's fonts and layouts")


def safe_fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """Serves fonts/ and layouts/ files; refuses everything else (other files, network, data:)."""

        def __init__(self):
            super().__init__(allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=False)

        def fetch(self, url, headers=None):
            path = resolve_allowed(url)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if path.suffix == ".ttf":
                mime = "font/ttf"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    return SafeFetcher()


# PDF variants render_pdf accepts (WeasyPrint's names). ``pdf/ua-1`` is the release
# default (accessible: tagged, titled, /Lang, PDF/UA identification in the XMP);
# ``pdf/a-2b`` is for archiving.
PDF_VARIANTS = ("pdf/ua-1", "pdf/a-2b")


def _link_labels(html_document) -> dict[str, str]:
    """Anchor → text of the in-document links (the table of contents entries)."""
    labels: dict[str, str] = {}
    for element in html_document.etree_element.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        href = element.get("href") or ""
        if tag.rsplit("}", 1)[-1] == "a" and href.startswith("#"):
            text = "".join(element.itertext()) + (element.get("data-tail") or "")  # see html.toc_split
            labels.setdefault(href[1:], " ".join(text.split()))
    return labels


def _finisher(labels: dict[str, str], archival: bool):
    """Last touches on WeasyPrint's PDF objects, before they are written.

    * Header cells get ``/Scope /Column`` (the table's only headers are its two
      column headers, ``<th scope="col">``); WeasyPrint links cells to them with
      ``/Headers`` but writes no scope.
    * Link annotations get their link's text as ``/Contents`` (WeasyPrint puts
      the anchor name there, which a screen reader would read out).
    * PDF/A: the XMP metadata stream stays unfiltered (ISO 19005-2, 6.6.2.1),
      and a stream whose deflated bytes would end in CR is written
      uncompressed, so that its /Length cannot be misread (6.1.7.1: a CR at the
      end of the data followed by the LF before ``endstream`` reads as CRLF).
    """
    import pydyf

    def finish(document, pdf):
        for obj in pdf.objects:
            if isinstance(obj, pydyf.Stream):
                if archival:
                    obj.compress = obj.extra.get("Type") != "/Metadata"
                    if obj.compress and obj.data.endswith(b"\r\nendstream"):
                        obj.compress = False
            elif isinstance(obj, dict):
                if obj.get("S") == "/TH" and isinstance(obj.get("A"), dict):
                    obj["A"]["Scope"] = "/Column"
                elif obj.get("Subtype") == "/Link" and isinstance(obj.get("Dest"), pydyf.String):
                    label = labels.get(obj["Dest"].string)
                    if label:
                        obj["Contents"] = pydyf.String(label)

    return finish


@dataclass
class LaidOut:
    """A laid-out document: its page map is known; bytes are written on demand."""

    document: object
    html_document: object
    page_map: PageMap
    font_config: object = None

    def close(self) -> None:
        """Remove WeasyPrint's temporary font folder now (it would wait for garbage collection); idempotent."""
        close_fonts(self.font_config)

    def write(self, variant: str | None = None, identifier: bytes | None = None) -> bytes:
        """A tagged PDF; ``variant``: ``None`` (plain tagged PDF 1.7), ``"pdf/ua-1"`` or ``"pdf/a-2b"``."""
        if variant is not None and variant not in PDF_VARIANTS:
            raise ValueError(f"unknown PDF variant {variant!r} (known: {', '.join(PDF_VARIANTS)})")
        archival = bool(variant and variant.startswith("pdf/a"))
        options = {"pdf_tags": True, "uncompressed_pdf": False}
        if variant:
            options["pdf_variant"] = variant
        if identifier:
            options["pdf_identifier"] = identifier
        finisher = _finisher(_link_labels(self.html_document), archival)
        data = self.document.write_pdf(finisher=finisher, **options)
        if archival and b"\r\nendstream" in data:
            # An object or cross-reference stream (made after the finisher ran) ended in
            # CR: write without them; the finisher still compresses the other streams.
            data = self.document.write_pdf(finisher=finisher, **dict(options, uncompressed_pdf=True))
        return data


def _memoize_page_references() -> None:
    """Make pydyf's ``PDF.page_references`` O(1) per access.

    pydyf 0.13 rebuilds the tuple of every page reference on each access, and
    WeasyPrint's tagging asks for it once per tagged box: quadratic in length
    (6.7 s of a 123-page write). The memo is keyed by the page count, so it is
    rebuilt whenever a page is added; the bytes written are unchanged."""
    import pydyf

    if getattr(pydyf.PDF, "_followup_memo", False):
        return

    def page_references(self):
        kids = self.pages["Kids"]
        memo = self.__dict__.get("_followup_page_refs")
        if memo is None or memo[0] != len(kids):
            memo = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
            self.__dict__["_followup_page_refs"] = memo
        return memo[1]

    pydyf.PDF.page_references = property(page_references)
    pydyf.PDF._followup_memo = True


def layout(doc: Document, theme: Theme, part=None, font_config=None, html: str | None = None) -> LaidOut:
    """Lay ``doc`` out with the theme's stylesheet (fonts/ and layouts/ only).

    ``part`` (a ``compiler.paging.parts.Part``): lay out only that part of the document, with the part's
    additions to the stylesheet (``html.part_stylesheet``); see ``compiler.writers.pdf_parts``.
    ``font_config``: a WeasyPrint ``FontConfiguration`` made by ``fonts()`` and kept by the caller
    for several layouts (its fonts are loaded once); by default each layout has its own.
    ``html``: ``html.render_html(doc, part=part)``, when the caller has it already."""
    import logging

    from compiler.writers import engine

    engine.load()
    from compiler.paging.weasy import page_map
    from compiler.writers import justify, leaders, pdf_rows
    from compiler.writers.html import part_stylesheet, render_html, stylesheet

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    _memoize_page_references()
    justify.install()
    leaders.install()
    labelled = pdf_rows.active()  # split rows say whose they are (else their labels stay hidden)
    fetcher = safe_fetcher()
    own = font_config is None
    if own:
        font_config = fonts()
    try:
        # The theme's sheet, then this layout's additions as a sheet of their own (the same cascade as one
        # sheet of both): the theme's is parsed once per font configuration, whatever the part.
        extra = (pdf_rows.STYLESHEET if labelled else "") + (part_stylesheet(part) if part is not None else "")
        css = [_stylesheet(text, font_config, fetcher, shared=not own) for text in (stylesheet(theme), extra) if text]
        html_document = engine.HTML(string=html if html is not None else render_html(doc, part=part), base_url=str(LAYOUTS_DIR) + "/", url_fetcher=fetcher)
        with pdf_rows.rules(theme.table.row_start_min_lines):
            rendered = html_document.render(stylesheets=css, font_config=font_config)
        return LaidOut(rendered, html_document, page_map(rendered, doc.body_anchor), font_config if own else None)
    except BaseException:  # an error or an interrupt: no font copies left in the temporary folder
        if own:
            close_fonts(font_config)
        raise


def _stylesheet(css_text: str, font_config, fetcher, shared: bool):
    """The parsed stylesheet; with a ``shared`` font configuration (several layouts, e.g. the parts of a
    build), parsed once per text and kept on that configuration, which holds the fonts its
    ``@font-face`` rules registered (WeasyPrint only reads a stylesheet while it lays out)."""
    from weasyprint import CSS

    sheets = font_config.__dict__.setdefault("_followup_sheets", {}) if shared else {}
    if css_text not in sheets:
        sheets[css_text] = CSS(string=css_text, base_url=str(LAYOUTS_DIR) + "/", font_config=font_config,
                               url_fetcher=fetcher)
    return sheets[css_text]


def fonts():
    """A new WeasyPrint font configuration that sees fonts/ only (``close_fonts`` removes its font copies)."""
    from compiler.writers import engine

    engine.load()
    from weasyprint.text.fonts import FontConfiguration

    with project_fonts_only():
        return FontConfiguration()


def close_fonts(font_config) -> None:
    """Remove the temporary copies of the fonts that ``font_config`` made (idempotent)."""
    folder = getattr(font_config, "_folder", None)  # WeasyPrint's copies of the @font-face files
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        font_config._folder = None


def write(doc: Document, theme: Theme, variant: str | None = None, identifier: bytes | None = None) -> bytes:
    """Lay out and write in one call (see ``LaidOut.write`` for ``variant``)."""
    if variant is not None and variant not in PDF_VARIANTS:
        raise ValueError(f"unknown PDF variant {variant!r} (known: {', '.join(PDF_VARIANTS)})")
    laid = layout(doc, theme)
    try:
        return laid.write(variant, identifier)
    finally:
        laid.close()
