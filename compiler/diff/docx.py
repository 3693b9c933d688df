"""The 新旧対照表 as DOCX (python-docx): the same table model as the PDF, with underlined runs.

Page, fonts, styles, footer page numbers and fixed column widths come from the
report's DOCX writer (``compiler.writers.docx``) and the theme; the header row
repeats on every page.
"""

from __future__ import annotations

import io

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from compiler.diff.render import NEW_HEADING, OLD_HEADING, Table
from compiler.paging import NO_PAGES
from compiler.writers.docx import Writer, child_of, new_element, normalise_zip


def write(model: Table, document, theme) -> bytes:
    """``document``: NEW's intermediate document (for properties and styles)."""
    w = Writer(document, theme, NO_PAGES)
    section = w.docx.sections[0]
    w.page_setup(section)
    w.footer(section)
    w.add(w.docx, "Title", model.title)
    for text in (f"改正後：{model.source_to}　改正前：{model.source_from}", model.summary):
        w.add(w.docx, "FU As Of", text)
    table = w.docx.add_table(rows=1, cols=2)
    w.borders(table, theme.table.rule_pt, theme.table.cell_padding_mm)
    header = table.rows[0]
    child_of(header._tr.get_or_add_trPr(), "w:tblHeader")
    for cell, text in zip(header.cells, (NEW_HEADING, OLD_HEADING)):
        p = cell.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold = True
        _shade(cell, theme.table.header_fill)

    def put(cell, segments, level=0, first=False):
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        if level:
            p.paragraph_format.left_indent = Pt(theme.text.size_pt * theme.text.hanging_em * level)
        for text, changed in segments or ():
            run = p.add_run(text)
            if changed:
                run.underline = True

    if not model.sections:
        row = table.add_row()
        merged = row.cells[0].merge(row.cells[1])
        put(merged, [("変更はありません。", False)], first=True)
    for sec in model.sections:
        row = table.add_row()
        merged = row.cells[0].merge(row.cells[1])
        put(merged, [(sec.title, False)], first=True)
        merged.paragraphs[0].runs[0].bold = True
        for entry in sec.entries:
            row = table.add_row()  # one row per entry: both sides' lines, in order
            new_cell, old_cell = row.cells
            put(new_cell, entry.new_number, first=True)
            put(old_cell, entry.old_number, first=True)
            for pair in entry.pairs:
                put(new_cell, pair.new if pair.new is not None else [("", False)], pair.level)
                put(old_cell, pair.old if pair.old is not None else [("", False)], pair.level)
    half = w.text_width_twips() // 2
    w.cell_width(table, [half, w.text_width_twips() - half])
    w.properties()
    w.docx.core_properties.title = model.title
    buf = io.BytesIO()
    w.docx.save(buf)
    return normalise_zip(buf.getvalue())


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    tcpr.append(new_element("w:shd", val="clear", color="auto", fill=fill))
