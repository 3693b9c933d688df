"""The DOCX handle contract (docs/docx-handles.md), shared by the DOCX writer and the Word import.

Its one job: the names both sides must agree on — the ``fu_<n>`` bookmark
prefix, the handle map's namespace and format, the custom properties, the
field syntax — and ``printed_fields``, the text every marked paragraph holds
for a document (marker, source text, closing mark), so that the import can
tell an edited paragraph from an untouched one and strip exactly the marks the
compiler added. Nothing here lays anything out or reads a file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from compiler import document as d

HANDLE_BOOKMARK = "fu_"  # fu_1, fu_2 … in document order; the handle map says which field each one is
HANDLES_FORMAT = "followup-docx-handles/1"
HANDLES_NS = "urn:followup:docx-handles:1"
# docProps/custom.xml: the same facts as the handle map, for a client that drops the customXml part
PROP_FORMAT = "followup.handles"
PROP_SHA = "followup.document_sha256"
PROP_REVISION = "followup.source_revision"
PROP_PREVIEW = "followup.preview"  # the page mark of a preview
PROP_FIELDS = "followup.fields"  # "field=sha field=sha …" in bookmark order (fu_1 first)
FIELD_SHA_LENGTH = 16  # hex digits of the per-field hash (sha256 of the printed paragraph text)


def document_hash(doc: d.Document) -> str:
    """SHA-256 of the document's stable JSON form: which sources (as compiled) a DOCX was built from."""
    import json

    data = json.dumps(d.to_json(doc), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def field_sha(printed: str) -> str:
    """The per-field hash recorded in the handle map: of the paragraph's text as printed, tabs left out."""
    return hashlib.sha256(printed.replace("\t", "").encode("utf-8")).hexdigest()[:FIELD_SHA_LENGTH]


@dataclass(frozen=True)
class Printed:
    """A marked paragraph's text: the marks the compiler adds around the source text."""

    prefix: str
    core: str
    suffix: str = ""

    @property
    def text(self) -> str:
        return f"{self.prefix}{self.core}{self.suffix}"


@dataclass(frozen=True)
class Field:
    """A parsed field name: ``owner`` (``document``, ``pillar.<id>``, ``policy.<id>`` or an item id) and
    the path below it (``("status", 2, "items", (0, 1), "paragraphs", 0)``)."""

    owner: str
    path: tuple

    @classmethod
    def parse(cls, name: str) -> "Field":
        owner, *parts = name.split(":")
        path: list = []
        i = 0
        while i < len(parts):
            part = parts[i]
            if part == "items" and i + 1 < len(parts):
                path += ["items", tuple(int(n) for n in parts[i + 1].split("."))]
                i += 2
                continue
            path.append(int(part) if part.isdigit() else part)
            i += 1
        if not owner or not path:
            raise ValueError(name)
        return cls(owner, tuple(path))

    @property
    def name(self) -> str:
        parts = [self.owner]
        for p in self.path:
            parts.append(".".join(map(str, p)) if isinstance(p, tuple) else str(p))
        return ":".join(parts)

    @property
    def kind(self) -> str:
        """``document``, ``pillar``, ``policy`` or ``item``."""
        if self.owner == "document":
            return "document"
        return self.owner.split(".", 1)[0] if "." in self.owner else "item"

    @property
    def ident(self) -> str:
        """The id of the pillar, policy or item (empty for the document)."""
        return "" if self.owner == "document" else self.owner.split(".", 1)[-1]


def _pair(mark) -> tuple[str, str]:
    return mark[0], mark[1]


def _entries(items, key: str, path: tuple, out: dict) -> None:
    for n, it in enumerate(items):
        here = path + (n,)
        name = f"{key}:items:{'.'.join(map(str, here))}"
        out[name] = Printed(it.marker, it.text)
        for k, para in enumerate(it.paragraphs):
            out[f"{name}:paragraphs:{k}"] = Printed("", para)
        _entries(it.children, key, here, out)


def _block(b, key: str, theme, out: dict) -> None:
    if isinstance(b, d.ProjectBlock):
        out[f"{key}:name"] = Printed(b.marker, b.name, b.reprint_mark)
        left, right = _pair(theme.markers.budget)
        for j, line in enumerate(b.budget):
            out[f"{key}:budget:{j}"] = Printed(left, line[len(left):len(line) - len(right)], right)
    elif isinstance(b, d.ListBlock):
        _entries(b.items, key, (), out)
    elif isinstance(b, d.ParagraphBlock):
        out[key] = Printed("", b.text)
    elif isinstance(b, d.NoteBlock):
        out[key] = Printed(b.marker, b.text)
    elif isinstance(b, d.MinistryTagBlock):
        left, right = _pair(theme.markers.ministry)
        out[key] = Printed(left, b.text[len(left):len(b.text) - len(right)], right)
    else:
        raise d.UnknownBlock(b, "docx handles")


def printed_fields(doc: d.Document, theme) -> dict[str, Printed]:
    """Every field the DOCX writer marks, in document order, with its printed text."""
    out: dict[str, Printed] = {"document:title": Printed("", doc.title), "document:as_of": Printed("", doc.as_of)}
    note = theme.markers.note
    for pillar in doc.pillars:
        out[f"pillar.{pillar.id}:heading"] = Printed(f"{pillar.number} ", pillar.title)
        for policy in pillar.policies:
            key = f"policy.{policy.id}"
            out[f"{key}:heading"] = Printed(f"{policy.number} ", policy.short_title)
            for i, para in enumerate(policy.principle):
                out[f"{key}:principle:{i}"] = Printed(f"{policy.number} " if i == 0 else "", para)
            for i, text in enumerate(policy.notes):
                out[f"{key}:notes:{i}"] = Printed(note, text[len(note):]) if text.startswith(note) else Printed("", text)
            for row in policy.rows:
                if not isinstance(row, d.Row):
                    continue
                left, right = _pair(theme.markers.category)
                out[f"{row.item_id}:category"] = Printed(left, row.category[len(left):len(row.category) - len(right)], right)
                for i, para in enumerate(row.commitment):
                    out[f"{row.item_id}:commitment:{i}"] = Printed(row.number if i == 0 else "", para)
                left, right = _pair(theme.markers.ministry)
                tag = row.ministry_tag
                out[f"{row.item_id}:ministry_tag"] = Printed(left, tag[len(left):len(tag) - len(right)], right)
                for n, b in enumerate(row.status):
                    _block(b, f"{row.item_id}:status:{n}", theme, out)
    return out
