"""A unit of a run's work over its inputs: a file, a group of ``.txt`` files, or a part
of a large file (``io/sources.py`` makes them, ``io/ranges.py`` cuts large files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Kind", "Shard"]

Kind = Literal["txt", "jsonl", "parquet", "arrow", "warc", "wet"]


@dataclass(frozen=True, kw_only=True)
class Shard:
    """A unit of work: one JSONL, Parquet or Arrow file, or a group of ``.txt`` files."""

    index: int
    kind: Kind
    files: tuple[str, ...]
    names: tuple[str, ...]  # paths relative to the input folder (the ids of .txt files)
    prefix: str = ""  # put before names in the output folder when there are several inputs
    start: int = 0  # a part of a large file: byte range (plain JSONL), row groups (Parquet)
    stop: int | None = None
    first_line: int = 1  # line number of the range's first line
    # why files of the input found beside this shard's were passed over (the read stage
    # counts them with its skipped records)
    passed_over: tuple[str, ...] = ()
    # a data file of a ``datasets`` save_to_disk folder inside an input folder: the write
    # stage gives its kept folder the dataset's state files too (io/hfdisk.py)
    dataset: bool = False
    # an object at a URL cut into ranges: its version (ETag) when the run listed it, which
    # every task that fetches it checks, so no output mixes two versions (io/ranges.py)
    version: str = ""

    @property
    def whole(self) -> bool:
        """True if the shard is a whole file (or a group of whole files)."""
        return self.start == 0 and self.stop is None
