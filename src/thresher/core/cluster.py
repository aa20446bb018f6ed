"""Clusters that do not chain: every member is verified against its representative.

Documents with verified pairs are visited most-connected first (the document that
matches the most others is the natural centre of its group: a source page, not one of
its edited copies), ties broken by rank (the pipeline ranks longer texts first, then
smaller ids). A document not yet in a cluster becomes a representative and takes every
verified neighbour that is not yet in a cluster. Each member is therefore
within the threshold of its representative, so a cluster's diameter is at most twice
the Jaccard distance ``1 - threshold`` (Jaccard distance is a metric), however long a
chain of pairwise matches runs through the corpus.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.sorting import distinct

__all__ = ["cluster_nodes", "greedy_clusters"]


@njit(cache=True, nogil=True)
def _greedy(order, cu, cv, sim, rep, rep_sim):  # type: ignore[no-untyped-def]
    """Greedy clustering over compact node numbers 0..m-1, visited in ``order``."""
    m = order.shape[0]
    e = cu.shape[0]
    start = np.zeros(m + 1, dtype=np.int64)
    for k in range(e):
        start[cu[k] + 1] += 1
        start[cv[k] + 1] += 1
    for x in range(m):
        start[x + 1] += start[x]
    fill = start[:-1].copy()
    nbr = np.empty(2 * e, dtype=np.int64)
    nsim = np.empty(2 * e, dtype=np.float64)
    for k in range(e):
        nbr[fill[cu[k]]], nsim[fill[cu[k]]] = cv[k], sim[k]
        fill[cu[k]] += 1
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
                  sim: NDArray[np.float64]
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Cluster the documents of the verified pairs; return them with representatives.

    Returns ``(nodes, rep, rep_sim)``: the distinct documents of the pairs, sorted, each
    one's representative and its similarity to it. ``rank`` may be memory-mapped: only
    the pairs' documents are read from it, so memory grows with the pairs, not the corpus.
    """
    nodes = distinct(np.concatenate((u, v)))
    if nodes.shape[0] == 0:
        return nodes.astype(np.int64), nodes.astype(np.int64), np.zeros(0)
    cu, cv = np.searchsorted(nodes, u), np.searchsorted(nodes, v)
    degree = np.bincount(cu, minlength=nodes.shape[0]) + np.bincount(cv, minlength=nodes.shape[0])
    order = np.lexsort((np.asarray(rank[nodes]), -degree))
    local_rep = np.full(nodes.shape[0], -1, dtype=np.int64)
    local_sim = np.ones(nodes.shape[0], dtype=np.float64)
    _greedy(order, cu, cv, np.asarray(sim, np.float64), local_rep, local_sim)
    return nodes, nodes[local_rep], local_sim


def greedy_clusters(
    rank: NDArray[np.int64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    sim: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return each document's representative and its similarity to it.

    ``(u[e], v[e], sim[e])`` are the verified pairs; documents are visited by number of
    verified pairs (more first), then ``rank`` (lower first). A document that is its own
    representative has similarity 1.

    Example:
        >>> rank = np.array([0, 1, 2, 3])  # a chain 0 - 1 - 2 - 3
        >>> u, v = np.array([0, 1, 2]), np.array([1, 2, 3])
        >>> greedy_clusters(rank, u, v, np.array([0.9, 0.9, 0.9]))[0].tolist()
        [1, 1, 1, 3]
    """
    rep = np.arange(rank.shape[0], dtype=np.int64)
    rep_sim = np.ones(rank.shape[0], dtype=np.float64)
    nodes, node_rep, node_sim = cluster_nodes(rank, u, v, sim)
    rep[nodes] = node_rep
    rep_sim[nodes] = node_sim
    return rep, rep_sim
