"""Page map from WeasyPrint's layout: the page index of every anchor of the laid-out HTML."""

from __future__ import annotations

from compiler.paging import PageMap


def page_map(rendered, body_anchor: str | None) -> PageMap:
    """``rendered`` is a WeasyPrint ``Document`` (the result of ``HTML.render``)."""
    physical: dict[str, int] = {}
    for index, page in enumerate(rendered.pages):
        for name in page.anchors:
            physical.setdefault(name, index + 1)
    return PageMap.from_physical(physical, body_anchor, "weasyprint", len(rendered.pages))
