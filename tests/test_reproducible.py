"""Issue 13's test: two fresh virtual environments made from requirements.lock build the same
release byte for byte, and each verifies the other's.

Each venv is made the way scripts/deps.sh makes one (``pip install --require-hashes --no-deps
--only-binary :all: -r requirements.lock``, then the project with ``--no-deps
--no-build-isolation``), so pip resolves nothing and takes the pinned files (from the local
cache when it has them). One test holds the whole run so the two venvs (about 20 s each,
made side by side) are made once. What changes to fonts, layouts and items do to ``verify``
is in tests/test_release.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, require_libreoffice
from tests.test_release import git_sources

LOCK = ROOT / "requirements.lock"


def _start_venv(path: Path) -> subprocess.Popen:
    script = (f"{sys.executable} -m venv {path} && "
              f"{path}/bin/python -m pip install -q --require-hashes --no-deps --only-binary :all: -r {LOCK} && "
              f"{path}/bin/python -m pip install -q --no-deps --no-build-isolation -e {ROOT}")
    return subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=path.parent)


def test_two_venvs_from_the_lock_build_identical_releases_that_verify(tmp_path):
    require_libreoffice()
    venvs = [tmp_path / "venv-a", tmp_path / "venv-b"]
    jobs = [_start_venv(v) for v in venvs]
    for venv, job in zip(venvs, jobs):
        out, _ = job.communicate(timeout=600)
        assert job.returncode == 0, f"{venv.name}: {out[-3000:]}"
    sources = git_sources(tmp_path)
    outs = []
    for venv in venvs:
        out = tmp_path / f"out-{venv.name}"
        r = subprocess.run([str(venv / "bin" / "followup"), "build", "--release", "-q", "--sources", str(sources),
                            "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == sorted(p.name for p in outs[1].iterdir()) and "manifest.json" in names and len(names) == 3
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    for venv, out in ((venvs[1], outs[0]), (venvs[0], outs[1])):  # each checks the other's release
        r = subprocess.run([str(venv / "bin" / "followup"), "verify", str(out / "manifest.json"),
                            "--sources", str(sources)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr
