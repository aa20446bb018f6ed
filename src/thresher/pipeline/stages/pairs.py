"""``pairs.parquet``: the verified pairs a run judged, kept so that other thresholds can
be tried without running again (``thresher sweep``, :mod:`thresher.sweep`).

One row per pair, candidates first (in the order they were verified), then exact copies
(by copy). ``a`` and ``b`` are record numbers: rows of ``decisions.parquet``.

=============  ========  =====================================================
column         type      what
=============  ========  =====================================================
a, b           int64     the two records (an exact copy and its group's leader)
match          string    the run's verdict: near, partial, title, exact; null
                         for a candidate that did not match
similarity     float64   Jaccard of the distinct shingles (exact: 1)
containment    float64   share of the smaller set in the other (exact: 1)
shared         int64     distinct shingles in common (exact: null)
site_a ... b   uint64    matching on content: both records' site, title and
title_a ... b            page keys (0: none), which the rule weighs (see
page_a ... b             :meth:`~thresher.core.rule.MatchRule.decide`)
=============  ========  =====================================================

Candidates are kept from ``low`` (the plan's candidate threshold) on, and below it those
the run matched: under the rule, a pair below every threshold a rerun may use matches
by its containment or title alone, whatever the threshold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from thresher.core.rule import EDGE_NEAR, EDGE_PARTIAL, EDGE_TITLE
from thresher.io.atomic import temporary_name
from thresher.io.remote import staged_file
from thresher.pipeline.counts import WriteCounts
from thresher.pipeline.graph import numbered
from thresher.pipeline.match import VERIFY_CHUNK, per_doc
from thresher.pipeline.workdir import WorkDir

__all__ = ["KEYS", "PairsTask", "pairs_task", "write_pairs"]

KEYS = ("site", "title", "page")  # the content stage's per-record keys the rule weighs
_WHY = {EDGE_NEAR: "near", EDGE_PARTIAL: "partial", EDGE_TITLE: "title"}
ROW_GROUP = 65536


@dataclass(frozen=True, kw_only=True)
class PairsTask:
    """Write ``pairs.parquet``: a task of the write stage, beside the decisions."""

    work: str
    n_shards: int
    chunks: int
    target: str
    low: float  # the candidate threshold: weaker candidates are kept only if matched
    content: bool


def pairs_task(task: PairsTask) -> WriteCounts:
    """Write the pairs; return how many were written."""
    work = WorkDir(task.work)
    with staged_file(task.target) as target:  # at a URL: published once written
        rows = write_pairs(work, task.n_shards, task.chunks, target=target, low=task.low,
                           content=task.content)
    stats = WriteCounts(pairs=rows)
    work.mark_done("write", "pairs", stats)
    return stats


def _chunk(work: WorkDir, n_shards: int, c: int, *, low: float, content: bool) -> Any:
    """One verified chunk's pairs worth keeping, as a table."""
    import pyarrow as pa

    cand = np.asarray(work.load("verify", "cand", mmap=True)[
        c * VERIFY_CHUNK:(c + 1) * VERIFY_CHUNK])
    sims = work.load("verify", numbered("chunk", c))
    conts = work.load("verify", numbered("cont", c))
    inter = work.load("verify", numbered("inter", c))
    edges = work.load("cluster", numbered("edges", c))
    packed = (edges[:, 0].astype(np.uint64) << np.uint64(32)) | edges[:, 1].astype(np.uint64)
    at = np.searchsorted(cand, packed)  # the edges are the matched candidates, in order
    why = np.full(cand.shape[0], -1, dtype=np.int64)
    why[at] = work.load("cluster", numbered("ewhy", c))
    keep = (sims >= low) | (why >= 0)
    u = (cand[keep] >> np.uint64(32)).astype(np.int64)
    v = (cand[keep] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    labels = [_WHY.get(w) for w in why[keep].tolist()]
    columns: dict[str, Any] = {
        "a": pa.array(u), "b": pa.array(v), "match": pa.array(labels, pa.string()),
        "similarity": pa.array(sims[keep]), "containment": pa.array(conts[keep]),
        "shared": pa.array(inter[keep].astype(np.int64))}
    if content:
        both = np.concatenate((u, v))
        for part in KEYS:
            key = per_doc(work, n_shards, both, part=part)
            columns[f"{part}_a"] = pa.array(key[:u.shape[0]], pa.uint64())
            columns[f"{part}_b"] = pa.array(key[u.shape[0]:], pa.uint64())
    return pa.table(columns)


def _exact(work: WorkDir, *, content: bool) -> Any:
    """Every exact copy and its group's leader, as a table of the same columns."""
    import pyarrow as pa

    copy, leader = work.load("index", "exact_doc"), work.load("index", "exact_leader")
    n = copy.shape[0]
    none = np.ones(n, dtype=bool)
    columns: dict[str, Any] = {
        "a": pa.array(copy.astype(np.int64)), "b": pa.array(leader.astype(np.int64)),
        "match": pa.array(["exact"] * n, pa.string()),
        "similarity": pa.array(np.ones(n)), "containment": pa.array(np.ones(n)),
        "shared": pa.array(np.zeros(n, dtype=np.int64), mask=none)}
    if content:
        for part in KEYS:
            for side in "ab":
                columns[f"{part}_{side}"] = pa.array(np.zeros(n, dtype=np.uint64), mask=none)
    return pa.table(columns)


def write_pairs(work: WorkDir, n_shards: int, chunks: int, *, target: str, low: float,
                content: bool) -> int:
    """Write ``pairs.parquet`` (see the module); return its rows."""
    import pyarrow.parquet as pq

    exact = _exact(work, content=content)
    tmp = temporary_name(target)
    rows = 0
    with pq.ParquetWriter(tmp, exact.schema, use_dictionary=["match"]) as writer:
        for c in range(chunks):  # a chunk at a time: memory follows the chunk
            part = _chunk(work, n_shards, c, low=low, content=content)
            writer.write_table(part, row_group_size=ROW_GROUP)
            rows += int(part.num_rows)
        writer.write_table(exact, row_group_size=ROW_GROUP)
        rows += int(exact.num_rows)
    os.replace(tmp, target)
    return rows
