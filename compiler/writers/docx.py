"""DOCX writer: the intermediate document, the theme and a page map → DOCX bytes with python-docx.

Every size, margin, width and font comes from the theme (``compiler.theme``),
every label from the document. Named styles for every kind of paragraph (no direct formatting where a style
should be), heading levels for pillar/policy/category, a table of contents in
two columns (a Table of Contents content control) whose entries link to
``_Toc`` bookmarks and carry cached ``PAGEREF`` numbers
(from the page map it is given: this module lays nothing out; ``toc_bookmarks``
tells a pager which bookmark stands for which anchor), a repeating header row,
fixed column widths, footer page numbers, and fixed zip timestamps.

The same document as the PDF on any machine: the shipped fonts are embedded
(``docx_fonts``: subset, obfuscated) under their own family names; every
length comes from the same theme values as the CSS (exact line pitch per
style, cell padding, hanging indents of exactly the marker box); runs are
split by script so Latin words and numbers carry en-US and never break
mid-token in LibreOffice. Every paragraph that holds source text carries a
bookmark ``fu_<n>`` that the package's handle map names as a field
(``<id>:<field>``, ``docs/docx-handles.md``, names shared with the Word import
in ``compiler.docx_handles``), for the Word import to read back.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from functools import lru_cache
from xml.sax.saxutils import escape as xml_escape

from docx import Document as new_docx
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import NamespacePrefixedTag, qn
from docx.oxml.parser import oxml_parser
from docx.shared import Mm, Pt, RGBColor
from docx.styles import BabelFish
from docx.styles.style import StyleFactory
from lxml import etree

from compiler import document as d
from compiler import docx_handles as handles
from compiler.paging import NO_PAGES, PageMap
from compiler.theme import Theme
from compiler.writers import docx_fonts

TWIPS_PER_MM = 1440 / 25.4
PT_PER_MM = 72 / 25.4
BOOKMARK_PREFIX = "_Toc"
# No keep-with-next inside table cells: LibreOffice 7.4 turns it into keeping whole rows together
# (measured: 49 pages instead of 35, 5 of 42 TOC headings on the PDF's page); headings outside
# the table keep with what follows.
TOC_NUMBER_EM = 2  # room kept for a TOC entry's page number (two half-width digits and a gap)
HANDLE_BOOKMARK = handles.HANDLE_BOOKMARK
HANDLE_BOOKMARK_BASE = 100000  # bookmark ids of the handles, clear of the TOC bookmarks' ids
# Latin words and numbers (with the marks inside them: 4.0, 2,001, 100%, Post Merger): tagged en-US.
LATIN_RE = re.compile(r"[0-9A-Za-z\u00C0-\u024F](?:[0-9A-Za-z\u00C0-\u024F.,:;%'’&+/@#\-]|[ ](?=[0-9A-Za-z]))*")


def new_element(tag: str, **attrs) -> OxmlElement:
    """``OxmlElement(tag)`` with ``w:`` attributes, its tag's name and namespaces worked out once."""
    name, nsmap = _tag(tag)
    el = oxml_parser.makeelement(name, nsmap=nsmap)
    for k, v in attrs.items():
        el.set(_w_attribute(k), str(v))
    return el


def _add_style(styles, name: str, style_type):
    """``styles.add_style`` without its check that no style has the name, which walks every style of the
    template (31 styles added: 0.03 s); the caller knows the names it has (``_Styles``)."""
    return StyleFactory(styles.element.add_style_of_type(BabelFish.ui2internal(name), style_type, False))


@lru_cache(maxsize=None)
def _tag(tag: str) -> tuple[str, dict]:
    prefixed = NamespacePrefixedTag(tag)
    return prefixed.clark_name, prefixed.nsmap


@lru_cache(maxsize=None)
def _w_attribute(name: str) -> str:
    return qn(f"w:{name}")


def child_of(parent, tag: str, first: bool = False):
    """The ``tag`` child of ``parent``, created (at the end, or first) when missing."""
    found = parent.find(qn(tag))
    if found is None:
        found = new_element(tag)
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found


def _set_fonts(rpr, family: str) -> None:
    rfonts = child_of(rpr, "w:rFonts", first=True)
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        rfonts.set(qn(f"w:{slot}"), family)
    for theme in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{theme}"), None)


class _Styles:
    """Creates the named styles once; everything else refers to them by name.

    ``roles`` maps every paragraph and character style to the font role it sets (text, heading,
    heading_bold), so the font subsets hold exactly the characters set in each font; ``hang``
    gives each marked style's hanging indent (one marker box, ``hanging_em`` of its own size)."""

    def __init__(self, doc, s: Theme, faces: dict[str, docx_fonts.FontFace]):
        self.doc, self.s = doc, s
        self.roles: dict[str, str] = {}
        self.hang: dict[str, float] = {}
        text_font, head_font = faces["text"].family, faces["heading"].family
        size = s.text.size_pt
        lh = s.text.line_height
        h, sp = s.headings, s.spacing_mm
        styles = doc.styles
        # document defaults: fonts, Japanese language (en-US for Latin script), kinsoku, no autospace
        rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_fonts(rpr_default, text_font)
        lang = child_of(rpr_default, "w:lang")
        lang.set(qn("w:val"), "en-US")
        lang.set(qn("w:eastAsia"), "ja-JP")
        ppr_default = child_of(doc.styles.element.find(qn("w:docDefaults")), "w:pPrDefault")
        ppr_default = child_of(ppr_default, "w:pPr")
        for tag in ("w:autoSpaceDE", "w:autoSpaceDN"):
            ppr_default.append(new_element(tag, val="0"))
        normal = styles["Normal"]
        normal.font.size = Pt(size)
        pf = normal.paragraph_format
        pf.space_before, pf.space_after = Pt(0), Pt(0)
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(s.text.line_pitch_pt)
        pf.widow_control = True
        ppr = normal.element.get_or_add_pPr()
        for tag, val in (("w:kinsoku", "1"), ("w:overflowPunct", "1"), ("w:autoSpaceDE", "0"), ("w:autoSpaceDN", "0")):
            ppr.append(new_element(tag, val=val))
        self.roles["Normal"] = "text"
        by_name = {x.name: x for x in styles}  # python-docx finds a style by walking them all

        def para(name, base="Normal", font=None, bold=None, size_pt=None, left=0.0, hang=False, first=0.0,
                 before=0.0, after=0.0, align=None, keep_next=False, page_break=False, pitch_pt=None):
            st = by_name.get(name)
            if st is None:
                st = by_name[name] = _add_style(styles, name, WD_STYLE_TYPE.PARAGRAPH)
            st.base_style = by_name[base] if base else None
            st.quick_style = True
            f = st.font
            if font:
                _set_fonts(st.element.get_or_add_rPr(), font)
            f.bold = bold
            f.italic = False
            f.color.rgb = RGBColor(0, 0, 0)
            if size_pt:
                f.size = Pt(size_pt)
            own = size_pt or size
            p = st.paragraph_format
            p.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            p.line_spacing = Pt(pitch_pt or own * lh)  # the CSS line-height, in the paragraph's own size
            hanging = own * s.text.hanging_em if hang else 0.0
            p.left_indent = Pt(left * own + hanging) if left or hanging else None
            if hanging:
                p.first_line_indent = Pt(-hanging)
                self.hang[name] = hanging
                p.tab_stops.add_tab_stop(Pt(left * own + hanging))  # the text after a narrow marker
            elif first:
                p.first_line_indent = Pt(first * own)
            p.space_before, p.space_after = Pt(before), Pt(after)
            if align is not None:
                p.alignment = align
            p.keep_with_next = keep_next or None
            p.page_break_before = page_break or None
            self.roles[name] = ("heading_bold" if bold else "heading") if font == head_font else self.roles.get(base, "text")
            return st

        mm = PT_PER_MM
        para("Title", font=head_font, bold=True, size_pt=h.title_pt, align=WD_ALIGN_PARAGRAPH.CENTER,
             before=sp.title_before * mm, after=sp.title_after * mm)
        title_ppr = styles["Title"].element.get_or_add_pPr()
        for border in title_ppr.findall(qn("w:pBdr")):
            title_ppr.remove(border)
        para("FU As Of", align=WD_ALIGN_PARAGRAPH.RIGHT, after=sp.as_of_after * mm)
        para("TOC Heading", font=head_font, bold=True, size_pt=h.toc_title_pt, align=WD_ALIGN_PARAGRAPH.CENTER,
             after=sp.toc_title_after * mm)
        # the contents as in the PDF: pillar entries hang 1.5 em, policies 2.5 em (first line at 1 em), categories 2 em
        toc_levels = ((1.5, -1.5, head_font, True, sp.toc_pillar_before, None, True),
                      (2.5, -1.5, head_font, False, sp.toc_policy_before, None, True),
                      (2.0, 0.0, None, False, 0, s.text.toc_category_size_pt, False))
        self.toc_width = Mm((s.page.text_width_mm - sp.toc_column_gap) / 2)
        for level, (indent, first, font, bold, before, toc_size, keep) in enumerate(toc_levels, 1):
            st = para(f"toc {level}", font=font, bold=bold, left=indent, first=first, before=before * mm,
                      size_pt=toc_size, keep_next=keep)
            st.paragraph_format.tab_stops.add_tab_stop(self.toc_width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
            # a long entry wraps before the page numbers' room; the tab still reaches the column's edge
            st.paragraph_format.right_indent = Pt(TOC_NUMBER_EM * (toc_size or size))
        para("Heading 1", font=head_font, bold=True, size_pt=h.pillar_pt, after=sp.pillar_after * mm, keep_next=True)
        para("Heading 2", font=head_font, bold=True, size_pt=h.policy_pt, after=sp.policy_after * mm, keep_next=True)
        para("Heading 3", font=head_font, bold=True, size_pt=h.category_pt, after=sp.category_after * mm)
        para("FU Category", font=head_font, bold=True, size_pt=h.category_pt, after=sp.category_after * mm)
        para("FU Principle Label", font=head_font, bold=True, after=sp.principle_label_after * mm, keep_next=True)
        para("FU Principle", first=1)
        para("FU Principle First")  # the paragraph that opens with the policy number: no indent
        para("FU Principle Note", size_pt=s.text.principle_note_size_pt, hang=True, before=sp.principle_note_before * mm)
        # the gap between the principle box and the table (a paragraph must separate two tables)
        para("FU Gap", size_pt=1, pitch_pt=sp.principle_after * mm)
        para("FU Table Header", font=head_font, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        para("FU Commitment", first=1)
        para("FU Commitment First")  # the paragraph that opens with the item number: no indent
        # a paragraph that opens with an enumerator （1）: it hangs on it (the fonts are fixed-pitch)
        para("FU Commitment Enumerated", left=s.text.enumerator_em, first=-s.text.enumerator_em)
        para("FU Ministry Tag", align=WD_ALIGN_PARAGRAPH.RIGHT, before=sp.between_blocks * mm)
        para("FU Project", font=head_font, hang=True, before=sp.before_project * mm)
        para("FU Budget", left=s.text.hanging_em)
        para("FU Paragraph", before=sp.between_blocks * mm)
        para("FU Note", size_pt=s.text.note_size_pt, hang=True, before=sp.between_blocks * mm)
        para("FU Omission", align=WD_ALIGN_PARAGRAPH.CENTER)
        for level in (1, 2, 3):
            for kind in ("Bullet", "Numbered"):
                para(f"FU {kind} {level}", left=s.text.hanging_em * (level - 1), hang=True,
                     before=sp.between_list_items * mm)
            para(f"FU Entry Paragraph {level}", left=s.text.hanging_em * level, before=sp.between_list_items * mm)
        ch = by_name.get("FU Item Number") or _add_style(styles, "FU Item Number", WD_STYLE_TYPE.CHARACTER)
        _set_fonts(ch.element.get_or_add_rPr(), head_font)
        self.roles["FU Item Number"] = "heading"
        # characters none of the BIZ UD fonts has (➢): the fallback font, in every slot
        sym = by_name.get("FU Symbol") or _add_style(styles, "FU Symbol", WD_STYLE_TYPE.CHARACTER)
        _set_fonts(sym.element.get_or_add_rPr(), faces["fallback"].family)
        self.roles["FU Symbol"] = "fallback"


def toc_bookmarks(doc: d.Document) -> dict[str, str]:
    """TOC anchor → the ``_Toc`` bookmark name written on its heading (for a pager to read pages back)."""
    return {e.anchor: f"{BOOKMARK_PREFIX}{n:08d}" for n, e in enumerate(doc.toc, 1)}


class Writer:
    """One DOCX: ``compose`` builds the whole document, ``package`` fills in the page numbers and makes the bytes.

    The page numbers are the only thing the DOCX takes from a layout (the cached result of every
    contents entry's ``PAGEREF``, and the page count LibreOffice measured), so everything else
    can be composed before any layout has run: ``draft`` packages the composed document with a
    slot for each number and lets the tree go (``Draft``; ``pipeline.render`` does that in a worker)."""

    def __init__(self, doc: d.Document, theme: Theme, pages: PageMap = NO_PAGES, embed_fonts: bool = True,
                 revision: str | None = None):
        self.src, self.s, self.pages = doc, theme, pages
        self.page_numbers: list[tuple[object, str]] = []  # (w:t of a PAGEREF's cached result, anchor)
        self._sizes: dict[str, float] = {}  # paragraph style → font size in points (``_size``)
        self.embed_fonts, self.revision = embed_fonts, revision
        self.docx = new_docx()
        self.bookmark_ids = {e.anchor: n for n, e in enumerate(doc.toc, 1)}
        self.names = toc_bookmarks(doc)
        self.faces = docx_fonts.faces(theme)
        self._styles = _Styles(self.docx, theme, self.faces)
        # python-docx looks styles up by scanning them all; resolve names once
        self.style_ids = {st.name: st.style_id for st in self.docx.styles}
        self.style_names = {v: k for k, v in self.style_ids.items()}
        self.chars: dict[str, set[str]] = {role: set() for role in self.faces}
        self.handles: list[tuple[str, str]] = []  # (field, hash of the paragraph's printed text)

    def restyle(self, paragraph, name: str):
        p = paragraph._p
        if len(p) == 0:  # a new paragraph (the usual case): its properties are its first child
            p.append(new_element("w:pPr"))
            p[0].append(new_element("w:pStyle", val=self.style_ids[name]))
        else:
            p.get_or_add_pPr().get_or_add_pStyle().val = self.style_ids[name]
        return paragraph

    def style_of(self, paragraph) -> str:
        ppr = paragraph._p.pPr
        style_id = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else None
        return self.style_names.get(style_id, "Normal")

    def add(self, container, name: str, text: str | None = None, handle: str | None = None):
        """A new paragraph of style ``name`` at the end of ``container`` (document or cell), in the
        field ``handle`` when given (``wrap``)."""
        paragraph = self.restyle(container.add_paragraph(), name)
        if text:
            self.text(paragraph, text)
        if handle:
            self.wrap(paragraph, handle)
        return paragraph

    def text(self, paragraph, text: str, char_style: str | None = None) -> None:
        """``text`` as runs split by script: characters the text font lacks in the fallback font,
        Latin words and numbers tagged en-US (so LibreOffice never breaks inside them)."""
        role = self._styles.roles.get(char_style or self.style_of(paragraph), "text")
        for piece, kind in _segments(text, self.s.fonts.text):
            r = _add_run(paragraph, piece)
            style = "FU Symbol" if kind == "symbol" else char_style
            self.chars["fallback" if kind == "symbol" else role].update(piece)
            if style or kind == "latin":  # the run's properties: its first child, in schema order
                rpr = new_element("w:rPr")
                r.insert(0, rpr)
                if style:
                    rpr.append(new_element("w:rStyle", val=self.style_ids[style]))
                if kind == "latin":
                    rpr.append(new_element("w:lang", val="en-US", eastAsia="en-US"))

    def wrap(self, paragraph, handle: str) -> None:
        """Mark ``paragraph`` as the field ``handle`` (docs/docx-handles.md): a bookmark ``fu_<n>`` around
        its content, whose handle the package records in its handle map with the hash of the paragraph's
        printed text (so an import can tell an edited paragraph without the sources). Invisible in print."""
        self.handles.append((handle, handles.field_sha(_printed_text(paragraph._p))))
        n = len(self.handles)
        bid = HANDLE_BOOKMARK_BASE + n
        p = paragraph._p
        p.insert(1 if p.pPr is not None else 0, new_element("w:bookmarkStart", id=bid, name=f"{HANDLE_BOOKMARK}{n}"))
        p.append(new_element("w:bookmarkEnd", id=bid))

    # --- helpers ---------------------------------------------------------
    def bookmark_name(self, anchor: str) -> str:
        return self.names[anchor]

    def add_bookmark(self, paragraph, anchor: str) -> None:
        if anchor not in self.bookmark_ids:
            return
        n = self.bookmark_ids[anchor]
        start = new_element("w:bookmarkStart", id=n, name=self.bookmark_name(anchor))
        end = new_element("w:bookmarkEnd", id=n)
        paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, start)
        paragraph._p.append(end)

    @staticmethod
    def add_field(paragraph, instruction: str, cached: str):
        """A complex field with its cached result; returns the result's ``w:t``."""
        def run_with(child):
            r = new_element("w:r")
            r.append(child)
            paragraph._p.append(r)

        run_with(new_element("w:fldChar", fldCharType="begin"))
        instr = new_element("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = f" {instruction} "
        run_with(instr)
        run_with(new_element("w:fldChar", fldCharType="separate"))
        t = new_element("w:t")
        t.text = cached
        run_with(t)
        rpr = new_element("w:rPr")
        rpr.append(new_element("w:lang", val="en-US", eastAsia="en-US"))
        t.addprevious(rpr)
        run_with(new_element("w:fldChar", fldCharType="end"))
        return t

    # --- front matter --------------------------------------------------------
    def front(self) -> None:
        """The contents as a borderless table of one cell per column (split where the PDF splits them),
        in a Table of Contents content control: one paragraph per entry, a hyperlink to the heading's
        ``_Toc`` bookmark and a ``PAGEREF`` field with the cached page number. No TOC field: LibreOffice
        lays a TOC field out as an index in one full-width column whatever the columns or table around
        it; without one it keeps the table's columns and recomputes every ``PAGEREF``. Word offers
        "Update Table" on the content control."""
        from compiler.writers.html import toc_columns

        columns = toc_columns(self.src.toc)
        gap = round(self.s.spacing_mm.toc_column_gap * TWIPS_PER_MM)
        width = round(self._styles.toc_width.twips)
        table = self.docx.add_table(rows=1, cols=len(columns))
        tblpr = table._tbl.tblPr
        borders = new_element("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            borders.append(new_element(f"w:{side}", val="nil"))
        tblpr.append(borders)
        mar = new_element("w:tblCellMar")
        for side in ("top", "left", "bottom", "right"):
            mar.append(new_element(f"w:{side}", w=0, type="dxa"))
        tblpr.append(mar)
        self.cell_width(table, [width + (gap if n < len(columns) - 1 else 0) for n in range(len(columns))])
        sdt, pr, content = new_element("w:sdt"), new_element("w:sdtPr"), new_element("w:sdtContent")
        gallery = new_element("w:docPartObj")
        gallery.append(new_element("w:docPartGallery", val="Table of Contents"))
        gallery.append(new_element("w:docPartUnique"))
        pr.append(gallery)
        sdt.append(pr)
        sdt.append(content)
        table._tbl.addprevious(sdt)
        content.append(table._tbl)
        for n, (cell, entries) in enumerate(zip(table.rows[0].cells, columns), 1):
            if n < len(columns):
                right = new_element("w:tcMar")
                right.append(new_element("w:right", w=gap, type="dxa"))
                cell._tc.get_or_add_tcPr().append(right)
            placeholder = cell.paragraphs[0]
            for e in entries:
                self.toc_entry(cell, e)
            placeholder._p.getparent().remove(placeholder._p)

    def toc_entry(self, container, e: d.TocEntry) -> None:
        p = self.add(container, f"toc {e.level}")
        link = new_element("w:hyperlink", anchor=self.bookmark_name(e.anchor), history="1")
        p._p.append(link)
        holder = self.restyle(container.add_paragraph(), f"toc {e.level}")  # temporary paragraph to build runs
        self.text(holder, e.label)
        holder.add_run().add_tab()
        self.page_numbers.append((self.add_field(holder, f"PAGEREF {self.bookmark_name(e.anchor)} \\h", ""), e.anchor))
        for child in list(holder._p):
            if child.tag == qn("w:r"):
                link.append(child)
        holder._p.getparent().remove(holder._p)

    # --- body ------------------------------------------------------------------
    def heading(self, text: str, level: int, anchor: str, handle: str, page_break: bool = False):
        p = self.add(self.docx, f"Heading {level}", text)
        if page_break:
            p.paragraph_format.page_break_before = True
        self.add_bookmark(p, anchor)
        self.wrap(p, handle)
        return p

    def cell_width(self, table, widths) -> None:
        tbl = table._tbl
        tblpr = tbl.tblPr
        tblpr.append(new_element("w:tblLayout", type="fixed"))
        tblw = child_of(tblpr, "w:tblW")
        tblw.set(qn("w:w"), str(sum(widths)))
        tblw.set(qn("w:type"), "dxa")
        grid = tbl.tblGrid
        for col, w in zip(grid.findall(qn("w:gridCol")), widths):
            col.set(qn("w:w"), str(w))
        for row in table.rows:
            for cell, w in zip(row.cells, widths):
                tcw = child_of(cell._tc.get_or_add_tcPr(), "w:tcW", first=True)
                tcw.set(qn("w:w"), str(w))
                tcw.set(qn("w:type"), "dxa")

    @staticmethod
    def _margins(tag: str, padding) -> OxmlElement:
        mar = new_element(tag)
        v, h = round(padding.vertical * TWIPS_PER_MM), round(padding.horizontal * TWIPS_PER_MM)
        for side, w in (("top", v), ("left", h), ("bottom", v), ("right", h)):
            mar.append(new_element(f"w:{side}", w=w, type="dxa"))
        return mar

    def borders(self, table, rule_pt: float, padding) -> None:
        """Rules of ``rule_pt`` on every side and cell padding ``padding`` (mm, vertical and horizontal)."""
        tblpr = table._tbl.tblPr
        b = new_element("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            b.append(new_element(f"w:{side}", val="single", sz=max(2, round(rule_pt * 8)), space=0, color="000000"))
        tblpr.append(b)
        tblpr.append(self._margins("w:tblCellMar", padding))

    def cell_padding(self, cell, padding) -> None:
        cell._tc.get_or_add_tcPr().append(self._margins("w:tcMar", padding))

    def text_width_twips(self) -> int:
        return int(round(self.s.page.text_width_mm * TWIPS_PER_MM))

    def principle(self, policy: d.Policy) -> None:
        table = self.docx.add_table(rows=1, cols=1)
        self.borders(table, self.s.table.principle_rule_pt, self.s.table.principle_padding_mm)
        self.cell_width(table, [self.text_width_twips()])
        row = table.rows[0]
        row._tr.get_or_add_trPr().append(new_element("w:cantSplit", val="1"))  # the box is never split, as in the PDF
        cell = row.cells[0]
        self.restyle(cell.paragraphs[0], "FU Principle Label")
        self.text(cell.paragraphs[0], self.src.labels.principle)
        key = f"policy.{policy.id}"
        for i, para in enumerate(policy.principle):
            if i == 0:
                p = self.add(cell, "FU Principle First")
                self.text(p, f"{policy.number} ")
                self.text(p, para)
                self.wrap(p, f"{key}:principle:{i}")
            else:
                self.add(cell, "FU Principle", para, f"{key}:principle:{i}")
        for i, note in enumerate(policy.notes):
            self.add(cell, "FU Principle Note", note, f"{key}:notes:{i}")
        self.add(self.docx, "FU Gap")

    def rows_table(self, policy: d.Policy) -> None:
        left, right = (int(round(w * TWIPS_PER_MM)) for w in self.s.column_widths_mm)  # as in the CSS
        table = self.docx.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        self.borders(table, self.s.table.rule_pt, self.s.table.cell_padding_mm)
        header = table.rows[0]
        trpr = header._tr.get_or_add_trPr()
        trpr.append(new_element("w:tblHeader", val="1"))
        trpr.append(new_element("w:cantSplit", val="1"))
        for cell, text in zip(header.cells, (self.src.labels.commitment_heading, self.src.labels.status_heading)):
            self.restyle(cell.paragraphs[0], "FU Table Header")
            self.text(cell.paragraphs[0], text)
            shd = new_element("w:shd", val="clear", color="auto", fill=self.s.table.header_fill)
            cell._tc.get_or_add_tcPr().append(shd)
            self.cell_padding(cell, self.s.table.header_padding_mm)
        for row in policy.rows:
            cells = table.add_row().cells
            if isinstance(row, d.Omission):
                merged = cells[0].merge(cells[1])
                self.restyle(merged.paragraphs[0], "FU Omission")
                self.text(merged.paragraphs[0], row.text)
                self.cell_padding(merged, self.s.table.header_padding_mm)
                continue
            self.commitment_cell(cells[0], row)
            self.status_cell(cells[1], row)
        self.cell_width(table, [left, right])

    def commitment_cell(self, cell, row: d.Row) -> None:
        first = cell.paragraphs[0]
        if row.category_anchor:
            self.restyle(first, "Heading 3")
            self.text(first, row.category)
            self.add_bookmark(first, row.category_anchor)
        else:
            self.restyle(first, "FU Category")
            self.text(first, row.category)
        self.wrap(first, f"{row.item_id}:category")
        for i, para in enumerate(row.commitment):
            p = self.add(cell, "FU Commitment First" if i == 0 else
                         "FU Commitment Enumerated" if row.enumerator(i) else "FU Commitment")
            if i == 0:
                self.text(p, row.number, "FU Item Number")
            self.text(p, para)
            self.wrap(p, f"{row.item_id}:commitment:{i}")
        self.add(cell, "FU Ministry Tag", row.ministry_tag, f"{row.item_id}:ministry_tag")

    def list_items(self, cell, items, handle: str, path: tuple[int, ...] = ()) -> None:
        for n, it in enumerate(items):
            level = min(it.level, 3)
            style = f"FU Numbered {level}" if it.numbered else f"FU Bullet {level}"
            here = path + (n,)
            p = self.marked(self.add(cell, style), it.marker, it.text)
            self.wrap(p, f"{handle}:items:{'.'.join(map(str, here))}")
            for k, para in enumerate(it.paragraphs):
                extra = self.add(cell, f"FU Entry Paragraph {level}", para)
                self.wrap(extra, f"{handle}:items:{'.'.join(map(str, here))}:paragraphs:{k}")
            if it.children:
                self.list_items(cell, it.children, handle, here)

    def marked(self, paragraph, marker: str, text: str):
        """A marker, then the text at the hanging indent: right after a marker as wide as the hang
        (○ ※ ① in the fixed-pitch BIZ UD fonts), after a tab to the hang's own stop otherwise (• ➢)."""
        style = self.style_of(paragraph)
        self.text(paragraph, marker)
        size = self._size(style)
        if _marker_width(marker, self.s, self._styles.roles.get(style, "text")) * size < self._styles.hang[style] - 0.05:
            paragraph.add_run().add_tab()
        self.text(paragraph, text)
        return paragraph

    def _size(self, style: str) -> float:
        """The font size of paragraph style ``style`` in points (its own or inherited), looked up once."""
        sizes = self._sizes
        if style not in sizes:
            st, sizes[style] = self.docx.styles[style], self.s.text.size_pt
            while st is not None:
                if st.font.size is not None:
                    sizes[style] = st.font.size.pt
                    break
                st = st.base_style
        return sizes[style]

    def block_project(self, cell, b: d.ProjectBlock, handle: str) -> None:
        p = self.marked(self.add(cell, "FU Project"), b.marker, b.name + b.reprint_mark)
        self.wrap(p, f"{handle}:name")
        for j, line in enumerate(b.budget):
            self.add(cell, "FU Budget", line, f"{handle}:budget:{j}")

    def block_list(self, cell, b: d.ListBlock, handle: str) -> None:
        self.list_items(cell, b.items, handle)

    def block_paragraph(self, cell, b: d.ParagraphBlock, handle: str) -> None:
        self.add(cell, "FU Paragraph", b.text, handle)

    def block_note(self, cell, b: d.NoteBlock, handle: str) -> None:
        self.wrap(self.marked(self.add(cell, "FU Note"), b.marker, b.text), handle)

    def block_ministry_tag(self, cell, b: d.MinistryTagBlock, handle: str) -> None:
        self.add(cell, "FU Ministry Tag", b.text, handle)

    def status_cell(self, cell, row: d.Row) -> None:
        tc = cell._tc
        placeholder = cell.paragraphs[0]  # python-docx starts every cell with an empty paragraph
        for n, b in enumerate(row.status):
            handler = getattr(self, f"block_{getattr(b, 'kind', '')}", None)
            if handler is None:
                raise d.UnknownBlock(b, "docx")
            handler(cell, b, f"{row.item_id}:status:{n}")
        if len(cell.paragraphs) > 1:
            placeholder._p.getparent().remove(placeholder._p)
        # the first block of a cell has no gap above it (the cell padding is the gap), as in the PDF
        first = next(tc.iter(qn("w:p")), None)
        if first is not None:
            first.get_or_add_pPr().append(new_element("w:spacing", before=0))

    def body(self) -> None:
        for pi, pillar in enumerate(self.src.pillars):
            self.heading(pillar.heading, 1, pillar.anchor, f"pillar.{pillar.id}:heading", page_break=pi > 0)
            for qi, policy in enumerate(pillar.policies):
                self.heading(policy.heading, 2, policy.anchor, f"policy.{policy.id}:heading", page_break=qi > 0)
                self.principle(policy)
                self.rows_table(policy)

    # --- page setup --------------------------------------------------------------
    def page_setup(self, section) -> None:
        page = self.s.page
        m = page.margin_mm
        section.page_width, section.page_height = Mm(page.width_mm), Mm(page.height_mm)
        section.top_margin, section.bottom_margin = Mm(m.top), Mm(m.bottom)
        section.left_margin, section.right_margin = Mm(m.left), Mm(m.right)
        section.header_distance = section.footer_distance = Mm(page.footer_distance_mm)
        child_of(section._sectPr, "w:docGrid").set(qn("w:linePitch"), str(round(self.s.text.line_pitch_pt * 20)))

    def footer(self, section) -> None:
        section.footer.is_linked_to_previous = False
        p = section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.add_field(p, "PAGE", "1")
        if self.src.preview:
            mark = section.footer.add_paragraph()
            self.text(mark, self.src.preview)
            mark.alignment = WD_ALIGN_PARAGRAPH.LEFT
        pg = section._sectPr.find(qn("w:pgNumType"))  # copied from the front section, which starts at 0
        if pg is None:
            pg = new_element("w:pgNumType")
            section._sectPr.find(qn("w:cols")).addprevious(pg)  # schema order: pgNumType before cols
        pg.set(qn("w:start"), "1")

    def properties(self) -> None:
        cp = self.docx.core_properties
        for name, value in d.core_properties(self.src.title, self.src.as_of, self.src.author).items():
            setattr(cp, name, value)
        cp.created = self.src.created.replace(tzinfo=None)
        cp.modified = self.src.created.replace(tzinfo=None)
        cp.revision = 1
        cp.language = "ja-JP"
        cp.comments = ""
        cp.keywords = ""

    def write(self) -> bytes:
        """``compose`` then ``package`` with the page map given to the constructor."""
        return self.compose().package(self.pages)

    def compose(self) -> "Writer":
        title = self.docx.sections[0]
        self.page_setup(title)
        if self.src.preview:
            title.footer.is_linked_to_previous = False
            p = title.footer.paragraphs[0]
            self.text(p, self.src.preview)
        self.add(self.docx, "Title", self.src.title, "document:title")
        self.add(self.docx, "FU As Of", self.src.as_of, "document:as_of")
        self.add(self.docx, "TOC Heading", self.src.labels.toc_title)
        self.front()
        # the front page is page 0, so printed page 1 follows an even page: LibreOffice would otherwise
        # insert a blank page before it (odd numbers are right-hand pages there; Word has no such rule)
        title._sectPr.find(qn("w:cols")).addprevious(new_element("w:pgNumType", start=0))
        body = self.docx.add_section(WD_SECTION.NEW_PAGE)
        self.page_setup(body)
        self.footer(body)
        self.body()
        self.properties()
        self.chars["text"].update("0123456789")  # page numbers
        return self

    def package(self, pages: PageMap) -> bytes:
        """The DOCX bytes, every contents entry caching its page in ``pages`` (blank where it has none)."""
        self.pages = pages
        for text, anchor in self.page_numbers:
            text.text = str(pages.get(anchor, "") or "")
        return self._save()

    def draft(self):
        """The composed document as a ``Draft``: packaged with a slot for each page number (or, should the
        document's own text hold what looks like a slot, this writer itself: its ``package`` does the same)."""
        self.pages = NO_PAGES
        for n, (text, _) in enumerate(self.page_numbers):
            text.text = _PAGE_SLOT.format(n)
        draft = Draft(self._save(compress=False), tuple(anchor for _, anchor in self.page_numbers))
        return draft if draft.slots() == list(range(len(self.page_numbers))) else self

    def _save(self, compress: bool = True) -> bytes:
        buf = io.BytesIO()
        self.docx.save(buf)
        fonts = docx_fonts.embed(self.s, self.chars) if self.embed_fonts else []
        return _zip(_package(buf.getvalue(), self, fonts), compress)


def _segments(text: str, text_font: str):
    """``text`` as (piece, kind) with kind "symbol" (not in the text font), "latin" or "ja"."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in LATIN_RE.finditer(text):
        if m.start() > pos:
            out.extend(_symbol_split(text[pos:m.start()], text_font))
        out.append((m.group(0), "latin"))
        pos = m.end()
    if pos < len(text):
        out.extend(_symbol_split(text[pos:], text_font))
    return out


def _add_run(paragraph, text: str):
    """A run of ``text`` at the end of ``paragraph`` (its ``w:r``): python-docx's ``add_run`` without
    its clearing and character-by-character pass, for text with no tab or line break (the same XML)."""
    if "\t" in text or "\n" in text or "\r" in text:
        return paragraph.add_run(text)._r
    r, t = new_element("w:r"), new_element("w:t")
    t.text = text
    if len(text.strip()) < len(text):
        t.set(_XML_SPACE, "preserve")
    r.append(t)
    paragraph._p.append(r)
    return r


_XML_SPACE = qn("xml:space")


def _printed_text(p) -> str:
    """``Paragraph(p).text``, as python-docx gives it."""
    return "".join(str(e) for e in _PRINTED(p))


def _symbol_split(text: str, text_font: str):
    piece, kind = "", None
    covered = docx_fonts.covered(text_font)
    for ch in text:
        k = "ja" if ord(ch) in covered or ch.isspace() else "symbol"
        if k != kind and piece:
            yield piece, kind
            piece = ""
        piece, kind = piece + ch, k
    if piece:
        yield piece, kind


def _marker_width(marker: str, theme: Theme, role: str) -> float:
    """Advance of ``marker`` in ems, in the font that sets it."""
    f = theme.fonts
    file = {"text": f.text, "heading": f.heading, "heading_bold": f.heading_bold}.get(role, f.text)
    if not all(docx_fonts.covers(file, c) for c in marker):
        file = f.fallback
    return docx_fonts.advance(file, marker)


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
# python-docx's ``Paragraph.text`` in one query (``_printed_text``): the text equivalents of its runs'
# content, its hyperlinks' runs included, in document order (each element's ``str`` is its text).
_RUN_CONTENT = "*[self::w:br or self::w:cr or self::w:noBreakHyphen or self::w:ptab or self::w:t or self::w:tab]"
_PRINTED = etree.XPath(f"w:r/{_RUN_CONTENT} | w:hyperlink/w:r/{_RUN_CONTENT}", namespaces={"w": W_NS})
# parts of python-docx's default template that describe another document
LEFTOVER_PARTS = ("docProps/thumbnail.jpeg", "word/stylesWithEffects.xml", "customXml/")
LEFTOVER_SETTINGS = ("savePreviewPicture", "rsids", "attachedTemplate")
# CT_Settings order: these come right after the elements listed here, before anything else
SETTINGS_BEFORE_FONTS = ("writeProtection", "view", "zoom", "removePersonalInformation", "removeDateAndTime",
                         "doNotDisplayPageBoundaries", "displayBackgroundShape", "printPostScriptOverText",
                         "printFractionalCharacterWidth", "printFormsData")
CUSTOM_PROPS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CUSTOM_PROPS_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
HANDLES_FORMAT = handles.HANDLES_FORMAT
HANDLES_NS = handles.HANDLES_NS


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _package(data: bytes, w: "Writer", fonts: list[docx_fonts.Embedded]) -> dict[str, bytes]:
    """The saved package's parts, finished: template leftovers removed, fonts embedded, own app.xml and custom.xml."""
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = {name: src.read(name) for name in src.namelist()
             if not any(name == x or (x.endswith("/") and name.startswith(x)) for x in LEFTOVER_PARTS)}

    def targets_leftover(target: str) -> bool:
        target = target.lstrip("/").replace("../", "")
        return any(target.endswith(x.split("/", 1)[-1]) if not x.endswith("/") else target.startswith(x)
                   for x in LEFTOVER_PARTS)

    for rels in ("_rels/.rels", "word/_rels/document.xml.rels"):
        root = etree.fromstring(parts[rels])
        for rel in list(root):
            if targets_leftover(rel.get("Target")):
                root.remove(rel)
        if rels == "_rels/.rels":
            root.append(etree.Element(f"{{{PKG_REL_NS}}}Relationship", Id="rIdFollowupCustom", Type=CUSTOM_PROPS_REL,
                                      Target="docProps/custom.xml"))
        parts[rels] = _xml(root)

    types = etree.fromstring(parts["[Content_Types].xml"])
    for el in list(types):
        part = (el.get("PartName") or "").lstrip("/")
        if (part and part not in parts) or el.get("Extension") == "jpeg":
            types.remove(el)
    if fonts:
        types.insert(0, etree.Element(f"{{{CT_NS}}}Default", Extension="odttf", ContentType=docx_fonts.ODTTF_CONTENT_TYPE))
    types.append(etree.Element(f"{{{CT_NS}}}Override", PartName="/docProps/custom.xml", ContentType=CUSTOM_PROPS_TYPE))
    parts["[Content_Types].xml"] = _xml(types)

    settings = etree.fromstring(parts["word/settings.xml"])
    for name in LEFTOVER_SETTINGS:
        for el in settings.findall(f"{{{W_NS}}}{name}"):
            settings.remove(el)
    if fonts:
        at = 0
        for i, el in enumerate(settings):
            if etree.QName(el).localname in SETTINGS_BEFORE_FONTS:
                at = i + 1
        settings.insert(at, etree.Element(f"{{{W_NS}}}saveSubsetFonts"))
        settings.insert(at, etree.Element(f"{{{W_NS}}}embedTrueTypeFonts"))
    parts["word/settings.xml"] = _xml(settings)

    parts["word/fontTable.xml"] = _font_table(w, fonts)
    parts.pop("word/_rels/fontTable.xml.rels", None)
    if fonts:
        rels = etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
        for n, f in enumerate(fonts, 1):
            etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=f"rId{n}", Type=docx_fonts.FONT_REL,
                             Target=f.part_name[len("word/"):])
            parts[f.part_name] = f.data
        parts["word/_rels/fontTable.xml.rels"] = _xml(rels)
    # the handle map: a custom XML data part of the main document
    parts["customXml/item1.xml"] = _handle_map(w)
    parts["customXml/itemProps1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<ds:datastoreItem ds:itemID="{_guid(HANDLES_NS + document_hash(w.src))}" '
        'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
        f'<ds:schemaRefs><ds:schemaRef ds:uri="{HANDLES_NS}"/></ds:schemaRefs></ds:datastoreItem>').encode("utf-8")
    parts["customXml/_rels/item1.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps" '
        'Target="itemProps1.xml"/></Relationships>').encode("utf-8")
    root = etree.fromstring(parts["word/_rels/document.xml.rels"])
    root.append(etree.Element(f"{{{PKG_REL_NS}}}Relationship", Id="rIdFollowupHandles", Target="../customXml/item1.xml",
                              Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"))
    parts["word/_rels/document.xml.rels"] = _xml(root)
    types = etree.fromstring(parts["[Content_Types].xml"])
    types.append(etree.Element(f"{{{CT_NS}}}Override", PartName="/customXml/itemProps1.xml",
                               ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"))
    parts["[Content_Types].xml"] = _xml(types)
    parts["docProps/app.xml"] = _app_xml(w.pages)
    parts["docProps/custom.xml"] = _custom_xml(w)
    return parts


def _font_table(w: "Writer", fonts: list[docx_fonts.Embedded]) -> bytes:
    """One entry per family the styles name, with its embedded faces (regular, bold)."""
    root = etree.Element(f"{{{W_NS}}}fonts", nsmap={"w": W_NS, "r": R_NS})
    alt = {w.faces["text"].family: w.s.fonts.word_text, w.faces["heading"].family: w.s.fonts.word_heading,
           w.faces["fallback"].family: w.s.fonts.word_fallback}
    families: dict[str, list[docx_fonts.Embedded]] = {}
    for fc in w.faces.values():
        families.setdefault(fc.family, [])
    for f in fonts:
        families[f.face.family].append(f)
    rid = {f.part_name: f"rId{n}" for n, f in enumerate(fonts, 1)}
    japanese = {w.faces["text"].family, w.faces["heading"].family}
    for family, embedded in families.items():
        font = etree.SubElement(root, f"{{{W_NS}}}font", {f"{{{W_NS}}}name": family})
        if alt.get(family) and alt[family] != family:
            etree.SubElement(font, f"{{{W_NS}}}altName", {f"{{{W_NS}}}val": alt[family]})
        etree.SubElement(font, f"{{{W_NS}}}charset", {f"{{{W_NS}}}val": "80" if family in japanese else "00"})
        etree.SubElement(font, f"{{{W_NS}}}family", {f"{{{W_NS}}}val": "roman" if family == w.faces["text"].family else "swiss"})
        etree.SubElement(font, f"{{{W_NS}}}pitch", {f"{{{W_NS}}}val": "variable"})
        for f in sorted(embedded, key=lambda f: f.face.bold):  # schema order: embedRegular, then embedBold
            etree.SubElement(font, f"{{{W_NS}}}{'embedBold' if f.face.bold else 'embedRegular'}",
                             {f"{{{R_NS}}}id": rid[f.part_name], f"{{{W_NS}}}fontKey": f.key,
                              f"{{{W_NS}}}subsetted": "1"})
    return _xml(root)


def _app_xml(page_map: PageMap) -> bytes:
    """Extended properties of this document: the application, and the page count when LibreOffice measured it."""
    from compiler import __version__

    pages = f"<Pages>{page_map.total}</Pages>" if page_map.source == "libreoffice" and page_map.total else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            f"{pages}<Application>followup</Application><AppVersion>{_app_version(__version__)}</AppVersion>"
            "<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate>"
            "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged></Properties>").encode("utf-8")


def _app_version(version: str) -> str:
    """AppVersion must read XX.YYYY."""
    nums = [int(n) for n in re.findall(r"\d+", version)[:2]] + [0, 0]
    return f"{nums[0]:02d}.{nums[1]:04d}"


document_hash = handles.document_hash  # the hash recorded in the handle map (compiler.docx_handles)


def _guid(seed: str) -> str:
    """A GUID derived from ``seed`` (equal inputs, equal bytes)."""
    import uuid

    return "{" + str(uuid.UUID(hex=hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32])).upper() + "}"


def _handle_map(w: "Writer") -> bytes:
    """``fu_<n>`` bookmark → the field it marks and the hash of its printed text, with what the
    document was built from (and the page mark of a preview, to rebuild the same preview)."""
    quote = {chr(34): "&quot;"}
    rev = f' source-revision="{xml_escape(w.revision, quote)}"' if w.revision else ""
    preview = f' preview="{xml_escape(w.src.preview, quote)}"' if w.src.preview else ""
    rows = "".join(f'<h b="{HANDLE_BOOKMARK}{n}" field="{xml_escape(h)}" sha="{sha}"/>'
                   for n, (h, sha) in enumerate(w.handles, 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<handles xmlns="{HANDLES_NS}" format="{HANDLES_FORMAT}" document-sha256="{document_hash(w.src)}"{rev}{preview}>'
            f"{rows}</handles>").encode("utf-8")


def _custom_xml(w: "Writer") -> bytes:
    """Custom properties: the handle scheme and what the document was built from (docs/docx-handles.md)."""
    props = [(handles.PROP_FORMAT, HANDLES_FORMAT), (handles.PROP_SHA, document_hash(w.src))]
    if w.revision:
        props.append((handles.PROP_REVISION, w.revision))
    if w.src.preview:
        props.append((handles.PROP_PREVIEW, w.src.preview))
    props.append((handles.PROP_FIELDS, " ".join(f"{h}={sha}" for h, sha in w.handles)))
    body = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{n}" name="{xml_escape(name)}">'
        f"<vt:lpwstr>{xml_escape(value)}</vt:lpwstr></property>"
        for n, (name, value) in enumerate(props, 2))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
            f'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{body}</Properties>'
            ).encode("utf-8")


def normalise_zip(data: bytes) -> bytes:
    """Same parts, fixed timestamps and attributes: equal inputs give equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    return _zip({info.filename: src.read(info.filename) for info in src.infolist()})


def _zip(parts: dict[str, bytes], compress: bool = True) -> bytes:
    """A package of ``parts`` in this order, each entry as every DOCX of this writer has it (``_normal_info``):
    equal parts give equal bytes. Not ``compress``-ed: a draft's, which its ``package`` compresses
    (every entry is deflated once, not at each step)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, body in parts.items():
            dst.writestr(_normal_info(name, compress), body)
    return out.getvalue()


def _normal_info(name: str, compress: bool = True) -> zipfile.ZipInfo:
    """A package member's entry as every DOCX of this writer has it (fixed time, attributes, deflate)."""
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    zi.external_attr = 0o644 << 16
    return zi


def write(doc: d.Document, theme: Theme, pages: PageMap = NO_PAGES, embed_fonts: bool = True,
          revision: str | None = None) -> bytes:
    """``pages`` gives the page number to cache in every TOC entry (blank where it has none);
    ``embed_fonts`` embeds the subset fonts; ``revision`` (of the sources) goes into custom.xml."""
    return Writer(doc, theme, pages, embed_fonts, revision).write()


def compose(doc: d.Document, theme: Theme, embed_fonts: bool = True, revision: str | None = None):
    """The DOCX of ``doc`` made but for its page numbers: ``.package(pages)`` gives the bytes."""
    return Writer(doc, theme, NO_PAGES, embed_fonts, revision).compose().draft()


# A contents entry's page number in a draft: characters of a private use plane, which no source text
# brings (no shipped font has them: the glyph check refuses them), with the entry's ordinal between.
_PAGE_SLOT = "\U000F0000{}\U000F0001"
_PAGE_SLOT_RE = re.compile("\U000F0000(\\d+)\U000F0001".encode("utf-8"))
_SLOTTED_PART = "word/document.xml"


class Draft:
    """A DOCX composed but for its page numbers, in little memory: the package as bytes, with a slot
    where each contents entry's page number goes (``Writer.draft``). ``package`` fills the slots and
    gives the very bytes ``Writer.write`` gives with the same page map."""

    def __init__(self, data: bytes, anchors: tuple[str, ...]):
        self.data, self.anchors = data, anchors

    def slots(self) -> list[int]:
        """The ordinals of the slots in the package, in order."""
        document = zipfile.ZipFile(io.BytesIO(self.data)).read(_SLOTTED_PART)
        return [int(m.group(1)) for m in _PAGE_SLOT_RE.finditer(document)]

    def package(self, pages: PageMap) -> bytes:
        def number(match: re.Match) -> bytes:
            return str(pages.get(self.anchors[int(match.group(1))], "") or "").encode("ascii")

        src = zipfile.ZipFile(io.BytesIO(self.data))
        parts = {}
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == _SLOTTED_PART:
                data = _PAGE_SLOT_RE.sub(number, data)
            elif info.filename == "docProps/app.xml":
                data = _app_xml(pages)
            parts[info.filename] = data
        return _zip(parts)
