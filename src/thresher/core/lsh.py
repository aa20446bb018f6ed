"""Locality-sensitive hashing over MinHash signatures: the S-curve, bands and candidates.

A signature of ``bands * rows`` values is cut into ``bands`` bands; two documents are
candidates when all ``rows`` values of at least one band agree, which for Jaccard
similarity ``s`` happens with probability ``1 - (1 - s**rows) ** bands``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.hashing import MUL, fmix64

__all__ = [
    "LshPlan",
    "band_keys",
    "bucket_pairs",
    "candidate_probability",
    "choose_bands",
]

_GRID = 2001


def candidate_probability(s: NDArray[np.float64] | float, bands: int, rows: int) -> NDArray[np.float64]:
    """Return the probability that two documents of Jaccard ``s`` become candidates.

    Example:
        >>> round(float(candidate_probability(0.8, 16, 8)), 3)
        0.947
    """
    return np.asarray(1.0 - (1.0 - np.asarray(s, dtype=np.float64) ** rows) ** bands)


@dataclass(frozen=True)
class LshPlan:
    """The chosen bands and rows, with the errors they make around the threshold."""

    threshold: float
    bands: int
    rows: int
    false_positive_area: float
    false_negative_area: float

    def at(self, s: float) -> float:
        """Return the candidate probability at similarity ``s``."""
        return float(candidate_probability(s, self.bands, self.rows))


def _areas(threshold: float, bands: int, rows: int) -> tuple[float, float]:
    lo = np.linspace(0.0, threshold, _GRID)
    hi = np.linspace(threshold, 1.0, _GRID)
    fp = float(np.trapezoid(candidate_probability(lo, bands, rows), lo))
    fn = float(np.trapezoid(1.0 - candidate_probability(hi, bands, rows), hi))
    return fp, fn


def choose_bands(threshold: float, num_perm: int, *, fn_weight: float = 0.9) -> LshPlan:
    """Choose ``bands`` and ``rows`` (``bands * rows <= num_perm``) minimising weighted error.

    The error is ``(1 - fn_weight) * FP + fn_weight * FN``, where FP is the area under the
    S-curve below the threshold and FN the area above it under ``1 - curve``. thresher
    verifies every candidate, so a false positive costs a comparison while a false
    negative loses a duplicate: the default weighs a miss nine times a false alarm.

    Example:
        >>> plan = choose_bands(0.8, 128)
        >>> (plan.bands, plan.rows)
        (14, 9)
    """
    best: LshPlan | None = None
    best_err = np.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp, fn = _areas(threshold, bands, rows)
            err = (1.0 - fn_weight) * fp + fn_weight * fn
            if err < best_err - 1e-12:
                best_err = err
                best = LshPlan(threshold, bands, rows, fp, fn)
    if best is None:  # pragma: no cover - num_perm >= 1 always yields a plan
        raise ValueError("no LSH plan")
    return best


@njit(cache=True)
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


@njit(cache=True)
def _bucket_pairs(keys, docs, rank, cap):  # type: ignore[no-untyped-def]
    order = np.argsort(keys, kind="mergesort")
    n = order.shape[0]
    total = 0
    i = 0
    while i < n:  # first pass: count
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        m = j - i
        if m > 1:
            total += m * (m - 1) // 2 if m <= cap + 1 else cap * (m - cap) + cap * (cap - 1) // 2
        i = j
    out = np.empty(total, dtype=np.uint64)
    k = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        m = j - i
        if m > 1:
            members = docs[order[i:j]]
            members = members[np.argsort(rank[members], kind="mergesort")]
            heads = min(m, cap)
            for a in range(heads):
                for b in range(a + 1, m):
                    u, v = members[a], members[b]
                    lo, hi = (u, v) if u < v else (v, u)
                    out[k] = (np.uint64(lo) << np.uint64(32)) | np.uint64(hi)
                    k += 1
        i = j
    return out


def bucket_pairs(
    keys: NDArray[np.uint64], docs: NDArray[np.int64], rank: NDArray[np.int64], *, cap: int
) -> NDArray[np.uint64]:
    """Return the candidate pairs of one band as ``(lo << 32) | hi`` document numbers.

    Documents ``docs[i]`` with equal ``keys[i]`` share a bucket. A bucket of ``m <= cap + 1``
    documents gives all its pairs; a larger one pairs every member with the ``cap``
    members of highest priority (lowest ``rank``) only, since those are the ones that can
    become the representative that the others are compared with.

    Example:
        >>> keys = np.array([7, 7, 9, 7], dtype=np.uint64)
        >>> docs = np.arange(4, dtype=np.int64)
        >>> [int(p) & 0xFFFFFFFF for p in bucket_pairs(keys, docs, docs, cap=8)]
        [1, 3, 3]
    """
    return _bucket_pairs(keys, docs, rank, cap)
