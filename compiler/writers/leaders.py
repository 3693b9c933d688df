"""Leaders as one text run: a small extension of WeasyPrint 70.

WeasyPrint fills a ``leader(".")`` with one copy of the leader's text box per dot
(``layout.leader.handle_leader``), so the table of contents, with some 1,100 dots,
was drawn as as many text objects: each one is given a Pango layout again when it is
drawn, and the front page took 0.3 s to write, more than any body page. The dots of
one leader stand side by side, each one box width right of the last; this module
replaces them, at that one seam, with one text box of all those dots, which a
fixed-pitch font draws at the same places (the tests compare every dot's position
with WeasyPrint's own). The patch is written for WeasyPrint 70 (``SUPPORTED``) and is
not installed on any other version, which then draws the copies as before.
"""

from __future__ import annotations

SUPPORTED = ("70.",)


def joined(context, leader_box) -> None:
    """Give ``leader_box`` (filled by WeasyPrint) one text box of all its dots, if it has several."""
    from weasyprint.text.line_break import create_layout

    dots = leader_box.children
    if len(dots) < 2:
        return
    first = min(dots, key=lambda box: box.position_x)
    text = first.text * len(dots)
    box = first.copy_with_text(text)
    layout = create_layout(text, box.style, context, max_width=None, justification_spacing=0)
    layout.deactivate()  # as every laid-out box's: drawing makes it again (``Layout.reactivate``)
    box.pango_layout = layout
    box.width = first.width * len(dots)
    leader_box.children = (box,)


def install() -> bool:
    """Replace ``handle_leader`` once; ``False`` (and nothing changed) on an unsupported WeasyPrint."""
    from weasyprint.layout import inline, leader

    from compiler.writers import engine

    def make(copies):
        def handle_leader(context, line, containing_block):
            copies(context, line, containing_block)
            _, box = leader.leader_index(line)
            if box is not None:
                joined(context, box)
        return handle_leader

    return engine.extend(inline, "handle_leader", SUPPORTED, make, keep_as="copies")  # WeasyPrint's own
