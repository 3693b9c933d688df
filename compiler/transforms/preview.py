"""Preview selection: keep one ministry's rows of the resolved document, numbers untouched.

Runs after the passes, so item numbers, categories and （再掲） marks are those
of the full document. Left-out runs of rows become one line such as
「（⑤－1〜⑤－8は他府省分のため省略）」; policies and pillars with nothing left
disappear; the table of contents is rebuilt from what remains. Also resolves
the ministry names given on the command line (E024, W106) and counts each
ministry's rows (``followup ministries``, the release manifest).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date

from compiler import document as d
from compiler.diagnostics import Diagnostics
from compiler.frontend.checks import Registry, ValidSources
from compiler.theme import Theme
from compiler.transforms import toc
from compiler.transforms.numbering import ANCHOR_CATEGORY


def concerns(row: d.Row, ministry: str) -> bool:
    return ministry in row.responsible or ministry in row.mentioned


def _omission(run: list[d.Row], theme: Theme) -> d.Omission:
    n = theme.numbering
    labels = run[0].label if len(run) == 1 else n.omitted_range.format(first=run[0].label, last=run[-1].label)
    return d.Omission(n.omitted.format(labels=labels))


def select(doc: d.Document, ministry: str, theme: Theme, mark: str) -> d.Document:
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
                        rows.append(_omission(skipped, theme))
                        skipped = []
                    rows.append(row)
                    kept += 1
                elif isinstance(row, d.Row):
                    skipped.append(row)
            if not kept:
                continue
            if skipped:
                rows.append(_omission(skipped, theme))
            # the first kept row of a category becomes its heading and TOC target
            seen: set[str] = set()
            fixed = []
            for row in rows:
                if isinstance(row, d.Row):
                    anchor = row.category_anchor or f"{ANCHOR_CATEGORY}{row.item_id}"  # no dot in ids: unique
                    row = replace(row, category_anchor=None if row.category in seen else anchor)
                    seen.add(row.category)
                fixed.append(row)
            policies.append(replace(policy, rows=tuple(fixed)))
        if policies:
            pillars.append(replace(pillar, policies=tuple(policies)))
    return toc.run(replace(doc, pillars=tuple(pillars), preview=mark))


@dataclass(frozen=True)
class View:
    """One preview to write: the selected document and its file stem (the ministry's short name)."""

    document: d.Document
    stem: str


def views(doc: d.Document, valid: ValidSources, names: list[str], theme: Theme, revision: str | None,
          diags: Diagnostics, today: date | None = None) -> list[View]:
    """One view per ministry named on the command line; unknown names are E024, empty previews W106."""
    registry = valid.registry
    registry_span = valid.document_sf.span(("ministries",), key=True)
    labels = theme.labels
    out = []
    for name in names:
        canonical = registry.lookup(name)
        if canonical is None:
            known = "、".join(m.name for m in registry.ministries)
            guess = registry.suggest(name)
            diags.error("E024", f"府省庁「{name}」は登録されていません。", registry_span,
                        (f"もしかして：{guess}。" if guess else "") + f"登録されている府省庁：{known}")
            continue
        mark = labels.preview_mark.format(
            ministry=canonical, date=(today or date.today()).isoformat(),
            revision=labels.preview_revision.format(revision=revision) if revision else "")
        view = select(doc, canonical, theme, mark)
        if not view.pillars:
            diags.warning("W106", f"{canonical}が担当・言及する取組方針はありません（空のプレビューを作ります）。",
                          registry.span_of(canonical, valid.document_sf) or registry_span,
                          "府省庁名を確かめてください。followup ministries で件数を確認できます。")
        out.append(View(view, canonical))
    return out


def ministry_counts(doc: d.Document, registry: Registry) -> list[dict]:
    """Per registered ministry: rows it answers for, and rows a preview of it includes."""
    rows = list(doc.rows())
    return [{
        "name": m.name, "full_name": m.full_name or m.name, "aliases": list(m.aliases),
        "responsible": sum(1 for r in rows if m.name in r.responsible),
        "included": sum(1 for r in rows if concerns(r, m.name)),
    } for m in registry.ministries]


def counts(doc: d.Document) -> dict:
    """Rows per pillar, per policy and per ministry named in them (the release manifest)."""
    per_pillar, per_policy, per_ministry = Counter(), Counter(), Counter()
    for pillar, policy, row in doc.placed_rows():
        per_pillar[pillar.heading] += 1
        per_policy[policy.heading] += 1
        per_ministry.update(row.responsible | row.mentioned)
    return {"total": sum(per_pillar.values()), "per_pillar": dict(per_pillar),
            "per_policy": dict(per_policy), "per_ministry": dict(sorted(per_ministry.items()))}
