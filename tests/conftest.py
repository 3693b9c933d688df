"""Session fixtures: the official document and the mini fixture, each built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import os

import pytest
from hypothesis import settings as hypothesis_settings

from tests.helpers import MINI, OFFICIAL, build

# CI explores the same examples on every run (a landing never hangs on a lucky draw);
# local runs draw new examples each time and keep failures in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def part_cache(tmp_path_factory):
    """Builds keep their laid-out PDF parts in a folder of the test session, never in the user's cache."""
    folder = tmp_path_factory.mktemp("part-cache")
    previous = os.environ.get("FOLLOWUP_CACHE_DIR")
    os.environ["FOLLOWUP_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("FOLLOWUP_CACHE_DIR", None)
    else:
        os.environ["FOLLOWUP_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def official(tmp_path_factory):
    """The official sources built once (PDF + DOCX, PDF-estimated DOCX page numbers)."""
    out = tmp_path_factory.mktemp("official")
    result, diags = build(OFFICIAL, out)
    assert not diags.has_errors, diags.items
    return result


@pytest.fixture(scope="session")
def official_release(tmp_path_factory):
    """The official sources built as a release (LibreOffice page pass, manifest)."""
    out = tmp_path_factory.mktemp("release")
    result, diags = build(OFFICIAL, out, release=True)
    assert not diags.has_errors, diags.items
    return result


@pytest.fixture
def mini(tmp_path) -> Path:
    """A private, editable copy of the mini fixture sources."""
    dst = tmp_path / "sources"
    shutil.copytree(MINI, dst)
    return dst
