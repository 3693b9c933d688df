"""Pipeline: ``compile_sources`` (sources → intermediate document) and ``build`` (a request → files in memory).

One way only: front end (load, check) → transforms (numbering, 再掲, TOC,
preview selection) → page maps → writers. ``build`` returns the files as
bytes; the caller writes them with ``output.write_all`` only when no stage
reported an error, so the last good build survives any failure.

The PDF is laid out by parts in worker processes, each part cached, and merged
(``writers.pdf_parts``), or in one WeasyPrint pass (``single_pass``, and always
for PDF/A). Page numbers for the DOCX table of contents come from one of two page maps:
WeasyPrint's layout of the same document (an estimate, ordinary builds), or
LibreOffice's layout of the DOCX itself (release builds and
``libreoffice_pages``), which runs in the background meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from compiler.diagnostics import Diagnostics, Span
from compiler.document import Document
from compiler.paging import PageMap
from compiler.theme import Theme, load_theme
from compiler.workers import Worker

if TYPE_CHECKING:  # imported where the sources are checked, after the build's layout host has forked (``cli.entry``)
    from compiler.frontend.checks import ValidSources

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
    """What to build: the full document (no ``ministries``) or one preview per ministry.

    ``ministries=()`` means every registered ministry that has at least one row (``preview --all``)."""

    sources: Path
    formats: frozenset[str] = frozenset({"pdf", "docx"})
    release: bool = False
    libreoffice_pages: bool = False
    pdf_variant: str = "default"  # a key of PDF_VARIANTS
    allow_dirty: bool = False  # a release from uncommitted or unversioned sources (recorded in the manifest)
    ministries: tuple[str, ...] | None = None
    embed_fonts: bool = True  # DOCX: embed the subset fonts
    single_pass: bool = False  # PDF in one WeasyPrint pass instead of by parts (writers.pdf_parts)
    progress: Callable[[str], None] = field(default=lambda message: None, compare=False)

    @property
    def variant(self) -> str | None:
        chosen = PDF_VARIANTS[self.pdf_variant]
        return ("pdf/ua-1" if self.release else None) if chosen == "default" else chosen

    @property
    def by_parts(self) -> bool:
        """Whether WeasyPrint lays out by parts (``writers.pdf_parts``): the PDF, or the page estimate of the DOCX."""
        from compiler.writers.pdf_parts import supports

        estimated_docx = "docx" in self.formats and not (self.release or self.libreoffice_pages)
        return not self.single_pass and supports(self.variant) and ("pdf" in self.formats or estimated_docx)


@dataclass
class Built:
    files: dict[str, bytes] = field(default_factory=dict)  # relative output path → bytes
    notes: list[str] = field(default_factory=list)
    document: Document | None = None
    layout: dict = field(default_factory=dict)  # relative PDF path → pdf_parts.Stats (PDFs made by parts)


def part_cache(request: Request):
    """The part cache of a build (``cache.default_folder()``), or none when that folder lies inside the sources."""
    import os

    from compiler.cache import PartCache, default_folder

    folder = default_folder()
    if folder is not None:
        real, sources = Path(os.path.realpath(folder)), Path(os.path.realpath(request.sources))
        if real == sources or real.is_relative_to(sources):
            folder = None
    return PartCache(folder)


# git runs inside the sources folder, which may come with its own .git/config: nothing in it may run a
# command (core.fsmonitor, hooks, an external diff or textconv), and no system or user config is read.
GIT_SAFETY = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.untrackedCache=false",
              "-c", "core.sshCommand=false", "-c", "diff.external=", "-c", "core.pager=cat")
# Repository settings under which even ``git status`` could start a program (a clean filter of a stale file,
# a config file included from elsewhere): then the revision is not checked for local changes at all.
_GIT_RISKY_KEYS = ("filter.", "include.", "includeif.", "core.worktree", "submodule.")


def _git_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0",
               GIT_NO_REPLACE_OBJECTS="1", GIT_PAGER="cat", LC_ALL="C")
    return env


def source_revision(sources: Path) -> str | None:
    """``git describe``-like revision of the sources, with ``-dirty`` when they have local changes
    (``-unchecked`` when the repository's own settings could make ``git status`` run a program)."""
    import subprocess

    def git(*args: str):
        return subprocess.run(["git", *GIT_SAFETY, *args], cwd=sources, capture_output=True, text=True, timeout=10,
                              env=_git_env(), stdin=subprocess.DEVNULL)

    try:
        rev = git("rev-parse", "--short=12", "HEAD")
        if rev.returncode != 0:
            return None
        keys = git("config", "--local", "--no-includes", "--name-only", "--list").stdout.lower().split()
        if any(k.startswith(_GIT_RISKY_KEYS) for k in keys):
            return rev.stdout.strip() + "-unchecked"
        dirty = git("status", "--porcelain", "--no-renames", "--ignore-submodules=all", "--", ".")
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _docx_when_paged(doc: Document, theme: Theme, embed_fonts: bool, revision: str | None, receive) -> bytes:
    """The DOCX worker's job: compose the document now (a ``docx.Draft``), package it when ``receive()``
    gives the page map."""
    from compiler.workers import in_child
    from compiler.writers import docx as docx_writer

    # Composed in a child of its own, so that this worker waits for the page map in little memory.
    draft = in_child(docx_writer.compose, doc, theme, embed_fonts, revision)
    return draft.package(receive())


def render(doc: Document, theme: Theme, request: Request, diags: Diagnostics,
           revision: str | None = None, layouts=None, keep_workers: bool = False) -> tuple[dict[str, bytes], list[str], object]:
    """The requested formats of one document, as {suffix: bytes}, notes for the user, and what the
    PDF by parts laid out (``pdf_parts.Stats``, ``None`` in one pass).

    The DOCX is composed in a worker from the start, beside the PDF layout; its page numbers
    (WeasyPrint's estimate) are sent to it as soon as the layout has them. Whatever happens
    (an error, an interrupt), the helpers started here are stopped before it returns: the
    LibreOffice page pass, the DOCX worker and WeasyPrint's temporary font folder.
    ``layouts``: the build's ``pdf_parts.Layouts`` (``build`` starts it before reading the sources);
    its workers end when this document's layout is done, unless ``keep_workers`` (more documents follow)."""
    from contextlib import ExitStack

    out: dict[str, bytes] = {}
    notes: list[str] = []
    stats = None
    want_pdf, want_docx = "pdf" in request.formats, "docx" in request.formats
    # Before the DOCX worker is forked, what this process needs anyway and the worker would do again:
    # the HTML writer (the contents' columns), and by parts the digests of the project's files (the
    # part cache's key; the DOCX's font subsets are named by the fonts' digests too).
    import compiler.writers.html  # noqa: F401
    cache = None
    if request.by_parts:
        cache = part_cache(request)
        cache.fingerprint()
    with ExitStack() as cleanup:
        lo_job = composed = docx_job = None
        if want_docx and (request.libreoffice_pages or request.release):
            from compiler.paging import NO_PAGES, libreoffice
            from compiler.writers import docx as docx_writer

            request.progress("LibreOffice で DOCX のページ番号を測っています")
            composed = docx_writer.compose(doc, theme, request.embed_fonts, revision)
            try:
                lo_job = libreoffice.Job(composed.package(NO_PAGES), theme)
            except libreoffice.LibreOfficeMissing as exc:
                diags.error("E050", "DOCX の目次のページ番号を確定するには LibreOffice が必要です。", Span("document.yaml"),
                            f"sudo apt-get install {exc} を実行してください。")
                return {}, notes, stats
            cleanup.callback(lo_job.stop)
        elif want_docx:
            # At normal priority: at a lower one it was starved by the part workers, so a large document's
            # composed tree (130 MiB for ×10) lived on beside the two largest parts, for no gain in wall time.
            docx_job = Worker(_docx_when_paged, doc, theme, request.embed_fonts, revision, inbox=True)
            cleanup.callback(docx_job.stop)
            notes.append("DOCX の目次のページ番号は PDF の組版から取った推定値です（--libreoffice-pages または --release で確定します）。")
        from compiler.writers import pdf_parts

        if want_pdf and not request.single_pass and not request.by_parts:
            notes.append("PDF/A は部分に分けずに一度に組版します（並列組版とキャッシュは使いません）。")
        if request.by_parts:
            if want_pdf:
                request.progress(f"PDF を部分ごとに組版しています（{pdf_parts.worker_count()} プロセス）")
                identifier = doc.output_name.encode() if request.release else None
                on_pages = docx_job.send if docx_job is not None else None
                out["pdf"], _, stats = pdf_parts.write(doc, theme, request.variant, identifier, cache, on_pages,
                                                       layouts=layouts, keep_workers=keep_workers)
                request.progress(f"PDF: {len(stats.laid_out)} 部分を組版し、{len(stats.cached)} 部分はキャッシュを使いました")
            else:
                request.progress("ページ番号のために PDF の本文を組版しています")
                docx_job.send(pdf_parts.body_pages(doc, theme, cache, layouts, keep_workers))
        elif want_pdf or docx_job is not None:
            from compiler.writers import pdf

            request.progress("PDF を組版しています")
            laid = pdf.layout(doc, theme)
            cleanup.callback(laid.close)
            if docx_job is not None:
                docx_job.send(laid.page_map)
            if want_pdf:
                request.progress("PDF を書き出しています")
                out["pdf"] = laid.write(request.variant, doc.output_name.encode() if request.release else None)
        if docx_job is not None:
            out["docx"] = docx_job.result()
        if lo_job is not None:
            from compiler.paging import libreoffice
            from compiler.writers import docx as docx_writer

            try:
                pages: PageMap = libreoffice.page_map(lo_job, docx_writer.toc_bookmarks(doc), doc.body_anchor)
            except RuntimeError as exc:
                diags.error("E051", f"LibreOffice での組版に失敗しました（{exc}）。", doc.pillars[0].span if doc.pillars else None)
                return {}, notes, stats
            out["docx"] = composed.package(pages)
    return out, notes, stats


def build(request: Request, diags: Diagnostics) -> Built:
    """The whole pipeline for ``build`` and ``preview``; ``files`` is empty when anything failed."""
    built = Built()
    if request.release and not request.allow_dirty:
        from compiler import release

        if release.refuse_unclean(Path(request.sources), diags):
            return built
    layouts = None
    if request.by_parts:  # its host loads WeasyPrint and the fonts while the sources are read
        from compiler.writers import pdf_parts

        layouts = pdf_parts.Layouts.take(pdf_parts.worker_count())
    try:
        return _build(request, diags, built, layouts)
    finally:
        if layouts is not None:
            layouts.close()


def _build(request: Request, diags: Diagnostics, built: Built, layouts) -> Built:
    request.progress("原稿を検査しています")
    compiled = compile_sources(request.sources, diags)
    doc, theme = compiled.document, compiled.theme
    if doc is None:
        return built
    # The sources' git revision (git runs up to three times for it): a preview's mark and the DOCX both record it.
    known = request.ministries is not None or "docx" in request.formats
    revision = source_revision(Path(request.sources)) if known else None
    if request.ministries is None:
        targets = [("", doc, doc.output_name)]
    else:
        from compiler.transforms.preview import ministry_counts, views

        names = list(request.ministries) or [t["name"] for t in ministry_counts(doc, compiled.valid.registry) if t["included"]]
        chosen = views(doc, compiled.valid, names, theme, revision, diags)
        if diags.has_errors:
            return built
        targets = [("preview/", v.document, v.stem) for v in chosen]
    files: dict[str, bytes] = {}
    docx_revision = revision if "docx" in request.formats else None
    for n, (folder, target, stem) in enumerate(targets):
        rendered, notes, stats = render(target, theme, request, diags, docx_revision, layouts,
                                        keep_workers=n + 1 < len(targets))
        if diags.has_errors:
            return built
        for suffix, data in rendered.items():
            files[f"{folder}{stem}.{suffix}"] = data
        if stats is not None:
            built.layout[f"{folder}{stem}.pdf"] = stats
        built.notes.extend(n for n in notes if n not in built.notes)
    if request.release:
        from compiler import release

        files[release.MANIFEST] = release.manifest(doc, files, request)
    built.files, built.document = files, doc
    return built


def write(built: Built, out_dir: Path, diags: Diagnostics) -> list[Path]:
    """Write ``built`` into ``out_dir`` all or nothing, holding the folder's lock (E061 when another build holds it).

    Names that would leave the folder, folders below it that are symbolic
    links, targets that are links, folders or special files are refused (E060)."""
    import os

    from compiler import interrupt, output

    interrupt.check()  # nothing written by a run an interrupt may have put wrong
    root = Path(os.path.abspath(out_dir))
    targets: dict[Path, bytes] = {}
    for rel, data in built.files.items():
        folder, _, name = rel.rpartition("/")
        try:
            output.safe_child(root / folder if folder else root, name)
        except output.UnsafePath:
            diags.error("E060", f"出力ファイル名「{name}」はフォルダの外を指すため使えません。", Span("document.yaml"),
                        "document.yaml の output_name や府省庁名に / や .. を使わないでください。")
            return []
        targets[root / folder / name if folder else root / name] = data
    try:
        with output.lock(root):
            return output.write_all(targets, root=root)
    except output.Busy as exc:
        diags.error("E061", f"別のビルドが同じ出力フォルダ（{exc.path}）に書き込み中のため、書き込めませんでした。", Span(str(exc.path)),
                    "そのビルドが終わってからやり直すか、--out で別のフォルダを指定してください。前回の出力はそのままです。")
    except output.WriteFailed as exc:
        diags.error("E060", f"出力「{exc.path}」を書き込めません：{exc.reason}。", Span(str(exc.path)),
                    "出力フォルダの権限・空き容量と、同じ名前のフォルダやリンクがないかを確かめてください。前回の出力はそのままです。")
    except OSError as exc:  # the output folder itself cannot be made or opened
        diags.error("E060", f"出力フォルダ「{root}」を使えません：{output.reason(exc)}。", Span(str(root)),
                    "--out で書き込めるフォルダを指定してください。前回の出力はそのままです。")
    return []


def run(request: Request, out_dir: Path, diags: Diagnostics) -> tuple[Built, list[Path]]:
    """``build`` then ``write``: the files written (none when any stage reported an error)."""
    built = build(request, diags)
    if not built.files or diags.has_errors:
        return built, []
    return built, write(built, out_dir, diags)
