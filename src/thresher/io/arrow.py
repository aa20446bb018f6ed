"""Arrow IPC input and output (``.arrow``), through pyarrow: the stream format that
``datasets`` writes in a save_to_disk folder (:mod:`thresher.io.hfdisk`), or the file
format. Kept rows are written in the format and with the schema (its metadata, where
``datasets`` keeps the features, included) of the file they come from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from thresher.errors import ConfigError
from thresher.io.parquet import column_of, row_record
from thresher.io.records import FOUND_MARK, Fields, Record

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["annotate_arrow", "copy_kept_arrow", "read_arrow", "write_empty"]

_BATCH = 4096
_FILE_MAGIC = b"ARROW1"  # the file format starts so; the stream format does not


def _open(path: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch], bool]:
    """The schema and record batches of ``path``, and whether it is in the file format."""
    import pyarrow as pa

    with open(path, "rb") as fh:
        magic = fh.read(len(_FILE_MAGIC))
    source = pa.memory_map(path)  # the rows are read in place, not copied
    if magic == _FILE_MAGIC:
        reader = pa.ipc.open_file(source)
        return reader.schema, (reader.get_batch(i)
                               for i in range(reader.num_record_batches)), True
    stream = pa.ipc.open_stream(source)
    return stream.schema, iter(stream), False


def _rows(batch: pa.RecordBatch, columns: list[str]) -> Iterator[dict[str, object]]:
    """The rows of ``batch`` (only ``columns``), a slice at a time: a batch may be large."""
    for lo in range(0, batch.num_rows, _BATCH):
        yield from batch.slice(lo, _BATCH).select(columns).to_pylist()


def read_arrow(path: str, name: str, fields: Fields) -> Iterator[Record]:
    """Yield one record per row; a missing text column rejects every row, saying so.

    A file that cannot be read from some row on ends with one rejected record saying
    so, numbered as the first row not read; the rows before it are used.
    """
    number = 0
    try:
        schema, batches, _ = _open(path)
        text = column_of(schema, fields.text)
        wanted = list(dict.fromkeys(c for c in (
            column_of(schema, f)
            for f in (fields.id, fields.text, fields.url, fields.group, fields.key)
            if f is not None) if c is not None))
        # a column named as the annotation would be: every row holds that field
        marked = FOUND_MARK if fields.mark is not None and fields.mark in schema.names else 0
        missing = (f"no {fields.text!r} column (columns: {', '.join(schema.names[:8])}); "
                   "see --text-field")
        for batch in batches:
            if text is None:
                for _ in range(batch.num_rows):
                    number += 1
                    yield Record(f"{name}:{number}", None, None, name, number, missing, True)
                continue
            for row in _rows(batch, wanted):
                number += 1
                rec = row_record(row, name, number, fields=fields)
                rec.found |= marked
                yield rec
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        at = number + 1
        yield Record(f"{name}:{at}", None, None, name, at,
                     f"unreadable Arrow file from row {at} on: " + " ".join(str(exc).split()),
                     True)


@contextmanager
def _writer(target: str, schema: pa.Schema, file_format: bool) -> Iterator[
        pa.ipc.RecordBatchStreamWriter]:
    import pyarrow as pa

    with pa.OSFile(target, "wb") as sink, (
            pa.ipc.new_file(sink, schema) if file_format else pa.ipc.new_stream(sink, schema)
    ) as writer:
        yield writer


def write_empty(source: str, target: str) -> None:
    """Write ``target``: no rows, in the format and with the schema of ``source``."""
    schema, _, file_format = _open(source)
    with _writer(target, schema, file_format):
        pass


def copy_kept_arrow(path: str, keep: NDArray[np.bool_], target: str, *,
                    texts: list[str | None] | None = None, text_field: str = "text") -> int:
    """Write the rows of ``path`` where ``keep`` is true to ``target``, same format and
    schema; return how many. ``texts`` (one per row) replaces the column ``text_field``.

    Reading stops after the last kept row: the broken tail of a file, which the read
    stage rejected, is never reached.
    """
    import pyarrow as pa

    schema, batches, file_format = _open(path)
    at = schema.get_field_index(text_field)
    if texts is not None and at < 0:
        raise ConfigError(f"{path}: the cleaned text cannot replace {text_field!r}, which is "
                          "not a top-level column")
    end = int(np.flatnonzero(keep)[-1]) + 1 if keep.any() else 0
    start = written = 0
    with _writer(target, schema, file_format) as writer:
        for batch in batches if end else ():
            mask = keep[start : start + batch.num_rows]
            if mask.any():
                table = pa.Table.from_batches([batch])
                if texts is not None:
                    table = table.set_column(at, schema.field(at), pa.array(
                        texts[start : start + batch.num_rows], schema.field(at).type))
                writer.write_table(table.filter(pa.array(mask)))
                written += int(mask.sum())
            start += batch.num_rows
            if start >= end:  # not one more batch: it may be the broken one
                break
    return written


def annotate_arrow(path: str, marks: pa.StructArray | None, target: str, *, name: str) -> int:
    """Write every row of ``path`` to ``target`` with the column ``name`` (``marks``, one
    row per record, in order) added, same format; return how many rows were written.

    Rows after a break in the file (which the read stage rejected) are not reached.
    """
    import pyarrow as pa

    try:
        schema, batches, file_format = _open(path)
    except (OSError, pa.ArrowException):  # a file that cannot be opened has no rows to copy
        return 0
    kind = marks.type if marks is not None else pa.struct([])
    out = schema.append(pa.field(name, kind))
    written = 0
    with _writer(target, out, file_format) as writer:
        try:
            for batch in batches:
                part = marks.slice(written, batch.num_rows) if marks is not None else \
                    pa.nulls(batch.num_rows, kind)
                writer.write_table(pa.Table.from_batches([batch]).append_column(out.field(name),
                                                                               [part]))
                written += batch.num_rows
        except (OSError, pa.ArrowException):
            pass  # the broken tail: the rows before it are written
    return written
