"""Records a batch at a time, with their usable texts already laid out as UTF-8.

The read stage works on :class:`Batch`: the records' columns, and the texts it sketches
as :func:`~thresher.core.text.prepare_batch` lays them out. Every reader's records make a
batch (:meth:`Batch.of_records`); JSONL lines are parsed by orjson
(:func:`~thresher.io.records.jsonl_record`), in the order and with the line numbers of
:func:`~thresher.io.reading.read_shard`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.text import prepare_batch
from thresher.io.reading import read_shard
from thresher.io.records import (
    FOUND_GROUP,
    FOUND_ID,
    FOUND_KEY,
    FOUND_MARK,
    FOUND_OBJECT,
    FOUND_TEXT,
    FOUND_URL,
    Fields,
    Record,
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
                                                        FOUND_GROUP, FOUND_MARK, FOUND_KEY,
                                                        FOUND_TEXT)}


def read_batches(shard: Shard, fields: Fields, *, skipped: Counter[str] | None = None,
                 warc: WarcOptions | None = None, size: int = BATCH) -> Iterator[Batch]:
    """Yield the records of ``shard`` in batches of at most ``size``, in order.

    ``skipped`` counts what is not a record: WARC records that are not documents, and the
    files discovery passed over beside this shard (:attr:`Shard.passed_over`).
    """
    if skipped is not None:
        skipped.update(shard.passed_over)
    records = read_shard(shard, fields, skipped=skipped, warc=warc)
    while batch := list(islice(records, size)):
        yield Batch.of_records(batch)

