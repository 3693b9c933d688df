"""The command's temporary folder: whatever a run puts in TMPDIR goes into one folder, removed however it ends.

Its one job is ``command_folder()``, which the command line wraps every command in (``cli.entry``): it
makes ``followup-<random>`` in the temporary folder and points ``tempfile`` there, so WeasyPrint's font
copies, the layout host's scratch folder, LibreOffice's profile and the other temporaries of the run
all land in it; at the end the folder goes, with everything in it.

A run killed with SIGKILL (a CI timeout, the OOM killer) cannot remove anything itself, so a watcher
process does it then. The watcher is forked first, holds the read end of a pipe and nothing else, and
waits. Every process of the run forked after it (the DOCX worker, the layout host and its workers)
inherits the write end, while programs started with ``subprocess`` do not (their descriptors are closed
on exec). The pipe reads end-of-file once the last of those processes is gone, whichever way it went:
the watcher then removes the folder and exits. At a normal end the run removes the folder itself
and stops the watcher. Where there is no ``fork``, the folder is still removed at a normal end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile

PREFIX = "followup-"
WATCHER_NAME = "followup-tmp"  # the watcher's process name (ps -o comm)
LATE_WRITERS_WAIT = 0.2  # seconds: LibreOffice, killed by its own helper, may still be writing when the pipe ends


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
            try:
                folder = tempfile.mkdtemp(prefix=PREFIX)
            except OSError:
                folder = None
            if folder is not None:
                watcher = _watch(folder)
                tempfile.tempdir = folder
        yield folder
    finally:
        tempfile.tempdir = previous
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if watcher is not None:
            _stop(*watcher)


def _watch(folder: str) -> tuple[int, int] | None:
    """Fork the watcher of ``folder``; ``(pid, write end of its pipe)``, or ``None`` without ``fork``."""
    from compiler import interrupt

    if not hasattr(os, "fork"):
        return None
    read_end, write_end = os.pipe()  # not inheritable: forked children keep it, programs run with exec do not
    with interrupt.held_for_fork():
        pid = os.fork()
    if pid == 0:
        try:
            os.close(write_end)
            _watcher_main(read_end, folder)
        finally:
            os._exit(0)
    os.close(read_end)
    return pid, write_end


def _watcher_main(read_end: int, folder: str) -> None:
    import time

    from compiler import interrupt

    for s in interrupt.SIGNALS:  # Ctrl-C reaches the whole group: the watcher outlives the run to tidy up
        signal.signal(s, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, interrupt.SIGNALS)
    interrupt.name_process(WATCHER_NAME)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # holds no terminal or pipe of the caller open (``cmd | tee`` ends with the run)
        os.dup2(null, fd)
    os.close(null)
    while True:
        try:
            if not os.read(read_end, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    shutil.rmtree(folder, ignore_errors=True)
    time.sleep(LATE_WRITERS_WAIT)
    shutil.rmtree(folder, ignore_errors=True)


def _stop(pid: int, write_end: int) -> None:
    """End the watcher at a normal end (the folder is gone already) and reap it."""
    os.close(write_end)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
