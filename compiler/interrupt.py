"""Interrupts: SIGINT, SIGTERM and SIGHUP end a build cleanly, and no helper process outlives it.

* ``handled()`` (installed by the CLI around ``build`` and ``preview``) turns the
  three signals into an ``Interrupted`` exception, so every ``finally`` on the
  way out runs: temporaries are removed, the forked DOCX worker and the
  LibreOffice page pass are killed. The exit status is 128 + the signal
  (130 for SIGINT, 143 for SIGTERM).
* ``deferred()`` holds the signals back during the short rename phase of
  ``output.write_all``: an interrupt then takes effect after the last rename,
  never between two (which would leave a new PDF beside an old DOCX); the
  exception raised then has ``outputs_replaced = True``. The import of
  WeasyPrint is deferred the same way (cffi's library lookup makes temporary
  files that an interrupt at the wrong moment would leave behind).
* ``check()`` raises again, before the command reports or writes, an interrupt
  whose exception something on its way dropped (the run then went on with a
  possibly wrong result);
* ``held_for_fork()`` blocks them around a fork of a helper, until the helper has set its
  own handlers (``quiet_child``).
* ``die_with_parent()`` (Linux ``prctl(PR_SET_PDEATHSIG)``) makes a child
  process receive a signal when its parent dies, even by SIGKILL, which no
  handler can catch.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_NAME, PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 15, 1, 36


class Interrupted(BaseException):
    """A signal asked the tool to stop (a BaseException, like KeyboardInterrupt: not caught as an error)."""

    outputs_replaced = False

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


_received: list[int] = []  # the signals ``handled()`` turned into ``Interrupted`` (see ``check``)
_depth = 0  # ``handled()`` blocks open (the outermost starts and ends with none received)


def _raise(signum, frame):
    _received.append(signum)
    raise Interrupted(signum)


def check(outputs_replaced: bool = False) -> None:
    """Raise ``Interrupted`` again if a signal came within ``handled()`` and its exception was swallowed.

    A signal lands between any two bytecodes, and a few places drop what is raised there: CPython
    drops one raised in a finaliser or a callback from C (``handled()`` keeps it from printing
    "Exception ignored in …" with a traceback; a Ctrl-C is recorded as SIGINT), and pydantic's
    pattern check (Rust calling Python's ``re``) then reports the value as not matching. The run went
    on with a wrong result (an E014 for a valid id), so whatever it would print or write next is not
    to be trusted: the command line calls this, within the block, before it reports or writes anything.
    ``outputs_replaced``: the run has written its outputs already (the message says so)."""
    if _received:
        exc = Interrupted(_received[0])
        exc.outputs_replaced = outputs_replaced
        raise exc


@contextlib.contextmanager
def handled():
    """Within the block, SIGINT/SIGTERM/SIGHUP raise ``Interrupted`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _depth
    if _depth == 0:
        _received.clear()
    _depth += 1
    previous = {s: signal.signal(s, _raise) for s in SIGNALS}
    previous_hook = sys.unraisablehook

    def unraisable(info):  # an interrupt dropped by CPython: recorded (``check``), not printed as a traceback
        if not isinstance(info.exc_value, (Interrupted, KeyboardInterrupt)):
            previous_hook(info)

    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _received.clear()
        sys.unraisablehook = previous_hook
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def deferred():
    """Hold the signals back for the duration of the block; one that arrived meanwhile is handled at its end.

    The handlers are swapped for one that only records the signal (a signal
    mask would not do: the kernel hands a process's signal to any thread that
    does not block it, and Python then runs the handler in the main thread at
    once). Whatever the real handler raises at the end (``Interrupted``,
    ``KeyboardInterrupt``) is marked ``after_block = True`` when the block
    completed. Outside the main thread, where handlers cannot be set, a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in SIGNALS}
    completed = False
    try:
        yield
        completed = True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            try:
                signal.raise_signal(pending[0])  # the real handler runs now
            except BaseException as exc:
                if completed:
                    exc.after_block = True
                raise


def _load_libc():
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)  # the C library already loaded (no ldconfig run)
    except OSError:
        return None


_LIBC = _load_libc() if sys.platform.startswith("linux") else None  # loaded here, not in a forked child


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent exits (Linux; elsewhere nothing).

    Safe in a ``preexec_fn``: nothing is imported or loaded here."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def adopt_orphans() -> None:
    """Become the reaper of the processes below this one whose parent dies before them (Linux; elsewhere
    nothing): they are re-parented here instead of to init, and this process must wait for them."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def name_process(name: str) -> None:
    """Name this process (``/proc/<pid>/comm``, ``ps -o comm``; at most 15 bytes) so it can be told apart."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def quiet_child() -> None:
    """In a forked helper: the signals back to their defaults, except SIGINT, which the parent handles,
    then let through again (``held_for_fork``): one that came meanwhile takes effect now.

    (Ctrl-C reaches the whole process group; the parent then stops its helpers itself.)"""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


@contextlib.contextmanager
def held_for_fork():
    """Around a fork: the three signals held back (blocked) in this thread, so that one sent to the new
    child before it has set its own handlers (``quiet_child``) waits for them, instead of reaching the
    child's copy of this process's handlers (a recording one, as in ``deferred``, would swallow it:
    the parent then waited 10 s for a host that never stopped). One sent to this process meanwhile is
    handled here when the block ends; a child leaving the block (``os.fork`` inside it) keeps them
    held. Where signal masks are unavailable, nothing is held."""
    import os

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    forker = os.getpid()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        if os.getpid() == forker:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
