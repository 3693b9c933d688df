"""Inter-character justification (両端揃え) for Japanese lines: a small extension of WeasyPrint 70.

WeasyPrint's ``layout.inline.justify_line`` spreads a line's free width over
its spaces only, so a Japanese line (no spaces) stays ragged. This module
replaces that one function, at that one seam: the free width of a justified
line is spread over the gaps between characters, as Word and JLReq (3.8) do.
A gap inside a text box is Pango letter spacing, solved so that exactly the
chosen gaps widen (``letter_spacings``: Pango puts half of a character's
spacing before it and half after); a gap between two boxes moves the boxes
after it. A gap is an expansion opportunity when

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


def leaves(box, kept: bool = False, out: list | None = None) -> list:
    """The leaf boxes of a line (text boxes and atomic boxes) in order, each with whether it lies
    inside a kept-together token (a ``white-space: nowrap`` box)."""
    from weasyprint.formatting_structure import boxes

    out = [] if out is None else out
    if isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        inner = kept or (isinstance(box, boxes.InlineBox) and box.style["white_space"] in ("nowrap", "pre"))
        for child in box.children:
            if child.is_in_normal_flow():
                leaves(child, inner, out)
    else:
        out.append((box, kept))
    return out


def _characters(line, out: list) -> None:
    """The line's characters in order: (text box or None for an atomic box, index, char, inside a kept token)."""
    from weasyprint.formatting_structure import boxes

    for box, kept in leaves(line):
        if isinstance(box, boxes.TextBox):
            out.extend((box, i, ch, kept) for i, ch in enumerate(box.text))
        else:
            out.append((None, 0, "", False))  # an inline-block (e.g. a list marker): no gap on either side


SPACES = (" ", "\u00a0")  # the spaces WeasyPrint widens (``count_expandable_spaces``)


def opportunities(line) -> tuple[dict, int]:
    """Where the line may widen: text box → ``(box, gaps, widens_after)`` and the number of spaces
    inside the line (not at its end).

    ``gaps`` are the indexes of the box's characters followed by a widening gap inside the box;
    ``widens_after`` says whether the gap after the box's last character (before the next box)
    widens. Boxes holding inner spaces are in the map too (maybe with no gap)."""
    chars: list = []
    _characters(line, chars)
    while chars and (chars[-1][0] is None or chars[-1][2].isspace()):
        chars.pop()
    found: dict = {}
    spaces = 0
    for (box, i, ch, kept), (next_box, _, next_ch, next_kept) in zip(chars, chars[1:]):
        if box is None or next_box is None:
            continue
        if ch in SPACES:
            spaces += 1
            found.setdefault(id(box), [box, [], False])
            continue
        if kept and next_kept and next_box is box:
            continue  # inside one kept-together token
        if is_opportunity(ch, next_ch):
            entry = found.setdefault(id(box), [box, [], False])
            if next_box is box:
                entry[1].append(i)
            else:
                entry[2] = True
    return found, spaces


def letter_spacings(gap: int, indexes, length: int) -> list[int]:
    """Pango letter spacing (in Pango units) for each of ``length`` characters so that exactly the gaps
    after ``indexes`` widen by ``gap`` and no other gap moves.

    Pango splits a character's letter spacing into halves before and after it (dropping the outer
    halves at the ends of a layout), so the gap between characters k and k+1 widens by
    (s[k] + s[k+1]) / 2: s[0] = 0 and s[k+1] = 2·gap[k] − s[k]. The text then grows by exactly
    ``gap × len(indexes)``. ``gap`` is even (exact halves) and never a multiple of half a point
    (Pango rounds whole-point spacings to whole points before halving them)."""
    wanted = set(indexes)
    out = [0] * length
    for k in range(length - 1):
        out[k + 1] = (2 * gap if k in wanted else 0) - out[k]
    return out


def even_units(spacing: float) -> int:
    """``spacing`` points in Pango units, as ``letter_spacings`` needs it (even, never k × 512)."""
    from weasyprint.text.ffi import TO_UNITS

    units = int(spacing * TO_UNITS) // 2 * 2
    return units + 2 if units and units % 512 == 0 else units


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
        if not justify or not gaps or not gaps[1]:
            return
        gap, indexes = gaps
        # What set_text gave each character already (letter spacing, word spacing on spaces):
        # the change below replaces it, so it is added back.
        own = self.style["letter_spacing"]
        own = 0 if own == "normal" else int(own * TO_UNITS)
        words = self.style["word_spacing"] + self.justification_spacing
        space = int(words * TO_UNITS + own) if words else own
        attr_list = pango.pango_layout_get_attributes(self.layout)
        if attr_list == ffi.NULL:
            attr_list = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
        start = 0
        last = len(self.text.encode("utf-8")) - 1
        for ch, extra in zip(self.text, letter_spacings(gap, indexes, len(self.text))):
            end = start + len(ch.encode("utf-8"))
            if extra:
                base = own
                if ch in SPACES and words:
                    base = space * (1 + (start in (0, last)))  # as WeasyPrint's set_text
                attr = pango.pango_attr_letter_spacing_new(base + extra)
                attr.start_index, attr.end_index = start, end
                pango.pango_attr_list_change(attr_list, attr)
            start = end
        pango.pango_layout_set_attributes(self.layout, attr_list)

    line_break.Layout.set_text = set_text
    line_break.Layout._fu_gaps = True


def _width(layout) -> float:
    from weasyprint.text.line_break import line_size

    first_line, _ = layout.get_first_line()
    return line_size(first_line, layout.style)[0]


def _spread(context, line, found: dict, spacing: float, space_spacing: float = 0.0) -> float:
    """Widen every opportunity by ``spacing`` points and every inner space by ``space_spacing``;
    returns the width the line grew by.

    A gap inside a text box is letter spacing of its layout (``letter_spacings``); a gap between
    two boxes (after a kept token, a tightened mark) moves the following boxes. A box without
    spaces grows by exactly its gaps, so only a box with spaces is measured again."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.text.ffi import FROM_UNITS
    from weasyprint.text.line_break import create_layout

    gap = even_units(spacing)
    pending = 0.0  # a widened gap after the previous box, not yet given to the next one

    def walk(box, x_advance: float) -> float:
        nonlocal pending
        if not isinstance(box, boxes.LineBox):
            x_advance += pending
            pending = 0.0
        if isinstance(box, boxes.TextBox):
            box.position_x += x_advance
            entry = found.get(id(box))
            if entry:
                _, indexes, widens_after = entry
                spaced = space_spacing and any(ch in SPACES for ch in box.text)
                if indexes or spaced:
                    if spaced:
                        box.justification_spacing = space_spacing
                    layout = create_layout(box.text, box.style, context, max_width=None,
                                           justification_spacing=box.justification_spacing)
                    layout.fu_gaps = (gap, tuple(indexes))
                    layout.set_text(box.text, justify=True)
                    grown = _width(layout) - box.width if spaced else gap * len(indexes) * FROM_UNITS
                    layout.deactivate()
                    box.pango_layout = layout
                    box.width += grown
                    x_advance += grown
                if widens_after:
                    pending = gap * FROM_UNITS
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
    from weasyprint.layout import inline

    from compiler.writers import engine

    def make(spaces_only):
        _install_letter_spacing()

        def justify_line(context, line, extra_width):
            found, spaces = opportunities(line)
            count = sum(len(indexes) + widens_after for _, indexes, widens_after in found.values())
            if not count:
                return spaces_only(context, line, extra_width)
            if extra_width > 0:
                # Gaps and inner spaces share the free width; what a gap cannot take (MAX_GAP_EM)
                # goes to the spaces, as WeasyPrint would give it to them.
                gap = min(extra_width / (count + spaces), MAX_GAP_EM * line.style["font_size"])
                _spread(context, line, found, gap, (extra_width - gap * count) / spaces if spaces else 0.0)
        return justify_line

    return engine.extend(inline, "justify_line", SUPPORTED, make, keep_as="spaces_only")  # WeasyPrint's own
