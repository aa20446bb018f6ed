"""Run the dedup pipeline: walk the plan (``dedup.py``: read -> index -> lsh -> verify ->
cluster), then write.

One runner (:class:`~thresher.pipeline.runner.Runner`) runs every stage: it owns
completion markers, resume, progress and timing. An extension (the persistent index,
``index/plugin.py``) adds its stages and hooks (see
:class:`~thresher.pipeline.graph.Extension`); this module never imports it.

Each stage skips the tasks whose completion marker exists, so a run killed at any point
and started again with the same options and inputs resumes where it stopped and ends
with byte-identical outputs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from thresher._version import __version__
from thresher.config import Config
from thresher.errors import ConfigError
from thresher.executors import thread_pool
from thresher.io import remote
from thresher.io.atomic import write_atomically
from thresher.io.hfdisk import finish_saved
from thresher.io.hub import is_hub, local_paths
from thresher.io.listing import expand
from thresher.io.sources import Shard, discover
from thresher.io.warc import WarcOptions
from thresher.io.writers import converted_names
from thresher.pipeline import match, survivor
from thresher.pipeline.counts import (
    AnnotateCounts,
    ClusterCounts,
    ContentCounts,
    EdgeCounts,
    GroupCounts,
    ReadCounts,
    SizeCounts,
    WriteCounts,
)
from thresher.pipeline.dedup import chunks, dedup_plan, match_rule
from thresher.pipeline.graph import Context, Extension, Results, Stage, shard_key
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
from thresher.pipeline.remote_out import RemoteOutputDir, check_apart_remote
from thresher.pipeline.runner import Runner
from thresher.pipeline.stages import annotate
from thresher.pipeline.stages.pairs import PairsTask
from thresher.pipeline.stages.write import DecisionsTask, WriteTask, output_task
from thresher.pipeline.summary import summarize
from thresher.pipeline.workdir import WorkDir, is_url

__all__ = ["match_rule", "normal", "run_dedup", "stable_fingerprint"]

log = logging.getLogger(__name__)

def _absolute(path: str) -> str:
    """An input as the summary names it: its absolute path (``-`` for standard input, a
    URL as given, a listing ``@`` and its own path)."""
    if path == "-" or remote.is_remote(path):
        return path
    if path.startswith("@"):
        return "@" + _absolute(path[1:])
    return str(Path(path).absolute())


def _manifest(shards: Sequence[Shard], digests: dict[str, str]) -> list[list[Any]]:
    """Each input file's path, size and modification time (standard input: ``-``, its
    size and its SHA-256, in ``digests`` by the file it was spooled to; an object at a
    URL: its URL, size and ETag or modification time)."""
    out: list[list[Any]] = []
    for shard in shards:
        for path in shard.files:
            if remote.is_remote(path):
                out.append([path, *remote.info(path)])
                continue
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


def run_dedup(config: Config, *, progress: Progress | None = None,
              extension: Extension | None = None) -> dict[str, Any]:
    """Run the whole pipeline for ``config``; return the summary (also written to disk).

    With ``extension`` (the persistent index passes one), the run also does what it adds:
    matching against a persistent index, and adding the kept documents to it.
    """
    started = time.perf_counter()
    if any(is_hub(p) for p in config.input.paths):  # read from their local copies
        config = dataclasses.replace(config, input=dataclasses.replace(
            config.input, paths=local_paths(config.input.paths)))
    at_url = remote.is_remote(config.output.directory)
    out = Path(config.output.directory)
    work_dir = config.output.work_dir
    check_apart_remote(config.input.paths, output=config.output.directory, work=work_dir)
    if at_url and "-" in config.input.paths:
        raise ConfigError("input - (standard input) needs a local output folder")
    if not at_url:
        check_apart(config.input.paths, output=out, work=work_dir)
    spool = str(out.absolute() / STDIN) if "-" in config.input.paths else None
    found = {p: f for p in config.input.paths if (f := expand(p)) is not None}
    local = [p for p in (config.output.directory, work_dir or config.output.directory)
             if not remote.is_remote(p)]
    shards = discover(config.input.paths, txt_per_shard=config.input.txt_files_per_shard,
                      skip=tuple(local), split_bytes=config.input.split_bytes, stdin=spool,
                      found=found)
    check_found([f for s in shards for f in s.files  # links found inside the inputs
                 if f != spool and not remote.is_remote(f)], output=out, work=work_dir)
    _refuse_early(config, shards, at_url=at_url)
    outdir: OutputDir | RemoteOutputDir = (RemoteOutputDir(config.output.directory)
                                           if at_url else OutputDir(out))
    marker = outdir.claim()
    try:
        digests = {} if spool is None else {spool: spool_stdin(out)}
        return _claimed_run(config, progress, extension, shards=shards, outdir=outdir,
                            marker=marker, started=started, digests=digests)
    finally:
        if spool is not None:  # read again by the next run, should this one not finish
            Path(spool).unlink(missing_ok=True)
        outdir.release()


def _refuse_early(config: Config, shards: Sequence[Shard], *, at_url: bool) -> None:
    """Refuse options the listed inputs cannot serve before the output folder or the work
    folder is made, so that such an error leaves nothing behind."""
    whole = [s for s, _, _ in _whole_files(shards)]
    converted_names(whole, config.output.format, config.content.strip_boilerplate)
    if config.output.annotate:
        annotate.check_names(whole)
    if at_url and config.output.format == "input" and any(s.dataset for s in shards):
        raise ConfigError("a save_to_disk input's kept folder is written to local folders "
                          "only: pass --output-format parquet for an output at a URL")
    survivor.check_inputs(config.cluster, [s.kind for s in shards])


def _claimed_run(config: Config, progress: Progress | None, extension: Extension | None, *,
                 shards: list[Shard], outdir: OutputDir | RemoteOutputDir,
                 marker: dict[str, Any] | None,
                 started: float, digests: dict[str, str]) -> dict[str, Any]:
    """Run in an output folder this run holds: finish it, resume it, or start afresh."""
    root = _root(outdir)
    work_at = config.output.work_dir or remote.join(root, "_work")
    work = WorkDir(work_at if is_url(work_at) else Path(work_at).absolute())
    fingerprint: dict[str, Any] = {
        "version": __version__, "config": config.results_fingerprint(),
        "inputs": _manifest(shards, digests),
        # the write stage's files are there: another output starts afresh
        "output": root,
        "index": None if extension is None else extension.fingerprint()}
    if extension is not None:
        fingerprint = extension.begin(work, fingerprint)
    identity = {"run": identity_of(normal(fingerprint)),
                "stable": identity_of(stable_fingerprint(fingerprint)),
                "token": None if extension is None else extension.token}
    done = _finished_before(outdir, marker, identity, extension=extension)
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
    r = Runner(config, progress or NullProgress(), work)
    try:
        summary = _run_stages(r, shards, resumed=resumed, started=started,
                              extension=extension)
    finally:
        r.executor.close()
    outdir.finish(identity)
    _remove_work(config, work)
    return summary


def _root(outdir: OutputDir | RemoteOutputDir) -> str:
    """The output folder as the fingerprint and summary name it: absolute, or a URL."""
    return outdir.root if isinstance(outdir.root, str) else str(outdir.root.absolute())


def _remove_work(config: Config, work: WorkDir) -> None:
    """Remove the work folder after a finished run, unless the user named or kept it."""
    if not config.output.keep_work and config.output.work_dir is None:
        work.remove()


def _finished_before(outdir: OutputDir | RemoteOutputDir, marker: dict[str, Any] | None,
                     identity: dict[str, Any], *, extension: Extension | None
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


def _run_stages(r: Runner, shards: list[Shard], *, resumed: bool, started: float,
                extension: Extension | None) -> dict[str, Any]:
    """Walk the plan, write the outputs, and write and return the summary."""
    cfg = r.config
    matching = match_plan(cfg)
    mh, plan = cfg.minhash, matching.lsh
    whole = _whole_files(shards)  # the kept files' names are settled before any work
    names = converted_names([s for s, _, _ in whole], cfg.output.format,
                            cfg.content.strip_boilerplate)
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
    done: Results = {}
    for stage in dedup_plan(ctx, extension):
        if stage.when:
            done[stage.name] = r.run(stage, done)
    zero = (0,) * match.SIMILARITY_BINS  # the bins, when no chunk was verified
    edges = EdgeCounts(accepted=zero, rejected=zero) + EdgeCounts.total(done["edges"])
    offsets = match.shard_offsets(r.work, ctx.n)
    kept_bytes, extra = _write_beside(r, ctx, extension, outputs=lambda: _outputs(
        r, ctx, extension, done=done, whole=whole, names=names, offsets=offsets))
    annotated = _annotate(r, whole, offsets) if cfg.output.annotate else None
    content_stats = done.get("content") or []
    summary = summarize(
        r.out, r.config, plan=plan_data(matching), read=ReadCounts.total(done["read"]),
        cluster=ClusterCounts.of(done["cluster"]), edges=edges, kept_bytes=kept_bytes,
        content=ContentCounts.total(content_stats) if content_stats else None,
        scope=GroupCounts.of(done["groups"]).scope if "groups" in done else None,
        run={"output": str(r.out), "executor": r.config.run.executor,
             "inputs": [_absolute(p) for p in r.config.input.paths],
             "workers": r.executor.workers, "resumed": resumed,
             "seconds": round(time.perf_counter() - started, 3),
             "stage_seconds": r.timings, "stage_cpu_seconds": r.cpu, "reruns": r.reruns})
    if annotated is not None:
        summary["annotated"] = annotated
    if extension is not None:
        summary["index"] = extension.summary(done, extra)
    _write_json(remote.join(r.out, "summary.json"), summary)
    return summary


def _write_beside(r: Runner, ctx: Context, extension: Extension | None,
                  *, outputs: Callable[[], int]) -> tuple[int, dict[str, Any]]:
    """Write the outputs, and do the extension's work beside them (an index ``add``:
    commit the batch); return the kept texts' UTF-8 size and what the extension did."""
    name = None if extension is None else extension.beside_name()
    if extension is None or name is None:
        return outputs(), {}
    if r.executor.workers > 1 and len(_whole_files(ctx.shards)) > 1:
        # The extension writes in this process while the workers write the kept corpus
        # and the decisions: neither reads what the other writes. The workers' CPU is
        # counted by their clocks, this process's by its own.
        with thread_pool(1) as side:
            running = side.submit(outputs)
            extra, wall, cpu = extension.beside_write(ctx, time.thread_time, 2)
            kept_bytes = running.result()
    else:
        kept_bytes = outputs()
        extra, wall, cpu = extension.beside_write(ctx, time.process_time, 1)
    r.timings[name], r.cpu[name] = wall, cpu  # listed last, as it ends
    return kept_bytes, extra


def _outputs(r: Runner, ctx: Context, extension: Extension | None, *, done: Results,
             whole: list[tuple[Shard, int, int]], names: list[str | None], offsets: Any
             ) -> int:
    """The kept corpus, and decisions.parquet (and the removed blocks) as one more task
    of the same stage, first, so that a worker writes it beside the others; returns
    the kept texts' UTF-8 size."""
    cfg, work, n = r.config, r.work, ctx.n
    mh, content = cfg.minhash, ctx.src == "content"
    kept_root = remote.join(r.out, "kept")
    labels = (f"word {mh.ngram}-grams", f"character {mh.char_ngram}-grams")
    decide = DecisionsTask(
        work=str(work.root), n_shards=n, target=remote.join(r.out, "decisions.parquet"),
        threshold=mh.threshold, labels=labels,
        containment=cfg.content.containment,
        title_containment=cfg.content.title_containment, content=content,
        old=None if extension is None else extension.refs(work),
        boilerplate=remote.join(r.out, "boilerplate.parquet")
        if cfg.content.strip_boilerplate else None,
        headlines=content and cfg.content.titles)
    pairs = [] if extension is not None else [("pairs", PairsTask(
        work=str(work.root), n_shards=n, chunks=chunks(done),
        target=remote.join(r.out, "pairs.parquet"), low=ctx.matching.candidate_threshold,
        content=content))]  # against an index: no sweep
    tasks: list[tuple[str, WriteTask | DecisionsTask | PairsTask]] = [
        ("decisions", decide), *pairs, *[
        (shard_key(s.index), WriteTask(
            work=str(work.root), shard=s, start=int(offsets[first]),
            stop=int(offsets[last + 1]), root=kept_root, fmt=cfg.output.format, fields=r.fields,
            clean=tuple(range(first, last + 1)) if cfg.content.strip_boilerplate else (),
            name=name))
        for (s, first, last), name in zip(whole, names, strict=True)]]
    if not remote.is_remote(kept_root):  # there, empty, when nothing is kept
        os.makedirs(kept_root, exist_ok=True)
    written = r.run(Stage(name="write", task=output_task, counts=WriteCounts,
                          inputs=("cluster",), tasks=lambda _: tasks), {})
    if cfg.output.format == "input" and not remote.is_remote(kept_root):
        # a save_to_disk input's kept folder is one too
        finish_saved(list(ctx.shards), kept_root)
    decided = WriteCounts.of(written[0] if isinstance(written, list) else written)
    r.timings["decisions"] = float(decided.seconds)
    r.cpu["decisions"] = float(decided.cpu)
    r.cpu["write"] = round(r.cpu["write"] - r.cpu["decisions"], 3)
    return decided.kept_bytes


def _annotate(r: Runner, whole: list[tuple[Shard, int, int]], offsets: Any
              ) -> dict[str, Any]:
    """Write every record, its decision added, under ``annotated/``; say how many were
    written and how many could not be (see docs/outputs.md)."""
    r.run(Stage(name="sizes", scope="global", inputs=("cluster",), counts=SizeCounts,
                task=lambda _: annotate.cluster_sizes(r.work)), {})
    root = remote.join(r.out, "annotated")
    if not remote.is_remote(root):
        os.makedirs(root, exist_ok=True)
    done = r.run(Stage(name="annotate", task=annotate.annotate_task, counts=AnnotateCounts,
                       inputs=("sizes",),
                       tasks=lambda _: [(shard_key(first), annotate.AnnotateTask(
                           work=str(r.work.root), shard=shard, first=first,
                           start=int(offsets[first]), stop=int(offsets[last + 1]),
                           records=int(offsets[-1]), root=root,
                           decisions=remote.join(r.out, "decisions.parquet"), fields=r.fields))
                           for shard, first, last in whole]), {})
    written = AnnotateCounts.total(done).written
    return {"written": written, "left_out": int(offsets[-1]) - written}


def _write_json(path: str, data: dict[str, Any]) -> None:
    text = (json.dumps(data, indent=2, sort_keys=False) + "\n").encode()
    if remote.is_remote(path):
        remote.write_bytes(path, text)
    else:
        write_atomically(path, text)
