"""The edges stage: which verified pairs are matches, and which way each may go."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from thresher.pipeline.counts import EdgeCounts
from thresher.pipeline.graph import numbered
from thresher.pipeline.match import SIMILARITY_BINS, VERIFY_CHUNK, MatchRule, edge_ways, per_doc
from thresher.pipeline.workdir import WorkDir

__all__ = ["EdgeTask", "edge_task"]

@dataclass(frozen=True, kw_only=True)
class EdgeTask:
    """Decide which candidate pairs of one verified chunk are matches."""

    work: str
    n_shards: int
    chunk: int
    rule: MatchRule
    skip: tuple[str, str] | None = None  # (stage, name) of documents to leave out


def edge_task(task: EdgeTask) -> EdgeCounts:
    """Save the chunk's matching pairs (``edges-N``: u, v, similarity, containment, why,
    and ``eway-N``: which way each may go, see :func:`edge_ways`).

    A pair matches when its Jaccard similarity reaches the threshold. With
    ``containment``, it also matches when the smaller document has at least that share of
    its distinct shingles (and ``min_shared`` of them) in the other: a partial duplicate,
    such as an article syndicated with a paragraph cut. Two pages of one site share text
    that the site puts on many pages (a product blurb, a notice, comments shown under
    several posts), so between them a partial match needs ``site_containment`` instead
    (read from the content stage's ``site`` keys).

    With ``title_containment``, the pages' titles weigh in (the content stage's ``title``
    keys, set only where a title names one article of its site). Two pages of one site
    under the same title are crawls of one article when the smaller content has that
    share of its shingles in the other; two pages under different titles are different
    articles, which no similarity joins (what they share is the site's, kept in by the
    cleaning); only an exact copy of the content still is one.

    Two records of one page (the content stage's ``page`` keys: the same address, say a
    WARC response's main text and the WET conversion's whole-page text) are not two pages
    of a site: between them a partial match needs ``containment`` only.

    With titles, a partial match also needs the pages not to carry different headlines
    (the content stage's ``head`` keys, any site; see
    :func:`~thresher.core.cluster.headlines_allow`), two records of one page aside.
    """
    work = WorkDir(task.work)
    c = task.chunk
    cand = np.asarray(work.load("verify", "cand", mmap=True)[
        c * VERIFY_CHUNK:(c + 1) * VERIFY_CHUNK])
    sims = work.load("verify", numbered("chunk", c))
    conts = work.load("verify", numbered("cont", c))
    u = (cand >> np.uint64(32)).astype(np.int64)
    v = (cand & np.uint64(0xFFFFFFFF)).astype(np.int64)
    rule = task.rule
    keys: dict[str, tuple[NDArray[np.uint64], NDArray[np.uint64]]] = {}
    if rule.site_containment is not None and cand.shape[0]:
        both = np.concatenate((u, v))
        titled = ("title", "head") if rule.title_containment is not None else ()
        for part in ("site", "page", *titled):
            key = per_doc(work, task.n_shards, both, part=part)
            keys[part] = (key[:u.shape[0]], key[u.shape[0]:])
    inter = work.load("verify", numbered("inter", c)) if rule.containment is not None else None
    hit, why = rule.decide(sims, conts, inter, sites=keys.get("site"),
                           titles=keys.get("title"), pages=keys.get("page"),
                           heads=keys.get("head"))
    if task.skip is not None and cand.shape[0]:  # matched to an indexed document already
        skip = work.load(*task.skip)
        hit &= ~(np.isin(u, skip) | np.isin(v, skip))
    edges = np.stack((u[hit], v[hit]), axis=1)
    work.save("cluster", numbered("edges", c), edges)
    work.save("cluster", numbered("esim", c), sims[hit])
    work.save("cluster", numbered("econt", c), conts[hit])
    work.save("cluster", numbered("ewhy", c), why[hit])
    work.save("cluster", numbered("eway", c), edge_ways(work, task.n_shards, u[hit], v=v[hit],
                                                    why=why[hit]))
    bins = np.minimum((sims * SIMILARITY_BINS).astype(np.int64), SIMILARITY_BINS - 1)
    stats = EdgeCounts(
        edges=int(hit.sum()),
        accepted=tuple(np.bincount(bins[hit], minlength=SIMILARITY_BINS).tolist()),
        rejected=tuple(np.bincount(bins[~hit], minlength=SIMILARITY_BINS).tolist()))
    work.mark_done("edges", numbered("chunk", c), stats)
    return stats
