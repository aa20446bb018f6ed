"""Stage 7 (``--annotate``): every record, in its own format, its decision added.

Runs after ``decisions.parquet`` is written and takes its fields from it, so the two
never disagree; it adds ``cluster_size``: how many of this run's records share the
record's representative (itself included when it is one of this run's records).
FineWeb-2 style upsampling weighs each kept document by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.errors import ConfigError, InputError
from thresher.io.annotated import annotated_name, write_annotated
from thresher.io.ranges import local_shard
from thresher.io.records import Fields
from thresher.io.remote import open_file, staged_folder
from thresher.io.sources import Shard
from thresher.io.warc import header_prefix
from thresher.pipeline.counts import AnnotateCounts, ReadCounts, SizeCounts
from thresher.pipeline.graph import artifact, shard_key
from thresher.pipeline.read import marked_file
from thresher.pipeline.stages.cluster import shard_decisions
from thresher.pipeline.workdir import WorkDir

__all__ = ["AnnotateTask", "annotate_task", "check_marked", "check_names", "cluster_sizes"]

# decisions.parquet's columns that go into the annotation, in this order
_COLUMNS = ("id", "decision", "match", "cluster", "representative", "similarity",
            "containment", "reason", "content_start", "content_end", "representative_batch")


def cluster_sizes(work: WorkDir) -> SizeCounts:
    """Count each representative's duplicates (sparse: only representatives that have
    any); save them for the annotate tasks."""
    reps, counts = np.unique(work.load("cluster", "dup_rep"), return_counts=True)
    work.save("sizes", "rep", reps.astype(np.int64))
    work.save("sizes", "count", counts.astype(np.int64))
    return SizeCounts(clusters=int(reps.shape[0]))


def _sizes(work: WorkDir, rep: NDArray[np.int64], records: int) -> NDArray[np.int64]:
    """Each record's cluster size, by its representative (-1, rejected: 0)."""
    reps, counts = work.load("sizes", "rep"), work.load("sizes", "count")
    at = np.minimum(np.searchsorted(reps, rep), max(reps.shape[0] - 1, 0))
    dups = np.where(reps[at] == rep, counts[at], 0) if reps.shape[0] else np.zeros_like(rep)
    return np.where(rep < 0, 0, dups + ((rep >= 0) & (rep < records)))


def _decision_rows(path: str, lo: int, hi: int) -> Any:
    """Rows ``lo`` to ``hi`` of ``decisions.parquet``, reading only their row groups."""
    import pyarrow.parquet as pq

    with open_file(path) as fh:  # a local file, or at a URL
        return _rows_of(pq.ParquetFile(fh), lo, hi)


def _rows_of(pf: Any, lo: int, hi: int) -> Any:
    import pyarrow as pa

    first, parts, seen = None, [], 0
    for g in range(pf.metadata.num_row_groups):
        rows = pf.metadata.row_group(g).num_rows
        if seen + rows > lo and seen < hi:
            first = seen if first is None else first
            parts.append(pf.read_row_group(g))
        seen += rows
    table = pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()
    return table.slice(lo - (first or 0), hi - lo)


def _marks(rows: Any, sizes: NDArray[np.int64]) -> Any:
    """The annotation columns: decisions.parquet's, and ``cluster_size`` after ``cluster``."""
    import pyarrow as pa

    names = [c for c in _COLUMNS if c in rows.column_names]
    table = rows.select(names)
    return table.add_column(names.index("cluster") + 1, "cluster_size",
                            pa.array(sizes, pa.int64(), mask=sizes == 0))


@dataclass(frozen=True, kw_only=True)
class AnnotateTask:
    """Write one input file's records, annotated."""

    work: str
    shard: Shard  # the whole file (or group of .txt files)
    first: int  # its first shard, as the read stage numbered them
    start: int  # its records, in the global numbering
    stop: int
    records: int  # records in the run
    root: str
    decisions: str
    fields: Fields


def annotate_task(task: AnnotateTask) -> AnnotateCounts:
    """Write the shard's records with their decisions under ``annotated/``."""
    work = WorkDir(task.work)
    rep = shard_decisions(work, task.start, task.stop).rep
    marks = _marks(_decision_rows(task.decisions, task.start, task.stop),
                   _sizes(work, rep, task.records))
    docs = (work.read_parquet("read", artifact(task.first, "docs.parquet"), ["offset", "end"])
            if task.shard.kind in ("warc", "wet") else None)
    # at URLs: the input read from a local copy, the output published once written
    with staged_folder(task.root) as root, local_shard(task.shard) as shard:
        written = write_annotated(shard, marks, root, fields=task.fields, docs=docs)
    stats = AnnotateCounts(written=written, records=task.stop - task.start)
    work.mark_done("annotate", shard_key(task.first), stats)
    return stats


def check_names(shards: list[Shard]) -> None:
    """Refuse a run whose annotated files would share a name (two groups of .txt files
    whose sidecars would, or a sidecar named as an input file)."""
    seen: set[str] = set()
    for shard in shards:
        names = [annotated_name(shard)]
        if shard.kind == "txt":
            names += [shard.prefix + n for n in shard.names]
        for name in names:
            if name in seen:
                raise ConfigError(f"two inputs would write the same annotated file {name!r}; "
                                  "rename one of them")
            seen.add(name)


def check_marked(read_stats: list[ReadCounts], fields: Fields) -> None:
    """Stop where records already hold the field (or WARC headers) ``--annotate`` adds,
    after the read stage: it never overwrites a record's own."""
    found = marked_file(read_stats) if fields.mark is not None else None
    if found is not None:
        raise InputError(f"{found[1]:,} records already hold the field {fields.mark!r} (in "
                         f"WARC: a {header_prefix(fields.mark or '')}* header), which "
                         "--annotate adds and never overwrites: name another with "
                         "--annotate-field", path=found[0])
