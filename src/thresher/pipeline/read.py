"""Stage 1, per shard: read records, reject what cannot be used, sketch the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from thresher.core.sketch import MODE_AUTO, MODE_CHAR, MODE_WORD, Sketches, sketch_texts
from thresher.io.records import Fields, Record, read_shard
from thresher.io.sources import Shard
from thresher.pipeline.workdir import WorkDir

__all__ = ["ReadTask", "read_stage_task"]

_BATCH = 2048
_MODES = {"auto": MODE_AUTO, "word": MODE_WORD, "char": MODE_CHAR}
NO_TOKENS = "no letters or digits after normalization"


@dataclass(frozen=True)
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


class _Columns:
    """Per-record columns of one shard, grown batch by batch."""

    def __init__(self) -> None:
        self.meta: dict[str, list[Any]] = {k: [] for k in (
            "id", "file", "line", "url", "length", "bytes", "reason", "id_generated")}
        self.sketches: list[Sketches] = []
        self.slots: list[int] = []  # record index of each sketched text, in order

    def add(self, rec: Record) -> None:
        m = self.meta
        m["id"].append(rec.id)
        m["file"].append(rec.file)
        m["line"].append(rec.line)
        m["url"].append(rec.url)
        m["length"].append(len(rec.text) if rec.text is not None else 0)
        m["bytes"].append(len(rec.text.encode("utf-8")) if rec.text is not None else 0)
        m["reason"].append(rec.reject)
        m["id_generated"].append(rec.id_generated)


def _flush(task: ReadTask, cols: _Columns, texts: list[str]) -> None:
    if texts:
        cols.sketches.append(sketch_texts(
            texts, num_perm=task.num_perm, ngram=task.ngram, char_ngram=task.char_ngram,
            mode=_MODES[task.shingle], seed=task.seed))
        texts.clear()


def _assemble(task: ReadTask, cols: _Columns) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    n = len(cols.meta["id"])
    slots = np.asarray(cols.slots, dtype=np.int64)
    sig = np.zeros((n, task.num_perm), dtype=np.uint32)
    fp = np.zeros((n, 2), dtype=np.uint64)
    mode = np.zeros(n, dtype=np.uint8)
    tokens = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    flat = [s.shingles for s in cols.sketches]
    if cols.sketches:
        sig[slots] = np.concatenate([s.signatures for s in cols.sketches])
        fp[slots] = np.concatenate([s.fingerprints for s in cols.sketches])
        mode[slots] = np.concatenate([s.modes for s in cols.sketches])
        tokens[slots] = np.concatenate([s.n_tokens for s in cols.sketches])
        counts[slots] = np.concatenate([np.diff(s.shingle_offsets) for s in cols.sketches])
    shoff = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=shoff[1:])
    sh = np.concatenate(flat) if flat else np.zeros(0, dtype=np.uint32)
    return {"sig": sig, "fp": fp, "mode": mode, "tokens": tokens, "sh": sh, "shoff": shoff}


def _write_meta(path: str, meta: dict[str, list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "id": pa.array(meta["id"], pa.string()), "file": pa.array(meta["file"], pa.string()),
        "line": pa.array(meta["line"], pa.int64()), "url": pa.array(meta["url"], pa.string()),
        "length": pa.array(meta["length"], pa.int64()),
        "bytes": pa.array(meta["bytes"], pa.int64()),
        "reason": pa.array(meta["reason"], pa.string()),
        "id_generated": pa.array(meta["id_generated"], pa.bool_()),
    })
    pq.write_table(table, path + ".tmp")
    import os

    os.replace(path + ".tmp", path)


def read_stage_task(task: ReadTask) -> dict[str, Any]:
    """Read and sketch one shard into the work folder; return its statistics."""
    work = WorkDir(task.work)
    name = f"{task.shard.index:05d}"
    cols = _Columns()
    texts: list[str] = []
    for rec in read_shard(task.shard, task.fields):
        if rec.reject is None and rec.text is not None:
            cols.slots.append(len(cols.meta["id"]))
            texts.append(rec.text)
            if len(texts) >= _BATCH:
                _flush(task, cols, texts)
        cols.add(rec)
    _flush(task, cols, texts)
    arrays = _assemble(task, cols)
    slots = np.asarray(cols.slots, dtype=np.int64)
    for slot in slots[arrays["tokens"][slots] == 0]:
        cols.meta["reason"][slot] = NO_TOKENS
    for key, arr in arrays.items():
        work.save("read", f"{name}.{key}", arr)
    _write_meta(str(work.path("read", f"{name}.meta.parquet")), cols.meta)
    stats = {"records": len(cols.meta["id"]),
             "rejected": sum(r is not None for r in cols.meta["reason"]),
             "text_bytes": int(sum(cols.meta["bytes"]))}
    work.mark_done("read", name, stats)
    return stats
