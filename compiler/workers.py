"""Workers: run one function in a forked child process that dies with the build.

Its one job is the process plumbing shared by the pipeline (the DOCX worker) and the
PDF by parts (``writers.pdf_parts``): fork, name the child, make it die with its parent,
hand the result (or the exception) back through a pipe, and fall back to running the
function here where fork is unavailable or the child died.
"""

from __future__ import annotations

WORKER_NAME = "followup-docx"  # the forked DOCX worker's process name (ps -o comm)
PART_WORKER_NAME = "followup-part"  # a worker laying out one part of the PDF (writers.pdf_parts)


class Worker:
    """``fn(*args)`` in a forked child process; ``result()`` waits for it, ``stop()`` kills it.

    The child dies with its parent (``PR_SET_PDEATHSIG``, even when the parent
    is killed with SIGKILL), ignores Ctrl-C (the parent stops it) and takes the
    default action on SIGTERM. Where fork is unavailable, or the child dies
    (e.g. out of memory), ``fn`` runs here instead."""

    def __init__(self, fn, *args, name: str = WORKER_NAME):
        import multiprocessing
        import os

        self.fn, self.args, self.proc, self.conn = fn, args, None, None
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        self.conn, child_end = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child_main, args=(child_end, os.getpid(), fn, args, name), daemon=True)
        self.proc.start()
        child_end.close()

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
        if proc.is_alive():
            proc.kill()
        proc.join()
        proc.close()
        self.conn.close()


def _child_main(conn, parent: int, fn, args, name: str = WORKER_NAME) -> None:
    import os

    from compiler import interrupt

    interrupt.quiet_child()
    interrupt.die_with_parent()
    interrupt.name_process(name)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    try:
        conn.send((True, fn(*args)))
    except Exception as exc:  # the parent re-raises it
        conn.send((False, exc))
    finally:
        conn.close()
