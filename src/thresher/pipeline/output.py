"""Stage 6: the kept corpus (per shard) and ``decisions.parquet`` (one row per record)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.io.records import Fields
from thresher.io.sources import Shard
from thresher.io.writers import write_kept
from thresher.pipeline.match import (
    KIND_EXACT, KIND_EXACT_NEAR, KIND_KEPT, KIND_NEAR, KIND_REJECTED, shard_offsets,
)
from thresher.pipeline.workdir import WorkDir

__all__ = ["WriteTask", "write_decisions", "write_task"]

_DECISION = {KIND_KEPT: "kept", KIND_EXACT: "duplicate", KIND_NEAR: "duplicate",
             KIND_EXACT_NEAR: "duplicate", KIND_REJECTED: "rejected"}
_MATCH = {KIND_EXACT: "exact", KIND_NEAR: "near", KIND_EXACT_NEAR: "near"}


@dataclass(frozen=True)
class WriteTask:
    """Write one shard's kept records."""

    work: str
    shard: Shard
    start: int
    stop: int
    root: str
    fmt: str
    fields: Fields


def write_task(task: WriteTask) -> dict[str, Any]:
    """Write the kept records of one shard under the output's ``kept/`` folder."""
    work = WorkDir(task.work)
    kind = work.load("cluster", "kind", mmap=True)[task.start : task.stop]
    written = write_kept(task.shard, np.asarray(kind) == KIND_KEPT, task.root, fmt=task.fmt,
                         fields=task.fields)
    stats = {"written": written}
    work.mark_done("write", f"{task.shard.index:05d}", stats)
    return stats


def _reasons(kind: NDArray[np.uint8], ids: list[str], rep_ids: list[str | None],
             lead_ids: list[str], sim: NDArray[np.float64], meta_reason: list[str | None],
             dup_first: list[str | None], shingles: list[str], threshold: float) -> list[str | None]:
    out: list[str | None] = []
    for i, k in enumerate(kind.tolist()):
        if k == KIND_KEPT:
            out.append(None)
        elif k == KIND_EXACT:
            out.append(f"exact duplicate of {rep_ids[i]} (same normalized text)")
        elif k == KIND_NEAR:
            out.append(f"near-duplicate of {rep_ids[i]}: Jaccard {sim[i]:.3f} on "
                       f"{shingles[i]} >= threshold {threshold:g}")
        elif k == KIND_EXACT_NEAR:
            out.append(f"near-duplicate of {rep_ids[i]}: Jaccard {sim[i]:.3f} on "
                       f"{shingles[i]} >= threshold {threshold:g} (exact copy of {lead_ids[i]})")
        elif dup_first[i] is not None:
            out.append(f"duplicate id: {ids[i]!r} first seen at {dup_first[i]}")
        else:
            out.append(meta_reason[i])
    return out


@dataclass(frozen=True)
class DecisionInputs:
    """Global arrays the decisions table is built from."""

    kind: NDArray[np.uint8]
    rep: NDArray[np.int64]
    sim: NDArray[np.float64]
    leader: NDArray[np.int64]
    dup_of: NDArray[np.int64]
    mode: NDArray[np.uint8]


def _shard_table(work: WorkDir, s: int, lo: int, hi: int, g: DecisionInputs, ids: Any,
                 locations: Any, labels: tuple[str, str], threshold: float) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = pq.read_table(work.path("read", f"{s:05d}.meta.parquet"))
    kind = g.kind[lo:hi]
    rep = g.rep[lo:hi]
    has_rep = rep >= 0
    rep_ids = ids.take(pa.array(np.where(has_rep, rep, 0))).to_pylist()
    rep_ids = [r if h else None for r, h in zip(rep_ids, has_rep.tolist(), strict=True)]
    lead_ids = ids.take(pa.array(g.leader[lo:hi])).to_pylist()
    dup = g.dup_of[lo:hi]
    dup_first = locations.take(pa.array(np.maximum(dup, 0))).to_pylist()
    dup_first = [d if x >= 0 else None for d, x in zip(dup_first, dup.tolist(), strict=True)]
    shingles = [labels[1] if m == 2 else labels[0] for m in g.mode[lo:hi].tolist()]
    own_ids = meta["id"].to_pylist()
    reasons = _reasons(kind, own_ids, rep_ids, lead_ids, g.sim[lo:hi],
                       meta["reason"].to_pylist(), dup_first, shingles, threshold)
    rejected = kind == KIND_REJECTED
    return pa.table({
        "id": meta["id"],
        "decision": pa.array([_DECISION[k] for k in kind.tolist()], pa.string()),
        "cluster": pa.array(rep, pa.int64(), mask=rejected),
        "representative": pa.array([r if k != KIND_KEPT else None
                                    for r, k in zip(rep_ids, kind.tolist(), strict=True)],
                                   pa.string()),
        "similarity": pa.array(g.sim[lo:hi], pa.float64(), mask=(kind == KIND_KEPT) | rejected),
        "match": pa.array([_MATCH.get(k) for k in kind.tolist()], pa.string()),
        "reason": pa.array(reasons, pa.string()),
        "file": meta["file"], "line": meta["line"], "url": meta["url"],
    })


def write_decisions(work: WorkDir, n_shards: int, target: str, *, threshold: float,
                    labels: tuple[str, str]) -> None:
    """Write ``decisions.parquet``: one row per input record, in input order."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    offsets = shard_offsets(work, n_shards)
    metas = [pq.read_table(work.path("read", f"{s:05d}.meta.parquet"),
                           columns=["id", "file", "line"]) for s in range(n_shards)]
    table = pa.concat_tables(metas)
    ids = table["id"].combine_chunks()
    locations = pc.binary_join_element_wise(
        table["file"], pc.cast(table["line"], pa.string()), ":").combine_chunks()
    g = DecisionInputs(
        kind=work.load("cluster", "kind"), rep=work.load("cluster", "rep"),
        sim=work.load("cluster", "sim"), leader=work.load("index", "leader"),
        dup_of=work.load("index", "dup_of"),
        mode=np.concatenate([work.load_raw("read", f"{s:05d}.mode", np.uint8)
                             for s in range(n_shards)]))
    tmp = f"{target}.tmp-{os.getpid()}"
    writer = None
    for s in range(n_shards):
        part = _shard_table(work, s, int(offsets[s]), int(offsets[s + 1]), g, ids, locations,
                            labels, threshold)
        if writer is None:
            writer = pq.ParquetWriter(tmp, part.schema)
        writer.write_table(part)
    if writer is None:
        raise RuntimeError("no shards")
    writer.close()
    os.replace(tmp, target)
