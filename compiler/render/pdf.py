"""PDF renderer: HTML → PDF bytes with WeasyPrint, fetching only the project's own assets.

Also reports on which printed page each anchor landed, so the DOCX can carry
the same table-of-contents numbers without laying itself out.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from compiler.settings import FONTS_DIR, LAYOUTS_DIR

ALLOWED_DIRS = (FONTS_DIR, LAYOUTS_DIR)


class BlockedURL(ValueError):
    pass


def resolve_allowed(url: str) -> Path:
    """The real file behind a ``file:`` URL if it lies inside fonts/ or layouts/, else raise."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise BlockedURL(f"blocked URL {url!r}: only the project's fonts and layouts may be loaded")
    real = Path(os.path.realpath(unquote(parts.path)))
    for allowed in ALLOWED_DIRS:
        base = Path(os.path.realpath(allowed))
        if real.is_relative_to(base) and real.is_file():
            return real
    raise BlockedURL(f"blocked URL {url!r}: outside the project's fonts and layouts")


def _fetcher():
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


@dataclass
class PdfResult:
    data: bytes
    pages: int
    anchor_pages: dict[str, int]  # anchor → printed page number (body page 1 = 1)


def render_pdf(html: str, variant: str | None = None, identifier: bytes | None = None) -> PdfResult:
    import logging

    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = _fetcher()
    font_config = FontConfiguration()
    css = CSS(filename=str(LAYOUTS_DIR / "style.css"), font_config=font_config, url_fetcher=fetcher)
    document = HTML(string=html, base_url=str(LAYOUTS_DIR) + "/", url_fetcher=fetcher).render(
        stylesheets=[css], font_config=font_config)
    first_body = 0
    anchors: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
    first_body = anchors.get("body-start", 0)
    printed = {name: index - first_body + 1 for name, index in anchors.items()}
    options = {"pdf_tags": True, "uncompressed_pdf": False}
    if variant:
        options["pdf_variant"] = variant
    if identifier:
        options["pdf_identifier"] = identifier
    data = document.write_pdf(**options)
    return PdfResult(data, len(document.pages), printed)
