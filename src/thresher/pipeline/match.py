"""Stages 2 to 5: global index, LSH candidates per band, verification, clustering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.cluster import greedy_clusters
from thresher.core.lsh import band_keys, bucket_pairs
from thresher.core.verify import distinct_sets, gather_slices, jaccard_pairs
from thresher.pipeline.workdir import WorkDir

__all__ = [
    "KIND_EXACT", "KIND_EXACT_NEAR", "KIND_KEPT", "KIND_NEAR", "KIND_REJECTED",
    "BandTask", "VerifyTask", "band_task", "build_index", "cluster_stage", "merge_candidates",
    "verify_task",
]

KIND_KEPT, KIND_EXACT, KIND_NEAR, KIND_EXACT_NEAR, KIND_REJECTED = 0, 1, 2, 3, 4
VERIFY_CHUNK = 50_000  # pairs per task: bounds the shingle sets a task holds


def shard_offsets(work: WorkDir, n_shards: int) -> NDArray[np.int64]:
    """Return where each shard's records start in the global numbering (and the total)."""
    sizes = [work.load_raw("read", f"{s:05d}.mode", np.uint8).shape[0] for s in range(n_shards)]
    offsets = np.zeros(n_shards + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets


def build_index(work: WorkDir, n_shards: int) -> dict[str, Any]:
    """Rank records, reject repeated ids, and group exact duplicates; save global arrays."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    metas = [pq.read_table(work.path("read", f"{s:05d}.meta.parquet"),
                           columns=["id", "length", "reason"]) for s in range(n_shards)]
    table = pa.concat_tables(metas)
    n = table.num_rows
    ok = pc.is_null(table["reason"]).to_numpy(zero_copy_only=False)
    order = pc.sort_indices(table, sort_keys=[("length", "descending"), ("id", "ascending")])
    rank = np.empty(n, dtype=np.int64)
    rank[order.to_numpy()] = np.arange(n, dtype=np.int64)
    codes = pc.dictionary_encode(table["id"]).combine_chunks().indices.to_numpy()
    dup_of = np.full(n, -1, dtype=np.int64)
    good = np.flatnonzero(ok)
    _, first = np.unique(codes[good], return_index=True)
    first_of_code = np.full(int(codes.max(initial=0)) + 1, -1, dtype=np.int64)
    first_of_code[codes[good[first]]] = good[first]
    repeated = good[first_of_code[codes[good]] != good]
    dup_of[repeated] = first_of_code[codes[repeated]]
    ok[repeated] = False
    fp = np.concatenate([work.load_raw("read", f"{s:05d}.fp", np.uint64, 2)
                         for s in range(n_shards)])
    active = np.flatnonzero(ok)
    key_order = active[np.lexsort((rank[active], fp[active, 1], fp[active, 0]))]
    same = np.zeros(key_order.shape[0], dtype=bool)
    same[1:] = (fp[key_order[1:]] == fp[key_order[:-1]]).all(axis=1)
    group_start = np.maximum.accumulate(np.where(same, 0, np.arange(key_order.shape[0])))
    leader = np.arange(n, dtype=np.int64)
    leader[key_order] = key_order[group_start]
    for name, arr in (("ok", ok), ("rank", rank), ("leader", leader), ("dup_of", dup_of)):
        work.save("index", name, arr)
    stats = {"records": n, "repeated_ids": int(repeated.shape[0]),
             "exact_members": int((leader[active] != active).sum())}
    return stats


@dataclass(frozen=True)
class BandTask:
    """One LSH band over all records."""

    work: str
    n_shards: int
    band: int
    rows: int
    cap: int
    num_perm: int


def band_task(task: BandTask) -> dict[str, Any]:
    """Bucket the active records by one band's key and save the candidate pairs."""
    work = WorkDir(task.work)
    ok = work.load("index", "ok")
    leader = work.load("index", "leader")
    rank = work.load("index", "rank")
    lo, hi = task.band * task.rows, (task.band + 1) * task.rows
    cols = np.concatenate([np.ascontiguousarray(
        work.load_raw("read", f"{s:05d}.sig", np.uint32, task.num_perm)[:, lo:hi])
        for s in range(task.n_shards)])
    docs = np.flatnonzero(ok & (leader == np.arange(ok.shape[0])))
    keys = band_keys(np.ascontiguousarray(cols[docs]), 0, task.rows)  # columns cut above
    pairs = bucket_pairs(keys, docs.astype(np.int64), rank, cap=task.cap)
    work.save("lsh", f"band-{task.band:03d}", pairs)
    stats = {"pairs": int(pairs.shape[0])}
    work.mark_done("lsh", f"band-{task.band:03d}", stats)
    return stats


def merge_candidates(work: WorkDir, bands: int) -> int:
    """Merge the bands' pairs into one sorted array of distinct candidates; return its size."""
    parts = [work.load("lsh", f"band-{b:03d}") for b in range(bands)]
    cand = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    work.save("verify", "cand", cand)
    return int(cand.shape[0])


@dataclass(frozen=True)
class VerifyTask:
    """Compute the exact Jaccard of one chunk of candidate pairs."""

    work: str
    n_shards: int
    chunk: int


def _gather_sets(work: WorkDir, n_shards: int, docs: NDArray[np.int64]
                 ) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Return the distinct shingle sets of ``docs`` (sorted global numbers), in that order."""
    offsets = shard_offsets(work, n_shards)
    shard_of = np.searchsorted(offsets, docs, side="right") - 1
    pieces: list[NDArray[np.uint32]] = []
    lengths: list[NDArray[np.int64]] = []
    for s in np.unique(shard_of):
        sh = work.load_raw("read", f"{s:05d}.sh", np.uint32)
        shoff = work.load_raw("read", f"{s:05d}.shoff", np.int64)
        local = docs[shard_of == s] - offsets[s]
        starts, counts = shoff[local], shoff[local + 1] - shoff[local]
        pieces.append(gather_slices(sh, starts, counts))
        lengths.append(counts)
    flat_off = np.zeros(docs.shape[0] + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=flat_off[1:])
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
    return distinct_sets(flat, flat_off)


def verify_task(task: VerifyTask) -> dict[str, Any]:
    """Save the Jaccard similarity of every candidate pair in the chunk."""
    work = WorkDir(task.work)
    cand = work.load("verify", "cand", mmap=True)
    part = np.asarray(cand[task.chunk * VERIFY_CHUNK : (task.chunk + 1) * VERIFY_CHUNK])
    u = (part >> np.uint64(32)).astype(np.int64)
    v = (part & np.uint64(0xFFFFFFFF)).astype(np.int64)
    docs = np.unique(np.concatenate((u, v)))
    flat, offsets = _gather_sets(work, task.n_shards, docs)
    sims = jaccard_pairs(flat, offsets, np.searchsorted(docs, u), np.searchsorted(docs, v))
    work.save("verify", f"chunk-{task.chunk:05d}", sims)
    stats = {"pairs": int(part.shape[0])}
    work.mark_done("verify", f"chunk-{task.chunk:05d}", stats)
    return stats


def cluster_stage(work: WorkDir, chunks: int, threshold: float) -> dict[str, Any]:
    """Cluster verified pairs without chaining and decide every record's fate.

    Memory per record: rank (8 bytes, freed before the rest), representative and
    similarity (8 + 8), exact-group leader (8), record numbers (8), the final
    representative and similarity (8 + 8), kind and flags (3): at most 59 bytes, plus
    what the verified pairs need.
    """
    cand = work.load("verify", "cand")
    sims = (np.concatenate([work.load("verify", f"chunk-{c:05d}") for c in range(chunks)])
            if chunks else np.zeros(0))
    hit = sims >= threshold
    u = (cand[hit] >> np.uint64(32)).astype(np.int64)
    v = (cand[hit] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    rep, rep_sim = greedy_clusters(work.load("index", "rank"), u, v, sims[hit])
    leader = work.load("index", "leader")
    final, sim = rep[leader], rep_sim[leader]
    del rep_sim
    own = np.arange(leader.shape[0])
    is_exact = leader != own
    kind = np.full(leader.shape[0], KIND_KEPT, dtype=np.uint8)
    kind[is_exact] = np.where(final[is_exact] == leader[is_exact], KIND_EXACT, KIND_EXACT_NEAR)
    kind[~is_exact & (final != own)] = KIND_NEAR
    del rep, leader, is_exact, own
    ok = work.load("index", "ok")
    kind[~ok] = KIND_REJECTED
    final[~ok] = -1
    sim[kind == KIND_EXACT] = 1.0
    for name, arr in (("rep", final), ("sim", sim), ("kind", kind), ("cand_sim", sims)):
        work.save("cluster", name, arr)
    return {"candidates": int(cand.shape[0]), "verified": int(hit.sum())}
