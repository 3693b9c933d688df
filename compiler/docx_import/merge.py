"""Three-way merge of the DOCX's fields into the current sources: edits, conflicts, what cannot go back.

Its one job: decide, field by field, what to write. The base is what the DOCX
was built from: the hash of each field's printed text in the handle map (and,
when the sources at the recorded revision could be rebuilt, their text). A
field the ministry changed (its text no longer hashes to the recorded value, or
paragraphs were added after it) goes back to the YAML value it came from,
marks stripped, when the sources still hold the base text; when the sources
changed too, to something else, it is a conflict (both versions reported, the
sources kept). A list whose entries were added, removed, reordered or indented
is rebuilt from the paragraphs' styles (level and kind) as one unit. Edits the
sources cannot express (a changed item number, a deleted marked paragraph, text
outside any field, a moved row, a new paragraph after a heading) are reported
with the ministry's text. The result is a list of operations on YAML paths
(``Set``, ``Insert``) per source file; ``yamledit`` applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from compiler import docx_handles as handles
from compiler.docx_handles import Field, Printed
from compiler.docx_import.mapping import FieldText, Mapped

LIST_STYLE = re.compile(r"^FU (Bullet|Numbered|Entry Paragraph) ([0-9]+)$")


@dataclass(frozen=True)
class Set:
    path: tuple
    value: object


@dataclass(frozen=True)
class Insert:
    path: tuple  # the list
    after: int  # insert after this index (-1: at the start)
    values: tuple


@dataclass
class Finding:
    """A conflict or an edit that cannot go back: where, what the sources say, what the DOCX says."""

    kind: str  # "conflict", "number", "deleted", "stray", "moved", "extra", "gone", "empty"
    field: str
    file: str
    line: int
    docx_text: str
    source_text: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "field": self.field, "file": self.file, "line": self.line,
                "docx": self.docx_text, "sources": self.source_text}


@dataclass
class Plan:
    ops: dict[str, list] = field(default_factory=dict)  # source file (relative) → operations
    findings: list[Finding] = field(default_factory=list)
    changed_fields: list[str] = field(default_factory=list)

    def add(self, rel: str, op) -> None:
        self.ops.setdefault(rel, []).append(op)


class Sources:
    """Where each field of the current sources lives: file, data, YAML path."""

    def __init__(self, valid):
        self.valid = valid
        self.items = {vi.model.id: vi.sf for vi in valid.items()}
        self.policies = {vp.model.id: vp.sf for pil in valid.pillars for vp in pil.policies}
        self.pillars = {vp.model.id: vp.sf for vp in valid.pillars}
        self.projects: dict[str, tuple[str, int]] = {}  # project id → (item id, status index)
        for vi in valid.items():
            for n, block in enumerate(vi.sf.data.get("status") or []):
                if isinstance(block, dict) and "project" in block and isinstance(block.get("id"), str):
                    self.projects[block["id"]] = (vi.model.id, n)

    def file_of(self, f: Field):
        if f.kind == "document":
            return self.valid.document_sf
        table = {"pillar": self.pillars, "policy": self.policies, "item": self.items}[f.kind]
        return table.get(f.ident)

    def location(self, f: Field):
        """(source file, YAML path) of a field's value; ``None`` when the sources no longer have it."""
        sf = self.file_of(f)
        if sf is None:
            return None
        p = f.path
        if f.kind == "document":
            return sf, (p[0],)
        if f.kind == "pillar":
            return sf, ("title",)
        if f.kind == "policy":
            if p[0] == "heading":
                return sf, ("short_title",)
            return sf, _indexed(sf.data, (p[0],), p[1])
        if p[0] == "category":
            return sf, ("category",)
        if p[0] == "ministry_tag":
            return sf, ("ministry",)
        if p[0] == "commitment":
            return sf, _indexed(sf.data, ("commitment",), p[1])
        blocks = sf.data.get("status") or []
        b = p[1]
        if not isinstance(blocks, list) or b >= len(blocks) or not isinstance(blocks[b], dict):
            return None
        block = blocks[b]
        rest = p[2:]
        if not rest:
            key = next((k for k in ("text", "note", "ministry") if k in block), None)
            return (sf, ("status", b, key)) if key else None
        if rest[0] == "name":
            if "reprint" in block:
                target = self.projects.get(block["reprint"])
                if target is None:
                    return None
                return self.items[target[0]], ("status", target[1], "project")
            return sf, ("status", b, "project")
        if rest[0] == "budget":
            if "reprint" in block and block.get("budget") is None:
                target = self.projects.get(block["reprint"])
                if target is None:
                    return None
                tsf = self.items[target[0]]
                return tsf, _indexed(tsf.data, ("status", target[1], "budget"), rest[1])
            return sf, _indexed(sf.data, ("status", b, "budget"), rest[1])
        if rest[0] == "items":
            key = "bullets" if "bullets" in block else "numbered"
            path: tuple = ("status", b, key)
            node = block.get(key)
            for depth, i in enumerate(rest[1]):
                if not isinstance(node, list) or i >= len(node):
                    return None
                entry = node[i]
                path += (i,)
                if depth < len(rest[1]) - 1:
                    if not isinstance(entry, dict):
                        return None
                    child = "bullets" if "bullets" in entry else "numbered"
                    node = entry.get(child)
                    path += (child,)
                else:
                    node = entry
            if len(rest) > 2 and rest[2] == "paragraphs":
                if not isinstance(node, dict):
                    return None
                return sf, _indexed(sf.data, path + ("paragraphs",), rest[3])
            return sf, (path + ("text",) if isinstance(node, dict) else path)
        return None


def _indexed(data, path: tuple, i: int) -> tuple:
    """``path + (i,)`` for a list value; ``path`` itself for a single text written without a list (i = 0)."""
    node = get(data, path)
    return path if isinstance(node, str) and i == 0 else path + (i,)


def get(data, path: tuple):
    node = data
    for p in path:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def strip(text: str, printed: Printed | None, theme, kind: str) -> tuple[str, bool]:
    """The source text in a paragraph's text: its marks removed. ``False`` when the marks themselves were
    edited (a changed number, bracket or marker)."""
    from compiler.frontend.textrules import strip_typed_marks

    text = text.strip(" \u3000")
    if printed is not None and text.startswith(printed.prefix) and text.endswith(printed.suffix):
        core = text[len(printed.prefix):len(text) - len(printed.suffix) if printed.suffix else None]
        if printed.suffix == "" and kind == "project":
            core = core.replace(theme.markers.reprint, "")
        return core.strip(" \u3000"), True
    return (strip_typed_marks(text, theme, kind) if kind else text).strip(" \u3000"), False


def field_kind(f: Field) -> str:
    """The ``textrules`` kind of marks a field's paragraph carries."""
    p = f.path
    if f.kind == "pillar":
        return "pillar_title"
    if f.kind == "policy":
        return {"heading": "policy_title", "principle": "principle" if p[-1] == 0 else "", "notes": "note"}.get(p[0], "")
    if f.kind == "item":
        if p[0] in ("category", "commitment"):
            return p[0]
        if p[0] == "ministry_tag":
            return "ministry"
        if "items" in p:
            return "" if "paragraphs" in p else "entry"
        if len(p) > 2:
            return {"name": "project", "budget": "budget"}.get(p[2], "")
    return ""


def _block_kind(f: Field, sources: Sources) -> str:
    sf = sources.file_of(f)
    block = get(sf.data, ("status", f.path[1])) if sf is not None else None
    if isinstance(block, dict):
        for k in ("text", "note", "ministry"):
            if k in block:
                return {"ministry": "ministry", "note": "note"}.get(k, "")
    return ""


class Merger:
    def __init__(self, mapped: Mapped, shas: dict[str, str], base: dict[str, Printed] | None,
                 current: dict[str, Printed], sources: Sources, theme):
        self.m, self.shas, self.base, self.current = mapped, shas, base, current
        self.src, self.theme = sources, theme
        self.plan = Plan()
        self.claimed: dict[tuple, str] = {}  # (file, path) → new value, when two paragraphs write one value

    # --- helpers --------------------------------------------------------------
    def base_sha(self, name: str) -> str | None:
        if name in self.shas:
            return self.shas[name]
        if self.base is not None and name in self.base:
            return handles.field_sha(self.base[name].text)
        return None

    def ours_changed(self, name: str) -> bool:
        now = self.current.get(name)
        base = self.base_sha(name)
        return now is None or base is None or handles.field_sha(now.text) != base

    def where(self, f: Field) -> tuple[str, int]:
        loc = self.src.location(f)
        if loc is not None:
            sf, path = loc
            return sf.rel, sf.span(path).line
        sf = self.src.file_of(f)
        return (sf.rel, 1) if sf is not None else (f.owner, 0)

    def find(self, kind: str, name: str, docx_text: str, source_text: str = "") -> None:
        file, line = self.where(Field.parse(name))
        self.plan.findings.append(Finding(kind, name, file, line, docx_text, source_text))

    # --- the merge --------------------------------------------------------------
    def run(self) -> Plan:
        lists: dict[tuple[str, int], list[str]] = {}
        for name in [*self.m.fields, *self.m.missing]:
            f = Field.parse(name)
            if f.kind == "item" and "items" in f.path:
                lists.setdefault((f.owner, f.path[1]), []).append(name)
        for key, names in lists.items():
            self.list_block(key, names)
        for name in self.m.missing:
            f = Field.parse(name)
            if not (f.kind == "item" and "items" in f.path):
                self.find("deleted", name, "", self.current[name].core if name in self.current else "")
        for name in self.m.out_of_order:
            self.find("moved", name, self.m.fields[name].text)
        for name, ft in self.m.fields.items():
            f = Field.parse(name)
            if f.kind == "item" and "items" in f.path:
                continue
            self.scalar(f, ft)
        return self.plan

    def scalar(self, f: Field, ft: FieldText) -> None:
        name = f.name
        base = self.base_sha(name)
        extras = [(style, text) for style, text in ft.extras if text.strip()]
        if base is not None and handles.field_sha(ft.text) == base and not extras:
            return
        if base is None and self.current.get(name) is not None and ft.text == self.current[name].text and not extras:
            return
        printed = self.current.get(name) or (self.base or {}).get(name)
        kind = field_kind(f) or (_block_kind(f, self.src) if f.kind == "item" and f.path[0] == "status" else "")
        core, marks_kept = strip(ft.text, printed, self.theme, kind)
        numbered = kind in ("commitment", "principle", "policy_title", "pillar_title") and printed is not None \
            and printed.prefix.strip()
        if not marks_kept and numbered:
            self.find("number", name, ft.text, printed.text if printed else "")
            return
        text_changed = base is None or handles.field_sha(ft.text) != base
        if text_changed and not core:
            self.find("empty", name, ft.text)
            return
        loc = self.src.location(f)
        if loc is None:
            self.find("gone", name, ft.text)
            return
        sf, path = loc
        if self.ours_changed(name):
            now = self.current.get(name)
            if now is None or now.core != core or extras:
                self.find("conflict", name, core, now.core if now else "")
                return
        now = self.current.get(name)
        if text_changed and (now is None or now.core != core):
            claim = (sf.rel, path)
            if claim in self.claimed and self.claimed[claim] != core:
                self.find("conflict", name, core, self.claimed[claim])
                return
            self.claimed[claim] = core
            self.plan.add(sf.rel, Set(path, core))
            self.plan.changed_fields.append(name)
        if extras:
            self.extras(f, sf, path, extras)

    def extras(self, f: Field, sf, path: tuple, extras: list[tuple[str, str]]) -> None:
        """Paragraphs added after a field's paragraph: more of the same field, or new blocks."""
        p = f.path
        name = f.name
        texts = [t for _, t in extras]
        if f.kind == "policy" and p[0] in ("principle", "notes"):
            lst, idx = _list_and_index(sf.data, path)
            kind = "note" if p[0] == "notes" else ""
            self.insert(sf, lst, idx, tuple(strip(t, None, self.theme, kind)[0] for t in texts), name)
            return
        if f.kind == "item" and p[0] == "commitment":
            lst, idx = _list_and_index(sf.data, path)
            self.insert(sf, lst, idx, tuple(t.strip() for t in texts), name)
            return
        if f.kind == "item" and p[0] == "status" and (len(p) == 2 or p[2] in ("name", "budget")):
            budget_lines = []
            blocks = []
            for style, text in extras:
                if style == "FU Budget" and not blocks and len(p) > 2:
                    budget_lines.append(strip(text, None, self.theme, "budget")[0])
                else:
                    block = self.new_block(style, text)
                    if block is None:
                        self.find("extra", name, text)
                        return
                    blocks.append(block)
            if budget_lines:
                own = self.src.location(Field(f.owner, ("status", p[1], "budget", 0)))
                if p[2] == "name":
                    bsf, bpath = (own or (sf, ("status", p[1], "budget", 0)))
                    lst, _ = _list_and_index(bsf.data, bpath) if get(bsf.data, bpath[:-1]) is not None else (bpath[:-1], 0)
                    self.insert(bsf, lst, -1, tuple(budget_lines), name)
                else:
                    lst, idx = _list_and_index(sf.data, path)
                    self.insert(sf, lst, idx, tuple(budget_lines), name)
            if blocks:
                item_sf = self.src.items[f.owner]
                self.insert(item_sf, ("status",), p[1], tuple(blocks), name)
            return
        for text in texts:
            self.find("extra", name, text)

    def new_block(self, style: str, text: str):
        if style == "FU Paragraph":
            return {"text": text.strip()}
        if style == "FU Note":
            return {"note": strip(text, None, self.theme, "note")[0]}
        if style == "FU Ministry Tag":
            from compiler.fmt import strip_ministry_brackets

            return {"ministry": strip_ministry_brackets(text, self.theme)}
        if style == "FU Project":
            return {"project": strip(text, None, self.theme, "project")[0]}
        m = LIST_STYLE.match(style)
        if m and m.group(1) != "Entry Paragraph" and m.group(2) == "1":
            return {"bullets" if m.group(1) == "Bullet" else "numbered": [strip(text, None, self.theme, "entry")[0]]}
        return None

    def insert(self, sf, lst: tuple, after: int, values: tuple, name: str) -> None:
        if self.ours_changed(name):
            self.find("conflict", name, "\n".join(map(str, values)), self.current[name].core if name in self.current else "")
            return
        self.plan.add(sf.rel, Insert(lst, after, values))
        self.plan.changed_fields.append(name)

    # --- lists ------------------------------------------------------------------
    def list_block(self, key: tuple[str, int], names: list[str]) -> None:
        """One list block: entry texts edited in place, or (added, removed, reordered, indented entries)
        the whole list rebuilt from the paragraphs. Paragraphs of another kind added after its last entry
        (a 「FU Paragraph」, a note…) become new blocks after it."""
        item, b = key
        present = [n for n in self.m.fields if n in set(names)]  # document order
        if not present:
            self.find("deleted", names[0], "", "\n".join(self.current[n].core for n in names if n in self.current))
            return
        structural = set(names) != set(present) or present != [n for n in names if n in set(present)]
        seq = []
        for name in present:
            ft = self.m.fields[name]
            f = Field.parse(name)
            level, is_para = _style_level(ft.para.style)
            if level is None or level != len(f.path[3]) or is_para != ("paragraphs" in f.path):
                structural = True
            seq.append((ft.para.style, ft.text, name))
            for style, text in ft.extras:
                if text.strip():
                    seq.append((style, text, None))
        after: list[tuple[str, str]] = []
        while seq and seq[-1][2] is None and _style_level(seq[-1][0])[0] is None:
            style, text, _ = seq.pop()
            after.insert(0, (style, text))
        structural = structural or any(origin is None for _, _, origin in seq)
        if after:
            blocks = [self.new_block(style, text) for style, text in after]
            if None in blocks:
                for (style, text), block in zip(after, blocks):
                    if block is None:
                        self.find("extra", present[-1], text)
            else:
                self.insert(self.src.items[item], ("status",), b, tuple(blocks), present[-1])
        if not structural:
            for name in present:
                ft = self.m.fields[name]
                self.scalar(Field.parse(name), FieldText(ft.field, ft.para, ft.text))
            return
        sf = self.src.items.get(item)
        block = get(sf.data, ("status", b)) if sf is not None else None
        if not isinstance(block, dict) or not ("bullets" in block or "numbered" in block):
            self.find("gone", names[0], "\n".join(t for _, t, _ in seq))
            return
        current_names = [n for n in self.current if n.startswith(f"{item}:status:{b}:items:")]
        if sorted(current_names) != sorted(names) or any(self.ours_changed(n) for n in names):
            self.find("conflict", names[0], "\n".join(clean_entry(t, self.theme) for _, t, _ in seq),
                      "\n".join(self.current[n].core for n in current_names))
            return
        entries, problem = build_entries(seq, self.theme)
        if problem:
            self.find("extra", names[0], problem)
            return
        list_key = "bullets" if "bullets" in block else "numbered"
        self.plan.add(sf.rel, Set(("status", b, list_key), entries))
        self.plan.changed_fields.append(Field(item, ("status", b)).name)


def _list_and_index(data, path: tuple) -> tuple[tuple, int]:
    """The list holding ``path``'s value and its index (a single text counts as a list of one)."""
    if path and isinstance(path[-1], int):
        return path[:-1], path[-1]
    return path, 0


def _style_level(style: str) -> tuple[int | None, bool]:
    m = LIST_STYLE.match(style)
    if not m:
        return None, False
    return int(m.group(2)), m.group(1) == "Entry Paragraph"


def clean_entry(text: str, theme) -> str:
    """An entry's text without its marker (• ➢ ‐ ① … and the tab after it)."""
    from compiler.frontend.textrules import strip_typed_marks

    return strip_typed_marks(text.strip(" \u3000"), theme, "entry").strip(" \u3000")


def build_entries(seq: list[tuple[str, str, str | None]], theme) -> tuple[list, str]:
    """Nested entries (YAML form) from (style, text) in order: the level and kind come from the style."""
    root: list = []
    stack: list[tuple[int, dict]] = []  # (level, entry) of the open entries

    for style, text, _ in seq:
        level, is_para = _style_level(style)
        if level is None:
            return [], text
        if is_para:
            while stack and stack[-1][0] > level:
                stack.pop()
            if not stack or stack[-1][0] != level:
                return [], text
            stack[-1][1].setdefault("paragraphs", []).append(text.strip(" \u3000"))
            continue
        numbered = style.startswith("FU Numbered")
        while stack and stack[-1][0] >= level:
            stack.pop()
        entry = {"text": clean_entry(text, theme)}
        if level == 1:
            root.append(entry)
        else:
            if not stack or stack[-1][0] != level - 1:
                return [], text
            parent = stack[-1][1]
            child_key = next((k for k in ("bullets", "numbered") if k in parent), "numbered" if numbered else "bullets")
            parent.setdefault(child_key, []).append(entry)
        stack.append((level, entry))

    def simplify(entries: list) -> list:
        out = []
        for e in entries:
            for k in ("bullets", "numbered"):
                if k in e:
                    e[k] = simplify(e[k])
            out.append(e["text"] if set(e) == {"text"} else e)
        return out

    return simplify(root), ""
