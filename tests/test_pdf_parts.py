"""The PDF laid out by parts (writers.pdf_parts, pdf_merge, cache) against the same PDF in one pass.

Built from the frozen official fixture: once in one pass, once by parts with a cold cache and once
more with the cache warm, all as PDF/UA-1 with a fixed identifier (as a release writes them). Then
an item's status line is edited in a private copy of the sources and the edited sources are built
with the warm cache and with an empty one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from hypothesis import given, settings, strategies as st

from tests.helpers import OFFICIAL, read_pdf

IDENTIFIER = b"followup"
EDITED_ITEM = "20-talent/20-internship/020-internship-events.yaml"  # the second policy of the second pillar


def _compile(sources: Path):
    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import compile_sources

    diags = Diagnostics()
    compiled = compile_sources(sources, diags)
    assert compiled.document is not None, diags.items
    return compiled.document, compiled.theme


def _by_parts(sources: Path, cache_dir: Path, tmp: Path, name: str, workers: int | None = None):
    from compiler.cache import PartCache
    from compiler.writers import pdf_parts

    doc, theme = _compile(sources)
    data, pages, stats = pdf_parts.write(doc, theme, "pdf/ua-1", IDENTIFIER, PartCache(cache_dir), workers=workers)
    path = tmp / f"{name}.pdf"
    path.write_bytes(data)
    return path, pages, stats


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from compiler.writers import pdf

    tmp = tmp_path_factory.mktemp("parts")
    doc, theme = _compile(OFFICIAL)
    single = tmp / "single.pdf"
    laid = pdf.layout(doc, theme)
    try:
        single.write_bytes(laid.write("pdf/ua-1", IDENTIFIER))
        single_pages = laid.page_map
    finally:
        laid.close()
    cache = tmp / "cache"
    cold = _by_parts(OFFICIAL, cache, tmp, "cold")
    warm = _by_parts(OFFICIAL, cache, tmp, "warm")
    one_worker = _by_parts(OFFICIAL, tmp / "cache-one", tmp, "one-worker", workers=1)
    sources = tmp / "sources"
    shutil.copytree(OFFICIAL, sources)
    item = sources / EDITED_ITEM
    text = item.read_text(encoding="utf-8")
    edited_text = text.replace("情報発信を実施した。", "情報発信を実施した（一部を更新）。", 1)  # one status line
    assert edited_text != text
    item.write_text(edited_text, encoding="utf-8")
    edited_warm = _by_parts(sources, cache, tmp, "edited-warm")
    edited_cold = _by_parts(sources, tmp / "cache-empty", tmp, "edited-cold")
    return {"single": single, "single_pages": single_pages, "cold": cold, "warm": warm, "edited_warm": edited_warm, "edited_cold": edited_cold,
            "one_worker": one_worker, "doc": doc, "cache": cache}


def _outline(path: Path) -> list[tuple[int, str, int, bool]]:
    """(depth, title, 0-based destination page, closed) of every outline entry."""
    with pikepdf.open(path) as pdf:
        index = {page.objgen: i for i, page in enumerate(pdf.pages)}
        entries = []

        def walk(item, depth):
            while item is not None:
                entries.append((depth, str(item.Title), index[item.Dest[0].objgen], int(item.Count) < 0))
                if "/First" in item:
                    walk(item.First, depth + 1)
                item = item.get("/Next")

        walk(pdf.Root.Outlines.First, 1)
        return entries


def _links(path: Path) -> list[tuple[int, str, int, str]]:
    """(page, destination name, page it resolves to, /Contents) of every link annotation."""
    with pikepdf.open(path) as pdf:
        index = {page.objgen: i for i, page in enumerate(pdf.pages)}
        dests = pikepdf.NameTree(pdf.Root.Names.Dests)
        found = []
        for i, page in enumerate(pdf.pages):
            for annot in page.obj.get("/Annots", []):
                if annot.get("/Subtype") == "/Link":
                    name = str(annot.Dest)
                    assert name in dests, f"page {i + 1}: link to {name!r} has no destination"
                    found.append((i, name, index[dests[name][0].objgen], str(annot.get("/Contents", ""))))
        return found


def _rendered(path: Path, out: Path) -> list[bytes]:
    out.mkdir()
    subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", str(path), str(out / "p")], check=True)
    return [p.read_bytes() for p in sorted(out.glob("p-*.png"))]


def test_every_page_has_the_same_text_and_footer_number(built):
    single, merged = read_pdf(built["single"]), read_pdf(built["cold"][0])
    assert len(merged.pages) == len(single.pages) > 30
    assert merged.pages == single.pages
    assert merged.footers == single.footers
    first = single.first_body
    assert single.footers[first:] == list(range(1, len(single.pages) - first + 1))


def test_every_page_looks_the_same(built, tmp_path):
    """Rendered pixel for pixel (at 30 dpi): the same glyphs (the merged fonts), rules, numbers and marks."""
    single, merged = _rendered(built["single"], tmp_path / "single"), _rendered(built["cold"][0], tmp_path / "merged")
    assert len(merged) == len(single)
    assert [i + 1 for i, (a, b) in enumerate(zip(single, merged)) if a != b] == []


def test_contents_numbers_outline_and_links_are_those_of_one_pass(built):
    assert _outline(built["cold"][0]) == _outline(built["single"])
    links = _links(built["cold"][0])
    assert links == _links(built["single"])
    doc = built["doc"]
    by_parts, single = built["cold"][1], built["single_pages"]
    assert {name for _, name, _, _ in links} == {e.anchor for e in doc.toc}
    front = read_pdf(built["cold"][0]).first_body
    for _, name, target, _ in links:  # every link leads to the page its entry prints
        assert target == front + by_parts.get(name) - 1, name
    # the page map by parts (the contents' numbers, the DOCX's estimate) is the page map of one pass
    assert {e.anchor: by_parts.get(e.anchor) for e in doc.toc} == {e.anchor: single.get(e.anchor) for e in doc.toc}
    assert {r.anchor: by_parts.get(r.anchor) for r in doc.rows()} == {r.anchor: single.get(r.anchor) for r in doc.rows()}
    assert by_parts.total == single.total


def test_one_structure_tree_with_renumbered_parent_tree(built):
    with pikepdf.open(built["cold"][0]) as pdf:
        root = pdf.Root.StructTreeRoot
        assert len(root.K) == 1 and root.K[0].S == "/Document"
        document = root.K[0]
        nums = list(root.ParentTree.Nums)
        keys = [int(k) for k in nums[::2]]
        assert keys == sorted(set(keys))
        values = dict(zip(keys, nums[1::2]))
        for page in pdf.pages:  # every page's marked content maps to elements on that page
            mapped = values[int(page.obj.StructParents)]
            assert all(e.Pg.objgen == page.objgen for e in mapped if "/Pg" in e)
            for annot in page.obj.get("/Annots", []):
                assert values[int(annot.StructParent)].S == "/Link"
        for kid in document.K:
            assert kid.P.objgen == document.objgen
        marked = [e for value in values.values() for e in (value if isinstance(value, pikepdf.Array) else [value])]
        assert len(marked) > len(pdf.pages)
        for element in marked:  # every marked element hangs below the one /Document
            chain = []
            while "/P" in element and len(chain) < 50:
                element = element.P
                chain.append(element.objgen)
            assert document.objgen in chain and chain[-1] == root.objgen
        assert str(pdf.Root.Lang) == "ja" and pdf.Root.MarkInfo.Marked and pdf.Root.ViewerPreferences.DisplayDocTitle
        assert "pdfuaid" in pdf.Root.Metadata.read_bytes().decode()
        assert bytes(pdf.trailer.ID[0]) == IDENTIFIER


def test_both_paths_pass_the_same_pdf_ua_checks(built):
    import page

    for path in (built["single"], built["cold"][0]):
        report = page.validate_pdf(str(path), profile="ua1")
        assert report.rules.total > 50
        assert [(f.rule_id, f.message) for f in report.failures] == [], path.name


def _font_programs(path: Path) -> dict[str, set[bytes]]:
    """Font name → the decoded font programs embedded under it."""
    with pikepdf.open(path) as pdf:
        programs: dict[str, set[bytes]] = {}
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor" and "/FontFile2" in obj:
                programs.setdefault(str(obj.FontName), set()).add(obj.FontFile2.read_bytes())
    return programs


def test_each_font_is_embedded_once_and_is_the_program_of_one_pass(built):
    """The parts name the shipped font and their glyphs (``part_fonts``); the merge subsets each font once
    to all of them, as one pass does: the programs are the very bytes one pass embeds."""
    programs = _font_programs(built["cold"][0])
    assert len(programs) >= 3 and all(len(found) == 1 for found in programs.values()), programs.keys()
    assert programs == _font_programs(built["single"])
    assert built["cold"][0].stat().st_size < 1.2 * built["single"].stat().st_size


def test_parts_carry_no_font_program(built):
    """What the cache keeps of a part: stubs (a few hundred bytes) where one pass embeds the subsets."""
    from compiler.writers import part_fonts

    entries = sorted(built["cache"].glob("*.part"))
    assert entries
    for entry in entries:
        data = entry.read_bytes()
        with pikepdf.open(__import__("io").BytesIO(data[data.index(b"\n") + 1:])) as pdf:
            embedded = [obj.FontFile2.read_bytes() for obj in pdf.objects
                        if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj]
        assert embedded and all(part_fonts.is_stub(program) and len(program) < 20_000 for program in embedded)


def test_release_bytes_do_not_depend_on_the_cache(built):
    assert built["warm"][0].read_bytes() == built["cold"][0].read_bytes()
    assert built["warm"][2].laid_out == [] and len(built["warm"][2].cached) == len(built["cold"][2].laid_out)


def test_bytes_do_not_depend_on_how_parts_were_shared_out_among_workers(built):
    """Workers live for the whole build and share one font configuration: a part laid out after
    others in the same process (one worker takes them all) gives the bytes it gives elsewhere."""
    one, cold = built["one_worker"], built["cold"]
    assert one[2].workers == 1 and cold[2].workers >= 2 and len(one[2].laid_out) == len(cold[2].laid_out)
    assert one[0].read_bytes() == cold[0].read_bytes()


def test_a_one_item_edit_lays_out_only_its_part(built):
    path, _, stats = built["edited_warm"]
    assert stats.laid_out == ["body-4"]  # the policy of the edited item; page counts did not move
    assert path.read_bytes() == built["edited_cold"][0].read_bytes()
    assert path.read_bytes() != built["cold"][0].read_bytes()
    assert any("（一部を更新）" in text for text in read_pdf(path).pages)


def test_a_damaged_cache_entry_is_laid_out_again(built, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(built["cache"], cache)
    entries = sorted(cache.glob("*.part"))
    for entry in entries:  # damage every entry: one by truncation, the others by a changed byte
        data = bytearray(entry.read_bytes())
        if entry == entries[0]:
            del data[len(data) // 2:]
        else:
            data[-10] ^= 0xFF
        entry.write_bytes(bytes(data))
    path, _, stats = _by_parts(OFFICIAL, cache, tmp_path, "again")
    assert stats.cached == []
    assert path.read_bytes() == built["cold"][0].read_bytes()


def _pipeline(sources: Path, **options):
    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import Request, build

    diags = Diagnostics()
    built = build(Request(sources=sources, formats=frozenset({"pdf"}), **options), diags)
    assert not diags.has_errors, diags.items
    return built


def test_builds_reuse_the_cache_and_single_pass_or_pdf_a_do_not_use_it(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("FOLLOWUP_CACHE_DIR", str(tmp_path / "cache"))
    first = _pipeline(mini)
    (name, stats), = first.layout.items()
    assert name.endswith(".pdf") and stats.cached == [] and {"front", "stamp-1", "body-1"} <= set(stats.laid_out)
    again = _pipeline(mini)
    assert again.layout[name].laid_out == [] and sorted(again.layout[name].cached) == sorted(stats.laid_out)
    assert again.files[name][:4] == b"%PDF"
    assert _pipeline(mini, single_pass=True).layout == {}
    archival = _pipeline(mini, pdf_variant="a-2b")
    assert archival.layout == {} and any("PDF/A" in note for note in archival.notes)


def test_no_cache_inside_the_sources(mini, monkeypatch):
    monkeypatch.setenv("FOLLOWUP_CACHE_DIR", str(mini / ".cache"))
    built = _pipeline(mini)
    assert not (mini / ".cache").exists()
    assert all(stats.cached == [] for stats in built.layout.values())


def _preview_both_ways(mini: Path, tmp_path: Path, ministry: str) -> dict[bool, Path]:
    """The preview of ``ministry`` by parts (key ``False``) and in one pass (``True``), as files."""
    paths = {}
    for single_pass in (False, True):
        built = _pipeline(mini, ministries=(ministry,), single_pass=single_pass)
        (name, data), = built.files.items()
        paths[single_pass] = tmp_path / f"{single_pass}.pdf"
        paths[single_pass].write_bytes(data)
    return paths


def test_a_preview_by_parts_equals_its_single_pass(mini, tmp_path, monkeypatch):
    """The preview's page mark (top of every page) and footers come from the stamp: same text, same pixels."""
    from tests.helpers import pdf_pages

    monkeypatch.setenv("FOLLOWUP_CACHE_DIR", str(tmp_path / "cache"))
    paths = _preview_both_ways(mini, tmp_path, "経産省")
    by_parts, single = pdf_pages(paths[False]), pdf_pages(paths[True])
    assert by_parts == single
    assert len(single) >= 2 and all("経産省" in text for text in single)
    assert _rendered(paths[False], tmp_path / "a") == _rendered(paths[True], tmp_path / "b")


def test_the_longest_part_ends_while_the_other_worker_is_on_small_parts():
    """Longest first, but the second longest waits while the other worker fills most of the longest's
    time (large parts first, small ones last), unless that would make the build longer."""
    from compiler.writers.pdf_parts import _schedule

    def jobs(*sizes):
        return [(f"body-{n}", (None, "x" * size)) for n, size in enumerate(sizes, 1)]

    order = [name for name, _ in _schedule(jobs(48, 147, 119, 55, 167, 120, 233, 224, 355), 2)]
    assert order == ["body-9", "body-8", "body-4", "body-7", "body-5", "body-2", "body-6", "body-3", "body-1"]
    # the two longest make more than half the work: plain longest first
    assert [name for name, _ in _schedule(jobs(10, 90, 100, 20), 2)] == ["body-3", "body-2", "body-4", "body-1"]
    assert [name for name, _ in _schedule(jobs(10, 90, 100, 20), 1)] == ["body-3", "body-2", "body-4", "body-1"]


def test_the_stamp_runs_start_at_fixed_pages_and_the_last_comes_with_the_total(monkeypatch):
    from compiler.paging import parts

    monkeypatch.setattr(parts, "STAMP_PAGES", 10)
    assert parts.stamp_runs(9, 0) == []
    assert parts.stamp_runs(25, 0) == [(1, 10), (11, 10)]
    assert parts.stamp_runs(25, 20) == []
    assert parts.stamp_runs(25, 20, total=True) == [(21, 5)]
    assert parts.stamp_runs(30, 20, total=True) == [(21, 10)]
    assert parts.stamp_runs(0, 0, total=True) == []


def test_a_stamp_laid_out_in_many_runs_numbers_every_page_as_one_pass(mini, tmp_path, monkeypatch):
    """The stamp in runs of one page (each queued as soon as the body is known to reach it): every
    footer number and preview mark is where one pass puts it."""
    from compiler.paging import parts
    from tests.helpers import pdf_pages

    monkeypatch.setenv("FOLLOWUP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(parts, "STAMP_PAGES", 1)
    paths = {}
    for single_pass in (False, True):
        built = _pipeline(mini, ministries=("経産省",), single_pass=single_pass)
        (name, data), = built.files.items()
        paths[single_pass] = tmp_path / f"{single_pass}.pdf"
        paths[single_pass].write_bytes(data)
        if not single_pass:
            (stats,) = built.layout.values()
    by_parts = pdf_pages(paths[False])
    assert len([name for name in stats.laid_out if name.startswith("stamp-")]) >= 2
    assert by_parts == pdf_pages(paths[True])
    assert _rendered(paths[False], tmp_path / "a") == _rendered(paths[True], tmp_path / "b")


def test_a_preview_without_items_by_parts_is_its_front_part(mini, tmp_path, monkeypatch):
    """No body part at all (a registered ministry with no rows): the front alone is merged, with its mark.
    One pass adds a blank numbered page for the empty body; by parts there is no body page to print."""
    from tests.helpers import pdf_pages

    document = mini / "document.yaml"
    document.write_text(document.read_text(encoding="utf-8") + "  - name: 総務省\n", encoding="utf-8")
    monkeypatch.setenv("FOLLOWUP_CACHE_DIR", str(tmp_path / "cache"))
    paths = _preview_both_ways(mini, tmp_path, "総務省")
    by_parts, single = pdf_pages(paths[False]), pdf_pages(paths[True])
    assert by_parts == single[:len(by_parts)] and all("総務省" in text for text in by_parts)
    assert len(single) == len(by_parts) + 1 and "目次" not in single[-1]  # one pass: the empty body's page "1"
    assert _rendered(paths[False], tmp_path / "a") == _rendered(paths[True], tmp_path / "b")[:len(by_parts)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), max_size=30))
def test_the_merged_outline_nests_bookmarks_as_weasyprint_does(levels):
    """The merge's outline tree (``pdf_merge.outline_tree``) is the one WeasyPrint's own rule makes of
    the same heading levels, skipped levels included."""
    from weasyprint.anchors import make_page_bookmark_tree
    from weasyprint.matrix import Matrix

    from compiler.writers import engine
    from compiler.writers.pdf_merge import outline_tree

    engine.load()

    class Page:
        bookmarks = [(level, str(i), (i, 0), "open") for i, level in enumerate(levels)]

    theirs: list = []
    make_page_bookmark_tree(Page(), [], [theirs], 0, 0, Matrix())

    def weasyprint_shape(tree):  # WeasyPrint's subtrees: (label, (page, x, y), children, state)
        return [(int(label), weasyprint_shape(children)) for label, _, children, _ in tree]

    def ours(tree):
        return [(index, ours(children)) for index, children in tree]

    assert ours(outline_tree(levels)) == weasyprint_shape(theirs)


def test_the_theme_s_sheet_is_parsed_once_for_every_kind_of_part(mini, monkeypatch):
    """A body part, the front part and a stamp laid out with one font configuration (as in a worker):
    the theme's stylesheet is read once, each part's additions once per kind."""
    import weasyprint

    from compiler.paging import parts
    from compiler.writers import pdf, pdf_parts
    from compiler.writers.html import stylesheet

    doc, theme = _compile(mini)
    monkeypatch.setattr(pdf_parts, "_fonts", pdf.fonts())
    read: list[str] = []
    original = weasyprint.CSS.__init__

    def recording(self, *args, string=None, **kwargs):
        read.append(string)
        original(self, *args, string=string, **kwargs)

    monkeypatch.setattr(weasyprint.CSS, "__init__", recording)
    body = parts.body_parts(doc)
    results = [pdf_parts.lay_out(part, theme, None, None) for part in body[:2]]
    pages = parts.BodyPages(tuple(r.pages for r in results), tuple(r.anchors for r in results)).page_map()
    for part in (body[0], parts.front_part(doc, pages), parts.stamp_part(doc, 1, 2)):
        pdf_parts.lay_out(part, theme, None, None)
    try:
        assert read.count(stylesheet(theme)) == 1
        assert len(read) == len(set(read)) == 4  # the theme's, and the body's, the front's and the stamp's additions
    finally:
        pdf.close_fonts(pdf_parts._fonts)


def test_page_furniture_is_laid_out_without_measuring_its_text(mini, monkeypatch):
    """The page number and a preview's mark sit in margin boxes as wide as the text: WeasyPrint never
    measures their text's narrowest and widest width (for a preview mark, a line break tried at every
    character of every page), in one pass or in a stamp."""
    from dataclasses import replace

    from weasyprint.layout import page as weasy_page

    from compiler.paging import parts
    from compiler.writers import pdf

    doc, theme = _compile(mini)
    doc = replace(doc, preview="プレビュー（経済産業省の項目のみ・確定版ではありません）")
    measured = []
    for name in ("min_content_width", "max_content_width"):
        original = getattr(weasy_page, name)
        monkeypatch.setattr(weasy_page, name, lambda *args, _original=original, **kwargs:
                            measured.append(1) or _original(*args, **kwargs))
    for part in (None, parts.stamp_part(doc, 1, 3)):
        laid = pdf.layout(doc if part is None else part.document, theme, part=part)
        try:
            assert len(laid.document.pages) >= 2
        finally:
            laid.close()
    assert measured == []


def test_without_a_cache_folder_no_part_key_is_made(mini, tmp_path, monkeypatch):
    """A build with no part cache (``FOLLOWUP_CACHE_DIR=``) neither hashes the project's files for keys nor
    makes any; with a folder, every part laid out has one."""
    from compiler import cache as part_cache
    from compiler.cache import PartCache
    from compiler.writers import pdf_parts

    doc, theme = _compile(mini)
    made = []
    original = part_cache.part_key
    monkeypatch.setattr(pdf_parts, "part_key", lambda *pieces: made.append(1) or original(*pieces))
    _, _, stats = pdf_parts.write(doc, theme, None, None, PartCache(None), workers=1)
    assert stats.laid_out and made == []
    _, _, stats = pdf_parts.write(doc, theme, None, None, PartCache(tmp_path / "parts-cache"), workers=1)
    assert len(made) == len(stats.laid_out)
