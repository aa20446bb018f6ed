"""What the matching stages share: the kinds of decision and of match, the match rule,
and reading per-record arrays by global record number.

The stages themselves are in :mod:`thresher.pipeline.stages` (index, keys, lsh, verify,
edges); the clustering that follows is in :mod:`thresher.pipeline.stages.cluster`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.rule import (
    EDGE_NEAR,
    EDGE_PARTIAL,
    EDGE_SAME_CONTENT,
    EDGE_TITLE,
    WAY_BWD,
    WAY_FWD,
    MatchRule,
    ways_of,
)
from thresher.core.sorting import distinct
from thresher.core.verify import distinct_sets, gather_slices
from thresher.pipeline.graph import artifact
from thresher.pipeline.workdir import WorkDir

__all__ = [
    "EDGE_NEAR",
    "EDGE_PARTIAL",
    "EDGE_SAME_CONTENT",
    "EDGE_TITLE",
    "KIND_EXACT",
    "KIND_EXACT_NEAR",
    "KIND_KEPT",
    "KIND_NEAR",
    "KIND_PARTIAL",
    "KIND_REJECTED",
    "KIND_SAME_CONTENT",
    "KIND_TITLE",
    "SIMILARITY_BINS",
    "VERIFY_CHUNK",
    "WAY_BWD",
    "WAY_FWD",
    "MatchRule",
    "active_docs",
    "content_chars",
    "edge_ways",
    "gather_sets",
    "overlay",
    "per_doc",
    "shard_offsets",
    "ways_of",
]

(KIND_KEPT, KIND_EXACT, KIND_NEAR, KIND_EXACT_NEAR, KIND_REJECTED, KIND_PARTIAL,
 KIND_TITLE, KIND_SAME_CONTENT) = range(8)
# KIND_EXACT: the same whole text (normalized); KIND_SAME_CONTENT: matching on content, the
# same content in a different whole text (another wrapper, other chrome).
VERIFY_CHUNK = 50_000  # pairs per task: bounds the shingle sets a task holds


def shard_offsets(work: WorkDir, n_shards: int) -> NDArray[np.int64]:
    """Return where each shard's records start in the global numbering (and the total)."""
    sizes = [work.load_raw("read", artifact(s, "mode"), np.uint8).shape[0]
             for s in range(n_shards)]
    offsets = np.zeros(n_shards + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets


def overlay(keys: NDArray[np.int64], lo: int, hi: int) -> slice:
    """The slice of sorted record numbers ``keys`` that falls in records ``lo`` to ``hi``."""
    return slice(int(np.searchsorted(keys, lo)), int(np.searchsorted(keys, hi)))


def active_docs(work: WorkDir, lo: int, hi: int) -> NDArray[np.int64]:
    """Return the records ``lo`` to ``hi`` that take part in LSH, as offsets from ``lo``:
    usable, and not an exact copy of another."""
    mask = np.asarray(work.load("index", "ok", mmap=True)[lo:hi]).copy()
    exact = work.load("index", "exact_doc", mmap=True)
    mask[np.asarray(exact[overlay(exact, lo, hi)]) - lo] = False
    return np.flatnonzero(mask)


def gather_sets(work: WorkDir, n_shards: int, docs: NDArray[np.int64], *, src: str
                 ) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Return the distinct shingle sets of ``docs`` (sorted global numbers), in that order."""
    offsets = shard_offsets(work, n_shards)
    shard_of = np.searchsorted(offsets, docs, side="right") - 1
    pieces: list[NDArray[np.uint32]] = []
    lengths: list[NDArray[np.int64]] = []
    for s in distinct(shard_of):
        sh = work.load_raw(src, artifact(s, "sh"), np.uint32)
        shoff = work.load_raw(src, artifact(s, "shoff"), np.int64)
        local = docs[shard_of == s] - offsets[s]
        starts, counts = shoff[local], shoff[local + 1] - shoff[local]
        pieces.append(gather_slices(sh, starts, counts))
        lengths.append(counts)
    flat_off = np.zeros(docs.shape[0] + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=flat_off[1:])
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
    return distinct_sets(flat, flat_off)


SIMILARITY_BINS = 20  # the verified candidates' Jaccard, accepted and not, in the summary


def edge_ways(work: WorkDir, n_shards: int, u: NDArray[np.int64], *, v: NDArray[np.int64],
              why: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Return which way each match may go: a partial match (containment) only to a
    document whose content is not much shorter (:func:`~thresher.core.cluster.may_take`),
    sizes being the content spans' characters; a near or title match either way.

    A title match says two pages of one site under one title are crawls of one article:
    what one holds beyond the other is the site's own blocks that cleaning kept (related
    stories, comments), not text found nowhere else. Directed too, they cost recall on
    crawlbench-dev (re-crawls 0.963 to 0.954, syndicated copies 0.897 to 0.884) for no
    precision.
    """
    if not (why == EDGE_PARTIAL).any():  # every match goes both ways: no sizes needed
        return np.full(u.shape[0], WAY_FWD | WAY_BWD, dtype=np.uint8)
    size = content_chars(work, n_shards, np.concatenate((u, v)))
    return ways_of(why, size[:u.shape[0]], size[u.shape[0]:])


def content_chars(work: WorkDir, n_shards: int, docs: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return each document's content size: the characters of its content span."""
    span = per_doc(work, n_shards, docs, part="span", dtype=np.int64, width=2)
    size: NDArray[np.int64] = span[:, 1] - span[:, 0]
    return size


def per_doc(work: WorkDir, n_shards: int, docs: NDArray[np.int64], *, part: str,
            dtype: type[Any] = np.uint64, width: int = 0, stage: str = "content"
            ) -> NDArray[Any]:
    """Return a stage's per-record ``part`` of each document (global numbers): the
    content stage's site, title or page key, or with ``width`` a row (its span; the
    read stage's whole-text fingerprint), reading shard by shard (memory sized by
    ``docs``)."""
    offsets = shard_offsets(work, n_shards)
    out = np.zeros((docs.shape[0], width) if width else docs.shape[0], dtype=dtype)
    shard_of = np.searchsorted(offsets, docs, side="right") - 1
    for s in distinct(shard_of):
        mask = shard_of == s
        rows = work.load_raw(stage, artifact(s, part), dtype, width=width)
        out[mask] = rows[docs[mask] - offsets[s]]
    return out
