"""Threads inside one task: the one place thresher starts a pool of threads.

Executors spread tasks over processes; a task may also overlap its own work on a few
threads, where that work lets go of the GIL (numpy's and Arrow's sorts, the compiled
loops, file writes and ``fsync``). Such a pool runs a function now when it has no
threads, and counts the CPU its threads spend (the caller's own is counted by its clock).
Threads that are not pools (a progress ticker, a page-cache warmer, a parent watcher)
are started where they run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

__all__ = ["Threads", "thread_pool"]


class Threads(Executor):
    """Runs a function now (no threads) or on a thread of a pool of ``n``, and counts the
    CPU that its threads spend."""

    def __init__(self, n: int) -> None:
        self.pool = ThreadPoolExecutor(n, thread_name_prefix="thresher") if n > 0 else None
        self.cpu = 0.0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.pool is None:
            done: Future[Any] = Future()
            done.set_result(fn(*args, **kwargs))
            return done
        return self.pool.submit(self._timed, fn, *args, **kwargs)

    def _timed(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self.cpu += time.thread_time() - t

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait, cancel_futures=cancel_futures)

    @property
    def threaded(self) -> Threads | None:
        """This, when it has threads; else None."""
        return self if self.pool is not None else None


def thread_pool(n: int) -> Threads:
    """Return a pool of ``n`` threads (none: each function runs when submitted); use it as
    a context manager, or call ``shutdown``.

    Examples:
        >>> with thread_pool(1) as pool:
        ...     pool.submit(sum, [1, 2]).result()
        3
    """
    return Threads(n)
