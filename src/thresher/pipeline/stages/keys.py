"""The keys stage: each shard's LSH band keys, spilled to files by key range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from thresher.core.lsh import band_keys
from thresher.core.sorting import group_order
from thresher.pipeline.counts import KeyCounts
from thresher.pipeline.graph import artifact, shard_key
from thresher.pipeline.match import active_docs, shard_offsets
from thresher.pipeline.workdir import WorkDir

__all__ = ["KeysTask", "keys_task", "lsh_parts"]

PART_BUDGET = 256 << 20  # bytes of band keys one LSH task may hold


MIN_PARTS = 8  # enough tasks to keep workers busy on a small corpus


def lsh_parts(n_active: int, bands: int) -> int:
    """Return how many key ranges the band keys are cut into (24 bytes per key)."""
    return max(MIN_PARTS, -(-(n_active * bands * 24) // PART_BUDGET))


@dataclass(frozen=True, kw_only=True)
class KeysTask:
    """Write one shard's band keys, every band, into files by key range."""

    work: str
    n_shards: int
    shard: int
    bands: int
    rows: int
    columns: int  # signature values kept per document
    parts: int
    src: str = "read"  # the stage whose sketches are matched: read (whole text) or content
    titles: bool = False  # one more band: pages of a site under the same title
    pages: bool = False  # one more band (after the titles'): records of the same page


def keys_task(task: KeysTask) -> KeyCounts:
    """Spill the shard's (band << 32 | document, key) rows to ``parts`` files by the key's
    top bits.

    Every bucket of a band lands whole in one file, so each range can be bucketed on its
    own; rows are written band after band, each in document order, which the bucketing
    keeps (and relies on: a band's rows are one slice of each file). With ``titles``,
    band number ``bands`` holds the content stage's title keys, so that two pages of a
    site under one title are compared whatever their sketches say; with ``pages``, the
    next band holds its page keys, so that two records of one address are compared even
    when one holds much more than the other (an extract and its page's whole text).
    """
    work = WorkDir(task.work)
    offsets = shard_offsets(work, task.n_shards)
    lo, hi = int(offsets[task.shard]), int(offsets[task.shard + 1])
    local = active_docs(work, lo, hi)
    sig = work.load_raw(task.src, artifact(task.shard, "sig"), np.uint32, width=task.columns)
    sig = np.ascontiguousarray(sig[local])
    docs = (local + lo).astype(np.uint64)  # below 2**32: pairs pack two of them
    out = [work.appender("keys", artifact(task.shard, f"p{p:04d}")) for p in range(task.parts)]

    def spill(band: int, keys: NDArray[np.uint64], owners: NDArray[np.uint64]) -> None:
        """One band's rows of the shard (they fit in cache), dealt to the parts in one
        stable pass."""
        which = (keys >> np.uint64(32)).astype(np.int64) * task.parts >> 32
        order, bounds = group_order(which, task.parts)
        rows = np.stack(((np.uint64(band) << np.uint64(32)) | owners, keys), axis=1)[order]
        for p in range(task.parts):
            out[p].write(rows[bounds[p]:bounds[p + 1]])

    for b in range(task.bands):
        spill(b, band_keys(np.ascontiguousarray(sig[:, b * task.rows:(b + 1) * task.rows]),
                           0, task.rows), docs)
    extra = [part for part, on in (("title", task.titles), ("page", task.pages)) if on]
    for band, part in enumerate(extra, task.bands):
        key = work.load_raw("content", artifact(task.shard, part), np.uint64)[local]
        has = key != 0
        spill(band, np.ascontiguousarray(key[has]), docs[has])
    for f in out:
        f.close()
    stats = KeyCounts(documents=int(local.shape[0]))
    work.mark_done("keys", shard_key(task.shard), stats)
    return stats
