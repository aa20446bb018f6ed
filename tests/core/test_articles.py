"""Crawls of one article are one article; pages that share only a site's blocks are not."""

from __future__ import annotations

import numpy as np

from thresher.core.articles import SIG_WIDTH, article_of, long_block_sigs, support

LONG = 12.0  # words: a paragraph
SHORT = 3.0


def _sigs(docs: list[list[tuple[int, float]]]) -> np.ndarray:
    """Min-hashes of documents given as (block key, words) lists, the title first."""
    offsets = np.cumsum([0] + [len(d) for d in docs])
    keys = np.array([k for d in docs for k, _ in d], dtype=np.uint64)
    words = np.array([w for d in docs for _, w in d])
    return long_block_sigs(offsets, keys, words)


def _article(body: list[int], tail: int) -> list[tuple[int, float]]:
    return [(1, 5.0)] + [(k, LONG) for k in body] + [(tail, LONG)]


def test_crawls_with_other_tails_are_one_article() -> None:
    body = list(range(100, 108))
    docs = [_article(body, 900 + i) for i in range(6)]
    keys = np.arange(10, 16, dtype=np.uint64)
    leads = np.full((6, 1), 77, dtype=np.uint64)
    moved, to = article_of(keys, leads, _sigs(docs))
    assert moved.tolist() == [11, 12, 13, 14, 15]
    assert to.tolist() == [10] * 5


def test_pages_sharing_a_title_and_a_notice_stay_apart() -> None:
    # every page of the site has the same first line and the same long notice
    docs = [[(1, 5.0), (555, LONG)] + [(1000 * i + k, LONG) for k in range(5)]
            for i in range(8)]
    keys = np.arange(1, 9, dtype=np.uint64)
    moved, _ = article_of(keys, np.full((8, 1), 3, dtype=np.uint64), _sigs(docs))
    assert moved.shape[0] == 0


def test_no_lead_or_no_long_block_joins_nothing() -> None:
    same = [_article([5, 6, 7], 8)] * 2
    keys = np.array([1, 2], dtype=np.uint64)
    assert article_of(keys, np.zeros((2, 1), dtype=np.uint64), _sigs(same))[0].shape[0] == 0
    menus = [[(1, 5.0), (2, SHORT), (3, SHORT)]] * 2
    sigs = _sigs(menus)
    assert (sigs == np.uint32(0xFFFFFFFF)).all() and sigs.shape == (2, SIG_WIDTH)
    assert article_of(keys, np.ones((2, 1), dtype=np.uint64), sigs)[0].shape[0] == 0


def test_the_order_of_rows_does_not_matter() -> None:
    rng = np.random.default_rng(3)
    docs = [_article(list(range(100 * a, 100 * a + 6)), 5000 + i)
            for a in range(4) for i in range(5)]
    keys = rng.permutation(np.arange(1, 21, dtype=np.uint64) * 7919)
    leads = np.repeat(np.arange(1, 5, dtype=np.uint64), 5)[:, None]
    sigs = _sigs(docs)
    first = article_of(keys, leads, sigs)
    order = rng.permutation(20)
    again = article_of(keys[order], leads[order], sigs[order])
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert np.unique(first[1]).shape[0] == 4  # four articles, each named by one key


def test_support_counts_texts_only_across_articles() -> None:
    # block 7: on three crawls of one article; block 9: on those and on another article
    keys = np.array([7, 7, 7, 9, 9, 9, 9], dtype=np.uint64)
    docs = np.array([1, 2, 3, 1, 2, 3, 4], dtype=np.uint64)
    arts = np.array([1, 1, 1, 1, 1, 1, 4], dtype=np.uint64)
    out_keys, counts, pairs = support(keys, docs, arts)
    assert out_keys.tolist() == [7, 9]
    assert counts.tolist() == [1, 4]
    assert pairs == 7
    # without articles joined, support is the distinct documents, as it always was
    assert support(keys, docs, docs)[1].tolist() == [3, 4]
