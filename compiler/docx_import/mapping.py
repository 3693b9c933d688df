"""From the DOCX's paragraphs to what the ministry wrote in each field.

Its one job: give every marked field of the handle map its paragraph in the
DOCX (text, style, place) and the unmarked paragraphs that follow it in the
same cell (a paragraph added with Enter belongs to the nearest marked paragraph
above it), list the fields whose paragraph is gone, and collect the text that
belongs to no field: typed into the table of contents, the column headings,
the 「■新たな大方針」 label, an omission line or between headings. It compares
nothing with the sources; ``merge`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from compiler.docx_import.paragraphs import Para

_TOC_NUMBER = re.compile(r"[\t ]*[0-9]*$")


@dataclass
class FieldText:
    field: str
    para: Para
    text: str  # tabs removed
    extras: list[tuple[str, str]] = field(default_factory=list)  # (style, text) of paragraphs added after it


@dataclass(frozen=True)
class Stray:
    """Text in no field: where (``toc``, ``body``, ``cell``), the paragraph, the text typed."""

    where: str
    para: Para
    text: str


@dataclass
class Mapped:
    fields: dict[str, FieldText]  # in document order
    missing: list[str]  # fields of the map with no paragraph left
    unknown: list[str]  # fu_ bookmarks the map does not name
    strays: list[Stray]
    out_of_order: list[str]  # the first field of each owner met before an owner that comes earlier in the map


def clean(text: str) -> str:
    return text.replace("\t", "")


def map_fields(paras: list[Para], bookmarks: dict[str, str], expected_labels: set[str],
               toc_labels: set[str]) -> Mapped:
    """``bookmarks``: fu_ name → field; ``expected_labels``: texts of the unmarked paragraphs the writer puts
    in the body and cells (labels, headings of the table, omission lines); ``toc_labels``: TOC entry texts."""
    order = {b: n for n, b in enumerate(bookmarks)}
    found: dict[str, FieldText] = {}
    unknown: list[str] = []
    strays: list[Stray] = []
    last_in_place: dict[object, FieldText] = {}
    rows_seen: list[tuple[int, str]] = []
    for p in paras:
        raw = p.text(True)  # the view already dropped the other kind of change
        text = clean(raw)
        if p.area == "toc":
            label = raw.rsplit("\t", 1)[0] if "\t" in raw else _TOC_NUMBER.sub("", raw)  # the page number after the tab
            if label and label not in toc_labels:
                strays.append(Stray("toc", p, text))
            continue
        place = p.cell if p.area == "cell" else "body"
        named = [h for h in p.handles if h in bookmarks]
        unknown.extend(h for h in p.handles if h not in bookmarks)
        if named:
            name = bookmarks[named[0]]
            if name in found:
                continue  # a copy of a marked paragraph (pasted): its text is reported as stray below
            ft = FieldText(name, p, text)
            found[name] = ft
            last_in_place[place] = ft
            rows_seen.append((order[named[0]], name))
            continue
        if not text.strip():
            continue
        owner = last_in_place.get(place)
        if text.strip() in expected_labels:
            continue
        if owner is not None:
            owner.extras.append((p.style, text))
        else:
            strays.append(Stray("cell" if p.area == "cell" else "body", p, text))
    missing = [f for f in bookmarks.values() if f not in found]
    # a moved row (or heading): an owner (item, policy…) met before one the map puts earlier; entries and
    # paragraphs may move inside their owner (a reordered list)
    owner_rank: dict[str, int] = {}
    for name in bookmarks.values():
        owner_rank.setdefault(name.split(":", 1)[0], len(owner_rank))
    out_of_order = []
    highest = -1
    seen_owners: set[str] = set()
    for _, name in rows_seen:
        owner = name.split(":", 1)[0]
        if owner in seen_owners:
            continue
        seen_owners.add(owner)
        if owner_rank[owner] < highest:
            out_of_order.append(name)
        highest = max(highest, owner_rank[owner])
    return Mapped(found, missing, unknown, strays, out_of_order)
