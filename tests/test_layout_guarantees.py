"""Layout guarantees: no glyph is ever placed outside the page or outside its table cell.

One small document (the mini fixture plus one row of hostile content) is built
once: a 400-letter word, a long URL, a 600-digit number bare and as an amount,
a ministry tag naming twelve ministries, each also at the deepest bullet level
(3) and in the principle box. Every glyph of the PDF is then checked with
pdfplumber against the page's text area and against the rules of its cell.
Also: a column heading too long to fit its cell in a few lines is refused at
check time (E043), and WeasyPrint's fontconfig sees only the fonts in fonts/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compiler.theme import FONTS_DIR, load_theme
from tests.helpers import MINI, build

MM = 72 / 25.4
WORD = "a" * 400
URL = "https://www.example.go.jp/" + "policy/follow-up/" * 20 + "index.html"
DIGITS = "1234567890" * 60
MINISTRIES = ["経産省", "厚労省", "内閣府", "金融庁", "総務省", "法務省", "外務省", "財務省", "文科省", "農水省", "国交省", "環境省"]
HOSTILE = [WORD, URL, DIGITS, DIGITS + "億円", "［" + "・".join(MINISTRIES) + "］", "（" + URL + "）を参照。"]


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML


def hostile_sources(base: Path) -> Path:
    sources = base / "sources"
    shutil.copytree(MINI, sources)
    document = sources / "document.yaml"
    extra = "".join(f"  - name: {m}\n" for m in MINISTRIES[3:])
    document.write_text(document.read_text(encoding="utf-8") + extra, encoding="utf-8")
    folder = sources / "10-alpha" / "10-first"
    policy = folder / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("大方針の注記。", WORD + URL), encoding="utf-8")
    _write(folder / "090-hostile.yaml", {
        "id": "hostile", "category": "長い語" + DIGITS, "commitment": HOSTILE, "ministry": "・".join(MINISTRIES),
        "status": [
            {"project": URL, "budget": [DIGITS + "億円"]},
            {"bullets": HOSTILE + [{"text": "二段目。", "bullets": HOSTILE[:3] + [{"text": "三段目。", "bullets": HOSTILE}]}]},
            {"numbered": HOSTILE[:3]},
            {"note": URL + WORD},
            {"ministry": "・".join(MINISTRIES)},
        ]})
    return sources


@pytest.fixture(scope="module")
def hostile_pdf(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    result, diags = build(hostile_sources(base), base / "out", formats={"pdf"})
    assert not diags.has_errors, diags.items
    return next(p for p in result.written if p.suffix == ".pdf")


def test_every_glyph_lies_inside_the_page_and_its_cell(hostile_pdf):
    import pdfplumber

    theme = load_theme()
    m = theme.page.margin_mm
    checked = in_cells = 0
    with pdfplumber.open(str(hostile_pdf)) as pdf:
        seen = "".join(c["text"] for page in pdf.pages for c in page.chars)
        for needle in ("aaaaaaaaaaaaaaaaaaaa", "follow-up/policy", "4567890123", "環境省］"):
            assert needle in seen, f"the probe {needle!r} was not drawn at all"
        for number, page in enumerate(pdf.pages, 1):
            left, right = m.left * MM - 0.5, page.width - m.right * MM + 0.5
            vertical = [e for e in page.edges if e["orientation"] == "v" and e["bottom"] - e["top"] > 2]
            for c in page.chars:
                if not c["text"].strip():
                    continue
                where = f"page {number}: {c['text']!r} at x {c['x0']:.1f}–{c['x1']:.1f}, top {c['top']:.1f}"
                assert left <= c["x0"] and c["x1"] <= right, f"{where} is outside the text area"
                assert 0 <= c["top"] and c["bottom"] <= page.height, f"{where} is outside the page"
                middle = (c["top"] + c["bottom"]) / 2
                rules = sorted(e["x0"] for e in vertical if e["top"] <= middle <= e["bottom"])
                if len(rules) >= 2:  # a table row: the glyph stays between the rules around it
                    centre = (c["x0"] + c["x1"]) / 2
                    lo = max((x for x in rules if x <= centre), default=None)
                    hi = min((x for x in rules if x >= centre), default=None)
                    assert lo is not None and hi is not None, f"{where} is outside the table"
                    assert lo <= c["x0"] and c["x1"] <= hi, f"{where} crosses a rule ({lo:.1f}, {hi:.1f})"
                    in_cells += 1
                checked += 1
    assert checked > 3000 and in_cells > 2000, (checked, in_cells)


def test_a_column_heading_too_long_for_its_cell_is_refused_at_check(mini):
    from click.testing import CliRunner

    from compiler.cli import main

    document = mini / "document.yaml"
    text = document.read_text(encoding="utf-8")
    document.write_text(text.replace("commitment: 新たな取組方針", "commitment: " + "新たな取組方針" * 40), encoding="utf-8")
    r = CliRunner().invoke(main, ["check", "--sources", str(mini), "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 1
    items = json.loads(r.stdout)
    assert [(d["code"], Path(d["span"]["file"]).name, d["span"]["line"]) for d in items] == \
        [("E043", "document.yaml", text.splitlines().index("  commitment: 新たな取組方針") + 1)]


def test_the_longest_accepted_heading_still_fits_one_page(mini, tmp_path):
    """At the limit, the header row is drawn on every table page (the limit is not too generous)."""
    import pdfplumber

    from compiler.frontend.layoutfit import heading_limit

    theme = load_theme()
    longest = "見" * int(heading_limit(theme, "commitment"))
    document = mini / "document.yaml"
    document.write_text(document.read_text(encoding="utf-8").replace("commitment: 新たな取組方針", f"commitment: {longest}"),
                        encoding="utf-8")
    result, diags = build(mini, tmp_path / "out", formats={"pdf"})
    assert not diags.has_errors, diags.items
    with pdfplumber.open(str(result.written[0])) as pdf:
        table_pages = [p for p in pdf.pages if len({round(e["x0"]) for e in p.edges if e["orientation"] == "v"}) >= 3]
        assert table_pages
        for page in table_pages:
            text = page.extract_text() or ""
            assert "見見見" in text and "事業名・取組状況等" in text, text[:200]


def test_weasyprint_fontconfig_lists_only_the_shipped_fonts():
    """The fontconfig file the PDF writer loads sees fonts/ and nothing of the host."""
    from compiler.writers import pdf

    env = dict(os.environ, FONTCONFIG_FILE=str(pdf.FONTCONFIG_FILE))
    listed = subprocess.run(["fc-list", "--format", "%{file}\n"], env=env, capture_output=True, text=True, check=True).stdout
    files = {Path(line) for line in listed.splitlines() if line}
    assert files == {p.resolve() for p in FONTS_DIR.glob("*.ttf")}, files
    assert len(subprocess.run(["fc-list"], capture_output=True, text=True).stdout.splitlines()) > len(files), \
        "the host has other fonts (else this test proves nothing)"


def test_the_fontconfig_switch_is_scoped():
    from compiler.writers import pdf

    before = os.environ.get("FONTCONFIG_FILE")
    with pdf.project_fonts_only():
        assert os.environ["FONTCONFIG_FILE"] == str(pdf.FONTCONFIG_FILE)
    assert os.environ.get("FONTCONFIG_FILE") == before
