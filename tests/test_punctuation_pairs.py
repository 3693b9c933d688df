"""約物の連続 (JLReq 3.1.4): two adjacent brackets or marks are set half an em closer, the text unchanged;
and the justification never widens a gap inside a kept-together token.

Pairs are measured from pdfplumber's glyph positions in a crafted build (short paragraphs: final lines,
which justification leaves alone), and in the official fixture's PDF."""

from __future__ import annotations

import pytest

from tests.helpers import crafted_pdf, norm

# Text → advance of each character to the next, in em: a closing bracket or 、。 before another mark,
# an opening bracket before an opening bracket (both orders of the bracket kinds) give half an em back.
PAIRS = {
    "甲）「乙": [1, 0.5, 1], "甲」（乙": [1, 0.5, 1], "甲））。": [1, 0.5, 0.5], "甲。」乙": [1, 0.5, 1],
    "甲、「乙": [1, 0.5, 1], "甲「（乙": [1, 0.5, 1], "甲）、乙": [1, 0.5, 1], "甲】【乙": [1, 0.5, 1],
}
PLAIN = ["甲）乙", "甲「乙", "甲「」乙", "甲・「乙"]


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory):
    import pdfplumber

    texts = [f"{i}{t}" for i, t in enumerate([*PAIRS, *PLAIN])]
    pdf = crafted_pdf(tmp_path_factory.mktemp("pairs"), "注記。", {"080-pairs.yaml": {
        "id": "pairs", "category": "約物", "commitment": ["約物の連続。"], "ministry": "経産省",
        "status": [{"text": t} for t in texts],
    }})
    lines = {}
    with pdfplumber.open(str(pdf)) as doc:
        page_text = "\n".join(page.extract_text() or "" for page in doc.pages)
        for page in doc.pages:
            for chars in _lines(page):
                text = "".join(c["text"] for c in chars)
                for t in texts:
                    at = text.find(t)
                    if at >= 0 and (at == 0 or not text[at - 1].isdigit()):
                        lines[t] = chars[at:at + len(t)]
    return lines, page_text, texts


def _lines(page):
    """The page's lines: characters with one baseline, left to right."""
    rows: dict = {}
    for c in page.chars:
        rows.setdefault(round(c["matrix"][5], 1), []).append(c)
    return [sorted(chars, key=lambda c: c["x0"]) for chars in rows.values()]


def _advances(chars) -> list[float]:
    """Advance of each character to the next, in em."""
    return [round((b["x0"] - a["x0"]) / a["size"], 3) for a, b in zip(chars, chars[1:])]


@pytest.mark.parametrize("pair", PAIRS)
def test_adjacent_marks_are_half_an_em_apart(glyphs, pair):
    lines, _, texts = glyphs
    text = next(t for t in texts if t.endswith(pair) and t[:-len(pair)].isdigit())
    chars = lines[text]
    assert _advances(chars)[len(text) - len(pair):] == pytest.approx(PAIRS[pair], abs=0.01)


@pytest.mark.parametrize("plain", PLAIN)
def test_other_neighbours_keep_their_full_width(glyphs, plain):
    lines, _, texts = glyphs
    text = next(t for t in texts if t.endswith(plain) and t[:-len(plain)].isdigit())
    assert _advances(lines[text])[len(text) - len(plain):] == pytest.approx([1.0] * (len(plain) - 1), abs=0.01)


def test_text_is_unchanged(glyphs):
    _, page_text, texts = glyphs
    flat = norm(page_text)
    for t in texts:
        assert norm(t) in flat


def test_no_gap_widens_inside_a_kept_token(official):
    """A digit before its unit (12月, 157.7億円, 87,471人) advances exactly its half em on every line,
    justified or not: justification widens after a token, never inside it."""
    import pdfplumber

    pdf = next(p for p in official.written if p.suffix == ".pdf")
    advances = []
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            for chars in _lines(page):
                for a, b in zip(chars, chars[1:]):
                    if a["text"].isdigit() and b["text"] in "月円年日件人":
                        advances.append((b["x0"] - a["x0"]) / a["size"])
    assert len(advances) >= 300
    assert max(advances) == pytest.approx(0.5, abs=0.005)
    assert min(advances) == pytest.approx(0.5, abs=0.005)
