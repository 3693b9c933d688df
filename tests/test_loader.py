"""Load stage: positions, encodings, order from file names."""

from __future__ import annotations

from pathlib import Path

from compiler.diagnostics import Diagnostics
from compiler.frontend.loader import load_sources, parse_yaml


def codes(diags: Diagnostics) -> list[str]:
    return [d.code for d in diags.items]


def test_positions_of_nested_values_are_one_based():
    diags = Diagnostics()
    sf = parse_yaml("id: a\nstatus:\n  - project: x\n    budget:\n      - b1\n      - b2\n", "f.yaml", diags)
    assert not diags.items
    assert sf.span(("id",)).line == 1 and sf.span(("id",)).col == 5
    assert (sf.span(("status", 0, "budget", 1)).line, sf.span(("status", 0, "budget", 1)).col) == (6, 9)
    assert sf.span(("status", 0, "project"), key=True).line == 3


def test_span_of_missing_path_falls_back_to_parent():
    sf = parse_yaml("status:\n  - project: x\n", "f.yaml", Diagnostics())
    assert sf.span(("status", 0, "budget")).line == 2


def test_order_comes_from_numeric_prefixes(mini: Path):
    policy = mini / "10-alpha" / "10-first"
    (policy / "015-first-new.yaml").write_text((policy / "020-first-b.yaml").read_text(encoding="utf-8").replace("first-b", "first-new"), encoding="utf-8")
    (policy / "9-first-zero.yaml").write_text((policy / "020-first-b.yaml").read_text(encoding="utf-8").replace("first-b", "first-zero"), encoding="utf-8")
    loaded = load_sources(mini, Diagnostics())
    names = [Path(sf.rel).name for sf in loaded.pillars[0].policies[0].items]
    assert names == ["9-first-zero.yaml", "010-first-a.yaml", "015-first-new.yaml", "020-first-b.yaml", "030-first-c.yaml"]


def test_utf8_bom_is_accepted(mini: Path):
    f = mini / "10-alpha" / "pillar.yaml"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    diags = Diagnostics()
    loaded = load_sources(mini, diags)
    assert not diags.has_errors
    assert loaded.pillars[0].file.data["id"] == "alpha"


def test_shift_jis_file_names_the_encoding(mini: Path):
    f = mini / "10-alpha" / "pillar.yaml"
    f.write_bytes("id: alpha\ntitle: 第一の柱\n".encode("cp932"))
    diags = Diagnostics()
    load_sources(mini, diags)
    [d] = [d for d in diags.items if d.code == "E003"]
    assert "Shift_JIS" in d.message and d.span.file == "10-alpha/pillar.yaml" and d.span.line == 2
    assert "UTF-8" in d.hint


def test_tab_indentation_is_located(mini: Path):
    f = mini / "10-alpha" / "pillar.yaml"
    f.write_text("id: alpha\ntitle:\n\t第一の柱\n", encoding="utf-8")
    diags = Diagnostics()
    load_sources(mini, diags)
    [d] = [d for d in diags.items if d.code == "E002"]
    assert (d.span.line, d.span.col) == (3, 1)


def test_yaml_syntax_error_is_located(mini: Path):
    f = mini / "10-alpha" / "pillar.yaml"
    f.write_text('id: alpha\ntitle: "第一の柱\nfoo: [\n', encoding="utf-8")
    diags = Diagnostics()
    load_sources(mini, diags)
    assert codes(diags) == ["E019"]  # the unclosed quote, at the quote itself
    assert (diags.items[0].span.file, diags.items[0].span.line, diags.items[0].span.col) == ("10-alpha/pillar.yaml", 2, 8)


def test_duplicate_key_is_an_error(mini: Path):
    f = mini / "10-alpha" / "pillar.yaml"
    f.write_text("id: alpha\ntitle: a\ntitle: b\n", encoding="utf-8")
    diags = Diagnostics()
    load_sources(mini, diags)
    assert codes(diags) == ["E001"] and diags.items[0].span.line == 3


def test_python_tags_construct_nothing(mini: Path, tmp_path: Path):
    canary = tmp_path / "canary"
    f = mini / "10-alpha" / "pillar.yaml"
    f.write_text(f'id: alpha\ntitle: !!python/object/apply:os.system ["touch {canary}"]\n', encoding="utf-8")
    diags = Diagnostics()
    load_sources(mini, diags)
    assert not canary.exists()
    assert diags.has_errors


def test_file_without_order_prefix_is_reported(mini: Path):
    policy = mini / "10-alpha" / "10-first"
    (policy / "020-first-b.yaml").rename(policy / "first-b.yaml")
    diags = Diagnostics()
    load_sources(mini, diags)
    assert [d.code for d in diags.items] == ["E006"]
    assert diags.items[0].span.file.endswith("first-b.yaml")


def test_empty_sources_folder(tmp_path: Path):
    diags = Diagnostics()
    load_sources(tmp_path, diags)
    assert "E005" in codes(diags)


def test_yaml_1_2_scalars_no_stays_text_numbers_are_numbers():
    sf = parse_yaml("a: no\nb: 2023\nc: '2023'\nd: 1.5\ne:\nf: true\ng: 2023-01-01\n", "f.yaml", Diagnostics())
    assert sf.data == {"a": "no", "b": 2023, "c": "2023", "d": 1.5, "e": None, "f": True, "g": "2023-01-01"}


def test_anchors_and_aliases_are_refused():
    diags = Diagnostics()
    assert parse_yaml("a: &x [1, 2]\nb: *x\n", "f.yaml", diags) is None
    assert codes(diags) == ["E001"] and diags.items[0].span.line == 2


def test_columns_count_characters_not_bytes():
    sf = parse_yaml("名前: [甲, 乙乙, 丙]\n", "f.yaml", Diagnostics())
    assert sf.span(("名前", 2)).col == 13


def test_missing_pillar_and_policy_files(mini: Path):
    (mini / "10-alpha" / "pillar.yaml").unlink()
    (mini / "20-beta" / "10-third" / "policy.yaml").unlink()
    diags = Diagnostics()
    load_sources(mini, diags)
    assert sorted((d.code, d.span.file) for d in diags.items) == [("E011", "10-alpha"), ("E011", "20-beta/10-third")]
