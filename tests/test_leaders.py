"""Leaders drawn as one text run (compiler.writers.leaders): the contents page shows every dot where
WeasyPrint's own leader (one text box per dot) shows it, with far fewer text-showing operators.

Both PDFs are written in this process from the mini fixture: once as the build writes it, once with
WeasyPrint's own ``handle_leader`` (kept as ``handle_leader.copies``), so the comparison can fail."""

from __future__ import annotations

import io

import pytest

from tests.helpers import MINI


def _front_page(own: bool):
    """(sorted characters of page 1 as (text, x0, top), number of Tj/TJ operators on page 1)."""
    import pdfplumber
    import pikepdf
    from weasyprint.layout import inline

    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import compile_sources
    from compiler.writers import leaders, pdf

    diags = Diagnostics()
    compiled = compile_sources(MINI, diags)
    assert compiled.document is not None, diags.items
    assert leaders.install()
    with pytest.MonkeyPatch.context() as patch:
        if own:
            patch.setattr(inline, "handle_leader", inline.handle_leader.copies)
            patch.setattr(leaders, "install", lambda: False)  # layout() would put the extension back
        data = pdf.write(compiled.document, compiled.theme)
    with pdfplumber.open(io.BytesIO(data)) as doc:
        chars = sorted((c["text"], round(c["x0"], 2), round(c["top"], 2)) for c in doc.pages[0].chars)
    with pikepdf.open(io.BytesIO(data)) as doc:
        shows = sum(1 for _, op in pikepdf.parse_content_stream(doc.pages[0]) if str(op) in ("Tj", "TJ"))
    return chars, shows


@pytest.fixture(scope="module")
def pages():
    return _front_page(own=False), _front_page(own=True)


def test_every_dot_stands_where_weasyprint_puts_it(pages):
    (joined, _), (own, _) = pages
    dots = [c for c in own if c[0] == "."]
    assert len(dots) >= 100  # the mini fixture's contents has leaders
    assert joined == own


def test_a_leader_is_one_text_run(pages):
    (_, joined), (_, own) = pages
    assert own >= 300  # WeasyPrint shows each of the 337 dots with an operator of its own
    assert joined < own / 5  # one operator per leader


def test_an_unsupported_weasyprint_is_left_alone(monkeypatch):
    import weasyprint
    from weasyprint.layout import inline

    from compiler.writers import leaders

    if getattr(inline.handle_leader, "_fu", False):
        monkeypatch.setattr(inline, "handle_leader", inline.handle_leader.copies)
    before = inline.handle_leader
    monkeypatch.setattr(weasyprint, "__version__", "99.0")
    assert leaders.install() is False
    assert inline.handle_leader is before
