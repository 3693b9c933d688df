"""The command's temporary folder (``compiler.tempdir``): used, removed, watched.

What a killed run leaves is tested on real builds in ``test_output_safety`` (SIGKILL of the parent)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from compiler import tempdir


def test_the_block_makes_its_temporaries_in_a_folder_of_its_own_that_goes_at_its_end(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with tempdir.command_folder() as folder:
        assert Path(folder).parent == tmp_path and Path(tempfile.gettempdir()) == Path(folder)
        made = Path(tempfile.mkdtemp())
        (made / "copy.ttf").write_bytes(b"font")
        assert made.parent == Path(folder)
    assert list(tmp_path.iterdir()) == []
    assert tempfile.tempdir == str(tmp_path)


def test_the_watcher_removes_the_folder_when_the_last_process_holding_the_pipe_is_gone(tmp_path, monkeypatch):
    """A child forked inside the block (as the workers are) keeps the folder while it lives, even after
    the block's own process has let go of the pipe (as a killed parent does)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tempdir, "_stop", lambda proc, write_end: (os.close(write_end), watchers.append(proc)))
    monkeypatch.setattr(tempdir.shutil, "rmtree", lambda *args, **kwargs: None)  # as a killed parent would not
    watchers: list = []
    with tempdir.command_folder() as folder:
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # a helper: waits for the word to go, holding the inherited pipe
            os.close(write)
            os.read(read, 1)
            os._exit(0)
        os.close(read)
    (watcher,) = watchers
    time.sleep(0.3)
    assert Path(folder).is_dir() and watcher.poll() is None, "the folder went while a helper still ran"
    os.close(write)
    os.waitpid(child, 0)
    deadline = time.monotonic() + 10
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(folder).exists()
    assert watcher.wait(10) == 0


def test_the_watcher_is_small_and_out_of_reach_of_the_terminal(tmp_path, monkeypatch):
    """A forked copy of the command line kept 14 MiB of a build's pages; Ctrl-C must not stop it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    watchers: list = []
    real_watch = tempdir._watch
    monkeypatch.setattr(tempdir, "_watch", lambda folder: watchers.append(real_watch(folder)) or watchers[-1])
    with tempdir.command_folder():
        proc, _ = watchers[0]
        pss = sum(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/smaps_rollup").read_text().splitlines()
                  if line.startswith("Pss:"))
        assert pss < 2048, f"the watcher takes {pss} KiB"
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
    assert proc.returncode is not None


def test_without_a_writable_temporary_folder_the_block_runs_as_before(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempdir.os, "mkdir", refuse)
    before = tempfile.tempdir
    with tempdir.command_folder() as folder:
        assert folder is None and tempfile.tempdir == before
