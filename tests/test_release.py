"""Release builds: the manifest records every input, a release refuses unclean sources (E070),
and ``followup verify`` rebuilds a release and names the first input and file that differ.

Sources live in temporary git repositories made here: never the project's own checkout,
whose state differs between a developer's machine and CI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import provenance, release
from compiler.diagnostics import Diagnostics
from tests.helpers import MINI, ROOT, build, require_libreoffice

GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
               GIT_AUTHOR_DATE="2023-02-01T00:00:00Z", GIT_COMMITTER_DATE="2023-02-01T00:00:00Z")
ITEM = "10-alpha/10-first/010-first-a.yaml"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True, text=True).stdout


def git_sources(where: Path) -> Path:
    """A copy of the mini fixture, committed in a git repository of its own."""
    repo = where / "sources"
    shutil.copytree(MINI, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sources")
    return repo


def verify(manifest: Path, sources: Path, project: Path = ROOT, python: str = sys.executable):
    """``followup verify`` run by ``python`` on the code, fonts and layouts of ``project``."""
    return subprocess.run([python, "-m", "compiler", "verify", str(manifest), "--sources", str(sources)],
                          cwd=project, capture_output=True, text=True, timeout=300)


def project_copy(where: Path) -> Path:
    """The code, fonts and layouts of the project in a folder of its own (fonts hard-linked when possible)."""
    copy = where / "project"
    shutil.copytree(ROOT / "compiler", copy / "compiler", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "layouts", copy / "layouts")

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    shutil.copytree(ROOT / "fonts", copy / "fonts", copy_function=link)
    return copy


def replace(path: Path, data: bytes) -> None:
    """New bytes in a new file (never through a hard link into the project)."""
    path.unlink()
    path.write_bytes(data)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A release of committed mini sources: (sources repo, output folder)."""
    require_libreoffice()
    where = tmp_path_factory.mktemp("released")
    sources = git_sources(where)
    result, diags = build(sources, where / "out", release=True, allow_dirty=False)
    assert not diags.has_errors, diags.items
    return sources, where / "out"


def test_manifest_records_versions_inputs_numbers_revision_and_flags(released):
    sources, out = released
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["libraries"] == provenance.library_versions()
    assert manifest["inputs"] == provenance.input_hashes(ROOT)
    assert manifest["source_revision"] == git(sources, "rev-parse", "--short=12", "HEAD").strip()
    assert manifest["source_state"] == "clean"
    assert manifest["flags"] == {"allow_dirty": False, "embed_fonts": True, "formats": ["docx", "pdf"], "pdf_variant": "default",
                                 "single_pass": False}
    from compiler.pipeline import compile_sources
    doc = compile_sources(sources, Diagnostics()).document
    assert manifest["numbers"] == {row.item_id: row.label for row in doc.rows()} and len(manifest["numbers"]) > 3
    assert manifest["sources"][ITEM] == hashlib.sha256((sources / ITEM).read_bytes()).hexdigest()
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    text = (out / "manifest.json").read_bytes()
    assert text == (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


@pytest.mark.parametrize("change", ["modified", "untracked", "unversioned"])
def test_release_refuses_unclean_sources_unless_allowed(tmp_path, change):
    sources = git_sources(tmp_path)
    if change == "modified":
        (sources / ITEM).write_text((sources / ITEM).read_text(encoding="utf-8") + "# 変更\n", encoding="utf-8")
    elif change == "untracked":
        (sources / "10-alpha" / "notes.txt").write_text("メモ\n", encoding="utf-8")
    else:
        shutil.rmtree(sources / ".git")
    result, diags = build(sources, tmp_path / "out", release=True, allow_dirty=False)
    assert [d.code for d in diags.items] == ["E070"]
    assert not (tmp_path / "out").exists()
    result, diags = build(sources, tmp_path / "out", release=True, allow_dirty=True, formats={"pdf"})
    assert not diags.has_errors, diags.items
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["flags"]["allow_dirty"] is True
    assert manifest["source_state"] == ("unversioned" if change == "unversioned" else "dirty")
    assert (manifest["source_revision"] is None) == (change == "unversioned")


def test_cli_refusal_exits_1_and_names_the_code(tmp_path):
    from click.testing import CliRunner
    from compiler.cli import main

    sources = git_sources(tmp_path)
    (sources / ITEM).write_text("x: 1\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["build", "--release", "--sources", str(sources), "--out", str(tmp_path / "o"),
                                  "--format", "json"])
    assert r.exit_code == 1
    assert [d["code"] for d in json.loads(r.stdout)] == ["E070"]


def test_verify_passes_on_the_release(released):
    sources, out = released
    r = verify(out / "manifest.json", sources)
    assert r.returncode == 0, r.stderr


def test_verify_names_a_changed_item(released, tmp_path):
    sources, out = released
    changed = tmp_path / "sources"
    shutil.copytree(sources, changed)
    item = changed / ITEM
    item.write_text(item.read_text(encoding="utf-8").replace("commitment:", "commitment: 改", 1), encoding="utf-8")
    git(changed, "commit", "-q", "-am", "change one item")
    r = verify(out / "manifest.json", changed)
    assert r.returncode == 1
    assert ITEM in r.stderr and "source_revision" not in r.stderr
    assert any(name in r.stderr for name in json.loads((out / "manifest.json").read_text())["files"])


@pytest.mark.parametrize("target", ["fonts/BIZUDMincho-Regular.ttf", "layouts/style.css.j2"])
def test_verify_names_a_changed_font_or_layout(released, tmp_path, target):
    sources, out = released
    project = project_copy(tmp_path)
    data = bytearray((project / target).read_bytes())
    if target.endswith(".ttf"):
        data[len(data) // 2] ^= 0x01  # a byte inside the glyph data: the font still loads
    else:
        data += b"\n/* changed */\n"
    replace(project / target, bytes(data))
    assert (ROOT / target).read_bytes() != bytes(data)   # the project's own file is untouched
    r = verify(out / "manifest.json", sources, project)
    assert r.returncode == 1, r.stderr
    first = next(line for line in r.stderr.splitlines() if line.startswith("入力の違い"))
    assert target in first


def test_verify_rejects_what_is_not_a_manifest(tmp_path):
    (tmp_path / "m.json").write_text('{"files": {}}', encoding="utf-8")
    r = verify(tmp_path / "m.json", tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
