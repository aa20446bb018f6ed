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

from thresher.core.blocks import STAT_NAMES, Blocks
from thresher.core.features import MIN_SITE_PAGES

__all__ = ["HEADLINE", "TITLE_MAX_WORDS", "first_keys", "head_keys", "title_keys"]

TITLE_MAX_WORDS = 30  # a longer first line is a paragraph, not a title
# The low bits of a headline key: a headline, or a short first line without letters.
HEADLINE, _LETTERLESS = np.uint64(1), np.uint64(2)
_WORD_CHARS, _DIGITS = STAT_NAMES.index("word_chars"), STAT_NAMES.index("digits")


def first_keys(blocks: Blocks) -> NDArray[np.uint64]:
    """Return each document's first block's own key (the same on every site; 0 for a
    document without blocks)."""
    first = blocks.doc_offsets[:-1]
    out = np.zeros(first.shape[0], dtype=np.uint64)
    has = blocks.doc_offsets[1:] > first
    out[has] = blocks.key[first[has]]
    return out


def _first_lines(blocks: Blocks, counts: NDArray[np.int64], pages: NDArray[np.int64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Each document's first block, whether it may be a title, and whether it is a short
    line without letters.

    It may be a title where the document has more than one line, the line has 1 to
    ``TITLE_MAX_WORDS`` words, and it is not the template of a site large enough to tell
    (more than half of its pages carry it). Within a site any such line tells one page
    from another, "#10" from "Reviews"; across sites a short first line without letters
    (a number, a rule, a symbol: a list's first item, a counter, a page number) is no
    headline (:func:`head_keys`).
    """
    first = blocks.doc_offsets[:-1]
    has = blocks.doc_offsets[1:] > first + 1
    at = np.minimum(first, max(blocks.start.shape[0] - 1, 0))
    if not blocks.start.shape[0]:
        none = np.zeros(first.shape[0], dtype=bool)
        return at, none, none.copy()
    words = blocks.stats[at, 0]
    # digits are counted among a word's characters: none left over, no letters
    letterless = blocks.stats[at, _WORD_CHARS] <= blocks.stats[at, _DIGITS]
    template = (pages >= MIN_SITE_PAGES) & (2 * counts[at] > pages)
    short = has & (words <= TITLE_MAX_WORDS)
    return at, short & (words >= 1) & ~template, short & letterless


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
    at, ok, _ = _first_lines(blocks, counts, pages)
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

    A short first line without letters (:func:`_first_lines`) has a key too, with
    ``HEADLINE`` clear: it names no article, but it tells that the page does not start
    with another page's headline either.

    Example:
        >>> from thresher.core.blocks import split_blocks
        >>> b = split_blocks(["Storm hits coast\\nbody", "STORM hits coast\\nother",
        ...                   "one line", "17\\nbody"])
        >>> k = head_keys(b, first_keys(b), np.ones(b.key.shape[0], np.int64),
        ...               pages=np.ones(4, np.int64))
        >>> bool(k[0] == k[1] != 0), int(k[2]), int(k[3] & HEADLINE), int(k[3]) != 0
        (True, 0, 0, True)
    """
    at, ok, letterless = _first_lines(blocks, counts, pages)
    out = np.zeros(at.shape[0], dtype=np.uint64)
    ok &= ~letterless
    out[ok] = firsts[ok] | HEADLINE  # never 0
    out[letterless] = (firsts[letterless] & ~HEADLINE) | _LETTERLESS  # never 0
    return out
