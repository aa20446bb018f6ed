"""The index stage: rank the records, reject repeated ids, group exact copies."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.exact import exact_copies
from thresher.executors import thread_pool
from thresher.pipeline.counts import IndexCounts
from thresher.pipeline.graph import artifact
from thresher.pipeline.workdir import WorkDir

__all__ = ["build_index", "record_ranks"]

def build_index(work: WorkDir, n_shards: int, src: str = "read", *, threads: int = 1,
                keep: str = "connected") -> IndexCounts:
    """Rank records, reject repeated ids, and group exact duplicates; save global arrays.

    With ``threads`` > 1, the records are ranked (Arrow's and numpy's sorts, which let go
    of the GIL) by a second thread while this one finds the repeated ids. With a ``keep``
    policy other than ``connected``, each record's priority under it is saved, and the
    rank puts it first (then the default order): the leader of exact copies, and the
    members a crowded LSH bucket pairs every other with, are the policy's first.
    """
    import pyarrow as pa

    from thresher.pipeline.survivor import priority, sort_kind

    wanted = ["id", "length", "reason", "id_generated"] + (["sort_key"] if sort_kind(keep)
                                                           else [])
    metas = [work.read_parquet("read", artifact(s, "meta.parquet"), wanted)
             for s in range(n_shards)]
    table = pa.concat_tables(metas)
    with thread_pool(1) as pool:
        ranked = pool.submit(record_ranks, table) if threads > 1 else None
        ok, repeated, repeated_first = _repeated_ids(table)
        fp = np.concatenate([work.load_raw(src, artifact(s, "fp"), np.uint64, width=2)
                             for s in range(n_shards)])
        active = np.flatnonzero(ok)
        rank = record_ranks(table) if ranked is None else ranked.result()
    first = priority(keep, table["sort_key"].to_numpy() if sort_kind(keep) else None,
                     table.num_rows)
    if first is not None:
        rank[np.lexsort((rank, first))] = np.arange(table.num_rows, dtype=np.int64)
    exact_doc, exact_leader = exact_copies(fp, active, rank)
    # Sparse where it can be: only exact copies and repeated ids get a row.
    saved = {"ok": ok, "rank": rank, "exact_doc": exact_doc, "exact_leader": exact_leader,
             "repeated": repeated, "repeated_first": repeated_first}
    if first is not None:
        saved["priority"] = first
    for name, arr in saved.items():
        work.save("index", name, arr)
    return IndexCounts(records=table.num_rows, repeated_ids=int(repeated.shape[0]),
                       exact_members=int(exact_doc.shape[0]))


def record_ranks(table: Any) -> NDArray[np.int64]:
    """Each record's place when the longest come first, then the smallest ids.

    The ids are sorted alone (Arrow's stable sort of strings, quick on ids that come
    mostly in order), then records by length and that order: three times as fast as
    Arrow's sort on both columns, and the same order.
    """
    import pyarrow.compute as pc

    n = table.num_rows
    by_id = np.empty(n, dtype=np.int64)
    by_id[pc.sort_indices(table["id"]).to_numpy()] = np.arange(n, dtype=np.int64)
    length = table["length"].to_numpy()
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((by_id, -length))] = np.arange(n, dtype=np.int64)
    return rank


def _repeated_ids(table: Any) -> tuple[NDArray[np.bool_], NDArray[np.int64],
                                       NDArray[np.int64]]:
    """Which records are usable (no reason to reject them, and the first usable one of
    their id), the later ones of a repeated id, and the first of each of those.

    Only given ids can repeat: a made-up id (``FILE:LINE``, for a record without one) is
    unique by its place, and one that spells a given id is not that id, so neither record
    is rejected for it.
    """
    import pyarrow.compute as pc

    ok = pc.is_null(table["reason"]).to_numpy(zero_copy_only=False)
    codes = pc.dictionary_encode(table["id"]).combine_chunks().indices.to_numpy()
    given = ~pc.fill_null(table["id_generated"], False).to_numpy(zero_copy_only=False)
    good = np.flatnonzero(ok & given)
    _, first = np.unique(codes[good], return_index=True)
    first_of_code = np.full(int(codes.max(initial=0)) + 1, -1, dtype=np.int64)
    first_of_code[codes[good[first]]] = good[first]
    repeated = good[first_of_code[codes[good]] != good]
    ok[repeated] = False
    return ok, repeated, first_of_code[codes[repeated]]
