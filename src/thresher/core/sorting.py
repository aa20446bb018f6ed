"""A stable argsort of 64-bit keys for the compiled loops and the index's tables (the
lookups in sorted tables are in :mod:`thresher.core.lookup`).

Band keys, title keys and fingerprints are hashes: their top bits spread them evenly.
One counting pass on the top bits below those all keys share (the keys of one key range
share their first bits) deals them into buckets of a few keys each, in input order;
each bucket is then sorted by insertion (stable). A bucket that a run of equal or
clustered keys makes large is sorted by merge sort instead. More keys than the caches
hold are first dealt, in input order, into a few thousand parts by their top bits, and
each part is then sorted as above inside the cache: dealing millions of keys straight
into millions of buckets misses the cache at every key. The result is the same
permutation as ``np.argsort(keys, kind="stable")``, several times faster on hashes. It
stays because whole runs with numpy in its place, measured side by side, were slower at
a million pages by more than hand-written code must save to stay (``bench/libraries.py``;
``docs/performance.md``, "Libraries where they serve").
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["MAX_DIRECTORY_BITS", "distinct", "group_order", "key_directory", "lex_order",
           "part_bits", "sort_dealt", "stable_argsort", "stable_sort"]

_PER_BUCKET = 8  # keys per bucket aimed at
MAX_DIRECTORY_BITS = 22  # at most 4M buckets (32 MiB of counts)
_INSERTION = 32  # larger buckets are merge sorted
_IN_CACHE = 1 << 15  # keys sorted in one go; more are first dealt into parts of about this
_MAX_PART_BITS = 12  # at most 4096 parts: their write positions stay in the cache


@njit(cache=True, nogil=True)
def stable_argsort_u64(keys):  # type: ignore[no-untyped-def]
    """Return the stable argsort of ``keys`` (uint64); callable from compiled code."""
    return _stable_sort(keys)[0]


@njit(cache=True, nogil=True)
def _common_bits(keys):  # type: ignore[no-untyped-def]
    """Return how many leading bits all ``keys`` share (64 when all are equal)."""
    lo_key, hi_key = keys[0], keys[0]
    for i in range(keys.shape[0]):
        lo_key = min(lo_key, keys[i])
        hi_key = max(hi_key, keys[i])
    if lo_key == hi_key:
        return 64
    common = 0
    while (lo_key ^ hi_key) >> np.uint64(63 - common) == 0:
        common += 1
    return common


@njit(cache=True, nogil=True)
def _count_range(keys, lo, hi, common, bits):  # type: ignore[no-untyped-def]
    """How many of keys[lo:hi] fall in each of the ``2**bits`` buckets (see :func:`_deal`)."""
    drop, shift = np.uint64(common), np.uint64(64 - bits)
    counts = np.zeros(1 << bits, dtype=np.int64)
    for i in range(lo, hi):
        counts[np.int64((keys[i] << drop) >> shift)] += 1
    return counts


@njit(cache=True, nogil=True)
def key_directory(table, common, bits):  # type: ignore[no-untyped-def]
    """Where the entries of ``table`` with each value of their ``bits`` bits after the
    ``common`` leading ones start, once dealt (sorted, where ``table`` is)."""
    starts = np.zeros((1 << bits) + 1, dtype=np.int64)
    starts[1:] = np.cumsum(_count_range(table, 0, table.shape[0], common, bits))
    return starts


@njit(cache=True, nogil=True)
def _deal_range(keys, lo, hi, common, bits, fill, order, dealt):  # type: ignore[no-untyped-def]
    """Deal keys[lo:hi] in input order to the places ``fill`` says, bucket by bucket,
    each with its position in ``order``."""
    drop, shift = np.uint64(common), np.uint64(64 - bits)
    for i in range(lo, hi):
        k = keys[i]
        at = np.int64((k << drop) >> shift)
        order[fill[at]] = i
        dealt[fill[at]] = k
        fill[at] += 1


@njit(cache=True, nogil=True)
def _deal(keys, common, bits):  # type: ignore[no-untyped-def]
    """Deal ``keys`` into ``2**bits`` buckets by their bits after the ``common`` leading
    ones, in input order: return where each bucket starts, the order and the keys dealt."""
    n = keys.shape[0]
    starts = key_directory(keys, common, bits)
    order = np.empty(n, dtype=np.int64)
    dealt = np.empty(n, dtype=np.uint64)
    _deal_range(keys, 0, n, common, bits, starts[:-1].copy(), order, dealt)
    return starts, order, dealt


@njit(cache=True, nogil=True)
def _part_bits(n):  # type: ignore[no-untyped-def]
    """Into how many parts (as bits) :func:`_stable_sort` first deals ``n`` keys."""
    bits = 1
    while (n >> bits) > _IN_CACHE and bits < _MAX_PART_BITS:
        bits += 1
    return bits


@njit(cache=True, nogil=True)
def _sort_parts(starts, order, dealt, first, last):  # type: ignore[no-untyped-def]
    """Sort dealt parts ``first`` to ``last`` (exclusive), each inside the cache."""
    for b in range(first, last):
        lo, hi = starts[b], starts[b + 1]
        if hi - lo > 1:
            sub, ordered = _bucket_sort(dealt[lo:hi])
            order[lo:hi] = order[lo:hi][sub]
            dealt[lo:hi] = ordered


@njit(cache=True, nogil=True)
def _stable_sort(keys):  # type: ignore[no-untyped-def]
    """Return the stable argsort of ``keys`` and the keys in that order."""
    n = keys.shape[0]
    if n <= _IN_CACHE:
        return _bucket_sort(keys)
    common = _common_bits(keys)
    if common == 64:
        return np.arange(n), keys.copy()
    bits = _part_bits(n)
    starts, order, dealt = _deal(keys, common, bits)
    _sort_parts(starts, order, dealt, 0, 1 << bits)
    return order, dealt


@njit(cache=True, nogil=True)
def _bucket_sort(keys):  # type: ignore[no-untyped-def]
    """:func:`_stable_sort` in one pass of buckets (for keys that fit the cache)."""
    n = keys.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), keys.copy()
    common = _common_bits(keys)  # leading bits every key shares
    if common == 64:
        return np.arange(n), keys.copy()
    bits = 1
    while (1 << bits) * _PER_BUCKET < n and bits < MAX_DIRECTORY_BITS:
        bits += 1
    starts, order, dealt = _deal(keys, common, bits)
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

    Examples:
        >>> stable_argsort(np.array([5, 1, 5, 0], dtype=np.uint64)).tolist()
        [3, 1, 0, 2]
    """
    order: NDArray[np.int64] = stable_argsort_u64(np.ascontiguousarray(keys, dtype=np.uint64))
    return order


def stable_sort(keys: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.uint64]]:
    """Return :func:`stable_argsort` of ``keys`` and the keys sorted (no second gather).

    Examples:
        >>> order, ordered = stable_sort(np.array([5, 1, 5, 0], dtype=np.uint64))
        >>> order.tolist(), ordered.tolist()
        ([3, 1, 0, 2], [0, 1, 5, 5])
    """
    order, ordered = _stable_sort(np.ascontiguousarray(keys, dtype=np.uint64))
    return order, ordered


def part_bits(n: int) -> int:
    """Into how many parts (as bits: ``2**bits``) :func:`stable_sort` deals ``n`` keys
    before it sorts each part inside the cache."""
    return int(_part_bits(n))


def sort_dealt(starts: NDArray[np.int64], carried: NDArray[Any], dealt: NDArray[np.uint64],
               *, pool: Executor | None = None) -> None:
    """Sort, in place, keys ``dealt`` into parts by their top bits (part ``p`` is
    ``dealt[starts[p]:starts[p + 1]]``, in input order), each with what it ``carried``:
    the parts in order then hold all the keys in stable order. With a thread ``pool``, the
    first and second half of the parts are sorted side by side."""
    parts = starts.shape[0] - 1
    if pool is None:
        _sort_parts(starts, carried, dealt, 0, parts)
        return
    middle = int(np.searchsorted(starts, int(starts[-1]) // 2))  # about half the keys each
    second = pool.submit(_sort_parts, starts, carried, dealt, middle, parts)
    _sort_parts(starts, carried, dealt, 0, middle)
    second.result()


def lex_order(primary: NDArray[np.uint64], secondary: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Return ``np.lexsort`` of the columns of ``secondary`` (n, m) then ``primary``
    (the primary key first): a stable order by ``primary``, equal primaries by the
    secondary columns in turn. ``primary`` is sorted as hashes are (see
    :func:`stable_sort`); only runs of equal primaries look at the others.

    Examples:
        >>> lex_order(np.array([5, 1, 5, 5], dtype=np.uint64),
        ...           np.array([[2, 0], [9, 9], [1, 7], [2, 0]], dtype=np.uint64)).tolist()
        [1, 2, 0, 3]
    """
    order, ordered = _stable_sort(np.ascontiguousarray(primary, dtype=np.uint64))
    if secondary.shape[1]:
        _order_ties(ordered, order, np.ascontiguousarray(secondary, dtype=np.uint64))
    return np.asarray(order, dtype=np.int64)


@njit(cache=True, nogil=True)
def _order_ties(ordered, order, secondary):  # type: ignore[no-untyped-def]
    """Order each run of equal ``ordered`` keys by the rows of ``secondary`` (compared
    column by column), stably: by insertion where a run is short, else by one stable
    sort per column, the last column first."""
    n, m = secondary.shape
    i = 0
    while i < n:
        j = i + 1
        while j < n and ordered[j] == ordered[i]:
            j += 1
        if j - i > _INSERTION:
            run = order[i:j].copy()
            for c in range(m - 1, -1, -1):
                column = np.empty(j - i, dtype=np.uint64)
                for t in range(j - i):
                    column[t] = secondary[run[t], c]
                run = run[np.argsort(column, kind="mergesort")]
            order[i:j] = run
        elif j - i > 1:
            for a in range(i + 1, j):
                o = order[a]
                b = a
                while b > i and _row_less(secondary, o, order[b - 1]):
                    order[b] = order[b - 1]
                    b -= 1
                order[b] = o
        i = j


@njit(cache=True, nogil=True, inline="always")
def _row_less(secondary, x, y):  # type: ignore[no-untyped-def]
    """Whether row ``x`` of ``secondary`` comes strictly before row ``y``."""
    for c in range(secondary.shape[1]):
        if secondary[x, c] != secondary[y, c]:
            return secondary[x, c] < secondary[y, c]
    return False


def group_order(values: NDArray[Any], groups: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A stable order that puts equal ``values`` (group numbers) together, and where each
    group starts in it: group ``g`` is ``order[bounds[g]:bounds[g + 1]]`` (values past
    ``groups - 1`` come last). One radix sort of 16-bit numbers, not a scan per group.

    Examples:
        >>> order, bounds = group_order(np.array([2, 0, 2, 1]), 3)
        >>> order.tolist(), bounds.tolist()
        ([1, 3, 0, 2], [0, 1, 2, 4])
    """
    small = values.astype(np.uint16 if groups <= 1 << 16 else np.int64)
    order = np.argsort(small, kind="stable")
    return order, np.searchsorted(small[order], np.arange(groups + 1))


def distinct(values: NDArray[Any]) -> NDArray[Any]:
    """Return the distinct ``values`` in order, as ``np.unique(values)`` does.

    numpy 2.3 and later find distinct integers with a hash table, then sort them: on
    millions of mostly distinct 64-bit numbers (candidate pairs) that takes 15 times as
    long as one sort and a comparison of neighbours.

    Examples:
        >>> distinct(np.array([5, 1, 5, 0], dtype=np.uint64)).tolist()
        [0, 1, 5]
    """
    ordered = np.sort(np.asarray(values).ravel())
    keep = np.empty(ordered.shape[0], dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
