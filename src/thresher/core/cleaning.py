"""Cleaning: which blocks of a page are its content, and the content laid out for
sketching (or, with its gaps, as the cleaned text).

A block's key is mixed with its page's site, so that a block counts as repeated only on
its own site; the site statistics (how many of the site's pages hold each block) come
from the caller, which reads them from the run's tables or the index's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash
from numba import njit
from numpy.typing import NDArray

from thresher.core.blocks import Blocks
from thresher.core.content import KEEP, load_model, predict, select_content
from thresher.core.features import FEATURES, block_features, headings
from thresher.core.scope import scoped
from thresher.core.titles import first_keys, head_keys, title_keys

__all__ = ["Content", "content_spans", "decide", "find_content", "group_hashes", "kept_content", "site_keys",
           "site_mix"]

_MIX = np.uint64(0x9E3779B97F4A7C15)
TITLE_OVERLAP = FEATURES.index("title_overlap")


def group_hashes(groups: list[str]) -> NDArray[np.uint64]:
    """The hash of each site's name (``""``: no site), which site keys are mixed with."""
    return np.fromiter((xxhash.xxh3_64_intdigest(g.encode("utf-8", "surrogatepass"))
                        for g in groups), dtype=np.uint64, count=len(groups))


def site_keys(blocks: Blocks, ghash: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Mix every block's key with its document's site: one key per (site, block)."""
    return site_mix(blocks.key, np.repeat(ghash, np.diff(blocks.doc_offsets)))


def site_mix(keys: NDArray[np.uint64], ghash: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """One key per (site, key): the same key on another site is another key."""
    with np.errstate(over="ignore"):
        k = (keys ^ (ghash * _MIX)) * np.uint64(0xFF51AFD7ED558CCD)
    return k ^ (k >> np.uint64(29))


@dataclass(frozen=True, kw_only=True)
class Content:
    """What :func:`find_content` finds in a batch of pages."""

    fate: NDArray[np.uint8]  # per block: ``KEEP``, or why it is not content
    titles: NDArray[np.uint64]  # per page: its title's key (0: none)
    heads: NDArray[np.uint64]  # per page: its headline's key (0: none)
    text: tuple[NDArray[np.uint8], NDArray[np.int64]]  # the contents, as sketches read them
    spans: NDArray[np.int64]  # per page: (start, end) of its content, in code points

    @property
    def keep(self) -> NDArray[np.bool_]:
        """Which blocks are content."""
        keep: NDArray[np.bool_] = self.fate == KEEP
        return keep


def find_content(prepared: tuple[NDArray[np.uint8], NDArray[np.int64]], blocks: Blocks, *,
                 ghash: NDArray[np.uint64], kind: str, tables: Any,
                 lengths: NDArray[np.int64], firsts: NDArray[np.uint64] | None = None,
                 keys: NDArray[np.uint64] | None = None,
                 words: NDArray[np.float64] | None = None) -> Content:
    """The content of pages: texts (as ``prepare_batch`` lays them out) cut into
    ``blocks``, each block's fate, the pages' title and headline keys, the contents laid
    out the same way, and their spans (the whole text, of ``lengths`` code points, where
    no block is content).

    The one flow from blocks to content, for a run's content stage and an index's lone
    queries alike. ``ghash``: the pages' site hashes; ``kind``: the input's kind;
    ``tables(site keys, site hashes)`` gives the site statistics: each block's count of
    pages holding it, and each page's count of site pages. ``firsts`` (the pages' first
    blocks' own keys), ``keys`` (the blocks' site keys) and ``words`` (their word
    features): what is at hand already, made from ``blocks`` when not given.
    """
    if firsts is None:
        firsts = first_keys(blocks)
    fate, titles, heads = decide(blocks, words, ghash, kind=kind, tables=tables, keys=keys,
                                 firsts=firsts)
    keep = fate == KEEP
    return Content(fate=fate, titles=titles, heads=heads,
                   text=kept_content(prepared, blocks, keep),
                   spans=content_spans(blocks, keep, lengths))


def decide(blocks: Blocks, words: NDArray[np.float64] | None, ghash: NDArray[np.uint64], *,
           kind: str, tables: Any, keys: NDArray[np.uint64] | None = None,
           firsts: NDArray[np.uint64]
            ) -> tuple[NDArray[np.uint8], NDArray[np.uint64], NDArray[np.uint64]]:
    """Each block's fate and each document's title and headline keys (``keys``: the
    blocks' site keys, when kept; ``words``: their word features, when kept; ``firsts``:
    the documents' first blocks' own keys)."""
    n = blocks.doc_offsets.shape[0] - 1
    if kind == "warc":  # the HTML extractor already chose the main text
        none = np.zeros(n, dtype=np.uint64)
        return np.zeros(blocks.start.shape[0], dtype=np.uint8), none, none.copy()
    if keys is None:
        keys = site_keys(blocks, ghash)
    counts, pages = tables(keys, ghash)
    scope = scoped(blocks.doc_offsets, counts, pages, ghash=ghash, words=blocks.stats[:, 0])
    model = load_model()
    x = block_features(blocks, counts, scope.pages, words=words)
    p = np.where(scope.chrome, 0.0, predict(model, x))
    fate = select_content(blocks.doc_offsets, p, blocks.stats[:, 0], cut=model.cut,
                          drop=model.drop, title=np.ascontiguousarray(x[:, TITLE_OVERLAP]),
                          heading=headings(blocks))
    return (fate, title_keys(blocks, keys, counts, pages=scope.title_pages),
            head_keys(blocks, firsts, counts, pages=scope.title_pages))


@njit(cache=True, nogil=True)
def _join_kept(data, offsets, doc_off, spans, keep, gaps, out, out_off):  # type: ignore[no-untyped-def]
    """Lay out each document's kept blocks (its whole text when none is kept), as
    ``prepare_batch`` would lay out those texts: one per line, or with ``gaps``, each
    followed by the text's own separator after it (a blank line stays a blank line)."""
    at = 0
    for d in range(offsets.shape[0] - 1):
        base = offsets[d]
        last = -1
        for b in range(doc_off[d], doc_off[d + 1]):
            if keep[b]:
                if last >= 0:
                    lo, hi = base + spans[last, 1], base + spans[last + 1, 0]
                    if gaps and hi > lo:
                        out[at:at + hi - lo] = data[lo:hi]
                        at += hi - lo
                    else:
                        out[at] = 0x0A
                        at += 1
                lo, hi = base + spans[b, 0], base + spans[b, 1]
                out[at:at + hi - lo] = data[lo:hi]
                at += hi - lo
                last = b
        if last < 0:
            size = offsets[d + 1] - 1 - base
            out[at:at + size] = data[base:base + size]
            at += size
        out[at] = 0x0A
        at += 1
        out_off[d + 1] = at


def kept_content(prepared: tuple[NDArray[np.uint8], NDArray[np.int64]], blocks: Blocks,
                 keep: NDArray[np.bool_], *, gaps: bool = False
                 ) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Each document's content (its ``keep`` blocks; the whole text when none is kept),
    laid out as ``prepare_batch`` lays out texts. The blocks are joined by a newline
    (what the sketches read), or with ``gaps`` by the separator the text has after each
    (what a cleaned text keeps: its paragraphs)."""
    data, offsets = prepared
    out = np.empty(data.shape[0], dtype=np.uint8)  # never longer than the texts
    out_off = np.zeros(offsets.shape[0], dtype=np.int64)
    _join_kept(data, offsets, blocks.doc_offsets, blocks.bytes, keep, gaps, out, out_off)
    return out[:out_off[-1]], out_off


def content_spans(blocks: Blocks, keep: NDArray[np.bool_], lengths: NDArray[np.int64]
                  ) -> NDArray[np.int64]:
    """Return each document's content span (code points, from its first kept block's
    start to its last one's end; the whole text, of ``lengths``, where none is kept)."""
    n = blocks.doc_offsets.shape[0] - 1
    kept_blocks = np.flatnonzero(keep)
    doc_of = np.repeat(np.arange(n), np.diff(blocks.doc_offsets))
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, doc_of[kept_blocks], kept_blocks)
    first = _first_kept(blocks.doc_offsets, keep)
    found = last >= 0
    top = max(blocks.start.shape[0] - 1, 0)
    starts = np.append(blocks.start, 0)[np.clip(first, 0, top)]
    ends = np.append(blocks.end, 0)[np.clip(last, 0, top)]
    return np.stack((np.where(found, starts, 0), np.where(found, ends, lengths)), axis=1)


def _first_kept(doc_offsets: NDArray[np.int64], keep: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Return each document's first kept block (or its end when none is kept)."""
    m = keep.shape[0]
    nxt = np.where(keep, np.arange(m), m)
    nxt = np.minimum.accumulate(nxt[::-1])[::-1] if m else nxt  # next kept block at or after
    starts = doc_offsets[:-1]
    return np.where(starts < m, nxt[np.minimum(starts, max(m - 1, 0))], m) if m else \
        np.zeros(starts.shape[0], dtype=np.int64)
