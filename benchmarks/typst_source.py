"""A minimal Typst source of the same content, for the benchmark's speed anchor (not a second writer).

    .venv/bin/followup dump --json > doc.json
    python benchmarks/typst_source.py doc.json FONTS_DIR > doc.typ

From the documented JSON form of the intermediate document (docs/document-json.md): the title and
date, a table of contents (Typst's ``outline``, depth 3, page numbers), each pillar and policy as
a heading on a new page, the policy's principle box, and the policy's table of two columns with a
repeated header row: the commitment (category, number, paragraphs, ministry tag) and the status
(projects with their budget lines, bullet lists with their markers and levels, paragraphs, notes,
ministry tags). Page numbers in the footer. In BIZ UD Mincho / Gothic from fonts/. It has none of
the house's finer rules (line-break protection, hanging indents, measured column widths), so it
does less work than the real writer: an anchor for speed, not a layout to compare.
"""

from __future__ import annotations

import json
import sys


def _s(text: str) -> str:
    """A Typst string literal (inserted as text: no markup in the content is interpreted)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _items(items, out: list[str]) -> None:
    for it in items:
        indent = f"{(it['level'] - 1) * 1}em"
        out.append(f'#pad(left: {indent})[#{_s(it["marker"] + " " + it["text"])}]')
        out.extend(f'#pad(left: {indent})[#{_s(p)}]' for p in it.get("paragraphs", ()))
        _items(it["children"], out)


def _status(blocks) -> str:
    out: list[str] = []
    for b in blocks:
        kind = b["kind"]
        if kind == "project":
            out.append(f'#text(font: "BIZ UDGothic")[#{_s(b["marker"] + b["name"] + b["reprint_mark"])}]')
            out.extend(f"#{_s(line)}" for line in b["budget"])
        elif kind == "list":
            _items(b["items"], out)
        elif kind == "note":
            out.append(f'#text(size: 9pt)[#{_s(b["marker"] + b["text"])}]')
        else:  # paragraph, ministry_tag
            out.append(f"#{_s(b['text'])}")
    return " \\\n".join(out)


def source(doc: dict, fonts: str) -> str:
    labels = doc["labels"]
    out = [
        '#set page(paper: "a4", margin: (top: 15mm, bottom: 15mm, left: 15mm, right: 15mm))',
        '#set text(font: ("BIZ UDMincho", "DejaVu Sans"), size: 10.5pt, lang: "ja")',
        '#show heading: set text(font: "BIZ UDGothic")',
        f'#align(center)[#text(size: 16pt, weight: "bold", font: "BIZ UDGothic")[#{_s(doc["title"])}]]',
        f'#align(right)[#{_s(doc["as_of"])}]',
        f'#outline(title: {_s(labels["toc_title"])}, depth: 3)',
        '#set page(numbering: "1")',
        "#counter(page).update(1)",
    ]
    for pillar in doc["pillars"]:
        out.append("#pagebreak(weak: true)")
        out.append(f'#heading(level: 1)[#{_s(pillar["number"] + " " + pillar["title"])}]')
        for i, policy in enumerate(pillar["policies"]):
            if i:
                out.append("#pagebreak(weak: true)")
            out.append(f'#heading(level: 2)[#{_s(policy["number"] + " " + policy["short_title"])}]')
            box = " \\\n".join(f"#{_s(p)}" for p in [labels["principle"], *policy["principle"], *policy["notes"]])
            out.append(f"#block(stroke: 0.5pt, inset: 2mm, width: 100%)[{box}]")
            cells = []
            for row in policy["rows"]:
                if "omission" in row:
                    cells.append(f'table.cell(colspan: 2)[#{_s(row["omission"])}]')
                    continue
                category = (f'#heading(level: 3)[#{_s(row["category"])}]' if row["category_anchor"]
                            else f'#text(font: "BIZ UDGothic")[#{_s(row["category"])}]')
                commitment = " \\\n".join([category, f'#{_s(row["number"] + "".join(row["commitment"][:1]))}',
                                           *(f"#{_s(p)}" for p in row["commitment"][1:]),
                                           f'#align(right)[#{_s(row["ministry_tag"])}]'])
                cells.append(f"[{commitment}]")
                cells.append(f"[{_status(row['status'])}]")
            out.append("#table(columns: (1fr, 1.3fr), stroke: 0.5pt, "
                       f'table.header([#{_s(labels["commitment_heading"])}], [#{_s(labels["status_heading"])}]), '
                       + ", ".join(cells) + ")")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        doc = json.load(fh)
    sys.stdout.write(source(doc, argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
