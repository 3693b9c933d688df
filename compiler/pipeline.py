"""Pipeline: ``compile_sources`` (sources → intermediate document) and ``build`` (a request → files in memory).

One way only: front end (load, check) → transforms (numbering, 再掲, TOC,
preview selection) → page maps → writers. ``build`` returns the files as
bytes; the caller writes them with ``output.write_all`` only when no stage
reported an error, so the last good build survives any failure.

Page numbers for the DOCX table of contents come from one of two page maps:
WeasyPrint's layout of the same document (an estimate, ordinary builds), or
LibreOffice's layout of the DOCX itself (release builds and
``libreoffice_pages``), which runs in the background meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from compiler.diagnostics import Diagnostics, Span
from compiler.document import Document
from compiler.frontend.checks import ValidSources
from compiler.paging import PageMap
from compiler.theme import Theme, load_theme

PDF_VARIANTS = {"default": "default", "ua-1": "pdf/ua-1", "a-2b": "pdf/a-2b", "plain": None}


@dataclass
class Compiled:
    document: Document | None
    theme: Theme | None
    valid: ValidSources | None = None


def compile_sources(sources: Path, diags: Diagnostics) -> Compiled:
    """Load, check and transform; ``document`` is ``None`` when there are errors."""
    from compiler.frontend import check
    from compiler.transforms import resolve

    try:
        theme = load_theme()
    except Exception as exc:  # a broken layouts/settings.yaml must not end in a traceback
        diags.error("E041", f"レイアウト設定を読めません（{type(exc).__name__}: {str(exc).splitlines()[0][:200]}）。",
                    Span("layouts/settings.yaml"), "layouts/settings.yaml を直前の正しい版に戻してください。")
        return Compiled(None, None)
    valid = check(Path(sources), theme, diags)
    if valid is None:
        return Compiled(None, theme)
    return Compiled(resolve(valid, theme), theme, valid)


@dataclass(frozen=True)
class Request:
    """What to build: the full document (no ``ministries``) or one preview per ministry."""

    sources: Path
    formats: frozenset[str] = frozenset({"pdf", "docx"})
    release: bool = False
    libreoffice_pages: bool = False
    pdf_variant: str = "default"  # a key of PDF_VARIANTS
    allow_dirty: bool = False  # a release from uncommitted or unversioned sources (recorded in the manifest)
    ministries: tuple[str, ...] | None = None
    progress: Callable[[str], None] = field(default=lambda message: None, compare=False)

    @property
    def variant(self) -> str | None:
        chosen = PDF_VARIANTS[self.pdf_variant]
        return ("pdf/ua-1" if self.release else None) if chosen == "default" else chosen


@dataclass
class Built:
    files: dict[str, bytes] = field(default_factory=dict)  # relative output path → bytes
    notes: list[str] = field(default_factory=list)
    document: Document | None = None


def source_revision(sources: Path) -> str | None:
    """``git describe``-like revision of the sources, with ``-dirty`` when they have local changes."""
    import subprocess

    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=sources, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=sources, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _in_fork(fn, *args):
    """Start ``fn(*args)`` in a forked worker; returns a function that waits for the result.

    Where fork is unavailable, or the worker dies (e.g. out of memory), it runs here instead."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if "fork" not in multiprocessing.get_all_start_methods():
        return lambda: fn(*args)
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    future = executor.submit(fn, *args)

    def result():
        try:
            return future.result()
        except BrokenProcessPool:
            return fn(*args)
        finally:
            executor.shutdown()

    return result


def render(doc: Document, theme: Theme, request: Request, diags: Diagnostics) -> tuple[dict[str, bytes], list[str]]:
    """The requested formats of one document, as {suffix: bytes}, and notes for the user."""
    from compiler.writers import docx as docx_writer

    out: dict[str, bytes] = {}
    notes: list[str] = []
    want_pdf, want_docx = "pdf" in request.formats, "docx" in request.formats
    lo_job = None
    if want_docx and (request.libreoffice_pages or request.release):
        from compiler.paging import libreoffice

        request.progress("LibreOffice で DOCX のページ番号を測っています")
        try:
            lo_job = libreoffice.Job(docx_writer.write(doc, theme), theme)
        except libreoffice.LibreOfficeMissing as exc:
            diags.error("E050", "DOCX の目次のページ番号を確定するには LibreOffice が必要です。", Span("document.yaml"),
                        f"sudo apt-get install {exc} を実行してください。")
            return {}, notes
    laid = None
    if want_pdf or (want_docx and lo_job is None):
        from compiler.writers import pdf

        request.progress("PDF を組版しています")
        laid = pdf.layout(doc, theme)
    docx_result = None
    if want_docx and lo_job is None:
        docx_result = _in_fork(docx_writer.write, doc, theme, laid.page_map)
        notes.append("DOCX の目次のページ番号は PDF の組版から取った推定値です（--libreoffice-pages または --release で確定します）。")
    if want_pdf:
        request.progress("PDF を書き出しています")
        out["pdf"] = laid.write(request.variant, doc.output_name.encode() if request.release else None)
    if docx_result is not None:
        out["docx"] = docx_result()
    if lo_job is not None:
        from compiler.paging import libreoffice

        try:
            pages: PageMap = libreoffice.page_map(lo_job, docx_writer.toc_bookmarks(doc), doc.body_anchor)
        except RuntimeError as exc:
            diags.error("E051", f"LibreOffice での組版に失敗しました（{exc}）。", doc.pillars[0].span if doc.pillars else None)
            return {}, notes
        out["docx"] = docx_writer.write(doc, theme, pages)
    return out, notes


def build(request: Request, diags: Diagnostics) -> Built:
    """The whole pipeline for ``build`` and ``preview``; ``files`` is empty when anything failed."""
    built = Built()
    if request.release and not request.allow_dirty:
        from compiler import release

        if release.refuse_unclean(Path(request.sources), diags):
            return built
    request.progress("原稿を検査しています")
    compiled = compile_sources(request.sources, diags)
    doc, theme = compiled.document, compiled.theme
    if doc is None:
        return built
    if request.ministries is None:
        targets = [("", doc, doc.output_name)]
    else:
        from compiler.transforms.preview import views

        chosen = views(doc, compiled.valid, list(request.ministries), theme, source_revision(Path(request.sources)), diags)
        if diags.has_errors:
            return built
        targets = [("preview/", v.document, v.stem) for v in chosen]
    files: dict[str, bytes] = {}
    for folder, target, stem in targets:
        rendered, notes = render(target, theme, request, diags)
        if diags.has_errors:
            return built
        for suffix, data in rendered.items():
            files[f"{folder}{stem}.{suffix}"] = data
        built.notes.extend(n for n in notes if n not in built.notes)
    if request.release:
        from compiler import release

        files[release.MANIFEST] = release.manifest(doc, files, request)
    built.files, built.document = files, doc
    return built


def write(built: Built, out_dir: Path, diags: Diagnostics) -> list[Path]:
    """Write ``built`` into ``out_dir`` all or nothing; names that would leave it are refused (E060)."""
    from compiler import output

    targets: dict[Path, bytes] = {}
    for rel, data in built.files.items():
        folder, _, name = rel.rpartition("/")
        try:
            targets[output.safe_child(out_dir / folder if folder else out_dir, name)] = data
        except output.UnsafePath:
            diags.error("E060", f"出力ファイル名「{name}」はフォルダの外を指すため使えません。", Span("document.yaml"),
                        "document.yaml の output_name や府省庁名に / や .. を使わないでください。")
            return []
    try:
        return output.write_all(targets)
    except output.WriteFailed as exc:
        diags.error("E060", f"出力を書き込めません（{exc.reason}: {exc.path}）。", Span(str(exc.path)),
                    "出力フォルダの権限と空き容量を確かめてください。前回の出力はそのままです。")
        return []


def run(request: Request, out_dir: Path, diags: Diagnostics) -> tuple[Built, list[Path]]:
    """``build`` then ``write``: the files written (none when any stage reported an error)."""
    built = build(request, diags)
    if not built.files or diags.has_errors:
        return built, []
    return built, write(built, out_dir, diags)
