"""PDF by parts: lay the document's parts out in worker processes (or take them from the cache), then merge.

The parts come from ``compiler.paging.parts``; each is laid out by the ordinary PDF writer
(``pdf.layout`` then ``LaidOut.write``), so whatever that writer does is inherited, except that
fonts are embedded as stubs that the merge replaces (``part_fonts``). In order:

1. the body parts, in parallel (longest first), each taken from the part cache when its key is there;
2. the page map follows from their page counts (``parts.BodyPages``): ``on_pages`` receives it
   (the DOCX worker, composing since the start, gets its page numbers then);
3. the stamp (page numbers and the preview mark for every body page) and the front part (its
   contents numbered from the page map), in parallel, cached the same way; once the stamp is in,
   the body is merged (``pdf_merge.Merger``) while the front is still being laid out;
4. the front part is merged last, and the merged file written.

The workers (``Layouts``: one ``workers.Pool`` a build, started by the pipeline before it reads the
sources) are forked by a host process once it has loaded WeasyPrint and the fonts, and lay out one
part after another; each returns bytes, so the parent never holds a laid-out document (nor loads
WeasyPrint). They die with the build, and a worker that dies (e.g. out of memory) has its part laid
out in the parent instead.
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


_fonts = None  # the build's one font configuration (``Layouts``): loaded before the workers fork


def lay_out(part: parts.Part, theme: Theme, variant: str | None, identifier: bytes | None,
            html: str | None = None) -> PartResult:
    """One part as PDF bytes, with its page count, anchors and bookmark levels (runs in a worker);
    ``html``: the part's page, when the caller already rendered it (for its cache key)."""
    import gc

    from compiler.workers import release_memory
    from compiler.writers import part_fonts, pdf

    laid = pdf.layout(part.document, theme, part=part, font_config=_fonts, html=html)
    try:
        gc.collect()  # the layout's cyclic garbage goes before the PDF is written (a lower peak: -15 % on a large part)
        with part_fonts.stubs():  # the merge subsets each font once (``part_fonts``)
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
        del laid
        release_memory()  # a worker lives on: the next part starts from what is live, not from this one's peak


def _page_and_key(part: parts.Part, theme: Theme, variant: str | None, identifier: bytes | None) -> tuple[str, str]:
    """The part's HTML page and its cache key (the page goes to the worker, which need not render it again)."""
    from compiler.writers.html import part_stylesheet, render_html, stylesheet

    html = render_html(part.document, part=part)
    return html, part_key(html, stylesheet(theme), part_stylesheet(part), variant, identifier)


def _warm_up_part() -> parts.Part:
    """A stamp page of an empty document with a preview mark: laying it out loads every font."""
    from datetime import datetime

    from compiler.document import Labels

    empty = Document(title="", as_of="", author="", output_name="warm-up", labels=Labels("", "", "", "", ""),
                     created=datetime(2000, 1, 1), pillars=(), toc=(), preview="プレビュー")
    return parts.stamp_part(empty, 1)


def _prepare(scratch: str) -> None:
    """In the pool's host, before it forks the workers: import WeasyPrint, make the build's one font
    configuration (its font copies in ``scratch``) and load its fonts."""
    import tempfile

    from compiler.theme import load_theme
    from compiler.writers import pdf

    global _fonts
    tempfile.tempdir = scratch  # WeasyPrint's font copies go there; the parent removes the folder
    _fonts = pdf.fonts()
    lay_out(_warm_up_part(), load_theme(), None, None)


class Layouts:
    """One build's layout machinery: a ``workers.Pool`` whose host prepares the workers (``_prepare``).

    ``start()`` forks the host at once, so WeasyPrint is imported and the fonts loaded while the
    parent still reads and checks the sources; the host then forks the workers, and every worker
    lays its parts out with that one font configuration: the fonts are copied, registered with
    fontconfig and opened once per build instead of once per part. The font copies go to a scratch
    folder that ``close`` removes whatever happens, so an interrupted build leaves none behind. A
    part whose worker died is laid out in the parent, with fonts of its own."""

    def __init__(self, size: int):
        self.size = size
        self.pool = None
        self.scratch: str | None = None

    def start(self) -> "Layouts":
        """Fork the pool's host now (idempotent)."""
        import functools
        import tempfile

        from compiler.workers import PART_WORKER_NAME, Pool

        if self.pool is None:
            self.scratch = tempfile.mkdtemp(prefix="followup-parts-")
            self.pool = Pool(lay_out, self.size, name=PART_WORKER_NAME, prepare=functools.partial(_prepare, self.scratch))
            self.pool.start()
        return self

    def run(self, jobs: list[tuple[parts.Part, tuple]], cache: PartCache, stats: Stats) -> dict[str, PartResult]:
        """Results by part name: from the cache, else laid out in the workers (longest first)."""
        return dict(self.results(jobs, cache, stats))

    def results(self, jobs: list[tuple[parts.Part, tuple]], cache: PartCache, stats: Stats, last: bool = False):
        """``(part name, result)`` as each comes: those in the cache first, then as the workers finish them.
        ``last``: no layout follows, and each worker ends once it has nothing left to do (``close`` follows)."""
        todo = []
        for part, args in jobs:
            html, key = _page_and_key(part, *args)
            hit = cache.get(key)
            if hit is not None:
                stats.cached.append(part.name)
                yield part.name, hit
            else:
                todo.append((part, (*args, html), key))
        if not todo:
            return
        self.start()
        # Longest first: the length of the part's rows is a fair measure of its layout time.
        todo.sort(key=lambda job: -sum(len(p.rows) for pl in job[0].document.pillars for p in pl.policies))
        keys = {part.name: key for part, _, key in todo}
        for name, result in self.pool.run([(part.name, (part, *args)) for part, args, _ in todo], last=last):
            cache.put(keys[name], result)
            stats.laid_out.append(name)
            yield name, result

    def close(self) -> None:
        """End the workers and their host, and remove the scratch folder (idempotent; a later layout starts them again)."""
        import shutil

        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def _bodies(doc: Document, theme: Theme, layouts: Layouts, cache: PartCache, variant: str | None,
            stats: Stats) -> tuple[parts.BodyPages, list[PartResult]]:
    bodies = parts.body_parts(doc)
    laid = layouts.run([(part, (theme, variant, None)) for part in bodies], cache, stats)
    results = [laid[p.name] for p in bodies]
    return parts.BodyPages(tuple(r.pages for r in results), tuple(r.anchors for r in results)), results


def body_pages(doc: Document, theme: Theme, cache: PartCache | None = None, layouts: Layouts | None = None,
               keep_workers: bool = False) -> PageMap:
    """The page map of ``doc``'s body, laid out by parts (or taken from ``cache``); ``layouts`` and
    ``keep_workers`` as for ``write``."""
    own = layouts is None
    layouts = layouts or Layouts(worker_count())
    try:
        return _bodies(doc, theme, layouts, cache or PartCache(None), None, Stats(workers=layouts.size))[0].page_map()
    finally:
        if own or not keep_workers:
            layouts.close()


def write(doc: Document, theme: Theme, variant: str | None = None, identifier: bytes | None = None,
          cache: PartCache | None = None, on_pages: Callable[[PageMap], None] | None = None,
          workers: int | None = None, layouts: Layouts | None = None,
          keep_workers: bool = False) -> tuple[bytes, PageMap, Stats]:
    """The PDF of ``doc`` laid out by parts, its page map, and what was laid out or reused.

    ``on_pages`` receives the page map as soon as the body is laid out (before the front part).
    ``layouts``: the build's, started early (by default one of its own, with ``workers`` processes).
    Its workers are ended once the last part is in, so that their memory is gone before the merge
    needs its own, unless ``keep_workers`` (the caller has more documents for them)."""
    from compiler.writers import pdf_merge

    if not supports(variant):
        raise ValueError(f"PDF variant {variant!r} is made in one pass only")
    cache = cache or PartCache(None)
    own = layouts is None
    layouts = layouts or Layouts(workers or worker_count())
    stats = Stats(workers=layouts.size)
    pdf_merge.prepare()
    merger = pdf_merge.Merger()
    try:
        body, results = _bodies(doc, theme, layouts, cache, variant, stats)
        if on_pages is not None:
            on_pages(body.page_map())
        front = parts.front_part(doc, body.page_map())
        stamp = parts.stamp_part(doc, body.total)
        finishing: dict[str, PartResult] = {}
        # The stamp is short: once it is in, the body is merged here while a worker lays the front out.
        for name, result in layouts.results([(stamp, (theme, None, None)), (front, (theme, variant, identifier))],
                                            cache, stats, last=own or not keep_workers):
            finishing[name] = result
            if name == stamp.name:
                for part in results:
                    merger.add_body(part)
                merger.stamp(result)
    finally:
        if own or not keep_workers:
            layouts.close()
    merger.add_front(finishing[front.name])
    data = merger.finish(release=identifier is not None)
    cache.prune()
    return data, body.page_map(finishing[front.name].pages), stats
