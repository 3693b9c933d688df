"""The 新旧対照表 as a table model, and its PDF (``layouts/diff.html.j2`` through WeasyPrint).

The official layout: two columns, 改正後 (新) on the left and 改正前 (旧) on the
right; the changed spans underlined (傍線) on both sides; the unchanged fields
of a changed item as （略）; 「（新設）」 on the old side of an added item and
「（削る）」 on the new side of a removed one; the item numbers of both
releases. ``table`` builds the model once; the PDF (here) and the DOCX
(``compiler.diff.docx``) only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.diff import fields as F
from compiler.diff.align import ordered, elements
from compiler.diff.chardiff import Segments, spans
from compiler.diff.report import KIND_LABELS, KINDS, Report, elements_cache

OMITTED = "（略）"
ADDED = "（新設）"
REMOVED = "（削る）"
NEW_HEADING, OLD_HEADING = "改正後", "改正前"


@dataclass
class Pair:
    """One line of the table: the new side and the old side (``None``: nothing on that side)."""

    new: Segments | None
    old: Segments | None
    level: int = 0  # indent (list nesting)
    omitted: bool = False  # a （略） line


@dataclass
class Entry:
    kind: str  # a record kind, or "unchanged"
    new_number: Segments | None
    old_number: Segments | None
    pairs: list[Pair] = field(default_factory=list)


@dataclass
class Section:
    title: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Table:
    title: str
    source_from: str
    source_to: str
    summary: str
    sections: list[Section]


def _plain(text: str) -> Segments:
    return [(text, False)]


def _whole(text: str) -> Segments:
    return [(text, True)] if text else []


def _numbers(old: str | None, new: str | None) -> tuple[Segments | None, Segments | None]:
    if old is None or new is None:
        return (None if old is None else _plain(old)), (None if new is None else _plain(new))
    a, b = spans(old, new)
    return a, b


def _merged(record: dict, old_lines: list, new_lines: list) -> list[tuple[int | None, int | None]]:
    """Every line of both sides as (old index, new index) pairs, in print order."""
    changes = record["fields"]
    touched_old = {c["old_line"] for c in changes if c["old_line"] is not None}
    placed = {c["new_line"] for c in changes if c["new_line"] is not None}
    pairs = [(c["old_line"], c["new_line"]) for c in changes]
    pairs += list(zip([i for i in range(len(old_lines)) if i not in touched_old],
                      [j for j in range(len(new_lines)) if j not in placed]))
    to_new = {i: j for i, j in pairs if i is not None and j is not None}

    def key(pair):
        i, j = pair
        if j is not None:
            return (j, 0, 0)
        before = max((to_new[k] for k in to_new if k < i), default=-1)
        return (before, 1, i)

    return sorted(pairs, key=key)


def _pairs(record: dict, old_lines: list, new_lines: list, full: bool) -> list[Pair]:
    out: list[Pair] = []
    changed_pairs = {(c["old_line"], c["new_line"]) for c in record["fields"]}
    for i, j in _merged(record, old_lines, new_lines):
        o = None if i is None else old_lines[i]
        n = None if j is None else new_lines[j]
        line = n or o
        if not F.printed(line):
            continue
        level = max(0, line.attrs.get("level", 1) - 1) if line.field == "entry" else 0
        if (i, j) not in changed_pairs:
            if full:
                out.append(Pair(_plain(F.display(n)), _plain(F.display(o)), level))
            elif not (out and out[-1].omitted):
                out.append(Pair(_plain(OMITTED), _plain(OMITTED), 0, omitted=True))
            continue
        if o is None:
            out.append(Pair(_whole(F.display(n)), None, level))
        elif n is None:
            out.append(Pair(None, _whole(F.display(o)), level))
        else:
            a, b = spans(F.display(o), F.display(n))
            out.append(Pair(b, a, level))
    return out


def _entry(report: Report, record: dict, full: bool) -> Entry:
    key = (record["target"], record["id"])
    old_e, new_e = elements_cache(report.old).get(key), elements_cache(report.new).get(key)
    old_lines = old_e["lines"] if old_e and record["kind"] != "added" else []
    new_lines = new_e["lines"] if new_e and record["kind"] != "removed" else []
    old_no, new_no = _numbers(record["old_number"], record["new_number"])
    entry = Entry(record["kind"], new_no, old_no)
    if record["kind"] == "added":
        entry.pairs = [Pair(_whole(F.display(n)), None, max(0, n.attrs.get("level", 1) - 1) if n.field == "entry" else 0)
                       for n in new_lines if F.printed(n)]
        entry.old_number = _plain(ADDED)
    elif record["kind"] == "removed":
        entry.pairs = [Pair(None, _whole(F.display(o)), max(0, o.attrs.get("level", 1) - 1) if o.field == "entry" else 0)
                       for o in old_lines if F.printed(o)]
        entry.new_number = _plain(REMOVED)
    else:
        entry.pairs = _pairs(record, old_lines, new_lines, full and record["kind"] == "unchanged")
        if not entry.pairs:
            entry.pairs = [Pair(_plain(OMITTED), _plain(OMITTED), 0, omitted=True)]
    return entry


def _section_title(report: Report, record: dict) -> str:
    if record["target"] == "document":
        return "文書全体"
    if record["target"] == "pillar":
        for doc in (report.new, report.old):
            e = elements_cache(doc).get(("pillar", record["id"]))
            if e:
                return f"{e['json']['number']} {e['json']['title']}"
    return report.policy_heading(record)


def _records(report: Report, full: bool) -> list[dict]:
    if not full:
        return report.changes
    seen = {(c["target"], c["id"]) for c in report.changes}
    old_el, new_el = elements(report.old), elements(report.new)
    extra = [{"id": key[1], "target": key[0], "kind": "unchanged", "old_number": e["number"], "new_number": e["number"],
              "fields": [], "old_at": old_el[key]["at"], "new_at": e["at"]}
             for key, e in new_el.items() if key not in seen and key[0] in ("policy", "item")
             and (report.ministry is None or key[0] == "item"
                  and report.ministry in set(e["json"]["responsible"]) | set(e["json"]["mentioned"]))]
    return ordered(report.changes + extra, old_el, new_el)


def summary_line(report: Report) -> str:
    counts = report.counts()
    parts = [f"{KIND_LABELS[k]} {counts['items'][k]} 件" for k in KINDS]
    return "取組方針：" + "、".join(parts) + f"　政策・柱・文書の本文の変更：{counts['texts']} 件"


def table(report: Report, full: bool = False) -> Table:
    sections: list[Section] = []
    for record in _records(report, full):
        title = _section_title(report, record)
        if not sections or sections[-1].title != title:
            sections.append(Section(title))
        sections[-1].entries.append(_entry(report, record, full))
    doc = report.new
    title = f"{doc['title']}　新旧対照表" + (f"（{report.ministry}）" if report.ministry else "")
    return Table(title, report.source_from, report.source_to, summary_line(report), sections)


def html(model: Table) -> str:
    from compiler import __version__
    from compiler.writers.html import jinja_environment

    return jinja_environment().get_template("diff.html.j2").render(table=model, new_heading=NEW_HEADING,
                                                               old_heading=OLD_HEADING, version=__version__)


def pdf(model: Table, theme) -> bytes:
    """The table as a PDF with the report's theme and fonts (fonts/ and layouts/ only are fetched)."""
    import logging

    from compiler.theme import LAYOUTS_DIR
    from compiler.writers import engine
    from compiler.writers.html import jinja_environment
    from compiler.writers.pdf import close_fonts, fonts, safe_fetcher

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = safe_fetcher()
    font_config = fonts()  # like the report: no font of the host can be a fallback
    try:
        from weasyprint import CSS

        css_text = jinja_environment().get_template("diff.css.j2").render(theme=theme)
        css = CSS(string=css_text, base_url=str(LAYOUTS_DIR) + "/", font_config=font_config, url_fetcher=fetcher)
        document = engine.HTML(string=html(model), base_url=str(LAYOUTS_DIR) + "/", url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[css], font_config=font_config, pdf_tags=True)
    finally:
        close_fonts(font_config)
