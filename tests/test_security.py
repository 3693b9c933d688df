"""Untrusted text stays text: nothing in a source can fetch, embed, execute or write elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import build, docx_paragraphs, norm, pdf_column_texts

SECRET = "CANARY-9f27c1-SECRET"


@pytest.fixture
def canary(tmp_path) -> Path:
    f = tmp_path / "canary.txt"
    f.write_text(SECRET, encoding="utf-8")
    return f


def hostile_values(canary: Path) -> list[str]:
    url = canary.as_uri()
    return [
        "<script>alert(1)</script>",
        f'<img src="{url}">',
        f'<link rel="attachment" href="{url}">',
        f'<style>@import url("{url}"); body {{ background: url("{url}") }}</style>',
        "{{ 7*7 }} {% raw %}",
        f'<a href="{url}">リンク</a>',
    ]


def test_hostile_text_renders_literally_and_fetches_nothing(mini, canary, tmp_path):
    values = hostile_values(canary)
    item = mini / "10-alpha/10-first/010-first-a.yaml"
    text = item.read_text(encoding="utf-8")
    bullets = "".join(f"      - '{v}'\n" for v in values)
    text = text.replace("      - 甲の一つ目の状況。\n", bullets)
    text = text.replace("project: 甲事業", f"project: '{values[2]}'")
    item.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result, diags = build(mini, out)
    assert not diags.has_errors, diags.items
    pdf = out / "mini.pdf"
    raw = pdf.read_bytes()
    assert SECRET.encode() not in raw and b"/EmbeddedFile" not in raw and b"/URI" not in raw
    left, right = pdf_column_texts(pdf)
    pdf_text = left + right
    docx_text = norm("".join(docx_paragraphs(out / "mini.docx")))
    for value in values:
        assert norm(value) in pdf_text, value
        assert norm(value) in docx_text, value
    assert "49" not in pdf_text.replace("2023", "")  # {{ 7*7 }} was not evaluated
    import zipfile

    with zipfile.ZipFile(out / "mini.docx") as z:
        assert all(SECRET not in z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_fetcher_serves_only_project_assets(tmp_path, monkeypatch):
    from compiler.writers import pdf as pdfmod

    allowed = tmp_path / "assets"
    allowed.mkdir()
    (allowed / "ok.css").write_text("p {}", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text(SECRET, encoding="utf-8")
    (allowed / "link.css").symlink_to(outside)
    monkeypatch.setattr(pdfmod, "ALLOWED_DIRS", (allowed,))
    assert pdfmod.resolve_allowed((allowed / "ok.css").as_uri()) == (allowed / "ok.css").resolve()
    for url in [(allowed / "link.css").as_uri(), f"file://{allowed}/../secret.txt", outside.as_uri(),
                "http://127.0.0.1/x.css", "data:text/css,p{}", "ftp://example.invalid/a", f"file://remotehost{outside}"]:
        with pytest.raises(pdfmod.BlockedURL):
            pdfmod.resolve_allowed(url)
