"""followup import-docx: a ministry's edits in a preview DOCX go back into the YAML sources.

The DOCX files are edited by a real client: LibreOffice headless through UNO (typed edits, tracked
changes with change recording on, Enter, comments), all jobs in one LibreOffice start (``uno_edited``);
python-docx stands in for the rest (more comments, Enter without tracking, indenting, reordering,
deleting a marked paragraph, a moved row, corrupted files). Every test checks the YAML, and the edits that go in are checked in both outputs
of a following build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from tests import docx_edits as ed
from tests.helpers import MINI, assert_built, build

AUTHOR = "経産省 担当"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main",
                    *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="session")
def preview_repo(tmp_path_factory):
    """The mini sources in a git repository, and the 経産省 preview DOCX built from its commit."""
    root = tmp_path_factory.mktemp("import-repo")
    src = root / "sources"
    shutil.copytree(MINI, src)
    _git(src, "init", "-q")
    _git(src, "add", "-A")
    _git(src, "commit", "-qm", "base")
    result, diags = build(src, root / "out", ministries=("経産省",), formats=("docx",))
    assert not diags.has_errors, diags.items
    return src, root / "out" / "preview" / "経産省.docx"


UNO_JOBS = {
    "plain": [],
    "typed": [
        {"op": "replace", "find": "甲の取組を令和4年度中に進める。", "with": "甲の取組を令和5年度中に進める。"},
        {"op": "insert", "after": "戊の状況", "text": "を更新"},
    ],
    "tracked": [
        {"op": "record", "on": True, "author": AUTHOR},
        {"op": "insert", "after": "丙の段落", "text": "を追加"},
        {"op": "delete", "find": "二つ目の"},
        {"op": "enter", "after": "甲の下位の状況。", "text": "新しい下位の状況。"},
    ],
    "commented": [
        {"op": "record", "on": False, "author": AUTHOR},
        {"op": "comment", "on": "丙の段落", "text": "数字を確認してください"},
    ],
    "conflict": [
        {"op": "replace", "find": "丙の取組を進める。", "with": "丙の取組を大きく進める。"},
        {"op": "replace", "find": "戊の取組を進める。", "with": "戊の取組を早く進める。"},
    ],
}


@pytest.fixture(scope="session")
def uno_edited(preview_repo, tmp_path_factory):
    """Every LibreOffice edit of the preview, made in one LibreOffice run."""
    _, docx = preview_repo
    return ed.libreoffice_edit({name: (docx, ops) for name, ops in UNO_JOBS.items()},
                               tmp_path_factory.mktemp("uno"))


@pytest.fixture
def repo(preview_repo, tmp_path) -> Path:
    """A private copy of the sources' repository (same commit as the preview)."""
    src, _ = preview_repo
    dst = tmp_path / "sources"
    shutil.copytree(src, dst, symlinks=True)
    return dst


def run_import(docx: Path, sources: Path, *args: str):
    result = CliRunner().invoke(main, ["import-docx", str(docx), "--sources", str(sources), "--json", *args])
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    return result.exit_code, json.loads(result.stdout)


def snapshot(sources: Path) -> dict[str, bytes]:
    return {str(p.relative_to(sources)): p.read_bytes() for p in sorted(sources.rglob("*.yaml"))}


def yaml_of(sources: Path, rel: str):
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((sources / rel).read_text(encoding="utf-8"))


FIRST_A = "10-alpha/10-first/010-first-a.yaml"
FIRST_C = "10-alpha/10-first/030-first-c.yaml"
THIRD_A = "20-beta/10-third/010-third-a.yaml"
POLICY_FIRST = "10-alpha/10-first/policy.yaml"


# --- what LibreOffice keeps -----------------------------------------------------------------------

def test_libreoffice_keeps_the_bookmarks_and_the_handle_map(preview_repo, uno_edited):
    _, original = preview_repo
    saved = zipfile.ZipFile(uno_edited["plain"])
    made = zipfile.ZipFile(original)
    assert "customXml/item1.xml" in saved.namelist()
    assert saved.read("customXml/item1.xml").count(b"<h ") == made.read("customXml/item1.xml").count(b"<h ")
    import re

    marks = lambda z: sorted(set(re.findall(rb'w:name="(fu_[0-9]+)"', z.read("word/document.xml"))))
    assert marks(saved) == marks(made) and len(marks(made)) > 20
    assert b"followup.fields" in saved.read("docProps/custom.xml")


def test_open_and_save_in_libreoffice_changes_nothing(uno_edited, repo):
    before = snapshot(repo)
    code, out = run_import(uno_edited["plain"], repo)
    assert code == 0, out
    assert out["base"]["recovered"] and out["files"] == [] and out["findings"] == [] and out["revisions"] == []
    assert snapshot(repo) == before


# --- typed edits, tracked changes -------------------------------------------------------------------

def test_typed_edits_go_back_to_their_fields(uno_edited, repo, tmp_path):
    code, out = run_import(uno_edited["typed"], repo)
    assert code == 0, out
    assert sorted(out["changed_fields"]) == ["first-a:commitment:0", "third-a:status:1:items:0"]
    assert yaml_of(repo, FIRST_A)["commitment"] == ["甲の取組を令和5年度中に進める。"]
    assert yaml_of(repo, THIRD_A)["status"][1] == {"bullets": ["戊の状況を更新。"]}
    assert "+  - 甲の取組を令和5年度中に進める。" in out["diff"]
    assert_built(repo, tmp_path / "out", ["甲の取組を令和5年度中に進める。", "戊の状況を更新。"], ["令和4年度中に進める"])


def test_dry_run_writes_nothing(uno_edited, repo):
    before = snapshot(repo)
    code, out = run_import(uno_edited["typed"], repo, "--dry-run")
    assert code == 0 and out["files"] == [FIRST_A, THIRD_A] and out["written"] == []
    assert snapshot(repo) == before


def test_tracked_changes_are_listed_and_not_applied_without_accept(uno_edited, repo):
    before = snapshot(repo)
    code, out = run_import(uno_edited["tracked"], repo)
    assert code == 0, out
    assert out["files"] == [] and snapshot(repo) == before
    kinds = {(r["field"], r["kind"], r["text"]) for r in out["revisions"]}
    assert ("first-c:status:1", "挿入", "を追加") in kinds
    assert ("policy.first:principle:1", "削除", "二つ目の") in kinds
    assert any(r["kind"] == "挿入" and r["text"] == "新しい下位の状況。" for r in out["revisions"])
    assert {r["author"] for r in out["revisions"]} == {AUTHOR}
    where = {r["field"]: (r["file"], r["line"]) for r in out["revisions"]}
    assert where["first-c:status:1"] == (FIRST_C, 8)


def test_tracked_changes_are_applied_with_accept(uno_edited, repo, tmp_path):
    code, out = run_import(uno_edited["tracked"], repo, "--accept-changes")
    assert code == 0, out
    assert yaml_of(repo, FIRST_C)["status"][1] == {"text": "丙の段落を追加。"}
    assert yaml_of(repo, POLICY_FIRST)["principle"][1] == "また、段落。"
    assert yaml_of(repo, FIRST_A)["status"][1]["bullets"][1] == {"text": "甲の二つ目の状況。",
                                                                  "bullets": ["甲の下位の状況。", "新しい下位の状況。"]}
    assert_built(repo, tmp_path / "out", ["丙の段落を追加。", "また、段落。", "新しい下位の状況。"], ["二つ目の段落"])


def test_a_field_changed_in_both_is_a_conflict_and_kept(uno_edited, repo, tmp_path):
    path = repo / FIRST_C
    path.write_text(path.read_text(encoding="utf-8").replace("丙の取組を進める。", "丙の取組を事務局が直した。"),
                    encoding="utf-8")
    code, out = run_import(uno_edited["conflict"], repo)
    assert code == 1
    [conflict] = out["findings"]
    assert conflict["kind"] == "conflict" and conflict["field"] == "first-c:commitment:0"
    assert (conflict["file"], conflict["line"]) == (FIRST_C, 4)
    assert conflict["docx"] == "丙の取組を大きく進める。" and conflict["sources"] == "丙の取組を事務局が直した。"
    assert yaml_of(repo, FIRST_C)["commitment"] == ["丙の取組を事務局が直した。"]
    assert yaml_of(repo, THIRD_A)["commitment"] == ["戊の取組を早く進める。"]  # the other edit still goes in
    assert_built(repo, tmp_path / "out", ["丙の取組を事務局が直した。", "戊の取組を早く進める。"], ["丙の取組を大きく進める。"])


# --- python-docx edits: Enter, lists, what cannot go back, comments --------------------------------

def test_enter_in_a_commitment_adds_a_paragraph(preview_repo, repo, tmp_path):
    _, docx = preview_repo
    edited = ed.edit(docx, tmp_path / "e.docx", lambda doc: ed.press_enter(doc, "甲の取組を令和4年度中", "さらに乙と連携する。"))
    code, out = run_import(edited, repo)
    assert code == 0, out
    assert yaml_of(repo, FIRST_A)["commitment"] == ["甲の取組を令和4年度中に進める。", "さらに乙と連携する。"]
    assert_built(repo, tmp_path / "out", ["さらに乙と連携する。"])


def test_enter_after_a_budget_line_adds_a_budget_line(preview_repo, repo, tmp_path):
    _, docx = preview_repo
    edited = ed.edit(docx, tmp_path / "e.docx", lambda doc: ed.press_enter(doc, "157.7億円の内数", "【令和5年度予算案：20億円】"))
    code, out = run_import(edited, repo)
    assert code == 0, out
    assert yaml_of(repo, FIRST_A)["status"][0]["budget"] == ["令和4年度当初：157.7億円の内数", "令和5年度予算案：20億円"]
    assert_built(repo, tmp_path / "out", ["【令和5年度予算案：20億円】"])


def test_enter_after_a_project_and_after_a_list_adds_a_budget_line_and_a_block(preview_repo, repo, tmp_path):
    """丙事業 has no budget: Enter after its name in the budget style starts one; a paragraph in the
    plain status style after the last entry of 戊's list is a new text block after the list."""
    _, docx = preview_repo

    def change(doc):
        ed.press_enter(doc, "○丙事業", "【令和5年度予算案：3億円】", style_like="157.7億円の内数")
        ed.press_enter(doc, "戊の状況。", "戊の補足の段落。", style_like="丙の段落。")

    code, out = run_import(ed.edit(docx, tmp_path / "e.docx", change), repo)
    assert code == 0, out
    assert yaml_of(repo, FIRST_C)["status"][0] == {"project": "丙事業", "budget": ["令和5年度予算案：3億円"]}
    assert yaml_of(repo, THIRD_A)["status"][1:] == [{"bullets": ["戊の状況。"]}, {"text": "戊の補足の段落。"},
                                                    {"ministry": "経産省"}]
    assert_built(repo, tmp_path / "out", ["【令和5年度予算案：3億円】", "戊の補足の段落。"])


def test_a_list_deleted_entirely_is_reported(preview_repo, repo, tmp_path):
    _, docx = preview_repo
    before = snapshot(repo)
    code, out = run_import(ed.edit(docx, tmp_path / "e.docx", lambda doc: ed.delete_paragraph(doc, "戊の状況。")), repo)
    assert code == 1
    assert [(f["kind"], f["file"], f["sources"]) for f in out["findings"]] == [("deleted", THIRD_A, "戊の状況。")]
    assert snapshot(repo) == before


def test_list_entries_reordered_removed_and_added_indented(preview_repo, repo, tmp_path):
    _, docx = preview_repo

    def change(doc):
        ed.move_after(doc, "甲の一つ目の状況。", "甲の下位の状況。")  # the first entry moved to the end
        ed.delete_paragraph(doc, "甲の下位の状況。")
        ed.press_enter(doc, "戊の状況。", "戊の下位の状況。", style_like="甲の二つ目の状況。")  # a new entry…
        ed.restyle(doc, "戊の下位の状況。", "FUBullet2")  # …indented (Tab in Word: the level-2 style)

    edited = ed.edit(docx, tmp_path / "e.docx", change)
    code, out = run_import(edited, repo)
    assert code == 0, out
    assert yaml_of(repo, FIRST_A)["status"][1] == {"bullets": ["甲の二つ目の状況。", "甲の一つ目の状況。"]}
    assert yaml_of(repo, THIRD_A)["status"][1] == {"bullets": [{"text": "戊の状況。", "bullets": ["戊の下位の状況。"]}]}
    assert_built(repo, tmp_path / "out", ["戊の下位の状況。"], ["甲の下位の状況。"])


def _indent_like(doc, text: str, like: str) -> None:
    """Word's Increase Indent: a direct left indent on the paragraph, its style unchanged."""
    import copy

    from docx.oxml.ns import qn

    ppr = ed.find_paragraph(doc, text).find(qn("w:pPr"))
    source = doc.styles.element.xpath(f'w:style[@w:styleId="{like}"]/w:pPr/w:ind')[0]
    ppr.append(copy.deepcopy(source))


@pytest.mark.parametrize("how", ["style", "indent"])
def test_an_entry_indented_becomes_a_child(preview_repo, repo, tmp_path, how):
    _, docx = preview_repo
    indent = (lambda doc: ed.restyle(doc, "甲の二つ目の状況。", "FUBullet2")) if how == "style" else \
        (lambda doc: _indent_like(doc, "甲の二つ目の状況。", "FUBullet2"))
    edited = ed.edit(docx, tmp_path / "e.docx", indent)
    code, out = run_import(edited, repo)
    assert code == 0, out
    assert yaml_of(repo, FIRST_A)["status"][1] == {
        "bullets": [{"text": "甲の一つ目の状況。", "bullets": ["甲の二つ目の状況。", "甲の下位の状況。"]}]}
    assert_built(repo, tmp_path / "out", ["甲の二つ目の状況。"])
    _assert_nested(tmp_path / "out", "甲の一つ目の状況。", "甲の二つ目の状況。")


def _assert_nested(out: Path, parent: str, child: str) -> None:
    """In the built PDF and DOCX, ``child`` is set one list level deeper than ``parent``."""
    import docx as python_docx
    import pdfplumber

    [name] = [p.stem for p in out.glob("*.docx")]
    styles = {p.text.split("\t")[-1]: p.style.name for p in python_docx.Document(str(out / f"{name}.docx")).paragraphs}
    cells = [p for t in python_docx.Document(str(out / f"{name}.docx")).tables for row in t.rows for c in row.cells
             for p in c.paragraphs]
    styles.update({p.text.split("\t")[-1]: p.style.name for p in cells})
    assert (styles[parent], styles[child]) == ("FU Bullet 1", "FU Bullet 2"), (styles[parent], styles[child])
    with pdfplumber.open(out / f"{name}.pdf") as pdf:
        starts = {}
        for page in pdf.pages:
            for line in page.extract_text_lines():
                for text in (parent, child):
                    if text in line["text"]:
                        starts.setdefault(text, line["x0"])  # where the entry's marker is drawn
    assert starts[child] > starts[parent] + 5, starts  # the child's entry starts further right


@pytest.mark.parametrize("case, kind", [
    ("number", "number"), ("deleted", "deleted"), ("toc", "stray"), ("label", "stray"), ("row", "moved"),
    ("heading-enter", "extra"), ("footer", "stray"),
])
def test_edits_that_cannot_go_back_are_reported_with_the_text(preview_repo, repo, tmp_path, case, kind):
    _, docx = preview_repo
    changes = {
        "number": lambda doc: ed.retype(doc, "甲の取組を令和4年度中", "（①－1）", "（①－9）"),
        "deleted": lambda doc: ed.delete_paragraph(doc, "丙の段落。"),
        "toc": lambda doc: ed.replace_text(doc, "最初の政策", "最初の政策（目次で直した）"),
        "label": lambda doc: ed.replace_text(doc, "■新たな大方針", "■新たな大方針（直した）"),
        "row": lambda doc: ed.swap_rows(doc, "甲の取組を令和4年度中", "丙の取組を進める。"),
        "heading-enter": lambda doc: ed.press_enter(doc, "第二の柱", "見出しの下に書いた文。", nth=1),
        "footer": lambda doc: doc.sections[-1].footer.add_paragraph("（フッターに書いた）"),
    }
    before = snapshot(repo)
    edited = ed.edit(docx, tmp_path / "e.docx", changes[case])
    code, out = run_import(edited, repo)
    assert code == 1, out
    assert kind in {f["kind"] for f in out["findings"]}, out["findings"]
    quoted = {"number": "（①－9）", "deleted": "", "toc": "目次で直した", "label": "（直した）", "row": "",
              "heading-enter": "見出しの下に書いた文。", "footer": "フッターに書いた"}[case]
    assert any(quoted in f["docx"] for f in out["findings"] if f["kind"] == kind)
    if case == "deleted":
        assert any(f["sources"] == "丙の段落。" and f["file"] == FIRST_C for f in out["findings"])
    assert snapshot(repo) == before


def test_comments_made_in_libreoffice_become_a_review_list(uno_edited, repo):
    before = snapshot(repo)
    code, out = run_import(uno_edited["commented"], repo)
    assert code == 0, out
    [c] = out["comments"]
    assert (c["file"], c["line"], c["author"], c["text"]) == (FIRST_C, 8, AUTHOR, "数字を確認してください")
    assert snapshot(repo) == before  # a comment is for the secretariat to read, not an edit


def test_comments_become_a_review_list(preview_repo, repo, tmp_path):
    _, docx = preview_repo
    edited = ed.edit(docx, tmp_path / "e.docx", lambda doc: ed.comment(doc, "丙の段落", "数字を確認してください", AUTHOR))
    code, out = run_import(edited, repo)
    assert code == 0, out
    [c] = out["comments"]
    assert (c["file"], c["line"], c["author"], c["text"]) == (FIRST_C, 8, AUTHOR, "数字を確認してください")
    text = CliRunner().invoke(main, ["import-docx", str(edited), "--sources", str(repo)])
    assert "数字を確認してください" in text.stdout and f"{FIRST_C}:8" in text.stdout


def test_without_the_base_revision_only_unchanged_fields_go_in(preview_repo, tmp_path):
    """Sources not in git: no base can be rebuilt; the per-field hashes of the map still tell edits apart."""
    src, docx = preview_repo
    plain = tmp_path / "sources"
    shutil.copytree(src, plain, ignore=shutil.ignore_patterns(".git"))
    (plain / FIRST_C).write_text((plain / FIRST_C).read_text(encoding="utf-8").replace("丙の段落。", "丙の段落（事務局）。"),
                                 encoding="utf-8")

    def change(doc):
        ed.replace_text(doc, "丙の段落。", "丙の段落（府省）。")
        ed.replace_text(doc, "戊の状況。", "戊の状況（府省）。")

    code, out = run_import(ed.edit(docx, tmp_path / "e.docx", change), plain)
    assert code == 1 and not out["base"]["recovered"]
    assert [f["kind"] for f in out["findings"]] == ["conflict"]
    assert yaml_of(plain, FIRST_C)["status"][1] == {"text": "丙の段落（事務局）。"}
    assert yaml_of(plain, THIRD_A)["status"][1] == {"bullets": ["戊の状況（府省）。"]}


# --- files that are not ours ----------------------------------------------------------------------

def _rezip(src: Path, dst: Path, replace: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in replace:
                if replace[name] is not None:
                    zout.writestr(name, replace[name])
            else:
                zout.writestr(name, zin.read(name))
    return dst


@pytest.mark.parametrize("case, code", [
    ("not-zip", "E080"), ("not-word", "E080"), ("foreign", "E081"), ("other-format", "E082"),
    ("broken-xml", "E083"), ("broken-map", "E083"), ("missing", "E080"),
])
def test_foreign_or_corrupted_files_are_refused(preview_repo, repo, tmp_path, case, code, monkeypatch):
    import docx as python_docx

    _, docx = preview_repo
    target = tmp_path / "in.docx"
    if case == "not-zip":
        target.write_bytes(b"%PDF-1.7 not a docx")
    elif case == "not-word":
        with zipfile.ZipFile(target, "w") as z:
            z.writestr("hello.txt", "x")
    elif case == "foreign":
        python_docx.Document().save(str(target))
    elif case == "other-format":
        _rezip(docx, target, {"customXml/item1.xml": zipfile.ZipFile(docx).read("customXml/item1.xml").replace(
            b"followup-docx-handles/1", b"followup-docx-handles/9").replace(b"docx-handles:1", b"docx-handles:9"),
            "docProps/custom.xml": None})
    elif case == "broken-xml":
        _rezip(docx, target, {"word/document.xml": zipfile.ZipFile(docx).read("word/document.xml")[:5000]})
    elif case == "broken-map":
        _rezip(docx, target, {"customXml/item1.xml": b"<handles"})
    else:
        target = tmp_path / "nothing.docx"
    before = snapshot(repo)
    result = CliRunner().invoke(main, ["import-docx", str(target), "--sources", str(repo)])
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.output and str(target) in result.output
    assert "Traceback" not in result.output and "内部エラー" not in result.output
    assert snapshot(repo) == before
    monkeypatch.chdir(tmp_path)  # named relative to the working folder, as a user types it
    as_json = CliRunner().invoke(main, ["import-docx", target.name, "--sources", str(repo), "--json"])
    spans = [d["span"]["file"] for d in json.loads(as_json.stdout)["diagnostics"] if d["code"] == code]
    assert spans and all(Path(f) == target.absolute() for f in spans)  # where the DOCX is, not under the sources


def test_the_map_in_document_properties_stands_in_for_a_dropped_custom_xml_part(preview_repo, repo, tmp_path):
    _, docx = preview_repo
    rels = zipfile.ZipFile(docx).read("word/_rels/document.xml.rels")
    import re

    rels = re.sub(rb'<Relationship [^>]*customXml/item1\.xml"[^>]*/>', b"", rels)
    dropped = _rezip(docx, tmp_path / "dropped.docx", {"customXml/item1.xml": None, "customXml/itemProps1.xml": None,
                                                       "customXml/_rels/item1.xml.rels": None,
                                                       "word/_rels/document.xml.rels": rels})
    edited = ed.edit(dropped, tmp_path / "e.docx", lambda doc: ed.replace_text(doc, "戊の状況。", "戊の状況（府省）。"))
    code, out = run_import(edited, repo)
    assert code == 0, out
    assert out["changed_fields"] == ["third-a:status:1:items:0"] and out["base"]["recovered"]
    assert yaml_of(repo, THIRD_A)["status"][1] == {"bullets": ["戊の状況（府省）。"]}
    assert_built(repo, tmp_path / "out", ["戊の状況（府省）。"], ["戊の状況。"])


def test_a_result_that_fails_check_writes_nothing(preview_repo, repo, tmp_path):
    _, docx = preview_repo
    edited = ed.edit(docx, tmp_path / "e.docx", lambda doc: ed.retype(doc, "［経産省］", "経産省", "未登録省"))
    before = snapshot(repo)
    result = CliRunner().invoke(main, ["import-docx", str(edited), "--sources", str(repo)])
    assert result.exit_code == 1, result.output
    assert "[E023]" in result.output and "[E085]" in result.output
    assert snapshot(repo) == before


def _tracked_run(tag: str, text: str, rid: str):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement(tag)
    el.set(qn("w:id"), rid)
    el.set(qn("w:author"), AUTHOR)
    el.set(qn("w:date"), "2026-12-01T09:00:00Z")
    run = OxmlElement("w:r")
    t = OxmlElement("w:delText" if tag in ("w:del", "w:moveFrom") else "w:t")
    t.text = text
    run.append(t)
    el.append(run)
    return el


def _plain_run(text: str):
    from docx.oxml import OxmlElement

    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    return run


def test_moves_and_formatting_changes_are_tracked_changes_too(preview_repo, repo, tmp_path):
    """A word moved with 変更履歴 (w:moveFrom / w:moveTo) from one cell to another, and a run made bold
    (w:rPrChange): listed, and only the move changes text, only with --accept-changes."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    _, docx = preview_repo

    def change(doc):
        ed.retype(doc, "戊の状況。", "戊の状況。", "戊の")
        ed.find_paragraph(doc, "戊の", 1).append(_tracked_run("w:moveFrom", "状況", "900"))
        ed.find_paragraph(doc, "戊の", 1).append(_plain_run("。"))
        ed.retype(doc, "丙の段落。", "丙の段落。", "丙の段落")
        ed.find_paragraph(doc, "丙の段落").append(_tracked_run("w:moveTo", "状況", "901"))
        ed.find_paragraph(doc, "丙の段落").append(_plain_run("。"))
        run = ed.find_paragraph(doc, "甲の取組を令和4年度中").findall(qn("w:r"))[-1]
        rpr = run.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            run.insert(0, rpr)
        rpr.append(OxmlElement("w:b"))
        was = OxmlElement("w:rPrChange")
        was.set(qn("w:id"), "902")
        was.set(qn("w:author"), AUTHOR)
        was.append(OxmlElement("w:rPr"))
        rpr.append(was)

    edited = ed.edit(docx, tmp_path / "e.docx", change)
    before = snapshot(repo)
    code, out = run_import(edited, repo)
    assert code == 0, out
    kinds = {(r["field"], r["kind"], r["text"]) for r in out["revisions"]}
    assert ("third-a:status:1:items:0", "移動（移動元）", "状況") in kinds
    assert ("first-c:status:1", "移動（移動先）", "状況") in kinds
    assert any(f == "first-a:commitment:0" and k == "書式" for f, k, _ in kinds)
    assert out["files"] == [] and snapshot(repo) == before
    code, out = run_import(edited, repo, "--accept-changes")
    assert code == 0, out
    assert yaml_of(repo, THIRD_A)["status"][1] == {"bullets": ["戊の。"]}
    assert yaml_of(repo, FIRST_C)["status"][1] == {"text": "丙の段落状況。"}
    assert yaml_of(repo, FIRST_A)["commitment"] == ["甲の取組を令和4年度中に進める。"]
    assert_built(repo, tmp_path / "out", ["丙の段落状況。", "戊の。"], ["戊の状況。"])


def test_the_import_is_a_reader_stage_that_uses_no_writer():
    """compiler/docx_import reads what the writer made through compiler.docx_handles only."""
    import ast

    root = Path(__file__).resolve().parent.parent / "compiler" / "docx_import"
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), path
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("compiler.writers"), (path.name, node.module)
                assert not any(alias.name.startswith("_") for alias in node.names), (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("compiler.writers") for a in node.names), path.name


def test_a_docx_without_field_records_and_no_recoverable_base_is_refused(preview_repo, tmp_path):
    """A DOCX of an older build (no per-field hashes) whose sources revision is gone: E084, nothing written."""
    import re

    _, docx = preview_repo
    plain = tmp_path / "sources"
    shutil.copytree(MINI, plain)  # the same sources, but no git: the recorded revision cannot be read back
    package = zipfile.ZipFile(docx)
    handles = re.sub(rb'\s+sha="[^"]*"', b"", package.read("customXml/item1.xml"))
    props = re.sub(rb'<property[^>]*name="followup\.fields".*?</property>', b"", package.read("docProps/custom.xml"),
                   flags=re.S)
    old = _rezip(docx, tmp_path / "old.docx", {"customXml/item1.xml": handles, "docProps/custom.xml": props})
    before = snapshot(plain)
    code, out = run_import(old, plain)
    assert code == 1
    assert [d["code"] for d in out["diagnostics"] if d["severity"] == "error"] == ["E084"]
    assert snapshot(plain) == before
