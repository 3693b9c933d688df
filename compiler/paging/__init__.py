"""Paging: which printed page every anchor lands on, as a ``PageMap``.

Two sources: WeasyPrint's layout of the PDF (``weasy``) and LibreOffice's
layout of the DOCX (``libreoffice``). Printed page 1 is defined once, here:
the page that holds the document's ``body_anchor`` (the first pillar heading).
Writers receive a page map; they never lay out to find numbers themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PageMap:
    pages: dict[str, int] = field(default_factory=dict)  # anchor → printed page number
    source: str = "none"  # "weasyprint", "libreoffice" or "none"
    total: int | None = None  # physical pages of the laid-out document, when known

    @classmethod
    def from_physical(cls, physical: dict[str, int], body_anchor: str | None, source: str,
                      total: int | None = None) -> "PageMap":
        """Physical pages (1-based) → printed numbers, the body anchor's page being 1."""
        first = physical.get(body_anchor, 1) if body_anchor else 1
        return cls({anchor: page - first + 1 for anchor, page in physical.items()}, source, total)

    def get(self, anchor: str, default: int | None = None) -> int | None:
        return self.pages.get(anchor, default)


NO_PAGES = PageMap()
