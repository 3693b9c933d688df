"""The intermediate document: everything the writers need, nothing they compute.

Numbers, markers, brackets, 再掲 marks, labels and the table of contents are
already final strings here. Writers (HTML/PDF and DOCX) only lay these nodes
out; they never number, look anything up or validate. Every row keeps the
span of its source file so late messages can still point at a line.

Two stable forms: ``dump`` (readable text, for golden tests) and ``to_json`` /
``from_json`` (the documented JSON form of ``docs/document-json.md``, used by
``followup dump --json``, the change report and the Word import). Every kind
of status block is named by its ``kind``; ``BLOCK_KINDS`` lists them all and
every writer has exactly one case for each (a test checks this).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import ClassVar, Union

from compiler.diagnostics import Span

JSON_FORMAT = "followup-document/1"


CORE_PROPERTY_LIMIT = 255  # python-docx refuses longer core properties (title, subject, author…)


def core_properties(title: str, as_of: str, author: str) -> dict[str, str]:
    """The DOCX core properties made from the document's metadata (checked against the limit in ``check``)."""
    return {"title": title, "subject": f"{title}（{as_of}）", "author": author, "last_modified_by": author}


@dataclass(frozen=True)
class ListItem:
    marker: str  # "•", "➢", "①" …
    text: str
    level: int  # 1 = outermost
    children: tuple["ListItem", ...] = ()
    numbered: bool = False  # an entry of a numbered list (①②③) rather than a bullet
    paragraphs: tuple[str, ...] = ()  # plain paragraphs under the entry's text, before its children


@dataclass(frozen=True)
class ListBlock:
    kind: ClassVar[str] = "list"
    items: tuple[ListItem, ...]
    numbered: bool = False


@dataclass(frozen=True)
class ProjectBlock:
    kind: ClassVar[str] = "project"
    marker: str  # "○"
    name: str
    budget: tuple[str, ...]  # each already in 【】
    reprint_mark: str  # "（再掲）" on every occurrence but the first, else ""
    project_key: str  # groups the occurrences of one project


@dataclass(frozen=True)
class ParagraphBlock:
    kind: ClassVar[str] = "paragraph"
    text: str


@dataclass(frozen=True)
class NoteBlock:
    kind: ClassVar[str] = "note"
    marker: str  # "※"
    text: str


@dataclass(frozen=True)
class MinistryTagBlock:
    kind: ClassVar[str] = "ministry_tag"
    text: str  # "［経産省］"


Block = Union[ListBlock, ProjectBlock, ParagraphBlock, NoteBlock, MinistryTagBlock]
BLOCK_TYPES: dict[str, type] = {cls.kind: cls for cls in (ProjectBlock, ListBlock, ParagraphBlock, NoteBlock, MinistryTagBlock)}
BLOCK_KINDS = tuple(BLOCK_TYPES)


class UnknownBlock(TypeError):
    """A writer met a kind of block it has no case for: a bug, never silently dropped."""

    def __init__(self, block, writer: str):
        super().__init__(f"{writer} has no case for block kind {getattr(block, 'kind', type(block).__name__)!r}")


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
    # per commitment paragraph, the enumerator it opens with ("（1）") and hangs on, or ""
    commitment_markers: tuple[str, ...] = ()

    def enumerator(self, index: int) -> str:
        """The enumerator commitment paragraph ``index`` hangs on ("" for none)."""
        return self.commitment_markers[index] if index < len(self.commitment_markers) else ""


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
    span: Span | None = None

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
    span: Span | None = None

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}"


@dataclass(frozen=True)
class TocEntry:
    level: int  # 1 pillar, 2 policy, 3 category
    label: str
    anchor: str


@dataclass(frozen=True)
class Labels:
    """Content labels the writers print (from layouts/settings.yaml and document.yaml)."""

    toc_title: str  # 目次
    principle: str  # ■新たな大方針
    commitment_heading: str  # column headings of the table
    status_heading: str
    continued: str  # （続き）: after the item number, atop every later page of a row split by a page break


@dataclass(frozen=True)
class Document:
    title: str
    as_of: str
    author: str
    output_name: str
    labels: Labels
    created: datetime
    pillars: tuple[Pillar, ...]
    toc: tuple[TocEntry, ...]
    preview: str | None = None  # page mark of a ministry preview

    def placed_rows(self):
        """Every row (not omission lines) with its pillar and policy, in document order."""
        for pillar in self.pillars:
            for policy in pillar.policies:
                for row in policy.rows:
                    if isinstance(row, Row):
                        yield pillar, policy, row

    def rows(self):
        for _, _, row in self.placed_rows():
            yield row

    @property
    def body_anchor(self) -> str | None:
        """The anchor that opens printed page 1 in every format: the first pillar's heading."""
        return self.pillars[0].anchor if self.pillars else None


# --- readable text form ------------------------------------------------------------

def _dump_items(entries, depth, out):
    for it in entries:
        out.append(f"{'  ' * depth}{it.marker} {it.text}")
        out.extend(f"{'  ' * depth}  {p}" for p in it.paragraphs)
        _dump_items(it.children, depth + 1, out)


def _dump_project(b: ProjectBlock, out):
    out.append(f"    {b.marker}{b.name}{b.reprint_mark}")
    out.extend(f"      {line}" for line in b.budget)


DUMP_BLOCK = {
    "project": _dump_project,
    "list": lambda b, out: _dump_items(b.items, 3, out),
    "paragraph": lambda b, out: out.append(f"    {b.text}"),
    "note": lambda b, out: out.append(f"    {b.marker}{b.text}"),
    "ministry_tag": lambda b, out: out.append(f"    {b.text}"),
}


def dump(doc: Document) -> str:
    """A readable, stable text form of the document (golden tests, debugging)."""
    out = [f"# {doc.title} / {doc.as_of}", "## TOC"]
    out += [f"{'  ' * (e.level - 1)}{e.label} -> #{e.anchor}" for e in doc.toc]
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
                    handler = DUMP_BLOCK.get(getattr(b, "kind", None))
                    if handler is None:
                        raise UnknownBlock(b, "dump")
                    handler(b, out)
    return "\n".join(out) + "\n"


# --- JSON form -------------------------------------------------------------------------

def _span_json(span: Span | None):
    return None if span is None else {"file": span.file, "line": span.line, "col": span.col}


def _span_from(data) -> Span | None:
    return None if data is None else Span(data["file"], data["line"], data["col"])


def _item_json(it: ListItem) -> dict:
    return {"marker": it.marker, "text": it.text, "level": it.level, "numbered": it.numbered,
            "paragraphs": list(it.paragraphs), "children": [_item_json(c) for c in it.children]}


def _item_from(data) -> ListItem:
    return ListItem(data["marker"], data["text"], data["level"], tuple(_item_from(c) for c in data["children"]),
                    data["numbered"], tuple(data.get("paragraphs", ())))


def _block_json(b) -> dict:
    out = {"kind": b.kind}
    for f in fields(b):
        value = getattr(b, f.name)
        out[f.name] = [_item_json(i) for i in value] if f.name == "items" else list(value) if isinstance(value, tuple) else value
    return out


def _block_from(data) -> Block:
    cls = BLOCK_TYPES[data["kind"]]
    values = {}
    for f in fields(cls):
        value = data[f.name]
        values[f.name] = tuple(_item_from(i) for i in value) if f.name == "items" else tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _row_json(row) -> dict:
    if isinstance(row, Omission):
        return {"omission": row.text}
    return {
        "id": row.item_id, "label": row.label, "number": row.number, "anchor": row.anchor,
        "category": row.category, "category_anchor": row.category_anchor, "commitment": list(row.commitment),
        "ministry_tag": row.ministry_tag, "responsible": sorted(row.responsible), "mentioned": sorted(row.mentioned),
        "status": [_block_json(b) for b in row.status], "span": _span_json(row.span),
        "commitment_markers": list(row.commitment_markers),
    }


def _row_from(data):
    if "omission" in data:
        return Omission(data["omission"])
    return Row(data["id"], data["label"], data["number"], data["anchor"], data["category"], data["category_anchor"],
               tuple(data["commitment"]), data["ministry_tag"], frozenset(data["responsible"]),
               frozenset(data["mentioned"]), tuple(_block_from(b) for b in data["status"]), _span_from(data["span"]),
               tuple(data.get("commitment_markers", ())))


def to_json(doc: Document) -> dict:
    """The stable JSON form (``docs/document-json.md``): plain lists and dicts, keys in a fixed order."""
    return {
        "format": JSON_FORMAT,
        "title": doc.title, "as_of": doc.as_of, "author": doc.author, "output_name": doc.output_name,
        "created": doc.created.isoformat(), "preview": doc.preview,
        "labels": {f.name: getattr(doc.labels, f.name) for f in fields(Labels)},
        "toc": [{"level": e.level, "label": e.label, "anchor": e.anchor} for e in doc.toc],
        "pillars": [{
            "id": p.id, "number": p.number, "title": p.title, "anchor": p.anchor, "span": _span_json(p.span),
            "policies": [{
                "id": q.id, "number": q.number, "short_title": q.short_title, "anchor": q.anchor,
                "principle": list(q.principle), "notes": list(q.notes), "span": _span_json(q.span),
                "rows": [_row_json(r) for r in q.rows],
            } for q in p.policies],
        } for p in doc.pillars],
    }


def from_json(data: dict) -> Document:
    """The inverse of ``to_json``: ``from_json(to_json(doc)) == doc``."""
    if data.get("format") != JSON_FORMAT:
        raise ValueError(f"not a {JSON_FORMAT} document")
    return Document(
        title=data["title"], as_of=data["as_of"], author=data["author"], output_name=data["output_name"],
        labels=Labels(**data["labels"]), created=datetime.fromisoformat(data["created"]),
        pillars=tuple(Pillar(
            p["id"], p["number"], p["title"], p["anchor"],
            tuple(Policy(q["id"], q["number"], q["short_title"], q["anchor"], tuple(q["principle"]),
                         tuple(q["notes"]), tuple(_row_from(r) for r in q["rows"]), _span_from(q["span"]))
                  for q in p["policies"]),
            _span_from(p["span"])) for p in data["pillars"]),
        toc=tuple(TocEntry(e["level"], e["label"], e["anchor"]) for e in data["toc"]),
        preview=data["preview"],
    )
