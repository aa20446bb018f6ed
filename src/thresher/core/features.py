"""Block features: one row of numbers per block, from its counts (``Blocks.stats``) and
what only the whole document and its site show.

Besides a block's own counts, a row holds where the block sits, how long its neighbours
are, how many of its words it shares with the title and with the document's other long
blocks (an article's paragraphs share their topic's words; a run of teasers for other
stories does not), and on how many other pages of the same site the block recurs.
Nothing here names a site or a phrase.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.blocks import STAT_NAMES, Blocks

__all__ = ["FEATURES", "MIN_SITE_PAGES", "block_features", "headings", "word_features"]

# The columns of Blocks.stats, in the order of STAT_NAMES.
(_WORDS, _CHARS, _PUNCT, _TERM, _COLON, _SENTS, _COMMAS, _CAPS, _DIGITS, _SHORT, _WORDLEN,
 _SEPS, _SLASH, _BULLET, _UPPER, _LOWER, _COPY, _LINK) = range(len(STAT_NAMES))
_LONG_BLOCK = 8  # words: a block this long can be a paragraph
_CONTEXT = (-3, -2, -1, 1, 2, 3)
# With fewer distinct pages than this, a block on every page may as well be a copied
# article as a template: the site's counts are not used.
MIN_SITE_PAGES = 3

FEATURES: tuple[str, ...] = (
    "log_words", "log_chars", "punct_share", "ends_sentence", "ends_colon", "sentences",
    "commas_per_word", "capitalised_share", "digit_share", "short_word_share",
    "mean_word_length", "separators", "slashes", "bullet", "all_caps", "copyright", "link",
    "position", "words_before", "words_after", "log_blocks", "log_doc_words",
    "title_overlap", "recurrence", "log_site_pages_with_block", "site_share_with_block",
    "log_site_pages", "first_block",
    *[f"{name}_{off:+d}" for off in _CONTEXT
      for name in ("log_words", "ends_sentence", "title_overlap")],
    "short_blocks_around", "log_words_around", "title_overlap_ahead",
    "doc_words_on_other_pages", "blocks_around_on_other_pages",
    "title_words_before", "title_words_after",
)




@njit(cache=True, nogil=True)
def _doc_word_features(lo, hi, stats, whash, woff, title_out, rec_out, tkey, tlast, tcount,  # type: ignore[no-untyped-def]
                       ttitle, slot_of, first):
    """Title overlap and recurrence of blocks lo..hi of one document (-1: no topic words).

    Each distinct word gets a slot of an open-addressing table (``tkey`` ...), which
    counts the long blocks holding it and whether the title (block ``lo``) does.
    """
    total = woff[hi] - woff[lo]
    if total == 0:
        title_out[lo:hi] = -1.0
        rec_out[lo:hi] = -1.0
        return
    size = 16
    while size < 2 * total:
        size *= 2
    mask = size - 1
    tlast[:size] = -1
    base = woff[lo]
    n_long = 0
    for b in range(lo, hi):
        long_block = stats[b, _WORDS] >= _LONG_BLOCK
        n_long += 1 if long_block else 0
        for k in range(woff[b] - base, woff[b + 1] - base):
            h = whash[base + k]
            j = np.int64(h >> np.uint64(40)) & mask
            while tlast[j] != -1 and tkey[j] != h:
                j = (j + 1) & mask
            if tlast[j] == -1:
                tkey[j] = h
                tcount[j] = 0
                ttitle[j] = False
                tlast[j] = lo - 1
            slot_of[k] = j
            first[k] = tlast[j] != b  # the word's first occurrence in its block
            if first[k]:
                tlast[j] = b
                if long_block:
                    tcount[j] += 1
            if b == lo:
                ttitle[j] = True
    for b in range(lo, hi):
        own = 1 if stats[b, _WORDS] >= _LONG_BLOCK else 0
        words = 0
        shared = 0
        titled = 0
        for k in range(woff[b] - base, woff[b + 1] - base):
            df = tcount[slot_of[k]]
            if not first[k] or (n_long >= 4 and df * 2 > n_long):
                continue  # the document's function words: in most of its paragraphs
            words += 1
            if df - own >= 1:
                shared += 1
            if ttitle[slot_of[k]]:
                titled += 1
        if words == 0:
            title_out[b] = -1.0
            rec_out[b] = -1.0
        else:
            title_out[b] = titled / words if b != lo else -1.0
            rec_out[b] = shared / words


@njit(cache=True, nogil=True)
def _word_features(doc_off, stats, whash, woff, out):  # type: ignore[no-untyped-def]
    m = stats.shape[0]
    title = np.empty(m, dtype=np.float64)
    rec = np.empty(m, dtype=np.float64)
    most = 1
    for d in range(doc_off.shape[0] - 1):
        most = max(most, woff[doc_off[d + 1]] - woff[doc_off[d]])
    size = 16
    while size < 2 * most:
        size *= 2
    tkey = np.empty(size, dtype=np.uint64)
    tlast = np.empty(size, dtype=np.int64)
    tcount = np.empty(size, dtype=np.int64)
    ttitle = np.empty(size, dtype=np.bool_)
    slot_of = np.empty(most, dtype=np.int64)
    first = np.empty(most, dtype=np.bool_)
    for d in range(doc_off.shape[0] - 1):
        lo, hi = doc_off[d], doc_off[d + 1]
        if hi > lo:
            _doc_word_features(lo, hi, stats, whash, woff, title, rec, tkey, tlast, tcount,
                               ttitle, slot_of, first)
    out[:, 0] = title
    out[:, 1] = rec


def word_features(blocks: Blocks) -> NDArray[np.float64]:
    """Return per block ``(title overlap, recurrence)``: the share of its topic words in
    the title, and in the document's other long blocks (-1: no topic words). They depend
    on the document alone, so they can be worked out once and kept."""
    out = np.empty((blocks.stats.shape[0], 2), dtype=np.float64)
    _word_features(blocks.doc_offsets, blocks.stats, blocks.word_hashes, blocks.word_offsets,
                   out)
    return out


@njit(cache=True, nogil=True)
def _features(doc_off, stats, title, rec, site_count, site_pages, out):  # type: ignore[no-untyped-def]
    for d in range(doc_off.shape[0] - 1):
        lo, hi = doc_off[d], doc_off[d + 1]
        if hi == lo:
            continue
        n = hi - lo
        total = 0.0
        for b in range(lo, hi):
            total += stats[b, _WORDS]
        before = 0.0
        pages = site_pages[d] if site_pages[d] >= MIN_SITE_PAGES else 1
        for b in range(lo, hi):
            s = stats[b]
            w = s[_WORDS]
            c = s[_CHARS]
            f = out[b]
            f[0] = np.log1p(w)
            f[1] = np.log1p(c)
            f[2] = s[_PUNCT] / max(c, 1.0)
            f[3] = s[_TERM]
            f[4] = s[_COLON]
            f[5] = s[_SENTS]
            f[6] = s[_COMMAS] / max(w, 1.0)
            f[7] = s[_CAPS] / max(w, 1.0)
            f[8] = s[_DIGITS] / max(c, 1.0)
            f[9] = s[_SHORT] / max(w, 1.0)
            f[10] = s[_WORDLEN] / max(w, 1.0)
            f[11] = s[_SEPS]
            f[12] = s[_SLASH]
            f[13] = s[_BULLET]
            f[14] = 1.0 if s[_UPPER] >= 2 and s[_LOWER] == 0 else 0.0
            f[15] = s[_COPY]
            f[16] = s[_LINK]
            f[17] = (b - lo) / max(n - 1, 1)
            f[18] = before / max(total, 1.0)
            before += w
            f[19] = before / max(total, 1.0)
            f[20] = np.log1p(n)
            f[21] = np.log1p(total)
            f[22] = title[b]
            f[23] = rec[b]
            others = max(site_count[b] - 1, 0) if pages > 1 else 0
            f[24] = np.log1p(others)
            f[25] = others / (pages - 1) if pages > 1 else -1.0
            f[26] = np.log1p(max(pages - 1, 0))
            f[27] = 1.0 if b == lo else 0.0
        col = 28
        for off in (-3, -2, -1, 1, 2, 3):
            for b in range(lo, hi):
                o = b + off
                if lo <= o < hi:
                    out[b, col] = out[o, 0]
                    out[b, col + 1] = out[o, 3]
                    out[b, col + 2] = title[o]
                else:
                    out[b, col] = -1.0
                    out[b, col + 1] = -1.0
                    out[b, col + 2] = -1.0
            col += 3
        for b in range(lo, hi):
            short = 0.0
            cnt = 0.0
            for o in range(max(lo, b - 3), min(hi, b + 4)):
                short += 1.0 if stats[o, _WORDS] < 5 else 0.0
                cnt += 1.0
            out[b, col] = short / cnt
            lw = 0.0
            cnt = 0.0
            for o in range(max(lo, b - 5), min(hi, b + 6)):
                lw += out[o, 0]
                cnt += 1.0
            out[b, col + 1] = lw / cnt
            ahead = 0.0
            cnt = 0.0
            for o in range(b + 1, min(hi, b + 11)):
                ahead += max(title[o], 0.0)
                cnt += 1.0
            out[b, col + 2] = ahead / cnt if cnt else -1.0
        shared_words = 0.0
        for b in range(lo, hi):
            if site_count[b] > 1 and pages > 1:
                shared_words += stats[b, _WORDS]
        for b in range(lo, hi):
            out[b, col + 3] = shared_words / max(total, 1.0) if pages > 1 else -1.0
            near = 0.0
            cnt = 0.0
            for o in range(max(lo, b - 3), min(hi, b + 4)):
                if o != b:
                    near += 1.0 if site_count[o] > 1 and pages > 1 else 0.0
                    cnt += 1.0
            out[b, col + 4] = near / cnt if cnt and pages > 1 else -1.0
        mass = 0.0
        for b in range(lo, hi):
            mass += max(title[b], 0.0) * stats[b, _WORDS]
        seen = 0.0
        for b in range(lo, hi):
            here = max(title[b], 0.0) * stats[b, _WORDS]
            out[b, col + 5] = seen / mass if mass > 0 else -1.0
            seen += here
            out[b, col + 6] = (mass - seen) / mass if mass > 0 else -1.0


def block_features(blocks: Blocks, site_count: NDArray[np.int64],
                   site_pages: NDArray[np.int64], *,
                   words: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Return the ``(m, len(FEATURES))`` feature rows of the blocks.

    ``site_count[b]``: on how many pages of its site (distinct texts, this one included)
    block ``b``'s key occurs; ``site_pages[d]``: how many pages document ``d``'s site has;
    ``words``: :func:`word_features`, when they were kept (else worked out here).
    """
    if words is None:
        words = word_features(blocks)
    out = np.empty((blocks.stats.shape[0], len(FEATURES)), dtype=np.float64)
    _features(blocks.doc_offsets, blocks.stats, np.ascontiguousarray(words[:, 0]),
              np.ascontiguousarray(words[:, 1]), np.asarray(site_count, dtype=np.int64),
              np.asarray(site_pages, dtype=np.int64), out)
    return out


def headings(blocks: Blocks) -> NDArray[np.bool_]:
    """Return which blocks read as headings: at most six words and no sentence end."""
    s = blocks.stats
    out: NDArray[np.bool_] = ((s[:, _WORDS] >= 1) & (s[:, _WORDS] <= 6) & (s[:, _TERM] == 0)
                              & (s[:, _COLON] == 0))
    return out
