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
from pathlib import Path
from typing import Any, Self, TypeVar

from thresher._version import __version__
from thresher.config import Config
from thresher.core.plan import LshPlan
from thresher.core.rule import MatchRule
from thresher.core.sorting import distinct, stable_argsort
from thresher.errors import ConfigError, InputError
from thresher.executors import Executor, make_executor, thread_pool
from thresher.io.atomic import write_atomically
from thresher.io.hfdisk import finish_saved
from thresher.io.hub import is_hub, local_paths
from thresher.io.records import Fields
from thresher.io.sources import Shard, discover
from thresher.io.warc import WarcOptions
from thresher.io.writers import converted_names
from thresher.pipeline import annotate, articles, chrome, clusters, match, survivor
from thresher.pipeline.outdir import (
    STDIN,
    OutputDir,
    check_apart,
    check_found,
    finished_same,
    identity_of,
    spool_stdin,
)
from thresher.pipeline.output import DecisionsTask, WriteTask, output_task
from thresher.pipeline.pairs import PairsTask
from thresher.pipeline.plan import MatchPlan, match_plan, plan_data
from thresher.pipeline.progress import NullProgress, Progress
from thresher.pipeline.read import ReadTask, fields_of, missing_fields, read_stage_task
from thresher.pipeline.summary import summarize
from thresher.pipeline.workdir import WorkDir, is_url

__all__ = ["match_rule", "run_dedup"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def match_rule(plan: MatchPlan) -> MatchRule:
    """When a verified pair is a match, by the plan: Jaccard, and matching on content
    containment (across sites, within a site, under one title) too."""
    return MatchRule(plan.threshold, plan.containment, plan.min_shared,
                           plan.site_containment, plan.title_containment)


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


@dataclasses.dataclass(frozen=True)
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


def run_dedup(config: Config, *, progress: Progress | None = None,
              index: IndexRun | None = None) -> dict[str, Any]:
    """Run the whole pipeline for ``config``; return the summary (also written to disk).

    With ``index``, documents are also matched against that persistent index, and with
    ``index.mode == "add"`` the kept ones are added to it as one batch.
    """
    if index is None:
        return _run_dedup(config, progress, None, None)
    from thresher.index.store import IndexStore

    store = IndexStore(index.path)
    store.check_config(index_config(config))
    if index.mode == "add":
        with store.writer():
            return _run_dedup(config, progress, store, index)
    return _run_dedup(config, progress, store, index)


def _run_dedup(config: Config, progress: Progress | None, store: Any, index: IndexRun | None
               ) -> dict[str, Any]:
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
        return _claimed_run(config, progress, store, index, shards=shards, outdir=outdir,
                            marker=marker, started=started, digests=digests)
    finally:
        if spool is not None:  # read again by the next run, should this one not finish
            Path(spool).unlink(missing_ok=True)
        outdir.release()


def _claimed_run(config: Config, progress: Progress | None, store: Any, index: IndexRun | None,
                 *, shards: list[Shard], outdir: OutputDir, marker: dict[str, Any] | None,
                 started: float, digests: dict[str, str]) -> dict[str, Any]:
    """Run in an output folder this run holds: finish it, resume it, or start afresh."""
    work_at = config.output.work_dir or outdir.root.absolute() / "_work"
    work = WorkDir(work_at if is_url(work_at) else Path(work_at).absolute())
    fingerprint: dict[str, Any] = {
        "version": __version__, "config": config.results_fingerprint(),
        "inputs": _manifest(shards, digests),
        # the write stage's files are there: another output starts afresh
        "output": str(outdir.root.absolute()),
        "index": None if store is None else [str(store.path), index.mode if index else None,
                                             store.manifest()["segments"]]}
    if store is not None and index is not None and index.mode == "add":
        fingerprint, index = _committed_add(work, store, index, fingerprint)
    identity = {"run": identity_of(_normal(fingerprint)),
                "stable": identity_of(_without_segments(fingerprint)),
                "token": index.token if index is not None and index.mode == "add" else None}
    done = _finished_before(outdir, marker, identity, store)
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
        summary = _run_stages(r, shards, resumed, started, store, index,
                              None if store is None else fingerprint["index"][2])
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
                     identity: dict[str, Any], store: Any) -> dict[str, Any] | None:
    """The summary of the finished run whose outputs are already in the folder, if it
    was this very run (for an ``add``: the same options and inputs, and its batch is in
    the index, whatever has been added since)."""
    if marker is None or not marker.get("finished"):
        return None
    same = finished_same(marker, identity)
    if not same and identity["token"] is not None and marker.get("token"):
        same = (marker.get("stable") == identity["stable"]
                and store.committed(str(marker["token"])) is not None)
    return outdir.summary() if same else None


def _without_segments(fingerprint: dict[str, Any]) -> Any:
    """A fingerprint without the index's segments: the same for an ``add`` before and
    after its batch is committed."""
    return _normal({**fingerprint, "index": (fingerprint.get("index") or [None] * 3)[:2]})


def _normal(data: Any) -> Any:
    """``data`` as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(data, sort_keys=True))


def _committed_add(work: WorkDir, store: Any, ixrun: IndexRun, fingerprint: dict[str, Any]
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
        return identity_of(_normal(fp))

    earlier = work.earlier()
    if earlier is not None and _without_segments(earlier) == _without_segments(fingerprint):
        batch = store.committed(token(earlier))
        if batch is not None:
            return earlier, dataclasses.replace(ixrun, token=token(earlier), committed=batch)
    return fingerprint, dataclasses.replace(ixrun, token=token(fingerprint))


def _run_stages(r: _Runner, shards: list[Shard], resumed: bool, started: float,
                store: Any = None, ixrun: IndexRun | None = None,
                entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    cfg, work = r.config, r.work
    mh = cfg.minhash
    matching = match_plan(cfg)
    plan = matching.lsh
    n = len(shards)
    warc = WarcOptions(id_from=cfg.input.warc_id, extractor=cfg.input.extractor)
    content = cfg.content.match == "content"
    whole = _whole_files(shards)  # the kept files' names are settled before any work
    names = converted_names([s for s, _, _ in whole], cfg.output.format,
                            cfg.content.strip_boilerplate)
    if cfg.output.annotate:
        annotate.check_names([s for s, _, _ in whole])
    survivor.check_inputs(cfg.cluster, [s.kind for s in shards])
    # The index as this run sees it: (name, batch, documents, first number) per segment.
    segs = () if store is None else tuple((s.name, s.batch, s.docs, s.first)
                                          for s in store.segments({"segments": entries}))
    columns = plan.bands * plan.rows  # the signature values the bands use: all that is kept
    reads = [ReadTask(str(work.root), s, r.fields, mh.num_perm, mh.ngram, mh.char_ngram,
                      mh.shingle, mh.seed, warc, blocks=content, columns=columns,
                      sort=survivor.sort_kind(cfg.cluster.keep))
             for s in shards]
    read_stats = r.stage("read", read_stage_task, [(f"{t.shard.index:05d}", t) for t in reads])
    _check_named_fields(read_stats, r.fields)
    annotate.check_marked(read_stats, r.fields)
    if cfg.run.strict:
        _raise_first_rejection(work, n)
    src, content_stats, scope = "read", [], None
    if content:
        src = "content"
        r.stage("articles", articles.article_task, [(f"part-{p:02d}", articles.ArticleTask(
            str(work.root), n, p)) for p in range(articles.PARTS)])
        r.stage("template", chrome.template_task, [(f"part-{p:02d}", chrome.TemplateTask(
            str(work.root), n, p)) for p in range(chrome.PARTITIONS)])
        scope = r.single("groups", lambda: chrome.count_groups(work, n)).get("scope")
        content_stats = r.stage("content", chrome.content_task, [(
            f"{t.shard.index:05d}", chrome.ContentTask(
                t, cfg.content.strip_boilerplate,
                None if store is None else (str(store.path), segs)))
            for t in reads])
    index = r.single("index", lambda: match.build_index(
        work, n, src, threads=min(r.executor.workers, 2), keep=cfg.cluster.keep))
    if cfg.run.strict and index["repeated_ids"]:
        _raise_repeated_id(work, n)
    titles = "title" in matching.extra_bands
    pages = "page" in matching.extra_bands
    rule = match_rule(matching)
    probed: dict[str, Any] = {}
    if store is not None:
        from thresher.index import probe

        groups = probe.probe_groups(match.shard_offsets(work, n), r.executor.workers)
        probe_stats = r.stage("probe", probe.probe_task, [(
            f"{g[0]:05d}-{g[-1]:05d}", probe.ProbeTask(
                str(work.root), n, g, str(store.path), segs, plan.bands, plan.rows,
                columns, titles, rule, src)) for g in groups])
        probed = r.single("probed", lambda: probe.merge_probes(work, n))
        probed["candidates"] = sum(x.get("candidates", 0) for x in probe_stats)
    bands = plan.bands + len(matching.extra_bands)  # the sketches', the titles', the pages'
    parts = match.lsh_parts(index["records"] - index["exact_members"], bands)
    r.stage("keys", match.keys_task, [(f"{s:05d}", match.KeysTask(
        str(work.root), n, s, plan.bands, plan.rows, columns, parts, src, titles, pages))
        for s in range(n)])
    r.stage("lsh", match.band_task, [(f"part-{p:04d}", match.BandTask(
        str(work.root), n, p, bands, mh.max_bucket_pairs, mh.bucket_heads))
        for p in range(parts)])
    n_cand = r.single("merge", lambda: {"candidates": match.merge_candidates(work, parts)})
    chunks = -(-n_cand["candidates"] // match.VERIFY_CHUNK)
    r.stage("verify", match.verify_task, [(f"chunk-{c:05d}", match.VerifyTask(
        str(work.root), n, c, src)) for c in range(chunks)])
    edge_stats = r.stage("edges", match.edge_task, [(f"chunk-{c:05d}", match.EdgeTask(
        str(work.root), n, c, rule, ("probe", "all-doc") if store is not None else None))
        for c in range(chunks)])
    r.single("components", lambda: clusters.component_labels(work, chunks))
    r.stage("buckets", clusters.bucket_task, [(f"bucket-{b:03d}", clusters.BucketTask(
        str(work.root), chunks, b, cfg.cluster.keep != "connected"))
        for b in range(clusters.CLUSTER_BUCKETS)])
    cluster = r.single("cluster", lambda: clusters.cluster_stage(
        work, chunks, old=store is not None, content_of=n if content else 0))
    zero = [0] * match.SIMILARITY_BINS
    cluster = {**cluster, "similarity": {
        key: [sum(c) for c in zip(zero, *(s.get(key, zero) for s in edge_stats), strict=True)]
        for key in ("accepted", "rejected")}}
    offsets = match.shard_offsets(work, n)
    kept_root = str(r.out / "kept")
    labels = (f"word {mh.ngram}-grams", f"character {mh.char_ngram}-grams")
    old = _indexed_refs(work, store) if store is not None else None

    def outputs() -> int:
        """The kept corpus, and decisions.parquet (and the removed blocks) as one more task
        of the same stage, first, so that a worker writes it beside the others; returns
        the kept texts' UTF-8 size."""
        decide = DecisionsTask(
            str(work.root), n, str(r.out / "decisions.parquet"), mh.threshold, labels,
            containment=cfg.content.containment,
            title_containment=cfg.content.title_containment, content=content, old=old,
            boilerplate=str(r.out / "boilerplate.parquet")
            if cfg.content.strip_boilerplate else None,
            headlines=content and cfg.content.titles)
        pairs = [] if store is not None else [("pairs", PairsTask(
            str(work.root), n, chunks, str(r.out / "pairs.parquet"),
            matching.candidate_threshold, content))]  # against an index: no sweep
        tasks: list[tuple[str, WriteTask | DecisionsTask | PairsTask]] = [
            ("decisions", decide), *pairs, *[
            (f"{s.index:05d}", WriteTask(
                str(work.root), s, int(offsets[first]), int(offsets[last + 1]), kept_root,
                cfg.output.format, r.fields,
                tuple(range(first, last + 1)) if cfg.content.strip_boilerplate else (), name))
            for (s, first, last), name in zip(whole, names, strict=True)]]
        os.makedirs(kept_root, exist_ok=True)  # there, empty, when nothing is kept
        done = r.stage("write", output_task, tasks)
        if cfg.output.format == "input":  # a save_to_disk input's kept folder is one too
            finish_saved(shards, kept_root)
        r.timings["decisions"] = float(done[0].get("seconds", 0.0))
        r.cpu["decisions"] = float(done[0].get("cpu", 0.0))
        r.cpu["write"] = round(r.cpu["write"] - r.cpu["decisions"], 3)
        return int(done[0]["kept_bytes"])

    added: dict[str, Any] = {}
    adding = ixrun if store is not None and ixrun is not None and ixrun.mode == "add" else None
    if adding is not None and r.executor.workers > 1 and len(whole) > 1:
        # The segment is written in this process while the workers write the kept corpus
        # and the decisions: neither reads what the other writes. The workers' CPU is
        # counted by their clocks, this process's by its own.
        with thread_pool(1) as side:
            done = side.submit(outputs)
            added = _index_add(r, store, adding, plan, titles, src, n, time.thread_time,
                               threads=2)
            kept_bytes = done.result()
        r.timings["index-add"] = r.timings.pop("index-add")  # listed last, as it ends
        r.cpu["index-add"] = r.cpu.pop("index-add")
    else:
        kept_bytes = outputs()
        if adding is not None:
            added = _index_add(r, store, adding, plan, titles, src, n, time.process_time)
    annotated = _annotate(r, whole, offsets) if cfg.output.annotate else None
    summary = summarize(
        r.out, r.config, plan=plan_data(matching), read_stats=read_stats, cluster=cluster,
        kept_bytes=kept_bytes, content_stats=content_stats, scope=scope,
        run={"output": str(r.out), "executor": r.config.run.executor,
             "inputs": [_absolute(p) for p in r.config.input.paths],
             "workers": r.executor.workers, "resumed": resumed,
             "seconds": round(time.perf_counter() - started, 3),
             "stage_seconds": r.timings, "stage_cpu_seconds": r.cpu})
    if annotated is not None:
        summary["annotated"] = annotated
    if store is not None and ixrun is not None:
        summary["index"] = _index_summary(store, ixrun, probed, added,
                                          sum(int(e["docs"]) for e in entries or ()))
    _write_json(r.out / "summary.json", summary)
    return summary


def _annotate(r: _Runner, whole: list[tuple[Shard, int, int]], offsets: Any
              ) -> dict[str, Any]:
    """Write every record, its decision added, under ``annotated/``; say how many were
    written and how many could not be (see docs/outputs.md)."""
    r.single("sizes", lambda: annotate.cluster_sizes(r.work))
    root = r.out / "annotated"
    root.mkdir(exist_ok=True)
    done = r.stage("annotate", annotate.annotate_task, [(f"{first:05d}", annotate.AnnotateTask(
        str(r.work.root), shard, first, int(offsets[first]), int(offsets[last + 1]),
        int(offsets[-1]), str(root), str(r.out / "decisions.parquet"), r.fields))
        for shard, first, last in whole])
    written = sum(int(d.get("written", 0)) for d in done)
    return {"written": written, "left_out": int(offsets[-1]) - written}


def _indexed_refs(work: WorkDir, store: Any) -> dict[int, tuple[str, int, tuple[int, int]]]:
    """The indexed documents that this run's duplicates point to: number -> (id, batch, span)."""
    import numpy as np
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


def _index_add(r: _Runner, store: Any, ixrun: IndexRun, plan: LshPlan, titles: bool,
               src: str, n: int, clock: Callable[[], float], threads: int = 1
               ) -> dict[str, Any]:
    """Add the kept documents to the index as a new segment; say what was added (with
    ``threads`` > 1, helper threads share the work, and their CPU is counted too)."""
    from thresher.index.probe import commit_run
    from thresher.pipeline.clusters import shard_decisions
    from thresher.pipeline.match import KIND_KEPT

    t0, cpu0 = time.perf_counter(), clock()
    helpers: list[float] = []
    records = int(r.work.load("index", "ok", mmap=True).shape[0])
    decided = shard_decisions(r.work, 0, records)
    kept = decided.kind == KIND_KEPT
    cfg = r.config
    if ixrun.committed is None:
        manifest = commit_run(r.work, store, n, kept, bands=plan.bands, rows=plan.rows,
                              columns=plan.bands * plan.rows, titles=titles, src=src,
                              info={"inputs": [_absolute(p) for p in cfg.input.paths],
                                    "added": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                           time.gmtime())},
                              token=ixrun.token, decided=decided, threads=threads,
                              cpu=helpers)
        batch = int(manifest["next_batch"]) - 1
    else:  # an earlier attempt committed the batch and was killed before its summary
        manifest, batch = store.manifest(), ixrun.committed
    r.timings["index-add"] = round(time.perf_counter() - t0, 3)
    r.cpu["index-add"] = round(clock() - cpu0 + sum(helpers), 3)
    return {"added": int(kept.sum()), "batch": batch, "documents": int(manifest["documents"])}


def _index_summary(store: Any, ixrun: IndexRun, probed: dict[str, Any],
                   added: dict[str, Any], before: int) -> dict[str, Any]:
    """What the index did: what the probe matched and (``add``) what was added."""
    return {"path": str(store.path), "mode": ixrun.mode,
            "matched": probed.get("matched", 0), "exact": probed.get("exact", 0),
            "candidates": probed.get("candidates", 0), "documents_before": before, **added}


def _check_named_fields(read_stats: list[dict[str, Any]], fields: Fields) -> None:
    """Stop where a named id, URL or group field is in no record of a file: every record
    would silently get none (a misspelt name, or one that needs a dotted path)."""
    missing = missing_fields(read_stats, fields)
    if missing is not None:
        path, option, field = missing
        have = ", ".join(fields_of(path)) or "none"
        raise InputError(f"no record has the field {field!r} named by {option} "
                         f"(the records' fields: {have})", path=path)


def _raise_first_rejection(work: WorkDir, n_shards: int) -> None:

    for s in range(n_shards):
        meta = work.read_parquet("read", f"{s:05d}.meta.parquet",
                                 ["file", "line", "reason"]).to_pylist()
        for row in meta:
            if row["reason"] is not None:
                raise InputError(row["reason"], path=row["file"], line=row["line"])


def _raise_repeated_id(work: WorkDir, n_shards: int) -> None:
    import pyarrow as pa

    table = pa.concat_tables([work.read_parquet("read", f"{s:05d}.meta.parquet",
                                                ["id", "file", "line"])
                              for s in range(n_shards)])
    first = int(work.load("index", "repeated")[0])
    row = table.slice(first, 1).to_pylist()[0]
    orig = table.slice(int(work.load("index", "repeated_first")[0]), 1)
    seen = orig.to_pylist()[0]
    raise InputError(f"duplicate id {row['id']!r} (first seen at {seen['file']}:{seen['line']})",
                     path=row["file"], line=row["line"])


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode())
