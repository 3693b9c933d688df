"""The body of an edited DOCX as paragraphs: text per view, tracked changes, comments, place.

Its one job: walk ``word/document.xml`` in order and give each paragraph its
style name, the ``fu_`` bookmarks that start in it, where it stands (the table
of contents, the body, or a table cell: table, row, column), its text as
pieces that are plain, tracked insertions (``w:ins``, ``w:moveTo``) or tracked
deletions (``w:del``, ``w:moveFrom``), the state of its paragraph mark, the
tracked changes in it (who, when, what; formatting-only changes too) and the
comments anchored in it. ``view`` then gives the paragraphs as they read with
every tracked change rejected (what the ministry typed without 変更履歴) or
accepted — a paragraph whose mark is inserted (rejected) or deleted (accepted)
joins the next one, as in Word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from compiler import docx_handles as handles
from compiler.docx_import.package import W_NS, Package, left_indent

W = f"{{{W_NS}}}"
INSERTED = {f"{W}ins", f"{W}moveTo"}
DELETED = {f"{W}del", f"{W}moveFrom"}
LEVELLED = re.compile(r"^(FU (?:Bullet|Numbered|Entry Paragraph)) ([0-9]+)$")
# the writer's TOC styles, and the names LibreOffice gives them when it saves ("Contents 1")
TOC_STYLE = re.compile(r"^(toc|contents) [0-9]$", re.IGNORECASE)
CHANGE_KIND = {f"{W}ins": "挿入", f"{W}del": "削除", f"{W}moveTo": "移動（移動先）", f"{W}moveFrom": "移動（移動元）"}


@dataclass(frozen=True)
class Revision:
    kind: str  # 挿入, 削除, 移動…, 書式, 段落の挿入, 段落の削除
    author: str
    date: str
    text: str


@dataclass(frozen=True)
class Para:
    index: int  # document order
    area: str  # "toc", "body" or "cell"
    cell: tuple[int, int, int] | None  # table, row, column of a body table
    style: str
    handles: tuple[str, ...]  # fu_ bookmarks that start here
    pieces: tuple[tuple[str, str], ...]  # (text, "" | "ins" | "del")
    mark: str  # "" | "ins" | "del": the paragraph mark itself
    revisions: tuple[Revision, ...] = ()
    comments: tuple[str, ...] = ()

    def text(self, accept: bool) -> str:
        drop = "del" if accept else "ins"
        return "".join(t for t, state in self.pieces if state != drop)

    @property
    def handle(self) -> str | None:
        return self.handles[0] if self.handles else None


def _state(el, p) -> str:
    node = el.getparent()
    while node is not None and node is not p:
        if node.tag in INSERTED:
            return "ins"
        if node.tag in DELETED:
            return "del"
        node = node.getparent()
    return ""


def _text_of(el) -> str:
    out = []
    for node in el.iter():
        if node.tag in (f"{W}t", f"{W}delText"):
            out.append(node.text or "")
        elif node.tag == f"{W}tab":
            out.append("\t")
        elif node.tag in (f"{W}br", f"{W}cr") and node.get(f"{W}type") not in ("page", "column"):
            out.append("\n")  # a line break typed in the text (page and column breaks are layout)
    return "".join(out)


def _who(el) -> tuple[str, str]:
    return el.get(f"{W}author") or "", el.get(f"{W}date") or ""


def levelled(style: str, indent: int | None, indents: dict[str, int]) -> str:
    """A list paragraph indented by hand (Word's Increase Indent, a ruler drag) reads as the list style
    of the level whose indent is nearest: 「FU Bullet 1」 moved to the indent of level 2 is 「FU Bullet 2」."""
    m = LEVELLED.match(style)
    if m is None or indent is None:
        return style
    levels = {name: left for name, left in indents.items() if LEVELLED.match(name)
              and LEVELLED.match(name).group(1) == m.group(1)}
    return min(levels, key=lambda name: abs(levels[name] - indent)) if levels else style


def _paragraph(p, index: int, area: str, cell, styles: dict[str, str], indents: dict[str, int] | None = None) -> Para:
    ppr = p.find(f"{W}pPr")
    style_el = ppr.find(f"{W}pStyle") if ppr is not None else None
    style = styles.get(style_el.get(f"{W}val"), style_el.get(f"{W}val")) if style_el is not None else "Normal"
    style = levelled(style, left_indent(ppr), indents or {})
    mark = ""
    revisions: list[Revision] = []
    if ppr is not None:
        rpr = ppr.find(f"{W}rPr")
        if rpr is not None:
            for tag, state, kind in ((f"{W}ins", "ins", "段落の挿入"), (f"{W}del", "del", "段落の削除"),
                                     (f"{W}moveTo", "ins", "段落の挿入"), (f"{W}moveFrom", "del", "段落の削除")):
                found = rpr.find(tag)
                if found is not None:
                    mark = state
                    revisions.append(Revision(kind, *_who(found), ""))
        for change in ppr.iter(f"{W}pPrChange"):
            revisions.append(Revision("書式", *_who(change), ""))
    pieces: list[tuple[str, str]] = []
    bookmarks: list[str] = []
    comments: list[str] = []
    for node in p.iter():
        tag = node.tag
        if tag in (f"{W}t", f"{W}delText", f"{W}tab", f"{W}br", f"{W}cr"):
            if ppr is not None and _inside(node, ppr):
                continue
            piece = _text_of(node)
            state = _state(node, p)
            if pieces and pieces[-1][1] == state:
                pieces[-1] = (pieces[-1][0] + piece, state)
            else:
                pieces.append((piece, state))
        elif tag == f"{W}bookmarkStart":
            name = node.get(f"{W}name") or ""
            if name.startswith(handles.HANDLE_BOOKMARK):
                bookmarks.append(name)
        elif tag in INSERTED or tag in DELETED:
            if ppr is not None and _inside(node, ppr):
                continue
            revisions.append(Revision(CHANGE_KIND[tag], *_who(node), _text_of(node)))
        elif tag == f"{W}rPrChange":
            if ppr is None or not _inside(node, ppr):
                revisions.append(Revision("書式", *_who(node), _text_of(node.getparent().getparent())))
        elif tag in (f"{W}commentRangeStart", f"{W}commentReference"):
            cid = node.get(f"{W}id")
            if cid is not None and cid not in comments:
                comments.append(cid)
    if TOC_STYLE.match(style):  # LibreOffice keeps only part of the contents inside its content control
        area, cell = "toc", None
    return Para(index, area, cell, style, tuple(bookmarks), tuple(pieces), mark, tuple(revisions), tuple(comments))


def _inside(node, ancestor) -> bool:
    n = node.getparent()
    while n is not None:
        if n is ancestor:
            return True
        n = n.getparent()
    return False


def _is_toc(sdt) -> bool:
    gallery = sdt.find(f"{W}sdtPr/{W}docPartObj/{W}docPartGallery")
    return gallery is not None and (gallery.get(f"{W}val") or "").startswith("Table of Contents")


def paragraphs(pkg: Package) -> list[Para]:
    """Every paragraph of the body in document order."""
    body = pkg.document.find(f"{W}body")
    out: list[Para] = []
    tables = [0]

    def walk(node, area: str, cell):
        for child in node:
            tag = child.tag
            if tag == f"{W}p":
                out.append(_paragraph(child, len(out), area, cell, pkg.styles, pkg.indents))
            elif tag == f"{W}tbl":
                if area == "toc":
                    walk_table(child, area, None)
                else:
                    tables[0] += 1
                    walk_table(child, area, tables[0])
            elif tag == f"{W}sdt":
                content = child.find(f"{W}sdtContent")
                if content is not None:
                    walk(content, "toc" if _is_toc(child) else area, cell)
            elif tag in (f"{W}ins", f"{W}del", f"{W}moveTo", f"{W}moveFrom", f"{W}customXml", f"{W}smartTag"):
                walk(child, area, cell)

    def walk_table(tbl, area: str, number):
        for r, tr in enumerate(tbl.iter(f"{W}tr")):
            if tr.getparent() is not tbl and tr.getparent().tag != f"{W}sdtContent":
                continue
            for c, tc in enumerate(x for x in tr if x.tag == f"{W}tc"):
                walk(tc, area if area == "toc" else "cell", None if number is None else (number, r, c))

    if body is not None:
        walk(body, "body", None)
    return out


def margin_texts(pkg: Package) -> list[tuple[str, int, str]]:
    """(part, paragraph number from 1, text with tracked changes accepted) of every header and footer paragraph."""
    out = []
    for part, root in pkg.margins:
        for n, p in enumerate(root.iter(f"{W}p"), 1):
            para = _paragraph(p, n, "margin", None, pkg.styles)
            out.append((part, n, para.text(True)))
    return out


def view(paras: list[Para], accept: bool) -> list[Para]:
    """The paragraphs with every tracked change accepted (``accept``) or rejected: pieces of the other
    kind dropped, and a paragraph whose mark goes joined with the next one in the same place."""
    gone = "del" if accept else "ins"
    out: list[Para] = []
    pending: Para | None = None
    for p in paras:
        own = tuple((t, "") for t, state in p.pieces if state != gone)
        p = replace(p, pieces=own)
        if pending is not None and pending.cell == p.cell and pending.area == p.area:
            p = replace(p, pieces=pending.pieces + p.pieces, handles=pending.handles + p.handles,
                        style=pending.style if pending.handles else p.style,
                        revisions=pending.revisions + p.revisions, comments=pending.comments + p.comments)
        elif pending is not None:
            out.append(replace(pending, mark=""))
        pending = None
        if p.mark == gone:
            pending = p
            continue
        out.append(replace(p, mark=""))
    if pending is not None:
        out.append(replace(pending, mark=""))
    return out


@dataclass
class Comment:
    id: str
    author: str
    date: str
    text: str


def comments(pkg: Package) -> dict[str, Comment]:
    out: dict[str, Comment] = {}
    if pkg.comments is None:
        return out
    for c in pkg.comments.iter(f"{W}comment"):
        cid = c.get(f"{W}id")
        paras = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in c.iter(f"{W}p")]
        out[cid] = Comment(cid, c.get(f"{W}author") or "", c.get(f"{W}date") or "", "\n".join(x for x in paras if x))
    return out


