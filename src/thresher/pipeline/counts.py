"""Typed statistics: what a stage's task returns, its ``.done`` marker holds, and the
runner adds up.

Each stage has a :class:`Counts` subclass, a frozen keyword-only dataclass of its
counters; ``a + b`` adds two of one kind field by field, and ``Kind.total(results)`` adds
a stage's per-task results (:func:`sum` works too). A marker is the counts as JSON with
sorted keys; reading it back takes the fields it names and leaves the others at zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

__all__ = ["AnnotateCounts", "ArticleCounts", "BucketCounts", "ClusterCounts",
           "ComponentCounts", "ContentCounts", "Counts", "EdgeCounts", "GroupCounts",
           "IndexCounts", "KeyCounts", "MergeCounts", "PairCounts", "ReadCounts",
           "SizeCounts", "TemplateCounts", "WriteCounts"]


def _add(a: Any, b: Any) -> Any:
    """``a + b`` for one field: numbers summed, sequences element by element (an empty
    one counts as zeros), mappings key by key (keys in the order first seen), texts kept
    where they agree."""
    if isinstance(a, Mapping):
        return {k: _add(a[k], b[k]) if k in a and k in b else a[k] if k in a else b[k]
                for k in [*a, *(k for k in b if k not in a)]}
    if isinstance(a, tuple | list):
        if not a or not b:
            return tuple(a or b)
        if len(a) != len(b):
            raise ValueError(f"cannot add sequences of {len(a)} and {len(b)} values")
        return tuple(_add(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) or isinstance(b, str):
        if a != b:
            raise ValueError(f"cannot add the texts {a!r} and {b!r}")
        return a
    return a + b


def _frozen(value: Any) -> Any:
    """A JSON value as a field holds it: lists become tuples."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    """A field's value as JSON gives it back: tuples become lists."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Counts:
    """A stage's counters. Subclasses declare fields with zero defaults."""

    def __add__(self, other: Self) -> Self:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(**{f.name: _add(getattr(self, f.name), getattr(other, f.name))
                             for f in dataclasses.fields(self)})

    def __radd__(self, other: object) -> Self:
        if isinstance(other, int) and other == 0:  # sum()'s start
            return self
        return NotImplemented

    @classmethod
    def total(cls, results: object) -> Self:
        """The sum of a stage's per-task results (a list), each of this kind (zero if
        none)."""
        if not isinstance(results, list | tuple):
            raise TypeError(f"expected a list of {cls.__name__}, got {type(results).__name__}")
        out = cls()
        for r in results:
            out = out + cls.of(r)
        return out

    @classmethod
    def of(cls, result: object) -> Self:
        """``result`` (a global stage's), checked to be of this kind."""
        if not isinstance(result, cls):
            raise TypeError(f"expected {cls.__name__}, got {type(result).__name__}")
        return result

    def to_json(self) -> dict[str, Any]:
        """The counts as a marker holds them."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Counts read back from a marker (fields it does not name are zero)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: _frozen(v) for k, v in data.items() if k in names})


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReadCounts(Counts):
    """One shard read: records, how many were rejected, their texts' UTF-8 size, lines
    skipped by reason, and per file which named fields its records hold (``found``:
    file -> counts of ``object``, ``id``, ``url``, ``group``, ``mark``, ``key``, ``text``; only
    for a file with JSON objects or marked records)."""

    records: int = 0
    rejected: int = 0
    text_bytes: int = 0
    skipped: Mapping[str, int] = dataclasses.field(default_factory=dict)
    found: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # A marker names one file: {"file": path, "object": n, ...}, or {}.
        data = super().to_json()
        if len(self.found) > 1:
            raise ValueError("a read task's counts name one file")
        data["found"] = next(({"file": path, **counts} for path, counts in self.found.items()),
                             {})
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        found = dict(data.get("found") or {})
        path = found.pop("file", None)
        counts = super().from_json({k: v for k, v in data.items() if k != "found"})
        return dataclasses.replace(counts, found={} if path is None else {path: found})


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArticleCounts(Counts):
    """One partition of sites: documents counted, and those joined to an article."""

    documents: int = 0
    joined: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class TemplateCounts(Counts):
    """One partition of site blocks: blocks counted, repeated ones, passes taken."""

    blocks: int = 0
    repeated: int = 0
    passes: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class GroupCounts(Counts):
    """Site pages counted: groups, the largest's pages, the scope of the site evidence
    (:func:`~thresher.core.scope.scope_counts`)."""

    groups: int = 0
    largest: int = 0
    scope: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContentCounts(Counts):
    """One shard's content found: records, and the characters of its blocks and of the
    content kept of them."""

    records: int = 0
    block_chars: int = 0
    content_chars: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class IndexCounts(Counts):
    """The record index: records, repeated ids, members of exact-copy groups."""

    records: int = 0
    repeated_ids: int = 0
    exact_members: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyCounts(Counts):
    """One shard's band keys: the documents keyed."""

    documents: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class PairCounts(Counts):
    """Pairs found (an LSH partition), verified (a chunk) or written (``pairs.parquet``)."""

    pairs: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class MergeCounts(Counts):
    """The distinct candidate pairs."""

    candidates: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class EdgeCounts(Counts):
    """One chunk of verified pairs: the matches, and the pairs accepted and rejected in
    equal bins of similarity over [0, 1]."""

    edges: int = 0
    accepted: tuple[int, ...] = ()
    rejected: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComponentCounts(Counts):
    """The connected components: documents, rounds taken, components."""

    documents: int = 0
    rounds: int = 0
    components: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class BucketCounts(Counts):
    """One bucket of components clustered: documents, duplicates found."""

    documents: int = 0
    duplicates: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClusterCounts(Counts):
    """The clusters collected: candidates, and verified matches."""

    candidates: int = 0
    verified: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class WriteCounts(Counts):
    """A write-stage task: a shard's kept records written, ``pairs.parquet``'s pairs,
    or the decisions (the kept texts' UTF-8 size, wall and CPU seconds)."""

    written: int = 0
    pairs: int = 0
    kept_bytes: int = 0
    seconds: float = 0.0
    cpu: float = 0.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class SizeCounts(Counts):
    """Cluster sizes counted: the clusters with duplicates."""

    clusters: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnnotateCounts(Counts):
    """One input file annotated: records written of those it holds."""

    written: int = 0
    records: int = 0
