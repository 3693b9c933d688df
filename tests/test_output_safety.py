"""Nothing wrong gets published: outputs all or nothing, links refused, the folder lock, interrupts.

Write-phase cases call ``pipeline.write`` with small in-memory files (fast);
the folder-in-the-way case, the lock and the signals run real builds of the
mini fixture (the signals and the lock in real subprocesses).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler import interrupt, output
from compiler.diagnostics import Diagnostics
from compiler.pipeline import Built, write
from compiler.workers import HOST_NAME, PART_WORKER_NAME, WORKER_NAME
from tests.helpers import MINI, ROOT

OLD = {"mini.pdf": b"old pdf", "mini.docx": b"old docx"}
NEW = {"mini.pdf": b"new pdf " * 100, "mini.docx": b"new docx " * 100}


def folder(path: Path) -> dict[str, bytes | str]:
    """Everything in a folder tree: files by relative path (bytes), links as '-> target', folders as '/'."""
    found: dict[str, bytes | str] = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        found[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else "/" if p.is_dir() else p.read_bytes()
    return found


def old_folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for name, data in OLD.items():
        (out / name).write_bytes(data)
    return out


def write_new(out: Path, files=NEW) -> tuple[list[Path], Diagnostics]:
    diags = Diagnostics()
    return write(Built(files=dict(files)), out, diags), diags


def only_error(diags: Diagnostics) -> tuple[str, str]:
    assert len(diags.items) == 1, diags.items
    d = diags.items[0]
    return d.code, d.message


def test_a_complete_write_replaces_every_file_and_leaves_nothing_else(tmp_path):
    out = old_folder(tmp_path)
    written, diags = write_new(out)
    assert not diags.items and sorted(p.name for p in written) == ["mini.docx", "mini.pdf"]
    assert folder(out) == NEW


def test_folder_in_place_of_an_output_fails_with_e060_and_replaces_nothing(mini, tmp_path):
    """A real build (CLI): exit 1 with E060 naming the file, the PDF not replaced, no temporary left."""
    from click.testing import CliRunner

    from compiler.cli import main

    out = old_folder(tmp_path)
    (out / "mini.docx").unlink()
    (out / "mini.docx").mkdir()
    before = folder(out)
    r = CliRunner().invoke(main, ["build", "--sources", str(mini), "--out", str(out), "--format", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 1, r.output
    items = json.loads(r.stdout)
    assert [d["code"] for d in items] == ["E060"]
    assert "mini.docx" in items[0]["message"] and "フォルダ" in items[0]["message"]
    assert folder(out) == before


def test_full_disk_leaves_no_temporary_and_names_the_file(tmp_path, monkeypatch):
    out = old_folder(tmp_path)
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file does not fit
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output.os, "fsync", fsync)
    written, diags = write_new(out)
    monkeypatch.undo()
    code, message = only_error(diags)
    assert not written and code == "E060"
    assert "mini.docx" in message and "空き容量" in message and "None" not in message
    assert folder(out) == OLD


@pytest.mark.parametrize("error, words", [(errno.EACCES, "権限"), (errno.EROFS, "読み取り専用"), (errno.EDQUOT, "上限")])
def test_write_errors_are_explained_in_japanese(tmp_path, monkeypatch, error, words):
    out = old_folder(tmp_path)

    def fail(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(output.os, "fsync", fail)
    _, diags = write_new(out)
    monkeypatch.undo()
    assert words in only_error(diags)[1]
    assert folder(out) == OLD


def test_a_failed_rename_puts_every_old_file_back(tmp_path, monkeypatch):
    out = old_folder(tmp_path)
    real_replace = os.replace
    renamed = []

    def replace(src, dst):
        if str(src).endswith(".tmp") and Path(dst).name == "mini.docx":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        renamed.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", replace)
    _, diags = write_new(out)
    monkeypatch.undo()
    assert renamed, "the PDF had been renamed into place before the DOCX failed"
    assert only_error(diags)[0] == "E060"
    assert folder(out) == OLD


def test_the_next_write_tidies_away_what_a_killed_write_left(tmp_path):
    out = old_folder(tmp_path)
    (out / ".mini.pdf.k1llEd_9.tmp").write_bytes(b"half a pdf")
    (out / ".mini.docx.k1llEd_9.tmp.old").write_bytes(b"old docx")  # a link to the old file, in a real commit
    others = {".mini.pdf.notes": b"not ours", ".other.pdf.k1llEd_9.tmp": b"not a target's", "mini.pdf.abcdefgh.tmp": b"no dot"}
    for name, data in others.items():
        (out / name).write_bytes(data)
    _, diags = write_new(out)
    assert not diags.items
    assert folder(out) == {**NEW, **others}


def test_a_backup_whose_target_went_missing_is_restored_if_the_next_write_fails(tmp_path, monkeypatch):
    out = old_folder(tmp_path)
    os.rename(out / "mini.docx", out / ".mini.docx.k1llEd_9.tmp.old")  # killed between the two renames
    real_replace = os.replace

    def replace(src, dst):
        if str(src).endswith(".tmp") and Path(dst).name == "mini.docx":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", replace)
    _, diags = write_new(out)
    monkeypatch.undo()
    assert only_error(diags)[0] == "E060"
    assert folder(out) == OLD


def test_links_below_the_output_folder_are_refused(tmp_path):
    """A linked sub-folder or a linked target is never written through (nor replaced): E060, nothing changes."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.docx").write_bytes(b"precious")
    out = old_folder(tmp_path)
    (out / "preview").symlink_to(elsewhere, target_is_directory=True)
    before, outside = folder(out), folder(elsewhere)
    _, diags = write_new(out, {"preview/経産省.pdf": b"x", "preview/経産省.docx": b"y"})
    code, message = only_error(diags)
    assert code == "E060" and "preview" in message and "リンク" in message
    (out / "preview").unlink()
    (out / "mini.docx").unlink()
    (out / "mini.docx").symlink_to(elsewhere / "victim.docx")
    before = folder(out)
    _, diags = write_new(out)
    assert only_error(diags)[0] == "E060"
    assert folder(out) == before and folder(elsewhere) == outside


def test_a_new_sub_folder_is_made_and_removed_again_on_failure(tmp_path, monkeypatch):
    out = old_folder(tmp_path)
    monkeypatch.setattr(output.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    _, diags = write_new(out, {"preview/経産省.pdf": b"x"})
    monkeypatch.undo()
    assert only_error(diags)[0] == "E060" and folder(out) == OLD
    written, diags = write_new(out, {"preview/経産省.pdf": b"x"})
    assert not diags.items and folder(out)["preview/経産省.pdf"] == b"x"


# --- interrupts inside the write ------------------------------------------------------------

def _interrupt_on(monkeypatch, name: str, when):
    """Send SIGTERM to this process the first time ``os.<name>`` is called with arguments matching ``when``."""
    real = getattr(os, name)
    sent = []

    def wrapped(*args, **kwargs):
        if not sent and when(*args):
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)  # a handler not held back runs here
        return real(*args, **kwargs)

    monkeypatch.setattr(output.os, name, wrapped)
    return sent


def test_an_interrupt_during_the_renames_takes_effect_after_the_last(tmp_path, monkeypatch):
    out = old_folder(tmp_path)
    sent = _interrupt_on(monkeypatch, "replace", lambda src, dst: Path(dst).name == "mini.pdf")
    with pytest.raises(interrupt.Interrupted) as caught, interrupt.handled():
        write_new(out)
    monkeypatch.undo()
    assert sent and caught.value.outputs_replaced and caught.value.exit_status == 143
    assert folder(out) == NEW  # both new: never a new PDF beside an old DOCX


def test_an_interrupt_while_writing_temporaries_keeps_the_old_files(tmp_path, monkeypatch):
    out = old_folder(tmp_path)
    sent = _interrupt_on(monkeypatch, "fsync", lambda fd: True)
    with pytest.raises(interrupt.Interrupted) as caught, interrupt.handled():
        write_new(out)
    monkeypatch.undo()
    assert sent and not caught.value.outputs_replaced
    assert folder(out) == OLD


# --- the folder lock (real processes) ---------------------------------------------------------

def test_a_second_build_into_a_locked_folder_is_refused_with_e061(mini, tmp_path):
    out = old_folder(tmp_path)
    before = folder(out)
    env = dict(os.environ, FOLLOWUP_LOCK_WAIT="0")
    with output.lock(out):  # this process is "the other build"
        r = subprocess.run([sys.executable, "-m", "compiler", "build", "--sources", str(mini), "--out", str(out),
                            "--format", "json", "--no-docx"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert [d["code"] for d in json.loads(r.stdout)] == ["E061"]
    assert folder(out) == before
    r = subprocess.run([sys.executable, "-m", "compiler", "build", "--sources", str(mini), "--out", str(out), "-q"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr  # the lock went with its holder


def test_the_lock_waits_for_the_holder(tmp_path):
    """Two open descriptions of one folder exclude each other even in one process: the second waits, then gets it."""
    import threading

    out = tmp_path / "out"
    order = []
    with output.lock(out):
        def second():
            with output.lock(out, wait=60):
                order.append("second")

        t = threading.Thread(target=second)
        t.start()
        t.join(0.3)
        order.append("first released")
    t.join(60)
    assert order == ["first released", "second"]
    with output.lock(out), pytest.raises(output.Busy):
        with output.lock(out, wait=0):
            pass


# --- signals on a real build ------------------------------------------------------------------

def _ours(tmpdir: Path) -> dict[int, str]:
    """Processes started with our TMPDIR, or a folder inside it (LibreOffice has its own): the build and
    everything it started, pid → name."""
    found = {}
    marker = f"TMPDIR={tmpdir}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if any(v == marker or v.startswith(marker + b"/") for v in environ.split(b"\0")):
            found[int(entry)] = stat[stat.index("(") + 1:stat.rindex(")")]
    return found


def _signal_build(mini: Path, tmp_path: Path, extra: list[str], wait_for: str | None, signum: int, after: float = 0):
    """Start a build, send ``signum`` once a process named ``wait_for`` runs (``tmp:<glob>``: once a path
    matching the glob exists in its TMPDIR), or when it ends first; with no name, after ``after`` seconds."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(parents=True)
    out = old_folder(tmp_path)
    env = dict(os.environ, TMPDIR=str(tmpdir), FOLLOWUP_CACHE_DIR="")  # no part cache: every helper has work to do
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "build", "--sources", str(mini), "--out", str(out), "-q"]
                            + extra, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = wait_for is None
    while proc.poll() is None and not seen:
        if wait_for.startswith("tmp:"):
            seen = next(tmpdir.glob(wait_for.removeprefix("tmp:")), None) is not None
        else:
            seen = wait_for in _ours(tmpdir).values()
        time.sleep(0.005)
    time.sleep(after)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    deadline = time.monotonic() + 10  # SIGKILL of the parent: its children get their death signal now
    while _ours(tmpdir) and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc.returncode, stderr, out, tmpdir, seen


def _assert_consistent(out: Path) -> None:
    now = folder(out)
    assert sorted(now) == ["mini.docx", "mini.pdf"], now.keys()
    assert now == OLD or (now["mini.pdf"].startswith(b"%PDF") and now["mini.docx"].startswith(b"PK")), "mixed builds"


@pytest.mark.parametrize("extra, wait_for", [([], HOST_NAME), ([], WORKER_NAME), ([], PART_WORKER_NAME),
                                             (["--libreoffice-pages"], "soffice.bin")],
                         ids=["layout-host", "docx-worker", "part-worker", "libreoffice"])
def test_sigterm_stops_every_helper_and_removes_every_temporary(mini, tmp_path, extra, wait_for):
    status, stderr, out, tmpdir, seen = _signal_build(mini, tmp_path, extra, wait_for, signal.SIGTERM)
    assert status in (0, 143), stderr
    if status == 143:
        assert "中断しました（出力は書き換えていません）" in stderr and folder(out) == OLD
    assert seen, f"no {wait_for} was seen running"
    assert _ours(tmpdir) == {}, "a helper process outlived the build"
    assert list(tmpdir.iterdir()) == [], "temporary files left behind"
    _assert_consistent(out)


def test_sigterm_at_any_moment_of_the_start_leaves_nothing_behind(mini, tmp_path):
    """Every 20 ms of the first half second: from before the handlers are set, through the fork of the
    layout host (before the command line is read) and the start of its workers, to the layout."""
    statuses = set()
    for n in range(25):
        status, stderr, out, tmpdir, _ = _signal_build(mini, tmp_path / str(n), [], None, signal.SIGTERM, 0.02 * n)
        statuses.add(status)
        assert status in (0, 143, -signal.SIGTERM), stderr
        assert "Traceback" not in stderr
        assert _ours(tmpdir) == {}, f"a helper process outlived the build stopped after {0.02 * n:.2f} s"
        assert list(tmpdir.iterdir()) == [], f"temporary files left behind by the build stopped after {0.02 * n:.2f} s"
        _assert_consistent(out)
    assert 143 in statuses  # some signal came while the build handled it


@pytest.mark.parametrize("extra", [[], ["--single-pass"]], ids=["by-parts", "single-pass"])
def test_sigkill_at_any_moment_of_the_start_leaves_nothing_behind(mini, tmp_path, extra):
    """SIGKILL of the parent every 20 ms of the first half second: no helper outlives it, and what the
    run put in TMPDIR (WeasyPrint's font copies, in the parent or the layout host) goes with it."""
    for n in range(25):
        status, stderr, out, tmpdir, _ = _signal_build(mini, tmp_path / str(n), extra, None, signal.SIGKILL, 0.02 * n)
        assert status in (0, -signal.SIGKILL), stderr
        assert _ours(tmpdir) == {}, f"a helper process outlived the build killed after {0.02 * n:.2f} s"
        assert list(tmpdir.iterdir()) == [], f"temporary files left behind by the build killed after {0.02 * n:.2f} s"
        _assert_consistent(out)


@pytest.mark.parametrize("extra, wait_for", [([], HOST_NAME), ([], WORKER_NAME), ([], PART_WORKER_NAME),
                                             (["--libreoffice-pages"], "soffice.bin"),
                                             (["--single-pass"], "tmp:**/weasyprint-*/*")],
                         ids=["layout-host", "docx-worker", "part-worker", "libreoffice", "single-pass-font-copies"])
def test_the_workers_die_with_a_killed_parent(mini, tmp_path, extra, wait_for):
    """SIGKILL cannot be handled: the workers still go (PR_SET_PDEATHSIG), their temporaries with them
    (``tempdir``), and the outputs are untouched."""
    status, stderr, out, tmpdir, seen = _signal_build(mini, tmp_path, extra, wait_for, signal.SIGKILL)
    assert seen, f"no {wait_for} was seen running"
    assert status == -signal.SIGKILL, stderr
    assert _ours(tmpdir) == {}, "the worker outlived its killed parent"
    assert list(tmpdir.iterdir()) == [], "temporary files left behind"
    _assert_consistent(out)
