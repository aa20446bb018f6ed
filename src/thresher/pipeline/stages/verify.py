"""The verify stage: the exact Jaccard and containment of each candidate pair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thresher.core.sorting import distinct
from thresher.core.verify import overlaps
from thresher.pipeline.counts import PairCounts
from thresher.pipeline.graph import numbered
from thresher.pipeline.match import VERIFY_CHUNK, gather_sets
from thresher.pipeline.workdir import WorkDir

__all__ = ["VerifyTask", "verify_task"]

@dataclass(frozen=True, kw_only=True)
class VerifyTask:
    """Compute the exact Jaccard of one chunk of candidate pairs."""

    work: str
    n_shards: int
    chunk: int
    src: str = "read"


def verify_task(task: VerifyTask) -> PairCounts:
    """Save the Jaccard similarity and containment of every candidate pair in the chunk.

    Containment is the share of the smaller document's distinct shingles that the other
    holds; it is saved next to the similarity (``chunk-N`` and ``cont-N``).
    """
    work = WorkDir(task.work)
    cand = work.load("verify", "cand", mmap=True)
    part = np.asarray(cand[task.chunk * VERIFY_CHUNK : (task.chunk + 1) * VERIFY_CHUNK])
    u = (part >> np.uint64(32)).astype(np.int64)
    v = (part & np.uint64(0xFFFFFFFF)).astype(np.int64)
    docs = distinct(np.concatenate((u, v)))
    flat, offsets = gather_sets(work, task.n_shards, docs, src=task.src)
    sims, inter, cont = overlaps(flat, offsets, np.searchsorted(docs, u),
                                 right=np.searchsorted(docs, v))
    work.save("verify", numbered("chunk", task.chunk), sims)
    work.save("verify", numbered("cont", task.chunk), cont)
    work.save("verify", numbered("inter", task.chunk), inter.astype(np.int64))
    stats = PairCounts(pairs=int(part.shape[0]))
    work.mark_done("verify", numbered("chunk", task.chunk), stats)
    return stats
