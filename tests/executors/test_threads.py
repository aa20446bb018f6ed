"""The one thread pool helper: inline without threads, on its threads with them."""

from __future__ import annotations

import threading

from thresher.executors import thread_pool


def test_without_threads_each_function_runs_when_submitted() -> None:
    ran: list[str] = []
    with thread_pool(0) as pool:
        done = pool.submit(lambda: ran.append(threading.current_thread().name) or 7)
        assert ran == [threading.current_thread().name]  # before result() is asked
        assert done.result() == 7
        assert pool.threaded is None


def test_with_threads_functions_run_on_them_and_their_cpu_is_counted() -> None:
    with thread_pool(2) as pool:
        names = [pool.submit(lambda: threading.current_thread().name) for _ in range(4)]
        assert pool.threaded is pool
        busy = pool.submit(lambda: sum(i * i for i in range(200_000)))
        assert busy.result() > 0
    assert all(f.result().startswith("thresher") for f in names)
    assert pool.cpu > 0
