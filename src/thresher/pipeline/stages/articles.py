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

from thresher.core.articles import (
    SIG_WIDTH,
    TITLE_MAX_WORDS,
    TITLE_MIN_WORDS,
    article_of,
    long_block_sigs,
)
from thresher.core.blocks import Blocks
from thresher.pipeline.counts import ArticleCounts
from thresher.pipeline.graph import artifact
from thresher.pipeline.workdir import WorkDir

__all__ = ["PARTS", "ArticleTask", "article_rows", "article_table", "article_task",
           "to_articles"]

PARTS = 16  # partitions of sites (top four bits of the site key), one task each
_SHIFT = np.uint64(60)
_WIDTH = 4  # site, title lead, page lead, document key


def article_rows(blocks: Blocks, keys: NDArray[np.uint64], ghash: NDArray[np.uint64],
                 *, docs: NDArray[np.uint64], pages: NDArray[np.uint64],
                 known: NDArray[np.bool_]) -> tuple[NDArray[np.uint64], NDArray[np.uint32]]:
    """Each document's row (site, title lead, page lead, document key) and min-hashes.

    ``keys``: the blocks' site keys; ``docs``: the documents' keys; ``pages``: their page
    keys (0: none); ``known``: whether their site is known. The title lead is the site
    key of the first line, where the document has more lines and that one is
    title-sized; leads are 0 where absent, and where the site is not known: among pages
    of every site at once, a shared title and paragraphs are the mark of a copy (which
    matching finds), not of another crawl of one page.
    """
    first = blocks.doc_offsets[:-1]
    has = blocks.doc_offsets[1:] > first + 1
    at = np.minimum(first, max(keys.shape[0] - 1, 0))
    title = np.zeros(first.shape[0], dtype=np.uint64)
    if keys.shape[0]:
        words = blocks.stats[at, 0]
        ok = has & known & (words >= TITLE_MIN_WORDS) & (words <= TITLE_MAX_WORDS)
        title[ok] = keys[at[ok]] | np.uint64(1)
    with np.errstate(over="ignore"):
        page = np.where((pages != 0) & known, (pages ^ ghash) * np.uint64(0x9E3779B97F4A7C15) | 1,
                        0).astype(np.uint64)
    rows = np.stack((ghash, title, page, docs), axis=1).astype(np.uint64)
    return rows, long_block_sigs(blocks.doc_offsets, blocks.key, blocks.stats[:, 0])


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
