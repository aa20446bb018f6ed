"""A page's first line as evidence of which article it holds: within its site (title
keys) and across sites (headline keys).

Both read the first block of each document, with the site statistics of the block
model: ``counts`` (per block, the pages of its site that carry it) and ``pages`` (per
document, its site's pages). A first line that most pages of a site carry ("Search
results", the site's name) is the site's template and names no article.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from thresher.core.blocks import MIN_SITE_PAGES, Blocks

__all__ = ["TITLE_MAX_WORDS", "first_keys", "head_keys", "title_keys"]

TITLE_MAX_WORDS = 30  # a longer first line is a paragraph, not a title


def first_keys(blocks: Blocks) -> NDArray[np.uint64]:
    """Return each document's first block's own key (the same on every site; 0 for a
    document without blocks)."""
    first = blocks.doc_offsets[:-1]
    out = np.zeros(first.shape[0], dtype=np.uint64)
    has = blocks.doc_offsets[1:] > first
    out[has] = blocks.key[first[has]]
    return out


def _first_lines(blocks: Blocks, counts: NDArray[np.int64], pages: NDArray[np.int64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Each document's first block, and whether it may be a title: the document has more
    than one line, the line has 1 to ``TITLE_MAX_WORDS`` words, and it is not the
    template of a site large enough to tell (more than half of its pages carry it)."""
    first = blocks.doc_offsets[:-1]
    has = blocks.doc_offsets[1:] > first + 1
    at = np.minimum(first, max(blocks.start.shape[0] - 1, 0))
    if not blocks.start.shape[0]:
        return at, np.zeros(first.shape[0], dtype=bool)
    words = blocks.stats[at, 0]
    template = (pages >= MIN_SITE_PAGES) & (2 * counts[at] > pages)
    return at, has & (words >= 1) & (words <= TITLE_MAX_WORDS) & ~template


def title_keys(blocks: Blocks, keys: NDArray[np.uint64], counts: NDArray[np.int64],
               *, pages: NDArray[np.int64]) -> NDArray[np.uint64]:
    """Return each document's title key where its title names one article of its site, else 0.

    The title is the first line of a document of more than one line, of 1 to
    ``TITLE_MAX_WORDS`` words. It is evidence only on a site with enough pages to tell a
    template from an article (``MIN_SITE_PAGES``), and when no more than half of the
    site's pages carry it: a short first line that most pages carry ("Menu", "Home") is
    the template, one that a single page carries ("Pricing") names that page. ``keys``
    are the blocks' site keys, so that a title key stands for one title on one site.
    """
    at, ok = _first_lines(blocks, counts, pages)
    out = np.zeros(at.shape[0], dtype=np.uint64)
    if not keys.shape[0]:
        return out
    ok &= pages >= MIN_SITE_PAGES
    out[ok] = keys[at[ok]] | np.uint64(1)  # never 0
    return out


def head_keys(blocks: Blocks, firsts: NDArray[np.uint64], counts: NDArray[np.int64],
              *, pages: NDArray[np.int64]) -> NDArray[np.uint64]:
    """Return each document's headline key (its first line, whatever the site), else 0.

    Any first line that may be a title counts, one word included: the key only ever
    keeps two pages apart (a partial match between pages under different headlines is
    refused, :func:`thresher.core.cluster.headlines_allow`), so what matters is that a
    copied article keeps its headline, not that the headline be specific. ``firsts`` are
    the documents' first blocks' own keys (:func:`first_keys`: case-folded words, digit
    runs masked), the same on every site.

    Example:
        >>> from thresher.core.blocks import split_blocks
        >>> b = split_blocks(["Storm hits coast\\nbody", "STORM hits coast\\nother",
        ...                   "one line"])
        >>> k = head_keys(b, first_keys(b), np.ones(b.key.shape[0], np.int64),
        ...               pages=np.ones(3, np.int64))
        >>> bool(k[0] == k[1] != 0), int(k[2])
        (True, 0)
    """
    at, ok = _first_lines(blocks, counts, pages)
    out = np.zeros(at.shape[0], dtype=np.uint64)
    out[ok] = firsts[ok] | np.uint64(1)  # never 0
    return out
