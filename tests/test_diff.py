"""followup diff (新旧対照表): alignment by id, every kind of change, apply reproduces NEW, git revisions read safely."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.cli import main
from compiler.diagnostics import Diagnostics
from compiler.diff.chardiff import spans, tokens
from compiler.diff.report import Report, apply
from compiler.document import to_json
from compiler.pipeline import compile_sources
from tests.helpers import MINI

POLICY = "10-alpha/10-first"


def doc_of(folder: Path) -> dict:
    diags = Diagnostics()
    compiled = compile_sources(folder, diags)
    assert compiled.document is not None, diags.sorted()
    return to_json(compiled.document)


def report_of(old: Path, new: Path) -> Report:
    return Report.build(str(old), str(new), doc_of(old), doc_of(new))


def by_id(report: Report) -> dict[str, dict]:
    return {c["id"]: c for c in report.changes if c["target"] == "item"}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def pair(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(MINI, old)
    shutil.copytree(MINI, new)
    return old, new


def assert_self_checks(report: Report) -> None:
    assert apply(report.old, report.changes, report.spans) == report.new
    # the JSON form alone is enough to replay it
    data = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert apply(report.old, data["changes"], data["spans"]) == report.new


def test_same_document_has_no_change(pair):
    old, new = pair
    report = report_of(old, new)
    assert report.changes == [] and report.spans == []
    assert_self_checks(report)


def test_every_kind_of_change(pair):
    old, new = pair
    edit(new / POLICY / "030-first-c.yaml", "丙の段落。", "丙の段落を改めた。")
    (new / "20-beta/10-third/020-third-b.yaml").unlink()
    (new / POLICY / "040-first-d.yaml").write_text(
        "id: first-d\ncategory: 分類乙\ncommitment:\n  - 新しい取組。\nministry: 内閣府\nstatus:\n  - bullets:\n"
        "      - 新しい状況。\n  - ministry: 内閣府\n", encoding="utf-8")
    (new / "10-alpha/20-second/010-second-a.yaml").rename(new / "20-beta/10-third/005-second-a.yaml")
    report = report_of(old, new)
    items = by_id(report)
    assert items["first-c"]["kind"] == "changed"
    assert [(f["field"], f["old"], f["new"]) for f in items["first-c"]["fields"]] == [("paragraph", "丙の段落。", "丙の段落を改めた。")]
    assert items["third-b"]["kind"] == "removed" and items["third-b"]["new_number"] is None
    assert items["first-d"]["kind"] == "added" and items["first-d"]["new_number"] == "（①－4）"
    assert items["second-a"]["kind"] == "moved"
    assert (items["second-a"]["old_number"], items["second-a"]["new_number"]) == ("（②－1）", "（③－1）")
    assert items["third-a"]["kind"] == "renumbered" and items["third-a"]["fields"] == []
    counts = report.counts()
    assert counts["items"] == {"added": 1, "removed": 1, "changed": 1, "moved": 1, "renumbered": 1}
    assert counts["per_ministry"]["内閣府"] == 2  # first-d added, second-a moved
    assert_self_checks(report)


def test_reordering_within_a_policy_moves_the_reprint_mark(pair):
    old, new = pair
    (new / POLICY / "010-first-a.yaml").rename(new / POLICY / "025-first-a.yaml")  # first-a after first-b
    report = report_of(old, new)
    items = by_id(report)
    assert (items["first-b"]["old_number"], items["first-b"]["new_number"]) == ("（①－2）", "（①－1）")
    # first-b now holds the first occurrence of project-a: its 再掲 mark is gone, first-a has one
    assert items["first-b"]["kind"] == items["first-a"]["kind"] == "changed"
    assert set(items) == {"first-a", "first-b"}  # first-c keeps its number and content
    assert_self_checks(report)


def test_swap_without_content_change_is_renumbered_only(pair):
    old, new = pair
    d = new / "20-beta/10-third"
    (d / "010-third-a.yaml").rename(d / "030-third-a.yaml")
    report = report_of(old, new)
    items = by_id(report)
    assert {items["third-a"]["kind"], items["third-b"]["kind"]} == {"renumbered"}
    assert (items["third-a"]["old_number"], items["third-a"]["new_number"]) == ("（③－1）", "（③－2）")
    assert report.counts()["items"]["changed"] == 0
    assert_self_checks(report)


def test_reprint_mark_moves_with_its_first_occurrence(pair):
    old, new = pair
    (new / POLICY / "010-first-a.yaml").rename(new / "20-beta/10-third/030-first-a.yaml")
    report = report_of(old, new)
    items = by_id(report)
    assert items["first-a"]["kind"] == "moved"

    def reprint_change(change):
        return [(f["field"], f.get("new_attrs", {}).get("reprint")) for f in change["fields"] if f["field"] == "project"]

    assert reprint_change(items["first-a"]) == [("project", "（再掲）")]  # now a reprint
    assert reprint_change(items["first-b"]) == [("project", "")]  # now the first occurrence
    assert "second-a" not in items or reprint_change(items["second-a"]) == []
    assert_self_checks(report)


def test_policy_and_document_texts(pair):
    old, new = pair
    edit(new / POLICY / "policy.yaml", "最初の大方針の本文。", "最初の大方針の本文を改めた。")
    edit(new / POLICY / "policy.yaml", "大方針の注記。", "大方針の新しい注記。")
    edit(new / "20-beta/pillar.yaml", "第二の柱", "第二の柱（改）")
    edit(new / "document.yaml", "令和5年2月時点", "令和5年8月時点")
    report = report_of(old, new)
    texts = {(c["target"], c["id"]): c for c in report.texts()}
    assert [f["field"] for f in texts[("policy", "first")]["fields"]] == ["principle", "policy_note"]
    assert texts[("pillar", "beta")]["kind"] == "changed"
    assert {f["field"] for f in texts[("document", "document")]["fields"]} >= {"as_of"}
    assert report.counts()["texts"] == 3
    assert_self_checks(report)


def test_japanese_tokens_make_one_change_of_a_number():
    assert "157.7億円" in tokens("令和4年度当初：157.7億円の内数")
    old, new = spans("予算は157.7億円の内数", "予算は160.2億円の内数")
    assert [t for t, changed in old if changed] == ["157.7億円"]
    assert [t for t, changed in new if changed] == ["160.2億円"]
    old, new = spans("（①－3）", "（①－4）")
    assert [t for t, changed in new if changed] == ["4"]


def test_ministry_filter_and_json_cli(pair):
    old, new = pair
    edit(new / POLICY / "020-first-b.yaml", "乙の第一。", "乙の第一を改めた。")
    edit(new / "20-beta/10-third/010-third-a.yaml", "戊の状況。", "戊の状況を改めた。")
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--format", "json", "-m", "厚生労働省"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["id"] for c in data["changes"]] == ["first-b"]
    assert set(data["changes"][0]) >= {"id", "kind", "old_number", "new_number", "fields"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["text", "add", "remove", "move"]), st.integers(0, 50)), min_size=1, max_size=4))
def test_apply_reproduces_new_after_random_edits(tmp_path_factory, edits):
    base = tmp_path_factory.mktemp("prop")
    old, new = base / "old", base / "new"
    shutil.copytree(MINI, old)
    shutil.copytree(MINI, new)
    policies = sorted(p.parent for p in new.rglob("policy.yaml"))
    for n, (op, k) in enumerate(edits):
        items = sorted(p for p in new.rglob("*.yaml") if p.parent in policies and p.name != "policy.yaml")
        if op == "text" and items:
            item = items[k % len(items)]
            text = item.read_text(encoding="utf-8")
            item.write_text(text.replace("。", f"（改{k}）。", 1), encoding="utf-8")
        elif op == "add":
            target = policies[k % len(policies)]
            (target / f"{(k % 5) * 10 + 5:03d}-x{n}.yaml").write_text(
                f"id: x{n}\ncategory: 分類{'甲乙'[k % 2]}\ncommitment:\n  - 追加{n}。\nministry: 内閣府\nstatus:\n"
                f"  - reprint: project-a\n  - ministry: 内閣府\n", encoding="utf-8")
        elif op == "remove" and len(items) > 2:
            victim = items[k % len(items)]
            if "id: project-a" not in victim.read_text(encoding="utf-8"):  # the reprints need it
                victim.unlink()
        elif op == "move" and items:
            item = items[k % len(items)]
            item.rename(policies[(k // 3) % len(policies)] / f"{k % 7 * 10 + 1:03d}-m{n}.yaml")
    diags = Diagnostics()
    compiled = compile_sources(new, diags)
    if compiled.document is None:  # an edit made invalid sources (e.g. a category order): nothing to compare
        return
    report = Report.build("old", "new", doc_of(old), to_json(compiled.document))
    assert_self_checks(report)


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def test_git_revisions_are_read_without_running_repository_code(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo / "sources")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "tag", "r1")
    edit(repo / "sources" / POLICY / "030-first-c.yaml", "丙の段落。", "丙の段落を改めた。")
    _git(repo, "commit", "-q", "-am", "two")
    # the working tree differs from both revisions, and the repository tries to run code
    edit(repo / "sources" / POLICY / "030-first-c.yaml", "丙の段落を改めた。", "作業中の段落。")
    canary = tmp_path / "canary"
    hook = tmp_path / "evil.sh"
    hook.write_text(f"#!/bin/sh\ntouch {canary}\n")
    hook.chmod(0o755)
    with open(repo / ".git" / "config", "a") as fh:
        fh.write(f"[core]\n\tfsmonitor = {hook}\n\thooksPath = {tmp_path}\n[filter \"evil\"]\n\tsmudge = {hook}\n\tclean = {hook}\n")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    for name in ("post-checkout", "post-index-change", "reference-transaction"):
        shutil.copy(hook, tmp_path / name)
    before = {p: p.read_bytes() for p in (repo / "sources").rglob("*") if p.is_file()}
    index = (repo / ".git" / "index").read_bytes()

    result = CliRunner().invoke(main, ["diff", "r1", "HEAD", "--sources", str(repo / "sources"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["from"].startswith("r1 (") and data["to"].startswith("HEAD (")
    assert [(c["id"], c["kind"], [f["new"] for f in c["fields"]]) for c in data["changes"]] == \
        [("first-c", "changed", ["丙の段落を改めた。"])]
    assert not canary.exists()
    assert {p: p.read_bytes() for p in (repo / "sources").rglob("*") if p.is_file()} == before
    assert (repo / ".git" / "index").read_bytes() == index


def test_symlink_in_a_revision_is_refused(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo)
    (repo / "10-alpha" / "link.yaml").symlink_to("/etc/passwd")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    result = CliRunner().invoke(main, ["diff", "HEAD", "HEAD", "--sources", str(repo), "--format", "json"])
    assert result.exit_code == 2
    assert "link.yaml" in result.output


def test_pdf_and_docx_show_both_sides(pair, tmp_path):
    from tests.helpers import docx_paragraphs, pdf_pages

    old, new = pair
    edit(new / "10-alpha/10-first/010-first-a.yaml", "157.7億円", "160.2億円")
    (new / "20-beta/10-third/020-third-b.yaml").unlink()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pdf, = out.glob("*.pdf")
    text = "".join(pdf_pages(pdf))
    assert text.index("改正後") < text.index("改正前")
    for expected in ("160.2億円", "157.7億円", "（略）", "（削る）", "（③－2）"):
        assert expected in text
    docx, = out.glob("*.docx")
    import docx as python_docx

    underlined = [r.text for cell in python_docx.Document(str(docx)).tables[0]._cells for q in cell.paragraphs
                  for r in q.runs if r.underline]
    assert "160.2億円" in underlined and "157.7億円" in underlined
    docx_text = "".join(docx_paragraphs(docx))
    assert "（削る）" in docx_text and "己の取組を進める。" in docx_text
    assert "戊の取組を進める。" not in text  # an unchanged item is left out …
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--out", str(out), "--all", "--no-docx"])
    assert result.exit_code == 0, result.output
    assert "戊の取組を進める。" in "".join(pdf_pages(pdf))  # … unless --all


def test_paragraphs_under_list_entries_are_compared_and_replayed(pair):
    old, new = pair
    report = _one_field_changed(pair, "      - text: 甲の二つ目の状況。\n",
                                "      - text: 甲の二つ目の状況。\n        paragraphs:\n          - {}\n",
                                "段落の旧い文。", "段落の新しい文。")
    assert report_of(new, new).changes == []


def _one_field_changed(pair, anchor: str, template: str, old_text: str, new_text: str) -> Report:
    """Replace ``anchor`` in item first-a by ``template`` filled with ``old_text`` (old) and ``new_text``
    (new): the report changes exactly that field of that item and replays."""
    for folder, text in zip(pair, (old_text, new_text)):
        edit(folder / "10-alpha" / "10-first" / "010-first-a.yaml", anchor, template.format(text))
    report = report_of(*pair)
    [change] = [c for c in report.changes if c["target"] == "item"]
    assert change["id"] == "first-a" and change["kind"] == "changed"
    assert [(f["old"], f["new"]) for f in change["fields"]] == [(old_text, new_text)]
    assert_self_checks(report)
    return report


def test_enumerated_commitment_paragraphs_are_replayed(pair):
    """A commitment paragraph that hangs on its enumerator （1） keeps it through the change list."""
    old, new = pair
    report = _one_field_changed(pair, "  - 甲の取組を令和4年度中に進める。\n",
                                "  - 甲の取組を令和4年度中に進める。\n  - {}\n  - （2）次の段落。\n",
                                "（1）旧い段落。", "（1）新しい段落。")
    rows = [r for p in report.new["pillars"] for q in p["policies"] for r in q["rows"] if r.get("id") == "first-a"]
    assert rows[0]["commitment_markers"] == ["", "（1）", "（2）"]
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
