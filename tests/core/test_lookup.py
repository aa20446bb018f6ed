"""The lookups in sorted tables agree with numpy's binary search, whatever the path:
sorted_lookup's binary search or directory, the fence search of an index segment."""

from __future__ import annotations

import numpy as np
import pytest

from thresher.core.lookup import _ranges, fenced_lookup, pair_lookup, sorted_lookup


@pytest.mark.parametrize("spread", ["hashes", "clustered"])
@pytest.mark.parametrize("queries", [100, 20_000])  # binary search, then the directory
@pytest.mark.parametrize("size", [0, 1, 3, 5_000, 300_000])
def test_sorted_lookup_finds_each_keys_first_entry(size: int, queries: int,
                                                   spread: str) -> None:
    rng = np.random.default_rng(size + queries)
    top = 2**64 if spread == "hashes" else 2**12  # clustered: long runs of equal keys
    table = np.sort(rng.integers(0, top, size, dtype=np.uint64))
    if size >= 3:
        table[1] = table[0]  # a repeated key: its first entry's value is the answer
        table[-1] = np.uint64(2**64 - 1)
    values = rng.integers(0, 1_000, size)
    keys = rng.integers(0, 2**64 if spread == "hashes" else 2**13, queries, dtype=np.uint64)
    if size:
        keys[::3] = table[rng.integers(0, size, keys[::3].shape[0])]
        keys[0], keys[1] = table[0], table[-1]
    first: dict[int, int] = {}
    for k, v in zip(table.tolist(), values.tolist(), strict=True):
        first.setdefault(k, v)
    expected = [first.get(k, -7) for k in keys.tolist()]
    assert sorted_lookup(keys, table, values, default=-7).tolist() == expected


def test_fenced_and_sorted_lookups_agree() -> None:
    rng = np.random.default_rng(3)
    table = np.sort(rng.integers(0, 50, 400).astype(np.uint64))
    keys = np.sort(rng.integers(0, 60, 100).astype(np.uint64))
    which, at = fenced_lookup(keys, table, np.ascontiguousarray(table[::8]), step=8)
    first = np.full(keys.shape[0], -1)
    for i in range(keys.shape[0]):
        hits = at[which == i]
        want = np.flatnonzero(table == keys[i])
        assert hits.tolist() == want.tolist()
        first[i] = hits[0] if hits.shape[0] else -1
    assert sorted_lookup(keys, table, np.arange(400), default=-1).tolist() == first.tolist()


def test_pair_lookup_many_rows_searched_in_order() -> None:
    rng = np.random.default_rng(4)
    fp = rng.integers(0, 2**63, (3000, 2)).astype(np.uint64)
    order = np.lexsort((fp[:, 1], fp[:, 0]))
    key, sub = fp[order, 0].copy(), fp[order, 1].copy()
    asked = np.concatenate((fp[::2], fp[:5] + np.uint64(1)))
    got = pair_lookup(asked, key, sub)
    assert (got[-5:] == -1).all()
    assert (order[got[:-5]] == np.arange(0, 3000, 2)).all()


@pytest.mark.parametrize("step", [1, 2, 4, 7, 64])
def test_lookups_through_the_fence_find_every_equal_key(step: int) -> None:
    """Runs of equal keys that straddle fence entries are found whole, and absent keys
    (below, between and above the table) are not found, whether the keys come in order
    (searched near the previous one) or not."""
    rng = np.random.default_rng(step)
    table = np.sort(np.repeat(rng.integers(10, 1000, 60).astype(np.uint64) * np.uint64(2),
                              rng.integers(1, 12, 60)))
    asked = np.concatenate((table[rng.integers(0, table.shape[0], 40)],
                            np.array([0, 3, 2**64 - 1, 5001], dtype=np.uint64),
                            table[rng.integers(0, table.shape[0], 20)] + np.uint64(1)))
    far = np.arange(0, 2**64 - 2**60, 2**60, dtype=np.uint64)  # gaps past the near search
    for keys in (asked, np.sort(asked), np.sort(np.concatenate((asked, far)))):
        lo, hi = np.empty(keys.shape[0], np.int64), np.empty(keys.shape[0], np.int64)
        found = _ranges(table, np.ascontiguousarray(table[::step]), step, keys, lo, hi)
        assert lo.tolist() == np.searchsorted(table, keys, "left").tolist()
        assert hi.tolist() == np.searchsorted(table, keys, "right").tolist()
        assert found == int((hi - lo).sum()) > 0
