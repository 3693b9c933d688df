"""Ministry previews against the full document, the release manifest, and a missing LibreOffice."""

from __future__ import annotations

import hashlib
import json

import pytest

from compiler.pipeline import compile_sources
from compiler.diagnostics import Diagnostics
from compiler.document import Omission, Row
from compiler.transforms.preview import select
from tests.helpers import OFFICIAL, build, norm, pdf_pages


@pytest.fixture(scope="module")
def compiled():
    diags = Diagnostics()
    result = compile_sources(OFFICIAL, diags)
    assert result.document is not None
    return result


def _shown_labels(view_policy, full_policy) -> list[str]:
    """Labels a preview policy accounts for: its rows, and the ranges its omission lines name."""
    labels = [r.label for r in full_policy.rows]
    shown = []
    for r in view_policy.rows:
        if isinstance(r, Row):
            shown.append(r.label)
        else:
            inner = r.text.removeprefix("（").split("は他府省分")[0]
            first, _, last = inner.partition("〜")
            shown += labels[labels.index(first): labels.index(last or first) + 1]
    return shown


def test_every_ministry_preview_matches_the_full_document(compiled):
    full = {r.item_id: r for r in compiled.document.rows()}
    full_policies = {q.id: q for p in compiled.document.pillars for q in p.policies}
    for ministry in compiled.valid.registry.ministries:
        view = select(compiled.document, ministry.name, compiled.theme, "プレビュー")
        kept = list(view.rows())
        expected = [r for r in compiled.document.rows() if ministry.name in r.responsible | r.mentioned]
        assert kept and [r.item_id for r in kept] == [r.item_id for r in expected], ministry.name
        for row in kept:
            original = full[row.item_id]
            assert (row.number, row.category, row.commitment, row.ministry_tag, row.status) == \
                   (original.number, original.category, original.commitment, original.ministry_tag, original.status)
        for pillar in view.pillars:
            for policy in pillar.policies:
                # every row of the policy is either shown or named by one omission line, in order
                full_labels = [r.label for r in full_policies[policy.id].rows]
                assert _shown_labels(policy, full_policies[policy.id]) == full_labels, (ministry.name, policy.id)
                assert not any(isinstance(a, Omission) and isinstance(b, Omission)
                               for a, b in zip(policy.rows, policy.rows[1:]))


def test_rendered_preview_keeps_final_numbers(compiled, tmp_path):
    result, diags = build(OFFICIAL, tmp_path, ministries=["経済産業省"], formats={"pdf"})
    assert not diags.has_errors
    pdf = tmp_path / "preview" / "経産省.pdf"
    text = norm("".join(pdf_pages(pdf)))
    assert "プレビュー(経産省)" in text and "正式な文書ではありません" in text
    rows = list(compiled.document.rows())
    kept = [r.number for r in rows if "経産省" in r.responsible | r.mentioned]
    left_out = [r.number for r in rows if "経産省" not in r.responsible | r.mentioned]
    positions = [text.find(norm(n)) for n in kept]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert not any(norm(n) in text for n in left_out)
    assert norm("は他府省分のため省略") in text


def test_manifest_describes_the_release(official_release):
    out = {p.name: p for p in official_release.written}
    manifest = json.loads(out["manifest.json"].read_text(encoding="utf-8"))
    for name in ("followup.pdf", "followup.docx"):
        data = out[name].read_bytes()
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    items = manifest["items"]
    assert items["total"] == 85 == sum(items["per_pillar"].values()) == sum(items["per_policy"].values())
    assert items["per_policy"]["⑨ 海外展開"] == 16 and items["per_ministry"]["経産省"] == 40
    assert manifest["version"] and "weasyprint" in manifest["libraries"]


def test_release_without_libreoffice_is_an_error_naming_the_package(mini, tmp_path, monkeypatch):
    from compiler.paging import libreoffice as lopages

    monkeypatch.setattr(lopages, "available", lambda: False)
    result, diags = build(mini, tmp_path / "out", release=True)
    [d] = [d for d in diags.items if d.code == "E050"]
    assert "libreoffice-writer-nogui" in d.hint
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("ministries, formats, runs", [(("経産省",), {"pdf", "docx"}, 1), (None, {"pdf", "docx"}, 1),
                                                       (None, {"pdf"}, 0)])
def test_the_sources_revision_is_read_once_a_build(mini, monkeypatch, ministries, formats, runs):
    """A preview's mark and the DOCX record the sources' git revision: git is asked once a build, and not
    at all when nothing records it."""
    from compiler import pipeline

    asked = []
    original = pipeline.source_revision
    monkeypatch.setattr(pipeline, "source_revision", lambda sources: asked.append(sources) or original(sources))
    built = pipeline.build(pipeline.Request(sources=mini, ministries=ministries, formats=frozenset(formats),
                                            single_pass=True), Diagnostics())
    assert built.files
    assert len(asked) == runs
