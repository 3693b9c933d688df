"""Legitimate edits of a source tree, made the way an editor makes them, must stay green.

No test reads the live ``sources/``: the secretariat edits it every cycle, so its
content (and whether a draft passes ``check --strict`` today) is not the test
suite's business. The live tree is checked by the commands themselves, where the
sources are built (``followup check --strict``, ``followup fmt --check``, a release
build; docs/ci-example.yml). Every test here works on a copy of the frozen
``tests/fixtures/official-r5-02``.

The regression tests make, on a copy of the tree, the edits that once broke the
test suite although they are legitimate: moving an item to another place of its
policy (a new order prefix, as ``git mv`` would) and giving an item a category that
already stands under another policy.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from compiler.cli import main
from tests.helpers import OFFICIAL, category, edited_copy, item_files, policy_folders

def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# --- edits that are legitimate (tests.helpers.edited_copy) ---------------------------------

def test_moving_an_item_and_sharing_a_category_are_legitimate(tmp_path: Path):
    copy = tmp_path / "sources"
    moved, borrowed = edited_copy(OFFICIAL, copy)
    # the edit really happened: the item stands last in its policy, under the borrowed category,
    # which another policy also uses
    assert item_files(moved.parent)[-1] == moved and category(moved) == borrowed
    assert any(category(p) == borrowed for q in policy_folders(copy) if q != moved.parent for p in item_files(q))
    r = invoke("check", "--strict", "--sources", copy)
    assert r.exit_code == 0, r.output


def test_check_strict_still_fails_on_a_broken_copy(tmp_path: Path):
    """The regression test above can fail: the same copy with a misspelt key does not pass."""
    copy = tmp_path / "sources"
    moved, _ = edited_copy(OFFICIAL, copy)
    moved.write_text(moved.read_text(encoding="utf-8").replace("category:", "categroy:", 1), encoding="utf-8")
    r = invoke("check", "--strict", "--sources", copy)
    assert r.exit_code != 0, r.output
    assert moved.name in r.output
