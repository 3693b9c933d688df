"""Pass 3, table of contents: pillars, policies and every category at its first row, in document order."""

from __future__ import annotations

from dataclasses import replace

from compiler import document as d
from compiler.theme import Theme


def entries(pillars) -> tuple[d.TocEntry, ...]:
    toc = []
    for pillar in pillars:
        toc.append(d.TocEntry(1, pillar.heading, pillar.anchor))
        for policy in pillar.policies:
            toc.append(d.TocEntry(2, policy.heading, policy.anchor))
            for row in policy.rows:
                if isinstance(row, d.Row) and row.category_anchor:
                    toc.append(d.TocEntry(3, row.category, row.category_anchor))
    return tuple(toc)


def run(doc: d.Document, theme: Theme | None = None) -> d.Document:
    return replace(doc, toc=entries(doc.pillars))
