"""The command's temporary folder (``compiler.tempdir``): used, removed, watched.

What a killed run leaves is tested on real builds in ``test_output_safety`` (SIGKILL of the parent)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from compiler import tempdir


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


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
    monkeypatch.setattr(tempdir, "_stop", lambda pid, write_end: (os.close(write_end), watchers.append(pid)))
    monkeypatch.setattr(tempdir.shutil, "rmtree", _no_rmtree_here(os.getpid()))
    watchers: list[int] = []
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
    assert Path(folder).is_dir() and _alive(watcher), "the folder went while a helper still ran"
    os.close(write)
    os.waitpid(child, 0)
    deadline = time.monotonic() + 10
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(folder).exists()
    assert os.waitpid(watcher, 0)[0] == watcher


def _no_rmtree_here(pid: int):
    """``shutil.rmtree``, except in process ``pid`` (the test, standing for a killed parent)."""
    import shutil

    real = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if os.getpid() != pid:
            real(path, *args, **kwargs)

    return rmtree


def test_without_a_writable_temporary_folder_the_block_runs_as_before(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    before = tempfile.tempdir
    with tempdir.command_folder() as folder:
        assert folder is None and tempfile.tempdir == before
