from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.core.cluster import greedy_clusters
from thresher.core.verify import distinct_sets, jaccard_pairs


def test_jaccard_matches_python_sets() -> None:
    rng = np.random.default_rng(3)
    sets = [rng.integers(0, 60, size=rng.integers(1, 40)).astype(np.uint32) for _ in range(30)]
    offsets = np.zeros(31, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    flat, off = distinct_sets(np.concatenate(sets), offsets)
    left, right = np.repeat(np.arange(30), 30), np.tile(np.arange(30), 30)
    got = jaccard_pairs(flat, off, left, right)
    for g, i, j in zip(got, left, right, strict=True):
        a, b = set(sets[i].tolist()), set(sets[j].tolist())
        assert abs(g - len(a & b) / len(a | b)) < 1e-12


def test_chain_is_cut_at_the_representative() -> None:
    # 0-1, 1-2, 2-3 all match, but only neighbours: a chain must not become one cluster
    rank = np.arange(4)
    rep, sim = greedy_clusters(rank, np.array([0, 1, 2]), np.array([1, 2, 3]),
                               np.array([0.9, 0.85, 0.95]))
    assert rep.tolist() == [1, 1, 1, 3]  # 1 and 2 match two others; 1 ranks first
    assert sim.tolist() == [0.9, 1.0, 0.85, 1.0]


def test_most_connected_document_is_the_representative() -> None:
    # a source with two copies that do not match each other: the source is the centre
    rank = np.array([2, 0, 1])  # the copies rank before the source (say, longer)
    rep, _ = greedy_clusters(rank, np.array([0, 0]), np.array([1, 2]), np.array([0.9, 0.9]))
    assert rep.tolist() == [0, 0, 0]


def test_rank_breaks_ties_between_equally_connected() -> None:
    rank = np.array([1, 0])
    rep, _ = greedy_clusters(rank, np.array([0]), np.array([1]), np.array([0.9]))
    assert rep.tolist() == [1, 1]


edges = st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=80)


@settings(max_examples=100, deadline=None)
@given(edges, st.randoms(use_true_random=False))
def test_members_are_direct_neighbours_of_their_representative(
        pairs: list[tuple[int, int]], rnd: object) -> None:
    pairs = [(a, b) for a, b in pairs if a != b]
    n = 30
    perm = list(range(n))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    rank = np.array(perm)
    u = np.array([a for a, _ in pairs], dtype=np.int64)
    v = np.array([b for _, b in pairs], dtype=np.int64)
    rep, _ = greedy_clusters(rank, u, v, np.full(len(pairs), 0.9))
    linked = {frozenset(p) for p in pairs}
    for doc, r in enumerate(rep.tolist()):
        assert rep[r] == r  # representatives represent themselves: clusters partition
        if r != doc:
            assert frozenset((doc, r)) in linked
