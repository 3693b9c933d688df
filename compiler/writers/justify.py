"""Inter-character justification (両端揃え) for Japanese lines: a small extension of WeasyPrint 70.

WeasyPrint's ``layout.inline.justify_line`` spreads a line's free width over
its spaces only, so a Japanese line (no spaces) stays ragged. This module
replaces that one function, at that one seam: when a justified line has no
expandable space, the free width is spread over the gaps between characters
instead, as Word and JLReq (3.8) do, as Pango letter spacing on the
characters before each gap. A gap is an expansion opportunity when

* one of its two characters is Japanese (kana, kanji, full-width forms), so
  Latin words and numbers keep their own spacing;
* the character after it may start a line (no gap before 、。）」ー or small
  kana) and the character before it may end one (no gap after （「);
* it is not inside a kept-together token (a ``white-space: nowrap`` box, see
  ``writers/html.nobreak``): only after such a token's last character.

Lines without such a gap (Latin text) keep WeasyPrint's own algorithm, which
widens spaces. On a line with both, the gaps and the spaces inside the line
share the free width; a gap never widens by more than ``MAX_GAP_EM`` and the
spaces take the rest (a Japanese line with too few gaps and no space stays
short rather than gappy). The patch is written for
WeasyPrint 70 (``SUPPORTED``) and is not installed on any other version, so an
upgrade falls back to ragged lines instead of breaking; the tests pin both
the positions it produces and this version check.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

SUPPORTED = ("70.",)
MAX_GAP_EM = 0.5

# JLReq classes (cl-02 closing brackets, cl-05/06 punctuation, cl-07 middle dots, cl-10/11 iteration marks,
# prolonged sound mark and small kana): never after a gap.
NO_LINE_START = set("、。，．,.）〕］｝〉》」』】〙〗｠»”’・：；:;！？!?ー々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ‐゠–〜～")
# cl-01 opening brackets: never before a gap.
NO_LINE_END = set("（〔［｛〈《「『【〘〖｟«“‘")


def is_japanese(ch: str) -> bool:
    """Kana, kanji and full-width forms: the characters between which a gap may widen."""
    if not ch:
        return False
    cp = ord(ch)
    return (0x3000 <= cp <= 0x30FF or 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF
            or 0xFF01 <= cp <= 0xFF60 or 0x31F0 <= cp <= 0x31FF or 0x2460 <= cp <= 0x24FF or 0x3200 <= cp <= 0x33FF
            or unicodedata.east_asian_width(ch) in "WF")


@lru_cache(maxsize=65536)
def is_opportunity(before: str, after: str) -> bool:
    """May the gap between ``before`` and ``after`` widen?"""
    if before.isspace() or after.isspace():
        return False
    if not (is_japanese(before) or is_japanese(after)):
        return False
    return before not in NO_LINE_END and after not in NO_LINE_START


def _characters(box, kept: bool, out: list) -> None:
    """The line's characters in order: (text box or None for an atomic box, index, char, inside a kept token)."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TextBox):
        for i, ch in enumerate(box.text):
            out.append((box, i, ch, kept))
    elif isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        inner = kept or (isinstance(box, boxes.InlineBox) and box.style["white_space"] in ("nowrap", "pre"))
        for child in box.children:
            if child.is_in_normal_flow():
                _characters(child, inner, out)
    else:
        out.append((None, 0, "", False))  # an inline-block (e.g. a list marker): no gap on either side


SPACES = (" ", "\u00a0")  # the spaces WeasyPrint widens (``count_expandable_spaces``)


def opportunities(line) -> tuple[dict, int]:
    """Text box → indexes of its characters that are followed by a widening gap (never the line's last),
    and the number of spaces inside the line (not at its end). Boxes holding such spaces are in the
    map too, with the indexes of their gaps (maybe none)."""
    chars: list = []
    _characters(line, False, chars)
    while chars and (chars[-1][0] is None or chars[-1][2].isspace()):
        chars.pop()
    found: dict = {}
    spaces = 0
    for (box, i, ch, kept), (next_box, _, next_ch, next_kept) in zip(chars, chars[1:]):
        if box is None or next_box is None:
            continue
        if ch in SPACES:
            spaces += 1
            found.setdefault(id(box), (box, []))
            continue
        if kept and next_kept and next_box is box:
            continue  # inside one kept-together token
        if is_opportunity(ch, next_ch):
            found.setdefault(id(box), (box, []))[1].append(i)
    return found, spaces


def _install_letter_spacing() -> None:
    """Let a Pango layout carry per-character letter spacing (``fu_gaps``), applied when it is drawn."""
    from weasyprint.text import line_break
    from weasyprint.text.ffi import TO_UNITS, ffi, pango

    if getattr(line_break.Layout, "_fu_gaps", False):
        return
    original = line_break.Layout.set_text

    def set_text(self, text, justify=False):
        original(self, text, justify)
        gaps = getattr(self, "fu_gaps", None)
        if not justify or not gaps:
            return
        spacing, indexes = gaps
        own = self.style["letter_spacing"]
        if own != "normal":
            spacing += int(own * TO_UNITS)  # the change below replaces the character's own letter spacing
        attr_list = pango.pango_layout_get_attributes(self.layout)
        if attr_list == ffi.NULL:
            attr_list = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
        offsets = [0]
        for ch in self.text:
            offsets.append(offsets[-1] + len(ch.encode("utf-8")))
        for i in indexes:
            if i < len(self.text):
                attr = pango.pango_attr_letter_spacing_new(spacing)
                attr.start_index, attr.end_index = offsets[i], offsets[i + 1]
                pango.pango_attr_list_change(attr_list, attr)
        pango.pango_layout_set_attributes(self.layout, attr_list)

    line_break.Layout.set_text = set_text
    line_break.Layout._fu_gaps = True


def _width(layout) -> float:
    from weasyprint.text.line_break import line_size

    first_line, _ = layout.get_first_line()
    return line_size(first_line, layout.style)[0]


def _spread(context, line, found: dict, spacing: float, space_spacing: float = 0.0) -> float:
    """Give every opportunity ``spacing`` points and every inner space ``space_spacing`` more;
    returns the width the line actually grew by."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.text.ffi import TO_UNITS
    from weasyprint.text.line_break import create_layout

    def walk(box, x_advance: float) -> float:
        if isinstance(box, boxes.TextBox):
            box.position_x += x_advance
            entry = found.get(id(box))
            if entry:
                # The box's laid-out width is its text's width without the gaps (the same
                # Pango layout and justification spacing), so only the widened text is shaped.
                if space_spacing:
                    box.justification_spacing = space_spacing
                layout = create_layout(box.text, box.style, context, max_width=None,
                                       justification_spacing=box.justification_spacing)
                layout.fu_gaps = (int(spacing * TO_UNITS), tuple(entry[1]))
                layout.set_text(box.text, justify=True)
                grown = _width(layout) - box.width
                layout.deactivate()
                box.pango_layout = layout
                box.width += grown
                x_advance += grown
            return x_advance
        if isinstance(box, (boxes.LineBox, boxes.InlineBox)):
            box.position_x += x_advance
            start = x_advance
            for child in box.children:
                if child.is_in_normal_flow():
                    x_advance = walk(child, x_advance)
            box.width += x_advance - start
            return x_advance
        box.translate(x_advance, 0)
        return x_advance

    return walk(line, 0.0)


def install() -> bool:
    """Replace ``justify_line`` once; ``False`` (and nothing changed) on an unsupported WeasyPrint."""
    import weasyprint
    from weasyprint.layout import inline

    if not weasyprint.__version__.startswith(SUPPORTED):
        return False
    if getattr(inline.justify_line, "_fu", False):
        return True
    _install_letter_spacing()
    spaces_only = inline.justify_line

    def justify_line(context, line, extra_width):
        found, spaces = opportunities(line)
        count = sum(len(indexes) for _, indexes in found.values())
        if not count:
            return spaces_only(context, line, extra_width)
        if extra_width > 0:
            # Gaps and inner spaces share the free width; what a gap cannot take (MAX_GAP_EM)
            # goes to the spaces, as WeasyPrint would give it to them.
            gap = min(extra_width / (count + spaces), MAX_GAP_EM * line.style["font_size"])
            _spread(context, line, found, gap, (extra_width - gap * count) / spaces if spaces else 0.0)

    justify_line._fu = True
    justify_line.spaces_only = spaces_only  # WeasyPrint's own, for comparisons (tests)
    inline.justify_line = justify_line
    return True
