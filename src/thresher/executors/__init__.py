"""Executors schedule tasks; they know nothing of what the tasks compute.

An executor has two methods: ``map(fn, tasks, on_done=None)`` returns ``[fn(t) for t in
tasks]`` in task order, and ``close()`` frees its workers. Results never depend on which
executor runs them or with how many workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Protocol, TypeVar

from thresher.errors import ConfigError

__all__ = ["Executor", "LocalExecutor", "SerialExecutor", "make_executor"]

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


class LocalExecutor:
    """Runs tasks in a pool of worker processes on this machine."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], *,
            on_done: Callable[[int], None] | None = None) -> list[R]:
        """Run the tasks in the pool; a single task runs in this process."""
        if len(tasks) <= 1 or self.workers == 1:
            return SerialExecutor().map(fn, tasks, on_done=on_done)
        pool = self._get_pool()
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
