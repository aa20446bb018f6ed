"""Records a batch at a time, with their usable texts already laid out as UTF-8.

The read stage works on :class:`Batch`: the records' columns, and the texts it sketches
as :func:`~thresher.core.text.prepare_batch` lays them out. Any reader's records make a
batch (:meth:`Batch.of_records`); plain JSONL files are read by :func:`read_batches`
faster, a block of lines at a time: :func:`~thresher.io.jsonscan.scan_lines` copies each
text from the line into the layout, and only the lines it leaves alone go through
:func:`~thresher.io.records.jsonl_record`. Both ways give the same records, in the same
order, with the same line numbers, as :func:`~thresher.io.records.read_shard`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from numba import njit
from numpy.typing import NDArray

from thresher.core.text import prepare_batch
from thresher.io.jsonscan import ABSENT, FAST, GROUP, ID, PLAIN_STRING, URL, scan_lines
from thresher.io.records import Fields, Record, group_value, id_value, jsonl_record, read_shard
from thresher.io.sources import Shard

if TYPE_CHECKING:
    from thresher.io.warc import WarcOptions

__all__ = ["Batch", "Decoded", "read_batches"]

BATCH = 2048  # records a batch
_BLOCK = 1 << 24  # bytes of a plain JSONL file read at a time
_BOM = b"\xef\xbb\xbf"


class Decoded(Sequence[str]):
    """The documents of a ``prepare_batch`` layout, decoded when asked for."""

    def __init__(self, data: NDArray[np.uint8], offsets: NDArray[np.int64]) -> None:
        self.data, self.offsets = data, offsets

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1]) - 1
        return self.data[lo:hi].tobytes().decode("utf-8", "surrogatepass")


@dataclass
class Batch:
    """Consecutive records of one shard as columns."""

    ids: list[str]
    urls: list[str | None]
    files: list[str]
    lines: list[int]
    rejects: list[str | None]
    generated: list[bool]
    groups: list[str | None]
    lengths: list[int]  # code points of each record's text (0 without one)
    slots: list[int]  # the usable records: a text and no reason to reject them
    prepared: tuple[NDArray[np.uint8], NDArray[np.int64]]  # their texts, laid out
    texts: Sequence[str]  # their texts
    records: list[Record] | None = None  # as the reader made them (WARC and WET)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of_records(cls, records: list[Record]) -> Batch:
        """The batch of records made by any reader."""
        slots = [i for i, r in enumerate(records) if r.reject is None and r.text is not None]
        texts = [records[i].text or "" for i in slots]
        return cls(
            ids=[r.id for r in records], urls=[r.url for r in records],
            files=[r.file for r in records], lines=[r.line for r in records],
            rejects=[r.reject for r in records],
            generated=[r.id_generated for r in records], groups=[r.group for r in records],
            lengths=[len(r.text) if r.text is not None else 0 for r in records],
            slots=slots, prepared=prepare_batch(texts), texts=texts, records=records)


def read_batches(shard: Shard, fields: Fields, *, skipped: Counter[str] | None = None,
                 warc: WarcOptions | None = None, size: int = BATCH) -> Iterator[Batch]:
    """Yield the records of ``shard`` in batches of at most ``size``, in order."""
    if shard.kind == "jsonl" and not shard.files[0].lower().endswith((".gz", ".zst")):
        yield from _plain_jsonl(shard, shard.prefix + shard.names[0], fields, size)
        return
    records = read_shard(shard, fields, skipped=skipped, warc=warc)
    while batch := list(islice(records, size)):
        yield Batch.of_records(batch)


@njit(cache=True, nogil=True)
def _trim(buf, starts, ends, solid):  # type: ignore[no-untyped-def]
    """Move each line's end back over its line ending, and say whether the line has a
    byte that is not ASCII whitespace."""
    for k in range(starts.shape[0]):
        s, e = starts[k], ends[k]
        while e > s and (buf[e - 1] == 0x0D or buf[e - 1] == 0x0A):
            e -= 1
        ends[k] = e
        visible = False
        for i in range(s, e):
            b = buf[i]
            if not (b == 0x20 or 0x09 <= b <= 0x0D):
                visible = True
                break
        solid[k] = visible


def _bounds(arr: NDArray[np.uint8], cut: int
            ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """The lines of arr[:cut] (each ended by a newline, but perhaps the last): where each
    starts and ends without its line ending, and whether it is not blank."""
    ends = np.flatnonzero(arr[:cut] == 0x0A)
    if not ends.shape[0] or ends[-1] != cut - 1:
        ends = np.append(ends, cut)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    solid = np.empty(ends.shape[0], dtype=np.bool_)
    _trim(arr, starts, ends, solid)
    return starts, ends, solid


def _blocks(path: str, start: int, stop: int | None
            ) -> Iterator[tuple[bytearray, NDArray[np.int64], NDArray[np.int64],
                                NDArray[np.bool_]]]:
    """Yield blocks of whole lines of the file's byte range ``[start, stop)`` (the lines
    that start in it): the buffer and each line's start, end (without its line ending)
    and whether it is not blank."""
    buf = bytearray(_BLOCK)
    have = 0  # bytes at the front of buf carried over: the start of a line
    pos = start  # file offset of buf[0]
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        while True:
            if have == len(buf):  # a line longer than the buffer
                buf.extend(bytes(len(buf)))
            got = fh.readinto(memoryview(buf)[have:]) or 0
            end = have + got
            last = got == 0
            cut = end if last else buf.rfind(b"\n", 0, end) + 1
            if stop is not None and pos + cut >= stop:
                if stop <= pos:
                    cut = 0
                else:  # the line holding the range's last byte is its last line
                    nl = buf.find(b"\n", stop - pos - 1, cut)
                    cut = nl + 1 if nl >= 0 else cut
                last = True
            elif cut == 0 and not last:  # no whole line yet
                have = end
                continue
            if cut:
                arr = np.frombuffer(buf, dtype=np.uint8)
                starts, ends, solid = _bounds(arr, cut)
                del arr
                yield buf, starts, ends, solid
            if last:
                return
            have = end - cut
            buf[:have] = buf[cut:end]
            pos += cut


def _plain_jsonl(shard: Shard, name: str, fields: Fields, size: int) -> Iterator[Batch]:
    roles = [fields.id, fields.text, fields.url, fields.group]
    names = [None if r is None else r.encode("utf-8", "surrogatepass") for r in roles]
    number = shard.first_line - 1
    path = shard.files[0]
    try:
        for buf, starts, ends, solid in _blocks(path, shard.start, shard.stop):
            if number == 0 and starts.shape[0] and buf.startswith(_BOM):
                starts[0] += len(_BOM)  # a UTF-8 byte order mark before line 1
                _trim(np.frombuffer(buf, dtype=np.uint8), starts[:1], ends[:1], solid[:1])
            numbers = number + 1 + np.flatnonzero(solid)
            number += int(starts.shape[0])
            keep = np.flatnonzero(solid)
            for lo in range(0, keep.shape[0], size):
                part = keep[lo:lo + size]
                yield _batch(buf, starts[part], ends[part], numbers[lo:lo + size].tolist(),
                             name, fields, names)
    except OSError as exc:  # worded as iter_lines words it
        kind = "truncated or corrupt compressed stream" if number else "unreadable file"
        yield Batch.of_records([Record(f"{name}:{number + 1}", None, None, name, number + 1,
                                       f"{kind} from line {number + 1} on: {exc}", True)])


def _value(view: memoryview, a: int, b: int, kind: int) -> Any:
    if kind == PLAIN_STRING:
        return str(view[a + 1:b - 1], "utf-8")
    if kind == ABSENT:
        return None
    return orjson.loads(view[a:b])


@njit(cache=True, nogil=True)
def _join_plain(buf, spans, out):  # type: ignore[no-untyped-def]
    """Write each line's value of one field, where it is a string without escapes, to
    out (its quotes dropped), the lines' values separated by NUL (which no such string
    holds: JSON strings have no raw control characters). Returns the bytes written."""
    n = 0
    for k in range(spans.shape[0]):
        if k:
            out[n] = 0
            n += 1
        if spans[k, 2] == PLAIN_STRING:
            for i in range(spans[k, 0] + 1, spans[k, 1] - 1):
                out[n] = buf[i]
                n += 1
    return n


def _plain_strings(buf: NDArray[np.uint8], spans: NDArray[np.int64]) -> list[str]:
    """Every line's value of one field where it is a plain string, else ""."""
    room = int(np.maximum(spans[:, 1] - spans[:, 0], 0).sum()) + spans.shape[0]
    out = np.empty(room, dtype=np.uint8)
    used = _join_plain(buf, spans, out)
    return out[:used].tobytes().decode("utf-8").split("\x00")


def _batch(buf: bytearray, starts: NDArray[np.int64], ends: NDArray[np.int64],
           numbers: list[int], name: str, fields: Fields, names: list[bytes | None]) -> Batch:
    arr = np.frombuffer(buf, dtype=np.uint8)
    out, text_at, status, spans, chars = scan_lines(arr, starts, ends, names, fields.max_bytes)
    view = memoryview(buf)
    n = len(numbers)
    fast = status == FAST
    # The common case in bulk: an id and a URL that are plain strings (or no URL).
    ids = _plain_strings(arr, np.ascontiguousarray(spans[:, ID]))
    urls: list[str | None] = list(_plain_strings(arr, np.ascontiguousarray(spans[:, URL])))
    generated = [False] * n
    rejects: list[str | None] = [None] * n
    groups: list[str | None] = [None] * n
    lengths = chars.tolist()  # code points of the texts on the fast path; the others below
    plain_id = (spans[:, ID, 2] == PLAIN_STRING) & (spans[:, ID, 1] - spans[:, ID, 0] > 2)
    url_kind = spans[:, URL, 2]
    odd = ~fast | ~plain_id | ((url_kind != PLAIN_STRING) & (url_kind != ABSENT))
    if fields.group is not None:
        odd[:] = True
    for k in np.flatnonzero(fast & (url_kind == ABSENT)).tolist():
        urls[k] = None
    slow: dict[int, str] = {}  # usable records read by orjson: their texts
    for k in np.flatnonzero(odd).tolist():
        number = numbers[k]
        if fast[k]:
            at = spans[k].tolist()
            if not plain_id[k]:
                ids[k], generated[k] = id_value(_value(view, *at[ID]), f"{name}:{number}")
            if url_kind[k] != PLAIN_STRING:
                url = _value(view, *at[URL])
                urls[k] = url if type(url) is str else None
            if fields.group is not None:
                groups[k] = group_value(_value(view, *at[GROUP]))
            continue
        rec = jsonl_record(view[int(starts[k]):int(ends[k])].tobytes(), name, number, fields)
        ids[k], urls[k], rejects[k] = rec.id, rec.url, rec.reject
        generated[k], groups[k] = rec.id_generated, rec.group
        lengths[k] = len(rec.text) if rec.text is not None else 0
        if rec.reject is None and rec.text is not None:
            slow[k] = rec.text
    slots = np.flatnonzero(fast).tolist()
    if slow:
        slots = sorted(slots + list(slow))
    del view, arr
    if slow:  # texts from both ways: laid out again, in order
        pieces = [slow[k].encode("utf-8", "surrogatepass") if k in slow
                  else out[text_at[k]:text_at[k + 1] - 1].tobytes() for k in slots]
        data = np.frombuffer(b"\n".join([*pieces, b""]), dtype=np.uint8)
        offsets = np.zeros(len(slots) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)) + 1,
                  out=offsets[1:])
        prepared = (data, offsets)
    else:
        prepared = (out, np.append(text_at[slots], text_at[n]).astype(np.int64))
    return Batch(ids=ids, urls=urls, files=[name] * n, lines=numbers, rejects=rejects,
                 generated=generated, groups=groups, lengths=lengths, slots=slots,
                 prepared=prepared, texts=Decoded(*prepared))
