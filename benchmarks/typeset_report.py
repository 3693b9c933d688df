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
* ``toc_wrapped``: lines of the table of contents (below its title) that carry
  no page number (an entry that wrapped);
* ``toc_lonely``: lines of the contents that hold one or two characters
  besides the leader and the page number.

Paragraphs come from the PDF's structure tree (the build is tagged): the
characters of one paragraph are those whose marked content belongs to one
block element (P, LI, H1–H3, TD…), and its lines are its characters with the
same baseline. (An untagged PDF falls back to geometry: the next line of the
same paragraph is exactly one line pitch below and starts where the
paragraph's continuation lines start. That merged consecutive paragraphs with
the same start, such as the 【budget】 lines under a project, and counted
their short last lines as short non-final ones.) The last line of a cell on a
page is left out (it may continue on the next page), as are lines that end in a
right-aligned tag (［経産省］). The same measure for every build compared.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict

TAG_END = re.compile(r"[］〕]$")
CONTINUED = re.compile(r"^（[^（）\s]+）（続き）")  # layouts/settings.yaml labels.continued, after the item number
MIN_LINES = 3  # layouts/settings.yaml table.row_start_min_lines
HALF_AT_END = set("、。，．）〕］｝〉》」』】")  # may end a line set half-width (adjacent marks, JLReq 3.1.4)


def _lines(chars):
    """Group characters into lines by baseline (a marker from another font has another bottom):
    (bottom, x0, x1, text, size) in reading order."""
    rows = defaultdict(list)
    for c in chars:
        rows[round(c["matrix"][5], 1)].append(c)
    out = []
    for _, cs in sorted(rows.items(), reverse=True):  # PDF y grows upwards
        cs.sort(key=lambda c: c["x0"])
        body = max(cs, key=lambda c: c["size"])
        out.append({"bottom": round(body["bottom"], 1), "x0": cs[0]["x0"], "x1": cs[-1]["x1"], "size": body["size"],
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


BLOCKS = {"P", "LI", "LBody", "H1", "H2", "H3", "H4", "TD", "TH", "Caption"}


def _blocks(page) -> dict:
    """Marked-content id → the block element of the structure tree it belongs to (its paragraph)."""
    out: dict = {}

    def walk(element, block):
        if element.get("type") in BLOCKS:
            block = id(element)
        for mcid in element.get("mcids") or ():
            out[mcid] = block
        for child in element.get("children") or ():
            walk(child, block)

    try:
        tree = page.structure_tree
    except Exception:  # an untagged or unreadable structure: geometry only
        return {}
    for element in tree:
        walk(element, None)
    return out


def _tagged_paragraphs(chars, blocks) -> list | None:
    """The cell's paragraphs (lists of lines) from the structure tree, in reading order; None when untagged."""
    if not blocks or any(c.get("mcid") is None for c in chars):
        return None
    by_block: dict = {}
    for c in chars:
        by_block.setdefault(blocks.get(c["mcid"]), []).append(c)
    paragraphs = [_lines(cs) for cs in by_block.values()]
    return sorted(paragraphs, key=lambda para: (para[0]["bottom"], para[0]["x0"]))


def _paragraph_stats(lines, right, em, pitch, stats, paragraphs=None):
    """Split one cell's lines into paragraphs (unless given) and count short and lonely lines."""
    if paragraphs is not None:
        _count(paragraphs, right, em, stats)
        return
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
    _count(paragraphs, right, em, stats)


def _count(paragraphs, right, em, stats):
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
            if short < -0.25 and line["text"].rstrip()[-1:] in HALF_AT_END:
                short += 0.5  # a mark set half-width at the line end: its blank half lies past the edge
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
            blocks = _blocks(page)
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
                _paragraph_stats(lines, right, em, pitch, stats, _tagged_paragraphs(chars, blocks))
    _split_rows(fragments, stats)
    return {k: stats[k] for k in ("lines", "short_ge3", "short_2to3", "short_1to2", "last_le2", "empty_left",
                                  "unlabelled", "short_start", "stranded", "toc_wrapped", "toc_lonely")}


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


_LEADER_NUMBER = re.compile(r"(?:\.{2,}|…+)?\s*\d+$")


def _toc(page, stats):
    """Lines of the contents (below its title): wrapped entries and lines of one or two characters."""
    title = [c for c in page.chars if c["text"] in "目次"]
    below = max((c["bottom"] for c in title), default=0) if "目次" in (page.extract_text() or "") else 0
    mid = page.width / 2
    for half in (lambda c: c["x0"] < mid, lambda c: c["x0"] >= mid):
        for line in _lines([c for c in page.chars if half(c) and c["top"] > below]):
            body = line["text"].strip()
            if not body:
                continue
            if not _LEADER_NUMBER.search(body):
                stats["toc_wrapped"] += 1  # an entry that goes on on the next line
            elif len(_LEADER_NUMBER.sub("", body).strip()) <= 2:
                stats["toc_lonely"] += 1  # a line of one or two characters before the leader


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
