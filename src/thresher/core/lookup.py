"""Lookups of many keys in sorted tables, all ending in one binary search
(``_first_at_least``).

:func:`sorted_lookup` finds each key's first value in a table in memory through a
directory of the table's top bits. :func:`fenced_lookup` finds every entry equal to
each key in a large table (memory-mapped: an index segment's) through a fence of every
``step``-th entry, so that a key touches the small fence and one page of the table, not
a dozen cold pages. :func:`pair_lookup` finds rows of two keys in a table sorted by both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.sorting import MAX_DIRECTORY_BITS, key_directory, lex_order

__all__ = ["fenced_lookup", "fp_tables", "pair_lookup", "sorted_lookup"]


@njit(cache=True, nogil=True)
def _first_at_least(table, k, lo=0, hi=-1):  # type: ignore[no-untyped-def]
    """The first position in ``table[lo:hi]`` (all of it by default) holding ``k`` or
    more; ``hi`` if none does."""
    if hi < 0:
        hi = table.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if table[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    return lo


_NEAR = 64


@njit(cache=True, nogil=True)
def _ranges(table, fence, step, keys, lo_out, hi_out):  # type: ignore[no-untyped-def]
    """``[lo, hi)``: where each key's equal entries lie in the sorted ``table``; return
    how many entries that makes.

    ``fence`` holds ``table[::step]``: ``j`` of its entries are less than a key, so the
    key's first place is past ``(j - 1) * step`` and at most ``j * step``.
    """
    n = table.shape[0]
    lo = 0
    found = 0
    for i in range(keys.shape[0]):
        k = keys[i]
        if i and keys[i - 1] <= k and lo < n and (table[lo] >= k or (
                lo + _NEAR < n and table[lo + _NEAR] >= k)):
            # Keys given in order (a batch's, sorted): the place is at most _NEAR past
            # the previous key's, on the same few cache lines.
            lo = _first_at_least(table, k, lo, min(n, lo + _NEAR + 1))
        else:
            j = _first_at_least(fence, k)
            lo = _first_at_least(table, k, max(0, (j - 1) * step + 1), min(n, j * step + 1))
        j = lo
        while j < n and table[j] == keys[i]:
            j += 1
        lo_out[i], hi_out[i] = lo, j
        found += j - lo
    return found


@njit(cache=True, nogil=True)
def _pairs(lo, hi, which, at):  # type: ignore[no-untyped-def]
    """List every (key, entry) of the ranges ``[lo, hi)``, key by key."""
    m = 0
    for i in range(lo.shape[0]):
        for e in range(lo[i], hi[i]):
            which[m], at[m] = i, e
            m += 1


@njit(cache=True, nogil=True)
def _find_fp(key, sub, fp, out):  # type: ignore[no-untyped-def]
    """``out[i]``: the entry whose (key, sub) is row ``i`` of ``fp``, if any."""
    n = key.shape[0]
    for i in range(fp.shape[0]):
        j = _first_at_least(key, fp[i, 0])
        while j < n and key[j] == fp[i, 0]:
            if sub[j] == fp[i, 1]:
                out[i] = j
                break
            j += 1


_DIRECT = 4096  # fewer keys than this are looked up by binary search


@njit(cache=True, nogil=True)
def _directed_lookup(keys, table, starts, common, bits, values, default, out):  # type: ignore[no-untyped-def]
    drop, shift = np.uint64(common), np.uint64(64 - bits)
    first = table[0]
    for i in range(keys.shape[0]):
        k = keys[i]
        v = default
        # a key without the leading bits every entry shares is not in the table
        if common == 0 or (k ^ first) >> np.uint64(64 - common) == 0:
            b = np.int64((k << drop) >> shift)
            # the slot's first entry >= k (a slot holds one or two of hashes)
            lo = _first_at_least(table, k, starts[b], starts[b + 1])
            if lo < starts[b + 1] and table[lo] == k:
                v = values[lo]
        out[i] = v


def sorted_lookup(keys: NDArray[np.uint64], table: NDArray[np.uint64], values: NDArray[Any],
                  *, default: int) -> NDArray[np.int64]:
    """Return, for every key, the value of its first entry in the sorted ``table``, or
    ``default`` where it has none.

    Many keys are looked up through a directory of the table's top bits (below those all
    its entries share: about one entry per slot for hashes), then a binary search inside
    the slot; a few keys by a binary search of the whole table.

    Examples:
        >>> sorted_lookup(np.array([7, 3, 9], dtype=np.uint64), np.array([3, 7, 7], dtype=np.uint64),
        ...               np.array([10, 20, 30]), default=-1).tolist()
        [20, 10, -1]
    """
    out = np.full(keys.shape[0], default, dtype=np.int64)
    if not table.shape[0] or not keys.shape[0]:
        return out
    if keys.shape[0] < _DIRECT:
        at = np.minimum(np.searchsorted(table, keys), table.shape[0] - 1)
        found = table[at] == keys
        out[found] = values[at[found]]
        return out
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    table = np.ascontiguousarray(table, dtype=np.uint64)
    first, last = int(table[0]), int(table[-1])
    if first == last:  # one key, perhaps repeated
        out[keys == table[0]] = values[0]
        return out
    common = 64 - (first ^ last).bit_length()  # leading bits every entry shares
    bits = max(1, min(MAX_DIRECTORY_BITS, int(table.shape[0]).bit_length()))
    _directed_lookup(keys, table, key_directory(table, common, bits), common, bits,
                     np.ascontiguousarray(values, dtype=np.int64), default, out)
    return out


def fenced_lookup(keys: NDArray[np.uint64], table: NDArray[np.uint64],
                  fence: NDArray[np.uint64], *, step: int
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return (which of ``keys``, entry of ``table``) for every entry equal to a key, key
    by key; ``fence`` is ``table[::step]``.

    Many keys are best given sorted: the searches then stay near each other, which is
    much faster for millions of keys than random order (docs/performance.md).

    Examples:
        >>> table = np.array([2, 5, 5, 9], dtype=np.uint64)
        >>> which, at = fenced_lookup(np.array([5, 7, 9], dtype=np.uint64), table,
        ...                           table[::2], step=2)
        >>> which.tolist(), at.tolist()
        ([0, 0, 2], [1, 2, 3])
    """
    lo = np.empty(keys.shape[0], dtype=np.int64)
    hi = np.empty(keys.shape[0], dtype=np.int64)
    found = _ranges(table, fence, step, keys, lo, hi)
    which = np.empty(found, dtype=np.int64)
    at = np.empty(found, dtype=np.int64)
    if found:  # most keys of new pages match nothing: no pass over all of them
        _pairs(lo, hi, which, at)
    return which, at


def pair_lookup(fp: NDArray[np.uint64], key: NDArray[np.uint64], sub: NDArray[np.uint64]
                ) -> NDArray[np.int64]:
    """Return the entry of each row (key, sub) of ``fp`` in the table sorted by ``key``
    then ``sub``, or -1.

    Examples:
        >>> key, sub = np.array([1, 1, 4], dtype=np.uint64), np.array([2, 3, 0], dtype=np.uint64)
        >>> pair_lookup(np.array([[1, 3], [4, 1]], dtype=np.uint64), key, sub).tolist()
        [1, -1]
    """
    out = np.full(fp.shape[0], -1, dtype=np.int64)
    if not key.shape[0] or not fp.shape[0]:
        return out
    if fp.shape[0] > 1024:  # many: searched in order, so the searches stay near
        ask = np.argsort(fp[:, 0], kind="stable")
        found = np.full(fp.shape[0], -1, dtype=np.int64)
        _find_fp(key, sub, np.ascontiguousarray(fp[ask]), found)
        out[ask] = found
    else:
        _find_fp(key, sub, np.ascontiguousarray(fp), out)
    return out


def fp_tables(fp: NDArray[np.uint64]) -> dict[str, NDArray[Any]]:
    """Fingerprints sorted for lookups: both halves in order, and their documents."""
    order = lex_order(fp[:, 0], fp[:, 1:2])
    return {"fpkey": np.ascontiguousarray(fp[order, 0]),
            "fpsub": np.ascontiguousarray(fp[order, 1]), "fporder": order}
