"""The stage registry and the plan's parts: what a stage is, and the names of stages and
of the work-folder files they write.

A run is a list of :class:`Stage` values walked in order by one runner (``run.py``),
which owns completion markers, resume, progress and timing. A stage is either run as
one task per input shard (``"shard"``), as one task per partition of its data
(``"part"``), or once in the run's own process (``"global"``). An extension (the
persistent index, :class:`Extension`) adds stages of its own to the plan; the pipeline
never imports it.

Every stage's name and the label its progress bar shows are listed once, in
:data:`STAGES`; the progress display and the work folder take their names from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

from thresher.pipeline.counts import Counts

__all__ = ["LABELS", "STAGES", "Context", "Extension", "Results", "Stage", "artifact",
           "numbered", "shard_key"]

# Every stage a run may run, in the order it runs them, with its progress label. The
# work folder has one folder per stage, deleted by these names when a run is discarded.
STAGES: dict[str, str] = {
    "read": "Reading and sketching",
    "articles": "Finding articles",
    "template": "Counting site blocks",
    "groups": "Counting site pages",
    "content": "Finding content",
    "index": "Indexing",
    "probe": "Looking up the index",
    "probed": "Gathering index matches",
    "keys": "Band keys",
    "lsh": "LSH buckets",
    "merge": "Merging candidates",
    "verify": "Verifying candidates",
    "edges": "Matching pairs",
    "components": "Finding components",
    "buckets": "Clustering components",
    "cluster": "Collecting clusters",
    "write": "Writing kept corpus",
    "sizes": "Counting cluster sizes",
    "annotate": "Writing annotated records",
}
LABELS = STAGES  # the progress bars' labels, by stage name

Scope = Literal["shard", "part", "global"]

# What the stages run so far returned, by name: a global stage's counts, another's list
# of its tasks' counts, in task order. ``Kind.total`` and ``Kind.of`` read them typed.
Results = dict[str, Counts | list[Counts]]


def shard_key(shard: int) -> str:
    """A per-shard task's key, and the stem of the files it writes: ``00042``."""
    return f"{shard:05d}"


def artifact(shard: int, suffix: str) -> str:
    """The name of a shard's work file: ``artifact(42, "meta.parquet")`` is
    ``00042.meta.parquet``."""
    return f"{shard_key(shard)}.{suffix}"


def numbered(kind: str, number: int) -> str:
    """The name of a numbered task or work file: ``numbered("chunk", 7)`` is
    ``chunk-00007``."""
    return f"{kind}-{number:05d}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stage:
    """One stage of the plan.

    ``tasks`` gives, from what the stages before it returned (by name, in ``done``), the
    stage's tasks as ``(key, task)`` pairs; ``task`` runs one of them and returns its
    statistics, of the kind ``counts`` (which reads its completion markers back). A
    ``"global"`` stage has no tasks: ``task`` is called once, with ``done``, in the run's
    own process. ``inputs`` names the stages whose work files it reads: the runner
    refuses to run it before they ran (it writes the work folder of its own name).
    """

    name: str
    task: Callable[[Any], Counts]
    counts: type[Counts]
    tasks: Callable[[Results], Sequence[tuple[str, Any]]] | None = None
    scope: Scope = "shard"
    inputs: tuple[str, ...] = ()
    when: bool = True  # whether this run runs it
    # Called with the stage's results before the next stage runs: raises to stop the run.
    check: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        if self.name not in STAGES:
            raise ValueError(f"stage {self.name!r} is not in the registry; add it to "
                             "thresher.pipeline.graph.STAGES")
        if unknown := [i for i in self.inputs if i not in STAGES]:
            raise ValueError(f"stage {self.name!r} reads {unknown}, which are not stages")
        if (self.scope == "global") != (self.tasks is None):
            raise ValueError(f"stage {self.name!r}: a global stage has no task list, "
                             "any other has one")

    @property
    def label(self) -> str:
        """What its progress bar says."""
        return STAGES[self.name]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What the stages of one run are declared from: the options, the work folder, the
    input shards and what was settled before the first stage ran."""

    config: Any  # thresher.config.Config
    work: Any  # thresher.pipeline.workdir.WorkDir
    shards: Sequence[Any]  # thresher.io.sources.Shard, by number
    matching: Any  # thresher.pipeline.plan.MatchPlan
    reads: Sequence[Any]  # the read stage's tasks, one per shard
    fields: Any  # thresher.io.records.Fields: which record fields are read
    workers: int  # the executor's processes
    src: str  # the stage whose sketches are matched: "read" or "content"

    @property
    def n(self) -> int:
        """How many shards the inputs were cut into."""
        return len(self.shards)


class Extension(Protocol):
    """What an optional subsystem (the persistent index) adds to a run.

    The pipeline calls these hooks and never imports the subsystem: the caller of
    ``run_dedup`` passes an object that has them. See ``index/plugin.py``.
    """

    def fingerprint(self) -> Any:
        """What of the extension's state makes the run's results: part of its identity."""

    def begin(self, work: Any, fingerprint: dict[str, Any]) -> dict[str, Any]:
        """The run's fingerprint, as the extension takes it up (an ``add`` that an
        earlier attempt committed keeps that attempt's)."""

    @property
    def token(self) -> str | None:
        """A token the finished run is known by to the extension, if any."""

    def finished(self, token: str) -> bool:
        """Whether the run known by ``token`` finished its part in the extension."""

    def site_stats(self) -> Callable[[Any], Any] | None:
        """Picklable; wraps the run's site statistics (``tables(keys, ghash)``) in ones
        that count the extension's pages too."""

    def stages(self, ctx: Context) -> list[Stage]:
        """Stages run after the ``index`` stage (their results are there by name)."""

    def edge_sources(self) -> tuple[str, str] | None:
        """Extra candidate pairs for the edges stage: (stage, artifact)."""

    def refs(self, work: Any) -> dict[int, tuple[str, int, tuple[int, int]]]:
        """The extension's documents that this run's duplicates point to."""

    def beside_write(self, ctx: Context, clock: Callable[[], float], threads: int
                     ) -> tuple[dict[str, Any], float, float]:
        """Work done in the run's process while (or after) the outputs are written;
        returns what it did, its wall seconds and CPU seconds."""

    def beside_name(self) -> str | None:
        """The name ``beside_write``'s seconds are listed under among the stages'
        (``None``: it does no work)."""

    def summary(self, done: Results, extra: dict[str, Any]) -> dict[str, Any]:
        """The extension's section of the summary."""
