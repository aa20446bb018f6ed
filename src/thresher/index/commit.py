"""Add a run's kept documents to a persistent index as one new segment.

The segment holds the documents' band keys (sorted, each with its document), their
fingerprints, shingle sets, sites, titles, headlines and content spans, the run's site
statistics (for lone queries) and, matching on content, the whole texts' fingerprints
with the decision each page had (a page crawled again unchanged is decided as before).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.lookup import fp_tables
from thresher.core.lsh import count_store_keys, deal_store_keys
from thresher.core.rule import EDGE_EXACT, EDGE_NEAR, EDGE_PARTIAL, EDGE_SAME_CONTENT, EDGE_TITLE
from thresher.core.sorting import part_bits, sort_dealt, stable_argsort
from thresher.core.verify import gather_slices
from thresher.executors import Threads, thread_pool
from thresher.index.merging import npy_stream
from thresher.index.segment import fence_of
from thresher.index.store import IndexStore
from thresher.pipeline.match import (
    KIND_EXACT_NEAR,
    KIND_NEAR,
    KIND_PARTIAL,
    KIND_SAME_CONTENT,
    KIND_TITLE,
    shard_offsets,
)
from thresher.pipeline.stages.cluster import ShardDecisions
from thresher.pipeline.workdir import WorkDir

__all__ = ["commit_run"]


def commit_run(work: WorkDir, store: IndexStore, n_shards: int, *, kept: NDArray[np.bool_],
               bands: int, rows: int, columns: int, titles: bool, src: str,
               info: dict[str, Any], token: str = "",
               decided: ShardDecisions | None = None, threads: int = 1,
               cpu: list[float] | None = None) -> dict[str, Any]:
    """Add the run's kept documents to the index as one new segment (under its writer lock).

    Memory holds the batch's band keys and per-document columns (about 300 bytes per
    document); the shingle sets (about 1 KB per document) are streamed from the work
    folder into the segment, one shard at a time, as they are (made distinct when read).
    With ``threads`` > 1, the whole texts' tables, the shards' columns and the sort of the
    keys are shared with helper threads (the compiled kernels release the GIL), whose
    CPU seconds are appended to ``cpu``. The segment is the same either way.
    """
    helpers = thread_pool(threads - 1)
    try:
        return _commit_run(work, store, n_shards, kept=kept, bands=bands, rows=rows,
                           columns=columns, titles=titles, src=src, info=info, token=token,
                           decided=decided, helpers=helpers)
    finally:
        helpers.shutdown()
        if cpu is not None:
            cpu.append(helpers.cpu)


def _shard_columns(work: WorkDir, src: str, s: int, *, local: NDArray[np.int64], bands: int,
                   rows: int, columns: int, titled: tuple[NDArray[np.uint64], NDArray[np.int64]],
                   bits: int, counts: NDArray[np.int64]) -> dict[str, Any]:
    """The columns of the segment that shard ``s``'s kept documents (``local``) fill; how
    many of their keys fall in each part of ``bits`` bits is added to ``counts`` (see
    :func:`_sorted_keys`)."""
    import pyarrow as pa

    content = src == "content"
    name = f"{s:05d}"
    n = local.shape[0]
    sig = np.asarray(work.load_raw(src, f"{name}.sig", np.uint32, width=columns))  # the map
    count_store_keys(sig, local, bands, rows, titled[0], titled[1], bits, counts)
    shoff = work.load_raw(src, f"{name}.shoff", np.int64)
    meta = work.read_parquet("read", f"{name}.meta.parquet", ["id", "url", "file", "line"])
    return {
        "fp": np.asarray(work.load_raw(src, f"{name}.fp", np.uint64, width=2)[local]),
        "title": titled[0],
        "head": np.asarray(work.load_raw("content", f"{name}.head", np.uint64)[local])
        if content else np.zeros(n, np.uint64),
        "site": np.asarray(work.load_raw("content", f"{name}.site", np.uint64)[local])
        if content else np.zeros(n, np.uint64),
        "span": np.asarray(work.load_raw("content", f"{name}.span", np.int64, width=2)[local])
        if content else np.zeros((n, 2), np.int64),
        "count": np.asarray(shoff[local + 1] - shoff[local]),
        "table": meta.take(pa.array(local))}


def _sorted_keys(work: WorkDir, src: str, locals_: list[NDArray[np.int64]],
                 *, titled: list[tuple[NDArray[np.uint64], NDArray[np.int64]]],
                 counts: NDArray[np.int64], bands: int, rows: int, columns: int,
                 bits: int, helpers: Threads) -> tuple[NDArray[np.uint32], NDArray[np.uint64]]:
    """The keys of every shard's kept documents (:func:`store_keys`'s, shard after shard,
    owners numbered across the shards) in stable order, and their owners in that order.

    As :func:`~thresher.core.sorting.stable_sort` does, the keys are dealt into parts by
    their top ``bits`` bits, in input order, and each part is then sorted; but each shard
    deals its own keys straight from its signatures, to the places in each part that the
    ``counts`` of the shards before it leave free. No table of all the keys in input
    order is made: that is 12 bytes a key (300 MiB for a million pages) of fresh memory,
    dearer to map than the keys are to make twice.
    """
    starts = np.zeros(counts.shape[1] + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=0), out=starts[1:])
    fills = starts[:-1] + (np.cumsum(counts, axis=0) - counts)  # after the shards before
    dealt = np.empty(int(starts[-1]), dtype=np.uint64)
    owners = np.empty(int(starts[-1]), dtype=np.uint32)
    firsts = np.cumsum([0] + [int(x.shape[0]) for x in locals_])

    def deal(s: int) -> None:
        sig = np.asarray(work.load_raw(src, f"{s:05d}.sig", np.uint32, width=columns))
        deal_store_keys(sig, locals_[s], bands, rows, titled[s][0], titled[s][1], bits,
                         int(firsts[s]), fills[s], dealt, owners)

    odd = [helpers.submit(deal, s) for s in range(1, len(locals_), 2)]
    for s in range(0, len(locals_), 2):
        deal(s)
    for done in odd:
        done.result()
    sort_dealt(starts, owners, dealt, pool=helpers.threaded)
    return owners, dealt


def _titled(work: WorkDir, src: str, s: int, *, local: NDArray[np.int64], titles: bool
            ) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Shard ``s``'s title keys of its kept documents, and which of them have one (none
    where titles are not matched)."""
    title = np.asarray(work.load_raw("content", f"{s:05d}.title", np.uint64)[local]) \
        if src == "content" and titles else np.zeros(local.shape[0], np.uint64)
    return title, np.flatnonzero(title != 0) if titles else np.zeros(0, np.int64)


def _commit_run(work: WorkDir, store: IndexStore, n_shards: int, *, kept: NDArray[np.bool_],
                bands: int, rows: int, columns: int, titles: bool, src: str,
                info: dict[str, Any], token: str, decided: ShardDecisions | None,
                helpers: Threads) -> dict[str, Any]:
    import pyarrow as pa

    offsets = shard_offsets(work, n_shards)
    content = src == "content"
    # the whole texts' fingerprints too: see _text_tables
    text_tables = helpers.submit(_text_tables, work, n_shards, kept, decided=decided,
                                 before=int(store.manifest()["documents"])) if content else None
    template_tables = helpers.submit(_template_tables, work, src)
    locals_ = [np.flatnonzero(kept[int(offsets[s]):int(offsets[s + 1])])
               for s in range(n_shards)]
    titled = [_titled(work, src, s, local=locals_[s], titles=titles) for s in range(n_shards)]
    bits = part_bits(sum(bands * x.shape[0] + t[1].shape[0]
                         for x, t in zip(locals_, titled, strict=True)))
    counts = np.zeros((n_shards, 1 << bits), dtype=np.int64)

    def columns_of(s: int) -> dict[str, Any]:
        return _shard_columns(work, src, s, local=locals_[s], bands=bands, rows=rows,
                              columns=columns, titled=titled[s], bits=bits, counts=counts[s])

    # the odd shards to a helper, the even ones made here meanwhile
    odd = {s: helpers.submit(columns_of, s) for s in range(1, n_shards, 2)}
    even = {s: columns_of(s) for s in range(0, n_shards, 2)}
    shards = [odd[s].result() if s % 2 else even[s] for s in range(n_shards)]
    tables = [part.pop("table") for part in shards]
    joined = {k: np.concatenate([part[k] for part in shards]) if shards else np.zeros(0)
              for k in ("fp", "site", "title", "head", "span", "count")}
    done = sum(int(x.shape[0]) for x in locals_)
    shoff = np.zeros(done + 1, dtype=np.int64)
    np.cumsum(joined["count"], out=shoff[1:])

    def write_sh(path: Any) -> None:
        """Write the kept shingle sets as one .npy, a shard at a time through one buffer."""
        buffer = np.empty(0, dtype=np.uint32)
        with npy_stream(path, np.uint32, (int(shoff[-1]),)) as fh:
            for s, local in enumerate(locals_):
                raw_off = work.load_raw(src, f"{s:05d}.shoff", np.int64)
                sizes = np.asarray(raw_off[local + 1] - raw_off[local])
                if buffer.shape[0] < int(sizes.sum()):
                    buffer = np.empty(int(sizes.sum()), dtype=np.uint32)
                fh.write(gather_slices(np.asarray(work.load_raw(src, f"{s:05d}.sh", np.uint32)),
                                       np.asarray(raw_off[local]), sizes, buffer=buffer).data)

    # The shingle sets (the segment's largest file) are written from now, on a thread of
    # their own, while the keys are dealt and sorted.
    segment = store.new_segment()
    try:
        segment.stream("sh", write_sh)
        kdocs, keys = _sorted_keys(work, src, locals_, titled=titled, counts=counts, bands=bands,
                                   rows=rows, columns=columns, bits=bits, helpers=helpers)
        fp = joined["fp"].reshape(-1, 2).astype(np.uint64)
        arrays: dict[str, Any] = {
            **template_tables.result(), **(text_tables.result() if text_tables else {}),
            "keys": keys, "kfence": fence_of(keys),
            "kdocs": kdocs, "fp": fp, **fp_tables(fp),
            "shoff": shoff, "site": joined["site"].astype(np.uint64),
            "title": joined["title"].astype(np.uint64),
            "head": joined["head"].astype(np.uint64),
            "span": joined["span"].reshape(-1, 2).astype(np.int64)}
    except BaseException:
        segment.abandon()
        raise
    return store.commit(arrays, pa.concat_tables(tables), info, token=token, segment=segment)


def _text_tables(work: WorkDir, n_shards: int, kept: NDArray[np.bool_],
                 *, decided: ShardDecisions | None, before: int) -> dict[str, NDArray[Any]]:
    """The whole-text fingerprints of the batch's pages, sorted, each with the index-wide
    number of the indexed page it stands for: itself if kept, else its representative
    (kept in this batch or indexed before), and how the page was decided against it (an
    exact copy; a near, partial or title duplicate with its similarity and containment).
    A page crawled again unchanged is then found whatever its site's cleaning makes of
    it next time, and decided as it was.
    """
    records = kept.shape[0]
    number = np.full(records, -1, dtype=np.int64)
    number[kept] = before + np.arange(int(kept.sum()), dtype=np.int64)
    sim, cont = np.ones(records), np.ones(records)
    why = np.full(records, EDGE_EXACT, dtype=np.uint8)
    if decided is not None:
        dup = np.flatnonzero(~kept & (decided.rep >= 0))
        r = decided.rep[dup]
        number[dup] = np.where(r >= records, r - records, number[np.minimum(r, records - 1)])
        sim[dup], cont[dup] = decided.sim[dup], decided.cont[dup]
        why[dup] = _WHY_OF_KIND[decided.kind[dup]]
    fps = np.concatenate([np.asarray(work.load_raw("read", f"{s:05d}.fp", np.uint64, width=2))
                          for s in range(n_shards)]) if n_shards else np.zeros((0, 2))
    has = np.flatnonzero(number >= 0)
    tables = fp_tables(np.ascontiguousarray(fps[has]).astype(np.uint64))
    at = has[tables["fporder"]]
    tables.update({"fporder": number[at], "fpsim": sim[at], "fpcont": cont[at],
                   "fpwhy": why[at]})
    return {f"t{k}": v for k, v in tables.items()}


# A duplicate's kind as the probe's reason for matching it (an exact copy of a page that
# was a near duplicate is that page's near duplicate, at its similarity).
_WHY_OF_KIND = np.full(KIND_SAME_CONTENT + 1, EDGE_EXACT, dtype=np.uint8)
_WHY_OF_KIND[KIND_SAME_CONTENT] = EDGE_SAME_CONTENT
_WHY_OF_KIND[[KIND_NEAR, KIND_EXACT_NEAR]] = EDGE_NEAR
_WHY_OF_KIND[KIND_PARTIAL] = EDGE_PARTIAL
_WHY_OF_KIND[KIND_TITLE] = EDGE_TITLE


def _template_tables(work: WorkDir, src: str) -> dict[str, NDArray[Any]]:
    """The run's site statistics (block keys on two or more pages, pages per site), kept
    with the segment so that a later lone query can weigh its blocks against them."""
    if src != "content":
        empty = np.zeros(0, dtype=np.uint64)
        return {"tkeys": empty, "tcounts": np.zeros(0, np.uint32), "gkeys": empty,
                "gpages": np.zeros(0, np.int64)}
    from thresher.pipeline.chrome import PARTITIONS

    keys = np.concatenate([work.load("template", f"keys-{p:02d}") for p in range(PARTITIONS)])
    counts = np.concatenate([work.load("template", f"counts-{p:02d}")
                             for p in range(PARTITIONS)])
    order = stable_argsort(keys)  # distinct keys: any sort gives this order
    return {"tkeys": keys[order], "tcounts": counts[order],
            "gkeys": work.load("template", "group_keys"),
            "gpages": work.load("template", "group_pages")}
