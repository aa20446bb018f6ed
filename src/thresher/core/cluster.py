"""Clusters that do not chain: every member is verified against its representative.

Documents with verified pairs are visited by how many others they may take, most first
(the document that matches the most others is the natural centre of its group: a
source page, not one of its edited copies), ties broken by rank (the pipeline ranks
longer texts first, then smaller ids). A document not yet in a cluster becomes a
representative and takes every neighbour it may take that is not yet in a cluster.
Each member is therefore within the match rule of its representative, so a cluster's
diameter is at most twice the Jaccard distance ``1 - threshold`` (Jaccard distance is a
metric), however long a chain of pairwise matches runs through the corpus.

A near match (Jaccard) goes both ways. A containment match points one way: the
contained document is the duplicate, so only the containing one may take it
(:func:`may_take`). Removing the page that contains another would lose the text that
only it holds. (The pipeline directs partial matches; see
:func:`thresher.pipeline.match.edge_ways`.) And containment alone does not make a copy:
a page that holds another's text under a different headline quotes it, or shares the
lines that many pages reuse (:func:`headlines_allow`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.sorting import distinct
from thresher.core.titles import HEADLINE

__all__ = ["CONTAIN_MARGIN", "cluster_nodes", "greedy_clusters", "headlines_allow", "may_take"]

# A document is never removed as contained in one whose content is shorter than this
# share of its own. Below 1 so that two crawls of one article a few characters apart
# may go either way (their other matches then pick the centre), as near matches do.
CONTAIN_MARGIN = 0.8


def may_take(taker: NDArray[np.int64], taken: NDArray[np.int64], directed: NDArray[np.bool_],
             *, margin: float = CONTAIN_MARGIN) -> NDArray[np.bool_]:
    """Return, per match, whether ``taker`` may be the representative of ``taken``.

    ``taker`` and ``taken`` are the two documents' content sizes; ``directed`` marks the
    containment matches, where the taker's content must be at least ``margin`` of the
    taken's. Of two documents at least one may always take the other.

    Example:
        >>> may_take(np.array([1000, 1000]), np.array([3000, 3000]),
        ...          np.array([False, True])).tolist()
        [True, False]
    """
    return ~directed | (taker >= margin * taken)


def headlines_allow(head_u: NDArray[np.uint64], head_v: NDArray[np.uint64]
                    ) -> NDArray[np.bool_]:
    """Return, per match, whether the two documents' headlines allow a containment match.

    A copied article keeps its headline: a page that contains another's text under a
    different one is another article that quotes it, or that shares lines many pages
    reuse (a short page is often largely contained in a long one by chance). A page that
    starts with a short line without letters (a number, a rule; its key has ``HEADLINE``
    clear, :func:`~thresher.core.titles.head_keys`) has no headline, but it does not
    start with another page's either: it is kept apart from a page under a headline,
    not from another such page. Where either has no headline key (0) nothing tells them
    apart, and containment decides.

    Example:
        >>> headlines_allow(np.array([7, 7, 0, 7, 2], np.uint64),
        ...                 np.array([7, 9, 9, 6, 10], np.uint64)).tolist()
        [True, False, True, False, True]
    """
    letterless = ((head_u & HEADLINE) == 0) & ((head_v & HEADLINE) == 0)
    allow: NDArray[np.bool_] = (head_u == 0) | (head_v == 0) | (head_u == head_v) | letterless
    return allow


@njit(cache=True, nogil=True)
def _greedy(order, cu, cv, sim, fwd, bwd, rep, rep_sim):  # type: ignore[no-untyped-def]
    """Greedy clustering over compact node numbers 0..m-1, visited in ``order``; node
    ``cu[k]`` may take ``cv[k]`` where ``fwd[k]``, and the reverse where ``bwd[k]``."""
    m = order.shape[0]
    e = cu.shape[0]
    start = np.zeros(m + 1, dtype=np.int64)
    for k in range(e):
        if fwd[k]:
            start[cu[k] + 1] += 1
        if bwd[k]:
            start[cv[k] + 1] += 1
    for x in range(m):
        start[x + 1] += start[x]
    fill = start[:-1].copy()
    nbr = np.empty(start[m], dtype=np.int64)
    nsim = np.empty(start[m], dtype=np.float64)
    for k in range(e):
        if fwd[k]:
            nbr[fill[cu[k]]], nsim[fill[cu[k]]] = cv[k], sim[k]
            fill[cu[k]] += 1
        if bwd[k]:
            nbr[fill[cv[k]]], nsim[fill[cv[k]]] = cu[k], sim[k]
            fill[cv[k]] += 1
    for x in order:
        if rep[x] != -1:
            continue
        rep[x] = x
        for k in range(start[x], start[x + 1]):
            y = nbr[k]
            if rep[y] == -1:
                rep[y] = x
                rep_sim[y] = nsim[k]


def cluster_nodes(rank: NDArray[np.int64], u: NDArray[np.int64], v: NDArray[np.int64],
                  *, sim: NDArray[np.float64], fwd: NDArray[np.bool_] | None = None,
                  bwd: NDArray[np.bool_] | None = None,
                  priority: NDArray[np.int64] | None = None
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Cluster the documents of the verified pairs; return them with representatives.

    ``fwd[e]``: ``u[e]`` may take ``v[e]``; ``bwd[e]``: the reverse (both, if omitted).
    Returns ``(nodes, rep, rep_sim)``: the distinct documents of the pairs, sorted, each
    one's representative and its similarity to it. ``rank`` may be memory-mapped: only
    the pairs' documents are read from it, so memory grows with the pairs, not the corpus.

    ``priority`` (per document, lower first; a ``--keep`` policy) comes before the
    default order, after one rule: a document that may take none of its neighbours
    (contained in all of them) comes last, so it never stands alone while one of them
    could take it. Which documents a representative takes does not change: its
    neighbours, so no cluster chains whatever the order.
    """
    nodes = distinct(np.concatenate((u, v)))
    if nodes.shape[0] == 0:
        return nodes.astype(np.int64), nodes.astype(np.int64), np.zeros(0)
    both = np.ones(u.shape[0], dtype=bool)
    fwd = both if fwd is None else np.asarray(fwd, dtype=bool)
    bwd = both if bwd is None else np.asarray(bwd, dtype=bool)
    cu, cv = np.searchsorted(nodes, u), np.searchsorted(nodes, v)
    m = nodes.shape[0]
    # how many documents each may take: a containing page comes before those it contains
    takes = np.bincount(cu[fwd], minlength=m) + np.bincount(cv[bwd], minlength=m)
    if priority is None:
        order = np.lexsort((np.asarray(rank[nodes]), -takes))
    else:
        order = np.lexsort((np.asarray(rank[nodes]), -takes, np.asarray(priority[nodes]),
                            takes == 0))
    local_rep = np.full(m, -1, dtype=np.int64)
    local_sim = np.ones(m, dtype=np.float64)
    _greedy(order, cu, cv, np.asarray(sim, np.float64), fwd, bwd, local_rep, local_sim)
    return nodes, nodes[local_rep], local_sim


def greedy_clusters(
    rank: NDArray[np.int64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    *, sim: NDArray[np.float64],
    
    fwd: NDArray[np.bool_] | None = None,
    bwd: NDArray[np.bool_] | None = None,
    priority: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return each document's representative and its similarity to it.

    ``(u[e], v[e], sim[e])`` are the verified pairs, ``fwd``/``bwd`` which way each may
    go (see :func:`cluster_nodes`); documents are visited by number of documents they
    may take (more first), then ``rank`` (lower first), or by ``priority`` first (see
    :func:`cluster_nodes`). A document that is its own representative has similarity 1.

    Example:
        >>> rank = np.array([0, 1, 2, 3])  # a chain 0 - 1 - 2 - 3
        >>> u, v = np.array([0, 1, 2]), np.array([1, 2, 3])
        >>> greedy_clusters(rank, u, v, sim=np.array([0.9, 0.9, 0.9]))[0].tolist()
        [1, 1, 1, 3]
    """
    rep = np.arange(rank.shape[0], dtype=np.int64)
    rep_sim = np.ones(rank.shape[0], dtype=np.float64)
    nodes, node_rep, node_sim = cluster_nodes(rank, u, v, sim=sim, fwd=fwd, bwd=bwd,
                                              priority=priority)
    rep[nodes] = node_rep
    rep_sim[nodes] = node_sim
    return rep, rep_sim
