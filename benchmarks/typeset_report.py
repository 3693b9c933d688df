"""Typesetting report of a built PDF (issue 15): how ragged the table's lines are.

    .venv/bin/python benchmarks/typeset_report.py output/followup.pdf [--json]

Read with pdfplumber from the PDF alone, so it can measure any build, old or new.
Counts, over the table cells of the body pages:

* ``short_ge3`` / ``short_2to3`` / ``short_1to2``: non-final lines of a paragraph
  ending that many em (text size) short of their column's right edge;
* ``last_le2``: last lines of a paragraph of one or two characters (after a line
  of the same paragraph);
* ``empty_left``: row fragments (cells split by a page break) whose left cell is
  empty while the right one has text;
* ``unlabelled``: row fragments at the top of a page that go on from the page
  before (their left cell does not open with a 【category】) and whose left cell
  does not open with the item number and （続き） either;
* ``short_start``: cells that go on to the next page from a row that starts on
  this one, with fewer than ``MIN_LINES`` lines here;
* ``stranded``: such going-on cells whose last line here opens with a category,
  a project name or a budget line (【 or ○);
* ``toc_wrapped``: lines of the table of contents that carry no page number
  (an entry that wrapped).

Lines are characters of one column with the same baseline. Paragraphs are found
by geometry: the next line of the same paragraph is exactly one line pitch below
and starts where the paragraph's continuation lines start; a larger gap (block and
list-item margins) or a different start opens a new paragraph. The last line of a
column on a page is left out (it may continue on the next page), as are lines
that end in a right-aligned tag (［経産省］). A heuristic, but the same one for
every build compared.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict

TAG_END = re.compile(r"[］〕]$")
CONTINUED = re.compile(r"^（[^（）\s]+）（続き）")  # layouts/settings.yaml labels.continued, after the item number
MIN_LINES = 3  # layouts/settings.yaml table.row_start_min_lines


def _lines(chars):
    """Group characters into lines: (top, x0, x1, text, size)."""
    rows = defaultdict(list)
    for c in chars:
        rows[round(c["bottom"], 1)].append(c)
    out = []
    for bottom, cs in sorted(rows.items()):
        cs.sort(key=lambda c: c["x0"])
        out.append({"bottom": bottom, "x0": cs[0]["x0"], "x1": cs[-1]["x1"], "size": cs[0]["size"],
                    "text": "".join(c["text"] for c in cs)})
    return out


def _cells(page):
    """Distinct cell rectangles of the table on a page, as (x0, top, x1, bottom)."""
    seen = set()
    for r in page.rects:
        if r["height"] < 5 or r["width"] < 50:
            continue
        key = (round(r["x0"]), round(r["top"]), round(r["x1"]), round(r["bottom"]))
        seen.add(key)
    # a cell's border is drawn as nested rectangles: keep the outermost
    cells = []
    for k in sorted(seen):
        if not any(o != k and o[0] <= k[0] and o[1] <= k[1] and o[2] >= k[2] and o[3] >= k[3] for o in seen):
            cells.append(k)
    return cells


def _inside(c, cell):
    return cell[0] <= c["x0"] and c["x1"] <= cell[2] + 0.5 and cell[1] <= c["top"] and c["bottom"] <= cell[3] + 0.5


def _paragraph_stats(lines, right, em, pitch, stats):
    """Split one cell's lines into paragraphs and count short and lonely lines."""
    paragraphs, current, cont_x = [], [], None
    for line in lines:
        if current:
            prev = current[-1]
            same = abs(line["bottom"] - prev["bottom"] - pitch) < 0.6 and abs(line["size"] - prev["size"]) < 0.1
            if same:
                if cont_x is None:
                    same = current[0]["x0"] - 0.5 * em <= line["x0"] <= current[0]["x0"] + 1.5 * em
                else:
                    same = abs(line["x0"] - cont_x) < 0.3 * em
            if same:
                cont_x = line["x0"] if cont_x is None else cont_x
                current.append(line)
                continue
            paragraphs.append(current)
        current, cont_x = [line], None
    if current:
        paragraphs.append(current)
    for i, para in enumerate(paragraphs):
        final_known = i < len(paragraphs) - 1  # the cell's last paragraph may go on overleaf
        for j, line in enumerate(para):
            last = j == len(para) - 1
            if last:
                if final_known and j > 0 and len(line["text"].strip()) <= 2:
                    stats["last_le2"] += 1
                continue
            if TAG_END.search(line["text"]):
                continue
            short = (right - line["x1"]) / em
            if short >= 3:
                stats["short_ge3"] += 1
            elif short >= 2:
                stats["short_2to3"] += 1
            elif short >= 1:
                stats["short_1to2"] += 1
        stats["lines"] += len(para)


def report(path: str) -> dict:
    import pdfplumber

    stats = defaultdict(int)
    fragments = []  # per table page, its row fragments under the header: (left lines, right lines)
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            text = page.extract_text() or ""
            cells = _cells(page)
            if cells:
                fragments.append(_fragments(page, cells))
            if not cells:
                if "目次" in text or any(r for r in _lines(page.chars) if "…" in r["text"] or "...." in r["text"]):
                    _toc(page, stats)
                continue
            body_size = max((c["size"] for c in page.chars), key=lambda s: sum(1 for c in page.chars if c["size"] == s))
            em, pitch = body_size, None
            lefts = sorted({c[0] for c in cells})
            for cell in cells:
                chars = [c for c in page.chars if _inside(c, cell)]
                if cell[0] == lefts[0] and len(lefts) > 1:
                    partner = [o for o in cells if o[0] != cell[0] and abs(o[1] - cell[1]) < 1]
                    if not chars and partner and any(_inside(c, partner[0]) for c in page.chars):
                        stats["empty_left"] += 1
                lines = _lines(chars)
                if lines and CONTINUED.match(lines[0]["text"]):
                    lines = lines[1:]  # a continuation's label: not a line of a paragraph
                if not lines:
                    continue
                pitch = pitch or _pitch(page, cells)
                right = cell[2] - _padding_right(cells, page)
                _paragraph_stats(lines, right, em, pitch, stats)
    _split_rows(fragments, stats)
    return {k: stats[k] for k in ("lines", "short_ge3", "short_2to3", "short_1to2", "last_le2", "empty_left",
                                  "unlabelled", "short_start", "stranded", "toc_wrapped")}


def _fragments(page, cells) -> list[tuple[list[str], list[str]]]:
    """The page's row fragments (a left and a right cell side by side), top to bottom, the header row left out."""
    lefts = sorted({c[0] for c in cells})
    pairs = []
    for cell in sorted(cells, key=lambda c: c[1]):
        partner = [o for o in cells if o[0] != cell[0] and abs(o[1] - cell[1]) < 1]
        if cell[0] == lefts[0] and len(lefts) > 1 and partner:
            pairs.append([[line["text"] for line in _lines([c for c in page.chars if _inside(c, box)])]
                          for box in (cell, partner[0])])
    return [tuple(pair) for pair in pairs[1:]]


def _split_rows(pages, stats) -> None:
    """Count unlabelled continuations, short starts and stranded lines over consecutive table pages."""
    for here, after in zip(pages, pages[1:] + [[]]):
        first = after[0] if after else None
        goes_on = first is not None and not (first[0] and first[0][0].startswith("【"))
        if goes_on and not (first[0] and CONTINUED.match(first[0][0])):
            stats["unlabelled"] += 1
        if not goes_on or not here:
            continue
        last = here[-1]
        starts_here = bool(last[0]) and last[0][0].startswith("【")
        for lines, next_lines in zip(last, first):
            rest = next_lines[1:] if next_lines and CONTINUED.match(next_lines[0]) else next_lines
            if not rest:
                continue  # this cell ended on this page
            if starts_here and len(lines) < MIN_LINES:
                stats["short_start"] += 1
            if lines and lines[-1][:1] in ("【", "○"):
                stats["stranded"] += 1


def _pitch(page, cells) -> float:
    """The most common distance between consecutive baselines of one cell on the page (the line pitch).

    Within cells: the two columns' baselines need not line up (a continuation's label shifts the left one)."""
    gaps = defaultdict(int)
    for cell in cells:
        bottoms = sorted({round(c["bottom"], 1) for c in page.chars if _inside(c, cell)})
        for a, b in zip(bottoms, bottoms[1:]):
            gaps[round(b - a, 1)] += 1
    return max(gaps, key=gaps.get)


_PAD = {}


def _padding_right(cells, page) -> float:
    """Distance from a cell's outer right edge to where its full lines end (largest right edge seen)."""
    if "pad" not in _PAD:
        gaps = []
        for cell in cells:
            chars = [c for c in page.chars if _inside(c, cell)]
            if chars:
                gaps.append(cell[2] - max(c["x1"] for c in chars))
        _PAD["pad"] = min(gaps) if gaps else 0.0
    return _PAD["pad"]


def _toc(page, stats):
    mid = page.width / 2
    for half in (lambda c: c["x0"] < mid, lambda c: c["x0"] >= mid):
        for line in _lines([c for c in page.chars if half(c)]):
            body = line["text"].strip()
            if "目次" in body or not body:
                continue
            if ("..." in body or "…" in body or re.search(r"\d$", body)) and re.search(r"\d$", body):
                continue
            stats["toc_wrapped"] += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pdf")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = report(args.pdf)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            print(f"{k:12} {v}")


if __name__ == "__main__":
    main()
