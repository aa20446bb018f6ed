"""Which blocks of a document are its content: a shipped tree model and one span per page.

The model (gradient-boosted trees, trained by ``bench/train_blocks.py`` on the labelled
pages in ``../shared`` only and shipped as ``blocks-model.npz``) gives every block a
probability of being content from the evidence in :mod:`thresher.core.blocks`. A page's
main text is one run of blocks, so the content is the span with the largest total of
``(p - cut) * (words + 1)`` (a maximum-sum subarray), less the blocks inside it that the
model is sure are chrome (an "Advertisement" line, a photo credit).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.blocks import FEATURES

__all__ = ["KEEP", "REASONS", "TreeModel", "load_model", "predict", "select_content"]

KEEP, HEADER, TRAILER, INLINE, NONE_FOUND = 0, 1, 2, 3, 4
REASONS = {HEADER: "before the main text", TRAILER: "after the main text",
           INLINE: "chrome inside the main text", NONE_FOUND: "no main text found"}
_MODEL = Path(__file__).with_name("blocks-model.npz")


@dataclass(frozen=True)
class TreeModel:
    """A binary gradient-boosted tree ensemble as flat arrays (one row per node)."""

    feature: NDArray[np.int64]
    threshold: NDArray[np.float64]
    left: NDArray[np.int64]  # absolute node index; -1 at a leaf
    right: NDArray[np.int64]
    value: NDArray[np.float64]
    roots: NDArray[np.int64]
    baseline: float
    features: tuple[str, ...]
    cut: float  # probability above which a block pulls the span towards it
    drop: float  # probability under which a block inside the span is removed

    def save(self, path: Path) -> None:
        np.savez_compressed(path, feature=self.feature, threshold=self.threshold,
                            left=self.left, right=self.right, value=self.value,
                            roots=self.roots, baseline=np.float64(self.baseline),
                            features=np.array(self.features), cut=np.float64(self.cut),
                            drop=np.float64(self.drop))


@lru_cache(maxsize=4)
def load_model(path: Path = _MODEL) -> TreeModel:
    """Load a tree model; the shipped one by default."""
    with np.load(path) as z:
        model = TreeModel(z["feature"], z["threshold"], z["left"], z["right"], z["value"],
                          z["roots"], float(z["baseline"]), tuple(str(x) for x in z["features"]),
                          float(z["cut"]), float(z["drop"]))
    if model.features != FEATURES:
        raise RuntimeError(f"{path} was trained on other features; retrain it with "
                           "bench/train_blocks.py")
    return model


@njit(cache=True)
def _predict(x, feature, threshold, left, right, value, roots, baseline, out):  # type: ignore[no-untyped-def]
    for i in range(x.shape[0]):
        raw = baseline
        for r in roots:
            node = r
            while left[node] >= 0:
                node = left[node] if x[i, feature[node]] <= threshold[node] else right[node]
            raw += value[node]
        out[i] = 1.0 / (1.0 + np.exp(-raw))


def predict(model: TreeModel, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return each row's probability of being content."""
    out = np.empty(x.shape[0], dtype=np.float64)
    _predict(np.ascontiguousarray(x), model.feature, model.threshold, model.left, model.right,
             model.value, model.roots, model.baseline, out)
    return out


@njit(cache=True)
def _select(doc_off, p, words, cut, drop, reason):  # type: ignore[no-untyped-def]
    for d in range(doc_off.shape[0] - 1):
        lo, hi = doc_off[d], doc_off[d + 1]
        best, cur, start = 0.0, 0.0, lo
        a, b = lo, lo
        for i in range(lo, hi):
            v = (p[i] - cut) * (words[i] + 1.0)
            if cur <= 0.0:
                cur, start = v, i
            else:
                cur += v
            if cur > best:
                best, a, b = cur, start, i + 1
        if b == a:
            reason[lo:hi] = NONE_FOUND
            continue
        reason[lo:a] = HEADER
        reason[b:hi] = TRAILER
        for i in range(a, b):
            reason[i] = INLINE if p[i] < drop else KEEP


def select_content(doc_offsets: NDArray[np.int64], p: NDArray[np.float64],
                   words: NDArray[np.float64], *, cut: float, drop: float
                   ) -> NDArray[np.uint8]:
    """Return each block's fate: ``KEEP`` or why it is not content (see ``REASONS``).

    Example:
        >>> p = np.array([0.1, 0.9, 0.4, 0.8, 0.2])
        >>> select_content(np.array([0, 5]), p, np.full(5, 9.0), cut=0.5, drop=0.45).tolist()
        [1, 0, 3, 0, 2]
    """
    reason = np.zeros(p.shape[0], dtype=np.uint8)
    _select(doc_offsets, p, words, cut, drop, reason)
    return reason
