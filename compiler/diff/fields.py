"""The field model: every element of the intermediate document as a list of lines.

An element (the document, a pillar, a policy, an item) is flattened into an
ordered list of ``Line(field, text, attrs)``: the title, each principle
paragraph, each commitment paragraph, the category, the ministry tag, each
project name and budget line, each list entry, each note. ``text`` is the
source's text exactly; ``attrs`` holds what is not text (a marker, a list
level, a 再掲 mark, a project key, a paragraph's enumerator), so a flattened element unflattens back to
the same JSON (``unflatten_*(flatten_*(x)) == x``). The change list compares
and applies these lines; the 新旧対照表 prints them (``display``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Labels of the fields for the 新旧対照表 (and the terminal); fields not listed are not printed
# (they follow from printed ones: the canonical ministries follow from the tags).
FIELD_LABELS = {
    "title": "表題", "as_of": "時点", "author": "作成者", "output_name": "出力名", "created": "作成日時",
    "preview": "プレビュー表示", "short_title": "政策名", "principle": "大方針", "policy_note": "大方針の注記",
    "category": "分類", "commitment": "取組方針", "ministry_tag": "担当府省庁", "project": "事業名", "budget": "予算",
    "list": None, "entry": "取組状況", "paragraph": "取組状況", "note": "注記", "tag": "府省庁",
    "responsible": None, "mentioned": None,
}
LABEL_FIELDS = ("toc_title", "principle", "commitment_heading", "status_heading", "continued")
for _name in LABEL_FIELDS:
    FIELD_LABELS[f"labels.{_name}"] = "見出し"
JOIN = "、"  # canonical ministry names are joined with it (names never contain it: it separates tags)


@dataclass(frozen=True)
class Line:
    field: str
    text: str
    attrs: dict = field(default_factory=dict, hash=False, compare=True)

    def key(self) -> str:
        """A hashable identity for sequence matching."""
        return json.dumps([self.field, self.text, self.attrs], ensure_ascii=False, sort_keys=True)


def display(line: Line) -> str:
    """The line as printed: markers before, a 再掲 mark after."""
    a = line.attrs
    if line.field == "entry":
        return f"{a['marker']}{line.text}"
    if line.field == "project":
        return f"{a['marker']}{line.text}{a['reprint']}"
    if line.field == "note":
        return f"{a['marker']}{line.text}"
    return line.text


def printed(line: Line) -> bool:
    return FIELD_LABELS.get(line.field) is not None


# --- the document, pillars and policies -------------------------------------------------

def flatten_document(doc: dict) -> list[Line]:
    lines = [Line(name, doc[name]) for name in ("title", "as_of", "author", "output_name", "created")]
    lines.append(Line("preview", doc["preview"] or "", {} if doc["preview"] is not None else {"null": True}))
    lines += [Line(f"labels.{name}", doc["labels"][name]) for name in LABEL_FIELDS]
    return lines


def unflatten_document(lines: list[Line]) -> dict:
    by = {line.field: line for line in lines}
    out = {name: by[name].text for name in ("title", "as_of", "author", "output_name", "created")}
    out["preview"] = None if by["preview"].attrs.get("null") else by["preview"].text
    out["labels"] = {name: by[f"labels.{name}"].text for name in LABEL_FIELDS}
    return out


def flatten_pillar(pillar: dict) -> list[Line]:
    return [Line("title", pillar["title"])]


def unflatten_pillar(lines: list[Line]) -> dict:
    return {"title": lines[0].text}


def flatten_policy(policy: dict) -> list[Line]:
    return ([Line("short_title", policy["short_title"])] + [Line("principle", p) for p in policy["principle"]]
            + [Line("policy_note", n) for n in policy["notes"]])


def unflatten_policy(lines: list[Line]) -> dict:
    return {"short_title": next(line.text for line in lines if line.field == "short_title"),
            "principle": [line.text for line in lines if line.field == "principle"],
            "notes": [line.text for line in lines if line.field == "policy_note"]}


# --- items -------------------------------------------------------------------------------

def _entries(items, out: list[Line]) -> None:
    for it in items:
        out.append(Line("entry", it["text"], {"marker": it["marker"], "level": it["level"], "numbered": it["numbered"]}))
        out += [Line("entry_paragraph", p) for p in it.get("paragraphs", ())]
        _entries(it["children"], out)


def flatten_row(row: dict) -> list[Line]:
    """An item's content, in print order (its number, anchor and span are its position, not content)."""
    lines = [Line("category", row["category"])]
    markers = row.get("commitment_markers") or [""] * len(row["commitment"])
    lines += [Line("commitment", p, {"enumerator": m} if m else {}) for p, m in zip(row["commitment"], markers)]
    lines.append(Line("ministry_tag", row["ministry_tag"]))
    lines.append(Line("responsible", JOIN.join(row["responsible"])))
    lines.append(Line("mentioned", JOIN.join(row["mentioned"])))
    for b in row["status"]:
        kind = b["kind"]
        if kind == "project":
            lines.append(Line("project", b["name"], {"marker": b["marker"], "reprint": b["reprint_mark"], "key": b["project_key"]}))
            lines += [Line("budget", line) for line in b["budget"]]
        elif kind == "list":
            lines.append(Line("list", "", {"numbered": b["numbered"]}))
            _entries(b["items"], lines)
        elif kind == "paragraph":
            lines.append(Line("paragraph", b["text"]))
        elif kind == "note":
            lines.append(Line("note", b["text"], {"marker": b["marker"]}))
        elif kind == "ministry_tag":
            lines.append(Line("tag", b["text"]))
        else:
            raise ValueError(f"no field model for block kind {kind!r}")
    return lines


def _split(text: str) -> list[str]:
    return text.split(JOIN) if text else []


def unflatten_row(lines: list[Line]) -> dict:
    """The content keys of a row's JSON (``category`` … ``status``) from its lines."""
    out = {"category": None, "commitment": [], "ministry_tag": None, "responsible": [], "mentioned": [], "status": []}
    markers: list[str] = []  # the enumerator each commitment paragraph hangs on (document.Row.commitment_markers)
    status = out["status"]
    stack: list[dict] = []  # open list entries, by level
    for line in lines:
        f, a = line.field, line.attrs
        if f in ("category", "ministry_tag"):
            out[f] = line.text
        elif f == "commitment":
            out["commitment"].append(line.text)
            markers.append(a.get("enumerator", ""))
        elif f in ("responsible", "mentioned"):
            out[f] = _split(line.text)
        elif f == "project":
            status.append({"kind": "project", "marker": a["marker"], "name": line.text, "budget": [],
                           "reprint_mark": a["reprint"], "project_key": a["key"]})
        elif f == "budget":
            status[-1]["budget"].append(line.text)
        elif f == "list":
            status.append({"kind": "list", "items": [], "numbered": a["numbered"]})
            stack = []
        elif f == "entry":
            entry = {"marker": a["marker"], "text": line.text, "level": a["level"], "numbered": a["numbered"],
                     "paragraphs": [], "children": []}
            del stack[a["level"] - 1:]
            (stack[-1]["children"] if stack else status[-1]["items"]).append(entry)
            stack.append(entry)
        elif f == "entry_paragraph":
            stack[-1]["paragraphs"].append(line.text)
        elif f == "paragraph":
            status.append({"kind": "paragraph", "text": line.text})
        elif f == "note":
            status.append({"kind": "note", "marker": a["marker"], "text": line.text})
        elif f == "tag":
            status.append({"kind": "ministry_tag", "text": line.text})
        else:
            raise ValueError(f"unknown field {f!r}")
    out["commitment_markers"] = markers if any(markers) else []
    return out
