"""The template and groups stages: how many pages of its site hold each block, and
how many pages each site has (the site statistics the content stage weighs blocks by)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from thresher.core.articles import support
from thresher.core.scope import scope_counts
from thresher.pipeline.counts import GroupCounts, TemplateCounts
from thresher.pipeline.graph import artifact
from thresher.pipeline.stages.articles import article_table, to_articles
from thresher.pipeline.workdir import WorkDir

__all__ = ["PASS_BUDGET", "TemplateTask", "count_groups", "template_task"]


def _key_counts(a: NDArray[np.uint64], articles: NDArray[np.uint64]
                ) -> tuple[NDArray[np.uint64], NDArray[np.int64], int]:
    """Of (key, document) pairs: the distinct keys in order, each one's support (counted
    as :func:`thresher.core.articles.support` says), and the number of distinct pairs."""
    docs = np.ascontiguousarray(a[:, 1])
    return support(np.ascontiguousarray(a[:, 0]), docs, to_articles(docs, articles))


@dataclass(frozen=True, kw_only=True)
class TemplateTask:
    """Count one partition of block keys over all shards."""

    work: str
    n_shards: int
    part: int


PASS_BUDGET = 256 << 20  # bytes of (key, fingerprint) pairs a template task holds at once


def template_task(task: TemplateTask) -> TemplateCounts:
    """Keep the block keys of one partition that occur on two or more distinct documents.

    A partition larger than ``PASS_BUDGET`` is counted in passes, each over a sub-range
    of the keys (the next bits below the partition's), so memory stays within the budget
    whatever the corpus; the result is the same, since a key's pairs all fall in one pass.
    """
    work = WorkDir(task.work)
    articles = article_table(work)
    files = [work.load_raw("read", artifact(s, f"blk{task.part:02d}"), np.uint64, width=2)
             for s in range(task.n_shards)]
    total = sum(f.nbytes for f in files)
    passes = max(1, -(-total // PASS_BUDGET))
    keys_out, counts_out, blocks = [], [], 0
    for q in range(passes):
        chunks = []
        for f in files:
            if passes == 1:
                chunks.append(np.asarray(f))
                continue
            sub = ((f[:, 0] << np.uint64(4)) >> np.uint64(32)).astype(np.int64) * passes >> 32
            chunks.append(np.asarray(f[sub == q]))
        keys, counts, distinct = _key_counts(
            np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.uint64), articles)
        blocks += distinct
        repeated = counts >= 2
        keys_out.append(keys[repeated])
        counts_out.append(counts[repeated].astype(np.uint32))
    keys = np.concatenate(keys_out)
    order = np.argsort(keys)
    work.save("template", f"keys-{task.part:02d}", keys[order])
    work.save("template", f"counts-{task.part:02d}", np.concatenate(counts_out)[order])
    stats = TemplateCounts(blocks=blocks, repeated=int(keys.shape[0]), passes=passes)
    work.mark_done("template", f"part-{task.part:02d}", stats)
    return stats


def count_groups(work: WorkDir, n_shards: int) -> GroupCounts:
    """Count the pages of every site (its texts; 1 where they are all one article); save
    the sorted table."""
    pairs = np.concatenate(
        [work.load_raw("read", artifact(s, "grp"), np.uint64, width=2) for s in range(n_shards)]
        or [np.zeros((0, 2), dtype=np.uint64)])
    keys, counts, _ = _key_counts(pairs, article_table(work))
    work.save("template", "group_keys", keys)
    work.save("template", "group_pages", counts.astype(np.int64))
    return GroupCounts(groups=int(keys.shape[0]), largest=int(counts.max(initial=0)),
                       scope=scope_counts(pairs[:, 0], keys))
