"""Stage 1, per shard: read records, reject what cannot be used, sketch the rest.

Records are handled a batch at a time and every batch is appended to the shard's
artifacts at once, so memory stays bounded by the batch, not the shard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.blocks import Blocks, split_counted
from thresher.core.sketch import SHINGLE_MODES, choose_modes, sketch_as
from thresher.io.batches import Batch, read_batches
from thresher.io.ranges import local_shard
from thresher.io.records import (
    FOUND_GROUP,
    FOUND_ID,
    FOUND_KEY,
    FOUND_MARK,
    FOUND_OBJECT,
    FOUND_TEXT,
    FOUND_URL,
    Fields,
    Record,
    iter_lines,
)
from thresher.io.sources import Shard
from thresher.io.warc import WarcOptions
from thresher.pipeline.counts import ReadCounts
from thresher.pipeline.graph import shard_key
from thresher.pipeline.workdir import WorkDir

__all__ = ["NO_TOKENS", "ReadTask", "marked_file", "read_stage_task", "sketch_rows"]

_EMPTY = Batch.of_records([])  # for the meta table's schema when a shard has no record
NO_TOKENS = "no letters or digits after normalization"


@dataclass(frozen=True, kw_only=True)
class ReadTask:
    """What a worker needs to read and sketch one shard."""

    work: str
    shard: Shard
    fields: Fields
    num_perm: int
    ngram: int
    char_ngram: int
    shingle: str
    seed: int
    warc: WarcOptions = field(default_factory=WarcOptions)
    # content matching: also write the block keys for the site counts, and keep the
    # texts and their blocks for the content pass
    blocks: bool = False
    # signature values kept per document: the first ones, which the LSH bands use (0: all)
    columns: int = 0
    sort: str | None = None  # what --keep sorts by: "date", "number" (see survivor.py)


def _meta_table(b: Batch, reasons: list[str | None], nbytes: NDArray[np.int64], *,
                sort: NDArray[np.float64] | None = None) -> Any:
    import pyarrow as pa

    return pa.table({
        "id": pa.array(b.ids, pa.string()),
        "file": pa.array(b.files, pa.string()),
        "line": pa.array(b.lines, pa.int64()),
        "url": pa.array(b.urls, pa.string()),
        "length": pa.array(b.lengths, pa.int64()),
        "bytes": pa.array(nbytes, pa.int64()),
        "reason": pa.array(reasons, pa.string()),
        "id_generated": pa.array(b.generated, pa.bool_()),
        # --keep's value (NaN: none); all NaN without one
        "sort_key": pa.array(np.full(len(b), np.nan) if sort is None else sort, pa.float64()),
    })


def _sort_values(task: ReadTask, batch: Batch) -> NDArray[np.float64] | None:
    """The batch's values for --keep: a WARC or WET document's date is its WARC-Date."""
    if task.sort is None:
        return None
    from thresher.pipeline.survivor import sort_values

    if task.shard.kind in ("warc", "wet"):
        values = [(r.extra or {}).get("crawl_date") if task.sort == "date" else None
                  for r in batch.records or []]
    else:
        values = batch.keys or [None] * len(batch)
    return sort_values(values, task.sort)


def sketch_rows(task: ReadTask, n: int, slots: list[int], *, texts: Sequence[str],
                whole: bool = True,
                prepared: tuple[NDArray[np.uint8], NDArray[np.int64]] | None = None
                ) -> tuple[dict[str, NDArray[Any]], list[int]]:
    """Sketch ``texts``, the rows ``slots`` of a batch of ``n``; other rows stay zero.

    Returns the per-row arrays and the rows whose text has no token. Without ``whole``,
    only fingerprints, modes and sizes are made (no signatures, no shingles). Of each
    signature, the first ``task.columns`` values are kept.
    ``prepared``: the texts already laid out by ``prepare_batch``.
    """
    num_perm = task.num_perm if whole else 0
    kept = min(task.columns or num_perm, num_perm)
    out: dict[str, NDArray[Any]] = {
        "sig": np.zeros((n, kept), dtype=np.uint32),
        "fp": np.zeros((n, 2), dtype=np.uint64), "mode": np.zeros(n, dtype=np.uint8),
        "count": np.zeros(n, dtype=np.int64), "sh": np.zeros(0, dtype=np.uint32),
        "bytes": np.zeros(n, dtype=np.int64)}
    if not slots:
        return out, []
    s = sketch_as(texts, task, num_perm=num_perm, prepared=prepared)
    idx = np.asarray(slots)
    out["sig"][idx], out["fp"][idx] = s.signatures[:, :kept], s.fingerprints
    out["mode"][idx] = s.modes
    out["count"][idx] = np.diff(s.shingle_offsets)
    out["bytes"][idx] = s.n_bytes
    out["sh"] = s.shingles
    return out, idx[s.n_tokens == 0].tolist()


def counted_rows(task: ReadTask, n: int, slots: list[int], *, texts: Sequence[str],
                 prepared: tuple[NDArray[np.uint8], NDArray[np.int64]]
                 ) -> tuple[Blocks, dict[str, NDArray[Any]], list[int]]:
    """The blocks of ``texts`` (rows ``slots`` of a batch of ``n``, laid out as
    ``prepared``), and what ``sketch_rows`` without ``whole`` returns, in one pass over
    them where it can (``split_counted``); the few texts that pass leaves are sketched.
    """
    blocks, fps, tokens = split_counted(*prepared)
    out, _ = sketch_rows(task, n, [], texts=texts, whole=False)
    if not slots:
        return blocks, out, []
    modes = choose_modes(tokens[:, 1], tokens[:, 2], SHINGLE_MODES[task.shingle])
    other = np.flatnonzero(tokens[:, 3] == 0)
    if other.shape[0]:
        s = sketch_as([texts[i] for i in other.tolist()], task, num_perm=0)
        fps[other], tokens[other, 0], modes[other] = s.fingerprints, s.n_tokens, s.modes
    idx = np.asarray(slots)
    out["fp"][idx], out["mode"][idx] = fps, modes
    out["bytes"][idx] = np.diff(prepared[1]) - 1
    return blocks, out, idx[tokens[:, 0] == 0].tolist()


def _batch_arrays(task: ReadTask, batch: Batch, files: dict[str, Any]
                  ) -> tuple[dict[str, NDArray[Any]], list[str | None]]:
    """Sketch the usable records of a batch; return per-record arrays and reasons.

    Matching on content, the whole text's fingerprint is all that is kept of its sketch,
    and the texts are cut into blocks for the site counts (the same UTF-8 serves both).
    """
    slots = batch.slots
    reasons = list(batch.rejects)
    if not task.blocks:
        out, empty = sketch_rows(task, len(batch), slots, texts=batch.texts,
                                 prepared=batch.prepared)
        for i in empty:
            reasons[i] = NO_TOKENS
        return out, reasons
    from thresher.pipeline.chrome import pass_one, site_hashes
    from thresher.pipeline.pages import page_hashes

    blocks, out, empty = counted_rows(task, len(batch), slots, texts=batch.texts,
                                      prepared=batch.prepared)
    for i in empty:
        reasons[i] = NO_TOKENS
    pass_one(files, len(batch), slots, chars=[batch.lengths[i] for i in slots],
             ghash=site_hashes([batch.urls[i] for i in slots],
                               [batch.groups[i] for i in slots], task.fields),
             prepared=batch.prepared, blocks=blocks,
             fps=np.ascontiguousarray(out["fp"][slots, 0]),
             counted=np.array([reasons[i] is None for i in slots], dtype=bool),
             pages=page_hashes([batch.urls[i] for i in slots]))
    return out, reasons


class _DocsWriter:
    """Keeps what extraction found in WARC and WET records, for the kept-corpus writer."""

    COLUMNS = ("id", "text", "url", "crawl_date", "title", "language", "full_text", "offset",
               "end")

    def __init__(self, work: WorkDir, name: str) -> None:
        self.writer = work.parquet_writer("read", name)

    def write(self, batch: list[Record]) -> None:
        import pyarrow as pa

        extra = [r.extra or {} for r in batch]
        table = pa.table({
            "id": pa.array([r.id for r in batch], pa.string()),
            "text": pa.array([r.text for r in batch], pa.string()),
            "url": pa.array([r.url for r in batch], pa.string()),
            **{k: pa.array([e.get(k) for e in extra], pa.string())
               for k in ("crawl_date", "title", "language", "full_text")},
            **{k: pa.array([e.get(k, -1) for e in extra], pa.int64()) for k in ("offset", "end")},
        })
        self.writer.write_table(table)
        self.written = True

    def close(self) -> None:
        if not getattr(self, "written", False):
            self.write([])
        self.writer.close()


_FOUND = {FOUND_OBJECT: "object", FOUND_ID: "id", FOUND_URL: "url", FOUND_GROUP: "group",
          FOUND_MARK: "mark", FOUND_KEY: "key", FOUND_TEXT: "text"}


def missing_fields(stats: list[ReadCounts], fields: Fields) -> tuple[str, str, str] | None:
    """Return (file, option, field) for the first file none of whose records holds a field
    named other than by default (``Fields.named``), from the read tasks' statistics."""
    for path, counts in ReadCounts.total(stats).found.items():
        for bit, (option, name) in fields.named().items():
            # a marker written before a bit was counted lacks it: nothing is known
            if counts.get("object") and counts.get(_FOUND[bit], 1) == 0:
                return path, option, name
    return None


def marked_file(stats: list[ReadCounts]) -> tuple[str, int] | None:
    """The first file with records that already hold the field ``--annotate`` adds, and
    how many of its shard's records do, from the read tasks' statistics."""
    for st in stats:
        for path, counts in st.found.items():
            if counts.get("mark"):
                return path, int(counts["mark"])
    return None


def fields_of(path: str, limit: int = 20) -> list[str]:
    """Name the fields of a JSONL file's first object or a Parquet file's columns, and
    one level into nested objects (``metadata.url``), for an error message."""
    import orjson

    obj: dict[str, Any] = {}
    if path.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        obj = {f.name: ({f.type.field(i).name: None for i in range(f.type.num_fields)}
                        if f.type.num_fields and hasattr(f.type, "field") else None)
               for f in pq.read_schema(path)}
    else:
        for _, line, _ in iter_lines(path):
            try:
                value = orjson.loads(line) if line is not None else None
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                obj = value
                break
    names = [f"{k}.{sub}" if sub else k for k, v in obj.items()
             for sub in ([*v] if isinstance(v, dict) and v else [None])]
    return names[:limit] + (["..."] if len(names) > limit else [])


def read_stage_task(task: ReadTask) -> ReadCounts:
    """Read and sketch one shard into the work folder; return its statistics."""

    work = WorkDir(task.work)
    name = shard_key(task.shard.index)
    # Matching on content sketches the content later: the whole text's signatures and
    # shingles would not be read, only its fingerprint (site counts) and mode (record count).
    kept = ("fp", "mode") if task.blocks else ("sig", "fp", "mode", "sh", "shoff")
    files = {key: work.appender("read", f"{name}.{key}") for key in kept}
    writer = work.parquet_writer("read", f"{name}.meta.parquet")
    records = rejected = text_bytes = shingles = 0
    if "shoff" in files:
        files["shoff"].write(np.zeros(1, dtype=np.int64))
    skipped: Counter[str] = Counter()
    docs = _DocsWriter(work, f"{name}.docs.parquet") if task.shard.kind in (
        "warc", "wet") else None
    if task.blocks:
        from thresher.pipeline.chrome import pass_one_files

        files.update({key: work.appender("read", f"{name}.{key}") for key in pass_one_files()})
    found: Counter[str] = Counter()
    with local_shard(task.shard) as shard:  # an input at a URL: read from a local copy
        batches = read_batches(shard, task.fields, skipped=skipped, warc=task.warc)
        for batch in batches:
            found.update({_FOUND[b]: c for b, c in (batch.found or {}).items()})
            if docs is not None:
                docs.write(batch.records or [])
            arrays, reasons = _batch_arrays(task, batch, files)
            nbytes = arrays["bytes"]
            table = _meta_table(batch, reasons, nbytes, sort=_sort_values(task, batch))
            writer.write_table(table)
            for key in ("sig", "fp", "mode", "sh"):
                if key in files:
                    files[key].write(arrays[key])
            if "shoff" in files:
                files["shoff"].write(shingles + np.cumsum(arrays["count"]))
            shingles += int(arrays["count"].sum())
            records += len(batch)
            work.write_progress("read", name, records)
            rejected += sum(r is not None for r in reasons)
            text_bytes += int(nbytes.sum())
    writer.close(_meta_table(_EMPTY, [], np.zeros(0, np.int64)).schema)
    for f in files.values():
        f.close()
    if docs is not None:
        docs.close()
    stats = ReadCounts(records=records, rejected=rejected, text_bytes=text_bytes,
                       skipped=dict(sorted(skipped.items())),
                       found={task.shard.files[0]: dict(found)}
                       if found["object"] or found["mark"] else {})
    work.mark_done("read", name, stats)
    return stats
