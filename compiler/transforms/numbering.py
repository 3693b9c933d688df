"""Pass 1, numbering: assemble the intermediate document from the validated sources and number it.

Pillars 1., policies ① (continuous across pillars), items （①－1）, all from the
order the loader found; nothing is read from the sources' text. Markers and
brackets from the theme are added here, so writers print final strings.
Projects get a ``project_key`` (their id, or a per-block key) for the 再掲 pass;
their marks are left empty here.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from compiler import document as d
from compiler.frontend import schema as models
from compiler.frontend.checks import Registry, ValidSources, ministry_parts, nfc, split_ministries
from compiler.frontend.textrules import ERA_DATE_RE, era_date_problem, era_to_date
from compiler.theme import Theme


# Anchors (HTML ids, link targets) are a prefix, a dot and ids. Ids are [a-z0-9-] and never contain
# a dot, so an id such as ``item-1`` or ``cat-x`` can never make the same anchor as another kind.
ANCHOR_PILLAR, ANCHOR_POLICY, ANCHOR_CATEGORY, ANCHOR_ITEM = "pillar.", "policy.", "cat.", "item."

# A commitment paragraph after the first that opens with an enumerator （1）…（9） hangs on it.
ENUMERATOR_RE = re.compile(r"（[0-9]）")


def commitment_markers(paragraphs) -> tuple[str, ...]:
    """Per paragraph, the enumerator it hangs on, or "" (the first paragraph opens with the item number)."""
    out = tuple("" if i == 0 or not (m := ENUMERATOR_RE.match(p)) else m.group(0) for i, p in enumerate(paragraphs))
    return out if any(out) else ()


def _epoch() -> datetime | None:
    """``SOURCE_DATE_EPOCH`` as a date, or ``None`` when unset or unusable (``check`` reports it, E036)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not re.fullmatch(r"[0-9]+", epoch):
        return None
    try:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def as_of_datetime(as_of: str) -> datetime:
    """令和5年2月時点 → 2023-02-01 00:00 UTC; ``SOURCE_DATE_EPOCH`` wins when set. Never raises:
    impossible dates are diagnostics of ``check`` (E030, E036), and fall back here."""
    epoch = _epoch()
    if epoch is not None:
        return epoch
    m = ERA_DATE_RE.search(as_of)
    if m and era_date_problem(*m.groups()) is None:
        day = era_to_date(*m.groups())
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    m = re.search(r"(\d{4})年(?:(\d{1,2})月)?", as_of)
    if m:
        try:
            return datetime(int(m.group(1)), int(m.group(2) or 1), 1, tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime(2000, 1, 1, tzinfo=timezone.utc)


def _canonical(text: str, registry: Registry) -> frozenset[str]:
    return frozenset(c for c in (registry.lookup(n) for n in split_ministries(text)) if c)


def ministry_text(text: str, registry: Registry) -> str:
    """The names of a ministry field as printed: registered short names, joined as written
    (、 or ・; commas, slashes and spaces become 、) — 「経済産業省, 金融庁」 → 「経産省、金融庁」."""
    return "".join(f"{sep}{registry.lookup(name) or name}{suffix}" for sep, name, suffix in ministry_parts(text))


def category_anchor(policy_id: str, n: int) -> str:
    """The anchor of the ``n``-th category (in order of first appearance) of a policy: a TOC target."""
    return f"{ANCHOR_CATEGORY}{policy_id}.{n}"


def _bracket(pair, text: str) -> str:
    return f"{pair[0]}{text}{pair[1]}"


class _Resolver:
    def __init__(self, valid: ValidSources, settings: Theme):
        self.valid = valid
        self.s = settings
        self.registry = valid.registry
        self.projects: dict[str, models.ProjectBlock] = {}
        for item in valid.items():
            for block in item.model.status:
                if isinstance(block, models.ProjectBlock) and block.id:
                    self.projects[block.id] = block

    def project(self, block, item_id: str, index: int) -> d.ProjectBlock:
        mk = self.s.markers
        if isinstance(block, models.ReprintBlock):
            key = block.reprint
            source = self.projects[key]
            budget = source.budget if block.budget is None else block.budget
        else:
            key = block.id or f"{item_id}#{index}"
            source = block
            budget = block.budget
        return d.ProjectBlock(mk.project, source.project, tuple(_bracket(mk.budget, b) for b in budget), "", key)

    # --- lists ----------------------------------------------------------------
    def entries(self, entries, numbered: bool, level: int) -> tuple[d.ListItem, ...]:
        out = []
        for i, e in enumerate(entries):
            # check refuses more entries than markers (E038) and deeper nesting than bullet levels (E039)
            marker = self.s.markers.numbered[i] if numbered and i < len(self.s.markers.numbered) else \
                f"({i + 1})" if numbered else self.s.markers.bullets[min(level, len(self.s.markers.bullets)) - 1]
            if isinstance(e, str):
                out.append(d.ListItem(marker, e, level, numbered=numbered))
            else:
                children: tuple[d.ListItem, ...] = ()
                if e.bullets:
                    children = self.entries(e.bullets, False, level + 1)
                elif e.numbered:
                    children = self.entries(e.numbered, True, level + 1)
                out.append(d.ListItem(marker, e.text, level, children, numbered, tuple(e.paragraphs)))
        return tuple(out)

    def status(self, item: models.ItemFile) -> tuple[tuple[d.Block, ...], frozenset[str]]:
        blocks: list[d.Block] = []
        mentioned: set[str] = set()
        mk = self.s.markers
        for i, b in enumerate(item.status):
            if isinstance(b, (models.ProjectBlock, models.ReprintBlock)):
                blocks.append(self.project(b, item.id, i))
            elif isinstance(b, models.BulletsBlock):
                blocks.append(d.ListBlock(self.entries(b.bullets, False, 1), False))
            elif isinstance(b, models.NumberedBlock):
                blocks.append(d.ListBlock(self.entries(b.numbered, True, 1), True))
            elif isinstance(b, models.TextBlock):
                blocks.append(d.ParagraphBlock(b.text))
            elif isinstance(b, models.NoteBlock):
                blocks.append(d.NoteBlock(mk.note, b.note))
            elif isinstance(b, models.MinistryBlock):
                blocks.append(d.MinistryTagBlock(_bracket(mk.ministry, ministry_text(b.ministry, self.registry))))
                mentioned |= _canonical(b.ministry, self.registry)
        return tuple(blocks), frozenset(mentioned)

    def document(self) -> d.Document:
        s, doc = self.s, self.valid.document
        pillars = []
        policy_no = 0
        for p_index, vp in enumerate(self.valid.pillars, 1):
            policies = []
            for vpol in vp.policies:
                policy_no += 1
                pnum = s.numbering.policies[policy_no - 1] if policy_no <= len(s.numbering.policies) else f"({policy_no})"
                rows = []
                seen_categories: set[str] = set()
                for i_index, vi in enumerate(vpol.items, 1):
                    m = vi.model
                    cat_anchor = None
                    category = nfc(m.category)
                    if category not in seen_categories:
                        seen_categories.add(category)
                        cat_anchor = category_anchor(vpol.model.id, len(seen_categories))
                    status, mentioned = self.status(m)
                    rows.append(d.Row(
                        item_id=m.id,
                        label=s.numbering.label.format(policy=pnum, item=i_index),
                        number=s.numbering.item.format(label=s.numbering.label.format(policy=pnum, item=i_index)),
                        anchor=f"{ANCHOR_ITEM}{m.id}",
                        category=_bracket(s.markers.category, category),
                        category_anchor=cat_anchor,
                        commitment=tuple(m.commitment),
                        ministry_tag=_bracket(s.markers.ministry, ministry_text(m.ministry, self.registry)),
                        responsible=_canonical(m.ministry, self.registry),
                        mentioned=mentioned,
                        status=status,
                        span=vi.sf.span(),
                        commitment_markers=commitment_markers(m.commitment),
                    ))
                policies.append(d.Policy(
                    id=vpol.model.id, number=pnum, short_title=vpol.model.short_title,
                    anchor=f"{ANCHOR_POLICY}{vpol.model.id}", principle=tuple(vpol.model.principle),
                    notes=tuple(f"{s.markers.note}{n}" for n in vpol.model.notes), rows=tuple(rows),
                    span=vpol.sf.span(),
                ))
            pillars.append(d.Pillar(vp.model.id, s.numbering.pillar.format(n=p_index), vp.model.title,
                                    f"{ANCHOR_PILLAR}{vp.model.id}", tuple(policies), vp.sf.span()))
        labels = d.Labels(toc_title=s.labels.toc_title, principle=s.labels.principle,
                          commitment_heading=doc.columns.commitment, status_heading=doc.columns.status,
                          continued=s.labels.continued)
        return d.Document(
            title=doc.title, as_of=doc.as_of, author=doc.author, output_name=doc.output_name, labels=labels,
            created=as_of_datetime(doc.as_of), pillars=tuple(pillars), toc=(),
        )


def run(valid: ValidSources, theme: Theme) -> d.Document:
    return _Resolver(valid, theme).document()
