"""Executors schedule tasks; they know nothing of what the tasks compute.

An executor has two methods: ``map(fn, tasks, on_done=None)`` returns ``[fn(t) for t in
tasks]`` in task order, and ``close()`` frees its workers. Results never depend on which
executor runs them or with how many workers.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from typing import Protocol, TypeVar

from thresher.errors import ConfigError, WorkerError
from thresher.executors.threads import Threads, thread_pool

__all__ = ["Executor", "LocalExecutor", "SerialExecutor", "Threads", "make_executor",
           "thread_pool"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs a function over tasks and returns the results in task order."""

    workers: int

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], *,
            on_done: Callable[[int], None] | None = None) -> list[R]:
        """Return ``[fn(t) for t in tasks]``; call ``on_done(i)`` as task ``i`` finishes."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


class SerialExecutor:
    """Runs every task in the calling process, one after another (for tests and debugging)."""

    workers = 1

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], *,
            on_done: Callable[[int], None] | None = None) -> list[R]:
        """Run the tasks in order."""
        results: list[R] = []
        for i, task in enumerate(tasks):
            results.append(fn(task))
            if on_done is not None:
                on_done(i)
        return results

    def close(self) -> None:
        """Nothing to release."""


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Pool worker initializer: end this worker when ``parent``, the run, ends however it
    ends (SIGKILL included), so no worker outlives it holding its memory.

    On Linux the kernel sends the worker SIGKILL at once (prctl PR_SET_PDEATHSIG; no
    library serves it, hence ctypes); elsewhere a thread checks the parent every second.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before it could be watched
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _how_it_died(processes: Mapping[int, BaseProcess]) -> str:
    """Say how the worker that broke the pool ended (the pool then terminates the rest)."""
    codes = [p.exitcode for p in processes.values() if p.exitcode]
    code = next((c for c in codes if c != -signal.SIGTERM), codes[0] if codes else None)
    if code is None:
        return "for a reason the pool does not say"
    if code > 0:
        return f"exited with code {code}"
    name = signal.Signals(-code).name if -code in signal.valid_signals() else "?"
    oom = ": out of memory?" if -code == signal.SIGKILL else ""
    return f"killed by signal {-code} ({name}){oom}"


class LocalExecutor:
    """Runs tasks in a pool of worker processes on this machine; the workers die with it."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                             initializer=_die_with_parent,
                                             initargs=(os.getpid(),))
        return self._pool

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], *,
            on_done: Callable[[int], None] | None = None) -> list[R]:
        """Run the tasks in the pool; a single task runs in this process."""
        if len(tasks) <= 1 or self.workers == 1:
            return SerialExecutor().map(fn, tasks, on_done=on_done)
        pool = self._get_pool()
        try:
            return self._map(pool, fn, tasks, on_done=on_done)
        except BrokenProcessPool:
            processes = dict(getattr(pool, "_processes", None) or {})  # shutdown drops them
            self.close()  # waits for the pool to reap its workers: their exit codes are final
            raise WorkerError(f"a worker process died ({_how_it_died(processes)}); rerun the "
                              "same command to resume") from None

    @staticmethod
    def _map(pool: ProcessPoolExecutor, fn: Callable[[T], R], tasks: Sequence[T],
             *, on_done: Callable[[int], None] | None) -> list[R]:
        futures: dict[Future[R], int] = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        results: list[R | None] = [None] * len(tasks)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=futures.__getitem__):
                results[futures[fut]] = fut.result()
                if on_done is not None:
                    on_done(futures[fut])
        return results  # type: ignore[return-value]

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def make_executor(name: str, workers: int = 0, *, address: str | None = None) -> Executor:
    """Return the executor called ``name`` ("serial", "local" or "ray")."""
    if name == "serial":
        return SerialExecutor()
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        from thresher.executors.ray import RayExecutor

        return RayExecutor(workers, address)
    raise ConfigError(f"unknown executor {name!r}: use serial, local or ray")
