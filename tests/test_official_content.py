"""Issue 3 — the official document as sources: all 85 items, nothing lost.

The document checked is the frozen copy of the 令和5年2月 sources
(``tests/fixtures/official-r5-02``, ``OFFICIAL``), never the live ``sources/``,
which the secretariat edits every cycle.

The published text (``REFERENCE``) is the yardstick:

1. coverage: every sentence of the published text (outside its table of contents
   and repeated table headers), after the recorded corrections, is found in the
   text of the built PDF and, separately, of the built DOCX;
2. the 85 item numbers （①－1）…（⑨－16） appear in both, in document order;
3. every policy and every category appears exactly once in the PDF's table of
   contents, with a page number.

Comparison keys come from ``norm()`` (NFKC, no whitespace, one bracket style, one
tilde), from the recorded corrections (``corrections/<policy>.yaml`` of the frozen
copy ``OFFICIAL``, each applied to the reference row of its ``file``, a path
resolved relative to that copy), from the global rules of
``corrections/_rules.yaml`` (``file: "*"``; regular expressions on the
normalised text) and from one symmetric rule of this module: list markers are not
text (``MARKERS``). Every correction and rule must apply somewhere. Nothing is
matched fuzzily and no sentence is dropped: a sentence is found as a substring of
the normalised text, or reported missing.

The PDF is read column by column (``pdf_text``) so that a row split by a page
break reads on; the DOCX paragraph by paragraph (cells row by row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests import reference
from tests.helpers import OFFICIAL, PdfStreams, docx_paragraphs, first_body_page, norm, pdf_pages, pdf_text

CORRECTIONS = OFFICIAL / "corrections"

# List markers are layout, not text: bullets (•, ➢; the extraction also shows ➤ and ▶
# for ➢) and the circled numbers of numbered lists and of the principles (① 資本金…).
# They are deleted from *both* sides before comparing, because the published text
# lost some of them (bullets run together in one <ul>) and the DOCX may number lists
# by itself. Item numbers are taken out of the reference separately (tests/reference.py).
MARKERS = re.compile(r"[•➢➤▶①-⑳]")
SEP = "\u0000"  # joins independent texts (columns, front matter): no sentence contains it


def key(text: str) -> str:
    """Comparison key of a text of either side: ``norm()`` without list markers."""
    return MARKERS.sub("", norm(text))


# --- the built files ------------------------------------------------------------

def built(official, suffix: str) -> Path:
    return next(p for p in official.written if p.suffix == suffix)


def official_pdf_text(official) -> PdfStreams:
    doc = official.document
    pdf = built(official, ".pdf")
    return pdf_text(pdf, first_body_page(pdf, doc.pillars[0].anchor), doc.labels.commitment_heading, doc.labels.status_heading)


def pdf_coverage_text(official) -> str:
    t = official_pdf_text(official)
    return SEP.join((key(t.front), key(t.left), key(t.right)))


def docx_body(official) -> tuple[list[str], list[str]]:
    """(front paragraphs before 目次, body paragraphs from the first pillar heading on)."""
    paragraphs = docx_paragraphs(built(official, ".docx"))
    toc_at = paragraphs.index("目次")
    first_heading = norm(official.document.pillars[0].heading)
    body_at = next(i for i in range(toc_at + 1, len(paragraphs)) if norm(paragraphs[i]) == first_heading)
    return paragraphs[:toc_at], paragraphs[body_at:]


def docx_coverage_text(official) -> str:
    front, body = docx_body(official)
    return SEP.join((key("".join(front)), key("".join(body))))


# --- corrections and rules -----------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    source: str  # the corrections file
    file: str  # path of the item file relative to OFFICIAL, or "*"
    original: str
    corrected: str
    reason: str

    @property
    def path(self) -> Path | None:
        """The item file the correction is about, resolved in the frozen copy (``None`` for a rule)."""
        return None if self.file == "*" else (OFFICIAL / self.file).resolve()


def item_labels(official) -> dict[Path, str]:
    """Item label of each item file of the built document, keyed by its path in the frozen copy.

    The ``official`` build reads ``OFFICIAL``, so row spans are relative to it."""
    return {(OFFICIAL / row.span.file).resolve(): row.label for row in official.document.rows()}


def load_corrections() -> list[Correction]:
    from ruamel.yaml import YAML

    out = []
    for path in sorted(CORRECTIONS.glob("*.yaml")):
        for entry in YAML(typ="safe").load(path.read_text(encoding="utf-8")) or []:
            out.append(Correction(path.name, entry["file"], entry["original"], entry["corrected"], entry.get("reason", "")))
    return out


@dataclass(frozen=True)
class Sentence:
    key: str
    line: int  # of the reference file
    item: str | None
    text: str  # the reference segment it comes from, as published

    def __str__(self) -> str:
        where = f"{self.item} " if self.item else ""
        return f"line {self.line} {where}「{self.key}」"


SENTENCE_RE = re.compile(r"[^。]*。[)」』】]*|[^。]+$")


def split_sentences(text: str) -> list[str]:
    """At 。, keeping closing brackets that follow it with the sentence."""
    return [s for s in SENTENCE_RE.findall(text) if s]


def reference_sentences(official) -> tuple[list[Sentence], dict[Correction, int]]:
    """Sentences of the reference, corrected, with how often each correction applied."""
    ref = reference.load()
    labels = item_labels(official)
    corrections = load_corrections()
    used = {c: 0 for c in corrections}
    by_item: dict[str, list[Correction]] = {}
    rules = []
    for c in corrections:
        if c.path is None:
            rules.append(c)
        elif c.path in labels:
            by_item.setdefault(labels[c.path], []).append(c)
    sentences = []
    for seg in ref.segments:
        text = norm(seg.text)
        for c in by_item.get(seg.item, []):
            if norm(c.original) in text:
                text = text.replace(norm(c.original), norm(c.corrected))
                used[c] += 1
        for c in rules:  # regular expressions on the normalised text (see _rules.yaml)
            text, n = re.subn(c.original, c.corrected, text)
            used[c] += n
        text = MARKERS.sub("", text)
        for s in split_sentences(text):
            sentences.append(Sentence(s, seg.line, seg.item, seg.text))
    return sentences, used


def coverage(sentences: list[Sentence], haystack: str, name: str) -> list[Sentence]:
    missing = [s for s in sentences if s.key not in haystack]
    found = len(sentences) - len(missing)
    print(f"{name} coverage {100.0 * found / len(sentences):.1f}% ({found}/{len(sentences)} sentences)")
    return missing


def report(missing: list[Sentence], name: str) -> str:
    lines = [f"{len(missing)} sentence(s) of the published text not found in the {name} (first 20):"]
    lines += [f"  {s}" for s in missing[:20]]
    return "\n".join(lines)


# --- tests -------------------------------------------------------------------------------------

def test_reference_parses_into_85_items_and_30_categories():
    """The yardstick itself: the garbled item numbers of the reference read back as （①－1）…（⑨－16）."""
    ref = reference.load()
    assert list(ref.items) == reference.expected_labels()
    categories = list(dict.fromkeys(norm(c) for c in ref.categories))
    # the published TOC lists 29 categories; the rows have one more, which it omits
    assert len(categories) == 30
    assert set(categories) - {norm(c) for c in ref.toc_categories} == {norm("【海外展開等のための知財戦略支援】")}
    assert len(ref.toc_policies) == 9


def test_corrections_name_item_files_of_the_frozen_copy():
    corrections = load_corrections()
    assert corrections and any(c.path is None for c in corrections) and any(c.path for c in corrections)
    missing = [c for c in corrections if c.path is not None and not c.path.is_file()]
    assert not missing, f"corrections naming a file that is not in {OFFICIAL.name}: {missing}"
    outside = [c for c in corrections if c.path is not None and not c.path.is_relative_to(OFFICIAL.resolve())]
    assert not outside, outside


def test_every_correction_applies_to_its_row(official):
    sentences, used = reference_sentences(official)
    labels = item_labels(official)
    unknown = [c for c in used if c.path is not None and c.path not in labels]
    assert not unknown, f"corrections naming a file that is not an item of the document: {unknown}"
    unused = [c for c, n in used.items() if n == 0]
    assert not unused, "corrections whose original text is not in the reference row of their file:\n" + \
        "\n".join(f"  {c.source}: {c.file}: 「{c.original}」" for c in unused)


def test_pdf_contains_every_sentence_of_the_published_text(official):
    sentences, _ = reference_sentences(official)
    missing = coverage(sentences, pdf_coverage_text(official), "PDF")
    assert not missing, report(missing, "PDF")


def test_docx_contains_every_sentence_of_the_published_text(official):
    sentences, _ = reference_sentences(official)
    missing = coverage(sentences, docx_coverage_text(official), "DOCX")
    assert not missing, report(missing, "DOCX")


ITEM_NUMBER_BUILT = re.compile(r"（[①-⑨]－\d+）")


def expected_item_numbers() -> list[str]:
    return [f"（{label}）" for label in reference.expected_labels()]


def test_expected_item_numbers():
    numbers = expected_item_numbers()
    assert len(numbers) == 85 and numbers[0] == "（①－1）" and numbers[-1] == "（⑨－16）"


def _assert_item_numbers_in_order(text: str, name: str):
    compact = re.sub(r"\s+", "", text)
    found = ITEM_NUMBER_BUILT.findall(compact)
    expected = expected_item_numbers()
    missing = [n for n in expected if n not in found]
    assert not missing, f"{name}: item numbers missing: {missing}"
    assert found == expected, f"{name}: item numbers out of order or repeated: " + \
        str([(i, f, e) for i, (f, e) in enumerate(zip(found, expected)) if f != e][:10] or found[len(expected):])


def test_pdf_item_numbers_in_document_order(official):
    t = official_pdf_text(official)
    # the left column stream: cells top to bottom, page after page
    _assert_item_numbers_in_order(t.left, "PDF")


def test_docx_item_numbers_in_document_order(official):
    _, body = docx_body(official)
    _assert_item_numbers_in_order("\n".join(body), "DOCX")


def test_pdf_toc_lists_every_policy_and_category_once_with_a_page(official):
    ref = reference.load()
    pdf = built(official, ".pdf")
    entries = official_pdf_text(official).toc
    last_page = len(pdf_pages(pdf)) - first_body_page(pdf, official.document.pillars[0].anchor)
    expected = list(ref.toc_policies) + list(dict.fromkeys(ref.categories))
    expected = list(dict.fromkeys(norm(e) for e in expected))
    assert len(expected) == 9 + 30
    problems = []
    for label in expected:
        hits = [page for text, page in entries if norm(text) == label]
        if len(hits) != 1:
            problems.append(f"{label}: {len(hits)} entries")
        elif not 1 <= hits[0] <= last_page:
            problems.append(f"{label}: page {hits[0]} outside 1–{last_page}")
    assert not problems, "table of contents of the PDF:\n" + "\n".join(problems) + \
        "\nentries read: " + ", ".join(f"{t} {p}" for t, p in entries)
