"""The lsh stage (and merge): bucket each key range of every band into candidate
pairs; merge them into one sorted array."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thresher.core.lsh import bucket_pairs
from thresher.core.sorting import distinct
from thresher.pipeline.counts import PairCounts
from thresher.pipeline.graph import artifact
from thresher.pipeline.workdir import WorkDir

__all__ = ["BandTask", "band_task", "merge_candidates"]

@dataclass(frozen=True, kw_only=True)
class BandTask:
    """One key range of every band: bucket its documents and pair them."""

    work: str
    n_shards: int
    part: int
    bands: int
    cap: int  # a bucket of up to cap + 1 documents gives all its pairs
    heads: int  # a larger one pairs each member with this many (see bucket_pairs)


def band_task(task: BandTask) -> PairCounts:
    """Bucket one key range of every band and save the candidate pairs."""
    work = WorkDir(task.work)
    rank = work.load("index", "rank")
    shards = [work.load_raw("keys", artifact(s, f"p{task.part:04d}"), np.uint64, width=2)
              for s in range(task.n_shards)]
    # Each file holds its rows band after band, in document order (see keys_task), so
    # its (band << 32 | document) column ascends: a band's rows are one slice of it.
    firsts = np.arange(task.bands + 1, dtype=np.uint64) << np.uint64(32)
    cuts = [np.searchsorted(rows[:, 0], firsts) for rows in shards]
    low = np.uint64(0xFFFFFFFF)
    pairs = []
    for b in range(task.bands):  # every shard's rows of the band, shard after shard
        mine = [rows[cut[b]:cut[b + 1]] for rows, cut in zip(shards, cuts, strict=True)]
        docs = np.concatenate([part[:, 0] for part in mine])
        docs &= low  # documents are below 2**32
        pairs.append(bucket_pairs(np.concatenate([part[:, 1] for part in mine]),
                                  docs.view(np.int64), rank, cap=task.cap,
                                  heads=task.heads))
    out = distinct(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.uint64)
    work.save("lsh", f"part-{task.part:04d}", out)
    stats = PairCounts(pairs=int(out.shape[0]))
    work.mark_done("lsh", f"part-{task.part:04d}", stats)
    return stats


def merge_candidates(work: WorkDir, parts_: int) -> int:
    """Merge the key ranges' pairs into one sorted array of distinct candidates."""
    parts = [work.load("lsh", f"part-{p:04d}") for p in range(parts_)]
    cand = distinct(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    work.save("verify", "cand", cand)
    return int(cand.shape[0])
