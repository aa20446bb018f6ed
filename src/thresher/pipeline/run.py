"""Run the dedup pipeline: read -> index -> lsh -> verify -> cluster -> write.

Each stage skips the tasks whose completion marker exists, so a run killed at any point
and started again with the same options and inputs resumes where it stopped and ends
with byte-identical outputs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

from thresher._version import __version__
from thresher.config import Config
from thresher.core.sorting import stable_argsort
from thresher.errors import ConfigError
from thresher.executors import Executor, make_executor
from thresher.io.atomic import write_atomically
from thresher.io.hfdisk import finish_saved
from thresher.io.hub import is_hub, local_paths
from thresher.io.records import Fields
from thresher.io.sources import Shard, discover
from thresher.io.warc import WarcOptions
from thresher.io.writers import converted_names
from thresher.pipeline import match, survivor
from thresher.pipeline.dedup import chunks, dedup_plan, match_rule
from thresher.pipeline.graph import Context, Extension, Stage, shard_key
from thresher.pipeline.outdir import (
    STDIN,
    OutputDir,
    check_apart,
    check_found,
    finished_same,
    identity_of,
    spool_stdin,
)
from thresher.pipeline.plan import match_plan, plan_data
from thresher.pipeline.progress import NullProgress, Progress
from thresher.pipeline.read import ReadTask
from thresher.pipeline.stages import annotate
from thresher.pipeline.stages.pairs import PairsTask
from thresher.pipeline.stages.write import DecisionsTask, WriteTask, output_task
from thresher.pipeline.summary import summarize
from thresher.pipeline.workdir import WorkDir, is_url

__all__ = ["match_rule", "normal", "run_dedup", "stable_fingerprint"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _absolute(path: str) -> str:
    """An input as the summary names it: its absolute path (``-`` for standard input)."""
    return path if path == "-" else str(Path(path).absolute())


def _manifest(shards: Sequence[Shard], digests: dict[str, str]) -> list[list[Any]]:
    """Each input file's path, size and modification time (standard input: ``-``, its
    size and its SHA-256, in ``digests`` by the file it was spooled to)."""
    out: list[list[Any]] = []
    for shard in shards:
        for path in shard.files:
            st = os.stat(path)
            if path in digests:
                out.append(["-", st.st_size, digests[path]])
            else:
                out.append([os.path.abspath(path), st.st_size, st.st_mtime_ns])
    return out


def _whole_files(shards: Sequence[Shard]) -> list[tuple[Shard, int, int]]:
    """Merge the byte-range shards of one file back into one: ``(shard, first, last)``."""
    out: list[tuple[Shard, int, int]] = []
    for s in shards:
        if out and not s.whole and s.start > 0 and out[-1][0].files == s.files:
            out[-1] = (out[-1][0], out[-1][1], s.index)
        else:
            whole = dataclasses.replace(s, start=0, stop=None, first_line=1)
            out.append((whole, s.index, s.index))
    return out


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


@dataclasses.dataclass(frozen=True)
class _Timed:
    """A stage's task function that also returns the CPU seconds its process spent on the
    task: a stage's wall time includes waiting (on the disk, on other workers), this not."""

    fn: Callable[[Any], dict[str, Any]]

    def __call__(self, task: Any) -> tuple[dict[str, Any], float]:
        start = time.process_time()
        stats = self.fn(task)
        return stats, time.process_time() - start


def _load_compiled_runtime() -> None:
    """Load numba's runtime (slow on a process's first compiled call) here, before
    worker processes are forked from this one: they inherit it loaded."""
    import numpy as np

    stable_argsort(np.zeros(1, dtype=np.uint64))


class _Runner:
    """Runs the stages of one dedup, skipping finished tasks."""

    def __init__(self, config: Config, progress: Progress, work: WorkDir) -> None:
        self.config = config
        self.progress = progress
        self.out = Path(config.output.directory).absolute()  # tasks may run elsewhere
        self.work = work
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds per stage, over all its processes
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

    def run(self, stage: Stage, done: dict[str, Any]) -> Any:
        """Run one stage of the plan (given the results of those before it, by name);
        return its results: a global stage's statistics, another's per task."""
        if stage.tasks is None:
            stats: Any = self.single(stage.name, lambda: stage.task(done))
        else:
            stats = self.stage(stage.name, stage.task, stage.tasks(done))
        if stage.check is not None:
            stage.check(stats)
        return stats

    def stage(self, name: str, fn: Callable[[T], dict[str, Any]], tasks: Sequence[tuple[str, T]]
              ) -> list[dict[str, Any]]:
        """Run the unfinished tasks of a stage; return every task's statistics in order."""
        start = time.perf_counter()
        todo = [(i, t) for i, (key, t) in enumerate(tasks) if self.work.done(name, key) is None]
        self.progress.start(name, len(tasks))
        self.progress.advance(name, len(tasks) - len(todo))
        with _Poller(lambda: self._note(name, start)):
            ran = self.executor.map(_Timed(fn), [t for _, t in todo],
                                    on_done=lambda _i: self.progress.advance(name))
        self.cpu[name] = round(sum(cpu for _, cpu in ran), 3)
        self._note(name, start)
        stats = [self.work.done(name, key) or {} for key, _ in tasks]
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

    def single(self, name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a one-task stage in this process unless it already finished."""
        start, cpu = time.perf_counter(), time.process_time()
        self.progress.start(name, 1)
        stats = self.work.done(name, name)
        if stats is None:
            stats = fn()
            self.work.mark_done(name, name, stats)
        self.progress.advance(name)
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.cpu[name] = round(time.process_time() - cpu, 3)
        self.progress.finish(name, self.timings[name])
        return stats


def run_dedup(config: Config, *, progress: Progress | None = None,
              extension: Extension | None = None) -> dict[str, Any]:
    """Run the whole pipeline for ``config``; return the summary (also written to disk).

    With ``extension`` (``thresher.index`` passes one), the run also does what it adds:
    matching against a persistent index, and adding the kept documents to it.
    """
    started = time.perf_counter()
    if any(is_hub(p) for p in config.input.paths):  # read from their local copies
        config = dataclasses.replace(config, input=dataclasses.replace(
            config.input, paths=local_paths(config.input.paths)))
    out = Path(config.output.directory)
    check_apart(config.input.paths, output=out, work=config.output.work_dir)
    spool = str(out.absolute() / STDIN) if "-" in config.input.paths else None
    shards = discover(config.input.paths, txt_per_shard=config.input.txt_files_per_shard,
                      skip=(str(out), config.output.work_dir or str(out)),
                      split_bytes=config.input.split_bytes, stdin=spool)
    check_found([f for s in shards for f in s.files if f != spool], output=out,
                work=config.output.work_dir)  # links found inside the inputs
    outdir = OutputDir(out)
    marker = outdir.claim()
    try:
        digests = {} if spool is None else {spool: spool_stdin(outdir.root)}
        return _claimed_run(config, progress, extension, shards=shards, outdir=outdir,
                            marker=marker, started=started, digests=digests)
    finally:
        if spool is not None:  # read again by the next run, should this one not finish
            Path(spool).unlink(missing_ok=True)
        outdir.release()


def _claimed_run(config: Config, progress: Progress | None, extension: Extension | None, *,
                 shards: list[Shard], outdir: OutputDir, marker: dict[str, Any] | None,
                 started: float, digests: dict[str, str]) -> dict[str, Any]:
    """Run in an output folder this run holds: finish it, resume it, or start afresh."""
    work_at = config.output.work_dir or outdir.root.absolute() / "_work"
    work = WorkDir(work_at if is_url(work_at) else Path(work_at).absolute())
    fingerprint: dict[str, Any] = {
        "version": __version__, "config": config.results_fingerprint(),
        "inputs": _manifest(shards, digests),
        # the write stage's files are there: another output starts afresh
        "output": str(outdir.root.absolute()),
        "index": None if extension is None else extension.fingerprint()}
    if extension is not None:
        fingerprint = extension.begin(work, fingerprint)
    identity = {"run": identity_of(normal(fingerprint)),
                "stable": identity_of(stable_fingerprint(fingerprint)),
                "token": None if extension is None else extension.token}
    done = _finished_before(outdir, marker, identity, extension)
    if done is not None:
        _remove_work(config, work)  # what a run killed while it cleaned up left behind
        return {**done, "up_to_date": True}
    # The same run whose summary went missing after it finished resumes; another is
    # refused, or replaces the outputs with --overwrite.
    other = marker is not None and marker.get("finished") and not finished_same(marker,
                                                                                identity)
    if other and not config.output.overwrite:
        raise ConfigError(f"output folder {outdir.root} holds the finished outputs of a run "
                          "with other options or inputs; pass --overwrite to replace them, "
                          "or choose another folder")
    resumed = work.prepare(fingerprint)
    outdir.begin(identity, fresh=not resumed)  # an earlier run's outputs would mix in
    r = _Runner(config, progress or NullProgress(), work)
    try:
        summary = _run_stages(r, shards, resumed=resumed, started=started,
                              extension=extension)
    finally:
        r.executor.close()
    outdir.finish(identity)
    _remove_work(config, work)
    return summary


def _remove_work(config: Config, work: WorkDir) -> None:
    """Remove the work folder after a finished run, unless the user named or kept it."""
    if not config.output.keep_work and config.output.work_dir is None:
        work.remove()


def _finished_before(outdir: OutputDir, marker: dict[str, Any] | None,
                     identity: dict[str, Any], extension: Extension | None
                     ) -> dict[str, Any] | None:
    """The summary of the finished run whose outputs are already in the folder, if it
    was this very run (for an index ``add``: the same options and inputs, and its batch
    is in the index, whatever has been added since)."""
    if marker is None or not marker.get("finished"):
        return None
    same = finished_same(marker, identity)
    if (not same and identity["token"] is not None and marker.get("token")
            and extension is not None):
        same = (marker.get("stable") == identity["stable"]
                and extension.finished(str(marker["token"])))
    return outdir.summary() if same else None


def stable_fingerprint(fingerprint: dict[str, Any]) -> Any:
    """A fingerprint without the extension's changing part (the index's segments): the
    same for an ``add`` before and after its batch is committed."""
    return normal({**fingerprint, "index": (fingerprint.get("index") or [None] * 3)[:2]})


def normal(data: Any) -> Any:
    """``data`` as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(data, sort_keys=True))


def _run_stages(r: _Runner, shards: list[Shard], *, resumed: bool, started: float,
                extension: Extension | None) -> dict[str, Any]:
    """Walk the plan, write the outputs, and write and return the summary."""
    cfg = r.config
    matching = match_plan(cfg)
    mh, plan = cfg.minhash, matching.lsh
    whole = _whole_files(shards)  # the kept files' names are settled before any work
    names = converted_names([s for s, _, _ in whole], cfg.output.format,
                            cfg.content.strip_boilerplate)
    if cfg.output.annotate:
        annotate.check_names([s for s, _, _ in whole])
    survivor.check_inputs(cfg.cluster, [s.kind for s in shards])
    warc = WarcOptions(id_from=cfg.input.warc_id, extractor=cfg.input.extractor)
    content = cfg.content.match == "content"
    columns = plan.bands * plan.rows  # the signature values the bands use: all that is kept
    reads = [ReadTask(work=str(r.work.root), shard=s, fields=r.fields, num_perm=mh.num_perm,
                      ngram=mh.ngram, char_ngram=mh.char_ngram, shingle=mh.shingle,
                      seed=mh.seed, warc=warc, blocks=content, columns=columns,
                      sort=survivor.sort_kind(cfg.cluster.keep))
             for s in shards]
    ctx = Context(config=cfg, work=r.work, shards=shards, matching=matching, reads=reads,
                  fields=r.fields, workers=r.executor.workers,
                  src="content" if content else "read")
    done: dict[str, Any] = {}
    for stage in dedup_plan(ctx, extension):
        if stage.when:
            done[stage.name] = r.run(stage, done)
    edge_stats = done["edges"]
    zero = [0] * match.SIMILARITY_BINS
    cluster = {**done["cluster"], "similarity": {
        key: [sum(c) for c in zip(zero, *(s.get(key, zero) for s in edge_stats), strict=True)]
        for key in ("accepted", "rejected")}}
    offsets = match.shard_offsets(r.work, ctx.n)
    kept_bytes, extra = _write_beside(r, ctx, extension, lambda: _outputs(
        r, ctx, extension, done, whole=whole, names=names, offsets=offsets))
    annotated = _annotate(r, whole, offsets) if cfg.output.annotate else None
    summary = summarize(
        r.out, r.config, plan=plan_data(matching), read_stats=done["read"], cluster=cluster,
        kept_bytes=kept_bytes, content_stats=done.get("content", []),
        run={"output": str(r.out), "executor": r.config.run.executor,
             "inputs": [_absolute(p) for p in r.config.input.paths],
             "workers": r.executor.workers, "resumed": resumed,
             "seconds": round(time.perf_counter() - started, 3),
             "stage_seconds": r.timings, "stage_cpu_seconds": r.cpu})
    if annotated is not None:
        summary["annotated"] = annotated
    if extension is not None:
        summary["index"] = extension.summary(done, extra)
    _write_json(r.out / "summary.json", summary)
    return summary


def _write_beside(r: _Runner, ctx: Context, extension: Extension | None,
                  outputs: Callable[[], int]) -> tuple[int, dict[str, Any]]:
    """Write the outputs, and do the extension's work beside them (an index ``add``:
    commit the batch); return the kept texts' UTF-8 size and what the extension did."""
    extra: dict[str, Any] = {}
    beside = extension is not None and extension.writes_beside()
    if beside and extension is not None and r.executor.workers > 1 and len(
            _whole_files(ctx.shards)) > 1:
        # The extension writes in this process while the workers write the kept corpus
        # and the decisions: neither reads what the other writes. The workers' CPU is
        # counted by their clocks, this process's by its own.
        with ThreadPoolExecutor(1) as side:
            running = side.submit(outputs)
            extra, wall, cpu = extension.beside_write(ctx, time.thread_time, 2)
            kept_bytes = running.result()
        r.timings["index-add"], r.cpu["index-add"] = wall, cpu  # listed last, as it ends
    else:
        kept_bytes = outputs()
        if beside and extension is not None:
            extra, wall, cpu = extension.beside_write(ctx, time.process_time, 1)
            r.timings["index-add"], r.cpu["index-add"] = wall, cpu
    return kept_bytes, extra


def _outputs(r: _Runner, ctx: Context, extension: Extension | None, done: dict[str, Any], *,
             whole: list[tuple[Shard, int, int]], names: list[str | None], offsets: Any
             ) -> int:
    """The kept corpus, and decisions.parquet (and the removed blocks) as one more task
    of the same stage, first, so that a worker writes it beside the others; returns
    the kept texts' UTF-8 size."""
    cfg, work, n = r.config, r.work, ctx.n
    mh, content = cfg.minhash, ctx.src == "content"
    kept_root = str(r.out / "kept")
    labels = (f"word {mh.ngram}-grams", f"character {mh.char_ngram}-grams")
    decide = DecisionsTask(
        work=str(work.root), n_shards=n, target=str(r.out / "decisions.parquet"),
        threshold=mh.threshold, labels=labels,
        containment=cfg.content.containment,
        title_containment=cfg.content.title_containment, content=content,
        old=None if extension is None else extension.refs(work),
        boilerplate=str(r.out / "boilerplate.parquet")
        if cfg.content.strip_boilerplate else None,
        headlines=content and cfg.content.titles)
    pairs = [] if extension is not None else [("pairs", PairsTask(
        work=str(work.root), n_shards=n, chunks=chunks(done),
        target=str(r.out / "pairs.parquet"), low=ctx.matching.candidate_threshold,
        content=content))]  # against an index: no sweep
    tasks: list[tuple[str, WriteTask | DecisionsTask | PairsTask]] = [
        ("decisions", decide), *pairs, *[
        (shard_key(s.index), WriteTask(
            work=str(work.root), shard=s, start=int(offsets[first]),
            stop=int(offsets[last + 1]), root=kept_root, fmt=cfg.output.format, fields=r.fields,
            clean=tuple(range(first, last + 1)) if cfg.content.strip_boilerplate else (),
            name=name))
        for (s, first, last), name in zip(whole, names, strict=True)]]
    os.makedirs(kept_root, exist_ok=True)  # there, empty, when nothing is kept
    written = r.stage("write", output_task, tasks)
    if cfg.output.format == "input":  # a save_to_disk input's kept folder is one too
        finish_saved(list(ctx.shards), kept_root)
    r.timings["decisions"] = float(written[0].get("seconds", 0.0))
    r.cpu["decisions"] = float(written[0].get("cpu", 0.0))
    r.cpu["write"] = round(r.cpu["write"] - r.cpu["decisions"], 3)
    return int(written[0]["kept_bytes"])


def _annotate(r: _Runner, whole: list[tuple[Shard, int, int]], offsets: Any
              ) -> dict[str, Any]:
    """Write every record, its decision added, under ``annotated/``; say how many were
    written and how many could not be (see docs/outputs.md)."""
    r.single("sizes", lambda: annotate.cluster_sizes(r.work))
    root = r.out / "annotated"
    root.mkdir(exist_ok=True)
    done = r.stage("annotate", annotate.annotate_task, [(shard_key(first), annotate.AnnotateTask(
        work=str(r.work.root), shard=shard, first=first, start=int(offsets[first]),
        stop=int(offsets[last + 1]), records=int(offsets[-1]), root=str(root),
        decisions=str(r.out / "decisions.parquet"), fields=r.fields))
        for shard, first, last in whole])
    written = sum(int(d.get("written", 0)) for d in done)
    return {"written": written, "left_out": int(offsets[-1]) - written}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode())
