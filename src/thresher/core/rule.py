"""The match rule: when a verified pair of documents is a match, and which way it goes.

A pair matches on its Jaccard similarity, or as a partial duplicate on its containment;
site, title, page and headline keys tighten or loosen what containment needs (see
:func:`thresher.pipeline.match.edge_task`, which reads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.cluster import headlines_allow, may_take
from thresher.core.scope import has_site

__all__ = ["EDGE_EXACT", "EDGE_NEAR", "EDGE_PARTIAL", "EDGE_SAME_CONTENT", "EDGE_TITLE", "WAY_BWD",
           "WAY_FWD", "MatchRule", "best_matches", "ways_of"]

EDGE_NEAR, EDGE_PARTIAL, EDGE_TITLE = 0, 1, 2  # why an edge was accepted
EDGE_EXACT = 3  # a probe's copy of an indexed document: the same fingerprint (of the text matched)
EDGE_SAME_CONTENT = 4  # a probe's exact copy of an indexed page's content only


@dataclass(frozen=True, kw_only=True)
class MatchRule:
    """When a verified pair is a match (see :func:`~thresher.pipeline.match.edge_task`)."""

    threshold: float
    containment: float | None = None
    min_shared: int = 1
    site_containment: float | None = None
    title_containment: float | None = None

    def decide(self, sims: NDArray[np.float64], conts: NDArray[np.float64],
               inter: NDArray[np.int64] | None, *,
               sites: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None,
               titles: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None,
               pages: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None,
               heads: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None
               ) -> tuple[NDArray[np.bool_], NDArray[np.uint8]]:
        """Return which pairs match, and why (``EDGE_*``)."""
        hit = sims >= self.threshold
        why = np.full(sims.shape[0], EDGE_NEAR, dtype=np.uint8)
        if self.containment is None or inter is None:
            return hit, why
        need = np.full(sims.shape[0], self.containment)
        shared = inter >= self.min_shared
        same_page = _same(pages) if pages is not None else np.zeros(sims.shape[0], bool)
        if self.site_containment is not None and sites is not None:
            same_site = sites[0] == sites[1]
            # Two crawls of one page share its own text, not text the site puts on many
            # pages: they are judged as pages of different sites are. So are two records
            # without a site key: nothing says one template laid both out.
            need[same_site & has_site(sites[0]) & ~same_page] = self.site_containment
            if self.title_containment is not None and titles is not None:
                tu, tv = titles
                titled = same_site & (tu != 0) & (tv != 0)
                apart = titled & (tu != tv)
                need[apart] = np.inf
                hit &= ~apart
                same = titled & (tu == tv) & ~hit & (conts >= self.title_containment) & shared
                hit |= same
                why[same] = EDGE_TITLE
        if heads is not None:  # under different headlines containment is quoting
            need[~headlines_allow(*heads) & ~same_page] = np.inf
        partial = ~hit & (conts >= need) & shared
        hit |= partial
        why[partial] = EDGE_PARTIAL
        return hit, why


def _same(keys: tuple[NDArray[np.uint64], NDArray[np.uint64]]) -> NDArray[np.bool_]:
    """Which pairs have the same key (0: no key, the same as none)."""
    same: NDArray[np.bool_] = (keys[0] == keys[1]) & (keys[0] != 0)
    return same


WAY_FWD, WAY_BWD = 1, 2  # bits of ``eway``: u may take v, v may take u


def ways_of(why: NDArray[np.uint8], su: NDArray[np.int64], sv: NDArray[np.int64]
            ) -> NDArray[np.uint8]:
    """Return which way each match may go (``WAY_*`` bits), given both documents'
    content sizes: the rule of :func:`edge_ways`, without the reading."""
    directed = why == EDGE_PARTIAL
    return (may_take(su, sv, directed) * WAY_FWD
            + may_take(sv, su, directed) * WAY_BWD).astype(np.uint8)


def best_matches(found: list[tuple[NDArray[Any], ...]]) -> tuple[NDArray[Any], ...]:
    """Keep each document's best match: an exact copy, then the highest similarity, then
    the earliest indexed. Returns (row, indexed number, similarity, containment, why)."""
    if found:
        mine, ref, sim, cont, why = (np.concatenate(x) for x in zip(*found, strict=True))
    else:
        mine, ref = np.zeros(0, np.int64), np.zeros(0, np.int64)
        sim, cont, why = np.zeros(0), np.zeros(0), np.zeros(0, np.uint8)
    rank = np.where(why == EDGE_EXACT, 0, np.where(why == EDGE_SAME_CONTENT, 1, 2))
    order = np.lexsort((ref, -sim, rank, mine))
    mine, ref, sim, cont, why = mine[order], ref[order], sim[order], cont[order], why[order]
    first = np.ones(mine.shape[0], dtype=bool)
    first[1:] = mine[1:] != mine[:-1]
    return mine[first], ref[first], sim[first], cont[first], why[first]
