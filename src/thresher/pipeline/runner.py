"""The runner: runs a plan's stages on an executor, skipping the tasks whose completion
marker exists, and keeps each stage's progress, wall and CPU seconds. A stage runs only
after the stages it reads (its ``inputs``)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

from thresher.config import Config
from thresher.core.sorting import stable_argsort
from thresher.errors import StageError
from thresher.executors import Executor, make_executor
from thresher.io.records import Fields
from thresher.io.remote import is_remote
from thresher.pipeline.counts import Counts
from thresher.pipeline.graph import Results, Stage
from thresher.pipeline.progress import Progress
from thresher.pipeline.workdir import WorkDir

__all__ = ["Runner"]

log = logging.getLogger(__name__)


class _Poller:
    """Calls a function every half second in a thread while a stage runs."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(0.5):
            self.fn()

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Timed:
    """A stage's task function that also returns the CPU seconds its process spent on the
    task: a stage's wall time includes waiting (on the disk, on other workers), this not.

    A task whose completion marker exists returns the statistics it recorded: an executor
    that runs a task again (Ray, after the node that ran it died before its result came
    back) gets them without redoing work whose inputs the first attempt may have deleted.
    """

    fn: Callable[[Any], Counts]
    kind: type[Counts]  # what the task returns, and its marker holds
    work: str  # the work folder, a path or URL
    stage: str

    def __call__(self, keyed: tuple[str, Any]) -> tuple[Counts, float]:
        key, task = keyed
        start = time.process_time()
        work = WorkDir(self.work)
        work.mark_attempt(self.stage, key)
        stats = work.done(self.stage, key, self.kind)
        if stats is None:
            stats = self.fn(task)
        return stats, time.process_time() - start


def _load_compiled_runtime() -> None:
    """Load numba's runtime (slow on a process's first compiled call) here, before
    worker processes are forked from this one: they inherit it loaded."""
    import numpy as np

    stable_argsort(np.zeros(1, dtype=np.uint64))


class Runner:
    """Runs the stages of one dedup, skipping finished tasks."""

    def __init__(self, config: Config, progress: Progress, work: WorkDir) -> None:
        self.config = config
        self.progress = progress
        directory = config.output.directory  # absolute: tasks may run elsewhere
        self.out = directory if is_remote(directory) else str(Path(directory).absolute())
        self.work = work
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds per stage, over all its processes
        self.ran: list[str] = []  # the stages run (or found finished), in order
        self.reruns: dict[str, int] = {}  # per stage, the tasks run again (where any)
        self.executor: Executor = make_executor(config.run.executor, config.run.workers,
                                                address=config.run.ray_address)
        _load_compiled_runtime()
        self.fields = Fields(id=config.input.id_field, text=config.input.text_field,
                             url=config.input.url_field, max_bytes=config.input.max_doc_bytes,
                             group=config.content.group_by,
                             mark=config.output.annotate_field if config.output.annotate
                             else None, key=config.cluster.field,
                             key_option="--date-field" if config.cluster.date_field
                             else "--keep")

    def run(self, stage: Stage, done: Results) -> Counts | list[Counts]:
        """Run one stage of the plan (given the results of those before it, by name);
        return its results: a global stage's statistics, another's per task."""
        if missing := [i for i in stage.inputs if i not in self.ran]:
            raise StageError(f"stage {stage.name!r} reads the work files of {missing}, "
                             "which this run has not run: the plan lists it too early")
        stats: Counts | list[Counts]
        if stage.tasks is None:
            stats = self._single(stage, lambda: stage.task(done))
        else:
            stats = self._map(stage, stage.tasks(done))
        if stage.check is not None:
            stage.check(stats)
        self.ran.append(stage.name)
        return stats

    def _map(self, stage: Stage, tasks: Sequence[tuple[str, Any]]) -> list[Counts]:
        """Run the unfinished tasks of a stage; return every task's statistics in order."""
        name, kind = stage.name, stage.counts
        start = time.perf_counter()
        todo = [(i, t) for i, (key, t) in enumerate(tasks)
                if self.work.done(name, key, kind) is None]
        self.progress.start(name, len(tasks))
        self.progress.advance(name, len(tasks) - len(todo))
        with _Poller(lambda: self._note(name, start)):
            ran = self.executor.map(_Timed(fn=stage.task, kind=kind, work=str(self.work.root),
                                           stage=name),
                                    [(tasks[i][0], t) for i, t in todo],
                                    on_done=lambda _i: self.progress.advance(name))
        self.cpu[name] = round(sum(cpu for _, cpu in ran), 3)
        if todo and (reruns := self.work.reruns(name)):
            self.reruns[name] = reruns
        self._note(name, start)
        stats: list[Counts] = [self.work.done(name, key, kind) or kind() for key, _ in tasks]
        self.timings[name] = round(time.perf_counter() - start, 3)
        log.info("stage %s: %d tasks (%d reused) in %.2f s", name, len(tasks),
                 len(tasks) - len(todo), self.timings[name])
        self.progress.finish(name, self.timings[name])
        return stats

    def _note(self, name: str, start: float) -> None:
        done = self.work.progress_total(name)
        if done:
            rate = done / max(time.perf_counter() - start, 1e-9)
            self.progress.note(name, f"{done:,} records, {rate:,.0f}/s")

    def _single(self, stage: Stage, fn: Callable[[], Counts]) -> Counts:
        """Run a one-task stage in this process unless it already finished."""
        name = stage.name
        start, cpu = time.perf_counter(), time.process_time()
        self.progress.start(name, 1)
        stats = self.work.done(name, name, stage.counts)
        if stats is None:
            stats = fn()
            self.work.mark_done(name, name, stats)
        self.progress.advance(name)
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.cpu[name] = round(time.process_time() - cpu, 3)
        self.progress.finish(name, self.timings[name])
        return stats
