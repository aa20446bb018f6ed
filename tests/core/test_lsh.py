from __future__ import annotations

import numpy as np

from thresher.core.lsh import band_keys, bucket_pairs
from thresher.core.plan import candidate_probability, choose_bands


def test_plan_puts_the_curve_around_the_threshold() -> None:
    for threshold in (0.5, 0.7, 0.8, 0.9):
        plan = choose_bands(threshold, 128)
        assert plan.bands * plan.rows <= 128
        assert plan.at(threshold) > 0.6
        assert plan.at(threshold - 0.3) < 0.1
        assert plan.at(min(1.0, threshold + 0.1)) > 0.95


def test_more_weight_on_misses_raises_recall_at_threshold() -> None:
    assert choose_bands(0.8, 128, fn_weight=0.9).at(0.8) > choose_bands(0.8, 128, fn_weight=0.5).at(0.8)


def test_candidate_probability_edges() -> None:
    assert float(candidate_probability(0.0, 10, 5)) == 0.0
    assert float(candidate_probability(1.0, 10, 5)) == 1.0


def test_band_keys_depend_only_on_band_values() -> None:
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 2, 3, 4]], dtype=np.uint32)
    k0 = band_keys(sig, 0, 2)
    k1 = band_keys(sig, 1, 2)
    assert k0[0] == k0[1] != k0[2]
    assert k1[0] == k1[2] != k1[1]


def test_bucket_pairs_all_pairs_in_small_bucket() -> None:
    keys = np.array([1, 1, 1, 2], dtype=np.uint64)
    docs = np.array([10, 11, 12, 13], dtype=np.int64)
    rank = np.arange(20, dtype=np.int64)
    pairs = {(int(p) >> 32, int(p) & 0xFFFFFFFF) for p in bucket_pairs(keys, docs, rank, cap=8)}
    assert pairs == {(10, 11), (10, 12), (11, 12)}


def test_bucket_pairs_cap_pairs_members_with_top_ranked() -> None:
    m, cap = 50, 3
    keys = np.zeros(m, dtype=np.uint64)
    docs = np.arange(m, dtype=np.int64)
    rank = docs[::-1].copy()  # the last document has the best rank
    pairs = [(int(p) >> 32, int(p) & 0xFFFFFFFF) for p in bucket_pairs(keys, docs, rank, cap=cap)]
    assert len(pairs) == len(set(pairs)) == cap * (m - cap) + cap * (cap - 1) // 2
    top = {49, 48, 47}
    assert all(a in top or b in top for a, b in pairs)
    assert {(a, 49) for a in range(49)} <= set(pairs)


def test_bucket_pairs_heads_bound_a_large_bucket() -> None:
    m = 500
    keys = np.r_[np.zeros(m), np.ones(3)].astype(np.uint64)  # one large bucket, one small
    docs = np.arange(m + 3, dtype=np.int64)
    rank = docs[::-1].copy()  # the last documents have the best ranks
    pairs = {(int(p) >> 32, int(p) & 0xFFFFFFFF)
             for p in bucket_pairs(keys, docs, rank, cap=8, heads=2)}
    large = {(a, b) for a, b in pairs if b < m}
    assert len(large) == 2 * (m - 2) + 1  # each member with the two best-ranked ones
    assert all(b in (m - 1, m - 2) for _, b in large)
    assert {(m, m + 1), (m, m + 2), (m + 1, m + 2)} <= pairs  # the small one: every pair
    # heads never exceed the cap (both buckets are large then), and the default is the cap
    assert len(bucket_pairs(keys, docs, rank, cap=1, heads=5)) == len(
        bucket_pairs(keys, docs, rank, cap=1)) == (m - 1) + 2
