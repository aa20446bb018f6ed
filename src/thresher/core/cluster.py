"""Clusters that do not chain: every member is verified against its representative.

Documents are visited in priority order (rank 0 first; the pipeline ranks longer texts
first, then smaller ids). A document not yet in a cluster becomes a representative and
takes every verified neighbour that is not yet in a cluster. Each member is therefore
within the threshold of its representative, so a cluster's diameter is at most twice
the Jaccard distance ``1 - threshold`` (Jaccard distance is a metric), however long a
chain of pairwise matches runs through the corpus.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["greedy_clusters"]


@njit(cache=True)
def _greedy(n, rank, u, v, sim, rep, rep_sim):  # type: ignore[no-untyped-def]
    m = u.shape[0]
    degree = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        degree[u[e] + 1] += 1
        degree[v[e] + 1] += 1
    start = np.cumsum(degree)
    fill = start[:-1].copy()
    nbr = np.empty(2 * m, dtype=np.int64)
    nsim = np.empty(2 * m, dtype=np.float64)
    for e in range(m):
        nbr[fill[u[e]]] = v[e]
        nsim[fill[u[e]]] = sim[e]
        fill[u[e]] += 1
        nbr[fill[v[e]]] = u[e]
        nsim[fill[v[e]]] = sim[e]
        fill[v[e]] += 1
    nodes = np.unique(np.concatenate((u, v)))
    nodes = nodes[np.argsort(rank[nodes], kind="mergesort")]
    for x in nodes:
        if rep[x] != -1:
            continue
        rep[x] = x
        for k in range(start[x], start[x + 1]):
            y = nbr[k]
            if rep[y] == -1:
                rep[y] = x
                rep_sim[y] = nsim[k]


def greedy_clusters(
    rank: NDArray[np.int64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    sim: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return each document's representative and its similarity to it.

    ``rank[d]`` is document ``d``'s priority (lower wins); ``(u[e], v[e], sim[e])`` are
    the verified pairs. A document that is its own representative has similarity 1.

    Example:
        >>> rank = np.array([0, 1, 2])  # a chain 0 - 1 - 2 where 0 and 2 do not match
        >>> rep, s = greedy_clusters(rank, np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.9]))
        >>> rep.tolist()
        [0, 0, 2]
    """
    n = rank.shape[0]
    rep = np.full(n, -1, dtype=np.int64)
    rep_sim = np.ones(n, dtype=np.float64)
    if u.shape[0]:
        _greedy(n, np.asarray(rank, np.int64), np.asarray(u, np.int64), np.asarray(v, np.int64),
                np.asarray(sim, np.float64), rep, rep_sim)
    unassigned = rep == -1
    rep[unassigned] = np.flatnonzero(unassigned)
    return rep, rep_sim
