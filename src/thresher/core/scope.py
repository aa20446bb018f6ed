"""The scope of site evidence for records without a site key (no URL, no ``--group-by``).

A record's site is its URL's host or its ``--group-by`` value. Records with neither share
one site hash, :data:`NO_SITE`, but they are not one site: nothing says that one template
laid out any two of them. What only a site can tell is therefore judged per record (see
``docs/matching.md``, item 8):

- its blocks' counts (on how many such records each occurs) say little on their own: a
  paragraph on three records may be an article copied three times as well as a template.
  A block is taken for the record's template only where it occurs on ``MIN_SITE_PAGES``
  records or more and on at least twice as many as the record's typical block (the median
  of its blocks' counts): it reaches further than the record's own text. Such a block of
  paragraph length is set aside as chrome; everything else is left to the block model's
  in-page cues, which then see no site counts at all;
- its first line is a title (and a headline) where the record's template reaches at least
  twice as many records as the line does: the test a site's title passes against the
  site's pages, with the pages estimated by the record's own template;
- two such records are not two pages of one site: between them a partial match needs
  the cross-site bar (``--containment``), not ``--site-containment``
  (:meth:`~thresher.core.rule.MatchRule.decide`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xxhash
from numpy.typing import NDArray

from thresher.core.articles import LONG_WORDS
from thresher.core.features import MIN_SITE_PAGES

__all__ = ["NO_SITE", "Scoped", "has_site", "scope_counts", "scoped"]

# The site hash of a record without a site key: that of the empty site name (see
# ``chrome.site_hashes``).
NO_SITE = np.uint64(xxhash.xxh3_64_intdigest(b""))


def has_site(ghash: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """Which site hashes name a site (a URL's host or a ``--group-by`` value)."""
    known: NDArray[np.bool_] = ghash != NO_SITE
    return known


class Scoped:
    """What the block model and the title test see of a batch, each record in its scope.

    ``pages``: each record's site pages for the block model (1 for a record without a
    site: its counts are not used); ``title_pages``: the same for the title test (the
    reach of its template, 0 where it has none); ``chrome``: the blocks set aside as a
    template whatever the model says.
    """

    def __init__(self, pages: NDArray[np.int64], title_pages: NDArray[np.int64],
                 chrome: NDArray[np.bool_]) -> None:
        self.pages = pages
        self.title_pages = title_pages
        self.chrome = chrome


def scoped(doc_offsets: NDArray[np.int64], counts: NDArray[np.int64],
           pages: NDArray[np.int64], *, ghash: NDArray[np.uint64],
           words: NDArray[np.float64]) -> Scoped:
    """Put each record of a batch in its scope (``counts``: each block's count of
    documents; ``pages``: each record's count of site pages; ``ghash``: the records' site
    hashes; ``words``: each block's words).

    Example:
        >>> off = np.array([0, 4, 6])  # a record without a site, one with
        >>> s = scoped(off, np.array([1, 40, 1, 1, 5, 2]), np.array([9, 9]),
        ...            ghash=np.array([NO_SITE, 7], dtype=np.uint64),
        ...            words=np.array([9.0, 12.0, 30.0, 30.0, 20.0, 20.0]))
        >>> s.pages.tolist(), s.title_pages.tolist(), s.chrome.tolist()
        ([1, 9], [40, 9], [False, True, False, False, False, False])
    """
    alone = ~has_site(ghash)
    if not alone.any():
        return Scoped(pages, pages, np.zeros(counts.shape[0], dtype=bool))
    per = np.diff(doc_offsets)
    doc_of = np.repeat(np.arange(per.shape[0]), per)
    wide = alone[doc_of] & (counts >= MIN_SITE_PAGES) & \
        (counts >= 2 * _median_counts(doc_offsets, counts)[doc_of])
    return Scoped(np.where(alone, 1, pages),
                  np.where(alone, _largest(doc_offsets, np.where(wide, counts, 0)), pages),
                  wide & (words >= LONG_WORDS))


def _median_counts(doc_offsets: NDArray[np.int64], counts: NDArray[np.int64]
                   ) -> NDArray[np.int64]:
    """Each document's median block count (the upper one of an even number; 0 for a
    document without blocks)."""
    per = np.diff(doc_offsets)
    out = np.zeros(per.shape[0], dtype=np.int64)
    if counts.shape[0]:
        ranked = counts[np.lexsort((counts, np.repeat(np.arange(per.shape[0]), per)))]
        full = per > 0
        out[full] = ranked[(doc_offsets[:-1] + per // 2)[full]]
    return out


def _largest(doc_offsets: NDArray[np.int64], values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each document's largest value over its blocks (0 for one without blocks)."""
    full = np.diff(doc_offsets) > 0
    out = np.zeros(full.shape[0], dtype=np.int64)
    if values.shape[0] and full.any():
        out[full] = np.maximum.reduceat(values, doc_offsets[:-1][full])
    return out


def scope_counts(ghash: NDArray[np.uint64], distinct: NDArray[np.uint64]) -> dict[str, Any]:
    """The scope of a run whose usable records have the site hashes ``ghash`` (of which
    ``distinct`` are the distinct ones): ``site`` (every record has a site), ``corpus``
    (none has) or ``mixed``, with the counts.

    Example:
        >>> scope_counts(np.array([NO_SITE, 5, 5], dtype=np.uint64),
        ...              np.array([5, NO_SITE], dtype=np.uint64))
        {'kind': 'mixed', 'records': 3, 'without_site': 1, 'sites': 1}
    """
    without = int((~has_site(ghash)).sum())
    records = int(ghash.shape[0])
    kind = "corpus" if records and without == records else "mixed" if without else "site"
    return {"kind": kind, "records": records, "without_site": without,
            "sites": int(has_site(distinct).sum())}
