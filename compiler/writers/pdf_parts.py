"""PDF by parts: lay the document's parts out in worker processes (or take them from the cache), then merge.

The parts come from ``compiler.paging.parts``; each is laid out by the ordinary PDF writer
(``pdf.layout`` then ``LaidOut.write``), so whatever that writer does is inherited, except that
fonts are embedded as stubs that the merge replaces (``part_fonts``). In order:

1. the body parts, in parallel (longest first), each taken from the part cache when its key is there;
   as soon as the parts in are known to make ``STAMP_PAGES`` more pages, the stamp of those pages
   (page numbers, the preview mark) goes to the next free worker;
2. the page map follows from their page counts (``parts.BodyPages``): ``on_pages`` receives it
   (the DOCX worker, composing since the start, gets its page numbers then);
3. the front part (its contents numbered from the page map) and the stamp of the last pages, in
   parallel, cached the same way, while the parent merges the body (``pdf_merge.Merger``) and subsets
   the fonts to its glyphs (the front and the stamps seldom add any);
4. the stamps are drawn on the body, the front part is merged last, and the merged file written.

The workers (``Layouts``: one ``workers.Pool`` a build, started by the pipeline before it reads the
sources) are forked by a host process once it has loaded WeasyPrint and the fonts, and lay out one
part after another (those of a large document each in a child forked for it, whose memory goes
with it); each returns bytes, so the parent never holds a laid-out document (nor loads
WeasyPrint). They die with the build, and a worker whose part dies (e.g. out of memory) has its
part laid out in the parent instead.
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
COLLECT_PAGES = 10  # a body or front part of this many pages or more is rid of its garbage before it is written
# When a part's page is this long (about 10 pages), every part of the document is laid out in a
# process of its own, which takes its memory with it (a large layout leaves much behind, and a
# worker would carry it beside the next parts); with none so large, in the workers themselves
# (a fork per part costs more than the little a small part leaves: 6 % of a 1x build).
FRESH_CHARS = 100_000
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
    """One part as PDF bytes, with its page count, anchors and bookmark levels (runs in a worker, or in a
    child of it forked for it: ``FRESH_CHARS``); ``html``: the part's page, when the caller already
    rendered it (for its cache key)."""
    import gc

    from compiler.writers import part_fonts, pdf

    laid = pdf.layout(part.document, theme, part=part, font_config=_fonts, html=html)
    try:
        # A large layout's cyclic garbage goes before the PDF is written (a lower peak: -15 %); a small
        # one's is not worth the time, nor a stamp run's: its pages are empty, and the collection (30 ms
        # for 16 pages) would only walk the worker's fonts and WeasyPrint again.
        if not part.stamp_pages and len(laid.document.pages) >= COLLECT_PAGES:
            gc.collect()
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


def _page_and_key(part: parts.Part, theme: Theme, variant: str | None, identifier: bytes | None,
                  keyed: bool = True) -> tuple[str, str | None]:
    """The part's HTML page and its cache key (the page goes to the worker, which need not render it again);
    no key unless ``keyed`` (a build without a cache folder: the key, which hashes the project's files
    and the page, would serve nothing)."""
    from compiler.writers.html import part_stylesheet, render_html, stylesheet

    html = render_html(part.document, part=part)
    return html, part_key(html, stylesheet(theme), part_stylesheet(part), variant, identifier) if keyed else None


def _warm_up_part() -> parts.Part:
    """A stamp page of an empty document with a preview mark: laying it out loads every font."""
    from datetime import datetime

    from compiler.document import Labels

    empty = Document(title="", as_of="", author="", output_name="warm-up", labels=Labels("", "", "", "", ""),
                     created=datetime(2000, 1, 1), pillars=(), toc=(), preview="プレビュー")
    return parts.stamp_part(empty, 1, 1)


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


_early: "Layouts | None" = None  # started by the command line before the build asked for it (``Layouts.early``)


class Layouts:
    """One build's layout machinery: a ``workers.Pool`` whose host prepares the workers (``_prepare``).

    ``start()`` forks the host at once, so WeasyPrint is imported and the fonts loaded while the
    parent still reads and checks the sources; the host then forks the workers, and every worker
    lays its parts out with that one font configuration: the fonts are copied, registered with
    fontconfig and opened once per build instead of once per part. The font copies go to a scratch
    folder that ``close`` removes whatever happens, so an interrupted build leaves none behind (a
    killed one's goes with the command's temporary folder: ``compiler.tempdir``). A
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

        from compiler import interrupt

        if self.pool is None:
            with interrupt.deferred():  # the folder is ours to remove (``close``) from the moment it exists
                self.scratch = tempfile.mkdtemp(prefix="followup-parts-")
                self.pool = Pool(lay_out, self.size, name=PART_WORKER_NAME, prepare=functools.partial(_prepare, self.scratch))
            try:
                self.pool.start()
            except BaseException:  # an interrupt while the host forks: nothing is left half-started
                self.close()
                raise
        return self

    @classmethod
    def early(cls, size: int) -> "Layouts":
        """Start one now, for this process's next build to ``take``.

        The command line calls this first thing (``cli.entry``), before the sources are read: its host
        is forked from the bottom of the stack. CPython 3.11 frees a chunk of its frame stack as soon
        as the frames in it return, and a worker whose layout keeps calling across a chunk's end maps
        and unmaps it again and again: forked from deep in the command's call chain, the workers did
        so twice as often (0.2 s more system time a build, 5 % of its wall time). The caller closes
        it (idempotent) whether or not a build took it."""
        global _early
        if _early is not None:
            _early.close()
        _early = cls(size).start()
        return _early

    @classmethod
    def take(cls, size: int) -> "Layouts":
        """The layouts started ``early`` (once, if of ``size`` workers), else new ones, started now."""
        global _early
        taken, _early = _early, None
        if taken is not None and taken.size == size and taken.pool is not None:
            return taken
        if taken is not None:
            taken.close()
        return cls(size).start()

    def run(self, jobs: list[tuple[parts.Part, tuple]], cache: PartCache, stats: Stats) -> dict[str, PartResult]:
        """Results by part name: from the cache, else laid out in the workers (longest first)."""
        batch = Batch(self, cache, stats)
        batch.add(jobs)
        return dict(batch)

    def close(self) -> None:
        """End the workers and their host, and remove the scratch folder (idempotent; a later layout starts them again)."""
        import shutil

        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def _size(job) -> int:
    """A job's measure of its layout time and memory: the length of its part's page (``Batch.add``)."""
    return len(job[1][-1])


def _schedule(jobs: list, workers: int) -> list:
    """``jobs`` in the order they go to the workers: longest first, which ends them at about the same
    time, except that the second longest waits while the other workers lay out parts that fill
    about the time of the longest (large ones first, small ones last), when that cannot make the
    build longer. The two largest parts take the most memory, most of it near their end: so the
    longest ends while the others are on small parts or early in the second."""
    order = sorted(jobs, key=lambda job: -_size(job))
    if workers < 2 or len(order) < 3:
        return order
    longest, second, rest = order[0], order[1], order[2:]
    if _size(longest) + _size(second) > sum(_size(job) for job in order) / workers:
        return order
    room = 0.85 * _size(longest) * (workers - 1)
    before, after = [], []
    for job in rest:  # large first, then the small ones that still fit
        fits = _size(job) <= room
        (before if fits else after).append(job)
        room -= _size(job) if fits else 0
    return [longest, *before, second, *after]


class Batch:
    """Parts to lay out with a build's ``Layouts``, to which parts can be added while the results come in.

    Iterating gives ``(part name, result)`` as each comes: those in the cache at once, the others as
    the workers finish them. Between results, ``add`` queues more parts, ``meanwhile`` gives the
    parent work to do as soon as the workers have theirs, and ``last`` says that nothing more will
    be added (then each worker ends once it has nothing left to do)."""

    def __init__(self, layouts: Layouts, cache: PartCache, stats: Stats):
        from collections import deque

        self.layouts, self.cache, self.stats = layouts, cache, stats
        self.done_adding = False
        self.fresh = False  # each part in a process of its own (``FRESH_CHARS``)
        self.tasks: list = []  # the parent's work (``meanwhile``)
        self.ready: deque = deque()  # (name, result) from the cache, not yet handed out
        self.todo: list = []  # the pool's queue: (name, args), taken from its front
        self.cache_keys: dict[str, str] = {}

    def add(self, jobs: list[tuple[parts.Part, tuple]], first: bool = False) -> None:
        """Look ``jobs`` up in the cache, and queue the others (in the order ``_schedule`` gives), or,
        with ``first``, before everything still waiting."""
        todo = []
        for part, args in jobs:
            html, key = _page_and_key(part, *args, keyed=self.cache.folder is not None)
            hit = self.cache.get(key) if key is not None else None
            if hit is not None:
                self.stats.cached.append(part.name)
                self.ready.append((part.name, hit))
            else:
                self.cache_keys[part.name] = key
                todo.append((part.name, (part, *args, html)))
                self.fresh = self.fresh or len(html) >= FRESH_CHARS
        if first:
            self.todo[0:0] = todo
        else:
            self.todo += _schedule(todo, self.layouts.size)

    def meanwhile(self, task) -> None:
        """Run ``task()`` here as soon as the parts queued are out to the workers."""
        self.tasks.append(task)

    def last(self) -> None:
        """Nothing more will be added: a worker with nothing left to do ends (no layout follows)."""
        self.done_adding = True

    def __iter__(self):
        while self.ready or self.todo or self.tasks:
            while self.ready:
                yield self.ready.popleft()
            if self.todo:
                self.layouts.start()
                # The pool sees what ``add`` queues and ``meanwhile`` gives while a result is handed out.
                for name, result in self.layouts.pool.run(self.todo, last=lambda: self.done_adding, meanwhile=self.tasks,
                                                          fresh=self.fresh):
                    self.cache.put(self.cache_keys[name], result)
                    self.stats.laid_out.append(name)
                    yield name, result
                    while self.ready:
                        yield self.ready.popleft()
            while self.tasks:  # nothing (left) to lay out
                self.tasks.pop(0)()


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
    merger = pdf_merge.Merger()
    bodies = parts.body_parts(doc)
    results: dict[str, PartResult] = {}  # body part name → result
    stamp_parts: dict[str, parts.Part] = {}  # the stamp runs queued, by name
    stamps: list[tuple[int, PartResult]] = []  # (first body page, stamp run) laid out
    finished: dict[str, object] = {}  # "body": the BodyPages, "front result": the front part's
    batch = Batch(layouts, cache, stats)

    def queue_stamps(known: int, total: bool = False, first: bool = True):  # the runs the body now reaches
        queued = sum(p.stamp_pages for p in stamp_parts.values())
        runs = [parts.stamp_part(doc, at, count) for at, count in parts.stamp_runs(known, queued, total)]
        stamp_parts.update((p.name, p) for p in runs)
        batch.add([(p, (theme, None, None)) for p in runs], first=first)

    def body_done():  # the last body part is in: the page map, the front and the last stamp run
        body = finished["body"] = parts.BodyPages(tuple(results[p.name].pages for p in bodies),
                                                  tuple(results[p.name].anchors for p in bodies))
        if on_pages is not None:
            on_pages(body.page_map())
        batch.add([(parts.front_part(doc, body.page_map()), (theme, variant, identifier))], first=True)
        queue_stamps(body.total, total=True, first=False)
        if own or not keep_workers:
            batch.last()
        batch.meanwhile(merge_body)

    def merge_body():  # here, while the workers lay the front out (not before: the merged file takes
        for part in reversed(bodies):  # memory in proportion to the document, beside the parts' own)
            merger.add_body(results[part.name])
        merger.prepare_fonts()  # the body's glyphs: the front and the stamps seldom add any

    try:
        batch.add([(part, (theme, variant, None)) for part in bodies])
        pdf_merge.prepare()  # here: the parts' pages are ready to go, and the workers are still starting
        if not bodies:
            body_done()
        for name, result in batch:
            if name in stamp_parts:
                stamps.append((stamp_parts[name].stamp_first, result))
            elif name.startswith("body-"):
                results[name] = result
                queue_stamps(sum(r.pages for r in results.values()))
                if len(results) == len(bodies):
                    body_done()
            else:
                finished["front result"] = result
    finally:
        if own or not keep_workers:
            layouts.close()
    for first, stamp in sorted(stamps, key=lambda run: run[0]):
        merger.stamp(stamp, first)
    merger.add_front(finished["front result"])
    data = merger.finish(release=identifier is not None)
    cache.prune()
    return data, finished["body"].page_map(finished["front result"].pages), stats
