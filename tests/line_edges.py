"""Where the lines of justified paragraphs end, read from WeasyPrint's laid-out box tree.

The box tree knows the paragraph structure exactly: every block container
holding line boxes is one paragraph (a ``<p>``, the text of a ``<li>``), its
fragments on successive pages share one element, and its content box gives
the column edge. For each line of a justified paragraph in a table cell or
the ■ box this gives how far short of the edge it ends (in em of the
paragraph's text size) and whether it is the paragraph's last line; a short
non-final line is explained by what follows it:

* ``kept``: the next line starts with a kept-together token (a
  ``white-space: nowrap`` box, see ``compiler.writers.html.nobreak``) wider than
  the space left: the token could not move up;
* ``forced``: the line ends in a forced break (a preserved newline);
* anything else is unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHORT_EM = 1.0  # a non-final line may end at most this far from the edge


@dataclass
class Line:
    text: str
    page: int  # 0-based
    short_em: float  # distance from the end of the text to the column edge, in em
    final: bool = False  # the paragraph's last line
    reason: str = ""  # why a short non-final line is short ("kept", "forced", "" = unexplained)
    classes: str = ""  # the paragraph element's class attribute


@dataclass
class Measure:
    lines: list[Line] = field(default_factory=list)

    def non_final(self) -> list[Line]:
        return [line for line in self.lines if not line.final]

    def short(self, limit: float = SHORT_EM) -> list[Line]:
        return [line for line in self.non_final() if line.short_em >= limit]

    def counts(self) -> dict[str, int]:
        """Non-final lines by how short they end (≥3, 2–3, 1–2 em) and the short ones by reason."""
        short = self.short()
        out = {"non_final": len(self.non_final()),
               "short_ge3": sum(line.short_em >= 3 for line in short),
               "short_2to3": sum(2 <= line.short_em < 3 for line in short),
               "short_1to2": sum(1 <= line.short_em < 2 for line in short)}
        for line in short:
            key = f"reason_{line.reason or 'unexplained'}"
            out[key] = out.get(key, 0) + 1
        return out


def _line_text(line) -> str:
    from weasyprint.formatting_structure import boxes

    return "".join(box.text for box, _ in _walk(line) if isinstance(box, boxes.TextBox))


def _walk(line):
    """The line's leaf boxes, each with whether it lies inside a kept-together (nowrap) box."""
    from compiler.writers.justify import leaves

    return leaves(line)


def _end(line) -> float:
    """Right edge of the line's last visible box, by margin box: a mark set half an em tighter at the
    end of a line (``.kp``, its blank half past the edge, JLReq's half-width line-end punctuation)
    ends where its margin ends."""
    from weasyprint.formatting_structure import boxes

    ends = [box.position_x + box.margin_width() for box in line.children
            if box.is_in_normal_flow() and not (isinstance(box, boxes.TextBox) and not box.text.strip())]
    return max(ends, default=line.position_x)


def _first_kept_width(line) -> float | None:
    """Width of the kept-together token that opens ``line`` (its leading nowrap boxes), or None."""
    from weasyprint.formatting_structure import boxes

    leaves = _walk(line)
    if not leaves or not leaves[0][1]:
        return None
    if isinstance(leaves[0][0], boxes.TextBox) and not leaves[0][0].text:
        return None
    start = leaves[0][0].position_x
    end = start
    for box, nowrap in leaves:
        if not nowrap:
            break
        end = box.position_x + box.margin_width()
    return end - start


def _paragraphs(box, inside: bool, out: list) -> None:
    """Justified block containers with line boxes inside table cells or the ■ box, in document order."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):
        return
    classes = (box.element.get("class") or "") if box.element is not None else ""
    inside = inside or box.element_tag == "td" or "principle" in classes.split()
    lines = [child for child in box.children if isinstance(child, boxes.LineBox)]
    if lines and inside and box.style["text_align_all"] == "justify":
        out.append((box, lines))
    for child in getattr(box, "children", ()):
        _paragraphs(child, inside, out)


def measure(document) -> Measure:
    """Every line of the justified paragraphs of a rendered WeasyPrint document."""
    from weasyprint.formatting_structure import boxes

    result = Measure()
    last_of: dict = {}  # paragraph key -> its last Line so far (the fragments of one paragraph share it)
    pending: list = []  # (Line, LineBox, next LineBox or None, edge) to classify once the next line is known
    for number, page in enumerate(document.pages):
        found: list = []
        _paragraphs(page._page_box, False, found)
        for box, lines in found:
            key = id(box.element)
            edge = box.content_box_x() + box.width
            em = box.style["font_size"]
            for i, line_box in enumerate(lines):
                line = Line(_line_text(line_box), number, (edge - _end(line_box)) / em,
                            classes=(box.element.get("class") or "") if box.element is not None else "")
                result.lines.append(line)
                previous = last_of.get(key)
                if previous is not None:
                    previous[0].final = False
                    pending.append((previous[0], previous[1], line_box, previous[2], em))
                line.final = True
                last_of[key] = (line, line_box, edge)
    for line, line_box, next_box, edge, em in pending:
        if line.short_em < SHORT_EM:
            continue
        kept = _first_kept_width(next_box)
        if line.text.endswith("\n"):
            line.reason = "forced"
        elif kept is not None and kept > edge - _end(line_box):
            line.reason = "kept"
    return result
