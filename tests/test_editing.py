"""where, new, status, schema (with a real JSON Schema validator) and preview --all."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from compiler.diagnostics import Diagnostics
from compiler.editing import Ambiguous, NotFound, find, label_key, order_between, status_report, years_mentioned
from compiler.frontend.loader import load_sources
from compiler.pipeline import compile_sources
from tests.helpers import MINI, OFFICIAL, ROOT


def followup(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def mini_compiled():
    compiled = compile_sources(MINI, Diagnostics())
    assert compiled.document is not None
    return compiled


# --- where ------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["（①－2）", "①－２", "①-2", "1-2", "(1-2)", "１－２", "①ー2", " ①－2 ", "first-b"])
def test_find_accepts_every_way_of_quoting_an_item(mini_compiled, query):
    matches = find(mini_compiled.document, mini_compiled.valid, query)
    assert [(m.row.item_id, m.row.span.file, m.line) for m in matches] == [("first-b", "10-alpha/10-first/020-first-b.yaml", 1)]


def test_label_key_folds_width_brackets_and_dashes():
    assert {label_key(q) for q in ("（⑤－3）", "⑤－３", "⑤-3", "5-3", "(５‐3)", "［⑤―3］")} == {"5-3"}
    assert label_key("⑤") == label_key("5") == "5"


def test_find_by_project_name(mini_compiled):
    doc, valid = mini_compiled.document, mini_compiled.valid
    # a unique substring of one project; that project is printed more than once (再掲): every row, at the block's line
    found = find(doc, valid, "甲事")
    assert {m.row.item_id for m in found} == {"first-a", "first-b", "second-a"}
    assert all(m.project == "甲事業" and m.line > 1 for m in found)
    assert [m.row.item_id for m in find(doc, valid, "丙事業")] == ["first-c"]
    with pytest.raises(Ambiguous) as exc:
        find(doc, valid, "事業")
    assert {m.project for m in exc.value.candidates} >= {"甲事業", "丙事業"}
    with pytest.raises(NotFound):
        find(doc, valid, "存在しない名前")


def test_where_command(mini):
    done = followup("where", "--sources", str(mini), "（②－1）")
    assert done.returncode == 0, done.stderr
    path, line, rest = done.stdout.strip().split(":", 2)
    assert Path(path).resolve() == (mini / "10-alpha/20-second/010-second-a.yaml").resolve() and line == "1"
    assert "丁の取組を進める。" in rest
    ambiguous = followup("where", "--sources", str(mini), "事業")
    assert ambiguous.returncode == 1 and "first-c" in ambiguous.stderr and not ambiguous.stdout
    assert followup("where", "--sources", str(mini), "⑨－9").returncode == 1


# --- new --------------------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, expected", [
    ("30", "40", "035"), ("30", "31", "030.5"), ("30.5", "31", "030.7"), ("30", None, "040"), ("35", None, "040"),
    (None, None, "010"), (None, "10", "005"), ("30", "30.1", "030.05"),
])
def test_order_between(lo, hi, expected):
    value = order_between(Decimal(lo) if lo else None, Decimal(hi) if hi else None, 3)
    assert value == expected
    assert (Decimal(lo) if lo else Decimal(0)) < Decimal(value) and (hi is None or Decimal(value) < Decimal(hi))


def _order(sources: Path, folder: str) -> list[str]:
    loaded = load_sources(sources, Diagnostics())
    return [sf.rel.rsplit("/", 1)[1] for pillar in loaded.pillars for policy in pillar.policies
            if policy.rel == folder for sf in policy.items]


def test_new_between_neighbours_with_unique_ids_and_never_overwrites(mini):
    folder = "10-alpha/10-first"
    made = []
    for args in (["--after", "（①－1）"], ["--after", "first-a"], ["--after", "1-1"], ["--after", "1-1"]):
        done = followup("new", "--sources", str(mini), *args)
        assert done.returncode == 0, done.stderr
        made.append(Path(done.stdout.strip()).resolve())
    names = [p.name for p in made]
    assert names[0].startswith("015-") and names[1].startswith("012-") and names[2].startswith("011-")
    assert names[3].startswith("010.5-")  # no whole number left between 010 and 011
    order = _order(mini, folder)
    assert order[:5] == ["010-first-a.yaml", names[3], names[2], names[1], names[0]]
    ids = [yaml.safe_load(p.read_text(encoding="utf-8"))["id"] for p in made]
    assert len(set(ids)) == 4
    # the skeleton: category and ministry of the neighbour, commitment still to write (E013 on its line)
    diags = Diagnostics()
    compile_sources(mini, diags)
    codes = {(d.code, d.span.file) for d in diags.items if d.severity.value == "error"}
    assert codes == {("E013", f"{folder}/{n}") for n in names}
    data = yaml.safe_load(made[0].read_text(encoding="utf-8"))
    assert data["category"] == "分類甲" and data["ministry"] == "経産省" and data["commitment"] is None
    filled = made[0].read_text(encoding="utf-8").replace("#  - ここに取組方針を書きます。", "  - 新しい取組。")
    made[0].write_text(filled, encoding="utf-8")
    diags = Diagnostics()
    compile_sources(mini, diags)
    assert f"{folder}/{names[0]}" not in {d.span.file for d in diags.items if d.severity.value == "error"}
    # an id already used anywhere, even in a file with errors, is refused; nothing is overwritten
    before = {p: p.read_bytes() for p in mini.rglob("*.yaml")}
    for taken in (ids[1], "first-b", "project-a", "alpha"):
        done = followup("new", "--sources", str(mini), "--policy", "③", "--id", taken)
        assert done.returncode == 1 and not done.stdout
    assert {p: p.read_bytes() for p in mini.rglob("*.yaml")} == before


def test_new_at_end_of_policy(mini):
    done = followup("new", "--sources", str(mini), "--policy", "③", "--id", "third-z")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).name == "030-third-z.yaml"
    again = followup("new", "--sources", str(mini), "--policy", "third")
    assert Path(again.stdout.strip()).name.startswith("040-")
    assert followup("new", "--sources", str(mini), "--policy", "⑨").returncode == 1
    assert followup("new", "--sources", str(mini)).returncode == 2


# --- status -----------------------------------------------------------------------------

def test_years_mentioned():
    assert years_mentioned("令和4年度補正予算、令和元年、平成31年3月、2021年度、２０２０年") == [2022, 2019, 2019, 2021, 2020]


def test_status_lists_empty_and_stale_items(mini):
    item = mini / "20-beta/10-third/020-third-b.yaml"  # 厚労省
    item.write_text(item.read_text(encoding="utf-8").split("status:")[0] + "status:\n", encoding="utf-8")
    stale = mini / "10-alpha/20-second/010-second-a.yaml"  # 内閣府; 時点 令和5年2月 → 令和4年度
    text = stale.read_text(encoding="utf-8")
    stale.write_text(text.replace("丁の状況。", "令和3年度に始めた。2021年に続けた。"), encoding="utf-8")
    compiled = compile_sources(mini, Diagnostics())
    # the reprinted project's budget says 令和4年度 (the 時点's fiscal year): not stale yet
    assert status_report(compiled.document, ["内閣府"]) == {"内閣府": []}
    stale.write_text(text.replace("  - reprint: project-a\n", "").replace("丁の状況。", "令和3年度に始めた。2021年に続けた。"),
                     encoding="utf-8")
    compiled = compile_sources(mini, Diagnostics())
    report = status_report(compiled.document, ["経産省", "厚労省", "内閣府"])
    assert [(e.row.item_id, e.state) for e in report["厚労省"]] == [("third-b", "empty")]
    assert [(e.row.item_id, e.state, e.latest) for e in report["内閣府"]] == [("second-a", "stale", 2021)]
    assert report["経産省"] == []
    done = followup("status", "--sources", str(mini), "-m", "厚生労働省", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"厚労省": [{"number": "（③－2）", "id": "third-b", "state": "empty", "latest_year": None,
                                                "file": "20-beta/10-third/020-third-b.yaml"}]}
    assert followup("status", "--sources", str(mini), "-m", "存在しない省").returncode == 2


# --- JSON Schema --------------------------------------------------------------------------

def _validators(tmp_path: Path) -> dict:
    from jsonschema import Draft202012Validator

    done = followup("schema", "--out", str(tmp_path / "schema"))
    assert done.returncode == 0, done.stderr
    out = {}
    for kind in ("document", "pillar", "policy", "item"):
        schema = json.loads((tmp_path / "schema" / f"{kind}.schema.json").read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        out[kind] = Draft202012Validator(schema)
    return out


def _source_files(root: Path):
    from compiler.frontend.json_schema import kind_of

    for sf in load_sources(root, Diagnostics()).all_files():
        yield sf, kind_of(root / sf.rel, root)


@pytest.mark.parametrize("tree", ["mini", "official-copy"])
def test_every_file_check_accepts_validates_against_the_schema(tree, tmp_path):
    validators = _validators(tmp_path)
    root = tmp_path / "sources"
    shutil.copytree(MINI if tree == "mini" else OFFICIAL, root)
    diags = Diagnostics()
    compile_sources(root, diags)
    rejected_by_check = {d.span.file for d in diags.items if d.severity.value == "error" and d.span}
    seen = set()
    for sf, kind in _source_files(root):
        if sf.rel in rejected_by_check:
            continue
        errors = list(validators[kind].iter_errors(sf.data))
        assert not errors, (sf.rel, [e.message for e in errors])
        seen.add(kind)
    assert seen == {"document", "pillar", "policy", "item"}


@pytest.mark.parametrize("kind, data", [
    ("item", {"id": "x", "categroy": "a", "commitment": ["b"], "ministry": "c"}),  # unknown key
    ("item", {"id": "x", "category": "a", "ministry": "c"}),  # missing commitment
    ("item", {"id": "x", "category": "a", "commitment": [], "ministry": "c"}),
    ("item", {"id": "x", "category": "a", "commitment": None, "ministry": "c"}),
    ("item", {"id": "X_1", "category": "a", "commitment": ["b"], "ministry": "c"}),  # bad id
    ("item", {"id": "x", "category": "  ", "commitment": ["b"], "ministry": "c"}),  # empty text
    ("item", {"id": "x", "category": 5, "commitment": ["b"], "ministry": "c"}),  # not a string
    ("item", {"id": "x", "category": "a", "commitment": ["b"], "ministry": "c", "status": [{"project": "p", "note": "n"}]}),
    ("item", {"id": "x", "category": "a", "commitment": ["b"], "ministry": "c", "status": [{"bullets": []}]}),
    ("item", {"id": "x", "category": "a", "commitment": ["b"], "ministry": "c",
              "status": [{"bullets": [{"text": "t", "bullets": ["u"], "numbered": ["v"]}]}]}),
    ("policy", {"id": "p", "short_title": "t"}),
    ("document", {"title": "t", "as_of": "a", "author": "b", "output_name": "a/b",
                  "columns": {"commitment": "c", "status": "s"}, "ministries": [{"name": "n"}]}),
])
def test_schema_rejects_what_check_rejects(kind, data, tmp_path):
    from compiler.frontend import json_schema, schema as models
    from jsonschema import Draft202012Validator
    from pydantic import ValidationError

    assert list(Draft202012Validator(json_schema.build(kind)).iter_errors(data))
    with pytest.raises(ValidationError):
        json_schema.KINDS[kind].model_validate(data)
    assert models  # the models are the schema's one source


def test_schema_is_in_japanese():
    from compiler.frontend.json_schema import build

    item = build("item")
    for name, prop in item["properties"].items():
        assert any("\u3040" <= c <= "\u9fff" for c in prop["description"]), name
    assert all(any("\u3040" <= c <= "\u9fff" for c in d["description"]) for d in item["$defs"].values())


def test_broken_file_is_rejected_by_schema_and_check(mini, tmp_path):
    validators = _validators(tmp_path)
    item = mini / "10-alpha/10-first/010-first-a.yaml"
    item.write_text(item.read_text(encoding="utf-8").replace("category:", "categroy:"), encoding="utf-8")
    data = yaml.safe_load(item.read_text(encoding="utf-8"))
    assert list(validators["item"].iter_errors(data))
    diags = Diagnostics()
    compile_sources(mini, diags)
    assert "E010" in {d.code for d in diags.items}


def test_fmt_schema_modeline(mini, tmp_path):
    schema_dir = tmp_path / "schema"
    done = followup("fmt", "--sources", str(mini), "--schema-modeline", "--schema-dir", str(schema_dir))
    assert done.returncode == 0, done.stderr
    item = mini / "10-alpha/10-first/010-first-a.yaml"
    first = item.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (item.parent / first.split("=", 1)[1]).resolve()
    assert target == (schema_dir / "item.schema.json").resolve()
    kinds = {p.name: (p.parent / p.read_text(encoding="utf-8").splitlines()[0].split("=", 1)[1]).name
             for p in (mini / "document.yaml", mini / "10-alpha/pillar.yaml", mini / "10-alpha/10-first/policy.yaml")}
    assert kinds == {"document.yaml": "document.schema.json", "pillar.yaml": "pillar.schema.json",
                     "policy.yaml": "policy.schema.json"}
    assert "yaml-language-server" not in (mini / "corrections/none.yaml").read_text(encoding="utf-8")
    again = followup("fmt", "--sources", str(mini), "--schema-modeline", "--schema-dir", str(schema_dir), "--check")
    assert again.returncode == 0, again.stdout  # idempotent
    diags = Diagnostics()
    compile_sources(mini, diags)
    assert not diags.has_errors


# --- preview --all --------------------------------------------------------------------------

def test_preview_all_makes_every_ministry_with_rows(mini, tmp_path):
    out = tmp_path / "out"
    done = followup("preview", "--all", "--sources", str(mini), "--out", str(out), "--no-pdf", "-q")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / "preview").iterdir()) == ["内閣府.docx", "厚労省.docx", "経産省.docx"]
    assert followup("preview", "--sources", str(mini), "--out", str(out)).returncode == 2
    assert followup("preview", "--all", "-m", "経産省", "--sources", str(mini), "--out", str(out)).returncode == 2
