"""Exact copies: documents with the same fingerprint, each led by its first by rank."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from thresher.core.sorting import lex_order

__all__ = ["exact_copies"]


def exact_copies(fp: NDArray[np.uint64], active: NDArray[np.int64], rank: NDArray[np.int64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return the documents of ``active`` that copy another exactly (the same 128-bit
    fingerprint, rows of ``fp``), in order, and each one's leader: the copy that ranks
    first (lowest ``rank``).

    Examples:
        >>> fp = np.array([[1, 2], [3, 4], [1, 2], [1, 2]], dtype=np.uint64)
        >>> doc, leader = exact_copies(fp, np.arange(4), np.array([2, 0, 1, 3]))
        >>> doc.tolist(), leader.tolist()
        ([0, 3], [2, 2])
    """
    key_order = active[lex_order(fp[active, 0], np.column_stack(
        (fp[active, 1], rank[active].astype(np.uint64))))]  # ranks are not negative
    same = np.zeros(key_order.shape[0], dtype=bool)
    same[1:] = (fp[key_order[1:]] == fp[key_order[:-1]]).all(axis=1)
    group_start = np.maximum.accumulate(np.where(same, 0, np.arange(key_order.shape[0])))
    leaders = key_order[group_start]
    members = leaders != key_order
    order = np.argsort(key_order[members], kind="mergesort")
    exact_doc, exact_leader = key_order[members][order], leaders[members][order]
    return exact_doc, exact_leader
