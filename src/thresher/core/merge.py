"""The merge of two sorted tables, written a slice at a time: which side each entry of
the merge comes from, then the entries of any column, side by side."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["merge_fill", "merge_mask"]


@njit(cache=True, nogil=True)
def merge_mask(ka, kb, sa, sb, by_sub):  # type: ignore[no-untyped-def]
    """Which side each entry of the merge of two sorted tables comes from (1: ``a``).

    Sorted by key, then (``by_sub``) by the second key; ties go to ``a``.
    """
    n, m = ka.shape[0], kb.shape[0]
    mask = np.empty(n + m, dtype=np.uint8)
    i = j = 0
    for t in range(n + m):
        if j >= m:
            take = True
        elif i >= n:
            take = False
        elif ka[i] != kb[j]:
            take = ka[i] < kb[j]
        else:
            take = (not by_sub) or sa[i] <= sb[j]
        mask[t] = take
        if take:
            i += 1
        else:
            j += 1
    return mask


@njit(cache=True, nogil=True)
def merge_fill(mask, a, b, b_add, out, lo, hi, i, j):  # type: ignore[no-untyped-def]
    """Fill ``out`` with entries ``lo`` to ``hi`` of the merge of ``a`` and ``b`` (``b_add``
    added to ``b``'s) by ``mask``, from ``a[i]`` and ``b[j]`` on; return where they stop."""
    for t in range(lo, hi):
        if mask[t]:
            out[t - lo] = a[i]
            i += 1
        else:
            out[t - lo] = b[j] + b_add
            j += 1
    return i, j
