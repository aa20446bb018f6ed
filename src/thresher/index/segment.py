"""One segment of the persistent index, read-only: its arrays memory-mapped, the
lookups in its sorted tables, and the site statistics summed over segments (the layout
is described in :mod:`thresher.index.store`, which writes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.lookup import fenced_lookup, pair_lookup, sorted_lookup
from thresher.core.rule import EDGE_EXACT
from thresher.io import remote

__all__ = ["FENCE", "WHY_EXACT", "Segment", "fence_of", "fence_writer", "open_segments",
           "site_stats", "summed_counts", "summed_site_tables"]

WHY_EXACT = EDGE_EXACT  # the probe's "exact copy", as the index keeps it (tfpwhy)
FENCE = 512  # keys per fence entry: one 4 KiB page of keys


@dataclass(frozen=True, kw_only=True)
class Segment:
    """One batch's documents, read-only (arrays memory-mapped on first use)."""

    path: Path
    name: str
    batch: int
    docs: int
    first: int  # the index-wide number of its first document
    _arrays: dict[str, NDArray[Any]] = field(default_factory=dict, compare=False, repr=False)

    def array(self, name: str) -> NDArray[Any]:
        """One of the segment's arrays, memory-mapped once and kept (as a plain array
        view: indexing a ``np.memmap`` costs more than the lookups themselves)."""
        if name not in self._arrays:
            self._arrays[name] = np.load(self.path / f"{name}.npy",
                                         mmap_mode="r").view(np.ndarray)
        return self._arrays[name]

    @cached_property
    def keys(self) -> NDArray[np.uint64]:
        return self.array("keys")

    @cached_property
    def kdocs(self) -> NDArray[np.uint32]:
        return self.array("kdocs")

    @cached_property
    def fence(self) -> NDArray[np.uint64]:
        """Every ``FENCE``-th key (kept with the segment; taken from the keys for a segment
        written before it was)."""
        kept = self.optional("kfence", np.uint64)
        return kept if kept.shape[0] else fence_of(self.keys)

    def lookup(self, keys: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return (which of ``keys``, segment-local document) for every indexed match.

        Many keys are best given sorted: the searches then stay near each other, which
        is much faster for millions of keys than random order (docs/performance.md).
        """
        which, at = fenced_lookup(keys, self.keys, self.fence, step=FENCE)
        return which, np.asarray(self.kdocs[at], dtype=np.int64)

    def optional(self, name: str, dtype: type[Any]) -> NDArray[Any]:
        """An array that only some segments hold (empty where this one does not)."""
        if name not in self._arrays and not (self.path / f"{name}.npy").exists():
            self._arrays[name] = np.zeros(0, dtype=dtype)
        return self.array(name)

    def heads(self) -> NDArray[np.uint64]:
        """Each document's headline key (all 0 in a segment written before they were kept)."""
        kept = self.optional("head", np.uint64)
        return kept if kept.shape[0] else np.zeros(self.docs, dtype=np.uint64)

    def lookup_fp(self, fp: NDArray[np.uint64], table: str = "fp") -> NDArray[np.int64]:
        """Return the segment-local document with each fingerprint (rows of 2), or -1.

        ``table`` is ``"fp"`` (the content's fingerprints) or ``"tfp"`` (the whole
        texts', kept when matching on content; it answers index-wide numbers).
        """
        return self._numbers(self._find(fp, table), table)

    def _numbers(self, at: NDArray[np.int64], table: str) -> NDArray[np.int64]:
        """The documents of entries ``at`` of ``table`` (-1 where ``at`` is)."""
        order = self.optional(f"{table}order", np.int64)
        return np.where(at >= 0, order[np.maximum(at, 0)] if order.shape[0] else -1, -1)

    def lookup_text(self, fp: NDArray[np.uint64]) -> tuple[NDArray[Any], ...]:
        """For whole-text fingerprints (rows of 2): (index-wide number or -1, similarity,
        containment, why), how each page found was decided when it was indexed. A
        segment written before those were kept answers exact copies."""
        at = self._find(fp, "tfp")
        number = self._numbers(at, "tfp")
        sim, cont = np.ones(fp.shape[0]), np.ones(fp.shape[0])
        why = np.full(fp.shape[0], WHY_EXACT, dtype=np.uint8)
        hit = np.flatnonzero(at >= 0)
        if hit.shape[0] and self.optional("tfpwhy", np.uint8).shape[0]:
            sim[hit] = self.array("tfpsim")[at[hit]]
            cont[hit] = self.array("tfpcont")[at[hit]]
            why[hit] = self.array("tfpwhy")[at[hit]]
        return number, sim, cont, why

    def _find(self, fp: NDArray[np.uint64], table: str) -> NDArray[np.int64]:
        """The entry of each fingerprint in the sorted ``table``, or -1."""
        key, sub = self.optional(f"{table}key", np.uint64), self.optional(f"{table}sub",
                                                                         np.uint64)
        return pair_lookup(fp, key, sub)

    def shingles(self, local: NDArray[np.int64]) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
        """Return the distinct, sorted shingle sets of ``local`` documents, flat with
        offsets (stored as sketched; made distinct here, for the few read)."""
        from thresher.core.verify import distinct_sets

        flat, offsets = self._raw_shingles(local)
        return distinct_sets(flat, offsets)

    def _raw_shingles(self, local: NDArray[np.int64]
                      ) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
        sh, shoff = self.array("sh"), self.array("shoff")
        counts = shoff[local + 1] - shoff[local]
        offsets = np.zeros(local.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.concatenate([np.asarray(sh[a:b]) for a, b in
                               zip(shoff[local].tolist(), shoff[local + 1].tolist(),
                                   strict=True)]) if local.shape[0] else \
            np.zeros(0, dtype=np.uint32)
        return flat.astype(np.uint32, copy=False), offsets

    def batch_of(self, local: NDArray[np.int64]) -> NDArray[np.int64]:
        """The batch that added each of ``local`` (a merged segment holds several)."""
        batches = self.optional("batch", np.int64)
        if batches.shape[0]:
            return np.asarray(batches[local], dtype=np.int64)
        return np.full(np.shape(local), self.batch, dtype=np.int64)

    def table(self, columns: list[str] | None = None) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(self.path / "docs.parquet", columns=columns)


def fence_of(keys: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Every ``FENCE``-th of the sorted ``keys``, from the first."""
    return np.ascontiguousarray(keys[::FENCE])


def fence_writer(path: Path) -> None:
    """Write the fence of the segment's keys, already written beside ``path``."""
    np.save(path, fence_of(np.load(path.with_name("keys.npy"), mmap_mode="r")),
            allow_pickle=False)


def open_segments(path: str | Path, entries: tuple[tuple[str, int, int, int], ...]
                  ) -> list[Segment]:
    """Segments named by (name, batch, documents, first number): a snapshot handed to tasks.

    ``path`` is the index folder, or the URL :func:`thresher.index.shipped.ship` gave."""
    if remote.is_remote(path):  # shipped through a work folder at a URL (``shipped.py``)
        from thresher.index.shipped import fetched

        return [Segment(path=fetched(str(path), name), name=name, batch=batch, docs=docs,
                        first=first) for name, batch, docs, first in entries]
    root = Path(path) / "segments"
    return [Segment(path=root / name, name=name, batch=batch, docs=docs, first=first)
            for name, batch, docs, first in entries]


def site_stats(segments: list[Segment], keys: NDArray[np.uint64], ghash: NDArray[np.uint64]
               ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The indexed batches' site statistics summed: for each site block key, the pages that
    held it (0 where none did), and for each site hash, its pages."""
    counts = np.zeros(keys.shape[0], dtype=np.int64)
    pages = np.zeros(ghash.shape[0], dtype=np.int64)
    for seg in segments:
        counts += sorted_lookup(keys, np.asarray(seg.array("tkeys")),
                                np.asarray(seg.array("tcounts")), default=0)
        pages += sorted_lookup(ghash, np.asarray(seg.array("gkeys")),
                               np.asarray(seg.array("gpages")), default=0)
    return counts, pages


def summed_site_tables(segments: list[Segment]) -> dict[str, NDArray[Any]]:
    """The segments' site statistics as one table each (keys sorted, counts summed): what
    :func:`site_stats` sums, for an open index that answers many lone queries."""
    out: dict[str, NDArray[Any]] = {}
    for keys_name, counts_name in (("tkeys", "tcounts"), ("gkeys", "gpages")):
        out[keys_name], out[counts_name] = summed_counts(
            [np.asarray(seg.array(keys_name)) for seg in segments],
            [np.asarray(seg.array(counts_name)) for seg in segments])
    return out


def summed_counts(keys: list[NDArray[Any]], counts: list[NDArray[Any]]
            ) -> tuple[NDArray[Any], NDArray[Any]]:
    """Distinct keys, sorted, each with its counts summed."""
    both = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
    unique, at = np.unique(both, return_inverse=True)
    summed = np.zeros(unique.shape[0], dtype=counts[0].dtype if counts else np.int64)
    if counts:
        np.add.at(summed, at, np.concatenate(counts))
    return unique, summed
