"""The records' ranks (longest first, then the smallest id, then input order) are Arrow's
stable sort on both columns, whatever the ids and lengths hold."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.pipeline.stages.index import record_ranks


def _arrow_ranks(table: pa.Table) -> list[int]:
    order = pc.sort_indices(table, sort_keys=[("length", "descending"), ("id", "ascending")])
    rank = np.empty(table.num_rows, dtype=np.int64)
    rank[order.to_numpy()] = np.arange(table.num_rows)
    return rank.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "ab", "B", "é", "z9", "", "a\x00"]),
                          st.integers(0, 4)), max_size=60),
       st.integers(1, 4))
def test_ranks_are_arrows_sort_on_length_then_id(rows: list[tuple[str, int]],
                                                 chunks: int) -> None:
    """Repeated ids, equal lengths, non-ASCII ids, the table in several chunks."""
    ids = [i for i, _ in rows]
    lengths = [n for _, n in rows]
    cut = sorted({0, len(rows), *range(0, len(rows), max(1, len(rows) // chunks))})
    table = pa.concat_tables([pa.table({"id": pa.array(ids[a:b], pa.string()),
                                        "length": pa.array(lengths[a:b], pa.int64())})
                              for a, b in pairwise(cut)] or [
        pa.table({"id": pa.array([], pa.string()), "length": pa.array([], pa.int64())})])
    got = record_ranks(table)
    assert got.dtype == np.int64
    assert got.tolist() == _arrow_ranks(table)
