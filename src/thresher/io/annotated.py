"""Write every record of a shard in its own format, its decision added (``--annotate``).

The decision fields (``marks``: one row per record, in reading order) go where the
format can carry them without touching the record's own data:

- JSONL: one more top-level key, ``MARK`` (``"thresher"``), holding an object; it is
  spliced in before the line's closing brace, so the rest of the line stays byte for
  byte as it was. A line that is not a JSON object (invalid JSON, an array, over
  ``--max-doc-bytes``) becomes ``{MARK: {..., "raw": LINE}}``, the line as text (null
  for a line over the limit, which thresher never holds).
- Parquet: one more column, ``MARK``, a struct.
- ``.txt`` files: copied as they are; one sidecar JSONL per group of files
  (``texts-from-FIRST.thresher.jsonl``), a line ``{"file": NAME, MARK: {...}}`` per file.
- WARC and WET: each document record copied with one more header per field that has a
  value (``WARC-Thresher-Decision``, ``WARC-Thresher-Cluster-Size``, ...); a gzip member
  is recompressed alone, as it was one record.

Where the records already hold ``MARK`` (or such headers) the run refuses before any of
this (see :func:`thresher.pipeline.read.marked_file`), so nothing is overwritten.
"""

from __future__ import annotations

import gzip
import os
import shutil
import zlib
from typing import Any

import orjson

from thresher.errors import InputError
from thresher.io.atomic import atomic_path
from thresher.io.records import Fields, iter_lines
from thresher.io.sources import Shard, strip_suffix
from thresher.io.warc import header_prefix
from thresher.io.writers import open_out

__all__ = ["annotated_name", "write_annotated"]

_BOM = b"\xef\xbb\xbf"


def annotated_name(shard: Shard) -> str:
    """The file a shard's annotated records go to: the input's own name, or for a group
    of ``.txt`` files (copied under their own names) its sidecar's.

    Example:
        >>> annotated_name(Shard(index=0, kind="txt", files=("/d/a/b.txt",),
        ...                      names=("a/b.txt",), prefix="crawl/"))
        'crawl/texts-from-a_b.thresher.jsonl'
    """
    if shard.kind == "txt":
        first = strip_suffix(shard.names[0]).replace("/", "_")
        return f"{shard.prefix}texts-from-{first}.thresher.jsonl"
    return shard.prefix + shard.names[0]


def _object_line(line: bytes, mark: bytes, payload: bytes, *, check: bool) -> bytes | None:
    """``line`` (a JSON object) with ``"mark": payload`` added last, or None if it is not
    an object (looked at only with ``check``: the read stage parsed the others). Only the
    closing brace moves: the record's own bytes stay as they were."""
    body = line.rstrip(b" \t\r\n")
    end = line[len(body):]
    if check:
        try:
            if not isinstance(orjson.loads(body.removeprefix(_BOM)), dict):
                return None
        except orjson.JSONDecodeError:
            return None
    empty = body[body.index(b"{") + 1 : -1].strip(b" \t\r\n") == b""
    added = (b"" if empty else b",") + b'"' + mark + b'":' + payload
    return body[:-1] + added + b"}" + (end if end.endswith(b"\n") else end + b"\n")


def _jsonl(shard: Shard, marks: list[dict[str, Any]], target: str, *, fields: Fields) -> int:
    mark = fields.mark or "thresher"
    key = mark.encode()
    with atomic_path(target) as tmp, open_out(tmp, target) as out:
        lines = iter_lines(shard.files[0], raw=True, max_bytes=fields.max_bytes)
        for index, (_, line, _) in enumerate(lines):
            ann = marks[index]
            spliced = None if line is None else _object_line(
                line, key, orjson.dumps(ann), check=ann["decision"] == "rejected")
            if spliced is None:  # not an object: the line itself goes inside
                raw = None if line is None else line.rstrip(b"\r\n").decode(
                    "utf-8", "backslashreplace")
                spliced = orjson.dumps({mark: {**ann, "raw": raw}}) + b"\n"
            out.write(spliced)
    return len(marks)


def _parquet(shard: Shard, marks: Any, target: str, *, mark: str) -> int:
    """Copy every row group that can be read, with the struct column added."""
    import pyarrow.parquet as pq

    from thresher.io.parquet import row_group_starts

    try:
        pf = pq.ParquetFile(shard.files[0])
        starts = row_group_starts(pf)
    except Exception:  # noqa: BLE001 - a file that cannot be opened has no rows to copy
        return 0
    struct = marks.to_struct_array() if marks.num_rows else None
    schema = pf.schema_arrow.append(_struct_field(mark, marks.schema))
    written = 0
    with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for group in range(pf.metadata.num_row_groups):
            try:
                table = pf.read_row_group(group)
            except Exception:  # noqa: BLE001, S112 - the read stage rejected these rows, saying why
                continue
            lo = starts[group]
            part = struct.slice(lo, table.num_rows) if struct is not None else None
            writer.write_table(table.append_column(schema.field(mark), [part]))
            written += table.num_rows
    return written


def _struct_field(name: str, schema: Any) -> Any:
    import pyarrow as pa

    return pa.field(name, pa.struct(list(schema)))


def _txt(shard: Shard, marks: list[dict[str, Any]], root: str, *, mark: str) -> int:
    lines = []
    for path, name, ann in zip(shard.files, shard.names, marks, strict=True):
        target = os.path.join(root, shard.prefix + name)
        try:
            with atomic_path(target) as tmp:
                shutil.copyfile(path, tmp)
        except OSError:
            pass  # an unreadable file: rejected, and listed in the sidecar all the same
        lines.append(orjson.dumps({"file": shard.prefix + name, mark: ann}) + b"\n")
    with atomic_path(os.path.join(root, annotated_name(shard))) as tmp, open(tmp, "wb") as out:
        out.writelines(lines)
    return len(marks)


def _header_value(value: Any) -> bytes:
    return " ".join(str(value).split()).encode("utf-8", "backslashreplace")


def _headers(ann: dict[str, Any], prefix: str) -> bytes:
    """The annotation as WARC header lines: ``cluster_size`` -> ``PREFIX-Cluster-Size``."""
    return b"".join(
        (prefix + "-".join(p.capitalize() for p in k.split("_"))).encode() + b": "
        + _header_value(v) + b"\r\n" for k, v in ann.items() if v is not None)


def _annotated_record(data: bytes, headers: bytes) -> bytes | None:
    """A WARC record (a gzip member, or plain) with ``headers`` added to its header, or
    None if it cannot be read (a broken member, no end of header)."""
    packed = data[:2] == b"\x1f\x8b"
    if packed:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    data = data[: end + 2] + headers + data[end + 2 :]
    return gzip.compress(data, compresslevel=6, mtime=0) if packed else data


def _warc(shard: Shard, marks: list[dict[str, Any]], target: str, *, docs: Any,
          mark: str) -> int:
    """Copy each document record with its headers added; a record that cannot be (no
    bytes: a broken tail, or a member that does not inflate) is left out."""
    prefix = header_prefix(mark)
    spans = zip(docs["offset"].to_pylist(), docs["end"].to_pylist(), marks, strict=True)
    written = 0
    with atomic_path(target) as tmp, open(tmp, "wb") as out, \
            open(shard.files[0], "rb") as src:
        for start, end, ann in spans:
            if start < 0 or end <= start:
                continue
            src.seek(start)
            record = _annotated_record(src.read(end - start), _headers(ann, prefix))
            if record is not None:
                out.write(record)
                written += 1
    return written


def write_annotated(shard: Shard, marks: Any, root: str, *, fields: Fields,
                    docs: Any = None) -> int:
    """Write every record of ``shard`` under ``root`` with its row of ``marks`` (a pyarrow
    Table, one row per record in reading order) added; return how many were written.

    ``docs``: for WARC and WET shards, the read stage's table of their documents.
    """
    mark = fields.mark or "thresher"
    target = os.path.join(root, annotated_name(shard))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if shard.kind == "parquet":
        return _parquet(shard, marks, target, mark=mark)
    if shard.kind == "arrow":
        from thresher.io.arrow import annotate_arrow

        with atomic_path(target) as tmp:
            return annotate_arrow(shard.files[0], marks.to_struct_array() if marks.num_rows
                                  else None, tmp, name=mark)
    rows = marks.to_pylist()
    if shard.kind == "jsonl":
        return _jsonl(shard, rows, target, fields=fields)
    if shard.kind == "txt":
        return _txt(shard, rows, root, mark=mark)
    if docs is None:
        raise InputError("no document table for a WARC shard", path=shard.files[0])
    return _warc(shard, rows, target, docs=docs, mark=mark)
