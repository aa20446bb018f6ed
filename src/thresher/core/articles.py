"""Articles, not texts: which documents of a site are copies of one article.

A block's support on its site (on how many pages it recurs) tells a template from an
article only if a page counts once. A page crawled ten times, with a different related
story under it each time, is ten distinct texts but one article: counted by text, its
paragraphs recur on ten pages and look like the site's template.

Two documents of one site are taken for one article when they share a *lead* (the same
title line, or the same page address) **and** their long blocks (paragraphs of
``LONG_WORDS`` words or more, the title left out) are mostly the same: an estimated
Jaccard similarity of at least ``SAME_ARTICLE`` between the sets, from ``SIG_WIDTH``
one-permutation min-hashes. The lead alone is no proof: a site may give every page the
same title line ("Home", its name), and one address may serve new text every day; what
the two documents say beyond the site's own blocks decides. Documents with no long block
are never joined this way (a list of links is not an article that can be told apart).

Within a lead, each document is compared with the first ``HEADS`` distinct articles of
that lead only (in a fixed order), so a lead that every page of a huge site shares costs
a few comparisons per page, not one per pair. The joins are closed transitively (union
find): an article is the set of documents so joined, named by its smallest key.

What a block's support then counts (:func:`support`): the distinct texts that carry it
where two or more articles do, and 1 where only one article does. Crawls of one article
in other wrappers thus leave its paragraphs unique on their site, while what the site
puts around them still recurs on every text, as many times as it was crawled: the
evidence that tells template from article is kept, only the false evidence goes. A site
of one article has no template to find: its pages count 1 (the same rule, over sites).

Everything here is a pure function of arrays; the order of the input does not change
the result.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.blocks import Blocks
from thresher.core.hashing import fmix64
from thresher.core.sorting import stable_sort

__all__ = ["HEADS", "LONG_WORDS", "SAME_ARTICLE", "SIG_WIDTH", "TITLE_MAX_WORDS",
           "TITLE_MIN_WORDS", "article_of", "article_rows", "long_block_sigs", "support"]

LONG_WORDS = 8  # a block of this many words can be a paragraph of the article
SIG_WIDTH = 16  # min-hashes per document: enough to tell 0.5 from 0.2 with few errors
SAME_ARTICLE = 0.5  # the share of equal min-hashes that makes two documents one article
HEADS = 4  # distinct articles per lead a document is compared with
TITLE_MIN_WORDS = 2  # a shorter first line ("Menu", "Home") names no article
TITLE_MAX_WORDS = 30  # a longer one is a paragraph, not a title
_EMPTY = np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def _sigs(doc_offsets, keys, words, long_words, width, out):  # type: ignore[no-untyped-def]
    for d in range(doc_offsets.shape[0] - 1):
        for b in range(doc_offsets[d] + 1, doc_offsets[d + 1]):  # the title left out
            if words[b] < long_words:
                continue
            for j in range(width):
                h = np.uint32(fmix64(keys[b] ^ np.uint64(0x9E3779B97F4A7C15 * (j + 1)))
                              >> np.uint64(32))
                out[d, j] = min(out[d, j], h)


def long_block_sigs(doc_offsets: NDArray[np.int64], keys: NDArray[np.uint64],
                    words: NDArray[np.float64]) -> NDArray[np.uint32]:
    """Return each document's ``SIG_WIDTH`` min-hashes over its long blocks' keys (the
    first block, its title, left out); all ``0xFFFFFFFF`` where it has none.

    Examples:
        >>> off = np.array([0, 3, 6]); keys = np.array([1, 2, 3, 9, 2, 3], dtype=np.uint64)
        >>> words = np.full(6, 10.0)
        >>> s = long_block_sigs(off, keys, words)
        >>> bool((s[0] == s[1]).all())  # the same paragraphs under other titles
        True
    """
    out = np.full((doc_offsets.shape[0] - 1, SIG_WIDTH), _EMPTY, dtype=np.uint32)
    _sigs(doc_offsets, keys, words, LONG_WORDS, SIG_WIDTH, out)
    return out


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


@njit(cache=True, nogil=True)
def _find(parent, x):  # type: ignore[no-untyped-def]
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _same(a, b, need):  # type: ignore[no-untyped-def]
    if a[0] == 0xFFFFFFFF or b[0] == 0xFFFFFFFF:  # no long block: nothing to go by
        return False
    equal = 0
    for j in range(a.shape[0]):
        equal += a[j] == b[j]
    return equal >= need


@njit(cache=True, nogil=True)
def _join_leads(leads, node, sigs, order, parent, heads, need):  # type: ignore[no-untyped-def]
    """Over rows in ``order`` (by lead, then key): join each row's node with the first
    head of its lead whose long blocks match; a row that matches none becomes a head."""
    n = order.shape[0]
    i = 0
    while i < n:
        j = i
        while j < n and leads[order[j]] == leads[order[i]]:
            j += 1
        if leads[order[i]] != 0:
            at = np.empty(heads, dtype=np.int64)
            m = 0
            for k in range(i, j):
                r = order[k]
                joined = False
                for h in range(m):
                    if _same(sigs[r], sigs[at[h]], need):
                        a, b = _find(parent, node[r]), _find(parent, node[at[h]])
                        if a != b:
                            parent[max(a, b)] = min(a, b)
                        joined = True
                        break
                if not joined and m < heads:
                    at[m] = r
                    m += 1
        i = j


def article_of(keys: NDArray[np.uint64], leads: NDArray[np.uint64],
               sigs: NDArray[np.uint32]) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """Return the distinct document ``keys`` that belong to a larger article, sorted, and
    the article (its smallest key) of each.

    ``keys``: one per row (a row per document; exact copies share a key and may repeat);
    ``leads``: (rows, L) lead keys (0: none), e.g. the site's title line and the page;
    ``sigs``: the rows' :func:`long_block_sigs`. A key left out is its own article.

    Examples:
        >>> sig = np.arange(16, dtype=np.uint32)[None, :].repeat(3, 0)
        >>> leads = np.array([[5], [5], [6]], dtype=np.uint64)
        >>> article_of(np.array([30, 20, 10], dtype=np.uint64), leads, sig)
        (array([30], dtype=uint64), array([20], dtype=uint64))
    """
    nodes, node = np.unique(keys, return_inverse=True)
    parent = np.arange(nodes.shape[0], dtype=np.int64)
    need = int(np.ceil(SAME_ARTICLE * SIG_WIDTH))
    sigs = np.ascontiguousarray(sigs, dtype=np.uint32)
    for col in range(leads.shape[1]):
        lead = np.ascontiguousarray(leads[:, col])
        order = np.lexsort((keys, lead)).astype(np.int64)
        _join_leads(lead, node.astype(np.int64), sigs, order, parent, HEADS, need)
    roots = _roots(parent)
    moved = roots != np.arange(nodes.shape[0])
    # union by the smaller index keeps every root the smallest key of its article
    return nodes[moved], nodes[roots[moved]]


@njit(cache=True, nogil=True)
def _roots(parent):  # type: ignore[no-untyped-def]
    out = np.empty(parent.shape[0], dtype=np.int64)
    for x in range(parent.shape[0]):
        out[x] = _find(parent, x)
    return out


@njit(cache=True, nogil=True)
def _distinct(values):  # type: ignore[no-untyped-def]
    if values.shape[0] < 2:
        return values.shape[0]
    run = np.sort(values)
    count = 1
    for k in range(1, run.shape[0]):
        count += run[k] != run[k - 1]
    return count


@njit(cache=True, nogil=True)
def _supports(keys, docs, arts, out_keys, out_counts):  # type: ignore[no-untyped-def]
    n = keys.shape[0]
    m = 0
    pairs = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        texts = _distinct(docs[i:j])
        out_keys[m] = keys[i]
        out_counts[m] = texts if texts == 1 or _distinct(arts[i:j]) >= 2 else 1
        m += 1
        pairs += texts
        i = j
    return m, pairs


def support(keys: NDArray[np.uint64], docs: NDArray[np.uint64], arts: NDArray[np.uint64]
            ) -> tuple[NDArray[np.uint64], NDArray[np.int64], int]:
    """Of (key, document, article) rows: the distinct keys in order, each one's support
    (its distinct documents where two or more articles carry it, else 1), and the number
    of distinct (key, document) pairs.

    Examples:
        >>> keys = np.array([7, 7, 7, 9, 9], dtype=np.uint64)
        >>> docs = np.array([1, 2, 3, 1, 4], dtype=np.uint64)
        >>> support(keys, docs, np.array([1, 1, 1, 1, 4], dtype=np.uint64))[1].tolist()
        [1, 2]
    """
    order, sorted_keys = stable_sort(np.ascontiguousarray(keys, dtype=np.uint64))
    out_keys = np.empty(sorted_keys.shape[0], dtype=np.uint64)
    out_counts = np.empty(sorted_keys.shape[0], dtype=np.int64)
    m, pairs = _supports(sorted_keys, np.ascontiguousarray(docs[order]),
                         np.ascontiguousarray(arts[order]), out_keys, out_counts)
    return out_keys[:m].copy(), out_counts[:m].copy(), int(pairs)
