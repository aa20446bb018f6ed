"""Stage 6: the kept corpus (per shard) and ``decisions.parquet`` (one row per record)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.io.atomic import temporary_name
from thresher.io.ranges import local_shard
from thresher.io.records import Fields
from thresher.io.remote import staged_file, staged_folder
from thresher.io.sources import Shard
from thresher.io.writers import write_kept
from thresher.pipeline.counts import WriteCounts
from thresher.pipeline.graph import artifact, shard_key
from thresher.pipeline.match import (
    KIND_EXACT,
    KIND_EXACT_NEAR,
    KIND_KEPT,
    KIND_NEAR,
    KIND_PARTIAL,
    KIND_REJECTED,
    KIND_SAME_CONTENT,
    KIND_TITLE,
    shard_offsets,
)
from thresher.pipeline.stages.cluster import shard_decisions
from thresher.pipeline.stages.pairs import PairsTask, pairs_task
from thresher.pipeline.workdir import WorkDir

__all__ = ["DecisionsTask", "WriteTask", "decisions_task", "output_task", "write_boilerplate",
           "write_decisions", "write_task"]

_DECISION = {KIND_KEPT: "kept", KIND_EXACT: "duplicate", KIND_NEAR: "duplicate",
             KIND_EXACT_NEAR: "duplicate", KIND_PARTIAL: "duplicate", KIND_TITLE: "duplicate",
             KIND_REJECTED: "rejected", KIND_SAME_CONTENT: "duplicate"}
# The match column's values (docs/outputs.md); the summary counts them.
_MATCH = {KIND_EXACT: "exact", KIND_SAME_CONTENT: "same-content", KIND_NEAR: "near",
          KIND_EXACT_NEAR: "near", KIND_PARTIAL: "partial", KIND_TITLE: "title"}
ROW_GROUP = 65536


@lru_cache(maxsize=1)
def _labels() -> dict[str, Any]:
    """The decision and match columns' values, as arrays indexed by a record's kind."""
    import pyarrow as pa

    kinds = range(max(_DECISION) + 1)
    return {"decision": pa.array([_DECISION[k] for k in kinds], pa.string()),
            "match": pa.array([_MATCH.get(k) for k in kinds], pa.string())}


@dataclass(frozen=True, kw_only=True)
class WriteTask:
    """Write one shard's kept records."""

    work: str
    shard: Shard
    start: int
    stop: int
    root: str
    fmt: str
    fields: Fields
    clean: tuple[int, ...] = ()  # content shards whose cleaned texts replace the records'
    name: str | None = None  # the converted file's name, distinct across the run's inputs


def write_task(task: WriteTask) -> WriteCounts:
    """Write the kept records of one shard under the output's ``kept/`` folder."""

    work = WorkDir(task.work)
    kind = shard_decisions(work, task.start, task.stop).kind
    docs = (work.read_parquet("read", artifact(task.shard.index, "docs.parquet"))
            if task.shard.kind in ("warc", "wet") else None)
    texts = [t for s in task.clean for t in work.read_parquet(
        "content", artifact(s, "clean.parquet"))["text"].to_pylist()] if task.clean else None
    # an output at a URL: written to a local folder, each file published before the
    # task is marked done; an input at a URL: read from a local copy
    with staged_folder(task.root) as root, local_shard(task.shard) as shard:
        written = write_kept(shard, kind == KIND_KEPT, root, fmt=task.fmt,
                             fields=task.fields, docs=docs, texts=texts, name=task.name)
    stats = WriteCounts(written=written)
    work.mark_done("write", shard_key(task.shard.index), stats)
    return stats


@dataclass(frozen=True, kw_only=True)
class DecisionsTask:
    """Write ``decisions.parquet`` (and the removed blocks): a task of the write stage, so
    that a worker writes it while the others write the kept corpus."""

    work: str
    n_shards: int
    target: str
    threshold: float
    labels: tuple[str, str]
    containment: float = 1.0
    title_containment: float = 1.0
    content: bool = False
    old: dict[int, tuple[str, int, tuple[int, int]]] | None = None
    boilerplate: str | None = None  # where the removed blocks go, when they are kept
    headlines: bool = False  # partial matches were refused under different headlines


def decisions_task(task: DecisionsTask) -> WriteCounts:
    """Write the decisions; return the kept texts' UTF-8 size and the time it took."""
    start, cpu = time.perf_counter(), time.process_time()
    work = WorkDir(task.work)
    with staged_file(task.target) as target:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        kept_bytes = write_decisions(work, task.n_shards, target, threshold=task.threshold,
                                     labels=task.labels, containment=task.containment,
                                     title_containment=task.title_containment,
                                     content=task.content, old=task.old,
                                     headlines=task.headlines)
    if task.boilerplate is not None:
        with staged_file(task.boilerplate) as target:
            write_boilerplate(work, task.n_shards, Path(target))
    stats = WriteCounts(kept_bytes=kept_bytes, seconds=round(time.perf_counter() - start, 3),
                        cpu=round(time.process_time() - cpu, 3))
    work.mark_done("write", "decisions", stats)
    return stats


def output_task(task: WriteTask | DecisionsTask | PairsTask) -> WriteCounts:
    """A task of the write stage: one shard's kept records, the decisions, or the pairs."""
    if isinstance(task, DecisionsTask):
        return decisions_task(task)
    if isinstance(task, PairsTask):
        return pairs_task(task)
    return write_task(task)


def write_boilerplate(work: WorkDir, n_shards: int, target: Path) -> None:
    """Concatenate the shards' removed blocks into one file, in input order."""
    import pyarrow.parquet as pq

    tmp = temporary_name(target)
    writer = None
    for s in range(n_shards):
        part = work.read_parquet("content", artifact(s, "removed.parquet"))
        writer = writer or pq.ParquetWriter(tmp, part.schema)
        writer.write_table(part, row_group_size=65536)
    if writer is not None:
        writer.close()
        os.replace(tmp, target)


@dataclass(frozen=True, kw_only=True)
class _Rows:
    """One shard's columns that the reasons are written from."""

    kind: list[int]
    ids: list[str]
    rep_ids: list[str | None]
    lead_ids: list[str]
    sim: list[float]
    cont: list[float]
    meta_reason: list[str | None]
    dup_first: list[str | None]
    shingles: list[str]
    rep_notes: dict[int, str] | None = None  # rows whose representative is indexed
    # content sizes in characters (the representative's, the row's), matching on content
    sizes: list[tuple[int, int]] | None = None


def _rep(rows: _Rows, i: int) -> str:
    note = (rows.rep_notes or {}).get(i, "")
    return f"{rows.rep_ids[i]}{note}"


def _sizes(rows: _Rows, i: int, ctx: _Context) -> str:
    """Why a partial duplicate points this way: the sizes of both contents (and, where
    headlines are compared, that the pages carry no different ones)."""
    if rows.sizes is None:
        return ""
    theirs, mine = rows.sizes[i]
    under = ", under no other headline" if ctx.headlines else ""
    return f"; contained in it{under}: its content {theirs:,} chars, this {mine:,}"


def _reason(rows: _Rows, i: int, ctx: _Context) -> str | None:
    k = rows.kind[i]
    of = "content" if ctx.content else "text"
    if k == KIND_KEPT:
        return None
    if k == KIND_EXACT:
        return f"exact duplicate of {_rep(rows, i)} (same normalized {of})"
    if k == KIND_SAME_CONTENT:
        return (f"same content as {_rep(rows, i)} (same normalized content; the whole texts "
                "differ, in their page chrome)")
    if k == KIND_PARTIAL:
        return (f"partial duplicate of {_rep(rows, i)}: {rows.cont[i]:.3f} of the smaller "
                f"{of}'s {rows.shingles[i]} are in the other (containment >= "
                f"{ctx.containment:g}; Jaccard {rows.sim[i]:.3f}{_sizes(rows, i, ctx)})")
    if k == KIND_TITLE:
        return (f"same article as {_rep(rows, i)}: both pages of the site carry its title, "
                f"and {rows.cont[i]:.3f} of the smaller {of}'s {rows.shingles[i]} are in the "
                f"other (containment >= {ctx.title_containment:g}; Jaccard "
                f"{rows.sim[i]:.3f})")
    if k in (KIND_NEAR, KIND_EXACT_NEAR):
        why = (f"near-duplicate of {_rep(rows, i)}: Jaccard {rows.sim[i]:.3f} on the "
               f"{of}'s {rows.shingles[i]} >= threshold {ctx.threshold:g}")
        return why if k == KIND_NEAR else f"{why} (exact copy of {rows.lead_ids[i]})"
    if rows.dup_first[i] is not None:
        return f"duplicate id: {rows.ids[i]!r} first seen at {rows.dup_first[i]}"
    return rows.meta_reason[i]


@dataclass(frozen=True, kw_only=True)
class _Context:
    """What every shard's decisions table is written with."""

    mode: NDArray[np.uint8]
    ids: Any  # pyarrow StringArray of every record's id
    locations: Any  # pyarrow StringArray of every record's "file:line"
    labels: tuple[str, str]  # how word and character shingles are named in reasons
    threshold: float
    containment: float
    title_containment: float
    spans: NDArray[np.int64] | None  # (records, 2) content spans when matching on content
    # With a persistent index: representatives numbered from the record count on are
    # indexed documents, given here as number -> (id, batch, content span).
    old: dict[int, tuple[str, int, tuple[int, int]]] | None = None
    headlines: bool = False  # partial matches were refused under different headlines

    @property
    def content(self) -> bool:
        return self.spans is not None


def _masked(values: Any, mask: NDArray[np.bool_]) -> list[Any]:
    return [None if m else v for v, m in zip(values, mask.tolist(), strict=True)]


def _shard_table(work: WorkDir, ctx: _Context, shard: int, *, lo: int, hi: int
                 ) -> tuple[Any, int]:
    """Return one shard's decisions table and the text bytes of its kept records."""
    import pyarrow as pa

    meta = work.read_parquet("read", artifact(shard, "meta.parquet"))
    d = shard_decisions(work, lo, hi)
    kind, rep = d.kind, d.rep
    rejected = kind == KIND_REJECTED
    dup = (kind == KIND_KEPT) | rejected
    records = len(ctx.ids)
    indexed = rep >= records
    here = np.where(indexed, 0, np.maximum(rep, 0))
    old = ctx.old or {}
    # Only the records not kept have a reason and a representative: their columns are
    # made for them alone (most records are kept).
    told = np.flatnonzero(kind != KIND_KEPT)
    at = pa.array(told)
    rep_ids = _masked(ctx.ids.take(pa.array(here[told])).to_pylist(), rep[told] < 0)
    from_index = np.flatnonzero(indexed[told]).tolist()
    for j in from_index:
        rep_ids[j] = old[int(rep[told[j]])][0]
    first = d.repeated_first[told]
    spans: dict[str, Any] = {}
    sizes = None
    if ctx.spans is not None:
        own, other = ctx.spans[lo:hi], ctx.spans[here].copy()
        for k in np.flatnonzero(indexed).tolist():
            other[k] = old[int(rep[k])][2]
        spans = {"content_start": pa.array(own[:, 0], pa.int64(), mask=rejected),
                 "content_end": pa.array(own[:, 1], pa.int64(), mask=rejected),
                 "rep_content_start": pa.array(other[:, 0], pa.int64(), mask=dup),
                 "rep_content_end": pa.array(other[:, 1], pa.int64(), mask=dup)}
        sizes = list(zip((other[told, 1] - other[told, 0]).tolist(),
                         (own[told, 1] - own[told, 0]).tolist(), strict=True))
    rows = _Rows(
        kind=kind[told].tolist(), ids=meta["id"].take(at).to_pylist(), rep_ids=rep_ids,
        lead_ids=ctx.ids.take(pa.array(d.lead[told])).to_pylist(),
        sim=d.sim[told].tolist(), cont=d.cont[told].tolist(),
        meta_reason=meta["reason"].take(at).to_pylist(),
        dup_first=_masked(ctx.locations.take(pa.array(np.maximum(first, 0))).to_pylist(),
                          first < 0),
        shingles=[ctx.labels[1] if m == 2 else ctx.labels[0]
                  for m in ctx.mode[lo:hi][told].tolist()],
        rep_notes={j: f" (in the index, batch {old[int(rep[told[j]])][1]})"
                   for j in from_index}, sizes=sizes)
    reasons: list[str | None] = [None] * kind.shape[0]
    representative: list[str | None] = [None] * kind.shape[0]
    for j, i in enumerate(told.tolist()):
        reasons[i] = _reason(rows, j, ctx)
        representative[i] = rep_ids[j]
    kept_bytes = int(meta["bytes"].to_numpy()[kind == KIND_KEPT].sum())
    return pa.table({
        "id": meta["id"],
        "decision": _labels()["decision"].take(pa.array(kind.astype(np.int64))),
        "cluster": pa.array(rep, pa.int64(), mask=rejected | indexed),
        "representative": pa.array(representative, pa.string()),
        "similarity": pa.array(d.sim, pa.float64(), mask=dup),
        "containment": pa.array(d.cont, pa.float64(), mask=dup),
        "match": _labels()["match"].take(pa.array(kind.astype(np.int64))),
        "reason": pa.array(reasons, pa.string()),
        "file": meta["file"], "line": meta["line"], "url": meta["url"],
        "length": meta["length"], **spans, **({} if ctx.old is None else {
            "representative_batch": pa.array(
                [old[int(r)][1] if r >= records else None for r in rep.tolist()],
                pa.int64())}),
    }), kept_bytes


def write_decisions(work: WorkDir, n_shards: int, target: str, *, threshold: float,
                    labels: tuple[str, str], containment: float = 1.0,
                    title_containment: float = 1.0, content: bool = False,
                    old: dict[int, tuple[str, int, tuple[int, int]]] | None = None,
                    headlines: bool = False) -> int:
    """Write ``decisions.parquet``: one row per input record, in input order.

    Returns the UTF-8 size (after NFKC) of the kept documents' texts.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    offsets = shard_offsets(work, n_shards)
    metas = [work.read_parquet("read", artifact(s, "meta.parquet"), ["id", "file", "line"])
             for s in range(n_shards)]
    table = pa.concat_tables(metas)
    ids = table["id"].combine_chunks()
    locations = pc.binary_join_element_wise(
        table["file"], pc.cast(table["line"], pa.string()), ":").combine_chunks()
    src = "content" if content else "read"
    ctx = _Context(
        mode=np.concatenate([work.load_raw(src, artifact(s, "mode"), np.uint8)
                             for s in range(n_shards)]),
        ids=ids, locations=locations, labels=labels, threshold=threshold,
        containment=containment, title_containment=title_containment, old=old,
        headlines=content and headlines,
        spans=np.concatenate([work.load_raw("content", artifact(s, "span"), np.int64, width=2)
                              for s in range(n_shards)]) if content else None)
    tmp = temporary_name(target)
    writer = None
    pending: list[Any] = []
    rows = kept_bytes = 0
    for s in range(n_shards):
        part, size = _shard_table(work, ctx, s, lo=int(offsets[s]), hi=int(offsets[s + 1]))
        kept_bytes += size
        # a dictionary only where values repeat (ids, URLs and reasons would fall back)
        writer = writer or pq.ParquetWriter(tmp, part.schema,
                                            use_dictionary=["decision", "match", "file"])
        pending.append(part)
        rows += part.num_rows
        if rows >= ROW_GROUP or s == n_shards - 1:
            # Row groups of a fixed size, whatever the shards: the file's bytes do not
            # depend on how the input was cut.
            whole = pa.concat_tables(pending)
            cut = whole.num_rows if s == n_shards - 1 else whole.num_rows // ROW_GROUP * ROW_GROUP
            writer.write_table(whole.slice(0, cut), row_group_size=ROW_GROUP)
            pending, rows = [whole.slice(cut)], whole.num_rows - cut
    if writer is None:
        raise RuntimeError("no shards")
    writer.close()
    os.replace(tmp, target)
    return kept_bytes
