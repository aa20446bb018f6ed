"""The ``articles`` stage: which documents of each site are copies of one article.

Pass one (the read stage) writes, per shard, a row for every usable document: its site,
its leads (the site's title line, its page) and its document key, and the min-hashes of
its long blocks (``core/articles.py`` says how they decide). This stage joins them one
partition of sites per task, so what it holds is a share of the documents, never all of
them, and saves the documents that belong to a larger article with the article's key.

The ``template`` stage then counts a block's support in articles: a block on ten
crawls of one article counts once, as a block on ten exact copies always did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from thresher.core.articles import SIG_WIDTH, article_of
from thresher.pipeline.counts import ArticleCounts
from thresher.pipeline.graph import artifact
from thresher.pipeline.workdir import WorkDir

__all__ = ["PARTS", "ArticleTask", "article_table", "article_task",
           "to_articles"]

PARTS = 16  # partitions of sites (top four bits of the site key), one task each
_SHIFT = np.uint64(60)
_WIDTH = 4  # site, title lead, page lead, document key


@dataclass(frozen=True, kw_only=True)
class ArticleTask:
    """Join the documents of one partition of sites into articles."""

    work: str
    n_shards: int
    part: int


def article_task(task: ArticleTask) -> ArticleCounts:
    """Save the documents of this partition's sites that belong to a larger article."""
    work = WorkDir(task.work)
    rows, sigs = [], []
    for s in range(task.n_shards):
        art = work.load_raw("read", artifact(s, "art"), np.uint64, width=_WIDTH)
        mine = (np.asarray(art[:, 0]) >> _SHIFT).astype(np.int64) == task.part
        rows.append(np.asarray(art[mine]))
        sigs.append(np.asarray(work.load_raw("read", artifact(s, "asig"), np.uint32,
                                             width=SIG_WIDTH)[mine]))
    row = np.concatenate(rows) if rows else np.zeros((0, _WIDTH), dtype=np.uint64)
    sig = np.concatenate(sigs) if sigs else np.zeros((0, SIG_WIDTH), dtype=np.uint32)
    keys, articles = article_of(row[:, 3], row[:, 1:3], sig)
    work.save("articles", f"map-{task.part:02d}", np.stack((keys, articles), axis=1))
    stats = ArticleCounts(documents=int(row.shape[0]), joined=int(keys.shape[0]))
    work.mark_done("articles", f"part-{task.part:02d}", stats)
    return stats


def article_table(work: WorkDir) -> NDArray[np.uint64]:
    """The joined documents of every partition, (key, article) rows sorted by key."""
    maps = [work.load("articles", f"map-{p:02d}") for p in range(PARTS)]
    table = np.concatenate(maps) if maps else np.zeros((0, 2), dtype=np.uint64)
    return np.ascontiguousarray(table[np.argsort(table[:, 0], kind="stable")])


def to_articles(docs: NDArray[np.uint64], table: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Each document key's article: the key itself unless ``table`` joins it to another.

    Examples:
        >>> to_articles(np.array([5, 7], dtype=np.uint64),
        ...             np.array([[7, 2]], dtype=np.uint64)).tolist()
        [5, 2]
    """
    out = np.array(docs, dtype=np.uint64, copy=True)
    if not table.shape[0] or not docs.shape[0]:
        return out
    at = np.minimum(np.searchsorted(table[:, 0], docs), table.shape[0] - 1)
    hit = table[at, 0] == docs
    out[hit] = table[at[hit], 1]
    return out
