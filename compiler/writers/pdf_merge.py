"""PDF merge: the laid-out parts (front, body parts, stamp) → one tagged PDF, with pikepdf (qpdf).

pikepdf copies objects between files and renumbers them; what a merged PDF needs beyond that
is done here:

* **Order**: every part's pages go before those already merged: the body parts from the last to
  the first (while the front part is still being laid out, see ``pdf_parts.write``), then the
  stamp's pages are drawn on the body, then the front part.
* **Catalog**: as WeasyPrint wrote the front part's: /Lang, /MarkInfo, /ViewerPreferences
  (DisplayDocTitle), the XMP metadata (PDF/UA-1 identification), the Info dictionary and the file
  identifier (the first /ID entry; a release pins it) are the front part's.
* **Pages**: each part's pages are put before those of the parts merged before it.
* **Structure tree**: one StructTreeRoot with a single /Document element; WeasyPrint gives it one
  element per page, so each part's elements are put before those already merged and re-parented
  (every other element of a part hangs below them). The ParentTree keys of each part are
  shifted past the previous parts' keys, and each page's /StructParents and each annotation's
  /StructParent with them. /RoleMap and /ClassMap are merged.
* **Named destinations**: the body parts' /Dests are merged (the first of a name in the document
  wins, as in one pass) into one sorted name tree. The contents' links name their targets, so they resolve to
  headings in other parts. (The front part gives each contents entry's target name to the entry
  itself, only so that WeasyPrint keeps its link; those destinations are replaced.)
* **Outline**: rebuilt from all parts' entries and bookmark levels, nested by the rule WeasyPrint
  nests them by in one pass (``outline_tree``), so it equals the outline of one pass.
* **Fonts**: each part embeds a stub of every shipped font it uses (``part_fonts``): the font's
  file and the glyphs used. The stubs of one font are replaced by one program, the shipped file
  subset once to every part's glyphs, so the merged file carries each font program once. The
  fonts are found through the resources of the pages (and their forms) as the parts come in.
* **Page furniture**: each stamp page becomes a form XObject drawn on its body page, marked as an
  /Artifact (page numbers are pagination artifacts, ISO 14289-1 7.8).

``release``: saved with a deterministic second /ID entry (a digest of the content), so the same
parts give the same bytes.
"""

from __future__ import annotations

import io

from compiler.cache import PartResult

_STAMP_NAME = "FuStamp"


def _open(data: bytes):
    import pikepdf

    return pikepdf.open(io.BytesIO(data))


def _nums(tree) -> list[tuple[int, object]]:
    """(key, value) pairs of a number tree (WeasyPrint writes a flat /Nums array)."""
    import pikepdf

    if tree is None:
        return []
    pairs = []
    if "/Nums" in tree:
        nums = list(tree.Nums)
        pairs += [(int(nums[i]), nums[i + 1]) for i in range(0, len(nums), 2)]
    for kid in tree.get("/Kids", pikepdf.Array()):
        pairs += _nums(kid)
    return pairs


def _outline_entries(pdf) -> list[tuple[str, object, bool]]:
    """(title, destination, closed) of every outline entry, in document order."""
    entries = []

    def walk(item):
        while item is not None:
            entries.append((str(item.Title), item.Dest, int(item.get("/Count", 0)) < 0))
            if "/First" in item:
                walk(item.First)
            item = item.get("/Next")

    outlines = pdf.Root.get("/Outlines")
    if outlines is not None and "/First" in outlines:
        walk(outlines.First)
    return entries


class Merger:
    """``add_body`` each body part from the last to the first, ``stamp`` each run of stamp pages, then
    ``add_front`` and ``finish``."""

    def __init__(self):
        self.pdf = None
        self.document = None  # the merged /Document structure element
        self.parent_tree: list[tuple[int, object]] = []
        self.next_key = 0
        self.dests: dict[str, object] = {}
        self.bookmarks: list[tuple[int, str, object, bool]] = []
        self.front_dests: dict[str, object] = {}
        self.front_pages = 0
        self.version = "1.7"  # the front part's, at least
        self.kids: list = []  # the /Document's elements, the first part's first (set in ``finish``)
        self.cid_fonts: dict = {}  # objgen → a CIDFont with an embedded program, as the parts are merged
        self._resources: set = set()  # objgens of the resource dictionaries already looked through

    def _dests(self, src, copy: bool) -> dict[str, object]:
        import pikepdf

        names = src.Root.get("/Names")
        if names is None or "/Dests" not in names:
            return {}
        tree = pikepdf.NameTree(names.Dests)
        return {str(name): self._copy(dest) if copy else dest for name, dest in tree.items()}

    def _copy(self, value, src=None):
        """``value`` of another file (``src``), its indirect objects copied into this one; a direct array
        is copied whole, as an indirect one, when ``src`` is given (else item by item)."""
        import pikepdf

        if isinstance(value, pikepdf.Array) and not value.is_indirect and src is not None:
            value = src.make_indirect(value)
        if isinstance(value, pikepdf.Object) and value.is_indirect:
            return self.pdf.copy_foreign(value)
        if isinstance(value, pikepdf.Array):
            return pikepdf.Array([self._copy(item) for item in value])
        return value

    def _find_fonts(self, resources) -> None:
        """Note the embedded CIDFonts of a resource dictionary and of the forms and patterns it names."""
        import pikepdf

        if not isinstance(resources, pikepdf.Dictionary):
            return
        if resources.is_indirect:
            if resources.objgen in self._resources:
                return
            self._resources.add(resources.objgen)
        for font in resources.get("/Font", pikepdf.Dictionary()).values():
            for descendant in font.get("/DescendantFonts", pikepdf.Array()):
                if descendant.get("/Subtype") == "/CIDFontType2" and "/FontFile2" in descendant.get("/FontDescriptor", {}):
                    self.cid_fonts[descendant.objgen] = descendant
        for kind in ("/XObject", "/Pattern"):
            for item in resources.get(kind, pikepdf.Dictionary()).values():
                if isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
                    self._find_fonts(item.get("/Resources"))

    def _add_bookmarks(self, src, part: PartResult, copy: bool) -> None:
        import pikepdf

        entries = _outline_entries(src)
        if len(entries) != len(part.levels):
            raise RuntimeError(f"outline of a part has {len(entries)} entries for {len(part.levels)} bookmark levels")
        for level, (title, dest, closed) in zip(part.levels, entries):
            if copy:
                dest = self._copy(dest)
            self.bookmarks.append((level, title, dest, closed))

    def add_body(self, part: PartResult) -> None:
        """A body part: its pages go before those of the body parts already added (which follow it)."""
        if self.front_pages:
            raise RuntimeError("the body parts go in before the front part")
        self._add(part, front=False)

    def add_front(self, front: PartResult) -> None:
        """The front part (title and contents): its pages go first, its catalog becomes the file's."""
        self._add(front, front=True)

    def _start(self) -> None:
        """The new file, with an empty structure tree of one /Document (made once, by the first part or stamp)."""
        import pikepdf

        if self.pdf is not None:
            return
        self.pdf = pikepdf.new()
        self.pdf.Root.StructTreeRoot = self.pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
        self.document = self.pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document,
                                                                  P=self.pdf.Root.StructTreeRoot, K=pikepdf.Array()))
        self.pdf.Root.StructTreeRoot.K = pikepdf.Array([self.document])

    def _add(self, part: PartResult, front: bool) -> None:
        import pikepdf

        self._start()
        src = _open(part.pdf)
        if front:
            self._take_catalog(src)
            self.front_pages = len(src.pages)
        for n, page in enumerate(src.pages):
            self.pdf.pages.insert(n, page)
        new_pages = self.pdf.pages[:len(src.pages)]
        src_root = src.Root.StructTreeRoot
        src_document = src_root.K[0] if isinstance(src_root.K, pikepdf.Array) else src_root.K
        base = self.next_key
        for page in new_pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + base
            for annot in page.obj.get("/Annots", pikepdf.Array()):
                if "/StructParent" in annot:
                    annot.StructParent = int(annot.StructParent) + base
            self._find_fonts(page.obj.get("/Resources"))
        # Every element of a part hangs below one of its /Document's kids (WeasyPrint's tree; the tests
        # walk every marked element up to the one /Document): re-parenting the kids re-parents them all.
        kids = []
        for kid in src_document.K:
            copied = self._copy(kid)
            if isinstance(copied, pikepdf.Dictionary):
                copied.P = self.document
            kids.append(copied)
        self.kids[0:0] = kids  # this part's elements come first
        pairs = _nums(src_root.get("/ParentTree"))
        for key, value in pairs:
            self.parent_tree.append((key + base, self._copy(value, src)))
        self.next_key = base + max((k for k, _ in pairs), default=-1) + 1
        for map_name in ("/RoleMap", "/ClassMap"):
            if map_name in src_root:
                target = self.pdf.Root.StructTreeRoot.get(map_name)
                if target is None:
                    self.pdf.Root.StructTreeRoot[map_name] = target = pikepdf.Dictionary()
                for name, value in src_root[map_name].items():
                    if name not in target:
                        target[name] = self._copy(value)
        if front:  # its entries' own names only keep WeasyPrint's links: the body's come first (``finish``)
            self.front_dests = self._dests(src, copy=True)
        else:  # this part comes before the parts already in: its destination of a name wins
            self.dests.update(self._dests(src, copy=True))
        later, self.bookmarks = self.bookmarks, []
        self._add_bookmarks(src, part, copy=True)
        self.bookmarks += later

    def _take_catalog(self, src) -> None:
        """The front part's /Lang, /MarkInfo, /ViewerPreferences, XMP metadata, Info, /ID and version."""
        import pikepdf

        self.version = max(self.version, src.pdf_version, key=lambda v: tuple(int(n) for n in v.split(".")))

        def take(value):
            if isinstance(value, (pikepdf.Dictionary, pikepdf.Array)) and not value.is_indirect:
                value = src.make_indirect(value)  # a direct container of the other file: copied whole
            return self._copy(value)

        for key in ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata"):
            if key in src.Root:
                self.pdf.Root[key] = take(src.Root[key])
        if "/Info" in src.trailer:
            self.pdf.trailer.Info = take(src.trailer.Info)
        if "/ID" in src.trailer:
            self.pdf.trailer.ID = pikepdf.Array([pikepdf.String(bytes(part)) for part in src.trailer.ID])

    def stamp(self, stamp: PartResult, first: int = 1) -> None:
        """Draw each stamp page (as an artifact) on the body page of the same number, the stamp's first page
        on body page ``first`` (after the last body part, before ``add_front``)."""
        import pikepdf

        if self.front_pages:
            raise RuntimeError("the stamp goes on the body pages before the front part is added")
        self._start()
        src = _open(stamp.pdf)
        body = self.pdf.pages[first - 1:first - 1 + stamp.pages]
        if len(src.pages) != stamp.pages or len(body) != stamp.pages:
            raise RuntimeError(f"a stamp of {len(src.pages)} pages from page {first} for {len(self.pdf.pages)} body pages")
        for number, (page, stamp_page) in enumerate(zip(body, src.pages), start=first):
            # Only the drawing: the stamp's own marked content (tags) is dropped, the whole is one artifact.
            operations = [op for op in pikepdf.parse_content_stream(stamp_page)
                          if str(op.operator) not in ("BDC", "BMC", "EMC", "MP", "DP")]
            stamp_page.obj.Contents = src.make_stream(pikepdf.unparse_content_stream(operations))
            form = self.pdf.copy_foreign(stamp_page.as_form_xobject())
            self._find_fonts(form.get("/Resources"))
            # Named by page number, not at random: the same parts give the same bytes. (The pages of a
            # part may share one /Resources dictionary: each then lists its neighbours' stamps too.)
            name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(f"/{_STAMP_NAME}{number}"))
            page.contents_add(self.pdf.make_stream(b"q\n"), prepend=True)
            page.contents_add(self.pdf.make_stream(b"\nQ\n/Artifact BMC q " + str(name).encode("ascii") + b" Do Q EMC\n"))

    def finish(self, release: bool) -> bytes:
        import pikepdf

        root = self.pdf.Root.StructTreeRoot
        self.document.K = pikepdf.Array(self.kids)
        nums = pikepdf.Array()
        for key, value in sorted(self.parent_tree, key=lambda pair: pair[0]):
            nums.append(key)
            nums.append(value)
        root.ParentTree = self.pdf.make_indirect(pikepdf.Dictionary(Nums=nums))
        root.ParentTreeNextKey = self.next_key
        for name, dest in self.front_dests.items():  # the body's destinations of these names come first
            self.dests.setdefault(name, dest)
        tree = pikepdf.NameTree.new(self.pdf)
        for name in sorted(self.dests):
            tree[name] = self.dests[name]
        if "/Names" not in self.pdf.Root:
            self.pdf.Root.Names = pikepdf.Dictionary()
        self.pdf.Root.Names.Dests = tree.obj
        self._write_outline()
        self._share_fonts()
        out = io.BytesIO()
        self.pdf.save(out, deterministic_id=release, fix_metadata_version=False, min_version=self.version,
                      object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()

    def prepare_fonts(self) -> None:
        """Subset the fonts to the glyphs of the parts merged so far, before the last parts come in (the
        body's, while the front is laid out): ``finish`` then finds each font whose glyphs the last
        parts did not add to already subset (``part_fonts.program`` keeps its subsets), and subsets
        only the others."""
        from compiler.writers import part_fonts

        for stubs, _ in self._stubs():
            part_fonts.program(stubs)

    def _stubs(self) -> list[tuple[list[bytes], list]]:
        """The font stubs of the parts merged so far, one font after another (by name): its stubs (in the
        order of their streams) and the CIDFonts that embed them."""
        from compiler.writers import part_fonts

        stubs: dict[str, dict] = {}  # font name → {stream objgen: stub bytes}
        users: dict[str, list] = {}  # font name → the CIDFonts that embed a stub of it
        for _, obj in sorted(self.cid_fonts.items()):  # (noted as the parts came in: ``_find_fonts``)
            stream = obj.FontDescriptor.FontFile2
            data = stream.read_bytes()
            if part_fonts.is_stub(data):
                name = str(obj.FontDescriptor.FontName)
                stubs.setdefault(name, {})[stream.objgen] = data
                users.setdefault(name, []).append(obj)
        return [([stubs[name][key] for key in sorted(stubs[name])], users[name]) for name in sorted(stubs)]

    def _share_fonts(self) -> None:
        """One font program per font: the parts embedded stubs (``part_fonts``), and each font's stubs get
        the shipped file subset once to all their glyphs. A part's own subset (a font WeasyPrint
        handled itself) stays as it is."""
        import pikepdf

        from compiler.writers import part_fonts

        for stubs, users in self._stubs():
            program = part_fonts.program(stubs)
            shared = pikepdf.Stream(self.pdf, program)
            shared.Length1 = len(program)
            for cid_font in users:
                cid_font.FontDescriptor.FontFile2 = shared

    def _write_outline(self) -> None:
        import pikepdf

        def add(subtrees, parent):
            items, count = [], len(subtrees)
            for index, children in subtrees:
                _, title, dest, closed = self.bookmarks[index]
                item = self.pdf.make_indirect(pikepdf.Dictionary(Title=pikepdf.String(title), Dest=dest))
                kids, kids_count = add(children, item)
                item.Count = -kids_count if closed else kids_count
                count += 0 if closed else kids_count
                if items:
                    item.Prev = items[-1]
                    items[-1].Next = item
                if kids:
                    item.First, item.Last = kids[0], kids[-1]
                item.Parent = parent
                items.append(item)
            return items, count

        root = outline_tree([level for level, _, _, _ in self.bookmarks])
        if "/Outlines" in self.pdf.Root:
            del self.pdf.Root.Outlines
        if not root:
            return
        outlines = self.pdf.make_indirect(pikepdf.Dictionary())
        items, count = add(root, outlines)
        outlines.Count, outlines.First, outlines.Last = count, items[0], items[-1]
        self.pdf.Root.Outlines = outlines


def outline_tree(levels: list[int]) -> list[tuple[int, list]]:
    """Bookmarks by heading level (1 = h1…) as a tree of ``(index, children)``, nested the way WeasyPrint
    nests them in one pass: a bookmark is a child of the nearest earlier one of a lower level, so a
    skipped level (an h3 right under an h1) makes no empty level."""
    root: list = []
    open_levels: list[tuple[int, list]] = []  # (level, children) from the outermost open bookmark in
    for index, level in enumerate(levels):
        while open_levels and open_levels[-1][0] >= level:
            open_levels.pop()
        children: list = []
        (open_levels[-1][1] if open_levels else root).append((index, children))
        open_levels.append((level, children))
    return root


def prepare() -> None:
    """Import what the merge uses, and identify the shipped fonts and open the subsetter it gives them
    (``part_fonts``): called once the body parts are queued, while the pool's host is still starting,
    so that none of it is on the way at the end (0.05 s of ``finish``)."""
    from compiler.interrupt import deferred
    from compiler.writers import part_fonts

    with deferred():  # an interrupt waits for the C extension's import (a half-imported pikepdf is broken)
        import pikepdf  # noqa: F401
    part_fonts.shipped()
    try:
        part_fonts.subsetter()
    except OSError:  # no HarfBuzz subsetter: ``program`` falls back to fontTools
        pass
