"""The LSH S-curve and the choice of bands and rows (numpy only, no compiled code).

A signature of ``bands * rows`` values is cut into ``bands`` bands; two documents are
candidates when all ``rows`` values of at least one band agree, which for Jaccard
similarity ``s`` happens with probability ``1 - (1 - s**rows) ** bands``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["LshPlan", "candidate_probability", "choose_bands", "plan_for"]

_GRID = 2001


def candidate_probability(s: NDArray[np.float64] | float, bands: int, rows: int) -> NDArray[np.float64]:
    """Return the probability that two documents of Jaccard ``s`` become candidates.

    Examples:
        >>> round(float(candidate_probability(0.8, 16, 8)), 3)
        0.947
    """
    return np.asarray(1.0 - (1.0 - np.asarray(s, dtype=np.float64) ** rows) ** bands)


@dataclass(frozen=True, kw_only=True)
class LshPlan:
    """The chosen bands and rows, with the errors they make around the threshold.

    Attributes:
        threshold: The Jaccard similarity from which pairs are meant to become candidates.
        bands: LSH bands.
        rows: Signature rows per band.
        false_positive_area: Area under the S-curve below the threshold.
        false_negative_area: Area above the threshold under ``1 - curve``.
    """

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

    Examples:
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
                best = LshPlan(threshold=threshold, bands=bands, rows=rows, false_positive_area=fp,
                   false_negative_area=fn)
    if best is None:  # pragma: no cover - num_perm >= 1 always yields a plan
        raise ValueError("no LSH plan")
    return best


def plan_for(threshold: float, bands: int, rows: int) -> LshPlan:
    """Return the plan for given bands and rows, with its error areas."""
    fp, fn = _areas(threshold, bands, rows)
    return LshPlan(threshold=threshold, bands=bands, rows=rows, false_positive_area=fp,
                   false_negative_area=fn)
