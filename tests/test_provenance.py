"""Provenance: the versions of what lays out a release, and the hashes of fonts/ and layouts/."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from compiler import provenance
from tests.helpers import ROOT, require_libreoffice

DOTTED = re.compile(r"\d+\.\d+\.\d+")
EXPECTED_KEYS = {"python", "weasyprint", "pydyf", "python-docx", "pydantic", "jinja2", "fonttools",
                 "pango", "harfbuzz", "fontconfig", "libreoffice"}


@pytest.fixture(scope="module")
def versions() -> dict[str, str]:
    return provenance.library_versions()


def test_versions_name_every_library_with_a_version(versions):
    require_libreoffice()
    assert set(versions) == EXPECTED_KEYS
    assert list(versions) == sorted(versions)
    empty = [k for k, v in versions.items() if not v]
    assert not empty, f"no version for {empty}"


def test_python_library_versions_are_the_installed_ones(versions):
    assert versions["python"] == platform.python_version()
    import weasyprint
    assert versions["weasyprint"] == weasyprint.__version__ == "70.0"
    assert versions["python-docx"] == "1.2.0"
    assert versions["pydyf"] == "0.13.0"
    for name in ("pydantic", "jinja2", "fonttools"):
        assert versions[name] == metadata.version(name)


def test_c_library_versions_are_those_weasyprint_loaded(versions):
    from weasyprint.text import ffi as weasy

    for name in ("pango", "harfbuzz", "fontconfig"):
        assert DOTTED.fullmatch(versions[name]), (name, versions[name])
    major, minor, micro = (int(n) for n in versions["pango"].split("."))
    assert weasy.pango.pango_version() == major * 10000 + minor * 100 + micro
    # WeasyPrint's own HarfBuzz handle agrees to the micro version: at least this, not more.
    major, minor, micro = (int(n) for n in versions["harfbuzz"].split("."))
    assert weasy.harfbuzz.hb_version_atleast(major, minor, micro)
    assert not weasy.harfbuzz.hb_version_atleast(major, minor, micro + 1)


def _dpkg_upstream(package: str) -> str | None:
    if not shutil.which("dpkg-query"):
        return None
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package], capture_output=True, text=True)
    status, _, version = r.stdout.partition("\t")
    if r.returncode != 0 or not status.endswith("ok installed"):
        return None
    return re.split(r"[+~-]", version.split(":")[-1])[0]


def _pkg_config(module: str) -> str | None:
    if not shutil.which("pkg-config"):
        return None
    r = subprocess.run(["pkg-config", "--modversion", module], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


@pytest.mark.parametrize("key, package, module", [
    ("pango", "libpango-1.0-0", "pango"),
    ("harfbuzz", "libharfbuzz0b", "harfbuzz"),
    ("fontconfig", "libfontconfig1", "fontconfig"),
])
def test_c_library_versions_match_the_system_packages(versions, key, package, module):
    system = _pkg_config(module) or _dpkg_upstream(package)
    if system is None:
        pytest.skip(f"neither pkg-config nor dpkg knows {package}; the dotted form is checked above")
    assert versions[key] == system


def test_libreoffice_version_is_what_soffice_reports(versions):
    require_libreoffice()
    out = subprocess.run(["soffice", "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
    assert out.split()[1] == versions["libreoffice"]
    assert re.fullmatch(r"\d+(\.\d+)+", versions["libreoffice"])


def test_libreoffice_version_is_empty_when_not_installed(monkeypatch):
    monkeypatch.setattr(provenance.shutil, "which", lambda name: None)
    assert provenance.libreoffice_version() == ""


def _project_copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for top in ("fonts", "layouts"):
        shutil.copytree(ROOT / top, root / top)
    (root / "sources").mkdir()
    (root / "sources" / "ignored.yaml").write_text("outside fonts/ and layouts/\n")
    return root


def test_input_hashes_cover_fonts_and_layouts_sorted(tmp_path):
    import hashlib

    hashes = provenance.input_hashes(ROOT)
    assert list(hashes) == sorted(hashes)
    expected = sorted(p.relative_to(ROOT).as_posix() for top in ("fonts", "layouts")
                      for p in (ROOT / top).rglob("*") if p.is_file())
    assert list(hashes) == expected
    assert "fonts/BIZUDMincho-Regular.ttf" in hashes and "layouts/style.css.j2" in hashes
    assert hashes["layouts/style.css.j2"] == hashlib.sha256((ROOT / "layouts/style.css.j2").read_bytes()).hexdigest()
    assert provenance.input_hashes(_project_copy(tmp_path)) == hashes


def test_changing_one_byte_of_a_font_changes_exactly_its_key(tmp_path):
    root = _project_copy(tmp_path)
    before = provenance.input_hashes(root)
    font = root / "fonts" / "BIZUDMincho-Regular.ttf"
    data = bytearray(font.read_bytes())
    data[len(data) // 2] ^= 0x01
    font.write_bytes(bytes(data))
    after = provenance.input_hashes(root)
    assert set(after) == set(before)
    assert [k for k in before if before[k] != after[k]] == ["fonts/BIZUDMincho-Regular.ttf"]
    assert provenance.compare(before, after) == "fonts/BIZUDMincho-Regular.ttf"


def test_nested_files_are_keyed_by_posix_path(tmp_path):
    root = _project_copy(tmp_path)
    (root / "layouts" / "parts").mkdir()
    (root / "layouts" / "parts" / "extra.css").write_text("p {}\n")
    assert "layouts/parts/extra.css" in provenance.input_hashes(root)


@pytest.mark.parametrize("make_link", [
    lambda root: os.symlink(root / "fonts" / "DejaVuSans.ttf", root / "fonts" / "alias.ttf"),
    lambda root: os.symlink(root / "sources", root / "layouts" / "linked-dir"),
    lambda root: os.symlink(root / "missing.ttf", root / "fonts" / "dangling.ttf"),
])
def test_symlinks_are_refused(tmp_path, make_link):
    root = _project_copy(tmp_path)
    make_link(root)
    with pytest.raises(ValueError, match="symbolic link"):
        provenance.input_hashes(root)


def test_a_symlinked_input_directory_is_refused(tmp_path):
    root = _project_copy(tmp_path)
    shutil.move(root / "fonts", tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", root / "fonts")
    with pytest.raises(ValueError, match="fonts is a symbolic link"):
        provenance.input_hashes(root)


def test_compare_names_the_first_differing_key_in_sorted_order():
    a = {"b": "2", "a": "1", "c": "3", "d": "4"}
    assert provenance.compare(a, dict(a)) is None
    assert provenance.compare({}, {}) is None
    assert provenance.compare(a, {**a, "d": "x", "c": "y"}) == "c"
    assert provenance.compare(a, {k: v for k, v in a.items() if k != "b"}) == "b"   # missing in actual
    assert provenance.compare({k: v for k, v in a.items() if k != "a"}, a) == "a"   # missing in expected
    assert provenance.compare(a, {**a, "0": "new"}) == "0"
    assert provenance.compare({"x": ""}, {}) == "x"   # an empty value still counts as present
