"""A stable argsort of 64-bit keys for the compiled loops and the index's tables.

Band keys, title keys and fingerprints are hashes: their top bits spread them evenly.
One counting pass on the top bits below those all keys share (the keys of one key range
share their first bits) deals them into buckets of a few keys each, in input order;
each bucket is then sorted by insertion (stable). A bucket that a run of equal or
clustered keys makes large is sorted by merge sort instead. The result is the same
permutation as ``np.argsort(keys, kind="stable")``, several times faster on hashes.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["stable_argsort", "stable_sort"]

_PER_BUCKET = 8  # keys per bucket aimed at
_MAX_BITS = 22  # at most 4M buckets (32 MiB of counts)
_INSERTION = 32  # larger buckets are merge sorted


@njit(cache=True)
def stable_argsort_u64(keys):  # type: ignore[no-untyped-def]
    """Return the stable argsort of ``keys`` (uint64); callable from compiled code."""
    return _stable_sort(keys)[0]


@njit(cache=True)
def _stable_sort(keys):  # type: ignore[no-untyped-def]
    """Return the stable argsort of ``keys`` and the keys in that order."""
    n = keys.shape[0]
    order = np.empty(n, dtype=np.int64)
    if n == 0:
        return order, keys.copy()
    lo_key, hi_key = keys[0], keys[0]
    for i in range(n):
        lo_key = min(lo_key, keys[i])
        hi_key = max(hi_key, keys[i])
    if lo_key == hi_key:
        for i in range(n):
            order[i] = i
        return order, keys.copy()
    common = 0  # leading bits every key shares
    while (lo_key ^ hi_key) >> np.uint64(63 - common) == 0:
        common += 1
    bits = 1
    while (1 << bits) * _PER_BUCKET < n and bits < _MAX_BITS:
        bits += 1
    drop = np.uint64(common)
    shift = np.uint64(64 - bits)
    starts = np.zeros((1 << bits) + 1, dtype=np.int64)
    for i in range(n):
        starts[np.int64((keys[i] << drop) >> shift) + 1] += 1
    for b in range(1 << bits):
        starts[b + 1] += starts[b]
    fill = starts[:-1].copy()
    for i in range(n):
        at = np.int64((keys[i] << drop) >> shift)
        order[fill[at]] = i
        fill[at] += 1
    dealt = np.empty(n, dtype=np.uint64)
    for i in range(n):
        dealt[i] = keys[order[i]]
    for b in range(1 << bits):
        lo, hi = starts[b], starts[b + 1]
        if hi - lo <= 1:
            continue
        if hi - lo > _INSERTION:
            sub = np.argsort(dealt[lo:hi], kind="mergesort")
            order[lo:hi] = order[lo:hi][sub]
            dealt[lo:hi] = dealt[lo:hi][sub]
            continue
        for i in range(lo + 1, hi):
            k, o = dealt[i], order[i]
            j = i
            while j > lo and dealt[j - 1] > k:  # strictly greater: equal keys keep order
                dealt[j] = dealt[j - 1]
                order[j] = order[j - 1]
                j -= 1
            dealt[j] = k
            order[j] = o
    return order, dealt


def stable_argsort(keys: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Return ``np.argsort(keys, kind="stable")`` for unsigned 64-bit keys.

    Example:
        >>> stable_argsort(np.array([5, 1, 5, 0], dtype=np.uint64)).tolist()
        [3, 1, 0, 2]
    """
    order: NDArray[np.int64] = stable_argsort_u64(np.ascontiguousarray(keys, dtype=np.uint64))
    return order


def stable_sort(keys: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.uint64]]:
    """Return :func:`stable_argsort` of ``keys`` and the keys sorted (no second gather).

    Example:
        >>> order, ordered = stable_sort(np.array([5, 1, 5, 0], dtype=np.uint64))
        >>> order.tolist(), ordered.tolist()
        ([3, 1, 0, 2], [0, 1, 5, 5])
    """
    order, ordered = _stable_sort(np.ascontiguousarray(keys, dtype=np.uint64))
    return order, ordered
