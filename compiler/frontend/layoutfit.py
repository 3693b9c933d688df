"""Layout limits checked before any layout: text the page cannot hold is an error naming its line.

A column heading of the table is repeated at the top of every table page; if
it were taller than a page, WeasyPrint would drop the whole header row from
the PDF. A heading must therefore fit its header cell in at most
``table.heading_max_lines`` lines (layouts/settings.yaml). The limit counts
characters conservatively from the theme: the cell's width (its share of the
text width, less the header padding and a rule) divided by the text size
gives the full-width characters per line; a half-width character counts as
half a character (E043).
"""

from __future__ import annotations

import unicodedata

from compiler.diagnostics import Diagnostics
from compiler.frontend.checks import ValidSources
from compiler.theme import Theme

PT_PER_MM = 72 / 25.4


def width_in_characters(text: str) -> float:
    """Width of ``text`` in full-width characters (half-width ones count one half)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.5 for ch in text)


def heading_limit(theme: Theme, column: str) -> float:
    """Most full-width characters the heading of ``column`` ("commitment" or "status") may have."""
    table = theme.table
    share = table.commitment_width_percent if column == "commitment" else 100 - table.commitment_width_percent
    inner_mm = theme.page.text_width_mm * share / 100 - 2 * table.header_padding_mm.horizontal - table.rule_pt / PT_PER_MM
    per_line = int(inner_mm * PT_PER_MM / theme.text.size_pt)
    return float(per_line * table.heading_max_lines)


def check_layout_limits(valid: ValidSources, theme: Theme, diags: Diagnostics) -> None:
    columns = valid.document.columns
    for column in ("commitment", "status"):
        heading = getattr(columns, column)
        limit = heading_limit(theme, column)
        if width_in_characters(heading) > limit:
            diags.error("E043", f"列見出し「{heading[:20]}…」が長すぎます（全角 {width_in_characters(heading):g} 字分、"
                        f"上限は {limit:g} 字分＝{theme.table.heading_max_lines} 行）。",
                        valid.document_sf.span(("columns", column)),
                        "見出しは毎ページの表の上に繰り返されます。短くしてください。")
