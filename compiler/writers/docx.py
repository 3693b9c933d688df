"""DOCX writer: the intermediate document, the theme and a page map → DOCX bytes with python-docx.

Every size, margin, width and font comes from the theme (``compiler.theme``),
every label from the document. Named styles for every kind of paragraph (no direct formatting where a style
should be), heading levels for pillar/policy/category, a real Word TOC field
whose entries link to ``_Toc`` bookmarks and carry cached ``PAGEREF`` numbers
(from the page map it is given: this module lays nothing out; ``toc_bookmarks``
tells a pager which bookmark stands for which anchor), a repeating header row,
fixed column widths, footer page numbers, and fixed zip timestamps.
"""

from __future__ import annotations

import io
import zipfile

from docx import Document as new_docx
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from compiler import document as d
from compiler.paging import NO_PAGES, PageMap
from compiler.theme import Theme

TWIPS_PER_MM = 1440 / 25.4
PT_PER_MM = 72 / 25.4
BOOKMARK_PREFIX = "_Toc"
# A marker is followed by a tab to the hanging indent; Word and LibreOffice need the stop a little
# past the marker's full width, or the tab jumps to the next default stop.
TAB_SLACK = 1.25


def _el(tag: str, **attrs) -> OxmlElement:
    el = OxmlElement(tag)
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), str(v))
    return el


def _child(parent, tag: str, first: bool = False):
    """The ``tag`` child of ``parent``, created (at the end, or first) when missing."""
    found = parent.find(qn(tag))
    if found is None:
        found = _el(tag)
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found


def _set_fonts(rpr, family: str, fallback: str | None = None) -> None:
    rfonts = _child(rpr, "w:rFonts", first=True)
    for slot in ("ascii", "hAnsi", "eastAsia"):
        rfonts.set(qn(f"w:{slot}"), family)
    rfonts.set(qn("w:cs"), fallback or family)
    for theme in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{theme}"), None)


class _Styles:
    """Creates the named styles once; everything else refers to them by name."""

    def __init__(self, doc, s: Theme):
        self.doc, self.s = doc, s
        text_font, head_font = s.fonts.word_text, s.fonts.word_heading
        size = s.text.size_pt
        h, sp = s.headings, s.spacing_mm
        styles = doc.styles
        # document defaults: fonts, Japanese language, kinsoku
        rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_fonts(rpr_default, text_font, s.fonts.word_fallback)
        lang = _child(rpr_default, "w:lang")
        lang.set(qn("w:val"), "ja-JP")
        lang.set(qn("w:eastAsia"), "ja-JP")
        normal = styles["Normal"]
        normal.font.size = Pt(size)
        pf = normal.paragraph_format
        pf.space_before, pf.space_after = Pt(0), Pt(0)
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(s.text.line_pitch_pt)
        ppr = normal.element.get_or_add_pPr()
        ppr.append(_el("w:kinsoku", val="1"))
        ppr.append(_el("w:overflowPunct", val="1"))
        ppr.append(_el("w:autoSpaceDE", val="0"))
        ppr.append(_el("w:autoSpaceDN", val="0"))

        def para(name, base="Normal", font=None, bold=None, size_pt=None, left=0.0, hanging=0.0, first=0.0,
                 before=0.0, after=0.0, align=None, keep_next=False, page_break=False):
            st = styles[name] if name in [x.name for x in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            st.base_style = styles[base] if base else None
            st.quick_style = True
            f = st.font
            if font:
                _set_fonts(st.element.get_or_add_rPr(), font, s.fonts.word_fallback)
            f.bold = bold
            f.italic = False
            f.color.rgb = RGBColor(0, 0, 0)
            if size_pt:
                f.size = Pt(size_pt)
            p = st.paragraph_format
            p.left_indent = Pt(left) if left else None
            if hanging:
                p.first_line_indent = Pt(-hanging)
            elif first:
                p.first_line_indent = Pt(first)
            p.space_before, p.space_after = Pt(before), Pt(after)
            if align is not None:
                p.alignment = align
            p.keep_with_next = keep_next or None
            p.page_break_before = page_break or None
            return st

        em = size
        hang = size * s.text.hanging_em * TAB_SLACK
        mm = PT_PER_MM
        para("Title", font=head_font, bold=True, size_pt=h.title_pt, align=WD_ALIGN_PARAGRAPH.CENTER,
             before=sp.title_before * mm, after=sp.title_after * mm)
        title_ppr = styles["Title"].element.get_or_add_pPr()
        for border in title_ppr.findall(qn("w:pBdr")):
            title_ppr.remove(border)
        para("FU As Of", align=WD_ALIGN_PARAGRAPH.RIGHT, after=sp.as_of_after * mm)
        para("TOC Heading", font=head_font, bold=True, size_pt=h.toc_title_pt, align=WD_ALIGN_PARAGRAPH.CENTER,
             after=sp.toc_title_after * mm)
        toc_levels = ((0, head_font, True, sp.toc_pillar_before, None), (em, head_font, False, sp.toc_policy_before, None),
                      (2 * em, None, False, 0, s.text.toc_category_size_pt))
        for level, (indent, font, bold, before, toc_size) in enumerate(toc_levels, 1):
            para(f"toc {level}", font=font, bold=bold, left=indent, before=before * mm, size_pt=toc_size)
        para("Heading 1", font=head_font, bold=True, size_pt=h.pillar_pt, after=sp.pillar_after * mm, keep_next=True)
        para("Heading 2", font=head_font, bold=True, size_pt=h.policy_pt, after=sp.policy_after * mm, keep_next=True)
        para("Heading 3", font=head_font, bold=True, size_pt=h.category_pt, after=sp.category_after * mm, keep_next=True)
        para("FU Category", font=head_font, bold=True, size_pt=h.category_pt, after=sp.category_after * mm)
        para("FU Principle Label", font=head_font, bold=True, after=sp.principle_label_after * mm)
        para("FU Principle", first=em)
        para("FU Principle First")  # the paragraph that opens with the policy number: no indent
        para("FU Principle Note", size_pt=s.text.principle_note_size_pt, left=hang, hanging=hang,
             before=sp.principle_note_before * mm)
        para("FU Table Header", font=head_font, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        para("FU Commitment", first=em)
        para("FU Commitment First")  # the paragraph that opens with the item number: no indent
        para("FU Ministry Tag", align=WD_ALIGN_PARAGRAPH.RIGHT, before=sp.between_blocks * mm)
        para("FU Project", font=head_font, left=hang, hanging=hang, before=sp.before_project * mm)
        para("FU Budget", left=hang)
        para("FU Paragraph", before=sp.between_blocks * mm)
        para("FU Note", size_pt=s.text.note_size_pt, left=hang, hanging=hang, before=sp.between_blocks * mm)
        para("FU Omission", align=WD_ALIGN_PARAGRAPH.CENTER)
        for level in (1, 2, 3):
            for kind in ("Bullet", "Numbered"):
                para(f"FU {kind} {level}", left=hang * level, hanging=hang, before=sp.between_list_items * mm)
            para(f"FU Entry Paragraph {level}", left=hang * level, first=em, before=sp.between_list_items * mm)
        ch = styles.add_style("FU Item Number", WD_STYLE_TYPE.CHARACTER)
        _set_fonts(ch.element.get_or_add_rPr(), head_font, s.fonts.word_fallback)
        for level in (1, 2, 3):
            toc = styles[f"toc {level}"]
            toc.paragraph_format.tab_stops.add_tab_stop(self.text_width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)

    @property
    def text_width(self):
        return Mm(self.s.page.text_width_mm)


def toc_bookmarks(doc: d.Document) -> dict[str, str]:
    """TOC anchor → the ``_Toc`` bookmark name written on its heading (for a pager to read pages back)."""
    return {e.anchor: f"{BOOKMARK_PREFIX}{n:08d}" for n, e in enumerate(doc.toc, 1)}


class _Writer:
    def __init__(self, doc: d.Document, theme: Theme, pages: PageMap):
        self.src, self.s, self.pages = doc, theme, pages
        self.docx = new_docx()
        self.bookmark_ids = {e.anchor: n for n, e in enumerate(doc.toc, 1)}
        self.names = toc_bookmarks(doc)
        self._styles = _Styles(self.docx, theme)
        # python-docx looks styles up by scanning them all; resolve names once
        self.style_ids = {st.name: st.style_id for st in self.docx.styles}

    def restyle(self, paragraph, name: str):
        paragraph._p.get_or_add_pPr().get_or_add_pStyle().val = self.style_ids[name]
        return paragraph

    def add(self, container, name: str, text: str | None = None):
        """A new paragraph of style ``name`` at the end of ``container`` (document or cell)."""
        paragraph = self.restyle(container.add_paragraph(), name)
        if text:
            paragraph.add_run(text)
        return paragraph

    # --- helpers ---------------------------------------------------------
    def bookmark_name(self, anchor: str) -> str:
        return self.names[anchor]

    def add_bookmark(self, paragraph, anchor: str) -> None:
        if anchor not in self.bookmark_ids:
            return
        n = self.bookmark_ids[anchor]
        start = _el("w:bookmarkStart", id=n, name=self.bookmark_name(anchor))
        end = _el("w:bookmarkEnd", id=n)
        paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, start)
        paragraph._p.append(end)

    @staticmethod
    def add_field(paragraph, instruction: str, cached: str) -> None:
        def run_with(child):
            r = _el("w:r")
            r.append(child)
            paragraph._p.append(r)

        run_with(_el("w:fldChar", fldCharType="begin"))
        instr = _el("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = f" {instruction} "
        run_with(instr)
        run_with(_el("w:fldChar", fldCharType="separate"))
        t = _el("w:t")
        t.text = cached
        run_with(t)
        run_with(_el("w:fldChar", fldCharType="end"))

    # --- front matter --------------------------------------------------------
    def front(self) -> None:
        docx, src = self.docx, self.src
        entries = src.toc
        for i, e in enumerate(entries):
            p = self.add(docx, f"toc {e.level}")
            if i == 0:
                begin = _el("w:r")
                begin.append(_el("w:fldChar", fldCharType="begin"))
                p._p.append(begin)
                r = _el("w:r")
                instr = _el("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = ' TOC \\o "1-3" \\h \\z \\u '
                r.append(instr)
                p._p.append(r)
                sep = _el("w:r")
                sep.append(_el("w:fldChar", fldCharType="separate"))
                p._p.append(sep)
            link = _el("w:hyperlink", anchor=self.bookmark_name(e.anchor), history="1")
            p._p.append(link)
            holder = docx.add_paragraph()  # temporary paragraph to build runs with python-docx
            holder.add_run(e.label)
            holder.add_run().add_tab()
            self.add_field(holder, f"PAGEREF {self.bookmark_name(e.anchor)} \\h", str(self.pages.get(e.anchor, "") or ""))
            for child in list(holder._p):
                if child.tag == qn("w:r"):
                    link.append(child)
            holder._p.getparent().remove(holder._p)
            if i == len(entries) - 1:
                end = _el("w:r")
                end.append(_el("w:fldChar", fldCharType="end"))
                p._p.append(end)

    # --- body ------------------------------------------------------------------
    def heading(self, text: str, level: int, anchor: str, page_break: bool = False):
        p = self.add(self.docx, f"Heading {level}", text)
        if page_break:
            p.paragraph_format.page_break_before = True
        self.add_bookmark(p, anchor)
        return p

    def cell_width(self, table, widths) -> None:
        tbl = table._tbl
        tblpr = tbl.tblPr
        tblpr.append(_el("w:tblLayout", type="fixed"))
        tblw = _child(tblpr, "w:tblW")
        tblw.set(qn("w:w"), str(sum(widths)))
        tblw.set(qn("w:type"), "dxa")
        grid = tbl.tblGrid
        for col, w in zip(grid.findall(qn("w:gridCol")), widths):
            col.set(qn("w:w"), str(w))
        for row in table.rows:
            for cell, w in zip(row.cells, widths):
                tcw = _child(cell._tc.get_or_add_tcPr(), "w:tcW", first=True)
                tcw.set(qn("w:w"), str(w))
                tcw.set(qn("w:type"), "dxa")

    @staticmethod
    def borders(table, rule_pt: float, padding) -> None:
        """Rules of ``rule_pt`` on every side and cell padding ``padding`` (mm, vertical and horizontal)."""
        tblpr = table._tbl.tblPr
        b = _el("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            b.append(_el(f"w:{side}", val="single", sz=max(2, round(rule_pt * 8)), space=0, color="000000"))
        tblpr.append(b)
        mar = _el("w:tblCellMar")
        v, h = round(padding.vertical * TWIPS_PER_MM), round(padding.horizontal * TWIPS_PER_MM)
        for side, w in (("top", v), ("left", h), ("bottom", v), ("right", h)):
            mar.append(_el(f"w:{side}", w=w, type="dxa"))
        tblpr.append(mar)

    def text_width_twips(self) -> int:
        return int(round(self.s.page.text_width_mm * TWIPS_PER_MM))

    def principle(self, policy: d.Policy) -> None:
        table = self.docx.add_table(rows=1, cols=1)
        self.borders(table, self.s.table.principle_rule_pt, self.s.table.principle_padding_mm)
        self.cell_width(table, [self.text_width_twips()])
        cell = table.rows[0].cells[0]
        self.restyle(cell.paragraphs[0], "FU Principle Label")
        cell.paragraphs[0].add_run(self.src.labels.principle)
        for i, para in enumerate(policy.principle):
            if i == 0:
                self.add(cell, "FU Principle First", f"{policy.number} {para}")
            else:
                self.add(cell, "FU Principle", para)
        for note in policy.notes:
            self.add(cell, "FU Principle Note", note)
        self.docx.add_paragraph()

    def rows_table(self, policy: d.Policy) -> None:
        left, right = (int(round(w * TWIPS_PER_MM)) for w in self.s.column_widths_mm)  # as in the CSS
        table = self.docx.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        self.borders(table, self.s.table.rule_pt, self.s.table.cell_padding_mm)
        header = table.rows[0]
        trpr = header._tr.get_or_add_trPr()
        trpr.append(_el("w:tblHeader", val="1"))
        trpr.append(_el("w:cantSplit", val="1"))
        for cell, text in zip(header.cells, (self.src.labels.commitment_heading, self.src.labels.status_heading)):
            self.restyle(cell.paragraphs[0], "FU Table Header")
            cell.paragraphs[0].add_run(text)
            shd = _el("w:shd", val="clear", color="auto", fill=self.s.table.header_fill)
            cell._tc.get_or_add_tcPr().append(shd)
        for row in policy.rows:
            cells = table.add_row().cells
            if isinstance(row, d.Omission):
                merged = cells[0].merge(cells[1])
                self.restyle(merged.paragraphs[0], "FU Omission")
                merged.paragraphs[0].add_run(row.text)
                continue
            self.commitment_cell(cells[0], row)
            self.status_cell(cells[1], row)
        self.cell_width(table, [left, right])

    def commitment_cell(self, cell, row: d.Row) -> None:
        first = cell.paragraphs[0]
        if row.category_anchor:
            self.restyle(first, "Heading 3")
            first.add_run(row.category)
            self.add_bookmark(first, row.category_anchor)
        else:
            self.restyle(first, "FU Category")
            first.add_run(row.category)
        for i, para in enumerate(row.commitment):
            p = self.add(cell, "FU Commitment First" if i == 0 else "FU Commitment")
            if i == 0:
                number = p.add_run(row.number)
                number._r.get_or_add_rPr().get_or_add_rStyle().val = self.style_ids["FU Item Number"]
            p.add_run(para)
        self.add(cell, "FU Ministry Tag", row.ministry_tag)

    def list_items(self, cell, items) -> None:
        for it in items:
            level = min(it.level, 3)
            style = f"FU Numbered {level}" if it.numbered else f"FU Bullet {level}"
            self.marked(self.add(cell, style), it.marker, it.text)
            for para in it.paragraphs:
                self.add(cell, f"FU Entry Paragraph {level}", para)
            if it.children:
                self.list_items(cell, it.children)

    def marked(self, paragraph, marker: str, text: str) -> None:
        """A marker, a tab to the hanging indent, then the text."""
        paragraph.add_run(marker)
        paragraph.add_run().add_tab()
        paragraph.add_run(text)

    def block_project(self, cell, b: d.ProjectBlock) -> None:
        self.marked(self.add(cell, "FU Project"), b.marker, b.name + b.reprint_mark)
        for line in b.budget:
            self.add(cell, "FU Budget", line)

    def block_list(self, cell, b: d.ListBlock) -> None:
        self.list_items(cell, b.items)

    def block_paragraph(self, cell, b: d.ParagraphBlock) -> None:
        self.add(cell, "FU Paragraph", b.text)

    def block_note(self, cell, b: d.NoteBlock) -> None:
        self.marked(self.add(cell, "FU Note"), b.marker, b.text)

    def block_ministry_tag(self, cell, b: d.MinistryTagBlock) -> None:
        self.add(cell, "FU Ministry Tag", b.text)

    def status_cell(self, cell, row: d.Row) -> None:
        placeholder = cell.paragraphs[0]  # python-docx starts every cell with an empty paragraph
        for b in row.status:
            handler = getattr(self, f"block_{getattr(b, 'kind', '')}", None)
            if handler is None:
                raise d.UnknownBlock(b, "docx")
            handler(cell, b)
        if len(cell.paragraphs) > 1:
            placeholder._p.getparent().remove(placeholder._p)

    def body(self) -> None:
        for pi, pillar in enumerate(self.src.pillars):
            self.heading(pillar.heading, 1, pillar.anchor, page_break=pi > 0)
            for qi, policy in enumerate(pillar.policies):
                self.heading(policy.heading, 2, policy.anchor, page_break=qi > 0)
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
        _child(section._sectPr, "w:docGrid").set(qn("w:linePitch"), str(round(self.s.text.line_pitch_pt * 20)))

    def footer(self, section) -> None:
        section.footer.is_linked_to_previous = False
        p = section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.add_field(p, "PAGE", "1")
        if self.src.preview:
            mark = section.footer.add_paragraph(self.src.preview)
            mark.alignment = WD_ALIGN_PARAGRAPH.LEFT
        pg = _el("w:pgNumType", start=1)
        section._sectPr.find(qn("w:cols")).addprevious(pg)  # schema order: pgNumType before cols

    def properties(self) -> None:
        cp = self.docx.core_properties
        cp.title = self.src.title
        cp.subject = f"{self.src.title}（{self.src.as_of}）"
        cp.author = self.src.author
        cp.last_modified_by = self.src.author
        cp.created = self.src.created.replace(tzinfo=None)
        cp.modified = self.src.created.replace(tzinfo=None)
        cp.revision = 1
        cp.language = "ja-JP"
        cp.comments = ""
        cp.keywords = ""

    def columns(self, section, count: int) -> None:
        cols = _child(section._sectPr, "w:cols")
        cols.set(qn("w:num"), str(count))
        cols.set(qn("w:space"), str(int(self.s.spacing_mm.toc_column_gap * TWIPS_PER_MM)))

    def write(self) -> bytes:
        title = self.docx.sections[0]
        self.page_setup(title)
        if self.src.preview:
            title.footer.is_linked_to_previous = False
            title.footer.paragraphs[0].text = self.src.preview
        self.add(self.docx, "Title", self.src.title)
        self.add(self.docx, "FU As Of", self.src.as_of)
        self.add(self.docx, "TOC Heading", self.src.labels.toc_title)
        toc = self.docx.add_section(WD_SECTION.CONTINUOUS)  # the contents in two columns
        self.columns(toc, 2)
        self.front()
        body = self.docx.add_section(WD_SECTION.NEW_PAGE)
        self.columns(body, 1)
        self.page_setup(body)
        self.footer(body)
        self.body()
        self.properties()
        buf = io.BytesIO()
        self.docx.save(buf)
        return normalise_zip(buf.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Same parts, fixed timestamps and attributes: equal inputs give equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def write(doc: d.Document, theme: Theme, pages: PageMap = NO_PAGES) -> bytes:
    """``pages`` gives the page number to cache in every TOC entry (blank where it has none)."""
    return _Writer(doc, theme, pages).write()
