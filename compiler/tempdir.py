"""The command's temporary folder: whatever a run puts in TMPDIR goes into one folder, removed however it ends.

Its one job is ``command_folder()``, which the command line wraps every command in (``cli.entry``): it
makes ``followup-<random>`` in the temporary folder and points ``tempfile`` there, so WeasyPrint's font
copies, the layout host's scratch folder, LibreOffice's profile and the other temporaries of the run
all land in it; at the end the folder goes, with everything in it.

A run killed with SIGKILL (a CI timeout, the OOM killer) cannot remove anything itself, so a watcher
process does it then. The watcher (a small shell script, ``WATCHER_SCRIPT``) is started first and
reads the read end of a pipe. Every process of the run forked after it (the DOCX worker, the layout
host and its workers) inherits the write end, while programs started with ``subprocess`` do not
(their descriptors are closed on exec). The pipe reads end-of-file once the last of those processes
is gone, whichever way it went: the watcher then removes the folder and exits. At a normal end the
run removes the folder itself and stops the watcher. Where there is no ``sh``, the folder is still
removed at a normal end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile

PREFIX = "followup-"
ATTEMPTS = 10  # names tried, should one be taken
WATCHER_NAME = "followup-tmp"  # the watcher's name in its command line (ps -o args)
# Reads its standard input (the pipe) to its end, then removes the folder; again a moment later, for
# LibreOffice, which its own helper kills and which may still be writing when the pipe ends.
WATCHER_SCRIPT = 'trap "" INT TERM HUP; cat >/dev/null; rm -rf -- "$1"; sleep 0.2 2>/dev/null || sleep 1; rm -rf -- "$1"'


@contextlib.contextmanager
def command_folder():
    """Within the block, ``tempfile`` makes its files and folders in a new folder of the run's own, which
    is removed when the block ends or, if the process is killed, when its last helper is gone.
    If no folder can be made (TMPDIR not writable), the block runs with the temporary folder as it is."""
    from compiler import interrupt

    folder = watcher = None
    previous = tempfile.tempdir
    try:
        with interrupt.deferred():  # made and watched, or neither
            folder, watcher = _make_watched()
            if folder is not None:
                tempfile.tempdir = folder
        yield folder
    finally:
        tempfile.tempdir = previous
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if watcher is not None:
            _stop(*watcher)


def _make_watched():
    """``(folder, watcher)``: the watcher is started first, on the name the folder is then made with, so
    that a run killed at any moment leaves no folder unwatched; ``(None, None)`` if none can be made."""
    import secrets

    try:
        parent = tempfile.gettempdir()
    except OSError:  # no usable temporary folder at all
        return None, None
    for _ in range(ATTEMPTS):
        folder = os.path.join(parent, PREFIX + secrets.token_hex(6))
        watcher = _watch(folder)
        try:
            os.mkdir(folder, 0o700)
            return folder, watcher
        except FileExistsError:  # another's: try another name
            pass
        except OSError:
            if watcher is not None:
                _stop(*watcher)
            return None, None
        if watcher is not None:
            _stop(*watcher)
    return None, None


def _watch(folder: str):
    """Start the watcher of ``folder``: ``(process, write end of its pipe)``, or ``None`` where it cannot run.

    It is a shell, not a fork of this process: a forked copy of the command line would keep the pages
    this process goes on to change (14 MiB of a build's memory); ``sh`` and ``cat`` take a few hundred
    KiB. In a session of its own, no Ctrl-C or hang-up of the terminal reaches it."""
    import subprocess

    if os.name != "posix" or shutil.which("sh") is None:
        return None
    read_end, write_end = os.pipe()  # not inheritable: forked children keep it, programs run with exec do not
    try:
        proc = subprocess.Popen(["sh", "-c", WATCHER_SCRIPT, WATCHER_NAME, folder], stdin=read_end,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    return proc, write_end


def _stop(proc, write_end: int) -> None:
    """End the watcher at a normal end (the folder is gone already) and reap it. It is killed before
    its pipe is closed, while it still waits for the pipe's end: the other way round, the end of the
    pipe starts the removal, and a process the shell had just forked for it could outlive the command
    for a moment, with the command's environment."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    os.close(write_end)
    proc.wait()
