"""The change report: the change list, its JSON form, its counts, and ``apply``.

``Report.to_json()`` is the ``followup diff --format json`` output::

    {"from": …, "to": …,
     "changes": [{"id", "target", "kind", "old_number", "new_number",
                  "fields": [{"field", "old", "new", "old_line", "new_line", ["new_attrs"]}],
                  "old_at", "new_at"}],
     "spans": [...], "counts": {...}}

``kind`` is one of added, removed, changed, moved, renumbered; ``target`` says
whether the record is about the document, a pillar, a policy or an item (an
item's ``id`` is its source id). ``old_at``/``new_at`` give where the element
stands (its parent, its place, label, anchor and source span).

The report checks itself: ``apply(old, changes, spans)`` replays the change list
on OLD's intermediate document and must give NEW's exactly (``verify``).
Numbers, labels and anchors come from the records; category anchors and the
table of contents are recomputed by the same rules as the compiler's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from compiler.diff import fields as F
from compiler.diff.align import apply_lines, compare, elements

KINDS = ("added", "removed", "changed", "moved", "renumbered")
CONTENT_KINDS = ("added", "removed", "changed", "moved")  # renumbered alone is not a change of content
KIND_LABELS = {"added": "新設", "removed": "削除", "changed": "変更", "moved": "移動", "renumbered": "番号のみ変更"}


@dataclass
class Report:
    source_from: str
    source_to: str
    old: dict  # the intermediate documents, JSON form
    new: dict
    changes: list[dict]
    spans: list[dict] = field(default_factory=list)
    ministry: str | None = None  # set when filtered to one ministry's items

    @classmethod
    def build(cls, source_from: str, source_to: str, old: dict, new: dict) -> "Report":
        changes, spans = compare(old, new)
        return cls(source_from, source_to, old, new, changes, spans)

    # --- views ------------------------------------------------------------------------
    def items(self):
        return [c for c in self.changes if c["target"] == "item"]

    def texts(self):
        """Changes of the document's, pillars' and policies' own texts (and places)."""
        return [c for c in self.changes if c["target"] != "item"]

    def ministries_of(self, change: dict) -> set[str]:
        """The canonical ministries an item belongs to, on either side (responsible or mentioned)."""
        out: set[str] = set()
        for doc in (self.old, self.new):
            element = elements_cache(doc).get(("item", change["id"]))
            if element:
                out |= set(element["json"]["responsible"]) | set(element["json"]["mentioned"])
        return out

    def policy_heading(self, change: dict) -> str:
        """The policy an element belongs to (NEW's, or OLD's for a removed one), as printed."""
        for doc, at in ((self.new, change["new_at"]), (self.old, change["old_at"])):
            if at is None:
                continue
            key = ("policy", change["id"]) if change["target"] == "policy" else ("policy", at.get("policy"))
            element = elements_cache(doc).get(key)
            if element:
                return f"{element['json']['number']} {element['json']['short_title']}"
        return ""

    def only(self, ministry: str) -> "Report":
        """The items of one ministry (canonical name) only."""
        kept = [c for c in self.items() if ministry in self.ministries_of(c)]
        return Report(self.source_from, self.source_to, self.old, self.new, kept, [], ministry)

    def counts(self) -> dict:
        kinds = Counter(c["kind"] for c in self.items())
        per_ministry: Counter = Counter()
        per_policy: Counter = Counter()
        for c in self.changes:
            if c["kind"] not in CONTENT_KINDS:
                continue
            if c["target"] == "item":
                per_ministry.update(self.ministries_of(c))
            if c["target"] in ("item", "policy"):
                per_policy[self.policy_heading(c)] += 1
        return {"items": {k: kinds.get(k, 0) for k in KINDS},
                "texts": sum(1 for c in self.texts() if c["kind"] in CONTENT_KINDS),
                "per_ministry": dict(sorted(per_ministry.items())),
                "per_policy": dict(per_policy)}

    @property
    def unchanged(self) -> bool:
        return not self.changes and not self.spans

    def to_json(self) -> dict:
        out = {"from": self.source_from, "to": self.source_to, "changes": self.changes, "spans": self.spans,
               "counts": self.counts()}
        if self.ministry:
            out["ministry"] = self.ministry
        return out

    def verify(self) -> bool:
        """Whether replaying the change list on OLD gives NEW exactly (only for unfiltered reports)."""
        return apply(self.old, self.changes, self.spans) == self.new


_CACHE: dict[int, tuple[dict, dict]] = {}


def elements_cache(doc: dict) -> dict:
    hit = _CACHE.get(id(doc))
    if hit is None or hit[0] is not doc:
        hit = (doc, elements(doc))
        _CACHE[id(doc)] = hit
    return hit[1]


# --- apply -------------------------------------------------------------------------------

def _category_anchors(policy_id: str, rows: list[dict]) -> None:
    from compiler.transforms.numbering import category_anchor

    seen: list[str] = []
    for row in rows:
        first = row["category"] not in seen
        if first:
            seen.append(row["category"])
        row["category_anchor"] = category_anchor(policy_id, len(seen)) if first else None


def apply(old: dict, changes: list[dict], spans: list[dict] = ()) -> dict:
    """OLD's document (JSON form) with the change list replayed: NEW's document."""
    from compiler import document as d
    from compiler.transforms import toc

    state: dict[tuple[str, str], dict] = {}
    records = {(c["target"], c["id"]): c for c in changes}
    for key, element in elements(old).items():
        c = records.get(key)
        if c is None:
            state[key] = {"lines": element["lines"], "number": element["number"], "at": element["at"]}
        elif c["kind"] != "removed":
            state[key] = {"lines": apply_lines(element["lines"], c["fields"]), "number": c["new_number"], "at": c["new_at"]}
    for key, c in records.items():
        if c["kind"] == "added":
            state[key] = {"lines": apply_lines([], c["fields"]), "number": c["new_number"], "at": c["new_at"]}
    for s in spans:
        state[(s["target"], s["id"])]["at"] = dict(state[(s["target"], s["id"])]["at"], span=s["span"])

    def of(target):
        return [(key[1], e) for key, e in state.items() if key[0] == target]

    rows: dict[str, list] = {}
    for ident, e in sorted(of("item"), key=lambda t: t[1]["at"]["index"]):
        at = e["at"]
        rows.setdefault(at["policy"], []).append(dict(
            {"id": ident, "label": at["label"], "number": e["number"], "anchor": at["anchor"]},
            **F.unflatten_row(e["lines"]), span=at["span"]))
    policies: dict[str, list] = {}
    for ident, e in sorted(of("policy"), key=lambda t: t[1]["at"]["order"]):
        at = e["at"]
        mine = rows.get(ident, [])
        _category_anchors(ident, mine)
        policies.setdefault(at["pillar"], []).append(dict(
            {"id": ident, "number": e["number"], "anchor": at["anchor"]}, **F.unflatten_policy(e["lines"]),
            span=at["span"], rows=mine))
    pillars = [dict({"id": ident, "number": e["number"], "anchor": e["at"]["anchor"], "span": e["at"]["span"]},
                    **F.unflatten_pillar(e["lines"]), policies=policies.get(ident, []))
               for ident, e in sorted(of("pillar"), key=lambda t: t[1]["at"]["index"])]
    top = F.unflatten_document(state[("document", "document")]["lines"])
    doc = d.from_json(dict(top, format=d.JSON_FORMAT, toc=[], pillars=pillars))
    return d.to_json(toc.run(doc))
