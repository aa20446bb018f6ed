"""Exact Jaccard similarity of candidate pairs, from their shingle hashes."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["distinct_sets", "gather_slices", "jaccard_pairs", "overlaps"]


@njit(cache=True, nogil=True)
def _gather(src, starts, counts, out):  # type: ignore[no-untyped-def]
    pos = 0
    for i in range(starts.shape[0]):
        out[pos : pos + counts[i]] = src[starts[i] : starts[i] + counts[i]]
        pos += counts[i]


def gather_slices(src: NDArray[np.uint32], starts: NDArray[np.int64], counts: NDArray[np.int64],
                  *, buffer: NDArray[np.uint32] | None = None) -> NDArray[np.uint32]:
    """Concatenate ``src[starts[i]:starts[i] + counts[i]]`` for every ``i`` (into the
    start of ``buffer`` when it is given and large enough: a view of it is returned).

    Examples:
        >>> gather_slices(np.arange(10, dtype=np.uint32), np.array([7, 1]), np.array([2, 3])).tolist()
        [7, 8, 1, 2, 3]
    """
    total = int(counts.sum())
    out = buffer[:total] if buffer is not None and buffer.shape[0] >= total else np.empty(
        total, dtype=np.uint32)
    _gather(np.asarray(src), np.asarray(starts, np.int64), np.asarray(counts, np.int64), out)
    return out


@njit(cache=True, nogil=True)
def _radix_sort(values, buf, count):  # type: ignore[no-untyped-def]
    """Sort values[:count] (uint32) in place: four passes of an 8-bit counting sort."""
    src, dst = values, buf
    hist = np.empty(256, dtype=np.int64)
    for shift in range(0, 32, 8):
        hist[:] = 0
        for i in range(count):
            hist[(src[i] >> shift) & 0xFF] += 1
        total = 0
        for b in range(256):
            c = hist[b]
            hist[b] = total
            total += c
        for i in range(count):
            b = (src[i] >> shift) & 0xFF
            dst[hist[b]] = src[i]
            hist[b] += 1
        src, dst = dst, src
    return src  # after an even number of passes: values itself


@njit(cache=True, nogil=True)
def _distinct_sets(flat, offsets, out, out_offsets):  # type: ignore[no-untyped-def]
    pos = 0
    longest = 0
    for d in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[d + 1] - offsets[d])
    work = np.empty(longest, dtype=np.uint32)
    buf = np.empty(longest, dtype=np.uint32)
    for d in range(offsets.shape[0] - 1):
        count = offsets[d + 1] - offsets[d]
        work[:count] = flat[offsets[d] : offsets[d + 1]]
        part = _radix_sort(work, buf, count)[:count]
        last = 0
        for i in range(part.shape[0]):
            if i == 0 or part[i] != last:
                out[pos] = part[i]
                pos += 1
                last = part[i]
        out_offsets[d + 1] = pos
    return pos


def distinct_sets(
    flat: NDArray[np.uint32], offsets: NDArray[np.int64]
) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Return each document's shingle hashes sorted and deduplicated, with new offsets.

    Examples:
        >>> flat, off = distinct_sets(np.array([3, 1, 3, 2, 2], np.uint32), np.array([0, 3, 5]))
        >>> flat.tolist(), off.tolist()
        ([1, 3, 2], [0, 2, 3])
    """
    out = np.empty(flat.shape[0], dtype=np.uint32)
    out_offsets = np.zeros(offsets.shape[0], dtype=np.int64)
    used = _distinct_sets(flat, np.asarray(offsets, dtype=np.int64), out, out_offsets)
    return out[:used], out_offsets


@njit(cache=True, nogil=True)
def _jaccard_pairs(flat, offsets, left, right, out):  # type: ignore[no-untyped-def]
    for p in range(left.shape[0]):
        a0, a1 = offsets[left[p]], offsets[left[p] + 1]
        b0, b1 = offsets[right[p]], offsets[right[p] + 1]
        inter = 0
        i, j = a0, b0
        while i < a1 and j < b1:
            x, y = flat[i], flat[j]
            if x == y:
                inter += 1
                i += 1
                j += 1
            elif x < y:
                i += 1
            else:
                j += 1
        union = (a1 - a0) + (b1 - b0) - inter
        out[p] = inter / union if union > 0 else 1.0


def jaccard_pairs(
    flat: NDArray[np.uint32],
    offsets: NDArray[np.int64],
    left: NDArray[np.int64],
    *, right: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Return the Jaccard similarity of sets ``left[p]`` and ``right[p]`` for every pair.

    The sets are sorted, distinct runs of ``flat`` (see :func:`distinct_sets`).

    Examples:
        >>> flat = np.array([1, 2, 3, 2, 3, 4], np.uint32)
        >>> jaccard_pairs(flat, np.array([0, 3, 6]), np.array([0]), right=np.array([1])).tolist()
        [0.5]
    """
    out = np.empty(left.shape[0], dtype=np.float64)
    _jaccard_pairs(flat, offsets, left, right, out)
    return out


def overlaps(flat: NDArray[np.uint32], offsets: NDArray[np.int64], left: NDArray[np.int64],
             *, right: NDArray[np.int64]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Return, for every pair of sets (as :func:`jaccard_pairs` takes them), the Jaccard
    similarity, the shingles they share, and the containment: the share of the smaller
    set's shingles that the other holds.

    Examples:
        >>> flat = np.array([1, 2, 3, 2, 3, 4, 5], np.uint32)
        >>> [x.tolist() for x in overlaps(flat, np.array([0, 3, 7]), np.array([0]),
        ...                               right=np.array([1]))]
        [[0.4], [2.0], [0.6666666666666666]]
    """
    sims = jaccard_pairs(flat, offsets, left, right=right)
    sizes = np.diff(offsets).astype(np.float64)
    a, b = sizes[left], sizes[right]
    inter = np.rint(sims * (a + b) / (1.0 + sims))
    return sims, inter, inter / np.maximum(np.minimum(a, b), 1.0)
