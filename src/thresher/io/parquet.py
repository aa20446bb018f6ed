"""Parquet input and output, through pyarrow (imported only when a Parquet file is used)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from thresher.errors import ConfigError, InputError
from thresher.io.ranges import Guarded, open_ranged
from thresher.io.records import (
    FOUND_MARK,
    MISSING,
    Fields,
    Record,
    found_bits,
    group_value,
    id_value,
)
from thresher.io.remote import is_remote, one_line

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = ["column_of", "copy_kept_rows", "read_parquet", "row_group_starts", "row_record"]

_BATCH = 4096


def _open(source: str | io.RawIOBase) -> pq.ParquetFile:
    import pyarrow.parquet as pq

    return pq.ParquetFile(source)


def row_record(row: dict[str, object], name: str, number: int, *, fields: Fields) -> Record:
    """The record of one row (a Parquet or Arrow row, as a dict of its columns)."""
    found, (value, url, group, key, text) = found_bits(row, fields)
    rid, generated = id_value(value, f"{name}:{number}")
    url = url if isinstance(url, str) else None
    if not isinstance(text, str):
        what = "null" if text is None or text is MISSING else type(text).__name__
        return Record(rid, None, url, name, number, f"field {fields.text!r} is {what}, "
                      "not a string", generated, found=found)
    if len(text) > fields.max_bytes // 4 and len(text.encode("utf-8")) > fields.max_bytes:
        return Record(rid, None, url, name, number,
                      f"text exceeds --max-doc-bytes {fields.max_bytes:,}", generated,
                      found=found)
    if not text.strip():
        return Record(rid, None, url, name, number, "empty text", generated, found=found)
    return Record(rid, text, url, name, number, None, generated,
                  group=group_value(group) if fields.group else None, found=found, key=key)


def column_of(schema: pa.Schema, name: str) -> str | None:
    """The top-level column that holds field ``name`` (a column of that name, else for a
    dotted name the struct column of its first part that holds the rest), or None."""
    import pyarrow as pa

    if name in schema.names:
        return name
    head, dot, rest = name.partition(".")
    if not dot or head not in schema.names:
        return None
    kind = schema.field(head).type
    if not pa.types.is_struct(kind):
        return None
    inner = pa.schema([kind.field(i) for i in range(kind.num_fields)])
    return head if column_of(inner, rest) is not None else None


def row_group_starts(pf: pq.ParquetFile) -> list[int]:
    """Return the first row (0-based) of each row group, then the number of rows."""
    starts = [0]
    for g in range(pf.metadata.num_row_groups):
        starts.append(starts[-1] + pf.metadata.row_group(g).num_rows)
    return starts


def read_parquet(path: str, name: str, fields: Fields, *, groups: range | None = None,
                 version: str = "") -> Iterator[Record]:
    """Yield one record per row; a missing text column rejects every row, saying so.

    Row groups are read one by one: the rows of a row group that cannot be read are each
    rejected, saying why, and reading goes on with the next row group. ``groups`` limits
    reading to some row groups (a shard of a large file); rows keep their file numbers.
    A file at a URL (a shard of a large object) is read over the object: only its footer
    and the row groups read are fetched, of the object at ``version`` (if given).
    """
    if not is_remote(path):
        yield from _read_parquet(path, name, fields, groups=groups)
        return
    with open_ranged(path, version=version) as fh:
        source = Guarded(fh)
        for record in _read_parquet(source, name, fields, groups=groups):
            if source.error is not None:  # not a defect of the file: the task fails
                raise ConfigError(f"input {path}: cannot read it: {one_line(source.error)}")
            yield record


def _read_parquet(source: str | io.RawIOBase, name: str, fields: Fields, *,
                  groups: range | None) -> Iterator[Record]:
    try:
        pf = _open(source)
        columns = pf.schema_arrow.names
        starts = row_group_starts(pf)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        yield Record(f"{name}:0", None, None, name, 0, f"cannot read Parquet file: {exc}", True)
        return
    groups = groups if groups is not None else range(len(starts) - 1)
    if column_of(pf.schema_arrow, fields.text) is None:
        reason = (f"no {fields.text!r} column (columns: {', '.join(columns[:8])}); "
                  "see --text-field")
        for number in range(starts[groups.start] + 1, starts[groups.stop] + 1):
            yield Record(f"{name}:{number}", None, None, name, number, reason, True)
        return
    wanted = list(dict.fromkeys(c for c in (
        column_of(pf.schema_arrow, f)
        for f in (fields.id, fields.text, fields.url, fields.group, fields.key)
        if f is not None) if c is not None))
    # a column named as the annotation would be: every row holds that field
    marked = FOUND_MARK if fields.mark is not None and fields.mark in columns else 0
    for group, (lo, hi) in enumerate(pairwise(starts)):
        if group not in groups:
            continue
        number = lo
        try:
            for batch in pf.iter_batches(batch_size=_BATCH, row_groups=[group], columns=wanted):
                for row in batch.to_pylist():
                    number += 1
                    rec = row_record(row, name, number, fields=fields)
                    rec.found |= marked
                    yield rec
        except Exception as exc:  # noqa: BLE001 - any pyarrow failure rejects the rows
            reason = (f"unreadable row group {group} (rows {lo + 1}-{hi}) from row {number + 1}: "
                      + " ".join(str(exc).split()))
            for bad in range(number + 1, hi + 1):
                yield Record(f"{name}:{bad}", None, None, name, bad, reason, True)


def copy_kept_rows(path: str, keep: NDArray[np.bool_], target: str) -> int:
    """Write the rows of ``path`` where ``keep`` is true to ``target``, same schema.

    Row groups without a kept row are skipped. A row group whose kept rows cannot be read
    back raises :class:`InputError` naming the file and row.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = _open(path)
    starts = row_group_starts(pf)
    written = 0
    with pq.ParquetWriter(target, pf.schema_arrow) as writer:
        for group, (lo, hi) in enumerate(pairwise(starts)):
            if not keep[lo:hi].any():
                continue
            start = lo
            try:
                for batch in pf.iter_batches(batch_size=_BATCH, row_groups=[group]):
                    mask = keep[start : start + batch.num_rows]
                    start += batch.num_rows
                    if mask.any():
                        writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(mask)))
                        written += int(mask.sum())
            except Exception as exc:
                raise InputError(f"cannot copy kept rows of row group {group}: {exc}",
                                 path=path, line=start + 1) from exc
    return written
