"""PDF by parts: lay the document's parts out in worker processes (or take them from the cache), then merge.

The parts come from ``compiler.paging.parts``; each is laid out by the ordinary PDF writer
(``pdf.layout`` then ``LaidOut.write``), so whatever that writer does is inherited. In order:

1. the body parts, in parallel (longest first), each taken from the part cache when its key is there;
2. the page map follows from their page counts (``parts.BodyPages``): ``on_pages`` receives it
   (the DOCX worker starts then);
3. the front part (its contents numbered from the page map) and the stamp (page numbers and the
   preview mark for every body page), in parallel, cached the same way;
4. ``pdf_merge.merge`` makes one tagged PDF of them.

A worker holds one part at a time and returns bytes; the parent never holds a laid-out document.
Workers are forked processes (``compiler.workers.Worker``): they die with the build, and a worker that
dies (e.g. out of memory) has its part laid out in the parent instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from compiler.cache import PartCache, PartResult, part_key
from compiler.document import Document
from compiler.paging import PageMap, parts
from compiler.theme import Theme

MAX_WORKERS = 8
ARCHIVAL = ("pdf/a-2b",)  # variants laid out in one pass only (see ``supports``)


def supports(variant: str | None) -> bool:
    """Whether ``variant`` can be made by parts. PDF/A is not: its rules on streams and metadata are
    kept by the single-pass writer's finisher, which the merge (qpdf rewrites every stream) would undo."""
    return variant not in ARCHIVAL


def worker_count() -> int:
    """Processes to lay parts out in: the CPUs this process may run on (``FOLLOWUP_JOBS`` overrides), at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        cpus = int(os.environ.get("FOLLOWUP_JOBS", cpus))
    except ValueError:
        pass
    return max(1, min(cpus, MAX_WORKERS))


@dataclass
class Stats:
    """What a build by parts did: the parts laid out, and those taken from the cache (by part name)."""

    laid_out: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    workers: int = 0


def lay_out(part: parts.Part, theme: Theme, variant: str | None, identifier: bytes | None) -> PartResult:
    """One part as PDF bytes, with its page count, anchors and bookmark levels (runs in a worker)."""
    from compiler.writers import pdf

    laid = pdf.layout(part.document, theme, part=part)
    try:
        data = laid.write(variant, identifier)
        anchors: dict[str, int] = {}
        levels: list[int] = []
        for index, page in enumerate(laid.document.pages):
            for name in page.anchors:
                anchors.setdefault(name, index)
            levels.extend(bookmark[0] for bookmark in page.bookmarks)
        return PartResult(data, len(laid.document.pages), anchors, tuple(levels))
    finally:
        laid.close()


_warm = False


def _warm_up(part: parts.Part, theme: Theme) -> None:
    """Lay out one empty page here, once per process, before the workers fork: WeasyPrint's and Pango's
    set-up on first use (about 0.1 s of CPU) is then done once instead of once in every worker."""
    global _warm
    if not _warm:
        _warm = True
        lay_out(parts.stamp_part(part.document, 1), theme, None, None)


def _lay_out_in(scratch: str, part: parts.Part, *args) -> PartResult:
    """``lay_out`` with this process's temporary files (WeasyPrint's copies of the fonts) in ``scratch``,
    a folder the parent removes whatever happens: a worker killed by an interrupt leaves nothing behind."""
    import tempfile

    previous, tempfile.tempdir = tempfile.tempdir, scratch
    try:
        return lay_out(part, *args)
    finally:
        tempfile.tempdir = previous


def _key(part: parts.Part, theme: Theme, variant: str | None, identifier: bytes | None) -> str:
    from compiler.writers.html import part_stylesheet, render_html, stylesheet

    return part_key(render_html(part.document, part=part), stylesheet(theme), part_stylesheet(part), variant, identifier)


def _run(jobs: list[tuple[parts.Part, tuple]], limit: int, cache: PartCache, stats: Stats) -> dict[str, PartResult]:
    """Results by part name: from the cache, else laid out in at most ``limit`` workers at once (longest first)."""
    from multiprocessing.connection import wait

    import shutil
    import tempfile

    from compiler.interrupt import deferred
    from compiler.workers import PART_WORKER_NAME, Worker
    from compiler.writers.pdf import project_fonts_only

    results: dict[str, PartResult] = {}
    todo = []
    for part, args in jobs:
        key = _key(part, *args)
        hit = cache.get(key)
        if hit is not None:
            results[part.name] = hit
            stats.cached.append(part.name)
        else:
            todo.append((part, args, key))
    if todo:  # imported once here, so that every forked worker has it already (about 0.5 s each otherwise)
        with deferred(), project_fonts_only():
            import weasyprint  # noqa: F401
        _warm_up(todo[0][0], todo[0][1][0])
    # Longest first: the length of the part's rows is a fair measure of its layout time.
    todo.sort(key=lambda job: -sum(len(p.rows) for pl in job[0].document.pillars for p in pl.policies))
    running: dict[object, tuple] = {}
    scratch = tempfile.mkdtemp(prefix="followup-parts-") if todo else None
    try:
        while todo or running:
            while todo and len(running) < limit:
                part, args, key = todo.pop(0)
                worker = Worker(_lay_out_in, scratch, part, *args, name=PART_WORKER_NAME)
                if worker.conn is None:  # no fork here: lay out in this process
                    results[part.name] = worker.result()
                    cache.put(key, results[part.name])
                    stats.laid_out.append(part.name)
                    continue
                running[worker.conn] = (worker, part, key)
            if not running:
                continue
            for conn in wait(list(running)):
                worker, part, key = running.pop(conn)
                results[part.name] = worker.result()
                cache.put(key, results[part.name])
                stats.laid_out.append(part.name)
    finally:
        for worker, _, _ in running.values():
            worker.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def body_pages(doc: Document, theme: Theme, cache: PartCache | None = None, variant: str | None = None,
               stats: Stats | None = None) -> tuple[PageMap, parts.BodyPages, list[PartResult]]:
    """Lay out (or take from ``cache``) the body parts: the page map, where their pages landed, and the parts."""
    cache = cache or PartCache(None)
    stats = stats or Stats(workers=worker_count())
    bodies = parts.body_parts(doc)
    laid = _run([(part, (theme, variant, None)) for part in bodies], stats.workers, cache, stats)
    results = [laid[p.name] for p in bodies]
    body = parts.BodyPages(tuple(r.pages for r in results), tuple(r.anchors for r in results))
    return body.page_map(), body, results


def write(doc: Document, theme: Theme, variant: str | None = None, identifier: bytes | None = None,
          cache: PartCache | None = None, on_pages: Callable[[PageMap], None] | None = None,
          workers: int | None = None) -> tuple[bytes, PageMap, Stats]:
    """The PDF of ``doc`` laid out by parts, its page map, and what was laid out or reused.

    ``on_pages`` receives the page map as soon as the body is laid out (before the front part)."""
    from compiler.writers import pdf_merge

    if not supports(variant):
        raise ValueError(f"PDF variant {variant!r} is made in one pass only")
    cache = cache or PartCache(None)
    stats = Stats(workers=workers or worker_count())
    pages, body, results = body_pages(doc, theme, cache, variant, stats)
    if on_pages is not None:
        on_pages(pages)
    front = parts.front_part(doc, pages)
    stamp = parts.stamp_part(doc, body.total)
    finishing = _run([(front, (theme, variant, identifier)), (stamp, (theme, None, None))], stats.workers, cache, stats)
    data = pdf_merge.merge(finishing[front.name], results, finishing[stamp.name], release=identifier is not None)
    cache.prune()
    return data, body.page_map(finishing[front.name].pages), stats
