"""Records a batch at a time, with their usable texts already laid out as UTF-8.

The read stage works on :class:`Batch`: the records' columns, and the texts it sketches
as :func:`~thresher.core.text.prepare_batch` lays them out. Any reader's records make a
batch (:meth:`Batch.of_records`); plain JSONL files are read by :func:`read_batches`
faster, a block of lines at a time: :func:`~thresher.io.jsonscan.scan_lines` copies each
text from the line into the layout, and only the lines it leaves alone go through
:func:`~thresher.io.records.jsonl_record`. Both ways give the same records, in the same
order, with the same line numbers, as :func:`~thresher.io.reading.read_shard`.
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
from thresher.io.jsonscan import ABSENT, FAST, GROUP, ID, KEY, MARK, PLAIN_STRING, URL, scan_lines
from thresher.io.lines import too_long
from thresher.io.plain import Long, blocks
from thresher.io.reading import read_shard
from thresher.io.records import (
    FOUND_GROUP,
    FOUND_ID,
    FOUND_KEY,
    FOUND_MARK,
    FOUND_OBJECT,
    FOUND_URL,
    MISSING,
    Fields,
    Record,
    field_value,
    group_value,
    id_value,
    jsonl_record,
)
from thresher.io.sources import Shard

if TYPE_CHECKING:
    from thresher.io.warc import WarcOptions

__all__ = ["Batch", "Decoded", "read_batches"]

BATCH = 2048  # records a batch


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


@dataclass(kw_only=True)
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
    # records that are objects, and of them those with the id, URL, group field (FOUND_*)
    found: dict[int, int] | None = None
    keys: list[Any] | None = None  # the values of Fields.key, when one is named

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
            slots=slots, prepared=prepare_batch(texts), texts=texts, records=records,
            found=_count_found([r.found for r in records]), keys=[r.key for r in records])


def _count_found(bits: list[int]) -> dict[int, int]:
    """How many records have each ``FOUND_*`` bit."""
    return {b: sum(1 for x in bits if x & b) for b in (FOUND_OBJECT, FOUND_ID, FOUND_URL,
                                                        FOUND_GROUP, FOUND_MARK, FOUND_KEY)}


def read_batches(shard: Shard, fields: Fields, *, skipped: Counter[str] | None = None,
                 warc: WarcOptions | None = None, size: int = BATCH) -> Iterator[Batch]:
    """Yield the records of ``shard`` in batches of at most ``size``, in order.

    ``skipped`` counts what is not a record: WARC records that are not documents, and the
    files discovery passed over beside this shard (:attr:`Shard.passed_over`).
    """
    if skipped is not None:
        skipped.update(shard.passed_over)
    if shard.kind == "jsonl" and not shard.files[0].lower().endswith((".gz", ".zst")):
        yield from _plain_jsonl(shard, shard.prefix + shard.names[0], fields, size=size)
        return
    records = read_shard(shard, fields, skipped=skipped, warc=warc)
    while batch := list(islice(records, size)):
        yield Batch.of_records(batch)


def _plain_jsonl(shard: Shard, name: str, fields: Fields, *, size: int) -> Iterator[Batch]:
    roles = [fields.id, fields.text, fields.url, fields.group, fields.mark, fields.key]
    # after the fields themselves, the first part of each dotted name: the object that
    # holds it, whose value alone orjson then reads (a key spelled as the name wins)
    heads = [r.partition(".")[0] if r is not None and "." in r else None for r in roles]
    names = [None if r is None else r.encode("utf-8", "surrogatepass") for r in roles + heads]
    number = shard.first_line - 1
    try:
        for block in blocks(shard.files[0], shard.start, shard.stop, limit=fields.max_bytes):
            if isinstance(block, Long):
                number += 1
                if not block.blank:
                    yield Batch.of_records([Record(
                        f"{name}:{number}", None, None, name, number,
                        too_long(block.size, fields.max_bytes), True)])
                continue
            numbers = number + 1 + block.index
            number += block.count
            for lo in range(0, block.starts.shape[0], size):
                yield _batch(block.buf, block.starts[lo:lo + size], block.ends[lo:lo + size],
                             numbers=numbers[lo:lo + size].tolist(), name=name, fields=fields,
                             names=names)
    except OSError as exc:  # worded as iter_lines words it
        kind = "truncated or corrupt compressed stream" if number else "unreadable file"
        yield Batch.of_records([Record(f"{name}:{number + 1}", None, None, name, number + 1,
                                       f"{kind} from line {number + 1} on: {exc}", True)])


def _value(view: memoryview, span: Sequence[int]) -> Any:
    a, b, kind = span
    if kind == PLAIN_STRING:
        return str(view[a + 1:b - 1], "utf-8")
    if kind == ABSENT:
        return None
    return orjson.loads(view[a:b])


def _field(view: memoryview, at: list[list[int]], role: int, *, name: str | None) -> Any:
    """The value of one field of a line on the fast path (``MISSING`` where it has none):
    the key itself, else for a dotted name, looked up in the object its first part names."""
    if at[role][2] != ABSENT:
        return _value(view, at[role])
    head = at[role + len(at) // 2]
    if name is None or "." not in name or head[2] == ABSENT:
        return MISSING
    inner = _value(view, head)
    return field_value(inner, name.partition(".")[2]) if isinstance(inner, dict) else MISSING


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
           *, numbers: list[int], name: str, fields: Fields, names: list[bytes | None]) -> Batch:
    arr = np.frombuffer(buf, dtype=np.uint8)
    out, text_at, status, spans, chars = scan_lines(arr, starts, ends, names=names,
                                                    max_bytes=fields.max_bytes)
    view = memoryview(buf)
    n = len(numbers)
    fast = status == FAST
    # The common case in bulk: an id and a URL that are plain strings (or no URL).
    ids = _plain_strings(arr, np.ascontiguousarray(spans[:, ID]))
    urls: list[str | None] = list(_plain_strings(arr, np.ascontiguousarray(spans[:, URL])))
    generated = [False] * n
    rejects: list[str | None] = [None] * n
    groups: list[str | None] = [None] * n
    keys: list[Any] = [None] * n
    lengths = chars.tolist()  # code points of the texts on the fast path; the others below
    plain_id = (spans[:, ID, 2] == PLAIN_STRING) & (spans[:, ID, 1] - spans[:, ID, 0] > 2)
    url_kind = spans[:, URL, 2]
    odd = ~fast | ~plain_id | ((url_kind != PLAIN_STRING) & (url_kind != ABSENT))
    if fields.group is not None or fields.key is not None or any(
            n is not None and "." in n for n in (fields.id, fields.url)):
        odd[:] = True
    for k in np.flatnonzero(fast & (url_kind == ABSENT)).tolist():
        urls[k] = None
    found = np.where(fast, FOUND_OBJECT, 0)
    found |= np.where(fast & (spans[:, ID, 2] != ABSENT), FOUND_ID, 0)
    found |= np.where(fast & (url_kind != ABSENT), FOUND_URL, 0)
    found |= np.where(fast & (spans[:, MARK, 2] != ABSENT), FOUND_MARK, 0)
    slow: dict[int, str] = {}  # usable records read by orjson: their texts
    for k in np.flatnonzero(odd).tolist():
        number = numbers[k]
        if fast[k]:
            at = spans[k].tolist()
            if not plain_id[k]:
                value = _field(view, at, ID, name=fields.id)
                found[k] |= 0 if value is MISSING else FOUND_ID
                ids[k], generated[k] = id_value(None if value is MISSING else value,
                                                f"{name}:{number}")
            if url_kind[k] != PLAIN_STRING:
                url = _field(view, at, URL, name=fields.url)
                found[k] |= 0 if url is MISSING else FOUND_URL
                urls[k] = url if type(url) is str else None
            if fields.group is not None:
                group = _field(view, at, GROUP, name=fields.group)
                found[k] |= 0 if group is MISSING else FOUND_GROUP
                groups[k] = group_value(None if group is MISSING else group)
            if fields.key is not None:
                key = _field(view, at, KEY, name=fields.key)
                found[k] |= 0 if key is MISSING else FOUND_KEY
                keys[k] = None if key is MISSING else key
            continue
        rec = jsonl_record(view[int(starts[k]):int(ends[k])].tobytes(), name, number, fields=fields)
        ids[k], urls[k], rejects[k] = rec.id, rec.url, rec.reject
        generated[k], groups[k], found[k], keys[k] = (rec.id_generated, rec.group, rec.found,
                                                      rec.key)
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
                 prepared=prepared, texts=Decoded(*prepared), found=_count_found(found.tolist()),
                 keys=keys)
