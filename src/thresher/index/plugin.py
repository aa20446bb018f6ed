"""The persistent index as an extension of a dedup run.

``thresher.pipeline`` never imports the index: :func:`run` hands
:func:`thresher.pipeline.run.run_dedup` an :class:`IndexExtension`, which adds the probe
stages to the plan (after ``index``), the indexed pages to the site statistics, the
probe's candidate pairs to the edges stage, and, for an ``add``, commits the kept
documents as a new segment while the outputs are written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.config import Config
from thresher.core.sorting import distinct
from thresher.io import remote
from thresher.pipeline.dedup import match_rule
from thresher.pipeline.graph import Context, Results, Stage
from thresher.pipeline.match import KIND_KEPT, shard_offsets
from thresher.pipeline.outdir import identity_of
from thresher.pipeline.progress import Progress
from thresher.pipeline.run import normal, run_dedup, stable_fingerprint
from thresher.pipeline.stages.cluster import shard_decisions
from thresher.pipeline.workdir import WorkDir

__all__ = ["IndexExtension", "IndexRun", "index_config", "run"]

Entries = tuple[tuple[str, int, int, int], ...]  # (name, batch, documents, first) a segment


@dataclasses.dataclass(frozen=True, kw_only=True)
class IndexRun:
    """Run against a persistent index: ``add`` (then add the kept documents) or ``query``."""

    path: str
    mode: str  # "add" or "query"
    # Filled in by the run: the token an ``add`` commits its batch under, and the batch
    # when an earlier attempt of this very run committed it before it could finish.
    token: str = ""
    committed: int | None = None


def index_config(config: Config) -> dict[str, Any]:
    """The options an index is built with: those that shape matching."""
    content = dataclasses.asdict(config.content)
    content.pop("strip_boilerplate")
    return {"minhash": dataclasses.asdict(config.minhash), "content": content}


def run(config: Config, ixrun: IndexRun, progress: Progress | None = None) -> dict[str, Any]:
    """Run the pipeline for ``config`` against the index ``ixrun`` names."""
    from thresher.index.store import IndexStore

    store = IndexStore(ixrun.path)
    store.check_config(index_config(config))
    if ixrun.mode == "add":
        with store.writer():
            return run_dedup(config, progress=progress, extension=IndexExtension(store, ixrun))
    return run_dedup(config, progress=progress, extension=IndexExtension(store, ixrun))


@dataclasses.dataclass(frozen=True, kw_only=True)
class IndexSites:
    """Wraps a run's site statistics in ones that count the indexed batches' pages too:
    a new crawl of a site is weighed against every page of it seen before."""

    path: str
    entries: Entries

    def __call__(self, tables: Any) -> _WithIndex:
        return _WithIndex(tables, self.path, self.entries)


class _WithIndex:
    """The run's site statistics plus those of the indexed batches: a new crawl of a site
    is weighed against every page of it seen before."""

    def __init__(self, run: Any, path: str, entries: Entries) -> None:
        from thresher.index.segment import open_segments

        self.run = run
        self.segments = open_segments(path, entries)

    def __call__(self, keys: NDArray[np.uint64], ghash: NDArray[np.uint64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        from thresher.index.segment import site_stats

        counts, pages = self.run(keys, ghash)
        more, more_pages = site_stats(self.segments, keys, ghash)
        return counts + more, pages + more_pages


class IndexExtension:
    """What a run against the index adds to the plan (see ``thresher.pipeline.graph``)."""

    def __init__(self, store: Any, ixrun: IndexRun) -> None:
        self.store = store
        self.ixrun = ixrun
        self.entries: list[dict[str, Any]] = store.manifest()["segments"]
        self.work: WorkDir | None = None
        self.shipped: str | None = None

    def fingerprint(self) -> Any:
        return [str(self.store.path), self.ixrun.mode, self.entries]

    def begin(self, work: WorkDir, fingerprint: dict[str, Any]) -> dict[str, Any]:
        self.work = work
        if self.ixrun.mode != "add":
            return fingerprint
        fingerprint, self.ixrun = _committed_add(work, self.store, self.ixrun,
                                                 fingerprint=fingerprint)
        self.entries = fingerprint["index"][2]
        return fingerprint

    @property
    def token(self) -> str | None:
        return self.ixrun.token if self.ixrun.mode == "add" else None

    def finished(self, token: str) -> bool:
        return self.store.committed(token) is not None

    def _segments(self) -> Entries:
        """The index as this run sees it: (name, batch, documents, first) per segment."""
        return tuple((s.name, s.batch, s.docs, s.first)
                     for s in self.store.segments({"segments": self.entries}))

    def _source(self) -> str:
        """Where the workers read the segments: the index folder, or (a work folder at a
        URL, whose nodes need not mount the index) the work folder's copy of them."""
        if self.shipped is None:
            from thresher.index.shipped import ship

            self.shipped = (str(self.store.path) if self.work is None
                            else ship(self.store.path, self._segments(), self.work))
        return self.shipped

    def site_stats(self) -> Callable[[Any], Any] | None:
        return IndexSites(path=self._source(), entries=self._segments())

    def stages(self, ctx: Context) -> list[Stage]:
        from thresher.index import probe

        plan, n, root = ctx.matching.lsh, ctx.n, str(ctx.work.root)
        columns = plan.bands * plan.rows
        titles = "title" in ctx.matching.extra_bands
        rule = match_rule(ctx.matching)
        segs = self._segments()

        def tasks(_: Results) -> list[tuple[str, Any]]:
            groups = probe.probe_groups(shard_offsets(ctx.work, n), ctx.workers)
            return [(f"{g[0]:05d}-{g[-1]:05d}", probe.ProbeTask(
                work=root, n_shards=n, shards=g, index=self._source(), segments=segs,
                bands=plan.bands, rows=plan.rows, columns=columns, titles=titles, rule=rule,
                src=ctx.src)) for g in groups]

        return [Stage(name="probe", task=probe.probe_task, counts=probe.ProbeCounts,
                      inputs=(ctx.src, "index"), tasks=tasks),
                Stage(name="probed", scope="global", inputs=("probe",),
                      counts=probe.ProbedCounts, task=lambda _: probe.merge_probes(ctx.work, n))]

    def edge_sources(self) -> tuple[str, str] | None:
        return ("probe", "all-doc")

    def refs(self, work: WorkDir) -> dict[int, tuple[str, int, tuple[int, int]]]:
        return _indexed_refs(work, self.store)

    def beside_name(self) -> str | None:
        return "index-add" if self.ixrun.mode == "add" else None

    def beside_write(self, ctx: Context, clock: Callable[[], float], threads: int
                     ) -> tuple[dict[str, Any], float, float]:
        return _index_add(ctx, self.store, self.ixrun, clock=clock, threads=threads)

    def summary(self, done: Results, extra: dict[str, Any]) -> dict[str, Any]:
        """What the index did: what the probe matched and (``add``) what was added."""
        from thresher.index.probe import ProbeCounts, ProbedCounts

        probed = ProbedCounts.of(done["probed"])
        return {"path": str(self.store.path), "mode": self.ixrun.mode,
                "matched": probed.matched, "exact": probed.exact,
                "candidates": ProbeCounts.total(done["probe"]).candidates,
                "documents_before": sum(int(e["docs"]) for e in self.entries), **extra}


def _committed_add(work: WorkDir, store: Any, ixrun: IndexRun, *, fingerprint: dict[str, Any]
                   ) -> tuple[dict[str, Any], IndexRun]:
    """Give an ``add`` its commit token; notice an earlier attempt that already committed.

    The token is a hash of the run's fingerprint as the run began, index segments
    included. An attempt killed after its batch was listed but before it wrote its
    summary left a work folder whose fingerprint names the index as it was then; if the
    index lists a batch under that fingerprint's token, this run is that run, resumed:
    it keeps the earlier fingerprint (the stages' work stays valid) and does not add the
    batch twice.
    """
    def token(fp: dict[str, Any]) -> str:
        return identity_of(normal(fp))

    earlier = work.earlier()
    if earlier is not None and stable_fingerprint(earlier) == stable_fingerprint(fingerprint):
        batch = store.committed(token(earlier))
        if batch is not None:
            return earlier, dataclasses.replace(ixrun, token=token(earlier), committed=batch)
    return fingerprint, dataclasses.replace(ixrun, token=token(fingerprint))


def _indexed_refs(work: WorkDir, store: Any) -> dict[int, tuple[str, int, tuple[int, int]]]:
    """The indexed documents that this run's duplicates point to: number -> (id, batch, span)."""
    import pyarrow as pa

    records = int(work.load("index", "ok", mmap=True).shape[0])
    reps = work.load("cluster", "dup_rep")
    refs = distinct(reps[reps >= records]) - records
    out: dict[int, tuple[str, int, tuple[int, int]]] = {}
    for seg in store.segments():
        mine = refs[(refs >= seg.first) & (refs < seg.first + seg.docs)] - seg.first
        if not mine.shape[0]:
            continue
        ids = seg.table(["id"])["id"].take(pa.array(mine)).to_pylist()
        spans = np.asarray(seg.array("span")[mine])
        batches = seg.batch_of(mine).tolist()
        for local, i, span, batch in zip(mine.tolist(), ids, spans.tolist(), batches,
                                         strict=True):
            out[records + seg.first + local] = (i, batch, (span[0], span[1]))
    return out


def _index_add(ctx: Context, store: Any, ixrun: IndexRun, *, clock: Callable[[], float],
               threads: int = 1) -> tuple[dict[str, Any], float, float]:
    """Add the kept documents to the index as a new segment; say what was added, in
    how many seconds and CPU seconds (with ``threads`` > 1, helper threads share the
    work, and their CPU is counted too)."""
    from thresher.index.commit import commit_run

    plan, work, n = ctx.matching.lsh, ctx.work, ctx.n
    titles = "title" in ctx.matching.extra_bands
    t0, cpu0 = time.perf_counter(), clock()
    helpers: list[float] = []
    records = int(work.load("index", "ok", mmap=True).shape[0])
    decided = shard_decisions(work, 0, records)
    kept = decided.kind == KIND_KEPT
    if ixrun.committed is None:
        manifest = commit_run(work, store, n, kept=kept, bands=plan.bands, rows=plan.rows,
                              columns=plan.bands * plan.rows, titles=titles, src=ctx.src,
                              info={"inputs": [_absolute(p) for p in ctx.config.input.paths],
                                    "added": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                           time.gmtime())},
                              token=ixrun.token, decided=decided, threads=threads,
                              cpu=helpers)
        batch = int(manifest["next_batch"]) - 1
    else:  # an earlier attempt committed the batch and was killed before its summary
        manifest, batch = store.manifest(), ixrun.committed
    wall = round(time.perf_counter() - t0, 3)
    cpu = round(clock() - cpu0 + sum(helpers), 3)
    return ({"added": int(kept.sum()), "batch": batch,
             "documents": int(manifest["documents"])}, wall, cpu)


def _absolute(path: str) -> str:
    """An input as the summary names it: its absolute path (``-`` for standard input)."""
    return path if path == "-" or remote.is_remote(path) else str(Path(path).absolute())
