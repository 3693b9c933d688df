"""Session fixtures: the official document and the mini fixture, each built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import MINI, SOURCES, build


@pytest.fixture(scope="session")
def official(tmp_path_factory):
    """The official sources built once (PDF + DOCX, PDF-estimated DOCX page numbers)."""
    out = tmp_path_factory.mktemp("official")
    result, diags = build(SOURCES, out)
    assert not diags.has_errors, diags.items
    return result


@pytest.fixture(scope="session")
def official_release(tmp_path_factory):
    """The official sources built as a release (LibreOffice page pass, manifest)."""
    out = tmp_path_factory.mktemp("release")
    result, diags = build(SOURCES, out, release=True)
    assert not diags.has_errors, diags.items
    return result


@pytest.fixture
def mini(tmp_path) -> Path:
    """A private, editable copy of the mini fixture sources."""
    dst = tmp_path / "sources"
    shutil.copytree(MINI, dst)
    return dst
