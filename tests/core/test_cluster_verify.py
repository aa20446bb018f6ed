from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.core.cluster import greedy_clusters, headlines_allow, may_take
from thresher.core.verify import distinct_sets, jaccard_pairs


def test_jaccard_matches_python_sets() -> None:
    rng = np.random.default_rng(3)
    sets = [rng.integers(0, 60, size=rng.integers(1, 40)).astype(np.uint32) for _ in range(30)]
    offsets = np.zeros(31, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    flat, off = distinct_sets(np.concatenate(sets), offsets)
    left, right = np.repeat(np.arange(30), 30), np.tile(np.arange(30), 30)
    got = jaccard_pairs(flat, off, left, right=right)
    for g, i, j in zip(got, left, right, strict=True):
        a, b = set(sets[i].tolist()), set(sets[j].tolist())
        assert abs(g - len(a & b) / len(a | b)) < 1e-12


def test_chain_is_cut_at_the_representative() -> None:
    # 0-1, 1-2, 2-3 all match, but only neighbours: a chain must not become one cluster
    rank = np.arange(4)
    rep, sim = greedy_clusters(rank, np.array([0, 1, 2]), np.array([1, 2, 3]),
                               sim=np.array([0.9, 0.85, 0.95]))
    assert rep.tolist() == [1, 1, 1, 3]  # 1 and 2 match two others; 1 ranks first
    assert sim.tolist() == [0.9, 1.0, 0.85, 1.0]


def test_most_connected_document_is_the_representative() -> None:
    # a source with two copies that do not match each other: the source is the centre
    rank = np.array([2, 0, 1])  # the copies rank before the source (say, longer)
    rep, _ = greedy_clusters(rank, np.array([0, 0]), np.array([1, 2]), sim=np.array([0.9, 0.9]))
    assert rep.tolist() == [0, 0, 0]


def test_rank_breaks_ties_between_equally_connected() -> None:
    rank = np.array([1, 0])
    rep, _ = greedy_clusters(rank, np.array([0]), np.array([1]), sim=np.array([0.9]))
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
    rep, _ = greedy_clusters(rank, u, v, sim=np.full(len(pairs), 0.9))
    linked = {frozenset(p) for p in pairs}
    for doc, r in enumerate(rep.tolist()):
        assert rep[r] == r  # representatives represent themselves: clusters partition
        if r != doc:
            assert frozenset((doc, r)) in linked


def test_containment_points_to_the_containing_document() -> None:
    # a short page (0) contained in two long ones (1, 2) that differ from each other: it
    # once took both (the most connected) and removed the two pages that hold its text
    rank = np.array([2, 0, 1])
    u, v = np.array([0, 0]), np.array([1, 2])
    size = np.array([1_000, 3_000, 3_200])
    directed = np.array([True, True])
    fwd = may_take(size[u], size[v], directed)
    bwd = may_take(size[v], size[u], directed)
    rep, _ = greedy_clusters(rank, u, v, sim=np.array([0.3, 0.3]), fwd=fwd, bwd=bwd)
    assert rep.tolist() == [1, 1, 2]  # the short page goes to a long one; both long stay


def test_different_headlines_forbid_containment_and_a_missing_one_does_not() -> None:
    a = np.array([5, 5, 0, 5, 0], dtype=np.uint64)
    b = np.array([5, 6, 6, 0, 0], dtype=np.uint64)
    assert headlines_allow(a, b).tolist() == [True, False, True, True, True]
    assert headlines_allow(b, a).tolist() == headlines_allow(a, b).tolist()  # symmetric


def test_a_first_line_without_letters_keeps_apart_from_a_headline_only() -> None:
    # keys with the low bit clear: first lines without letters ("1", "17", a rule)
    a = np.array([5, 2, 10], dtype=np.uint64)
    b = np.array([2, 6, 2], dtype=np.uint64)
    assert headlines_allow(a, b).tolist() == [False, True, True]
    assert headlines_allow(b, a).tolist() == headlines_allow(a, b).tolist()


def test_margin_lets_either_of_two_similar_sizes_take_the_other() -> None:
    directed = np.array([True])
    assert may_take(np.array([900]), np.array([1_000]), directed).tolist() == [True]
    assert may_take(np.array([790]), np.array([1_000]), directed).tolist() == [False]


@settings(max_examples=100, deadline=None)
@given(edges, st.lists(st.integers(1, 5_000), min_size=30, max_size=30),
       st.lists(st.booleans(), min_size=80, max_size=80))
def test_no_document_is_taken_by_a_much_shorter_one(
        pairs: list[tuple[int, int]], sizes: list[int], kinds: list[bool]) -> None:
    pairs = [(a, b) for a, b in pairs if a != b]
    u = np.array([a for a, _ in pairs], dtype=np.int64)
    v = np.array([b for _, b in pairs], dtype=np.int64)
    size = np.array(sizes, dtype=np.int64)
    directed = np.array(kinds[:len(pairs)], dtype=bool)
    fwd, bwd = may_take(size[u], size[v], directed), may_take(size[v], size[u], directed)
    rep, _ = greedy_clusters(np.arange(30), u, v, sim=np.full(len(pairs), 0.9), fwd=fwd, bwd=bwd)
    allowed = {(a, b) for a, b, f in zip(u.tolist(), v.tolist(), fwd.tolist(), strict=True)
               if f} | {(b, a) for a, b, g in zip(u.tolist(), v.tolist(), bwd.tolist(),
                                                   strict=True) if g}
    for doc, r in enumerate(rep.tolist()):
        assert r == doc or (r, doc) in allowed  # taken only along an allowed way
        assert rep[r] == r  # no chain


def test_priority_comes_before_connections() -> None:
    # the source matches both copies, but --keep prefers copy 2, then copy 1
    rank = np.array([0, 1, 2])
    u, v, sim = np.array([0, 0]), np.array([1, 2]), np.array([0.9, 0.95])
    rep, s = greedy_clusters(rank, u, v, sim=sim, priority=np.array([2, 1, 0]))
    assert rep.tolist() == [2, 1, 2]  # 2 takes its neighbour 0; 1 matches 0 only: alone
    assert s.tolist() == [0.95, 1.0, 1.0]
    rep, _ = greedy_clusters(rank, u, v, sim=sim, priority=np.array([0, 0, 0]))
    assert rep.tolist() == [0, 0, 0]  # ties: the default order, connections first


def test_a_contained_document_never_stands_first() -> None:
    # 1 is contained in 0 (only 0 may take it): though 1 comes first, 0 takes it
    rep, _ = greedy_clusters(np.arange(2), np.array([0]), np.array([1]), sim=np.array([0.6]),
                             fwd=np.array([True]), bwd=np.array([False]),
                             priority=np.array([1, 0]))
    assert rep.tolist() == [0, 0]


@settings(max_examples=150, deadline=None)
@given(edges, st.lists(st.integers(0, 5), min_size=30, max_size=30),
       st.lists(st.booleans(), min_size=80, max_size=80))
def test_any_priority_keeps_members_next_to_their_representative(
        pairs: list[tuple[int, int]], first: list[int], kinds: list[bool]) -> None:
    """No chaining whatever the policy; a representative precedes its members in the
    visit: it comes first by priority, unless the member could take nobody."""
    pairs = [(a, b) for a, b in pairs if a != b]
    u = np.array([a for a, _ in pairs], dtype=np.int64)
    v = np.array([b for _, b in pairs], dtype=np.int64)
    fwd = np.array(kinds[:len(pairs)], dtype=bool)
    bwd = ~fwd | np.array(kinds[::-1][:len(pairs)], dtype=bool)  # never neither way
    prio = np.array(first)
    rep, _ = greedy_clusters(np.arange(30), u, v, sim=np.full(len(pairs), 0.9), fwd=fwd,
                             bwd=bwd, priority=prio)
    allowed = {(a, b) for a, b, f in zip(u.tolist(), v.tolist(), fwd.tolist(), strict=True)
               if f} | {(b, a) for a, b, g in zip(u.tolist(), v.tolist(), bwd.tolist(),
                                                   strict=True) if g}
    takers = {a for a, _ in allowed}
    for doc, r in enumerate(rep.tolist()):
        assert r == doc or (r, doc) in allowed
        assert rep[r] == r
        if r != doc and doc in takers:
            assert prio[r] <= prio[doc]
