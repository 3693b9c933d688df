"""Split table rows that say whose they are: a small extension of WeasyPrint 70's table layout.

WeasyPrint splits a table row that does not fit the rest of a page by laying
each cell out on its own, so a fragment of a row may show an empty left cell:
the commitment ended on the page before while the status goes on, or the
commitment did not fit at all while the status started. This module adds two
rules to WeasyPrint's own (single) layout pass, at one seam: the layout of a
body cell of a ``table.rows`` (``block.block_container_layout`` as called by
``table.table_layout``; both are wrapped, nothing else is changed).

* **A continuation is labelled.** The left cell of every row carries, as its
  first child, a ``<p class="continued">`` written by the HTML writer (the
  row's number and the theme's （続き） label; the print stylesheet hides it,
  ``STYLESHEET`` shows it while the rules are in force). The label is left out of
  the cell's first fragment and laid out at the top of every later fragment,
  above what is left of the cell, even when nothing is left: no fragment of a
  row shows an empty left cell, and a reader always sees whose status goes on.
  The cell's content is laid out below the label (the cell's top padding is
  grown by the label's height for that layout), so the page break inside the
  cell accounts for it and nothing overflows. The label is an ordinary
  paragraph of the cell, tagged as such in the PDF's structure tree.
* **A row does not start at a page foot with too few lines.** When the first
  fragment of a row would split a cell with fewer than ``min_lines`` lines in
  it (no line at all, or a category and one line), the whole row goes to the
  next page: every cell of the fragment is reported empty, which is how
  WeasyPrint gives up a row that shows nothing. The first row laid out on a
  page is never given up when nothing comes before it in the table on that
  page (the table's continuation, or a table at the top of a page): it could
  not start any higher.

Category, number and first lines of a cell, and a project name with its budget
and first status lines, are held together by the stylesheets (``break-after:
avoid``, ``orphans``; ``STYLESHEET`` adds the budget lines, kept only while the
rules are in force: without them a held-back block at a row's start would
empty its cell); this module makes such a held-back cell move the whole row.

The patch is written for WeasyPrint 70 (``SUPPORTED``) and installs nothing on
any other version (the labels then stay hidden and rows split as before); the
tests check both what it produces and that it can be switched off
(``disabled``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

SUPPORTED = ("70.",)
TABLE_CLASS = "rows"  # the table whose rows follow these rules (layouts/document.html.j2)
LABEL_CLASS = "continued"  # the continuation label, first child of a row's left cell
# The extra stylesheet while the rules are in force: the labels shown, and a budget line kept with
# what follows it, like the project name above it (which the print stylesheet already keeps).
# Without the rules, a kept block that does not fit would empty its cell instead of moving the row.
STYLESHEET = f"td > p.{LABEL_CLASS} {{ display: block; }} td.status > p.budget {{ break-after: avoid; }}"


@dataclass
class _Settings:
    min_lines: int = 3
    enabled: bool = True


_settings = _Settings()


@dataclass
class _Table:
    """What one call of ``table_layout`` (one page of a table) has seen so far."""

    cells: dict  # id(cell box) → (row box, index in row, cells in row)
    exempt_first: bool  # the first row laid out here has nothing above it in the table on this page
    first_row: object = None
    pending: list = field(default_factory=list)  # (new cell or None, resume_at) of the current row's cells


_tables: list[_Table] = []


@contextlib.contextmanager
def rules(min_lines: int):
    """Within the block, rows are laid out with these settings (``pdf.layout`` wraps its render in it)."""
    previous = _settings.min_lines
    _settings.min_lines = min_lines
    try:
        yield
    finally:
        _settings.min_lines = previous


@contextlib.contextmanager
def disabled():
    """Within the block, installed wrappers do nothing (WeasyPrint's own row splitting; for the tests)."""
    previous = _settings.enabled
    _settings.enabled = False
    try:
        yield
    finally:
        _settings.enabled = previous


def active() -> bool:
    """Are the rules in force (installed, and not ``disabled``)? The labels are shown only then."""
    return install() and _settings.enabled


def _has_class(box, name: str) -> bool:
    element = getattr(box, "element", None)
    return element is not None and name in (element.get("class") or "").split()


def _cell_map(table) -> dict:
    cells = getattr(table, "_fu_cells", None)
    if cells is None:
        cells = {}
        for group in table.children:
            if group.is_header or group.is_footer:
                continue
            for row in group.children:
                for index, cell in enumerate(row.children):
                    cells[id(cell)] = (row, index, len(row.children))
        table._fu_cells = cells
    return cells


def count_lines(box) -> int:
    """Line boxes anywhere inside ``box`` (a laid-out cell)."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):
        return 1
    return sum(count_lines(child) for child in getattr(box, "children", ()))


def _shift(skip_stack, by: int):
    """A cell's skip stack (or resume_at) with its first index moved by ``by``."""
    if skip_stack is None:
        return None
    (index, rest), = skip_stack.items()
    return {index + by: rest}


def _labelled(box):
    """The continuation label of a row's left cell, if this cell has one."""
    children = box.children
    return children[0] if children and _has_class(children[0], LABEL_CLASS) else None


def _layout_cell(original, context, cell, bottom_space, skip_stack, page_is_empty, options):
    """Lay a body cell out; a left cell's label only on its continuations, above what is left."""
    label = _labelled(cell)
    if label is None:
        return original(context, cell, bottom_space, skip_stack, page_is_empty, **options)
    inner = cell.copy_with_children(cell.children[1:])
    inner_skip = _shift(skip_stack, -1)
    if inner_skip is None or inner_skip == {-1: None}:  # the start (or a start put off from the page before)
        result = original(context, inner, bottom_space, None, page_is_empty, **options)
        return (result[0], _shift(result[1], +1), *result[2:])
    # A continuation: the label first (alone, it always fits at the top of a page), then the rest below it.
    heading, *_ = original(context, cell.copy_with_children([label]), bottom_space, None, True,
                           **dict(options, absolute_boxes=[], fixed_boxes=[], adjoining_margins=None))
    placed = heading.children[0]
    height = heading.height
    inner.padding_top += height
    result = original(context, inner, bottom_space, inner_skip, page_is_empty, **options)
    new_cell = result[0]
    if new_cell is not None:
        new_cell.padding_top -= height
        new_cell.height += height
        new_cell.children = [placed, *new_cell.children]
    return (new_cell, _shift(result[1], +1), *result[2:])


def _first_fragment_check(table: _Table, row, index: int, count: int, result, skip_stack):
    """Collect the cells of a row's first fragment; at its last cell, give the row up if one is too short."""
    if skip_stack is not None:
        return result
    if index == 0:
        table.pending = []
    table.pending.append((result[0], result[1]))
    if index != count - 1 or (row is table.first_row and table.exempt_first):
        return result
    short = any(new is None or resume is not None and count_lines(new) < _settings.min_lines
                for new, resume in table.pending)
    if not short:
        return result
    for new, _ in table.pending[:-1]:
        if new is not None:
            new.empty = True  # read by table_layout once the row's cells are all laid out
    return (None, None, {"break": "any", "page": None}, [], False, result[5])


def install() -> bool:
    """Wrap WeasyPrint's table and cell layout once; ``False`` (and nothing changed) on an unsupported version."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout import block

    from compiler.writers import engine

    def make_table_layout(table_layout):
        def rows_table_layout(context, table, bottom_space, skip_stack, containing_block, page_is_empty,
                              absolute_boxes, fixed_boxes):
            if not _settings.enabled or not _has_class(table, TABLE_CLASS):
                return table_layout(context, table, bottom_space, skip_stack, containing_block, page_is_empty,
                                    absolute_boxes, fixed_boxes)
            _tables.append(_Table(_cell_map(table), exempt_first=skip_stack is not None or page_is_empty))
            try:
                return table_layout(context, table, bottom_space, skip_stack, containing_block, page_is_empty,
                                    absolute_boxes, fixed_boxes)
            finally:
                _tables.pop()
        return rows_table_layout

    def make_container_layout(container_layout):
        def rows_block_container_layout(context, box, bottom_space, skip_stack, page_is_empty, absolute_boxes,
                                        fixed_boxes, adjoining_margins, first_letter_style, first_line_style, discard,
                                        max_lines):
            options = {"absolute_boxes": absolute_boxes, "fixed_boxes": fixed_boxes,
                       "adjoining_margins": adjoining_margins, "first_letter_style": first_letter_style,
                       "first_line_style": first_line_style, "discard": discard, "max_lines": max_lines}
            where = _tables[-1].cells.get(id(box)) if _tables and isinstance(box, boxes.TableCellBox) else None
            if where is None:
                return container_layout(context, box, bottom_space, skip_stack, page_is_empty, **options)
            table = _tables[-1]
            row, index, count = where
            if table.first_row is None:
                table.first_row = row
            result = _layout_cell(container_layout, context, box, bottom_space, skip_stack, page_is_empty, options)
            return _first_fragment_check(table, row, index, count, result, skip_stack)
        return rows_block_container_layout

    return (engine.extend(block, "table_layout", SUPPORTED, make_table_layout, keep_as="original")
            and engine.extend(block, "block_container_layout", SUPPORTED, make_container_layout, keep_as="original"))
