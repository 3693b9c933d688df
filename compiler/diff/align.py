"""Alignment: two intermediate documents (JSON form) → the change records.

Elements are aligned by their stable ids, never by position: the document
itself, every pillar, policy and item. An element present on one side only is
``added`` (新設) or ``removed`` (削る); one whose parent changed is ``moved``
(an item to another policy, a policy to another pillar); one whose content
lines differ is ``changed``; one whose only difference is its number (and so
its place) is ``renumbered`` — listed, not counted as a change of content.

Inside an element, its lines (``fields.flatten_*``) are aligned with
``difflib.SequenceMatcher``; replaced stretches are paired line by line with
lines of the same field, in order, so a changed bullet is one changed field and
not a removal plus an addition. Each field change records the line's index on
both sides, which is what lets ``apply`` replay it.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from compiler.diff import fields as F

TARGETS = ("document", "pillar", "policy", "item")


def _field_change(old: F.Line | None, new: F.Line | None, i: int | None, j: int | None) -> dict:
    change = {"field": (new or old).field, "old": None if old is None else old.text, "new": None if new is None else new.text,
              "old_line": i, "new_line": j}
    if old is None and new.attrs:
        change["new_attrs"] = new.attrs
    elif new is not None and old is not None and new.attrs != old.attrs:
        change["new_attrs"] = new.attrs
    return change


def line_changes(old: list[F.Line], new: list[F.Line]) -> list[dict]:
    """The field changes turning ``old`` lines into ``new`` ones (in order; indices on both sides)."""
    out: list[dict] = []
    ops = SequenceMatcher(None, [x.key() for x in old], [x.key() for x in new], autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        j = j1
        for i in range(i1, i2):
            match = next((k for k in range(j, j2) if new[k].field == old[i].field), None)
            if match is None:
                out.append(_field_change(old[i], None, i, None))
                continue
            out.extend(_field_change(None, new[k], None, k) for k in range(j, match))
            out.append(_field_change(old[i], new[match], i, match))
            j = match + 1
        out.extend(_field_change(None, new[k], None, k) for k in range(j, j2))
    return out


def apply_lines(old: list[F.Line], changes: list[dict]) -> list[F.Line]:
    """The inverse of ``line_changes``: ``apply_lines(a, line_changes(a, b)) == b``."""
    touched_old = {c["old_line"] for c in changes if c["old_line"] is not None}
    placed = {c["new_line"]: c for c in changes if c["new_line"] is not None}
    kept = iter(line for i, line in enumerate(old) if i not in touched_old)
    size = len(old) - len(touched_old) + len(placed)
    out = []
    for j in range(size):
        c = placed.get(j)
        if c is None:
            out.append(next(kept))
        else:
            base = old[c["old_line"]].attrs if c["old_line"] is not None else {}
            out.append(F.Line(c["field"], c["new"], c.get("new_attrs", base)))
    return out


# --- where every element stands ----------------------------------------------------------

def elements(doc: dict) -> dict[tuple[str, str], dict]:
    """(target, id) → {number, at, lines, json, policy/pillar context} for every element of ``doc``."""
    out: dict[tuple[str, str], dict] = {
        ("document", "document"): {"number": None, "at": None, "lines": F.flatten_document(doc), "json": doc}}
    order = 0
    for p_index, pillar in enumerate(doc["pillars"], 1):
        out[("pillar", pillar["id"])] = {
            "number": pillar["number"], "lines": F.flatten_pillar(pillar), "json": pillar,
            "at": {"index": p_index, "anchor": pillar["anchor"], "span": pillar["span"]}}
        for policy in pillar["policies"]:
            order += 1
            out[("policy", policy["id"])] = {
                "number": policy["number"], "lines": F.flatten_policy(policy), "json": policy, "pillar": pillar,
                "at": {"pillar": pillar["id"], "order": order, "anchor": policy["anchor"], "span": policy["span"]}}
            index = 0
            for row in policy["rows"]:
                if "omission" in row:
                    raise ValueError("a preview (with omitted rows) cannot be compared; compare full documents")
                index += 1
                out[("item", row["id"])] = {
                    "number": row["number"], "lines": F.flatten_row(row), "json": row, "policy": policy, "pillar": pillar,
                    "at": {"policy": policy["id"], "index": index, "label": row["label"], "anchor": row["anchor"],
                           "span": row["span"]}}
    return out


PARENT = {"pillar": None, "policy": "pillar", "item": "policy", "document": None}


def _without_span(at):
    return None if at is None else {k: v for k, v in at.items() if k != "span"}


def compare(old_doc: dict, new_doc: dict) -> tuple[list[dict], list[dict]]:
    """The change records (document order of NEW, removed ones after their old neighbours) and the
    span moves (elements whose only difference is where their source file starts)."""
    old, new = elements(old_doc), elements(new_doc)
    records, spans = [], []
    sequence = list(new) + [k for k in old if k not in new]
    for key in sequence:
        target, ident = key
        o, n = old.get(key), new.get(key)
        record = {"id": ident, "target": target, "kind": None,
                  "old_number": o and o["number"], "new_number": n and n["number"], "fields": [],
                  "old_at": o and o["at"], "new_at": n and n["at"]}
        if o is None:
            record["kind"] = "added"
            record["fields"] = line_changes([], n["lines"])
        elif n is None:
            record["kind"] = "removed"
            record["fields"] = line_changes(o["lines"], [])
        else:
            record["fields"] = line_changes(o["lines"], n["lines"])
            parent = PARENT[target]
            if parent and o["at"][parent] != n["at"][parent]:
                record["kind"] = "moved"
            elif record["fields"]:
                record["kind"] = "changed"
            elif _without_span(o["at"]) != _without_span(n["at"]) or o["number"] != n["number"]:
                record["kind"] = "renumbered"
            elif o["at"] != n["at"]:
                spans.append({"target": target, "id": ident, "span": n["at"]["span"]})
        if record["kind"]:
            records.append(record)
    return ordered(records, old, new), spans


def ordered(records: list[dict], old: dict, new: dict) -> list[dict]:
    """Document order of NEW; a removed element goes after the element that preceded it in OLD."""
    position = {key: i for i, key in enumerate(new)}
    old_keys = list(old)

    def rank(record):
        key = (record["target"], record["id"])
        if key in position:
            return (position[key], 0)
        i = old_keys.index(key)
        while i > 0 and old_keys[i - 1] not in position:
            i -= 1
        return (position.get(old_keys[i - 1], -1) if i > 0 else -1, 1 + old_keys.index(key))

    return sorted(records, key=rank)
