"""The theme: ``layouts/settings.yaml`` as typed values, the one source of layout facts.

Both writers take every size, margin, width, line height, font and label from
here: the PDF through the CSS template ``layouts/style.css.j2`` (filled with
the theme), the DOCX through the same fields in its own units. The
project's fixed folders are named here too.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAYOUTS_DIR = PROJECT_ROOT / "layouts"
FONTS_DIR = PROJECT_ROOT / "fonts"
SOURCES_DIR = PROJECT_ROOT / "sources"
OUTPUT_DIR = PROJECT_ROOT / "output"
SETTINGS_FILE = LAYOUTS_DIR / "settings.yaml"
MM_PER_PT = 25.4 / 72


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Margins(_M):
    top: float
    bottom: float
    left: float
    right: float


class Padding(_M):
    vertical: float
    horizontal: float


class Page(_M):
    size: str
    width_mm: float
    height_mm: float
    margin_mm: Margins
    footer_distance_mm: float

    @property
    def text_width_mm(self) -> float:
        return self.width_mm - self.margin_mm.left - self.margin_mm.right


class Table(_M):
    commitment_width_percent: float
    cell_padding_mm: Padding
    header_padding_mm: Padding
    rule_pt: float
    header_fill: str
    principle_rule_pt: float
    principle_padding_mm: Padding
    preview_rule_pt: float
    heading_max_lines: int = 3  # a column heading longer than this many lines is an error (E043)
    row_start_min_lines: int = 3  # lines of a split cell on a row's first page, at least (else the row moves on)


class TextSettings(_M):
    size_pt: float
    line_height: float
    note_size_pt: float
    principle_note_size_pt: float
    footer_size_pt: float
    preview_mark_size_pt: float
    toc_category_size_pt: float
    hanging_em: float
    enumerator_em: float = 2.5

    @property
    def line_pitch_pt(self) -> float:
        return self.size_pt * self.line_height


class Headings(_M):
    title_pt: float
    toc_title_pt: float
    pillar_pt: float
    policy_pt: float
    category_pt: float


class Spacing(_M):
    title_before: float
    title_after: float
    as_of_after: float
    toc_title_after: float
    toc_pillar_before: float
    toc_policy_before: float
    toc_column_gap: float
    pillar_after: float
    policy_after: float
    category_after: float
    principle_after: float
    principle_label_after: float
    principle_note_before: float
    before_project: float
    between_blocks: float
    between_list_items: float
    preview_mark_padding: float
    preview_mark_after: float


class Fonts(_M):
    text: str
    heading: str
    heading_bold: str
    fallback: str
    word_text: str
    word_heading: str
    word_fallback: str

    def files(self) -> list[str]:
        return [self.text, self.heading, self.heading_bold, self.fallback]


class Labels(_M):
    principle: str
    toc_title: str
    continued: str
    preview_mark: str
    preview_revision: str


class Markers(_M):
    bullets: list[str]
    numbered: str
    project: str
    note: str
    reprint: str
    budget: tuple[str, str]
    category: tuple[str, str]
    ministry: tuple[str, str]

    def generated(self) -> str:
        """Every character the compiler itself adds around source text."""
        return "".join(self.bullets) + self.numbered + self.project + self.note + self.reprint \
            + "".join(self.budget + self.category + self.ministry)


class Numbering(_M):
    policies: str
    label: str
    item: str
    omitted: str
    omitted_range: str
    pillar: str


class HouseStyle(_M):
    digits: str
    tilde: str


class Theme(_M):
    page: Page
    table: Table
    text: TextSettings
    headings: Headings
    spacing_mm: Spacing
    fonts: Fonts
    labels: Labels
    markers: Markers
    numbering: Numbering
    house_style: HouseStyle

    @property
    def column_content_em(self) -> tuple[int, int]:
        """Text widths of the two table columns in whole characters of the text size.

        The left column takes about ``commitment_width_percent`` of the text width, rounded to
        the nearest whole em; the right column the whole ems left. A full line of Japanese
        text then fills its column exactly (no fraction of a character left over at the right
        edge, which justification would otherwise spread over the line)."""
        available = self.page.text_width_mm - sum(self._cell_extras_mm())
        em = self.text.size_pt * MM_PER_PT
        left = round((self.page.text_width_mm * self.table.commitment_width_percent / 100
                      - self._cell_extras_mm()[0]) / em)
        return left, int((available + 1e-6) // em) - left

    def _cell_extras_mm(self) -> tuple[float, float]:
        """Padding and rules of a left and a right cell (the left one also has the table's left rule)."""
        pad = 2 * self.table.cell_padding_mm.horizontal
        rule = self.table.rule_pt * MM_PER_PT
        return pad + 2 * rule, pad + rule

    @property
    def column_widths_mm(self) -> tuple[float, float]:
        """Outer widths of the two columns (content, padding and rules), for the CSS and the DOCX."""
        em = self.text.size_pt * MM_PER_PT
        return tuple(round(n * em + extra, 3) for n, extra in zip(self.column_content_em, self._cell_extras_mm()))



@lru_cache(maxsize=None)
def load_theme(path: Path = SETTINGS_FILE) -> Theme:
    from ruamel.yaml import YAML

    with open(path, encoding="utf-8") as fh:
        data = YAML(typ="safe", pure=True).load(fh)
    return Theme.model_validate(data)
