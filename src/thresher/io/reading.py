"""Every record of a shard, whatever its format: the one place that knows them all.

Each reader (``records`` for JSONL and text files, ``warc``, ``arrow``, ``parquet``)
knows its own format only; :func:`read_shard` picks one by the shard's kind, so none of
them imports another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from thresher.io.arrow import read_arrow
from thresher.io.parquet import read_parquet
from thresher.io.records import Fields, Record, iter_lines, jsonl_record
from thresher.io.sources import Shard
from thresher.io.warc import WarcOptions, read_warc

__all__ = ["read_shard"]


def _read_jsonl(shard: Shard, name: str, fields: Fields) -> Iterator[Record]:
    lines = iter_lines(shard.files[0], start=shard.start, stop=shard.stop,
                       first_line=shard.first_line, max_bytes=fields.max_bytes)
    for number, line, error in lines:
        if line is None:
            yield Record(f"{name}:{number}", None, None, name, number, error, True)
        else:
            yield jsonl_record(line, name, number, fields=fields)


def _read_txt(path: str, name: str, fields: Fields) -> Record:
    try:
        with open(path, "rb") as fh:
            data = fh.read(fields.max_bytes + 1)
    except OSError as exc:
        return Record(name, None, None, name, 0, f"cannot read file: {exc.strerror}")
    if len(data) > fields.max_bytes:
        return Record(name, None, None, name, 0,
                      f"file exceeds --max-doc-bytes {fields.max_bytes:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return Record(name, None, None, name, 0, f"invalid UTF-8 at byte {err.start}")
    if not text.strip():
        return Record(name, None, None, name, 0, "empty text")
    return Record(name, text, None, name, 0)


def read_shard(shard: Shard, fields: Fields, *, skipped: Counter[str] | None = None,
               warc: WarcOptions | None = None) -> Iterator[Record]:
    """Yield every record of ``shard`` in order; defects become rejected records.

    WARC and WET files also hold records that are not documents: ``skipped`` counts them.
    """
    # With several inputs, names carry the input's prefix (as in the kept/ folder) so that
    # two inputs holding a file of the same name give distinct file names and ids.
    names = [shard.prefix + name for name in shard.names]
    if shard.kind == "txt":
        for path, name in zip(shard.files, names, strict=True):
            yield _read_txt(path, name, fields)
    elif shard.kind == "jsonl":
        yield from _read_jsonl(shard, names[0], fields)
    elif shard.kind in ("warc", "wet"):
        yield from read_warc(shard.files[0], names[0], fields, wet=shard.kind == "wet",
                             opts=warc or WarcOptions(),
                             skipped=Counter() if skipped is None else skipped)
    elif shard.kind == "arrow":
        yield from read_arrow(shard.files[0], names[0], fields)
    else:
        groups = None if shard.whole else range(shard.start, shard.stop or 0)
        yield from read_parquet(shard.files[0], names[0], fields, groups=groups,
                                version=shard.version)
