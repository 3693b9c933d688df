"""Orchestration: load → validate → resolve → render → write, for every command.

Nothing is written unless every stage succeeded; files are written to a
temporary name in the output folder and renamed, so the last good build
survives any error. Output paths are confined to the output folder.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from compiler.diagnostics import Diagnostics, Span
from compiler.document import Document, Row
from compiler.settings import Settings, load_settings


@dataclass
class Compiled:
    document: Document | None
    settings: Settings | None
    valid: object = None


def compile_sources(sources: Path, diags: Diagnostics) -> Compiled:
    """Load, validate and resolve; ``document`` is ``None`` when there are errors."""
    from compiler import glyphs
    from compiler.loader import load_sources
    from compiler.resolve import resolve
    from compiler.validate import validate

    try:
        settings = load_settings()
    except Exception as exc:  # a broken layouts/settings.yaml must not end in a traceback
        diags.error("E041", f"レイアウト設定を読めません（{type(exc).__name__}: {str(exc).splitlines()[0][:200]}）。",
                    Span("layouts/settings.yaml"), "layouts/settings.yaml を直前の正しい版に戻してください。")
        return Compiled(None, None)
    loaded = load_sources(Path(sources), diags)
    valid = validate(loaded, diags)
    glyphs.check_glyphs(loaded, settings, diags)
    if valid is None or diags.has_errors:
        return Compiled(None, settings, valid)
    return Compiled(resolve(valid, settings), settings, valid)


def safe_child(out_dir: Path, name: str) -> Path:
    """``out_dir/name`` if it stays inside ``out_dir`` (no separators, no ``..``)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ValueError(f"unsafe output name {name!r}")
    target = (out_dir / name).resolve()
    if target.parent != out_dir.resolve():
        raise ValueError(f"unsafe output name {name!r}")
    return target


def write_atomic(files: dict[Path, bytes], diags: Diagnostics) -> list[Path]:
    """Write every file via a temporary sibling and ``os.replace``; all or nothing as far as possible."""
    temps: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            temps.append((tmp, target))
    except OSError as exc:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        diags.error("E060", f"出力を書き込めません（{exc.strerror}: {exc.filename}）。", None,
                    "出力フォルダの権限と空き容量を確かめてください。")
        return []
    for tmp, target in temps:
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return [t for _, t in temps]


@dataclass
class Rendered:
    pdf: bytes | None = None
    docx: bytes | None = None
    notes: list[str] = field(default_factory=list)


def render(doc: Document, settings: Settings, formats: set[str], diags: Diagnostics,
           release: bool = False, libreoffice_pages: bool = False, pdf_variant: str | None = "default",
           progress: Callable[[str], None] = lambda s: None) -> Rendered | None:
    """Render the requested formats in memory.

    The PDF is always laid out: its pages give the DOCX table of contents its
    numbers, unless LibreOffice measures the DOCX itself (release builds and
    ``libreoffice_pages``), which then runs in the background during the PDF
    layout. The DOCX is written in a forked process while the PDF is written."""
    from compiler.render.html import render_html
    from compiler.render.pdf import layout_pdf

    out = Rendered()
    page_pass = None
    if "docx" in formats and (libreoffice_pages or release):
        from compiler.lopages import PagePass

        progress("LibreOffice で DOCX のページ番号を測っています")
        page_pass = PagePass(doc, settings, diags)
        if diags.has_errors:
            return None
    progress("PDF を組版しています")
    laid = layout_pdf(render_html(doc))
    docx_future = executor = None
    if "docx" in formats and page_pass is None:
        from compiler.render.docx import render_docx

        pages = {e.anchor: laid.anchor_pages.get(e.anchor, 0) for e in doc.toc}
        executor, docx_future = _in_fork(render_docx, doc, settings, pages)
        out.notes.append("DOCX の目次のページ番号は PDF の組版から取った推定値です（--libreoffice-pages または --release で確定します）。")
    if "pdf" in formats:
        progress("PDF を書き出しています")
        variant = ("pdf/ua-1" if release else None) if pdf_variant == "default" else pdf_variant
        out.pdf = laid.write(variant, doc.output_name.encode() if release else None)
    if docx_future is not None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            out.docx = docx_future.result()
        except BrokenProcessPool:  # the worker died (e.g. out of memory): do it here instead
            out.docx = render_docx(doc, settings, pages)
        executor.shutdown()
    if page_pass is not None:
        out.docx = page_pass.finish()
        if out.docx is None:
            return None
    return out


class _Done:
    """A finished result with the interface of a future (when forking is not possible)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value

    def shutdown(self):
        pass


def _in_fork(fn, *args):
    """Run ``fn(*args)`` in a forked worker (the parent keeps working); in-process where fork is unavailable."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        done = _Done(fn(*args))
        return done, done
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    return executor, executor.submit(fn, *args)


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
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


def manifest(doc: Document, files: dict[Path, bytes], revision: str | None) -> bytes:
    """``manifest.json`` of a release: hashes, sizes, counts, versions (sorted keys, no timestamps)."""
    import hashlib
    import json
    from collections import Counter

    from compiler import __version__

    per_pillar, per_policy, per_ministry = Counter(), Counter(), Counter()
    for pillar in doc.pillars:
        for policy in pillar.policies:
            for row in policy.rows:
                if isinstance(row, Row):
                    per_pillar[pillar.heading] += 1
                    per_policy[policy.heading] += 1
                    for m in sorted(row.responsible | row.mentioned):
                        per_ministry[m] += 1
    try:
        import weasyprint
        import docx

        versions = {"weasyprint": weasyprint.__version__, "python-docx": getattr(docx, "__version__", "")}
    except ImportError:  # pragma: no cover
        versions = {}
    data = {
        "tool": "followup",
        "version": __version__,
        "libraries": versions,
        "source_revision": revision,
        "title": doc.title,
        "as_of": doc.as_of,
        "files": {p.name: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for p, b in sorted(files.items())},
        "items": {"total": sum(per_pillar.values()), "per_pillar": dict(per_pillar),
                  "per_policy": dict(per_policy), "per_ministry": dict(sorted(per_ministry.items()))},
    }
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def run_build(sources: Path, out_dir: Path, diags: Diagnostics, formats: set[str] = frozenset({"pdf", "docx"}),
              release: bool = False, libreoffice_pages: bool = False, ministries: list[str] | None = None,
              pdf_variant: str | None = "default", progress: Callable[[str], None] = lambda s: None) -> BuildResult:
    """The whole pipeline for ``build`` (no ``ministries``) and ``preview`` (one file pair per ministry)."""
    result = BuildResult()
    progress("原稿を検査しています")
    compiled = compile_sources(sources, diags)
    doc = compiled.document
    if doc is None:
        return result
    settings = compiled.settings
    targets: list[tuple[Document, Path, str]] = []  # document, folder, file stem
    if ministries is None:
        targets.append((doc, out_dir, doc.output_name))
    else:
        from datetime import date

        from compiler.preview import select

        registry = compiled.valid.registry
        revision = source_revision(Path(sources))
        for name in ministries:
            canonical = registry.lookup(name)
            if canonical is None:
                known = "、".join(m.name for m in registry.ministries)
                guess = registry.suggest(name)
                diags.error("E024", f"府省庁「{name}」は登録されていません。", None,
                            (f"もしかして：{guess}。" if guess else "") + f"登録されている府省庁：{known}")
                continue
            mark = f"プレビュー（{canonical}）　作成 {date.today().isoformat()}" + (f"　版 {revision}" if revision else "") \
                + "　正式な文書ではありません"
            view = select(doc, canonical, settings, mark)
            if not view.pillars:
                diags.warning("W106", f"{canonical}が担当・言及する取組方針はありません（空のプレビューを作ります）。", None,
                              "府省庁名を確かめてください。followup ministries で件数を確認できます。")
            targets.append((view, out_dir / "preview", canonical))
        if diags.has_errors:
            return result
    files: dict[Path, bytes] = {}
    for target, folder, stem in targets:
        rendered = render(target, settings, formats, diags, release=release,
                          libreoffice_pages=libreoffice_pages, pdf_variant=pdf_variant, progress=progress)
        if rendered is None or diags.has_errors:
            return result
        try:
            if rendered.pdf is not None:
                files[safe_child(folder, f"{stem}.pdf")] = rendered.pdf
            if rendered.docx is not None:
                files[safe_child(folder, f"{stem}.docx")] = rendered.docx
        except ValueError:
            diags.error("E060", f"出力ファイル名「{stem}」はフォルダの外を指すため使えません。", None,
                        "document.yaml の output_name や府省庁名に / や .. を使わないでください。")
            return result
        result.notes.extend(n for n in rendered.notes if n not in result.notes)
    if release:
        files[safe_child(out_dir, "manifest.json")] = manifest(doc, files, source_revision(Path(sources)))
    result.written = write_atomic(files, diags)
    result.document = doc
    return result

