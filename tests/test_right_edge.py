"""The right edge, measured exactly (issue 15): non-final lines of table cells and the ■ box end within
1 em of their column's edge, unless a kept-together token that did not fit forces them short.

Measured on WeasyPrint's laid-out box tree of the frozen official fixture (tests/line_edges.py), where
the paragraph structure is exact; the same measure run with WeasyPrint's own justification (spaces
only) finds many short lines, so the test can fail."""

from __future__ import annotations

import pytest

from tests.helpers import OFFICIAL
from tests.line_edges import SHORT_EM, measure


def _laid_out():
    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import compile_sources
    from compiler.writers import pdf

    diags = Diagnostics()
    compiled = compile_sources(OFFICIAL, diags)
    assert compiled.document is not None, diags.items
    laid = pdf.layout(compiled.document, compiled.theme)
    try:
        return measure(laid.document)
    finally:
        laid.close()


@pytest.fixture(scope="module")
def justified():
    return _laid_out()


@pytest.fixture(scope="module")
def ragged():
    """The same layout with WeasyPrint's own justification (which widens spaces only)."""
    from weasyprint.layout import inline

    from compiler.writers import justify

    assert justify.install()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inline, "justify_line", inline.justify_line.spaces_only)
        patch.setattr(justify, "install", lambda: False)  # layout() would put the extension back
        return _laid_out()


def test_non_final_lines_end_within_one_em_of_the_edge(justified):
    assert len(justified.non_final()) >= 1000  # the table cells and ■ boxes of the whole fixture
    unexplained = [(line.page + 1, round(line.short_em, 2), line.text) for line in justified.short()
                   if not line.reason]
    assert unexplained == []
    # and none runs past the edge (a mark set half-width at the end ends at its margin: line_edges._end)
    assert min(line.short_em for line in justified.non_final()) > -0.01


def test_every_short_line_is_a_kept_token_that_did_not_fit(justified):
    short = justified.short()
    assert {line.reason for line in short} <= {"kept", "forced"}
    assert len(short) <= 5, [(line.page + 1, line.text) for line in short]
    assert all(line.short_em < 2 for line in short)


def test_the_measure_sees_ragged_lines_without_inter_character_justification(ragged, justified):
    assert len(ragged.non_final()) >= 1000
    unexplained = [line for line in ragged.short() if not line.reason]
    assert len(unexplained) >= 50
    assert max(line.short_em for line in ragged.short()) >= 3


def test_last_lines_are_left_alone(justified):
    """Final lines are not stretched: many end more than an em short."""
    finals = [line for line in justified.lines if line.final]
    assert sum(line.short_em >= SHORT_EM for line in finals) >= 0.5 * len(finals)
