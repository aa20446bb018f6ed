"""Stage 5, clustering: connected components of the matches, greedy clusters that never
chain within each, and every record's decision rebuilt from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.cluster import cluster_nodes
from thresher.core.rule import EDGE_PARTIAL, EDGE_SAME_CONTENT, EDGE_TITLE, WAY_BWD, WAY_FWD
from thresher.core.sorting import distinct
from thresher.pipeline.counts import BucketCounts, ClusterCounts, ComponentCounts
from thresher.pipeline.graph import numbered
from thresher.pipeline.match import (
    KIND_EXACT,
    KIND_EXACT_NEAR,
    KIND_KEPT,
    KIND_NEAR,
    KIND_PARTIAL,
    KIND_REJECTED,
    KIND_SAME_CONTENT,
    KIND_TITLE,
    overlay,
    per_doc,
)
from thresher.pipeline.workdir import WorkDir

__all__ = ["CLUSTER_BUCKETS", "BucketTask", "ShardDecisions", "bucket_task", "cluster_stage",
           "component_labels", "shard_decisions"]

CLUSTER_BUCKETS = 16  # clustering tasks; components are dealt to them by label


def component_labels(work: WorkDir, chunks: int) -> ComponentCounts:
    """Label every matched document with the smallest document of its connected component.

    The edges are read one chunk at a time (never all at once): each round lowers both
    ends of every edge to the smaller of their labels, then follows labels to their
    roots (pointer jumping), until a round changes nothing. Memory: the documents that
    have a match and one label each.
    """
    parts = [distinct(work.load("cluster", numbered("edges", c))) for c in range(chunks)]
    nodes = distinct(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    label = np.arange(nodes.shape[0], dtype=np.int64)
    rounds = 0
    while True:
        rounds += 1
        before = label.copy()
        for c in range(chunks):
            e = work.load("cluster", numbered("edges", c))
            a, b = np.searchsorted(nodes, e[:, 0]), np.searchsorted(nodes, e[:, 1])
            low = np.minimum(label[a], label[b])
            np.minimum.at(label, a, low)
            np.minimum.at(label, b, low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            break
    work.save("cluster", "nodes", nodes)
    work.save("cluster", "labels", nodes[label])
    return ComponentCounts(documents=int(nodes.shape[0]), rounds=rounds,
                           components=int(distinct(label).shape[0]))


@dataclass(frozen=True, kw_only=True)
class BucketTask:
    """Cluster the components dealt to one bucket."""

    work: str
    chunks: int
    bucket: int
    priority: bool = False  # a --keep policy's priority comes first (index/priority)


def bucket_task(task: BucketTask) -> BucketCounts:
    """Cluster one bucket's components without chaining; save members and representatives.

    The greedy clustering of :func:`cluster_nodes` decides a document's fate from its
    neighbours only, visiting documents in one global order (how many documents each may
    take, then rank), so run on
    whole components separately it decides exactly as it would on the whole graph: the
    buckets' results, put together, are the single-node result.
    """
    work = WorkDir(task.work)
    nodes = work.load("cluster", "nodes", mmap=True)
    labels = work.load("cluster", "labels", mmap=True)
    us, vs, sims, conts, whys, ways = [], [], [], [], [], []
    for c in range(task.chunks):
        e = work.load("cluster", numbered("edges", c))
        lab = np.asarray(labels[np.searchsorted(nodes, e[:, 0])])
        mine = (lab % CLUSTER_BUCKETS) == task.bucket
        us.append(e[mine, 0])
        vs.append(e[mine, 1])
        sims.append(work.load("cluster", numbered("esim", c))[mine])
        conts.append(work.load("cluster", numbered("econt", c))[mine])
        whys.append(work.load("cluster", numbered("ewhy", c))[mine])
        ways.append(work.load("cluster", numbered("eway", c))[mine])
    u = np.concatenate(us) if us else np.zeros(0, dtype=np.int64)
    v = np.concatenate(vs) if vs else np.zeros(0, dtype=np.int64)
    sim = np.concatenate(sims) if sims else np.zeros(0)
    cont = np.concatenate(conts) if conts else np.zeros(0)
    why = np.concatenate(whys) if whys else np.zeros(0, dtype=np.uint8)
    way = np.concatenate(ways) if ways else np.zeros(0, dtype=np.uint8)
    first = work.load("index", "priority", mmap=True) if task.priority else None
    members, rep, rep_sim = cluster_nodes(work.load("index", "rank", mmap=True), u, v, sim=sim,
                                          fwd=(way & WAY_FWD) != 0, bwd=(way & WAY_BWD) != 0,
                                          priority=first)
    near = rep != members
    doc, to, s = members[near], rep[near], rep_sim[near]
    # Each member's containment and evidence towards its representative, by the pair.
    key = (np.minimum(u, v).astype(np.uint64) << np.uint64(32)) | np.maximum(u, v).astype(
        np.uint64)
    order = np.argsort(key)
    want = (np.minimum(doc, to).astype(np.uint64) << np.uint64(32)) | np.maximum(
        doc, to).astype(np.uint64)
    at = np.searchsorted(key[order], want)
    at = np.minimum(at, max(key.shape[0] - 1, 0))
    c_of = cont[order][at] if key.shape[0] else np.zeros(0)
    why_of = why[order][at] if key.shape[0] else np.zeros(0, dtype=np.uint8)
    name = f"bucket-{task.bucket:03d}"
    for part, arr in (("doc", doc), ("rep", to), ("sim", s), ("cont", c_of), ("why", why_of)):
        work.save("cluster", f"{name}-{part}", arr)
    stats = BucketCounts(documents=int(members.shape[0]), duplicates=int(doc.shape[0]))
    work.mark_done("buckets", name, stats)
    return stats


def cluster_stage(work: WorkDir, chunks: int, *, old: bool = False,
                  content_of: int = 0) -> ClusterCounts:
    """Put the buckets' clusters together; save one row per duplicate, sorted by record.

    Nothing here is sized by the corpus: only duplicates are written (``dup_doc``,
    ``dup_rep``, ``dup_sim``, ``dup_kind``, ``dup_lead``, ``dup_cont``); every other usable
    record is kept and its own representative. Matching on content (``content_of``: the
    number of shards), an exact copy of the content whose whole text differs from its
    representative's is told apart as ``KIND_SAME_CONTENT``.
    """
    def joined(part: str, dtype: type[Any]) -> NDArray[Any]:
        return np.concatenate([work.load("cluster", f"bucket-{b:03d}-{part}")
                               for b in range(CLUSTER_BUCKETS)]).astype(dtype)

    near_doc = joined("doc", np.int64)
    order = np.argsort(near_doc, kind="mergesort")
    near_doc, near_rep = near_doc[order], joined("rep", np.int64)[order]
    near_sim, near_cont = joined("sim", np.float64)[order], joined("cont", np.float64)[order]
    near_why = joined("why", np.uint8)[order]
    near_kind = np.where(near_why == EDGE_TITLE, KIND_TITLE, np.where(
        near_why == EDGE_PARTIAL, KIND_PARTIAL, KIND_NEAR)).astype(np.uint8)
    if old:
        records = int(work.load("index", "ok", mmap=True).shape[0])
        p_doc = work.load("probe", "all-doc").astype(np.int64)
        p_why = work.load("probe", "all-why")
        p_kind = np.select([p_why == 3, p_why == EDGE_SAME_CONTENT, p_why == EDGE_TITLE,
                            p_why == EDGE_PARTIAL],
                           [KIND_EXACT, KIND_SAME_CONTENT, KIND_TITLE, KIND_PARTIAL], KIND_NEAR)
        near_doc = np.concatenate((near_doc, p_doc))
        order = np.argsort(near_doc, kind="mergesort")
        near_doc = near_doc[order]
        near_rep = np.concatenate((near_rep, records + work.load("probe", "all-ref")))[order]
        near_sim = np.concatenate((near_sim, work.load("probe", "all-sim")))[order]
        near_cont = np.concatenate((near_cont, work.load("probe", "all-cont")))[order]
        near_kind = np.concatenate((near_kind, p_kind.astype(np.uint8)))[order]
    exact_doc, leader = work.load("index", "exact_doc"), work.load("index", "exact_leader")
    # An exact copy follows its group's leader: to the leader's representative if the
    # leader is itself a near duplicate, else to the leader.
    via = np.zeros(leader.shape[0], dtype=bool)
    lead_rep, lead_sim = leader.copy(), np.ones(leader.shape[0])
    if near_doc.shape[0]:
        at = np.minimum(np.searchsorted(near_doc, leader), near_doc.shape[0] - 1)
        via = near_doc[at] == leader
        lead_rep[via], lead_sim[via] = near_rep[at[via]], near_sim[at[via]]
    exact_kind = np.where(via, KIND_EXACT_NEAR, KIND_EXACT).astype(np.uint8)
    if content_of:
        other = ~via & (per_doc(work, content_of, exact_doc, part="fp", dtype=np.uint64,
                                width=2, stage="read")
                        != per_doc(work, content_of, leader, part="fp", dtype=np.uint64,
                                   width=2, stage="read")).any(axis=1)
        exact_kind[other] = KIND_SAME_CONTENT
    doc = np.concatenate((near_doc, exact_doc))
    order = np.argsort(doc, kind="mergesort")
    columns = {
        "dup_doc": doc,
        "dup_rep": np.concatenate((near_rep, lead_rep)),
        "dup_sim": np.concatenate((near_sim, lead_sim)),
        "dup_kind": np.concatenate((near_kind, exact_kind)),
        "dup_lead": np.concatenate((near_doc, leader)),
        "dup_cont": np.concatenate((near_cont, np.ones(leader.shape[0]))),
    }
    for name, arr in columns.items():
        work.save("cluster", name, arr[order])
    cand = work.load("verify", "cand", mmap=True)
    edges = sum(int(work.load("cluster", numbered("esim", c), mmap=True).shape[0])
                for c in range(chunks))
    return ClusterCounts(candidates=int(cand.shape[0]), verified=edges)


@dataclass(frozen=True, kw_only=True)
class ShardDecisions:
    """Every record's fate in one record range, rebuilt from the sparse cluster output."""

    kind: NDArray[np.uint8]
    rep: NDArray[np.int64]  # -1 for rejected records
    sim: NDArray[np.float64]
    lead: NDArray[np.int64]  # the exact copy's group leader, else the record itself
    repeated_first: NDArray[np.int64]  # for a repeated id: the first record, else -1
    cont: NDArray[np.float64]  # share of the smaller document's shingles in the other


def shard_decisions(work: WorkDir, lo: int, hi: int) -> ShardDecisions:
    """Return the decisions of records ``lo`` to ``hi`` (memory sized by the range)."""
    ok = np.asarray(work.load("index", "ok", mmap=True)[lo:hi])
    own = np.arange(lo, hi, dtype=np.int64)
    kind = np.where(ok, KIND_KEPT, KIND_REJECTED).astype(np.uint8)
    rep, sim, lead = np.where(ok, own, -1), np.ones(hi - lo), own.copy()
    doc = work.load("cluster", "dup_doc", mmap=True)
    part = overlay(doc, lo, hi)
    at = np.asarray(doc[part]) - lo
    kind[at] = work.load("cluster", "dup_kind", mmap=True)[part]
    rep[at] = work.load("cluster", "dup_rep", mmap=True)[part]
    sim[at] = work.load("cluster", "dup_sim", mmap=True)[part]
    lead[at] = work.load("cluster", "dup_lead", mmap=True)[part]
    cont = np.ones(hi - lo)
    cont[at] = work.load("cluster", "dup_cont", mmap=True)[part]
    first = np.full(hi - lo, -1, dtype=np.int64)
    repeated = work.load("index", "repeated", mmap=True)
    part = overlay(repeated, lo, hi)
    first[np.asarray(repeated[part]) - lo] = work.load("index", "repeated_first", mmap=True)[part]
    return ShardDecisions(kind=kind, rep=rep, sim=sim, lead=lead, repeated_first=first, cont=cont)
