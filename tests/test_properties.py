"""Property tests: random valid documents lose no text; random corruptions never crash the compiler."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.pipeline import compile_sources
from compiler.diagnostics import Diagnostics
from tests.helpers import MINI, build, docx_paragraphs, norm, pdf_column_texts

# characters every shipped font has and that trigger no text rule (no era names, no full-width digits, no O)
ALPHABET = "あいうえかきくけさしすたちつなにのはひふまみむやゆよらりるれろわを" \
           "アイウエカキクケサシスタチツナニハヒフマミムヤユヨラリルレロワン" \
           "事業支援推進企業地域人材育成中小機構研究開発海外展開取組状況方針" \
           "abcdefghijkABCDEFGHIJK0123456789、。・「」（）：%&<>\"'{}[]#*"
text = st.text(alphabet=ALPHABET, min_size=1, max_size=40).map(str.strip).filter(
    lambda s: s and s[0] not in "&*'\"#{[<>%" and not s.startswith("- ") and ": " not in s)


def q(value: str) -> str:
    """A double-quoted YAML scalar."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def documents(draw):
    policies = draw(st.lists(st.lists(st.tuples(text, text, st.lists(text, min_size=1, max_size=3), text),
                                      min_size=1, max_size=3), min_size=1, max_size=3))
    return policies


def write_document(root: Path, policies) -> list[str]:
    (root / "document.yaml").write_text(
        "title: 表題\nas_of: 令和5年2月時点\nauthor: 事務局\noutput_name: prop\n"
        "columns:\n  commitment: 取組方針\n  status: 取組状況\nministries:\n  - name: 経産省\n", encoding="utf-8")
    pillar = root / "10-p"
    pillar.mkdir()
    (pillar / "pillar.yaml").write_text("id: p\ntitle: 柱\n", encoding="utf-8")
    values = []
    for pi, items in enumerate(policies, 1):
        folder = pillar / f"{pi}0-q{pi}"
        folder.mkdir()
        (folder / "policy.yaml").write_text(f"id: q{pi}\nshort_title: 政策{pi}\nprinciple:\n  - 大方針\n", encoding="utf-8")
        for ii, (category, commitment, bullets, project) in enumerate(items, 1):
            lines = [f"id: q{pi}-i{ii}", f"category: {q(category)}", "commitment:", f"  - {q(commitment)}",
                     "ministry: 経産省", "status:", f"  - project: {q(project)}", "  - bullets:"]
            lines += [f"      - {q(b)}" for b in bullets]
            lines += ["  - ministry: 経産省"]
            (folder / f"{ii}0-i{ii}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
            values += [commitment, project, *bullets]
    return values


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_random_valid_documents_build_and_lose_no_text(policies):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        root.mkdir()
        values = write_document(root, policies)
        result, diags = build(root, Path(tmp) / "out")
        # warnings are allowed (a random document may repeat a project name: W105); errors are not
        assert not diags.has_errors, [(d.code, d.message, str(d.span)) for d in diags.items]
        left, right = pdf_column_texts(Path(tmp) / "out" / "prop.pdf")
        docx_text = norm("".join(docx_paragraphs(Path(tmp) / "out" / "prop.docx")))
        for value in values:
            assert norm(value) in left + right, value
            assert norm(value) in docx_text, value


MUTATIONS = st.sampled_from(["delete", "insert", "replace", "dup_line", "indent", "truncate", "swap"])
NOISE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8) | st.sampled_from(
    [":", "- ", "  ", "\t", "'", '"', "[", "{", "&a", "*a", "!!python/object:os.system", "\x00", "\ufeff", "：", "〜"])
FILES = sorted(p.relative_to(MINI).as_posix() for p in MINI.rglob("*.yaml") if "corrections" not in p.parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FILES), MUTATIONS, st.integers(min_value=0, max_value=10_000), NOISE, st.booleans())
def test_random_corruptions_give_diagnostics_or_success(rel, mutation, position, noise, as_bytes):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        shutil.copytree(MINI, root)
        f = root / rel
        data = f.read_bytes()
        i = position % (len(data) + 1)
        lines = data.split(b"\n")
        j = position % len(lines)
        noise_b = noise.encode("cp932", "ignore") if as_bytes else noise.encode("utf-8")
        if mutation == "delete":
            data = data[:i] + data[i + 1 + position % 7:]
        elif mutation == "insert":
            data = data[:i] + noise_b + data[i:]
        elif mutation == "replace":
            data = data[:i] + noise_b + data[i + len(noise_b):]
        elif mutation == "dup_line":
            data = b"\n".join(lines[:j + 1] + lines[j:])
        elif mutation == "indent":
            lines[j] = b"  " + lines[j] if position % 2 else lines[j].lstrip()
            data = b"\n".join(lines)
        elif mutation == "truncate":
            data = data[:i]
        else:
            k = (position // 7) % len(lines)
            lines[j], lines[k] = lines[k], lines[j]
            data = b"\n".join(lines)
        f.write_bytes(data)
        diags = Diagnostics()
        compiled = compile_sources(root, diags)  # must not raise
        if compiled.document is None:
            assert diags.has_errors
            assert all(d.span is None or d.span.file for d in diags.items)
        else:
            from compiler.writers.html import render_html

            assert render_html(compiled.document)
