"""The intermediate document: everything the renderers need, nothing they compute.

Numbers, markers, brackets, 再掲 marks and the table of contents are already
final strings here. Renderers (HTML/PDF and DOCX) only lay these nodes out;
they never number, look anything up or validate. Every row keeps the span of
its source file so late messages can still point at a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Union

from compiler.diagnostics import Span


@dataclass(frozen=True)
class ListItem:
    marker: str  # "•", "➢", "①" …
    text: str
    level: int  # 1 = outermost
    children: tuple["ListItem", ...] = ()
    numbered: bool = False  # an entry of a numbered list (①②③) rather than a bullet


@dataclass(frozen=True)
class ListBlock:
    items: tuple[ListItem, ...]
    numbered: bool = False


@dataclass(frozen=True)
class ProjectBlock:
    marker: str  # "○"
    name: str
    budget: tuple[str, ...]  # each already in 【】
    reprint_mark: str  # "（再掲）" on every occurrence but the first, else ""
    project_key: str  # groups the occurrences of one project


@dataclass(frozen=True)
class ParagraphBlock:
    text: str


@dataclass(frozen=True)
class NoteBlock:
    marker: str  # "※"
    text: str


@dataclass(frozen=True)
class MinistryTagBlock:
    text: str  # "［経産省］"


Block = Union[ListBlock, ProjectBlock, ParagraphBlock, NoteBlock, MinistryTagBlock]


@dataclass(frozen=True)
class Row:
    """One row of the table: a commitment and its status."""

    item_id: str
    label: str  # "①－1"
    number: str  # "（①－1）"
    anchor: str
    category: str  # "【中小機構】"
    category_anchor: str | None  # set on the first row of a category (TOC target)
    commitment: tuple[str, ...]
    ministry_tag: str  # "［経産省］"
    responsible: frozenset[str]  # canonical ministry names of the commitment
    mentioned: frozenset[str]  # canonical ministry names tagged in the status column
    status: tuple[Block, ...]
    span: Span


@dataclass(frozen=True)
class Omission:
    """A line standing for rows left out of a preview."""

    text: str


@dataclass(frozen=True)
class Policy:
    id: str
    number: str  # "①"
    short_title: str
    anchor: str
    principle: tuple[str, ...]
    notes: tuple[str, ...]  # each with its ※ marker
    rows: tuple[Union[Row, Omission], ...]

    @property
    def heading(self) -> str:
        return f"{self.number} {self.short_title}"


@dataclass(frozen=True)
class Pillar:
    id: str
    number: str  # "1."
    title: str
    anchor: str
    policies: tuple[Policy, ...]

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}"


@dataclass(frozen=True)
class TocEntry:
    level: int  # 1 pillar, 2 policy, 3 category
    label: str
    anchor: str


@dataclass(frozen=True)
class Document:
    title: str
    as_of: str
    author: str
    output_name: str
    commitment_heading: str
    status_heading: str
    created: datetime
    pillars: tuple[Pillar, ...]
    toc: tuple[TocEntry, ...]
    preview: str | None = None  # page mark of a ministry preview

    def rows(self):
        for pillar in self.pillars:
            for policy in pillar.policies:
                for row in policy.rows:
                    if isinstance(row, Row):
                        yield row


def dump(doc: Document) -> str:
    """A readable, stable text form of the document (golden tests, debugging)."""
    out = [f"# {doc.title} / {doc.as_of}", "## TOC"]
    out += [f"{'  ' * (e.level - 1)}{e.label} -> #{e.anchor}" for e in doc.toc]

    def items(entries, depth):
        for it in entries:
            out.append(f"{'  ' * depth}{it.marker} {it.text}")
            items(it.children, depth + 1)

    for pillar in doc.pillars:
        out.append(f"## {pillar.heading}")
        for policy in pillar.policies:
            out.append(f"### {policy.heading}")
            out += [f"  ■ {p}" for p in policy.principle] + [f"  {n}" for n in policy.notes]
            for row in policy.rows:
                if isinstance(row, Omission):
                    out.append(f"  {row.text}")
                    continue
                out.append(f"  {row.number} {row.category}{' *' if row.category_anchor else ''} [{row.item_id}]")
                out += [f"    | {p}" for p in row.commitment] + [f"    | {row.ministry_tag}"]
                for b in row.status:
                    if isinstance(b, ProjectBlock):
                        out.append(f"    {b.marker}{b.name}{b.reprint_mark}")
                        out += [f"      {line}" for line in b.budget]
                    elif isinstance(b, ListBlock):
                        items(b.items, 3)
                    elif isinstance(b, NoteBlock):
                        out.append(f"    {b.marker}{b.text}")
                    else:
                        out.append(f"    {b.text}")
    return "\n".join(out) + "\n"
