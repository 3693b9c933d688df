"""Preview selection: keep one ministry's rows of the resolved document, numbers untouched.

Runs after ``resolve`` so item numbers, categories and （再掲） marks are those of
the full document. Left-out runs of rows become one line such as
「（⑤－1〜⑤－8は他府省分のため省略）」; policies and pillars with nothing left
disappear; the table of contents is rebuilt from what remains.
"""

from __future__ import annotations

from dataclasses import replace

from compiler import document as d
from compiler.resolve import build_toc
from compiler.settings import Settings


def concerns(row: d.Row, ministry: str) -> bool:
    return ministry in row.responsible or ministry in row.mentioned


def _omission(run: list[d.Row], settings: Settings) -> d.Omission:
    n = settings.numbering
    labels = run[0].label if len(run) == 1 else n.omitted_range.format(first=run[0].label, last=run[-1].label)
    return d.Omission(n.omitted.format(labels=labels))


def select(doc: d.Document, ministry: str, settings: Settings, mark: str) -> d.Document:
    """The rows ``ministry`` answers for or is named in, under their own headings."""
    pillars = []
    for pillar in doc.pillars:
        policies = []
        for policy in pillar.policies:
            rows: list = []
            skipped: list[d.Row] = []
            kept = 0
            for row in policy.rows:
                if isinstance(row, d.Row) and concerns(row, ministry):
                    if skipped:
                        rows.append(_omission(skipped, settings))
                        skipped = []
                    rows.append(row)
                    kept += 1
                elif isinstance(row, d.Row):
                    skipped.append(row)
            if not kept:
                continue
            if skipped:
                rows.append(_omission(skipped, settings))
            # the first kept row of a category becomes its heading and TOC target
            seen: set[str] = set()
            fixed = []
            for row in rows:
                if isinstance(row, d.Row):
                    anchor = row.category_anchor or f"cat-{row.item_id}"
                    row = replace(row, category_anchor=None if row.category in seen else anchor)
                    seen.add(row.category)
                fixed.append(row)
            policies.append(replace(policy, rows=tuple(fixed)))
        if policies:
            pillars.append(replace(pillar, policies=tuple(policies)))
    pillars_t = tuple(pillars)
    return replace(doc, pillars=pillars_t, toc=build_toc(pillars_t), preview=mark)
