"""``followup import-docx``: a DOCX this tool made (edited in Word or LibreOffice) back into the sources.

A reader stage, like the front end: it never uses a writer's private helpers;
the names it shares with the DOCX writer live in ``compiler.docx_handles``.
Stages, one module each:

* ``package`` — the zip, its XML parts and the handle map (or why the file cannot be imported);
* ``paragraphs`` — the body as paragraphs: place, style, bookmarks, text with tracked changes, comments;
  ``view`` rejects or accepts every tracked change;
* ``mapping`` — each field's paragraph and the paragraphs added after it; text in no field;
* ``base`` — the document the DOCX was built from, rebuilt from the sources at the recorded revision;
* ``merge`` — three-way decisions per field: YAML operations, conflicts, edits that cannot go back;
* ``yamledit`` — the operations applied through the formatter's round trip, and the unified diff.

``run`` ties them together; the command line (``compiler.cli``) prints the result.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from compiler.diagnostics import Diagnostics, Span


@dataclass
class Note:
    """A tracked change or a comment, placed at the source value of its paragraph."""

    file: str
    line: int
    field: str
    kind: str
    author: str
    date: str
    text: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "kind": self.kind,
                "author": self.author, "date": self.date, "text": self.text}


@dataclass
class Result:
    docx: Path
    base_reason: str = ""
    revisions: list[Note] = field(default_factory=list)
    comments: list[Note] = field(default_factory=list)
    findings: list = field(default_factory=list)
    changed_fields: list[str] = field(default_factory=list)
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    diff: str = ""
    written: list[Path] = field(default_factory=list)
    accepted: bool = False
    preview: str | None = None
    revision: str | None = None

    def as_dict(self) -> dict:
        return {"docx": str(self.docx), "source_revision": self.revision, "preview": self.preview,
                "base": {"recovered": not self.base_reason, "reason": self.base_reason},
                "accept_changes": self.accepted,
                "revisions": [r.as_dict() for r in self.revisions], "comments": [c.as_dict() for c in self.comments],
                "findings": [f.as_dict() for f in self.findings], "changed_fields": self.changed_fields,
                "files": sorted(self.changes), "diff": self.diff, "written": [str(p) for p in self.written]}


def _label_test(doc, theme):
    """Whether an unmarked paragraph's text is one the writer put there (labels, column headings,
    omission lines)."""
    fixed = {doc.labels.toc_title, doc.labels.principle, doc.labels.commitment_heading, doc.labels.status_heading}
    template = re.escape(theme.numbering.omitted).replace(re.escape("{labels}"), ".+")
    omission = re.compile(f"^{template}$")
    return lambda text: text.strip() in fixed or bool(omission.match(text.strip()))


class _Labels:
    def __init__(self, test):
        self.test = test

    def __contains__(self, text) -> bool:
        return self.test(text)


def _owners(paras, bookmarks: dict[str, str]):
    """Each paragraph's field: its own handle, or that of the nearest marked paragraph above it in its cell."""
    last: dict = {}
    for p in paras:
        place = (p.area, p.cell)
        named = [h for h in p.handles if h in bookmarks]
        if named:
            last[place] = bookmarks[named[0]]
        yield p, (bookmarks[named[0]] if named else last.get(place, ""))


def run(docx: Path, sources: Path, dry_run: bool, accept_changes: bool, diags: Diagnostics) -> Result | None:
    """Import ``docx`` into ``sources``; ``None`` (with diagnostics) when nothing can be imported."""
    from compiler.docx_handles import Field, printed_fields
    from compiler.docx_import import base as base_mod
    from compiler.docx_import import mapping, merge, package, paragraphs, yamledit
    from compiler.pipeline import compile_sources

    docx = Path(docx)
    docx_span = Span(str(docx.absolute()))  # the DOCX lies anywhere: never shown relative to the sources
    try:
        pkg = package.read(docx)
    except package.Unreadable as exc:
        diags.error(exc.code, str(exc), docx_span, exc.hint)
        return None
    compiled = compile_sources(Path(sources), diags)
    if compiled.document is None:
        diags.error("E084", "原稿にエラーがあるため、DOCX を取り込めません。", docx_span,
                    "先に followup check のエラーを直してから、もう一度実行してください。")
        return None
    theme = compiled.theme
    hmap = pkg.handles
    current = printed_fields(compiled.document, theme)
    base = base_mod.recover(Path(sources), hmap.source_revision, hmap.document_sha256, hmap.preview, theme)
    base_printed = printed_fields(base.document, theme) if base.document is not None else None
    if base_printed is None and not hmap.shas:
        diags.error("E084", f"{docx} の作成元の原稿を復元できず（{base.reason}）、段落ごとの記録もないため、"
                    "どこが直されたかを判断できません。", docx_span,
                    "DOCX を作った版の原稿（git のリビジョン）を用意するか、新しいプレビューで直してもらってください。")
        return None
    result = Result(docx, base.reason, accepted=accept_changes, preview=hmap.preview, revision=hmap.source_revision)
    sources_index = merge.Sources(compiled.valid)
    all_paras = paragraphs.paragraphs(pkg)
    comments = paragraphs.comments(pkg)
    toc_labels = {e.label for e in compiled.document.toc}
    if base.document is not None:
        toc_labels |= {e.label for e in base.document.toc}
    if hmap.preview:
        from compiler.transforms.preview import select

        for m in compiled.valid.registry.ministries:
            toc_labels |= {e.label for e in select(compiled.document, m.name, theme, hmap.preview).toc}
    chosen = paragraphs.view(all_paras, accept=accept_changes)
    mapped = mapping.map_fields(chosen, hmap.fields, _Labels(_label_test(compiled.document, theme)), toc_labels)
    merger = merge.Merger(mapped, hmap.shas, base_printed, current, sources_index, theme)
    plan = merger.run()
    for p, owner in _owners(all_paras, hmap.fields):
        file, line = merger.where(Field.parse(owner)) if owner else (f"{docx.name}（{'目次' if p.area == 'toc' else '本文'}）", 0)
        for r in p.revisions:
            result.revisions.append(Note(file, line, owner, r.kind, r.author, r.date, r.text))
        for cid in p.comments:
            c = comments.get(cid)
            if c is not None:
                result.comments.append(Note(file, line, owner, "comment", c.author, c.date, c.text))
    for stray in mapped.strays:
        where = {"toc": "目次", "body": "本文", "cell": "表"}[stray.where]
        plan.findings.append(merge.Finding("stray", "", f"{docx.name}（{where}）", stray.para.index + 1, stray.text))
    for part, n, text in paragraphs.margin_texts(pkg):  # the page mark and the page number, nothing else
        if text.strip(" \t0123456789") and text.strip() != (hmap.preview or ""):
            plan.findings.append(merge.Finding("stray", "", f"{docx.name}（{part}）", n, text))
    for name in mapped.unknown:
        plan.findings.append(merge.Finding("stray", name, docx.name, 0, name))
    result.findings = plan.findings
    result.changed_fields = plan.changed_fields
    try:
        result.changes = yamledit.apply(Path(sources), plan.ops, theme)
    except Exception as exc:  # a value the round trip cannot place: report, write nothing
        diags.error("E085", f"原稿への書き込みを準備できません（{type(exc).__name__}: {exc}）。", docx_span,
                    "取り込まずに、差分を手で写してください（開発担当にも知らせてください）。")
        return result
    result.diff = yamledit.unified_diff(result.changes)
    if result.changes and not _still_valid(Path(sources), result.changes, diags):
        return result
    if result.changes and not dry_run:
        from compiler import interrupt
        from compiler.output import WriteFailed, write_all

        interrupt.check()  # no sources written from a check an interrupt may have put wrong
        try:
            result.written = write_all({Path(sources) / rel: new.encode("utf-8")
                                        for rel, (_, new) in result.changes.items()}, mode=None)
        except WriteFailed as exc:
            diags.error("E060", f"原稿「{exc.path}」を書き込めません：{exc.reason}。", Span(str(exc.path)),
                        "権限と空き容量を確かめてください。原稿はどれも書き換えていません。")
    return result


def _still_valid(sources: Path, changes: dict[str, tuple[str, str]], diags: Diagnostics) -> bool:
    """The edited sources must pass ``check``: compiled from a temporary copy before anything is written."""
    from compiler.pipeline import compile_sources

    with tempfile.TemporaryDirectory(prefix="followup-import-") as tmp:
        copy = Path(tmp) / "sources"
        shutil.copytree(sources, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        for rel, (_, new) in changes.items():
            (copy / rel).write_text(new, encoding="utf-8")
        found = Diagnostics()
        compiled = compile_sources(copy, found)
    if compiled.document is not None and not found.has_errors:
        return True
    for d in found.items:
        if d.severity.value == "error":
            diags.items.append(d)
    diags.error("E085", "取り込んだ結果の原稿が検査（followup check）を通らないため、何も書き込んでいません。",
                Span(str(sources)), "上のエラーの箇所を DOCX の該当する段落と見比べ、手で直してください。")
    return False
