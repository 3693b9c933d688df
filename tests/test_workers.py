"""Process plumbing (compiler.workers): the long-lived pool of the PDF by parts, and a worker's inbox."""

from __future__ import annotations

import os
import time

import pytest

from compiler.workers import Pool, Worker


def _pid_and_square(n: int) -> tuple[int, int]:
    time.sleep(0.02)  # long enough that both workers get jobs
    return os.getpid(), n * n


_seen: list[int] = []  # the jobs run in this process
_left: list[bytes] = []  # what they left behind


def _remember(n: int) -> tuple[int, int, list[int]]:
    _seen.append(n)
    _left.append(bytes(1_000_000))
    return os.getpid(), os.getppid(), [k for k in _seen if k >= 1000]


def test_a_fresh_job_runs_in_a_child_of_its_worker_that_takes_what_the_job_left_with_it():
    pool = Pool(_remember, 1)
    try:
        results = dict(pool.run([(n, (n,)) for n in (1, 2)]))
        results.update(pool.run([(n, (n,)) for n in (1000, 1001)], fresh=True))
        results.update(pool.run([(3, (3,))]))
    finally:
        pool.close()
    worker = results[1][0]
    assert {results[n][0] for n in (1, 2, 3)} == {worker}  # in the worker itself
    assert results[3][2] == []  # which never saw what the fresh jobs left
    for n in (1000, 1001):  # each in a child of the worker, seeing only itself
        pid, parent, seen = results[n]
        assert parent == worker and pid != worker and seen == [n]
        assert not os.path.exists(f"/proc/{pid}")  # ended and reaped


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


def _mark_then_wait(path: str) -> str:
    from pathlib import Path

    Path(path).touch()
    time.sleep(0.3)
    return path


def test_the_parents_own_tasks_run_once_while_the_workers_have_jobs(tmp_path):
    pool = Pool(_mark_then_wait, 1)
    marks = [str(tmp_path / f"{n}") for n in range(2)]
    seen = []

    def meanwhile():  # the first job is out: its worker starts it while the parent is here
        deadline = time.monotonic() + 10
        while not os.path.exists(marks[0]) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((os.path.exists(marks[0]), os.path.exists(marks[1])))

    try:
        tasks = [meanwhile]
        results = [key for key, _ in pool.run([(n, (m,)) for n, m in enumerate(marks)], meanwhile=tasks)]
    finally:
        pool.close()
    assert results == [0, 1] and seen == [(True, False)] and tasks == []


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


def _rss() -> int:
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS")) // 1024


def _grow_then_report(mib: int) -> int:
    """Hold ``mib`` MiB (touched: resident); how much this process grew, in MiB."""
    before = _rss()
    junk = bytearray(mib * 1024 * 1024)
    junk[::4096] = b"x" * len(junk[::4096])
    return _rss() - before


def test_what_a_job_in_a_child_used_is_gone_with_it():
    from compiler.workers import in_child

    before = _rss()
    assert in_child(_grow_then_report, 200) > 150  # the child held it
    assert _rss() - before < 50  # and this process never did
    with pytest.raises(ValueError, match="three"):
        in_child(_fail_on_three, 3)
    assert in_child(_die_in_child_on_two, os.getpid(), 2) == (os.getpid(), 2)  # the child died: run here
