"""Process plumbing (compiler.workers): the long-lived pool of the PDF by parts, and a worker's inbox."""

from __future__ import annotations

import os
import time

import pytest

from compiler.workers import Pool, Worker


def _pid_and_square(n: int) -> tuple[int, int]:
    time.sleep(0.02)  # long enough that both workers get jobs
    return os.getpid(), n * n


def test_a_pool_runs_every_job_in_few_long_lived_children():
    pool = Pool(_pid_and_square, 2)
    try:
        results = dict(pool.run([(n, (n,)) for n in range(12)]))
        again = dict(pool.run([(n, (n,)) for n in range(12, 16)]))
    finally:
        pool.close()
    assert {n: square for n, (_, square) in results.items()} == {n: n * n for n in range(12)}
    pids = {pid for pid, _ in results.values()}
    assert len(pids) == 2 and os.getpid() not in pids  # two children, each taking several jobs
    assert {pid for pid, _ in again.values()} <= pids  # the same children serve the next run


def test_jobs_added_to_the_queue_while_results_come_in_are_run_before_those_waiting():
    """The queue is the caller's list: what is put at its front between results is taken next."""
    pool = Pool(_pid_and_square, 1)
    queue = [(n, (n,)) for n in range(4)]
    order = []
    try:
        for key, (_, square) in pool.run(queue):
            order.append(key)
            assert square == key * key
            if key == 0:
                queue.insert(0, (100, (100,)))
    finally:
        pool.close()
    # job 1 went to the worker before job 0's result was handed out; the added job comes next
    assert order == [0, 1, 100, 2, 3]


def _fail_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


def test_an_error_in_a_job_reaches_the_parent():
    pool = Pool(_fail_on_three, 2)
    try:
        with pytest.raises(ValueError, match="three"):
            dict(pool.run([(n, (n,)) for n in range(6)]))
    finally:
        pool.close()


def _die_in_child_on_two(parent: int, n: int) -> tuple[int, int]:
    if n == 2 and os.getpid() != parent:
        os._exit(9)  # the worker dies (as if killed for memory) in the middle of its job
    return os.getpid(), n


def test_a_job_whose_worker_dies_runs_in_the_parent_and_the_others_go_on():
    parent = os.getpid()
    pool = Pool(_die_in_child_on_two, 2)
    try:
        results = dict(pool.run([(n, (parent, n)) for n in range(8)]))
        assert len(pool.children) == 1
    finally:
        pool.close()
    assert {n: value for n, (_, value) in results.items()} == {n: n for n in range(8)}
    assert results[2][0] == parent
    assert any(pid != parent for pid, _ in results.values())


def test_closing_a_pool_ends_its_children():
    pool = Pool(_pid_and_square, 2)
    pids = {pid for pid, _ in dict(pool.run([(n, (n,)) for n in range(4)])).values()}
    pool.close()
    pool.close()  # idempotent
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: no zombie, no orphan
        assert not os.path.exists(f"/proc/{pid}")


_prepared_by: int | None = None  # set by ``_prepare`` in the pool's host


def _prepare(signal_file: str) -> None:
    """Record the host's pid, after waiting (at most 30 s) for the parent to create ``signal_file``."""
    global _prepared_by
    deadline = time.monotonic() + 30
    while not os.path.exists(signal_file) and time.monotonic() < deadline:
        time.sleep(0.01)
    _prepared_by = os.getpid() if os.path.exists(signal_file) else -1


def _prepared_and_pid(n: int) -> tuple[int | None, int]:
    time.sleep(0.02)
    return _prepared_by, os.getpid()


def test_workers_start_with_what_their_host_prepared_while_the_parent_went_on(tmp_path):
    import functools

    signal_file = tmp_path / "parent-went-on"
    pool = Pool(_prepared_and_pid, 2, prepare=functools.partial(_prepare, str(signal_file)))
    try:
        pool.start()
        signal_file.touch()  # only reached if start() did not wait for the host to prepare
        results = dict(pool.run([(n, (n,)) for n in range(6)]))
    finally:
        pool.close()
    hosts = {host for host, _ in results.values()}
    workers = {pid for _, pid in results.values()}
    assert len(hosts) == 1 and hosts.pop() not in (None, -1, os.getpid())  # one host, which saw the parent go on
    assert len(workers) == 2 and os.getpid() not in workers
    assert _prepared_by is None  # the parent prepared nothing


def _cannot_prepare() -> None:
    raise RuntimeError("no fonts")


def test_when_the_host_cannot_prepare_every_job_runs_in_the_parent():
    pool = Pool(_pid_and_square, 2, prepare=_cannot_prepare)
    try:
        results = dict(pool.run([(n, (n,)) for n in range(4)]))
    finally:
        pool.close()
    assert {n: square for n, (_, square) in results.items()} == {n: n * n for n in range(4)}
    assert {pid for pid, _ in results.values()} == {os.getpid()}


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # exited, not yet reaped
    except FileNotFoundError:
        return True


def test_in_a_last_run_a_worker_with_nothing_left_ends_while_the_others_work():
    """Even with a process forked later holding copies of the pipes (as the DOCX worker does)."""
    pool = Pool(_pid_after, 2)
    pool.start()
    bystander = Worker(time.sleep, 5)  # forked after the pool: it holds the parent's ends of its pipes
    try:
        results = pool.run([("slow", (3.0,)), ("quick", (0.0,))], last=True)
        key, quick = next(results)
        assert key == "quick"
        deadline = time.monotonic() + 2.5  # well before the slow job ends
        while not _gone(quick) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _gone(quick)
        key, slow = next(results)
        assert key == "slow" and slow != quick
    finally:
        pool.close()
        bystander.stop()


def _compose_then_wait(prefix: str, receive) -> str:
    composed = f"{prefix}:{os.getpid()}"  # done before the value arrives
    return f"{composed}:{receive()}"


def test_a_worker_with_an_inbox_gets_its_value_while_it_runs():
    worker = Worker(_compose_then_wait, "doc", inbox=True)
    try:
        worker.send({"a": 1})
        prefix, pid, value = worker.result().split(":", 2)
    finally:
        worker.stop()
    assert prefix == "doc" and int(pid) != os.getpid() and value == "{'a': 1}"


def _die_before_receiving(parent: int, receive) -> str:
    if os.getpid() != parent:
        os._exit(9)
    return f"here:{receive()}"


def test_an_inbox_worker_that_dies_is_run_here_with_the_value_sent():
    worker = Worker(_die_before_receiving, os.getpid(), inbox=True)
    worker.send(7)
    assert worker.result() == "here:7"


_MEMORY_PROBE = """
import gc, sys
from compiler.workers import release_memory
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) // 1024
gc.disable()  # the garbage below is only freed by a collection, as a long-lived worker's would be
before = rss()
junk = []
for n in range(300_000):
    node = [n, str(n) * 8]
    node.append(node)  # a cycle: refcounting alone never frees it
    junk.append(node)
del junk, node
held = rss()
release_memory()
print(before, held, rss())
"""


def test_release_memory_gives_cyclic_garbage_back_to_the_system():
    import subprocess
    import sys

    from tests.helpers import ROOT

    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    before, held, after = map(int, out.stdout.split())
    assert held - before > 50  # MiB of garbage held
    assert after - before < (held - before) / 3
