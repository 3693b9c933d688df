"""Smoke test of benchmarks/run.py on the mini fixture: it runs and writes its table. No timing assertions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.helpers import MINI, ROOT

RUN = ROOT / "benchmarks" / "run.py"


def _load_run_module():
    spec = importlib.util.spec_from_file_location("benchmark_run", RUN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_writes_table(tmp_path):
    out = tmp_path / "results.md"
    r = subprocess.run([sys.executable, str(RUN), "--quick", "--sources", str(MINI), "--output", str(out)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "| Case | Command | Median (s) |" in text
    for row in ("| check |", "| build (PDF + DOCX) |", "| build, PDF only |", "| build, DOCX only |",
                "| preview (経産省) |", "| build --release (LibreOffice pass) |", "| build, synthetic ×4 |",
                "| build, synthetic ×10 |", "| PDF size |", "| serve: save → page updated |"):
        assert row in text, row
    assert "## PDF by parts against `--single-pass`" in text
    for row in ("| cold build (empty cache) |", "| rebuild after a one-item edit (warm cache) |",
                "| preview -m 経産省 (empty cache) |", "| cold build on 1 core (taskset -c 0) |",
                "| cold build on 2 cores (taskset -c 0,1) |", "| scaling 1 → 2 cores |"):
        assert row in text, row
    assert "**ERROR**" not in text
    for key in ("CPUs (nproc)", "CPU model", "Python", "WeasyPrint", "python-docx", "LibreOffice", "Date"):
        assert f"| {key} |" in text, key
    # nothing leaks into the repository's output folder or the fixture
    assert not (MINI / "output").exists()


def test_synthetic_document_validates(tmp_path):
    run = _load_run_module()
    dest = tmp_path / "x3"
    counts = run.make_synthetic(MINI, dest, 3)
    original = sum(1 for p in MINI.rglob("*.yaml") if p.parent.parent.parent == MINI and p.name != "policy.yaml")
    assert counts["items"] == 3 * original
    followup = run.default_followup()
    r = subprocess.run([followup, "check", "--strict", "--sources", str(dest)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


_BURN = ("import os, time\n"
         "def burn():\n    while time.process_time() < 0.3: pass\n"
         "pid = os.fork()\nburn()\nif pid: os.waitpid(pid, 0)\nelse: os._exit(0)\n")


def test_the_cpu_of_a_whole_process_tree_is_measured(tmp_path):
    run = _load_run_module()
    tree = run.run_tree([sys.executable, "-c", _BURN], tmp_path, {"PATH": "/usr/bin:/bin"})
    assert tree.cpu_s >= 0.6  # the parent's 0.3 s and its child's


def test_the_parts_table_gives_the_least_ratio_the_cpu_allows():
    run = _load_run_module()
    pair = run.Pair("preview", "preview -m 経産省 (empty cache)")
    pair.parts = [run.TreeRun(1.5, 0, 0, 3.0)]
    pair.single = [run.TreeRun(2.5, 0, 0, 2.8)]
    row = next(line for line in run.render_parts_table([pair], None).splitlines() if line.startswith("| preview"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    cores = len(__import__("os").sched_getaffinity(0))
    assert cells[1:6] == ["1.50", "2.50", "0.60×", "3.00 / 2.80", f"{3.0 / cores / 2.5:.2f}×"]
