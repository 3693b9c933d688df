"""A round trip without edits changes nothing: random source trees → DOCX → import-docx → no change.

The property test draws small source trees with every kind of field (several commitment paragraphs,
projects with budget lines and 再掲, nested bullets and numbered lists with paragraphs, notes, text,
ministry tags, policy notes), commits them to git, writes the full document or a ministry's preview
with the real compiler, and imports the DOCX back: no file changes, no finding, the base rebuilt
from the recorded revision. The same holds after LibreOffice opens and saves the DOCX, for a few
random trees and for a preview of the official document.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.diagnostics import Diagnostics
from tests import docx_edits as ed
from tests.helpers import OFFICIAL, assert_built

CHARS = "あいうえかきくけさしすたちつなにのはひふまみむやゆよらりるれろわを事業支援推進企業地域人材育成研究開発取組状況方針" \
        "abcXYZ0123456789、。・「」（）：%"
MINISTRIES = ("経産省", "厚労省", "文科省")


def _text(rng: random.Random, lo: int = 1, hi: int = 24) -> str:
    s = "".join(rng.choice(CHARS) for _ in range(rng.randint(lo, hi))).strip()
    return s if s and s[0] not in "%（「" else "あ" + s


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _entries(rng, depth: int, indent: str) -> list[str]:
    lines = []
    for _ in range(rng.randint(1, 3)):
        if depth < 3 and rng.random() < 0.35:
            lines.append(f"{indent}- text: {_q(_text(rng))}")
            if rng.random() < 0.4:
                lines.append(f"{indent}  paragraphs:")
                lines.append(f"{indent}    - {_q(_text(rng))}")
            key = rng.choice(("bullets", "numbered"))
            lines.append(f"{indent}  {key}:")
            lines += _entries(rng, depth + 1, indent + "    ")
        else:
            lines.append(f"{indent}- {_q(_text(rng))}")
    return lines


def random_tree(root: Path, rng: random.Random) -> None:
    root.mkdir(parents=True)
    registry = "".join(f"  - name: {m}\n" for m in MINISTRIES)
    (root / "document.yaml").write_text(
        f"title: {_q(_text(rng))}\nas_of: 令和5年2月時点\nauthor: 事務局\noutput_name: rt\n"
        f"columns:\n  commitment: 取組方針\n  status: 取組状況\nministries:\n{registry}", encoding="utf-8")
    projects: list[str] = []
    n_item = 0
    for pi in range(1, rng.randint(1, 2) + 1):
        pillar = root / f"{pi}0-p{pi}"
        pillar.mkdir()
        (pillar / "pillar.yaml").write_text(f"id: p{pi}\ntitle: {_q(_text(rng))}\n", encoding="utf-8")
        for qi in range(1, rng.randint(1, 2) + 1):
            folder = pillar / f"{qi}0-q{pi}-{qi}"
            folder.mkdir()
            notes = "".join(f"  - {_q(_text(rng))}\n" for _ in range(rng.randint(0, 2)))
            principle = "".join(f"  - {_q(_text(rng))}\n" for _ in range(rng.randint(1, 2)))
            (folder / "policy.yaml").write_text(f"id: q{pi}-{qi}\nshort_title: {_q(_text(rng))}\nprinciple:\n{principle}"
                                                + (f"notes:\n{notes}" if notes else ""), encoding="utf-8")
            category = _text(rng, 1, 8)
            for ii in range(1, rng.randint(1, 3) + 1):
                n_item += 1
                ministry = rng.choice(MINISTRIES)
                lines = [f"id: item-{n_item}", f"category: {_q(category)}", "commitment:"]
                lines += [f"  - {_q(_text(rng))}" for _ in range(rng.randint(1, 2))]
                lines += [f"ministry: {ministry}", "status:"]
                for b in range(rng.randint(1, 4)):
                    kind = rng.choice(("project", "bullets", "numbered", "text", "note", "ministry", "reprint"))
                    if kind == "reprint" and not projects:
                        kind = "project"
                    if kind == "project":
                        pid = f"pr-{n_item}-{b}"
                        projects.append(pid)
                        lines += [f"  - project: {_q(_text(rng))}", f"    id: {pid}"]
                        budget = [_text(rng) for _ in range(rng.randint(0, 2))]
                        if budget:
                            lines += ["    budget:"] + [f"      - {_q(x)}" for x in budget]
                    elif kind == "reprint":
                        lines.append(f"  - reprint: {rng.choice(projects)}")
                    elif kind in ("bullets", "numbered"):
                        lines.append(f"  - {kind}:")
                        lines += _entries(rng, 1, "      ")
                    elif kind == "ministry":
                        lines.append(f"  - ministry: {rng.choice(MINISTRIES)}")
                    else:
                        lines.append(f"  - {kind}: {_q(_text(rng))}")
                (folder / f"{ii}0-item-{n_item}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _commit(root: Path) -> None:
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "base")):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root, check=True,
                       capture_output=True)


def write_docx(root: Path, out: Path, ministry: str | None) -> Path:
    """The DOCX the compiler writes for ``root`` (full document, or ``ministry``'s preview)."""
    from compiler.pipeline import compile_sources, source_revision
    from compiler.transforms.preview import views
    from compiler.writers import docx as docx_writer

    diags = Diagnostics()
    compiled = compile_sources(root, diags)
    assert compiled.document is not None, [str(d) for d in diags.items]
    revision = source_revision(root)
    doc = compiled.document
    if ministry:
        doc = views(doc, compiled.valid, [ministry], compiled.theme, revision, Diagnostics())[0].document
    out.write_bytes(docx_writer.write(doc, compiled.theme, embed_fonts=False, revision=revision))
    return out


def assert_no_change(docx: Path, root: Path) -> None:
    from compiler.docx_import import run

    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    diags = Diagnostics()
    result = run(docx, root, dry_run=False, accept_changes=False, diags=diags)
    assert result is not None and not diags.has_errors, [str(d.message) for d in diags.items]
    assert result.base_reason == "", result.base_reason
    assert result.findings == [] and result.revisions == [] and result.comments == [], result.findings
    assert result.changes == {}, result.diff
    assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == before


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.randoms(use_true_random=False), st.sampled_from((None, *MINISTRIES)))
def test_a_round_trip_without_edits_changes_nothing(tmp_path_factory, rng, ministry):
    work = tmp_path_factory.mktemp("rt")
    root = work / "sources"
    random_tree(root, rng)
    _commit(root)
    assert_no_change(write_docx(root, work / "in.docx", ministry), root)


def test_a_round_trip_through_libreoffice_changes_nothing(tmp_path):
    """Open and save in LibreOffice (one start for all files): random trees, and the official document's preview."""
    roots, jobs = [], {}
    for seed in range(3):
        root = tmp_path / f"t{seed}" / "sources"
        random_tree(root, random.Random(seed))
        _commit(root)
        roots.append(root)
        jobs[f"t{seed}"] = (write_docx(root, tmp_path / f"t{seed}.docx", (None, "経産省", "厚労省")[seed]), [])
    official = tmp_path / "official" / "sources"
    shutil.copytree(OFFICIAL, official, ignore=shutil.ignore_patterns("README.md"))
    _commit(official)
    roots.append(official)
    official_docx = write_docx(official, tmp_path / "official.docx", "経産省")
    jobs["official"] = (official_docx, [])
    # and one tracked edit in the official preview, to see the import at the real document's size
    jobs["official-edit"] = (official_docx, [{"op": "record", "on": True, "author": "経産省"},
                                             {"op": "replace", "find": "計49回の広告掲載", "with": "計52回の広告掲載"}])
    saved = ed.libreoffice_edit(jobs, tmp_path / "lo")
    for root, name in zip(roots, jobs):
        assert_no_change(saved[name], root)
    from compiler.docx_import import run

    diags = Diagnostics()
    result = run(saved["official-edit"], official, dry_run=False, accept_changes=True, diags=diags)
    assert not diags.has_errors and result.findings == [], (diags.items, result.findings)
    assert result.changed_fields == ["ma-succession-publicity:status:1:items:0"]
    rel = "10-succession/20-ma-succession/090-ma-succession-publicity.yaml"
    assert list(result.changes) == [rel] and "計52回の広告掲載" in (official / rel).read_text(encoding="utf-8")
    assert_built(official, tmp_path / "official-out", ["計52回の広告掲載"], ["計49回の広告掲載"])
    # LibreOffice records one change per run (the digits are a run of their own, tagged en-US)
    assert "".join(r.text for r in result.revisions if r.kind == "削除") == "計49回の広告掲載"
    assert "".join(r.text for r in result.revisions if r.kind == "挿入") == "計52回の広告掲載"
    assert {(r.field, r.author, r.file) for r in result.revisions} == {
        ("ma-succession-publicity:status:1:items:0", "経産省", rel)}
