"""Pass 2, 再掲: every occurrence of a project but the first in document order gets the mark."""

from __future__ import annotations

from dataclasses import replace

from compiler import document as d
from compiler.theme import Theme


def run(doc: d.Document, theme: Theme) -> d.Document:
    seen: set[str] = set()

    def mark(block):
        if not isinstance(block, d.ProjectBlock):
            return block
        first = block.project_key not in seen
        seen.add(block.project_key)
        return replace(block, reprint_mark="" if first else theme.markers.reprint)

    def row(r):
        return replace(r, status=tuple(mark(b) for b in r.status)) if isinstance(r, d.Row) else r

    return replace(doc, pillars=tuple(
        replace(p, policies=tuple(replace(q, rows=tuple(row(r) for r in q.rows)) for q in p.policies))
        for p in doc.pillars))
