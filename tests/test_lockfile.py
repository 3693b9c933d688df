"""requirements.lock: every package of the venv pinned at its installed version, with hashes.

Two venvs made from the lock (scripts/deps.sh: pip install --require-hashes --no-deps -r
requirements.lock) then hold the same distributions; this checks the venv running the tests
is one of them, and that the lock still satisfies pyproject.toml.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers import ROOT

LOCK = ROOT / "requirements.lock"
PROJECT = "followup-compiler"   # installed in place (editable), not from the lock
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)\s*\\$")
HASH = re.compile(r"^    --hash=sha256:[0-9a-f]{64}( \\)?$")


def _entries() -> dict[str, tuple[str, list[str]]]:
    """Name (canonical) -> (version, hash lines) of every requirement of the lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for number, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            current = None   # hashes follow their pin directly; "# via" notes come after
            continue
        if line.startswith("    --hash="):
            assert current is not None, f"line {number}: hash without a requirement"
            assert HASH.match(line), f"line {number}: not a sha256 hash line: {line!r}"
            entries[current][1].append(line)
            continue
        match = PIN.match(line)
        assert match, f"line {number}: neither an exact pin followed by hashes nor a comment: {line!r}"
        current = canonicalize_name(match.group(1))
        assert current not in entries, f"line {number}: {current} pinned twice"
        entries[current] = (match.group(2), [])
    return entries


def _installed() -> dict[str, str]:
    venv = sys.prefix
    found = {}
    for dist in metadata.distributions():
        location = str(dist.locate_file(""))
        if not location.startswith(venv):
            continue
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist.version)
    return found


def test_every_requirement_is_an_exact_pin_with_hashes():
    entries = _entries()
    assert len(entries) > 20
    for name, (version, hashes) in entries.items():
        assert hashes, f"{name}=={version} has no --hash line"
        assert not hashes[-1].endswith("\\"), f"{name}: the last hash line continues"
        assert all(h.endswith("\\") for h in hashes[:-1]), f"{name}: a hash line is cut off from the rest"


def test_every_installed_package_is_pinned_at_its_installed_version():
    entries = _entries()
    installed = _installed()
    assert PROJECT in installed, "the project is not installed in this venv (scripts/deps.sh)"
    wrong = {name: (version, entries.get(name, (None,))[0])
             for name, version in installed.items()
             if name != PROJECT and entries.get(name, (None,))[0] != version}
    assert not wrong, f"installed version vs. lock (None: not in the lock): {wrong}"
    missing = sorted(set(entries) - set(installed))
    assert not missing, f"pinned but not installed (run scripts/deps.sh): {missing}"


def test_the_lock_satisfies_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entries = _entries()
    wanted = (project["project"]["dependencies"] + project["project"]["optional-dependencies"]["test"]
              + project["build-system"]["requires"])
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{text} is not in requirements.lock: run scripts/update-lock"
        assert Version(entries[name][0]) in requirement.specifier, \
            f"requirements.lock pins {name}=={entries[name][0]}, pyproject.toml wants {text}: run scripts/update-lock"


def test_the_lock_names_no_machine_and_no_index():
    text = LOCK.read_text(encoding="utf-8")
    assert "#    scripts/update-lock" in text, "regenerate the lock with scripts/update-lock"
    for pattern in (r"/tmp/", r"/home/", r"/work/", r"file://", r"https?://", r"--index-url", r"--extra-index-url",
                    r"--find-links", r"--trusted-host"):
        assert not re.search(pattern, text), f"requirements.lock mentions {pattern!r}"


def test_deps_installs_only_from_the_lock():
    script = (ROOT / "scripts" / "deps.sh").read_text(encoding="utf-8")
    assert "pip install -q --require-hashes --no-deps --only-binary :all: -r requirements.lock" in script
    assert "pip install -q --no-deps --no-build-isolation -e ." in script
    installs = [line for line in script.splitlines() if "pip install" in line]
    assert len(installs) == 2, installs
