"""Cut a large file into ranges, the shards of one file, and read a range of an object.

A plain JSONL file is cut into byte ranges that end just after a newline
(:func:`split_ranges`), a Parquet file into runs of row groups (:func:`row_group_ranges`).
Both read a file at an fsspec URL as they read a local one, through ranged reads: the
cuts, and so the shards and their first line numbers, are the same wherever the file
lies, and the driver holds one block of it at a time, never a copy.

A task reads its shard through :func:`local_shard`: a whole object is copied whole, and
a range of an object is fetched alone (:func:`local_range`):
a JSONL range is copied to a local temporary file (with the newline before it, so that
a range not at the file's start reads as it does in place), a Parquet range is read over
the object itself, its footer and its own row groups fetched as pyarrow asks for them.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from thresher.errors import ConfigError
from thresher.io.remote import filesystem, is_remote, local_copy, one_line, version_of
from thresher.io.shard import Shard

__all__ = ["Guarded", "local_range", "local_shard", "open_ranged", "row_group_ranges",
           "split_ranges"]

_SCAN = 1 << 24  # bytes read at a time: by the newline count, and a range's copy


@contextmanager
def open_ranged(path: str, *, version: str = "") -> Iterator[IO[bytes]]:
    """``path`` open for reading bytes: a local file, or an object at a URL whose every
    read fetches just the bytes asked for (no read-ahead past a range's end).

    An object whose version is not ``version`` (if given: the run's cuts are those of
    that version) is a :class:`ConfigError`; the reads of one open object are of one
    version (s3fs asks for the ETag it opened, and fails if the object changes since).
    """
    if not is_remote(path):
        with open(path, "rb") as fh:
            yield fh
        return
    fs, inner = filesystem(path)
    try:
        fh = fs.open(inner, "rb", cache_type="none")
    except FileNotFoundError:
        raise ConfigError(f"input {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"input {path}: cannot read it: {one_line(exc)}") from None
    with fh:
        now = version_of(getattr(fh, "details", None) or {})
        if version and now and now != version:
            raise ConfigError(f"input {path} changed while the run read it (version {version} "
                              f"when listed, {now} now): run again to read it anew")
        yield fh


class Guarded(io.RawIOBase):
    """An object open through fsspec that keeps the first error a read raised: pyarrow
    makes any error a rejected row group, which a lost connection must not become."""

    def __init__(self, fh: Any) -> None:
        super().__init__()
        self._fh = fh
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._fh.seek(offset, whence))

    def tell(self) -> int:
        return int(self._fh.tell())

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._fh.readinto(buffer))
        except Exception as exc:
            self.error = self.error or exc
            raise


def _count_next(fh: Any, size: int) -> int:
    """The newlines in the next ``size`` bytes of ``fh``, read a block at a time."""
    import numpy as np

    from thresher.core.blocks import line_breaks  # compiled: twice as fast as bytes.count

    count = 0
    buffer = bytearray(min(_SCAN, max(size, 0)))  # one buffer: no fresh pages per block
    view = memoryview(buffer)
    while size > 0:
        got = fh.readinto(view[:min(_SCAN, size)])
        if not got:
            break
        count += int(line_breaks(np.frombuffer(buffer, dtype=np.uint8, count=got)))
        size -= got
    return count


def _rest_of_line(fh: Any) -> bytes:
    """The bytes of ``fh`` from here through the next newline (or to the end), read in
    pieces that double: fsspec's ``readline`` would fetch a whole block for a short tail."""
    parts, size = [], 1 << 16
    while True:
        at = fh.tell()
        part = fh.read(size)
        found = part.find(b"\n")
        if found >= 0:
            fh.seek(at + found + 1)
            parts.append(part[:found + 1])
            break
        parts.append(part)
        if len(part) < size:  # the end of the file
            break
        size = min(2 * size, _SCAN)
    return b"".join(parts)


def split_ranges(path: str, size: int, chunk: int, *, version: str = ""
                 ) -> list[tuple[int, int | None, int]]:
    """Cut a plain JSONL file (local or at a URL) of ``size`` bytes into
    ``(start, stop, first_line)`` ranges of about ``chunk`` bytes.

    Cuts fall just after a newline, so every line lies in exactly one range. The file is
    read once, front to back: each range's lines are counted as the cut is looked for.
    An object is cut as it was at ``version`` (its size's), else not at all.
    """
    ranges: list[tuple[int, int | None, int]] = []
    start, line = 0, 1
    with open_ranged(path, version=version) as fh:
        try:
            while start + chunk < size:
                lines = _count_next(fh, chunk)
                tail = _rest_of_line(fh)  # the rest of the line the cut falls in
                stop = start + chunk + len(tail)
                if stop >= size:
                    break
                ranges.append((start, stop, line))
                line += lines + tail.count(b"\n")
                start = stop
        except OSError as exc:
            raise ConfigError(f"input {path}: cannot read it: {one_line(exc)}") from None
    ranges.append((start, None, line))
    return ranges


def row_group_ranges(path: str, chunk: int, *, version: str = ""
                     ) -> list[tuple[int, int | None, int]]:
    """Cut a Parquet file (local or at a URL: only its footer is read) into runs of row
    groups of about ``chunk`` bytes.

    Returns ``(first_group, stop_group, first_row)``, or one whole-file range ``(0, None, 1)``
    when there is nothing to cut or the metadata cannot be read (the reader then says what
    is wrong).
    """
    import pyarrow.parquet as pq

    try:
        with open_ranged(path, version=version) as fh:
            meta = pq.read_metadata(fh)
    except Exception:  # noqa: BLE001 - the reader reports a corrupt or missing file
        return [(0, None, 1)]
    ranges: list[tuple[int, int | None, int]] = []
    start, size, row, first_row = 0, 0, 0, 1
    for g in range(meta.num_row_groups):
        if size >= chunk:
            ranges.append((start, g, first_row))
            start, size, first_row = g, 0, row + 1
        size += meta.row_group(g).total_byte_size
        row += meta.row_group(g).num_rows
    if not ranges:
        return [(0, None, 1)]
    ranges.append((start, meta.num_row_groups, first_row))
    return ranges


def _copy_range(url: str, local: str, *, start: int, stop: int | None, version: str) -> None:
    """Copy the bytes ``[start, stop)`` of the object ``url`` (to its end if ``stop`` is
    None) at ``version`` to the local file ``local``, a block at a time."""
    left = None if stop is None else stop - start
    with open_ranged(url, version=version) as src, open(local, "wb") as out:
        try:
            src.seek(start)
            while left is None or left > 0:
                data = src.read(_SCAN if left is None else min(_SCAN, left))
                if not data:
                    break
                out.write(data)
                left = None if left is None else left - len(data)
        except OSError as exc:
            raise ConfigError(f"input {url}: cannot read it: {one_line(exc)}") from None


@contextmanager
def local_range(shard: Shard) -> Iterator[Shard]:
    """A range of an object at a URL, as its readers read it: for plain JSONL a local
    temporary copy of the range's bytes (removed after the block), its offsets rebased;
    for Parquet the shard itself, read over the object (``io/parquet.py``). The whole
    of a cut object (as the write stage reads it) is a local copy of any format. Every
    copy is of the object's version that was cut (``shard.version``)."""
    if shard.kind != "jsonl" and not shard.whole:
        yield shard
        return
    folder = tempfile.mkdtemp(prefix="thresher-in-")
    try:
        url = shard.files[0]
        local = os.path.join(folder, url.rstrip("/").rsplit("/", 1)[-1])
        # from the newline before a later range: its first line is not the file's first,
        # which a reader would take a byte order mark off
        lead = 1 if shard.start > 0 else 0
        _copy_range(url, local, start=shard.start - lead, stop=shard.stop,
                    version=shard.version)
        yield dataclasses.replace(shard, files=(local,), start=lead,
                                  stop=None if shard.stop is None
                                  else lead + shard.stop - shard.start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def local_shard(shard: Shard) -> Iterator[Shard]:
    """``shard`` with its files at URLs replaced by local temporary copies, removed
    after the block; a range of an object (a shard of a large file) is fetched alone
    (``io/ranges.py``), so a task's local disk is bounded by its shard."""
    if not any(is_remote(f) for f in shard.files):
        yield shard
        return
    if not shard.whole or shard.version:  # a cut object: the version cut, or an error
        with local_range(shard) as part:
            yield part
        return
    with ExitStack() as stack:
        files = tuple(stack.enter_context(local_copy(f)) for f in shard.files)
        yield dataclasses.replace(shard, files=files)
