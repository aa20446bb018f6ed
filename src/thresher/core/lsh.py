"""Locality-sensitive hashing over MinHash signatures: band keys and candidate pairs."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.hashing import MUL, fmix64
from thresher.core.sorting import stable_argsort_u64

__all__ = ["band_keys", "bucket_pairs"]

@njit(cache=True, nogil=True)
def _band_keys(sigs, start, rows, band, out):  # type: ignore[no-untyped-def]
    for d in range(sigs.shape[0]):
        h = np.uint64(band + 1) * MUL
        for j in range(start, start + rows):
            h = fmix64(h ^ np.uint64(sigs[d, j])) 
        out[d] = h


def band_keys(signatures: NDArray[np.uint32], band: int, rows: int) -> NDArray[np.uint64]:
    """Return one 64-bit key per document for band ``band`` of ``rows`` values."""
    out = np.empty(signatures.shape[0], dtype=np.uint64)
    _band_keys(signatures, band * rows, rows, band, out)
    return out


@njit(cache=True, nogil=True)
def _pairs_in(m, cap, heads):  # type: ignore[no-untyped-def]
    """How many pairs a bucket of ``m`` members gives (see :func:`bucket_pairs`)."""
    if m <= cap + 1:
        return m * (m - 1) // 2
    return heads * (m - heads) + heads * (heads - 1) // 2


@njit(cache=True, nogil=True)
def _bucket_pairs(keys, docs, rank, cap, heads):  # type: ignore[no-untyped-def]
    order = stable_argsort_u64(keys)
    n = order.shape[0]
    total = 0
    i = 0
    while i < n:  # first pass: count
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        total += _pairs_in(j - i, cap, heads)
        i = j
    out = np.empty(total, dtype=np.uint64)
    k = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        m = j - i
        if 1 < m <= cap + 1:  # every pair: no need to rank the members
            for a in range(i, j):
                for b in range(a + 1, j):
                    u, v = docs[order[a]], docs[order[b]]
                    lo, hi = (u, v) if u < v else (v, u)
                    out[k] = (np.uint64(lo) << np.uint64(32)) | np.uint64(hi)
                    k += 1
        elif m > 1:
            members = docs[order[i:j]]
            members = members[np.argsort(rank[members], kind="mergesort")]
            for a in range(heads):
                for b in range(a + 1, m):
                    u, v = members[a], members[b]
                    lo, hi = (u, v) if u < v else (v, u)
                    out[k] = (np.uint64(lo) << np.uint64(32)) | np.uint64(hi)
                    k += 1
        i = j
    return out


def bucket_pairs(
    keys: NDArray[np.uint64], docs: NDArray[np.int64], rank: NDArray[np.int64], *, cap: int,
    heads: int | None = None,
) -> NDArray[np.uint64]:
    """Return the candidate pairs of one band as ``(lo << 32) | hi`` document numbers.

    Documents ``docs[i]`` with equal ``keys[i]`` share a bucket. A bucket of ``m <= cap + 1``
    documents gives all its pairs; a larger one pairs every member with the ``heads``
    members of highest priority (lowest ``rank``; ``heads`` defaults to ``cap`` and never
    exceeds it) only, since those are the ones that can become the representative that
    the others are compared with. A large bucket is one text copied many times: its
    members share a large bucket in most bands, and the best-ranked members differ a
    little from band to band (a copy misses some bands), so a member's distinct partners
    over all bands are several times ``heads``: a small ``heads`` keeps them, and the
    verification and clustering that follow, a few pairs per member.

    Examples:
        >>> keys = np.array([7, 7, 9, 7], dtype=np.uint64)
        >>> docs = np.arange(4, dtype=np.int64)
        >>> [int(p) & 0xFFFFFFFF for p in bucket_pairs(keys, docs, docs, cap=8)]
        [1, 3, 3]
        >>> [int(p) & 0xFFFFFFFF for p in bucket_pairs(keys, docs, docs, cap=1, heads=1)]
        [1, 3]
    """
    top = cap if heads is None else max(1, min(heads, cap))
    pairs: NDArray[np.uint64] = _bucket_pairs(keys, docs, rank, cap, top)
    return pairs
