"""The published reference text (../shared/reference/official-document.txt beside the repository), parsed for content tests.

The file is an extraction of the published PDF:

* a hand-made table of contents at the top (dot leaders, tab-separated columns);
* full-width paragraphs (pillar headings, ■新たな大方針, principles, notes), some of
  them prefixed by a Markdown-like "- ";
* table rows, one per line: left cell TAB right cell, with ``<p>``, ``<ul …>``,
  ``<ol …>`` and ``<u>`` markup (``<ul>``/``<ol>`` are never closed); a row split
  by a page break continues on the next row line, after a repeated header line;
* a few rows extracted without cells, one block per line.

Nothing here normalises text for comparison; see ``tests/helpers.norm`` and the
content tests. What this module does is cut the text into *segments*: pieces of
text between markup tags, cell boundaries and line ends, each knowing the item
row (``①－1``) it belongs to, with the garbled item numbers taken out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tests.helpers import REFERENCE

CIRCLED = "①②③④⑤⑥⑦⑧⑨"
# The number of items of each policy, ① … ⑨ (85 in all).
ITEM_COUNTS = (3, 9, 8, 4, 11, 9, 11, 14, 16)

# Item numbers as extracted: (①－1) (2-4) (㊟－4) （⑧－1 2） （⑥—9） (⑧ー3) (②－ 8) …
# ㊟ is how ⑨ came out of the extraction; a bare digit is the policy number.
ITEM_NUMBER_RE = re.compile(
    r"[（(]\s*([①-⑨㊟1-9])\s*[－\-—ー−–‐]\s*([0-9０-９][0-9０-９ ]*?)\s*[）)]")
TAG_RE = re.compile(r"<[^>]*>")
TABLE_HEADER = ("中堅企業等支援に関する新たな取組方針", "事業名・取組状況等")
TOC_LEADER_RE = re.compile(r"\.{3,}")
CATEGORY_RE = re.compile(r"^【(?!令和)[^】]+】$")


def item_label(policy: str, n: int) -> str:
    """``①－1``: the label of an item (FULLWIDTH HYPHEN-MINUS, half-width number)."""
    return f"{policy}－{n}"


def expected_labels() -> list[str]:
    """All 85 labels in document order, from the per-policy counts."""
    return [item_label(CIRCLED[p], n) for p, count in enumerate(ITEM_COUNTS) for n in range(1, count + 1)]


def parse_item_number(match: re.Match) -> str:
    policy, number = match.group(1), match.group(2)
    if policy == "㊟":
        policy = "⑨"
    elif policy in "123456789":
        policy = CIRCLED[int(policy) - 1]
    digits = re.sub(r"\s+", "", number).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    return item_label(policy, int(digits))


@dataclass(frozen=True)
class Segment:
    text: str  # raw text (markup and item numbers removed, not normalised)
    line: int  # 1-based line of the reference file
    item: str | None  # "①－1" for text of an item row, None for text outside the table
    policy: str | None  # "①" … of the policy the text belongs to (None before the first one)


@dataclass(frozen=True)
class Reference:
    title: str
    toc_policies: tuple[str, ...]  # "①事業再生" … as listed by the published TOC
    toc_categories: tuple[str, ...]  # "【中小機構】" … as listed by the published TOC
    segments: tuple[Segment, ...]
    items: tuple[str, ...]  # item labels in the order they occur
    categories: tuple[str, ...]  # distinct categories of the rows, in order ("【…】", spaces kept)


def _is_header(line: str) -> bool:
    cells = [c.strip() for c in line.split("\t")]
    return tuple(cells) == TABLE_HEADER


def _cell_pieces(cell: str) -> list[str]:
    """Pieces of one cell (or one plain line) between markup tags."""
    return TAG_RE.split(cell)


@lru_cache(maxsize=None)
def load(path: Path = REFERENCE) -> Reference:
    lines = path.read_text(encoding="utf-8").splitlines()
    # --- table of contents: from 目次 to the first line without dot leaders ---
    toc_start = next(i for i, line in enumerate(lines) if line.strip() == "目次")
    body_start = toc_start + 1
    while body_start < len(lines) and (not lines[body_start].strip() or TOC_LEADER_RE.search(lines[body_start])):
        body_start += 1
    toc_entries = []
    for line in lines[toc_start + 1:body_start]:
        for cell in line.split("\t"):
            m = re.match(r"^\s*(.*?)\s*\.{3,}\s*$", cell)
            if m and m.group(1):
                toc_entries.append(m.group(1))
    toc_policies = tuple(e for e in toc_entries if e[0] in CIRCLED)
    toc_categories = tuple(e for e in toc_entries if e.startswith("【"))
    title = next(line.strip() for line in lines[:toc_start] if line.strip())

    # --- which item does each body line belong to ------------------------------
    # A line (a row with a TAB, or a plain line) belongs to the item numbered in
    # it; when it starts with a category but has no number, to the item numbered
    # in the next line (the page break fell between category and number); else
    # to the previous item (the continuation of a row split by a page break).
    numbered: dict[int, str] = {}
    for i in range(body_start, len(lines)):
        m = ITEM_NUMBER_RE.search(lines[i])
        if m:
            numbered[i] = parse_item_number(m)
    # the title (before the table of contents) is text of the document too
    segments: list[Segment] = [Segment(line, i + 1, None, None) for i, line in enumerate(lines[:toc_start]) if line.strip()]
    items: list[str] = []
    categories: list[str] = []
    current_item: str | None = None
    current_policy: str | None = None
    in_table = False
    for i in range(body_start, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        if _is_header(line):
            in_table = True
            continue
        stripped = line.strip()
        if i in numbered:
            current_item = numbered[i]
            current_policy = current_item[0]
            items.append(current_item)
            in_table = True
        elif stripped.startswith("■"):
            current_item, in_table = None, False
        elif not in_table and not current_item and stripped.lstrip("- ")[:1] in CIRCLED:
            current_policy = stripped.lstrip("- ")[0]  # a principle: ① 資本金劣後ローン…
        elif re.match(r"^\d+\.\s", stripped):
            current_item, in_table = None, False  # a pillar heading
        owner = current_item
        first_piece = next((p.strip() for p in _cell_pieces(line.split("\t")[0]) if p.strip()), "")
        if i not in numbered and CATEGORY_RE.match(first_piece):
            # a row (or plain line) that starts with a category but whose item number
            # was pushed to the next row by a page break
            nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip() and not _is_header(lines[j])), None)
            if nxt in numbered:
                owner = numbered[nxt]
        # a Markdown-like list marker at the start of a plain line
        text_line = re.sub(r"^\s*-\s+", "", line) if "\t" not in line else line
        for cell in text_line.split("\t"):
            for piece in _cell_pieces(cell):
                # the item number is a boundary: the text before and after are separate segments
                for part in ITEM_NUMBER_RE.split(piece)[::3]:
                    if part.strip():
                        segments.append(Segment(part, i + 1, owner, owner[0] if owner else current_policy))
    for seg in segments:
        if seg.item and CATEGORY_RE.match(seg.text.strip()) and seg.text.strip() not in categories:
            categories.append(seg.text.strip())
    return Reference(title, toc_policies, toc_categories, tuple(segments), tuple(items), tuple(categories))
