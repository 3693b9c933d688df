"""Hostile and careless input: links and odd entries in the sources, YAML slips, fmt as a CI gate, git.

Every case asserts the diagnostic code and where it points (file, line, column), never the wording."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.cli import main
from compiler.diagnostics import Diagnostics
from compiler.fmt import fmt_command, format_string, format_tree, strip_ministry_brackets
from compiler.frontend.loader import Refused, load_sources, parse_yaml, read_bytes_inside
from compiler.pipeline import compile_sources, source_revision
from compiler.theme import load_theme
from tests.helpers import MINI

S = load_theme()
POLICY = "10-alpha/10-first"
SECRET = "SECRET-CONTENT-42"
PYYAML_WORDS = re.compile(r"found|expected|while |scanning|mapping values|could not|stream")


def where(diags: Diagnostics, code: str | None = None) -> list[tuple]:
    return [(d.code, d.span.file if d.span else None, d.span.line if d.span else 0, d.span.col if d.span else 0)
            for d in diags.sorted() if code is None or d.code == code]


def load(root: Path) -> Diagnostics:
    diags = Diagnostics()
    load_sources(root, diags)
    return diags


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the sources that must never be read or shown."""
    f = tmp_path / "outside" / "secret.yaml"
    f.parent.mkdir()
    f.write_text(f"id: x\ntitle: {SECRET}\n", encoding="utf-8")
    return f


def assert_never_shown(diags: Diagnostics) -> None:
    for d in diags.items:
        assert SECRET not in d.message and SECRET not in (d.hint or "")


# --- class 1: one reader for source files -------------------------------------------------

@pytest.mark.parametrize("target", ["secret", "/proc/self/environ", "/etc/shadow", "dangling", "loop"])
def test_linked_item_file_is_refused_not_read(mini: Path, secret: Path, target: str):
    link = mini / POLICY / "040-linked.yaml"
    dest = {"secret": secret, "dangling": mini / "nowhere.yaml", "loop": link}.get(target, target)
    os.symlink(dest, link)
    diags = load(mini)
    assert where(diags) == [("E009", f"{POLICY}/040-linked.yaml", 0, 0)]
    assert_never_shown(diags)


def test_linked_policy_folder_to_root_and_linked_pillar_file(mini: Path, secret: Path):
    os.symlink("/", mini / "10-alpha" / "30-everything")
    (mini / "20-beta" / "pillar.yaml").unlink()
    os.symlink(secret, mini / "20-beta" / "pillar.yaml")
    diags = load(mini)
    # the refused pillar.yaml is not also reported missing (E011)
    assert where(diags) == [("E009", "10-alpha/30-everything", 0, 0), ("E009", "20-beta/pillar.yaml", 0, 0)]
    assert_never_shown(diags)


def test_check_command_never_prints_a_linked_file(mini: Path, secret: Path):
    os.symlink(secret, mini / "document.yaml.link")
    (mini / "document.yaml").rename(mini / "doc-real")
    os.symlink(secret, mini / "document.yaml")
    result = CliRunner().invoke(main, ["check", "--sources", str(mini)])
    assert result.exit_code == 1, result.output
    assert "E009" in result.output and SECRET not in result.output


def test_special_files_are_refused_without_blocking(mini: Path):
    os.mkfifo(mini / POLICY / "040-pipe.yaml")
    assert where(load(mini)) == [("E009", f"{POLICY}/040-pipe.yaml", 0, 0)]


def test_reader_never_goes_through_a_link(tmp_path: Path, secret: Path):
    root = tmp_path / "src"
    (root / "real").mkdir(parents=True)
    (root / "real" / "ok.yaml").write_text("id: ok\n", encoding="utf-8")
    os.symlink(secret.parent, root / "sub")
    os.symlink(secret, root / "real" / "link.yaml")
    assert read_bytes_inside(root, "real/ok.yaml") == b"id: ok\n"
    for rel in ("sub/secret.yaml", "real/link.yaml"):
        with pytest.raises(Refused):
            read_bytes_inside(root, rel)


@pytest.mark.parametrize("name, code, reported", [
    ("040-x.YAML", "E016", "040-x.YAML"),
    ("040-x.Yml", "E016", "040-x.Yml"),
    ("040-x.txt", "E016", "040-x.txt"),
    ("040-x", "E016", "040-x"),
    ("sub/015-x.yaml", "E016", "sub"),
    ("050-dir.yaml/010-y.yaml", "E016", "050-dir.yaml"),
])
def test_entries_that_would_be_skipped_are_reported(mini: Path, name: str, code: str, reported: str):
    path = mini / POLICY / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id: x\n", encoding="utf-8")
    assert where(load(mini)) == [(code, f"{POLICY}/{reported}", 0, 0)]


def test_folder_named_like_a_file_at_pillar_level_and_misnamed_pillar_file(mini: Path):
    (mini / "10-alpha" / "30-x.yaml").mkdir()
    (mini / "10-alpha" / "40-x.txt").write_text("id: x\n", encoding="utf-8")
    (mini / "20-beta" / "pillar.yaml").rename(mini / "20-beta" / "pillar.YAML")
    (mini / "document.yaml.txt").write_text("id: x\n", encoding="utf-8")
    assert where(load(mini)) == [("E016", "10-alpha/30-x.yaml", 0, 0), ("E016", "10-alpha/40-x.txt", 0, 0),
                                 ("E016", "20-beta/pillar.YAML", 0, 0), ("E016", "document.yaml.txt", 0, 0)]


def test_notes_beside_the_pillars_are_not_sources(mini: Path):
    (mini / "README.md").write_text("# 原稿\n", encoding="utf-8")
    (mini / "10-alpha" / "メモ.txt").write_text("メモ\n", encoding="utf-8")
    assert where(load(mini)) == []


@pytest.mark.parametrize("name", ["040-x.yaml~", ".040-x.yaml.swp", "#040-x.yaml#", "040-x.yaml.bak", "~$memo.docx", "Thumbs.db"])
def test_editor_backups_and_hidden_files_are_ignored(mini: Path, name: str):
    (mini / POLICY / name).write_text("id: [broken\n", encoding="utf-8")
    assert where(load(mini)) == []


def test_unreadable_folder_is_a_diagnostic(mini: Path, monkeypatch):
    real = os.scandir
    blocked = str(mini / "20-beta")

    def scandir(path="."):
        if str(path) == blocked:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    diags = load(mini)
    assert ("E008", "20-beta", 0, 0) in where(diags)
    result = CliRunner().invoke(main, ["check", "--sources", str(mini)])
    assert result.exit_code == 1 and "E008" in result.output


def test_every_error_of_a_file_in_one_run_and_no_false_errors_elsewhere(mini: Path):
    f = mini / POLICY / "010-first-a.yaml"
    text = f.read_text(encoding="utf-8")
    text = text.replace("category: 分類甲", "category: 123").replace("ministry: 経産省\nstatus", "ministry: 未登録省\nstatus")
    text = text.replace("      - 令和4年度当初：157.7億円の内数", "      - 予算: 157.7億円")
    f.write_text(text, encoding="utf-8")
    diags = Diagnostics()
    compile_sources(mini, diags)
    rel = f"{POLICY}/010-first-a.yaml"
    assert where(diags) == [("E012", rel, 2, 11), ("E023", rel, 5, 11), ("E018", rel, 10, 11)]


def test_cross_file_rules_still_run_when_a_block_is_invalid(mini: Path):
    f = mini / POLICY / "020-first-b.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("reprint: project-a", "reprint: project-zzz")
                 + "  - bullets: 1\n", encoding="utf-8")
    diags = Diagnostics()
    compile_sources(mini, diags)
    codes = [c for c, *_ in where(diags)]
    assert "E021" in codes and "E012" in codes


# --- class 2: YAML slips, in Japanese, where they are --------------------------------------

SLIPS = [
    ("id: a\ncategory：特定技能\nministry: x\n", "E017", 2, 9),
    ("id: a\nministry: x\ncategory：特定技能\n", "E017", 3, 9),
    ("status:\n  - project：甲\n", "E017", 2, 12),
    ("status:\n  - bullets：\n      - 甲\n      - text: 乙\n", "E017", 2, 12),
    ("id: a\ncommitment:\n\u3000- 甲\nministry: x\n", "E017", 3, 1),
    ("status:\n  - project: 甲\n  \u3000budget:\n      - b\n", "E017", 3, 3),
    ("status:\n  - project: 甲\n\u3000\u3000budget:\n      - b\n", "E017", 3, 1),
    ("id: a\ntitle 第一の柱\nministry: x\n", "E001", 2, 1),
    ("id: a\ntitle 第一の柱\n", "E001", 2, 1),
    ("id: a\ntitle: 予算: 1億円\n", "E018", 2, 10),
    ("commitment:\n  - 予算: 1億円\n", "E018", 2, 7),
    ("commitment:\n  - 甲の取組を\n    予算: 1億円\nministry: x\n", "E018", 3, 7),
    ("title: 甲の取組を\n  予算: 1億円\n", "E018", 2, 5),
    ('id: a\ntitle: "第一の柱\nministry: x\n', "E019", 2, 8),
    ("id: a\ntitle: '第一の柱\n", "E019", 2, 8),
    ("id: a\ntitle: [重要] 表題\n", "E001", 2, 8),
    ('id: a\ntitle: "甲" 乙\n', "E001", 2, 8),
    ("id: a\ntitle: @x\n", "E001", 2, 8),
    ("id: a\n  title: x\n", "E001", 2, 3),
    ("a: !!int 本文\n", "E012", 1, 4),
]


@pytest.mark.parametrize("text, code, line, col", SLIPS)
def test_yaml_slips_are_named_at_their_line(text: str, code: str, line: int, col: int):
    diags = Diagnostics()
    parse_yaml(text, "f.yaml", diags)
    assert where(diags)[0] == (code, "f.yaml", line, col)
    for d in diags.items:
        assert not PYYAML_WORDS.search(d.message + (d.hint or "")), d.message


def test_prose_colon_in_a_list_keeps_the_text():
    diags = Diagnostics()
    sf = parse_yaml("commitment:\n  - 予算: 1億円\n", "f.yaml", diags)
    assert sf.data == {"commitment": ["予算: 1億円"]}


@pytest.mark.parametrize("ch", ["\x0b", "\x0c", "\x07", "\x00", "\x1b", "\x85", "\x9b", "\u2028", "\u2029", "\ufffe"])
def test_control_characters_are_located_and_do_not_shift_lines(ch: str):
    diags = Diagnostics()
    parse_yaml(f"id: a\ntitle: 第一{ch}の柱\nministry: [x\n", "f.yaml", diags)
    assert where(diags) == [("E031", "f.yaml", 2, 10), ("E001", "f.yaml", 3, 11)]


def test_many_control_characters_are_summed_up():
    diags = Diagnostics()
    parse_yaml("a: " + "\x0b" * 100 + "\n", "f.yaml", diags)
    assert [c for c, *_ in where(diags)] == ["E031"] * 21


def test_control_character_in_a_file_of_the_sources(mini: Path):
    f = mini / POLICY / "030-first-c.yaml"
    lines = f.read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2][:5] + "\u2028" + lines[2][5:]
    f.write_text("\n".join(lines), encoding="utf-8")
    assert where(load(mini)) == [("E031", f"{POLICY}/030-first-c.yaml", 3, 6)]


# --- class 3: fmt as a CI gate -------------------------------------------------------------------

def test_fmt_check_fails_on_a_file_it_cannot_parse(mini: Path):
    (mini / POLICY / "040-broken.yaml").write_text("id: a\ncategory：特定技能\n", encoding="utf-8")
    result = CliRunner().invoke(fmt_command, ["--sources", str(mini), "--check"])
    assert result.exit_code == 1, result.output
    assert f"{POLICY}/040-broken.yaml:2:9" in result.output and "E017" in result.output


@pytest.mark.parametrize("value", ["!!int 本文", "!!str 本文", "!!python/name:os.system", "!custom x"])
def test_fmt_refuses_tags_without_crashing(mini: Path, value: str):
    (mini / POLICY / "040-tag.yaml").write_text(f"id: a\ntitle: {value}\n", encoding="utf-8")
    for args in (["--check"], []):
        result = CliRunner().invoke(fmt_command, ["--sources", str(mini), *args])
        assert result.exit_code == 1, result.output
        assert f"{POLICY}/040-tag.yaml:2:8" in result.output and "E012" in result.output


def test_fmt_never_rewrites_a_file_through_a_link(mini: Path, tmp_path: Path):
    outside = tmp_path / "outside.yaml"
    dirty = "- file: x\n  original: a\n  corrected: 令和４年\n"
    outside.write_text(dirty, encoding="utf-8")
    os.symlink(outside, mini / "corrections" / "linked.yaml")
    os.symlink(tmp_path, mini / POLICY / "sub")
    diags = Diagnostics()
    changed = format_tree(mini, S, check=False, diags=diags)
    assert outside.read_text(encoding="utf-8") == dirty and changed == []
    assert where(diags) == [("E009", f"{POLICY}/sub", 0, 0), ("E009", "corrections/linked.yaml", 0, 0)]
    result = CliRunner().invoke(fmt_command, ["--sources", str(mini), "--check"])
    assert result.exit_code == 1


def test_fmt_check_fails_on_a_file_that_is_not_utf8(mini: Path):
    (mini / POLICY / "040-sjis.yaml").write_bytes("id: a\ntitle: 第一\n".encode("cp932"))
    result = CliRunner().invoke(fmt_command, ["--sources", str(mini), "--check"])
    assert result.exit_code == 1 and f"{POLICY}/040-sjis.yaml:2:1" in result.output


@pytest.mark.parametrize("value, expected", [
    ("［経産省］［" + " " * 100_000 + "経産省", "経産省］［" + " " * 100_000 + "経産省"),
    ("［経産省］" * 25_000, "、".join(["経産省"] * 25_000)),
    ("［" * 100_000 + "経産省", "経産省"),
    ("［経産省］、" * 20_000 + "［", "経産省］、" + "［経産省］、" * 19_999 + "［"),
    ("［" + "　" * 100_000 + "経産省］", "経産省"),
])
def test_hostile_ministry_values_are_handled_in_linear_time(value: str, expected: str):
    # a super-linear scan would not finish on these 100k-character values (the suite would hang)
    assert strip_ministry_brackets(value, S) == expected
    assert format_string(value, S, key="ministry") == format_string(expected, S, key="ministry")


# --- class 4: git in the sources folder runs nothing from its config ----------------------------

def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "core.hooksPath=/dev/null", *args],
                   cwd=repo, check=True, capture_output=True, env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo)
    git(repo, "init", "-q", ".")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "sources")
    return repo


def test_fsmonitor_and_hooks_in_the_sources_repository_never_run(repo: Path, tmp_path: Path):
    canary = tmp_path / "pwned-fsmonitor"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "reference-transaction", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {canary}-{hook}\n")
        (hooks / hook).chmod(0o755)
    git(repo, "config", "core.fsmonitor", f"touch {canary}")
    git(repo, "config", "core.hooksPath", str(hooks))
    (repo / "document.yaml").write_text((repo / "document.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    os.utime(repo / "document.yaml", (1, 1))
    revision = source_revision(repo)
    assert revision and revision.endswith("-dirty")
    assert not list(tmp_path.glob("pwned*"))


def test_clean_filter_of_the_sources_repository_never_runs(repo: Path, tmp_path: Path):
    canary = tmp_path / "pwned-filter"
    (repo / ".gitattributes").write_text("* filter=evil\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-qm", "attributes")
    git(repo, "config", "filter.evil.clean", f"touch {canary}; cat")
    os.utime(repo / "document.yaml", (1, 1))  # a stale stat entry: status would run the clean filter
    revision = source_revision(repo)
    assert revision and revision.endswith("-unchecked")
    assert not canary.exists()


def test_revision_of_a_clean_repository(repo: Path):
    revision = source_revision(repo)
    assert revision and re.fullmatch(r"[0-9a-f]{12}", revision)


# --- property: random typing slips always end in a located diagnostic -----------------------------

FILES = sorted(p.relative_to(MINI).as_posix() for p in MINI.rglob("*.yaml") if "corrections" not in p.parts)
CONTROL = ["\x0b", "\x0c", "\x07", "\x00", "\x85", "\x9b", "\u2028", "\u2029"]
KEY_SEP = re.compile(r":(?= |$)")
JAPANESE = re.compile(r"[\u3040-\u9fff](?=[\u3040-\u9fff])")


def slip(text: str, kind: str, n: int, extra: int) -> str | None:
    """``text`` with one typing slip on a line chosen by ``n`` (None when that line offers no place for it)."""
    lines = text.split("\n")
    i = n % len(lines)
    line = lines[i]
    if kind == "control":
        pos = extra % (len(line) + 1)
        lines[i] = line[:pos] + CONTROL[extra % len(CONTROL)] + line[pos:]
    elif kind in ("fullwidth_colon", "delete_colon"):
        m = KEY_SEP.search(line)
        if not m:
            return None
        lines[i] = line[:m.start()] + ("：" if kind == "fullwidth_colon" else "") + line[m.end():]
    elif kind == "fullwidth_indent":
        if not line.startswith("  "):
            return None
        lines[i] = "\u3000" + line[2:]
    else:  # " : " / ": " typed inside Japanese prose
        places = [m.end() for m in JAPANESE.finditer(line)]
        if not places:
            return None
        pos = places[extra % len(places)]
        lines[i] = line[:pos] + (": " if extra % 2 else " : ") + line[pos:]
    return "\n".join(lines)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from(FILES), st.sampled_from(["control", "fullwidth_colon", "delete_colon", "fullwidth_indent", "prose_colon"]),
       st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=1000))
def test_typing_slips_always_end_in_a_located_diagnostic(rel: str, kind: str, n: int, extra: int):
    original = (MINI / rel).read_text(encoding="utf-8")
    edited = slip(original, kind, n, extra)
    if edited is None or edited == original:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        shutil.copytree(MINI, root)
        (root / rel).write_text(edited, encoding="utf-8")
        diags = Diagnostics()
        compile_sources(root, diags)  # must not raise
        located = [d for d in diags.items if d.span and d.span.file == rel and d.span.line > 0]
        if not located:
            # only acceptable when the slip left valid YAML with the very same data
            before, after = Diagnostics(), Diagnostics()
            a, b = parse_yaml(original, rel, before), parse_yaml(edited, rel, after)
            assert b is not None and not after.items and a.data == b.data, (kind, edited, [(d.code, str(d.span)) for d in diags.items])
            assert not diags.has_errors
