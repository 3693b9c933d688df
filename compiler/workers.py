"""Workers: run one function in a forked child process that dies with the build.

Its one job is the process plumbing shared by the pipeline (the DOCX worker) and the
PDF by parts (``writers.pdf_parts``): fork, name the child, make it die with its parent,
hand the result (or the exception) back through a pipe, and fall back to running the
function here where fork is unavailable or the child died. A worker started with an inbox
receives one value from its parent while it runs (the DOCX worker composes the document at
once and gets the page numbers when the layout has them).
"""

from __future__ import annotations

WORKER_NAME = "followup-docx"  # the forked DOCX worker's process name (ps -o comm)
PART_WORKER_NAME = "followup-part"  # a worker laying out one part of the PDF (writers.pdf_parts)


def release_memory() -> None:
    """Give the memory of what is no longer used back to the system: collect cycles, then ask glibc
    to return its free pages (a long-lived worker otherwise keeps the peak of its largest job)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class Worker:
    """``fn(*args)`` in a forked child process; ``result()`` waits for it, ``stop()`` kills it.

    The child dies with its parent (``PR_SET_PDEATHSIG``, even when the parent
    is killed with SIGKILL), ignores Ctrl-C (the parent stops it) and takes the
    default action on SIGTERM. Where fork is unavailable, or the child dies
    (e.g. out of memory), ``fn`` runs here instead.

    ``inbox=True``: ``fn`` gets one more argument, ``receive()``, which waits
    for the value the parent passes to ``send`` (sent once, before ``result``).
    ``nice``: the child lowers its own priority by that much, so that it runs
    mostly while the CPUs would otherwise be idle."""

    def __init__(self, fn, *args, name: str = WORKER_NAME, inbox: bool = False, nice: int = 0):
        import multiprocessing
        import os

        self.fn, self.args, self.proc, self.conn, self.inbox = fn, args, None, None, None
        self._sent: list = []
        if inbox:
            self.args = (*args, self._receive_here)
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        self.conn, child_end = ctx.Pipe(duplex=False)
        child_args = args
        if inbox:
            inbox_end, self.inbox = ctx.Pipe(duplex=False)
            child_args = (*args, inbox_end.recv)
        self.proc = ctx.Process(target=_child_main, args=(child_end, os.getpid(), fn, child_args, name, nice),
                                daemon=True)
        self.proc.start()
        child_end.close()
        if inbox:
            inbox_end.close()

    def _receive_here(self):
        if not self._sent:
            raise RuntimeError("Worker.send was not called before the result was needed")
        return self._sent[0]

    def send(self, value) -> None:
        """Give the child (or the run here, if it comes to that) the value its ``receive()`` waits for."""
        self._sent.append(value)
        if self.inbox is not None:
            try:
                self.inbox.send(value)
            except OSError:  # the child is gone: result() runs fn here with the value kept
                pass

    def result(self):
        if self.proc is None:
            return self.fn(*self.args)
        try:
            try:
                ok, value = self.conn.recv()
            except (EOFError, OSError):  # the child died without an answer
                return self.fn(*self.args)
            if not ok:
                raise value
            return value
        finally:
            self.stop()

    def stop(self) -> None:
        """Kill the child if it still runs and reap it (idempotent)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        self.fn = self.args = None
        _end(proc, self.conn)
        if self.inbox is not None:
            self.inbox.close()


def _become_child(parent: int, name: str) -> None:
    """What every forked child does first: ignore Ctrl-C, die with ``parent``, take ``name``."""
    import os

    from compiler import interrupt

    interrupt.quiet_child()
    interrupt.die_with_parent()
    interrupt.name_process(name)
    if os.getppid() != parent:  # the parent died before the lines above
        os._exit(1)


def _child_main(conn, parent: int, fn, args, name: str = WORKER_NAME, nice: int = 0) -> None:
    import os

    _become_child(parent, name)
    if nice:
        os.nice(nice)
    try:
        conn.send((True, fn(*args)))
    except Exception as exc:  # the parent re-raises it
        conn.send((False, exc))
    finally:
        conn.close()


class Pool:
    """Long-lived forked workers that run ``fn(*args)`` for one job after another.

    Forked once, on the first ``run`` with work to do, so each child starts with what the parent
    had loaded by then (``Pool`` is made after WeasyPrint and the fonts are loaded). Jobs go to
    whichever worker is free, in the order given. A worker that dies has its job run here, and the
    others go on; where fork is unavailable every job runs here. Children die with the parent, like
    a ``Worker``'s; ``close()`` ends them (idempotent)."""

    def __init__(self, fn, size: int, name: str = WORKER_NAME):
        self.fn, self.size, self.name = fn, max(1, size), name
        self.children: list[tuple[object, object]] = []  # (process, duplex connection)
        self.started = False

    def _start(self) -> None:
        import gc
        import multiprocessing
        import os

        self.started = True
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        gc.collect()
        gc.freeze()  # what the parent holds now is never scanned by a child's collector: its pages stay shared
        try:
            for _ in range(self.size):
                mine, theirs = ctx.Pipe(duplex=True)
                proc = ctx.Process(target=_pool_child_main, args=(theirs, os.getpid(), self.fn, self.name), daemon=True)
                proc.start()
                theirs.close()
                self.children.append((proc, mine))
        finally:
            gc.unfreeze()

    def run(self, jobs):
        """Yield ``(key, fn(*args))`` for every ``(key, args)`` of ``jobs`` as results come in."""
        from multiprocessing.connection import wait

        todo = list(jobs)
        if todo and not self.started:
            self._start()
        idle = [conn for _, conn in self.children]
        busy: dict[object, tuple] = {}
        while todo or busy:
            while todo and idle:
                key, args = todo.pop(0)
                conn = idle.pop()
                try:
                    conn.send(args)
                except OSError:  # that worker is gone
                    self._drop(conn)
                    todo.insert(0, (key, args))
                    continue
                busy[conn] = (key, args)
            if not busy:  # no worker left (or none could start): the rest runs here
                key, args = todo.pop(0)
                yield key, self.fn(*args)
                continue
            for conn in wait(list(busy)):
                key, args = busy.pop(conn)
                try:
                    ok, value = conn.recv()
                except (EOFError, OSError):  # the worker died with this job: run it here
                    self._drop(conn)
                    yield key, self.fn(*args)
                    continue
                idle.append(conn)
                if not ok:
                    raise value
                yield key, value

    def _drop(self, conn) -> None:
        for n, (proc, mine) in enumerate(self.children):
            if mine is conn:
                del self.children[n]
                _end(proc, mine)
                return

    def close(self) -> None:
        children, self.children = self.children, []
        for proc, conn in children:
            _end(proc, conn)


def _end(proc, conn) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join()
    proc.close()
    conn.close()


def _pool_child_main(conn, parent: int, fn, name: str) -> None:
    import os

    _become_child(parent, name)
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):  # the parent closed the pool
            os._exit(0)
        try:
            reply = (True, fn(*args))
        except Exception as exc:  # the parent re-raises it
            reply = (False, exc)
        conn.send(reply)
