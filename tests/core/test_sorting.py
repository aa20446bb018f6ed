"""stable_argsort: numpy's stable order of 64-bit keys, on hashes and on keys that are not;
lex_order: numpy's lexsort of a 64-bit key and more."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from thresher.core.sorting import (
    distinct,
    lex_order,
    part_bits,
    sort_dealt,
    stable_argsort,
    stable_sort,
)


def _cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    hashed = rng.integers(0, 2**63, 200_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    return {
        "hashes": hashed,
        "hashes with repeats": np.repeat(hashed[:5_000], 7)[rng.permutation(35_000)],
        "small integers": rng.integers(0, 50, 100_000).astype(np.uint64),  # one big bucket
        "one top prefix": (np.uint64(3) << np.uint64(62)) | rng.integers(
            0, 2**16, 50_000).astype(np.uint64),
        "extremes": np.array([2**64 - 1, 0, 2**64 - 1, 1, 0], dtype=np.uint64),
        "one range, clustered": (np.uint64(5) << np.uint64(61)) | rng.integers(
            0, 2**20, 60_000).astype(np.uint64),  # all share 43 leading bits
        "all equal": np.full(1_000, 7, dtype=np.uint64),
        "many, all equal": np.full(70_000, 7, dtype=np.uint64),  # more than one cache's worth
        "one part holds most": np.concatenate((  # a skewed first deal, then clustered parts
            hashed[:20_000], (np.uint64(1) << np.uint64(63)) | rng.integers(
                0, 2**30, 90_000).astype(np.uint64), hashed[20_000:40_000]))[
            rng.permutation(130_000)],
        "one": np.array([9], dtype=np.uint64),
        "none": np.zeros(0, dtype=np.uint64),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_the_order_is_numpys_stable_order(name: str) -> None:
    keys = _cases()[name]
    got = stable_argsort(keys)
    assert got.dtype == np.int64
    assert np.array_equal(got, np.argsort(keys, kind="stable"))
    order, ordered = stable_sort(keys)
    assert np.array_equal(order, got) and np.array_equal(ordered, keys[got])


@pytest.mark.parametrize("name", list(_cases()))
def test_sorting_keys_dealt_elsewhere_gives_the_same_order(name: str) -> None:
    """Keys dealt into their parts by anyone (here by hand, in input order) and then sorted
    part by part: the stable order, with each key's carried value."""
    keys = _cases()[name]
    bits = part_bits(keys.shape[0])
    part = (keys >> np.uint64(64 - bits)).astype(np.int64)
    starts = np.zeros((1 << bits) + 1, dtype=np.int64)
    np.cumsum(np.bincount(part, minlength=1 << bits), out=starts[1:])
    by_part = np.argsort(part, kind="stable")
    want = np.argsort(keys, kind="stable")
    for pool in (None, ThreadPoolExecutor(1)):
        dealt, carried = keys[by_part].copy(), by_part.copy()
        sort_dealt(starts, carried, dealt, pool=pool)
        assert np.array_equal(carried, want) and np.array_equal(dealt, keys[want])
        if pool is not None:
            pool.shutdown()


def _lexsort(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    columns = [secondary[:, c] for c in range(secondary.shape[1])]
    return np.lexsort((*columns[::-1], primary))


@pytest.mark.parametrize("seed", range(40))
def test_lex_order_is_numpys_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    primary = rng.integers(0, [2, 9, 2**63][seed % 3], n).astype(np.uint64)
    secondary = rng.integers(0, [2, 4, 2**63][seed // 3 % 3], (n, seed % 3)).astype(np.uint64)
    assert np.array_equal(lex_order(primary, secondary), _lexsort(primary, secondary))


def test_lex_order_with_long_runs_of_equal_keys() -> None:
    """Runs too long to sort by insertion are sorted column by column, still stably."""
    rng = np.random.default_rng(2)
    primary = np.where(rng.random(20_000) < 0.5, np.uint64(7), np.uint64(2**63 + 5))
    primary[::97] = rng.integers(0, 2**63, primary[::97].shape[0]).astype(np.uint64)
    secondary = rng.integers(0, 3, (20_000, 2)).astype(np.uint64)
    got = lex_order(primary, secondary)
    assert got.dtype == np.int64 and np.array_equal(got, _lexsort(primary, secondary))


def test_equal_keys_keep_their_input_order() -> None:
    keys = np.array([5, 1, 5, 1, 5], dtype=np.uint64)
    assert stable_argsort(keys).tolist() == [1, 3, 0, 2, 4]


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.uint32])
@pytest.mark.parametrize("size", [0, 1, 2, 1000, 200_000])
def test_distinct_is_numpys_unique(dtype: type, size: int) -> None:
    rng = np.random.default_rng(size)
    spread = rng.integers(0, 2**31, size).astype(dtype)
    repeats = rng.integers(0, max(size // 10, 1), size).astype(dtype)  # many equal values
    for values in (spread, repeats, np.concatenate((repeats, spread))):
        got = distinct(values)
        want = np.unique(values)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
