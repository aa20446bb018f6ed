"""The persistent index on disk: immutable segments listed by a manifest (LSM-style).

Layout::

    INDEX/manifest.json          format, the config the index was built with, the segments
    INDEX/segments/seg-NNNNNN/   one per batch added (none for a batch that brings nothing),
                                 never changed once listed:
        keys.npy, kdocs.npy      band keys (every band, and the title band) sorted, with
                                 the segment-local document of each
        kfence.npy               every FENCE-th key: a lookup searches this small table,
                                 then one page of keys (not a dozen cold pages)
        fp.npy                   content fingerprints (n, 2)
        fpkey, fpsub, fporder    the same sorted (both halves) and their documents
        tfpkey, tfpsub, tfporder the batch's whole-text fingerprints, sorted, with the
                                 index-wide number of the indexed page each stands for
                                 (matching on content: a page crawled again unchanged
                                 is found whatever its cleaning makes of it next time)
        tfpsim, tfpcont, tfpwhy  and how the page was decided against that one: an exact
                                 copy (itself, when kept), or a near, partial or title
                                 duplicate with its similarity and containment
        sh.npy, shoff.npy        distinct content shingles, flat, with offsets (n + 1)
        site.npy, title.npy      site and title keys (the matching rules between pages)
        head.npy                 headline keys (any site); a segment written before they
                                 were kept has none: its pages have no headline
        span.npy                 each document's content span in its text
        tkeys.npy, tcounts.npy   the batch's site statistics: block keys on two or more
        gkeys.npy, gpages.npy    pages and their counts, pages per site
        docs.parquet             id, url, file, line of every document (zstd)
    INDEX/lock                   held by the one writer

Why segments (``bench/index_store.py``, docs/persistent-index.md): adding is a sort and a few sequential
writes, far faster than inserting row by row into SQLite or LMDB, and a reader needs no
lock at all: it reads the manifest once and opens the segments it lists, which never
change. A writer builds its segment under a temporary name, fsyncs it, renames it into
place, then replaces the manifest atomically: a writer killed at any point leaves the
index as it was (its half-built segment is not listed, and the next writer removes it)
or with the whole batch.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher._version import __version__
from thresher.errors import ConfigError, StageError
from thresher.executors import thread_pool
from thresher.index.merging import merged_arrays
from thresher.index.segment import Segment

__all__ = ["FORMAT", "IndexStore", "SegmentWriter"]

FORMAT = 1
RUNS_KEPT = 256  # the last runs' tokens, so that a run killed after its commit resumes
RETIRED_SECONDS = 600  # how long a merged-away segment stays for readers still using it
ARRAYS = ("keys", "kfence", "kdocs", "fp", "fpkey", "fpsub", "fporder", "sh", "shoff", "site",
          "title", "head", "span", "tkeys", "tcounts", "gkeys", "gpages")
# The names thresher gives segments: seg-BATCH, and seg-BATCH-X-RANDOM for a merged one
# (X: the last part of the second segment's name). A manifest naming anything else could
# make readers and writers reach outside the index folder (``../``), so it is refused.
_SEGMENT_NAME = re.compile(r"seg-[0-9]{6,}(?:-[0-9a-f]{6,}-[0-9a-f]{6})?")


def _fsync(path: Path) -> None:
    """Flush a file or a folder (its entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _fsync(target.parent)


# What a batch may bring besides its documents: the whole texts' fingerprints of its
# duplicates, its site statistics (block keys, pages per site).
_CARRIED = ("tfpkey", "tkeys", "gkeys")


class SegmentWriter:
    """A segment being written under a temporary name in ``segments/``, a file at a time
    as its data comes: a file the caller streams (the shingle sets, the largest) is written
    by a thread of its own, meanwhile, and each file is flushed to the disk by another as
    soon as it is written. :meth:`finish` makes sure all are on the disk; the folder is
    then named by :meth:`IndexStore.commit`. A writer killed before leaves a temporary
    folder, which the next one removes."""

    def __init__(self, segments: Path) -> None:
        self.tmp = segments / f".tmp-{uuid.uuid4().hex}"
        self.tmp.mkdir()
        self._syncer = thread_pool(1)
        self._streamer = thread_pool(1)
        self._synced: list[Future[None]] = []
        self._streamed: list[tuple[Future[None], Path]] = []

    def stream(self, key: str, write: Callable[[Path], None]) -> None:
        """Have ``write(path)`` write ``key``'s file on the streaming thread, from now."""
        path = self.tmp / f"{key}.npy"
        self._streamed.append((self._streamer.submit(write, path), path))

    def save(self, key: str, array: NDArray[Any]) -> None:
        path = self.tmp / f"{key}.npy"
        # C order always, as np.save writes a Fortran-ordered array otherwise
        np.save(path, array if array.flags.c_contiguous else array.copy(order="C"))
        self._synced.append(self._syncer.submit(_fsync, path))

    def finish(self, docs: Any) -> Path:
        """Write the documents' table; return the folder once every file is on the disk."""
        import pyarrow.parquet as pq

        try:
            # zstd level 1: smaller than snappy, as quick to write
            pq.write_table(docs, self.tmp / "docs.parquet", use_dictionary=["file"],
                           compression="zstd", compression_level=1)
            self._synced.append(self._syncer.submit(_fsync, self.tmp / "docs.parquet"))
            for written, path in self._streamed:
                written.result()
                self._synced.append(self._syncer.submit(_fsync, path))
            for done in self._synced:
                done.result()
        finally:
            self._close()
        _fsync(self.tmp)
        return self.tmp

    def abandon(self) -> None:
        """Give the segment up: wait for its threads, remove its folder."""
        self._close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _close(self) -> None:
        self._streamer.shutdown()
        self._syncer.shutdown()


class IndexStore:
    """A persistent index folder. Readers need no lock; one writer at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------ create and read
    @classmethod
    def create(cls, path: str | Path, config: dict[str, Any]) -> IndexStore:
        """Create an empty index built with ``config`` (the options that shape matching)."""
        store = cls(path)
        if (store.path / "manifest.json").exists():
            raise ConfigError(f"{store.path} is already a thresher index")
        if store.path.exists() and any(store.path.iterdir()):
            raise ConfigError(f"{store.path} exists and is not empty")
        (store.path / "segments").mkdir(parents=True, exist_ok=True)
        store._write_manifest({"format": FORMAT, "thresher": __version__,
                               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "config": config, "segments": [], "documents": 0,
                               "next_batch": 1})
        return store

    def manifest(self) -> dict[str, Any]:
        """Return the manifest: the index as of the last finished ``add``."""
        try:
            data: dict[str, Any] = json.loads((self.path / "manifest.json").read_text())
        except FileNotFoundError:
            raise ConfigError(f"{self.path} is not a thresher index (no manifest.json); "
                              "create one with: thresher index create PATH") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the index manifest in {self.path}: {exc}") from None
        if data.get("format") != FORMAT:
            raise ConfigError(f"{self.path} has index format {data.get('format')}; this "
                              f"thresher reads format {FORMAT}")
        self._check_segments(data.get("segments"))
        return data

    def _check_segments(self, entries: Any) -> None:
        """Refuse a manifest whose segment list thresher did not write (see
        ``_SEGMENT_NAME``): the first bad entry is named, on one line."""
        if not isinstance(entries, list):
            raise StageError(f"the manifest of the index {self.path} has no segment list "
                             f"(segments: {_shown(entries)}); the index is damaged")
        for entry in entries:
            ok = (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                  and _SEGMENT_NAME.fullmatch(entry["name"]) is not None
                  and all(type(entry.get(k)) is int and entry[k] >= 0
                          for k in ("batch", "docs")))
            if not ok:
                raise StageError(f"the manifest of the index {self.path} lists a segment "
                                 f"thresher does not write: {_shown(entry)} (a segment is "
                                 "named like seg-000001, with a batch and a document count); "
                                 "the index is damaged or was altered")

    def check_config(self, config: dict[str, Any]) -> None:
        """Refuse options that would match differently from those the index was built with."""
        built = self.manifest()["config"]
        diff = sorted(_differences(built, config))
        if diff:
            shown = "; ".join(f"{k}: index {a!r}, given {b!r}" for k, a, b in diff[:6])
            raise ConfigError(f"the index at {self.path} was built with other options "
                              f"({shown}); use the index's options or another index")

    def segments(self, manifest: dict[str, Any] | None = None) -> list[Segment]:
        """Return the segments of a manifest (the current one by default), in order."""
        m = manifest if manifest is not None else self.manifest()
        if manifest is not None:  # one given may come from elsewhere than manifest()
            self._check_segments(m["segments"])
        out, first = [], 0
        for s in m["segments"]:
            out.append(Segment(path=self.path / "segments" / s["name"], name=s["name"],
                               batch=int(s["batch"]), docs=int(s["docs"]), first=first))
            first += int(s["docs"])
        return out

    # ------------------------------------------------------------ write
    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the index's writer lock; remove what a killed writer left."""
        self.manifest()  # it is an index
        with open(self.path / "lock", "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(f"another thresher is adding to {self.path}; wait for it "
                                  "to finish") from None
            try:
                self._remove_orphans()
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _remove_orphans(self) -> None:
        manifest = self.manifest()
        listed = {s["name"] for s in manifest["segments"]}
        # Segments merged away stay a while for readers that opened the index before.
        now = time.time()
        keep = {name for name, when in manifest.get("retired", {}).items()
                if now - when < RETIRED_SECONDS}
        for child in (self.path / "segments").iterdir():
            if child.name not in listed and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
        for child in self.path.glob(".manifest.json.tmp-*"):
            child.unlink(missing_ok=True)

    def commit(self, arrays: dict[str, Any], docs: Any, info: dict[str, Any],
               *, token: str = "", segment: SegmentWriter | None = None) -> dict[str, Any]:
        """Add one batch as a new segment and list it (call within :meth:`writer`).

        ``arrays`` holds ``ARRAYS`` for the batch's documents (segment-local numbering),
        ``docs`` their table (id, url, file, line). ``token`` names the run that adds
        it (see :meth:`committed`). ``segment``: one begun already with
        :meth:`new_segment` (files streamed early), to which ``arrays`` are added.
        Returns the new manifest. A batch that brings the index nothing (no document,
        no whole-text fingerprint, no site statistics: everything rejected, or an empty
        input) is listed with its token, so that its run is known as done, but gets no
        segment: an empty one would only cost every later lookup a search.
        """
        manifest = self.manifest()
        batch = int(manifest["next_batch"])
        n = int(docs.num_rows)
        if n == 0 and all(int(getattr(arrays.get(k), "size", 0)) == 0 for k in _CARRIED):
            if segment is not None:
                segment.abandon()
        else:
            tmp = self._written(arrays, docs, segment)
            name = f"seg-{batch:06d}"
            self._name_segment(tmp, name)
            manifest["segments"].append({"name": name, "batch": batch, "docs": n, **info})
        manifest["documents"] = int(manifest["documents"]) + n
        manifest["next_batch"] = batch + 1
        if token:  # listed with the batch, in the same atomic replacement
            runs = {**manifest.get("runs", {}), token: batch}
            manifest["runs"] = dict(sorted(runs.items(), key=lambda kv: kv[1])[-RUNS_KEPT:])
        self._write_manifest(manifest)
        while len(manifest["segments"]) > self.max_segments:
            manifest = self._merge_smallest(manifest)
        return manifest

    def committed(self, token: str) -> int | None:
        """The batch that the run named ``token`` added, if the index lists it."""
        batch = self.manifest().get("runs", {}).get(token)
        return None if batch is None else int(batch)

    max_segments = 8  # more are merged, two neighbours at a time, the smallest pair first

    def new_segment(self) -> SegmentWriter:
        """Begin a segment (see :class:`SegmentWriter`), for :meth:`commit`."""
        return SegmentWriter(self.path / "segments")

    def _written(self, arrays: dict[str, Any], docs: Any,
                 segment: SegmentWriter | None = None) -> Path:
        """Write ``arrays`` (a callable is streamed: it writes its file itself) and
        ``docs`` into a segment (``segment``, or a new one); return its folder, every
        file on the disk (on failure the segment is given up)."""
        segment = segment or self.new_segment()
        try:
            for key, value in arrays.items():
                if callable(value):
                    segment.stream(key, value)
                else:
                    segment.save(key, value)
            return segment.finish(docs)
        except BaseException:
            segment.abandon()
            raise

    def _name_segment(self, tmp: Path, name: str) -> None:
        os.rename(tmp, self.path / "segments" / name)
        _fsync(self.path / "segments")

    def _merge_smallest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Merge the two neighbouring segments with the fewest documents into one.

        Neighbours keep every document's index-wide number (numbers follow the manifest's
        order), so nothing that points into the index changes. The merged segment is
        listed in place of the two by one atomic manifest replacement.
        """
        import pyarrow as pa

        entries = manifest["segments"]
        k = min(range(len(entries) - 1),
                key=lambda i: (entries[i]["docs"] + entries[i + 1]["docs"], i))
        a, b = self.segments(manifest)[k:k + 2]
        arrays = merged_arrays(a, b)
        docs = pa.concat_tables([a.table(), b.table()])
        name = f"seg-{a.batch:06d}-{b.name.rsplit('-', 1)[-1]}-{uuid.uuid4().hex[:6]}"
        self._name_segment(self._written(arrays, docs), name)
        batches = sorted(set(entries[k].get("batches", [entries[k]["batch"]]))
                         | set(entries[k + 1].get("batches", [entries[k + 1]["batch"]])))
        merged = {"name": name, "batch": batches[0], "batches": batches,
                  "docs": a.docs + b.docs}
        retired = dict(manifest.get("retired", {}))
        retired.update({entries[k]["name"]: time.time(), entries[k + 1]["name"]: time.time()})
        manifest = {**manifest, "segments": [*entries[:k], merged, *entries[k + 2:]],
                    "retired": retired}
        self._write_manifest(manifest)
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        _write_atomically(self.path / "manifest.json",
                          json.dumps(manifest, indent=1, sort_keys=True).encode())

    # ------------------------------------------------------------ stats
    def stats(self) -> dict[str, Any]:
        """What the index holds: documents, batches, disk, the options it was built with."""
        m = self.manifest()
        listed = {s["name"] for s in m["segments"]}
        disk = retired = 0
        for f in self.path.rglob("*"):
            if f.is_file():
                size = f.stat().st_size
                disk += size
                part = f.relative_to(self.path).parts
                if len(part) > 2 and part[0] == "segments" and part[1] not in listed:
                    retired += size  # merged away, kept a while for readers
        docs = int(m["documents"])
        live = disk - retired
        return {"path": str(self.path), "documents": docs,
                "batches": int(m["next_batch"]) - 1, "segment_count": len(m["segments"]),
                "disk_bytes": disk, "retired_bytes": retired,
                "bytes_per_document": round(live / docs, 1) if docs else None,
                "created": m.get("created"), "thresher": m.get("thresher"),
                "segments": [{k: s[k] for k in ("name", "batch", "docs")} for s in m["segments"]],
                "config": m["config"]}


def _shown(value: Any, limit: int = 200) -> str:
    """``value`` as JSON on one line, cut at ``limit`` characters."""
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def _differences(a: Any, b: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from _differences(a.get(key), b.get(key), f"{prefix}{key}.")
    elif a != b:
        yield prefix.rstrip("."), a, b
