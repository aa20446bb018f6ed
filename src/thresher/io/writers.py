"""Write the kept corpus: in the input's own format (records copied byte for byte, line
endings included; a last line without one gets a newline) or converted to JSONL or
Parquet with ``id``, ``text`` and ``url``.

Files are written under a temporary name and renamed into place, so a killed run never
leaves a half-written file that looks finished. A file none of whose records is kept is
not written. Compressed output is deterministic: gzip members carry no name or time.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

import numpy as np
import orjson
from numpy.typing import NDArray

from thresher.errors import ConfigError
from thresher.io import exactjson
from thresher.io.atomic import atomic_path
from thresher.io.reading import read_shard
from thresher.io.records import Fields, iter_lines
from thresher.io.sources import Shard

__all__ = ["converted_names", "open_out", "write_kept"]

_WRITE_BUFFER = 1 << 20  # an output file is written through it, a MiB at a time


@contextmanager
def open_out(path: str, name: str) -> Iterator[IO[bytes]]:
    """Open ``path`` for writing, compressing as the suffix of ``name`` (the final name) says."""
    lower = name.lower()
    with open(path, "wb", buffering=_WRITE_BUFFER) as raw:
        if lower.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                yield cast(IO[bytes], gz)
        elif lower.endswith(".zst"):
            import zstandard

            with zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False) as zs:
                yield zs
        else:
            yield raw


def _copy_txt(shard: Shard, keep: NDArray[np.bool_], root: str) -> int:
    for path, name, flag in zip(shard.files, shard.names, keep, strict=True):
        if flag:
            with atomic_path(os.path.join(root, shard.prefix + name)) as tmp:
                shutil.copyfile(path, tmp)
    return int(keep.sum())


_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True  # what bytes.isspace() counts
_BLOCK = 1 << 24
_BOM = b"\xef\xbb\xbf"


def _kept_spans(data: bytes, first: bool, keep: NDArray[np.bool_], *, index: int
                ) -> tuple[list[tuple[int, int]], int]:
    """Return byte spans of kept complete lines in ``data`` and the next record index.

    Records are the non-blank lines, as :func:`iter_lines` counts them.
    """
    if not data:
        return [], index
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    solid = ~_WHITESPACE[arr[starts]]  # a line that starts with a non-space is a record
    unsure = np.flatnonzero(~solid)  # the rare others (indented or blank) are looked at
    if first and data.startswith(_BOM):
        unsure = np.concatenate(([0], unsure))
    for i in unsure.tolist():
        line = data[starts[i] : ends[i]]
        line = line.removeprefix(_BOM) if i == 0 and first else line
        solid[i] = not line.isspace() and line.rstrip(b"\r") != b""
    records = np.flatnonzero(solid)
    kept = records[keep[index : index + records.shape[0]]]
    if kept.shape[0] == 0:
        return [], index + records.shape[0]
    s, e = starts[kept], ends[kept] + 1
    breaks = np.flatnonzero(s[1:] != e[:-1]) + 1  # a dropped or blank line between two kept
    runs = list(zip(s[np.concatenate(([0], breaks))].tolist(),
                    e[np.concatenate((breaks - 1, [e.shape[0] - 1]))].tolist(), strict=True))
    return runs, index + records.shape[0]


def _copy_plain_jsonl(path: str, keep: NDArray[np.bool_], out: IO[bytes]) -> None:
    """Copy kept lines of an uncompressed file in runs of bytes, a block at a time."""
    index, carry, first = 0, b"", True
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            runs, index = _kept_spans(data[:cut], first, keep, index=index)
            view = memoryview(data)  # one write a block: the runs are often short
            out.write(b"".join([view[start:stop] for start, stop in runs]))
            carry, first = data[cut:], first and cut == 0
    if carry:
        runs, index = _kept_spans(carry + b"\n", first, keep, index=index)
        if runs:
            out.write(carry + b"\n")


def _copy_jsonl(shard: Shard, keep: NDArray[np.bool_], root: str, *, fields: Fields) -> int:
    if not keep.any():
        return 0
    target = os.path.join(root, shard.prefix + shard.names[0])
    with atomic_path(target) as tmp, open_out(tmp, target) as out:
        if shard.files[0].lower().endswith((".gz", ".zst")):
            lines = iter_lines(shard.files[0], raw=True, max_bytes=fields.max_bytes)
            for index, (_, line, _) in enumerate(lines):
                if line is not None and keep[index]:
                    out.write(line if line.endswith(b"\n") else line + b"\n")
        else:
            _copy_plain_jsonl(shard.files[0], keep, out)
    return int(keep.sum())


def _copy_parquet(shard: Shard, keep: NDArray[np.bool_], root: str) -> int:
    from thresher.io.parquet import copy_kept_rows

    if not keep.any():
        return 0
    with atomic_path(os.path.join(root, shard.prefix + shard.names[0])) as tmp:
        return copy_kept_rows(shard.files[0], keep, tmp)


def _copy_arrow(shard: Shard, keep: NDArray[np.bool_], root: str, *, fields: Fields,
                texts: list[str | None] | None = None) -> int:
    from thresher.io.arrow import copy_kept_arrow

    if not keep.any():
        return 0
    with atomic_path(os.path.join(root, shard.prefix + shard.names[0])) as tmp:
        return copy_kept_arrow(shard.files[0], keep, tmp, texts=texts, text_field=fields.text)


def _kept_records(shard: Shard, keep: NDArray[np.bool_], fields: Fields,
                  *, texts: list[str | None] | None = None) -> Iterator[dict[str, str | None]]:
    for index, rec in enumerate(read_shard(shard, fields)):
        if keep[index] and rec.text is not None:
            text = rec.text if texts is None else texts[index]
            yield {"id": rec.id, "text": text, "url": rec.url}


def _converted_name(shard: Shard, fmt: str) -> str:
    """Name a converted file after its source: ``a/b.jsonl.gz`` -> ``a/b.parquet``.

    A group of ``.txt`` files becomes one file named after its first member.
    """
    from thresher.io.sources import strip_suffix

    first = strip_suffix(shard.names[0])
    base = f"texts-from-{first.replace('/', '_')}" if shard.kind == "txt" else first
    return f"{shard.prefix}{base}.{fmt}"


def _target(shard: Shard, fmt: str, rewrite: bool) -> tuple[str, bool]:
    """The file a shard's kept records go to (for a group of .txt files, its first
    member's) and whether it is a converted one (JSONL or Parquet written anew)."""
    if shard.kind in ("warc", "wet"):
        if fmt == "input" and not rewrite:
            return shard.prefix + shard.names[0], False
        return _converted_name(shard, "jsonl" if fmt == "input" else fmt), True
    if fmt != "input":
        return _converted_name(shard, fmt), True
    return shard.prefix + shard.names[0], False


def converted_names(shards: list[Shard], fmt: str, rewrite: bool) -> list[str | None]:
    """The name of each shard's converted file (None where the records are copied).

    A converted file is named after its source without the format's suffix; where two
    sources would give one name (``crawl.warc.gz`` and ``crawl.warc.wet.gz``, or a
    converted name that a copied file already has), each of them keeps its whole
    source name before the new suffix (``crawl.warc.wet.gz.jsonl``), so no kept record
    overwrites another's.
    """
    planned = [_target(s, fmt, rewrite) for s in shards]
    taken = Counter(name for name, _ in planned)
    out: list[str | None] = []
    for shard, (name, converted) in zip(shards, planned, strict=True):
        if converted and taken[name] > 1:
            name = f"{shard.prefix}{shard.names[0]}.{name.rsplit('.', 1)[1]}"
        out.append(name if converted else None)
    seen = Counter(n for n in out if n is not None) + Counter(
        name for name, converted in planned if not converted)
    clash = sorted(n for n, c in seen.items() if c > 1)
    if clash:
        raise ConfigError(f"two inputs would write the same kept file {clash[0]!r}; rename "
                          "one of them or choose another --format")
    return out


def _convert(shard: Shard, keep: NDArray[np.bool_], root: str, *, fmt: str, fields: Fields,
             texts: list[str | None] | None = None, name: str | None = None) -> int:
    if not keep.any():
        return 0
    target = os.path.join(root, name or _converted_name(shard, fmt))
    rows = _kept_records(shard, keep, fields, texts=texts)
    written = 0
    with atomic_path(target) as tmp:
        if fmt == "jsonl":
            with open(tmp, "wb") as out:
                for row in rows:
                    out.write(orjson.dumps(row) + b"\n")
                    written += 1
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("url", pa.string())])
            with pq.ParquetWriter(tmp, schema) as writer:
                batch: list[dict[str, str | None]] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == 4096:
                        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                        written += len(batch)
                        batch = []
                if batch:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    written += len(batch)
    return written


def _copy_warc(shard: Shard, keep: NDArray[np.bool_], root: str, *, docs: Any) -> int:
    """Copy the kept records' bytes (whole gzip members in a .warc.gz) in file order, from
    the byte spans the read stage found: the file is not parsed again, so a broken tail
    that the read stage rejected is never reached."""
    starts = docs["offset"].to_numpy()[keep]
    ends = docs["end"].to_numpy()[keep]
    if starts.shape[0] == 0:
        return 0
    with atomic_path(os.path.join(root, shard.prefix + shard.names[0])) as tmp, \
            open(tmp, "wb") as out, open(shard.files[0], "rb") as src:
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            src.seek(start)
            out.write(src.read(end - start))
    return int(starts.shape[0])


def _convert_docs(shard: Shard, keep: NDArray[np.bool_], root: str, *, fmt: str, docs: Any,
                  texts: list[str | None] | None = None, name: str | None = None) -> int:
    """Write kept WARC/WET documents as JSONL or Parquet with their extracted metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = docs.select(["id", "text", "url", "crawl_date", "title", "language"])
    if texts is not None:
        table = table.set_column(1, "text", pa.array(texts, pa.string()))
    table = table.filter(pa.array(keep))
    if table.num_rows == 0:
        return 0
    with atomic_path(os.path.join(root, name or _converted_name(shard, fmt))) as tmp:
        if fmt == "jsonl":
            with open(tmp, "wb") as out:
                out.writelines(orjson.dumps(row) + b"\n" for row in table.to_pylist())
        else:
            pq.write_table(table, tmp)
    return int(table.num_rows)


def _rewrite_jsonl(shard: Shard, keep: NDArray[np.bool_], root: str, *, fields: Fields,
                   texts: list[str | None]) -> int:
    """Write kept JSONL records with their text field replaced, other fields as they were."""
    if not keep.any():
        return 0
    target = os.path.join(root, shard.prefix + shard.names[0])
    with atomic_path(target) as tmp, open_out(tmp, target) as out:
        lines = iter_lines(shard.files[0], raw=True, max_bytes=fields.max_bytes)
        for index, (_, line, _) in enumerate(lines):
            if line is not None and keep[index]:
                obj = exactjson.loads(line)  # every other field as it was, digit for digit
                obj[fields.text] = texts[index]
                out.write(exactjson.dumps(obj) + b"\n")
    return int(keep.sum())


def _rewrite_parquet(shard: Shard, keep: NDArray[np.bool_], root: str, *, fields: Fields,
                     texts: list[str | None]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not keep.any():
        return 0
    table = pq.read_table(shard.files[0])
    at = table.schema.get_field_index(fields.text)
    table = table.set_column(at, table.schema.field(at), pa.array(texts, pa.string()))
    table = table.filter(pa.array(keep))
    with atomic_path(os.path.join(root, shard.prefix + shard.names[0])) as tmp:
        pq.write_table(table, tmp)
    return int(table.num_rows)


def _rewrite_txt(shard: Shard, keep: NDArray[np.bool_], root: str,
                 *, texts: list[str | None]) -> int:
    for name, flag, text in zip(shard.names, keep, texts, strict=True):
        if flag:
            with atomic_path(os.path.join(root, shard.prefix + name)) as tmp, \
                    open(tmp, "w", encoding="utf-8") as out:
                out.write(text or "")
    return int(keep.sum())


def write_kept(shard: Shard, keep: NDArray[np.bool_], root: str, *, fmt: str,
               fields: Fields, docs: Any = None,
               texts: list[str | None] | None = None, name: str | None = None) -> int:
    """Write the kept records of ``shard`` under ``root``; return how many were written.

    ``keep[i]`` says whether the shard's ``i``-th record (in reading order) is kept. For
    WARC and WET shards, ``docs`` is the read stage's table of extracted documents (a
    pyarrow Table).
    ``texts`` (one per record) replaces the records' texts: the cleaned content. WARC and
    WET records cannot carry it in their own format, so they are written as JSONL then.
    ``name``: the converted file's name (see :func:`converted_names`).
    """
    if shard.kind in ("warc", "wet") and docs is not None:
        if fmt == "input" and texts is None:
            return _copy_warc(shard, keep, root, docs=docs)
        return _convert_docs(shard, keep, root, fmt="jsonl" if fmt == "input" else fmt, docs=docs,
                             texts=texts, name=name)
    if fmt != "input":
        return _convert(shard, keep, root, fmt=fmt, fields=fields, texts=texts, name=name)
    if shard.kind == "arrow":
        return _copy_arrow(shard, keep, root, fields=fields, texts=texts)
    if texts is not None:
        if shard.kind == "txt":
            return _rewrite_txt(shard, keep, root, texts=texts)
        if shard.kind == "jsonl":
            return _rewrite_jsonl(shard, keep, root, fields=fields, texts=texts)
        return _rewrite_parquet(shard, keep, root, fields=fields, texts=texts)
    if shard.kind == "txt":
        return _copy_txt(shard, keep, root)
    if shard.kind == "jsonl":
        return _copy_jsonl(shard, keep, root, fields=fields)
    return _copy_parquet(shard, keep, root)
