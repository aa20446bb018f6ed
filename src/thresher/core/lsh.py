"""Locality-sensitive hashing over MinHash signatures: band keys (a run's, and the
index's, with the band number mixed in) and candidate pairs."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.hashing import MUL, fmix64
from thresher.core.sorting import stable_argsort_u64

__all__ = ["band_keys", "bucket_pairs", "count_store_keys", "deal_store_keys", "store_keys"]

_MIX = np.uint64(0xD6E8FEB86659FD93)  # mixes a band's number into its keys in the index


@njit(cache=True, nogil=True, inline="always")
def _band_key(sig, row, start, rows, h):  # type: ignore[no-untyped-def]
    """The key of the ``rows`` values of row ``row`` of ``sig`` from ``start``: each
    mixed into ``h`` in turn. The one band-key hash: of a run's bands and the index's."""
    for j in range(start, start + rows):
        h = fmix64(h ^ np.uint64(sig[row, j]))
    return h


@njit(cache=True, nogil=True)
def _band_keys(sigs, start, rows, band, out):  # type: ignore[no-untyped-def]
    for d in range(sigs.shape[0]):
        out[d] = _band_key(sigs, d, start, rows, np.uint64(band + 1) * MUL)


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


def store_keys(sig: NDArray[np.uint32], bands: int, rows: int,
               *, title: NDArray[np.uint64] | None) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Return every document's band keys (each band mixed in) and title key, with owners:
    band after band, then the titles.

    One sorted table holds all bands in the index, so a band's number is mixed into its
    keys; title keys (never 0 where set) are kept as they are.
    """
    has = np.flatnonzero(title != 0) if title is not None else np.zeros(0, np.int64)
    n = sig.shape[0]
    keys = np.empty(bands * n + has.shape[0], dtype=np.uint64)
    owners = np.empty(keys.shape[0], dtype=np.int64)
    _store_band_keys(sig, bands, rows, keys, owners)
    if title is not None and has.shape[0]:
        keys[bands * n:] = title[has]
        owners[bands * n:] = has
    return keys, owners


@njit(cache=True, nogil=True, inline="always")
def _store_key(sig, row, b, rows):  # type: ignore[no-untyped-def]
    """Band ``b``'s key of row ``row`` of ``sig``: its band key (as
    :func:`band_keys` computes band 0's), the band number mixed in."""
    h = _band_key(sig, row, b * rows, rows, MUL)
    k = (h ^ (np.uint64(b + 1) * _MIX)) * np.uint64(0xFF51AFD7ED558CCD)
    return k ^ (k >> np.uint64(31))


@njit(cache=True, nogil=True)
def _store_band_keys(sig, bands, rows, out, owners):  # type: ignore[no-untyped-def]
    """Band ``b`` of document ``d`` (row ``d`` of ``sig``) at ``out[b * n + d]``
    (:func:`_store_key`); ``d`` at ``owners[b * n + d]``."""
    n = sig.shape[0]
    for d in range(n):  # a document's row at a time: the signatures are read once
        for b in range(bands):
            out[b * n + d] = _store_key(sig, d, b, rows)
            owners[b * n + d] = d


@njit(cache=True, nogil=True)
def count_store_keys(sig, which, bands, rows, title, has, bits, counts):  # type: ignore[no-untyped-def]
    """Add to ``counts[p]`` how many of the keys :func:`store_keys` makes (bands of
    the rows ``which`` of ``sig``, then the titles ``title[has]``) have ``p`` as their
    top ``bits`` bits."""
    shift = np.uint64(64 - bits)
    for d in range(which.shape[0]):
        row = which[d]
        for b in range(bands):
            counts[np.int64(_store_key(sig, row, b, rows) >> shift)] += 1
    for t in range(has.shape[0]):
        counts[np.int64(title[has[t]] >> shift)] += 1


@njit(cache=True, nogil=True)
def deal_store_keys(sig, which, bands, rows, title, has, bits, first, fill,  # type: ignore[no-untyped-def]
                     dealt, owners):
    """Deal the keys :func:`store_keys` makes, in its order (band after band, then
    the titles), each with its owner (``first`` + its document), into their parts by
    their top ``bits`` bits, at the places ``fill`` says (moved on as they fill)."""
    shift = np.uint64(64 - bits)
    n = which.shape[0]
    for b in range(bands):
        for d in range(n):
            k = _store_key(sig, which[d], b, rows)
            p = np.int64(k >> shift)
            dealt[fill[p]] = k
            owners[fill[p]] = first + d
            fill[p] += 1
    for t in range(has.shape[0]):
        k = title[has[t]]
        p = np.int64(k >> shift)
        dealt[fill[p]] = k
        owners[fill[p]] = first + has[t]
        fill[p] += 1
