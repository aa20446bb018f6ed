"""Which blocks of a document are its content: a shipped tree model and one span per page.

The model (gradient-boosted trees, trained by ``tools/train_blocks.py`` on the labelled
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

from thresher.core.features import FEATURES

__all__ = ["KEEP", "REASONS", "TreeModel", "load_model", "predict", "select_content"]

KEEP, HEADER, TRAILER, INLINE, NONE_FOUND, TEASERS = 0, 1, 2, 3, 4, 5
REASONS = {HEADER: "before the main text", TRAILER: "after the main text",
           TEASERS: "a run of teasers for other stories after the main text",
           INLINE: "chrome inside the main text", NONE_FOUND: "no main text found"}
_MODEL = Path(__file__).with_name("blocks-model.npz")
# A span of fewer words is a label or a heading picked alone, not an article: too little
# to tell one page from another (its sketch is one pseudo-shingle), so none is found and
# the page is matched on its whole text.
MIN_CONTENT_WORDS = 5


@dataclass(frozen=True, eq=False, kw_only=True)  # hashed by identity: its evaluation form is cached
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
        model = TreeModel(feature=z["feature"], threshold=z["threshold"], left=z["left"],
                          right=z["right"], value=z["value"], roots=z["roots"],
                          baseline=float(z["baseline"]),
                          features=tuple(str(x) for x in z["features"]),
                          cut=float(z["cut"]), drop=float(z["drop"]))
    if model.features != FEATURES:
        raise RuntimeError(f"{path} was trained on other features; retrain it with "
                           "tools/train_blocks.py")
    return model


@dataclass(frozen=True, kw_only=True)
class _Complete:
    """The ensemble with every tree grown to the same depth, for branch-free traversal.

    A leaf above the full depth becomes a node whose test always goes left (threshold
    +inf) down to copies of its value, so every row takes exactly ``depth`` steps and
    reaches the leaf it would have reached in the original tree.
    """

    depth: int
    feature: NDArray[np.int64]  # (trees, 2**depth - 1)
    threshold: NDArray[np.float64]
    value: NDArray[np.float64]  # (trees, 2**depth)


@lru_cache(maxsize=8)
def _complete(model: TreeModel) -> _Complete:
    def depth(node: int) -> int:
        if model.left[node] < 0:
            return 0
        return 1 + max(depth(int(model.left[node])), depth(int(model.right[node])))

    d = max(depth(int(r)) for r in model.roots)
    inner = (1 << d) - 1
    n = len(model.roots)
    feature = np.zeros((n, inner), dtype=np.int64)
    threshold = np.full((n, inner), np.inf)
    value = np.zeros((n, 1 << d), dtype=np.float64)

    def fill(t: int, node: int, at: int, *, level: int) -> None:
        if level == d:
            value[t, at - inner] = model.value[node]
            return
        if model.left[node] < 0:  # a leaf early: always left, value copied below
            fill(t, node, 2 * at + 1, level=level + 1)
            fill(t, node, 2 * at + 2, level=level + 1)
            return
        feature[t, at], threshold[t, at] = model.feature[node], model.threshold[node]
        fill(t, int(model.left[node]), 2 * at + 1, level=level + 1)
        fill(t, int(model.right[node]), 2 * at + 2, level=level + 1)

    for t, root in enumerate(model.roots):
        fill(t, int(root), 0, level=0)
    return _Complete(depth=d, feature=feature, threshold=threshold, value=value)


@njit(cache=True, nogil=True)
def _predict(x, depth, feature, threshold, value, baseline, out):  # type: ignore[no-untyped-def]
    """Sum the trees in order for every row; each step is a comparison, not a branch.

    Eight rows walk each tree side by side: a walk is a chain of dependent loads, and
    eight independent chains keep the core busy while each waits (more than four did; the
    measurement is in docs/performance.md). Every row's sum is taken in tree order, as one
    row alone would take it.
    """
    inner = (1 << depth) - 1
    n = x.shape[0]
    eight = n - n % 8
    for i in range(0, eight, 8):
        r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = baseline
        for t in range(feature.shape[0]):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.int64(0)
            f, th = feature[t], threshold[t]
            for _ in range(depth):
                a0 = 2 * a0 + 1 + np.int64(x[i, f[a0]] > th[a0])
                a1 = 2 * a1 + 1 + np.int64(x[i + 1, f[a1]] > th[a1])
                a2 = 2 * a2 + 1 + np.int64(x[i + 2, f[a2]] > th[a2])
                a3 = 2 * a3 + 1 + np.int64(x[i + 3, f[a3]] > th[a3])
                a4 = 2 * a4 + 1 + np.int64(x[i + 4, f[a4]] > th[a4])
                a5 = 2 * a5 + 1 + np.int64(x[i + 5, f[a5]] > th[a5])
                a6 = 2 * a6 + 1 + np.int64(x[i + 6, f[a6]] > th[a6])
                a7 = 2 * a7 + 1 + np.int64(x[i + 7, f[a7]] > th[a7])
            v = value[t]
            r0 += v[a0 - inner]
            r1 += v[a1 - inner]
            r2 += v[a2 - inner]
            r3 += v[a3 - inner]
            r4 += v[a4 - inner]
            r5 += v[a5 - inner]
            r6 += v[a6 - inner]
            r7 += v[a7 - inner]
        for k, r in enumerate((r0, r1, r2, r3, r4, r5, r6, r7)):
            out[i + k] = 1.0 / (1.0 + np.exp(-r))
    for i in range(eight, n):
        raw = baseline
        for t in range(feature.shape[0]):
            at = np.int64(0)
            for _ in range(depth):
                at = 2 * at + 1 + np.int64(x[i, feature[t, at]] > threshold[t, at])
            raw += value[t, at - inner]
        out[i] = 1.0 / (1.0 + np.exp(-raw))


def predict(model: TreeModel, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return each row's probability of being content."""
    c = _complete(model)
    out = np.empty(x.shape[0], dtype=np.float64)
    _predict(np.ascontiguousarray(x), c.depth, c.feature, c.threshold, c.value,
             model.baseline, out)
    return out


@njit(cache=True, nogil=True)
def _teaser_run(a, b, title, heading, words):  # type: ignore[no-untyped-def]
    """Return where a trailing run of teasers opens inside span [a, b), else b.

    A heading (a short line without a sentence end) opens the run when no block from it
    to the span's end shares a topic word with the page's title while at least two
    paragraphs before it, and half of them, do, and the run holds less than half of the
    span's words: the
    title names the article, and what follows such a heading is about other stories
    ("related", "more from", "read next", in any language).
    """
    total = 0.0
    for i in range(a, b):
        total += words[i]
    anchored = 0
    paragraphs = 0
    before = 0.0
    for h in range(a, b):
        if anchored >= 2 and anchored * 2 >= paragraphs and heading[h] and b - h >= 3 \
                and (total - before) * 2 < total:
            ok = True
            for i in range(h, b):
                if title[i] > 0.0:
                    ok = False
                    break
            if ok:
                return h
        if words[h] >= 8:
            paragraphs += 1
            if title[h] > 0.0:
                anchored += 1
        before += words[h]
    return b


@njit(cache=True, nogil=True)
def _select(doc_off, p, words, cut, drop, title, heading, reason):  # type: ignore[no-untyped-def]
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
        if a == lo + 1 and heading[lo] and (title[a:b] > 0.0).any():
            a = lo  # the page's title, right before a text that it names: the headline
        t = _teaser_run(a, b, title, heading, words)
        reason[lo:a] = HEADER
        reason[b:hi] = TRAILER
        reason[t:b] = TEASERS
        b = t
        kept = 0.0
        for i in range(a, b):
            reason[i] = INLINE if p[i] < drop else KEEP
            kept += words[i] if reason[i] == KEEP else 0.0
        if kept < MIN_CONTENT_WORDS:
            reason[lo:hi] = NONE_FOUND


def select_content(doc_offsets: NDArray[np.int64], p: NDArray[np.float64],
                   words: NDArray[np.float64], *, cut: float, drop: float,
                   title: NDArray[np.float64] | None = None,
                   heading: NDArray[np.bool_] | None = None) -> NDArray[np.uint8]:
    """Return each block's fate: ``KEEP`` or why it is not content (see ``REASONS``).

    ``title`` (share of a block's topic words found in the title, -1 for none) and
    ``heading`` (short line without a sentence end) let a trailing run of teasers for
    other stories be cut off the span.

    Examples:
        >>> p = np.array([0.1, 0.9, 0.4, 0.8, 0.2])
        >>> select_content(np.array([0, 5]), p, np.full(5, 9.0), cut=0.5, drop=0.45).tolist()
        [1, 0, 3, 0, 2]
    """
    reason = np.zeros(p.shape[0], dtype=np.uint8)
    n = p.shape[0]
    _select(doc_offsets, p, words, cut, drop,
            np.full(n, -1.0) if title is None else title,
            np.zeros(n, dtype=np.bool_) if heading is None else heading, reason)
    return reason
