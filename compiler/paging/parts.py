"""Parts: the intermediate document split into runs of pages that can be laid out on their own.

A PDF laid out by parts (``compiler.writers.pdf_parts``) is made of:

* the **body parts**: every policy starts on a new page (``style.css.j2``: ``.pillar + .pillar`` and
  ``.policy.new-page`` break before; the first policy follows its pillar's heading, which opens the
  body or breaks before), so each policy, with its pillar's heading when it is the pillar's first,
  is a run of whole pages. Each is a ``Document`` of its own (one pillar with that one policy),
  numbered exactly like the whole document: numbering is already resolved in the intermediate document;
* the **front part** (title and table of contents), laid out after the body, when the printed page
  of every anchor is known (``page_of``): the contents carry their page numbers as text;
* the **stamp**: one empty page per body page carrying only the page furniture of the stylesheet's
  ``@page`` rules (page numbers, a preview's mark), drawn onto the body pages when they are merged,
  so that a body part never depends on the page number it starts at. It is laid out in runs of
  ``STAMP_PAGES`` pages (``stamp_runs``), each as soon as the body is known to reach its last page.

Only the splitting and the page arithmetic live here; what a part prints is the HTML writer's
(``document.html.j2`` and ``parts.css.j2`` read a ``Part``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from compiler.document import Document, Pillar
from compiler.paging import PageMap


@dataclass(frozen=True)
class Part:
    """One part: which document it shows and what the template prints of it."""

    name: str  # "front", "body-3", "stamp-33": for logs and counters
    document: Document
    front: bool = False
    body: bool = False
    heading_of: str | None = None  # anchor of the pillar whose heading opens this body part
    stamp_pages: int = 0  # stamp: how many pages of furniture, for body pages ``stamp_first`` on
    stamp_first: int = 1
    toc_pages: tuple[tuple[str, int], ...] = ()  # front: anchor → printed page
    _pages: dict = field(default_factory=dict, compare=False, repr=False)

    def headed(self, pillar: Pillar) -> bool:
        """Whether this part prints ``pillar``'s heading (it opens with the pillar's first policy)."""
        return pillar.anchor == self.heading_of

    def page_of(self, anchor: str) -> int | str:
        """The printed page of a contents entry's target (front part)."""
        if not self._pages and self.toc_pages:
            self._pages.update(self.toc_pages)
        return self._pages.get(anchor, "")


def body_parts(doc: Document) -> list[Part]:
    """The body's parts in document order: one per policy (see the module docstring)."""
    parts = []
    for pillar in doc.pillars:
        for i, policy in enumerate(pillar.policies):
            part_doc = replace(doc, pillars=(replace(pillar, policies=(policy,)),), toc=())
            parts.append(Part(f"body-{len(parts) + 1}", part_doc, body=True,
                              heading_of=pillar.anchor if i == 0 else None))
    return parts


@dataclass(frozen=True)
class BodyPages:
    """Where the body parts' pages landed: page counts, and each anchor's page within its part."""

    counts: tuple[int, ...]
    anchors: tuple[dict[str, int], ...]  # per part: anchor → 0-based page index in the part

    @property
    def total(self) -> int:
        return sum(self.counts)

    def offsets(self) -> list[int]:
        """Body pages before each part."""
        out, before = [], 0
        for count in self.counts:
            out.append(before)
            before += count
        return out

    def page_map(self, front_pages: int | None = None) -> PageMap:
        """Printed page of every anchor (the body's first page is page 1; the first occurrence counts).

        ``front_pages``: physical pages before the body, for the page map's total."""
        printed: dict[str, int] = {}
        for offset, anchors in zip(self.offsets(), self.anchors):
            for anchor, index in anchors.items():
                printed.setdefault(anchor, offset + index + 1)
        total = None if front_pages is None else front_pages + self.total
        return PageMap(printed, "weasyprint", total)


def front_part(doc: Document, pages: PageMap) -> Part:
    """The title and the table of contents, its entries numbered from ``pages``."""
    toc_pages = tuple((e.anchor, pages.get(e.anchor)) for e in doc.toc if pages.get(e.anchor) is not None)
    return Part("front", replace(doc, pillars=()), front=True, toc_pages=toc_pages)


STAMP_PAGES = 16  # body pages a stamp part serves: the stamp of a long body is laid out a run at a time


def stamp_part(doc: Document, first: int, count: int) -> Part:
    """One page of page furniture for each of the body pages ``first``…``first + count - 1`` (numbered
    like them): a run of the stamp can be laid out as soon as the body is known to be that long."""
    return Part(f"stamp-{first}", replace(doc, pillars=(), toc=()), stamp_first=first, stamp_pages=count)


def stamp_runs(known: int, queued: int, total: bool = False) -> list[tuple[int, int]]:
    """``(first, count)`` of the stamp runs to lay out next: the body has at least ``known`` pages
    (exactly that many when ``total``), and runs up to page ``queued`` are already laid out or under
    way. Runs start at 1, 1 + ``STAMP_PAGES``…, so that a longer or shorter body reuses the runs
    before its last one from the cache; only a ``total`` gives the last, shorter run."""
    runs = []
    while queued + STAMP_PAGES <= known:
        runs.append((queued + 1, STAMP_PAGES))
        queued += STAMP_PAGES
    if total and queued < known:
        runs.append((queued + 1, known - queued))
    return runs
