"""Workers: run one function in a forked child process that dies with the build.

Its one job is the process plumbing shared by the pipeline (the DOCX worker) and the
PDF by parts (``writers.pdf_parts``, a ``Pool`` whose host prepares its workers): fork,
name the child, make it die with its parent, hand the result (or the exception) back
through a pipe, and fall back to running the function here where fork is unavailable
or the child died. A job that leaves much memory behind runs in a child of its own
(``in_child``, or a ``Pool`` run ``fresh``), which takes that memory with it when it exits.
A worker started with an inbox receives one value from its parent while it runs (the DOCX
worker composes the document at once and gets the page numbers when the layout has them).
"""

from __future__ import annotations

from compiler import interrupt

WORKER_NAME = "followup-docx"  # the forked DOCX worker's process name (ps -o comm)
PART_WORKER_NAME = "followup-part"  # a worker laying out one part of the PDF (writers.pdf_parts)
HOST_NAME = "followup-host"  # a pool's host: it prepares, then forks the pool's workers (``Pool``)


class Worker:
    """``fn(*args)`` in a forked child process; ``result()`` waits for it, ``stop()`` kills it.

    The child dies with its parent (``PR_SET_PDEATHSIG``, even when the parent
    is killed with SIGKILL), ignores Ctrl-C (the parent stops it) and takes the
    default action on SIGTERM. Where fork is unavailable, or the child dies
    (e.g. out of memory), ``fn`` runs here instead.

    ``inbox=True``: ``fn`` gets one more argument, ``receive()``, which waits
    for the value the parent passes to ``send`` (sent once, before ``result``)."""

    def __init__(self, fn, *args, name: str = WORKER_NAME, inbox: bool = False):
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
        self.proc = ctx.Process(target=_child_main, args=(child_end, os.getpid(), fn, child_args, name),
                                daemon=True)
        with interrupt.held_for_fork():
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


def _reply(fn, args) -> tuple[bool, object]:
    """``(True, fn(*args))``, or ``(False, exception)`` for the receiver to re-raise."""
    try:
        return True, fn(*args)
    except Exception as exc:
        return False, exc


def _child_main(conn, parent: int, fn, args, name: str = WORKER_NAME) -> None:
    _become_child(parent, name)
    try:
        conn.send((True, fn(*args)))
    except Exception as exc:  # the parent re-raises it
        conn.send((False, exc))
    finally:
        conn.close()


class Pool:
    """Long-lived forked workers that run ``fn(*args)`` for one job after another.

    ``start()`` (or the first ``run`` with work to do) forks one host process at once, which runs
    ``prepare()`` while the parent goes on (``writers.pdf_parts`` loads WeasyPrint and the fonts
    there while the parent reads the sources), then forks the ``size`` workers from itself, so that
    each starts with what the host loaded and shares those pages. The parent talks to each worker
    through its own pipe; jobs go to whichever worker is free, in the order given. A worker that
    dies has its job run here, and the others go on; where fork is unavailable, or the host could
    not prepare, every job runs here. The host dies with the parent and the workers with the host
    (``PR_SET_PDEATHSIG``); ``close()`` ends them all and reaps them (idempotent). The jobs of a run
    ``fresh`` run each in a child of its worker forked for it, which takes the job's memory with it
    (``_pool_child_main``); others run in the worker itself, which keeps what they warmed."""

    def __init__(self, fn, size: int, name: str = WORKER_NAME, prepare=None):
        self.fn, self.size, self.name, self.prepare = fn, max(1, size), name, prepare
        self.children: list = []  # the parent's end of each worker's duplex pipe
        self.host = None
        self.started = False

    def start(self) -> None:
        """Fork the host now (idempotent)."""
        import gc
        import multiprocessing
        import os

        if self.started:
            return
        self.started = True
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        pipes = [ctx.Pipe(duplex=True) for _ in range(self.size)]
        gc.collect()
        gc.freeze()  # what the parent holds now is never scanned by a child's collector: its pages stay shared
        try:
            self.host = ctx.Process(target=_host_main, daemon=True,
                                    args=([theirs for _, theirs in pipes], os.getpid(), self.fn, self.name, self.prepare))
            with interrupt.held_for_fork():
                self.host.start()
        finally:
            gc.unfreeze()
        for mine, theirs in pipes:
            theirs.close()
            self.children.append(mine)

    def run(self, jobs, last=False, meanwhile: list | None = None, fresh: bool = False):
        """Yield ``(key, fn(*args))`` for every ``(key, args)`` of ``jobs`` as results come in.

        ``jobs``, when a list, is the queue itself: jobs are taken from its front, and the caller may
        add to it between results. A worker that brings a result is given its next job before the
        result is handed out. ``last`` (or ``last()``, asked as each worker is done): no job follows
        these; each worker ends as soon as nothing is left for it, so that its memory is given back
        while the others finish (the pool has no worker left after it). ``meanwhile``: the parent's
        own tasks, each run (and taken off the list) as soon as the jobs waiting are out to the
        workers; the caller may add to it between results. ``fresh``: each job in a child of its
        worker forked for it (see the class docstring)."""
        from multiprocessing.connection import wait

        todo = jobs if isinstance(jobs, list) else list(jobs)
        if todo:
            self.start()
        idle = list(self.children)
        busy: dict[object, tuple] = {}
        while todo or busy:
            self._dispatch(todo, idle, busy, fresh)
            while meanwhile:
                meanwhile.pop(0)()
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
                if not todo and (last() if callable(last) else last):
                    self._drop(conn, stop=True)  # nothing left for it
                else:
                    idle.append(conn)
                    self._dispatch(todo, idle, busy, fresh)
                if not ok:
                    raise value
                yield key, value

    def _dispatch(self, todo: list, idle: list, busy: dict, fresh: bool) -> None:
        """Give the idle workers the jobs at the front of ``todo``."""
        while todo and idle:
            key, args = todo.pop(0)
            conn = idle.pop()
            try:
                conn.send((args, fresh))  # waits while the host is still preparing: the worker reads it once forked
            except OSError:  # that worker is gone
                self._drop(conn)
                todo.insert(0, (key, args))
                continue
            busy[conn] = (key, args)

    def _drop(self, conn, stop: bool = False) -> None:
        """Forget a worker; ``stop``: tell it to exit first. (Closing the pipe alone is not enough:
        a process forked from the parent later, like the DOCX worker, holds a copy of its end.)"""
        if conn in self.children:
            self.children.remove(conn)
            if stop:
                try:
                    conn.send(None)
                except OSError:
                    pass
            conn.close()

    def close(self) -> None:
        import signal

        children, self.children = self.children, []
        for conn in children:
            conn.close()  # the host, stopped below, ends its workers
        host, self.host = self.host, None
        if host is None:
            return
        if host.is_alive():
            host.terminate()  # the host kills its workers and reaps them (``_host_main``)
            host.join(10)
        _end(host, None)


def _end(proc, conn) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join()
    proc.close()
    if conn is not None:
        conn.close()


def _host_main(conns, parent: int, fn, name: str, prepare) -> None:
    """The pool's host: prepare, fork one worker per pipe, then wait for them. On SIGTERM it kills
    them first; either way it reaps them all before it exits."""
    import gc
    import os
    import signal

    from compiler import interrupt

    _become_child(parent, HOST_NAME)
    interrupt.adopt_orphans()  # a job's child whose worker was ended is reaped here (``_pool_child_main``)
    if prepare is not None:
        try:
            prepare()
        except Exception:  # the workers' pipes close: the parent runs every job itself
            os._exit(1)
    # The preparation's garbage is young: collecting the two young generations frees nearly all of it
    # (474 of 563 objects after the layouts' preparation) in 0.2 ms, where a full collection walks every
    # object of WeasyPrint (15 ms before the workers can start).
    gc.collect(1)
    gc.freeze()  # the workers share what the host prepared
    host, pids = os.getpid(), []
    for mine in conns:
        with interrupt.held_for_fork():
            pid = os.fork()
        if pid == 0:
            for other in conns:
                if other is not mine:
                    other.close()
            try:
                _pool_child_main(mine, host, fn, name)
            finally:
                os._exit(0)
        pids.append(pid)
    for conn in conns:
        conn.close()

    def stop(signum, frame):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    while True:  # the workers, and any child of theirs they left behind
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
    os._exit(0)


def _pool_child_main(conn, parent: int, fn, name: str) -> None:
    """A pool's worker. A job sent ``fresh`` runs in a child forked for it, which
    sends the reply and exits, so that the job's memory does not outlive it (a large layout leaves
    much of its peak behind in the process that ran it) and the worker stays as it was; a job
    whose child dies ends the worker too, and the parent then runs the job itself. Other jobs run
    here (no fork, and what they warm serves the next)."""
    import os

    _become_child(parent, name)
    worker = os.getpid()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent closed the pool
            os._exit(0)
        if message is None:  # the parent has nothing more for this worker
            os._exit(0)
        args, fresh = message
        if fresh:
            _, status = os.waitpid(_reply_from_child(conn, fn, args, worker, name), 0)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):  # no reply: the parent runs the job
                os._exit(1)
            continue
        conn.send(_reply(fn, args))


def _reply_from_child(conn, fn, args, parent: int, name: str) -> int:
    """Fork a child (named ``name``) that sends ``(True, fn(*args))``, or ``(False, exception)``, on ``conn``
    and exits (status 0 once the reply is sent, else 1); the child's pid."""
    import os

    with interrupt.held_for_fork():
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _become_child(parent, name)
            conn.send(_reply(fn, args))
            code = 0
        finally:
            os._exit(code)
    return pid


def in_child(fn, *args, name: str = WORKER_NAME):
    """``fn(*args)`` in a child forked for it, which exits once it has sent the result: what ``fn`` leaves
    behind (composing or laying out a large document leaves much of its peak in the process that
    did it) goes with the child. Where fork is unavailable, or the child dies without an answer,
    ``fn`` runs here."""
    import multiprocessing
    import os

    if "fork" not in multiprocessing.get_all_start_methods():
        return fn(*args)
    mine, theirs = multiprocessing.get_context("fork").Pipe(duplex=False)
    pid = _reply_from_child(theirs, fn, args, os.getpid(), name)
    theirs.close()
    try:
        ok, value = mine.recv()
    except (EOFError, OSError):  # the child died without an answer
        return fn(*args)
    finally:
        mine.close()
        os.waitpid(pid, 0)
    if not ok:
        raise value
    return value
