"""Run tasks as Ray tasks, on a local Ray instance or a cluster (``pip install 'thresher[ray]'``).

Tasks read and write the work folder, so every node must see it: at the same path (a
shared file system) or at an fsspec URL. Results come back in task order, so outputs
are byte-identical to the serial and local executors'.

A task whose worker process or node dies is run again (``RETRIES`` times), on whatever
node is left or joins: stage tasks write under temporary names and rename, and one whose
completion marker exists returns what it recorded, so a second run of a task changes no
byte. An error the task itself raises is not retried: it would only fail again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from thresher.errors import ConfigError, ThresherError, WorkerError

__all__ = ["RETRIES", "RayExecutor"]

RETRIES = 5  # runs of a task after its worker or node died, before the run stops

T = TypeVar("T")
R = TypeVar("R")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'thresher[ray]'") from None
    return ray


def _call(fn: Callable[[Any], Any], task: Any) -> Any:
    return fn(task)


def _result(ray: Any, ref: Any) -> Any:
    """Return a task's result; a thresher error raised in the task is raised as itself,
    a task lost with every retry (its nodes died) as a :class:`WorkerError`."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, ThresherError):
            raise exc.cause from None
        raise
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
            ray.exceptions.ObjectLostError) as exc:
        raise WorkerError(f"a Ray task was lost {RETRIES + 1} times ({type(exc).__name__}); "
                          "rerun the same command to resume") from exc


class RayExecutor:
    """Submits each task as a Ray task; starts a local Ray instance if none is running."""

    def __init__(self, workers: int = 0, address: str | None = None) -> None:
        ray = _ray()
        self._owns = not ray.is_initialized()
        if self._owns:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            # No address: a new local instance, as documented, even where a cluster started
            # with `ray start` is running here (ray.init would join it, and refuse num_cpus).
            options["address"] = address or "local"
            if not address and workers:
                options["num_cpus"] = workers
            ray.init(**options)
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        # Lost to a dead worker or node: run again (Ray's own retry); failed by raising:
        # not (retry_exceptions), the error is the task's.
        self._remote = ray.remote(max_retries=RETRIES, retry_exceptions=False)(_call)

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], *,
            on_done: Callable[[int], None] | None = None) -> list[R]:
        """Run the tasks as Ray tasks; return their results in task order."""
        ray = _ray()
        refs = [self._remote.remote(fn, task) for task in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                results[index[ref]] = _result(ray, ref)
                if on_done is not None:
                    on_done(index[ref])
        return results

    def close(self) -> None:
        """Shut down the Ray instance this executor started (not one it joined)."""
        if self._owns:
            _ray().shutdown()
            self._owns = False
