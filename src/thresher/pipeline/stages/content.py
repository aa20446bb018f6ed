"""The content stage (pass two): each document's content, its sketch, and the blocks
removed, from what pass one (the read stage) kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.blocks import Blocks
from thresher.core.cleaning import find_content, kept_content
from thresher.core.content import REASONS
from thresher.core.lookup import sorted_lookup
from thresher.io.batches import BATCH, Decoded
from thresher.pipeline.chrome import PARTITIONS, PASS_ONE_KEPT
from thresher.pipeline.counts import ContentCounts
from thresher.pipeline.graph import shard_key
from thresher.pipeline.pages import page_hashes
from thresher.pipeline.read import ReadTask, sketch_rows
from thresher.pipeline.workdir import WorkDir

__all__ = ["ContentTask", "content_task"]


@dataclass(frozen=True, kw_only=True)
class ContentTask:
    """Find the content of one shard's documents and sketch it as the read stage would."""

    read: ReadTask  # the shard, its fields, and how to sketch
    strip: bool
    # Picklable; wraps the run's site statistics in ones that count more pages too (those
    # of a persistent index): ``sites(tables)(keys, ghash)``.
    sites: Callable[[Any], Any] | None = None


class _Tables:
    def __init__(self, work: WorkDir) -> None:
        self.keys = np.concatenate([work.load("template", f"keys-{p:02d}")
                                    for p in range(PARTITIONS)])
        self.counts = np.concatenate([work.load("template", f"counts-{p:02d}")
                                      for p in range(PARTITIONS)])
        self.group_keys = work.load("template", "group_keys")
        self.group_pages = work.load("template", "group_pages")

    def __call__(self, keys: NDArray[np.uint64], ghash: NDArray[np.uint64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Each block's count of pages on its site, and each document's site pages."""
        return (sorted_lookup(keys, self.keys, self.counts, default=1),
                sorted_lookup(ghash, self.group_keys, self.group_pages, default=1))


class _Shard:
    """What pass one kept of a shard, a batch of records at a time."""

    def __init__(self, work: WorkDir, name: str) -> None:
        self.a = {key: work.load_raw("read", f"{name}.{key}", dtype, width=width)
                  for key, (dtype, width) in PASS_ONE_KEPT.items()}
        doc = np.asarray(self.a["doc"])
        self.slot = doc[:, 0].astype(bool)
        self.chars = doc[:, 3]
        self.text_at = np.concatenate(([0], np.cumsum(doc[:, 1])))
        self.block_at = np.concatenate(([0], np.cumsum(doc[:, 2])))
        self.records = doc.shape[0]

    def batch(self, lo: int, hi: int) -> tuple[list[int], Blocks, NDArray[np.float64],
                                               NDArray[np.uint64], NDArray[np.uint64],
                                               tuple[NDArray[np.uint8], NDArray[np.int64]]]:
        """Records lo..hi: their usable rows, blocks, word features, site keys, sites and
        texts (as ``prepare_batch`` lays them out)."""
        a = self.a
        slots = np.flatnonzero(self.slot[lo:hi])
        b0, b1 = int(self.block_at[lo]), int(self.block_at[hi])
        t0, t1 = int(self.text_at[lo]), int(self.text_at[hi])
        per_doc = np.asarray(a["doc"][lo:hi, 2])[slots]
        doc_off = np.concatenate(([0], np.cumsum(per_doc))).astype(np.int64)
        sizes = np.asarray(a["doc"][lo:hi, 1])[slots]
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        pos = np.asarray(a["bpos"][b0:b1])
        blocks = Blocks(doc_off, pos[:, 0].copy(), pos[:, 1].copy(), np.zeros(0, np.uint64),
                        np.asarray(a["bstat"][b0:b1], dtype=np.float64),
                        np.zeros(0, np.uint64), np.zeros(1, np.int64),
                        np.ascontiguousarray(pos[:, 2:]))
        ghash = np.asarray(a["ghash"][lo:hi])[slots]
        return (slots.tolist(), blocks, np.asarray(a["bword"][b0:b1]),
                np.asarray(a["bsite"][b0:b1]), ghash,
                (np.asarray(a["text"][t0:t1]), offsets))


def content_task(task: ContentTask) -> ContentCounts:
    """Pass two over one shard: content spans, content sketches, removed blocks."""
    import pyarrow as pa

    read = task.read
    work = WorkDir(read.work)
    tables: Any = _Tables(work)
    if task.sites is not None:
        tables = task.sites(tables)
    name = shard_key(read.shard.index)
    kept = _Shard(work, name)
    files = {key: work.appender("content", f"{name}.{key}") for key in
             ("sig", "fp", "mode", "sh", "shoff", "span", "site", "title", "head", "page")}
    files["shoff"].write(np.zeros(1, dtype=np.int64))
    shingles = 0
    chars = Counter[str]()
    removed_parts: list[Any] = []
    cleaned: list[str | None] = []
    meta = work.read_parquet("read", f"{name}.meta.parquet", ["id", "url"])
    ids = meta["id"] if task.strip else None
    files["page"].write(page_hashes(meta["url"].to_pylist()))
    reasons = pa.array([REASONS.get(k) for k in range(max(REASONS) + 1)], pa.string())
    for lo in range(0, kept.records, BATCH):
        hi = min(lo + BATCH, kept.records)
        n = hi - lo
        slots, blocks, words, keys, ghash, (data, offsets) = kept.batch(lo, hi)
        where = np.asarray(slots, dtype=np.int64)
        found = find_content((data, offsets), blocks, ghash=ghash, kind=read.shard.kind,
                             tables=tables, lengths=kept.chars[lo:hi][where],
                             firsts=np.asarray(kept.a["first"][lo:hi])[where], keys=keys,
                             words=words)
        fate, keep = found.fate, found.keep
        doc_of = np.repeat(np.arange(len(slots)), np.diff(blocks.doc_offsets))
        kept_blocks = np.flatnonzero(keep)
        span = np.full((n, 2), -1, dtype=np.int64)
        site = np.zeros(n, dtype=np.uint64)
        title = np.zeros(n, dtype=np.uint64)
        head = np.zeros(n, dtype=np.uint64)
        if slots:
            site[where] = ghash
            title[where] = found.titles
            head[where] = found.heads
            some = np.bincount(doc_of[kept_blocks], minlength=len(slots)) > 0
            span[where] = found.spans
            size = blocks.end - blocks.start
            chars["blocks"] += int(size.sum())
            # a page with no block taken for content is kept whole: none of its blocks
            # is set aside (counted in blocks, as the total is, so the share is in [0, 1])
            chars["content"] += (int(size[kept_blocks].sum())
                                 + int(size[~some[doc_of]].sum()))
        texts = Decoded(*found.text)
        if task.strip and ids is not None:
            gone = np.flatnonzero(~keep)
            spans = blocks.bytes[gone] + offsets[doc_of[gone]][:, None]
            raw = data.tobytes()
            removed_parts.append(pa.table({
                "id": ids.slice(lo, n).take(pa.array(np.asarray(slots)[doc_of[gone]]
                                                     if slots else [], pa.int64())),
                "block": pa.array(gone - blocks.doc_offsets[doc_of[gone]], pa.int32()),
                "start": pa.array(blocks.start[gone], pa.int64()),
                "end": pa.array(blocks.end[gone], pa.int64()),
                "reason": reasons.take(pa.array(fate[gone].astype(np.int64))),
                "text": pa.array([raw[a:e].decode("utf-8", "surrogatepass")
                                  for a, e in spans.tolist()], pa.string())}))
            clean = Decoded(*kept_content((data, offsets), blocks, keep, gaps=True))
            by_slot = dict(zip(slots, clean[:], strict=True))
            cleaned.extend(by_slot.get(i) for i in range(n))
        arrays, _ = sketch_rows(read, n, slots, texts=texts, prepared=found.text)
        for key in ("sig", "fp", "mode", "sh"):
            files[key].write(arrays[key])
        files["span"].write(span)
        files["site"].write(site)
        files["title"].write(title)
        files["head"].write(head)
        files["shoff"].write(shingles + np.cumsum(arrays["count"]))
        shingles += int(arrays["count"].sum())
        work.write_progress("content", name, hi)
    for f in files.values():
        f.close()
    if task.strip:
        removed = pa.concat_tables(removed_parts) if removed_parts else _no_removed_blocks()
        work.write_parquet("content", f"{name}.removed.parquet", removed)
        work.write_parquet("content", f"{name}.clean.parquet",
                           pa.table({"text": pa.array(cleaned, pa.string())}))
    stats = ContentCounts(records=kept.records, block_chars=int(chars["blocks"]),
                          content_chars=int(chars["content"]))
    work.mark_done("content", name, stats)
    del kept  # its maps of the files below
    # Nothing reads what pass one kept for this shard any more: the work folder then
    # holds about as much at its fullest as when pass two read the input again.
    work.discard("read", [f"{name}.{key}" for key in PASS_ONE_KEPT])
    return stats


def _no_removed_blocks() -> Any:
    import pyarrow as pa

    return pa.table({"id": pa.array([], pa.string()), "block": pa.array([], pa.int32()),
                     "start": pa.array([], pa.int64()), "end": pa.array([], pa.int64()),
                     "reason": pa.array([], pa.string()), "text": pa.array([], pa.string())})
