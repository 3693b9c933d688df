"""Transforms: the validated sources → the intermediate document, in ordered passes.

The order is declared here, once, and each pass says why it runs where it does:

1. ``numbering`` assembles the tree and numbers it — pillars 1., policies ①
   (continuous across pillars), items （①－1） from the order the loader found.
   Everything after it needs final numbers and document order.
2. ``reprints`` ranks the occurrences of each project in document order and
   marks all but the first （再掲）; it needs the order that numbering fixed,
   so moving an item moves the mark.
3. ``toc`` lists pillars, policies and categories; it runs last because it
   reads the numbered headings.

``preview`` is not a pass of every build: it selects one ministry's rows from
the resolved document and rebuilds the contents with ``toc``.
"""

from __future__ import annotations

from compiler.document import Document
from compiler.frontend.checks import ValidSources
from compiler.theme import Theme
from compiler.transforms import numbering, reprints, toc

PASSES = (reprints.run, toc.run)  # after numbering, which makes the document


def resolve(valid: ValidSources, theme: Theme) -> Document:
    doc = numbering.run(valid, theme)
    for run in PASSES:
        doc = run(doc, theme)
    return doc
