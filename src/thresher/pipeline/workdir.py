"""The work folder: stage artifacts, completion markers, and what makes them stale.

Layout (``FORMAT`` is bumped whenever an artifact's layout changes)::

    WORK/.thresher-work                 marks a folder thresher made (it deletes only there)
    WORK/run.json                       format, thresher version, results fingerprint
    WORK/read/NNNNN.meta.parquet        per record: id, file, line, url, length, bytes, reason,
                                        id_generated, sort_key (--keep's value, or NaN)
    WORK/read/NNNNN.docs.parquet        WARC and WET: per document what extraction found and
                                        its record's byte span in the file (offset, end)
    WORK/read/NNNNN.{sig,fp,mode,sh,shoff}.bin
                                        raw little-endian arrays, appended batch by batch:
                                        signatures (n, bands x rows: the values the LSH
                                        bands use) uint32, fingerprints (n, 2)
                                        uint64, shingle mode uint8, shingle hashes uint32
                                        flat with int64 offsets (n + 1); the row count is
                                        the file size over the row size
    WORK/read/NNNNN.{text,doc,ghash,first,bpos,bsite,bstat,bword,blkPP,grp,art,asig}.bin
                                        content matching, what pass one keeps for pass
                                        two: the usable texts as UTF-8, each followed by a
                                        newline; per record (usable, bytes, blocks, code
                                        points) int64, its site and its first block's key
                                        uint64; per block its
                                        place (code points, bytes) int64 (m, 4), site key
                                        uint64, counts int32 (m, 18), word features float64
                                        (m, 2); (key, document) pairs by partition, and
                                        (site, document) pairs, for the template counts
                                        (a document key: its fingerprint mixed with its
                                        site); per counted document (site, title lead,
                                        page lead, document) uint64 and 16 min-hashes of
                                        its long blocks uint32, for the articles stage;
                                        the first eight go once the shard's content task is
                                        done
    WORK/articles/map-PP.npy            (document, article) uint64 rows, sorted: the
                                        documents of partition PP's sites that are crawls
                                        of a larger article
    WORK/content/NNNNN.{sig,fp,mode,sh,shoff,span,site,title,head,page}.bin
                                        content matching: the content's sketch, as in read/,
                                        and per record its span, site, title, headline and
                                        page key
    WORK/index/*.npy                    per record: usable (bool), rank, priority (--keep
                                        other than connected); sparse: exact copies and
                                        their group leader, repeated ids and the first
    WORK/keys/NNNNN.pPPPP.bin           a shard's band keys in key range PPPP: rows of
                                        (band << 32 | record, key) uint64, band by band
    WORK/lsh/band-NNN.npy               candidate pairs of one band, (lo << 32) | hi
    WORK/verify/cand.npy, chunk-NNNNN.npy
                                        distinct candidate pairs and their Jaccard
    WORK/cluster/edges-NNNNN.npy, e*-NNNNN.npy
                                        a verified chunk's matches: the pairs, similarity,
                                        containment, why, and which way each may go (eway)
    WORK/cluster/dup_*.npy              one row per duplicate, sorted by record: its
                                        representative, similarity, kind, exact-group leader
    WORK/sizes/{rep,count}.npy          --annotate: each representative with duplicates, and
                                        how many
    WORK/<stage>/<task>.done            JSON: the task's statistics; written last
    WORK/<stage>/<task>.progress        records done so far, for the progress display only
    WORK/<stage>/<task>.attempt-UUID    empty: one per attempt at the task (run.reruns)

An artifact counts only once its ``.done`` marker exists; every file is written under a
temporary name and renamed, so a killed run leaves no file that looks complete.

The folder is a local path (shared between nodes by a network file system for a Ray
cluster) or an fsspec URL (``s3://bucket/run``, ``gs://...``, ``file:///...``; needs
``pip install 'thresher[remote]'`` and the protocol's own package, such as s3fs). On a
URL, files are written whole (a local temporary file uploaded when complete) and read
whole instead of memory-mapped, so a task's memory holds the artifacts it reads.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from thresher.errors import ConfigError
from thresher.io.atomic import atomic_path, remove_temporaries, write_atomically
from thresher.pipeline.counts import Counts
from thresher.pipeline.graph import STAGES as REGISTRY
from thresher.pipeline.workfiles import Appender, ParquetAppender

__all__ = ["FORMAT", "WorkDir", "is_url"]

C = TypeVar("C", bound=Counts)

PROGRESS_EVERY = 0.25  # seconds between a task's progress notes

RUN_FILE = "run.json"  # the identity of the run whose artifacts the folder holds
MARKER = ".thresher-work"  # written when thresher makes the folder its own
# Every stage folder a run may write: a discarded run's are deleted by these names.
STAGES = tuple(REGISTRY)

# 2: pass one keeps the texts and their blocks for pass two; 3: signatures keep the bands'
# values only, band key rows pack the band with the record; 4: WARC and WET documents keep
# their record's end; 5: verified matches carry which way each may go (eway); 6: pass
# one keeps what tells crawls of one article apart; 7: the meta table's sort_key
# (--keep); 8: the content stage keeps each record's headline key
FORMAT = 8


def is_url(location: str | Path) -> bool:
    """Return whether a work folder is given as an fsspec URL rather than a local path."""
    return "://" in str(location)


class WorkDir:
    """A run's work folder: a local path or an fsspec URL."""

    def __init__(self, root: str | Path) -> None:
        self.url = is_url(root)
        self.root: Any = str(root) if self.url else Path(root)
        self.fs: Any = None
        self._progress_at: dict[tuple[str, str], float] = {}
        if self.url:
            try:
                import fsspec
            except ImportError as exc:
                raise ConfigError(f"a work folder at a URL ({root}) needs fsspec: "
                                  "pip install 'thresher[remote]'") from exc
            try:
                # no listings cache: the workers write where this process lists
                self.fs, base = fsspec.core.url_to_fs(str(root), use_listings_cache=False)
            except (ImportError, ValueError) as exc:
                raise ConfigError(f"cannot open the work folder {root}: {exc}") from exc
            self._base = str(base).rstrip("/")

    def _at(self, *parts: str) -> Any:
        """The location of a file: a local Path, or the path inside the fsspec file system."""
        if self.url:
            return "/".join((self._base, *parts))
        return self.root.joinpath(*parts)

    def _read_bytes(self, *parts: str) -> bytes:
        if self.url:
            return bytes(self.fs.cat_file(self._at(*parts)))
        return bytes(self._at(*parts).read_bytes())

    def _write_bytes(self, data: bytes, *parts: str) -> None:
        if self.url:
            self.fs.makedirs(self._at(*parts[:-1]), exist_ok=True)
            self.fs.pipe_file(self._at(*parts), data)
        else:
            self.root.joinpath(*parts[:-1]).mkdir(parents=True, exist_ok=True)
            write_atomically(self._at(*parts), data)

    def earlier(self) -> dict[str, Any] | None:
        """Return the fingerprint of the run that prepared this folder, if there is one."""
        try:
            meta = json.loads(self._read_bytes(RUN_FILE))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.pop("format", None) != FORMAT:
            return None
        return meta

    def prepare(self, fingerprint: dict[str, Any]) -> bool:
        """Make the folder ready for a run; return True if earlier work is reused.

        Work is reused only where ``run.json`` proves it is this run's (same options,
        inputs, version); anything else of thresher's in the folder is discarded. A
        folder thresher did not make (no marker) must be new or empty.
        """
        meta = {"format": FORMAT, **fingerprint}
        self._claim()
        try:
            same = json.loads(self._read_bytes(RUN_FILE)) == meta
        except (OSError, ValueError):
            same = False
        if same:
            self._remove_temporaries()
            return True
        self._discard()
        self._write_bytes(json.dumps(meta, sort_keys=True).encode(), RUN_FILE)
        return False

    def _claim(self) -> None:
        """Make the folder thresher's (a new or empty one), or check that it is."""
        if self._exists(MARKER):
            return
        found = self._names()
        if found is not None:  # what a claim cut short left: thresher's own
            found = [name for name in found if not name.startswith(MARKER)]
        if found is None:
            raise ConfigError(f"work folder {self.root} is not a folder")
        if found:
            raise ConfigError(f"work folder {self.root} holds files thresher did not write "
                              f"({', '.join(sorted(found)[:3])}); choose a new or empty "
                              "--work-dir")
        self._write_bytes(b"a thresher work folder: its runs delete what they wrote here\n",
                          MARKER)

    def _names(self) -> list[str] | None:
        """The entries of the folder ([] if it does not exist; None if it is a file)."""
        if self.url:
            if not self.fs.exists(self._base):
                return []
            if not self.fs.isdir(self._base):
                return None
            return [str(f).rstrip("/").rsplit("/", 1)[-1] for f in self.fs.ls(self._base)]
        if not self.root.exists():
            return []
        if not self.root.is_dir():
            return None
        return [p.name for p in self.root.iterdir()]

    def _exists(self, *parts: str) -> bool:
        if self.url:
            return bool(self.fs.exists(self._at(*parts)))
        return bool(self._at(*parts).exists())

    def _discard(self) -> None:
        """Delete what runs write here: the stage folders and the run's identity."""
        self._delete(RUN_FILE)
        for stage in STAGES:
            self._delete(stage)

    def _delete(self, name: str) -> None:
        target = self._at(name)
        if self.url:
            if self.fs.exists(target):
                self.fs.rm(target, recursive=True)
        elif target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)

    def _remove_temporaries(self) -> None:
        """Delete the half-written files of a killed attempt (local folders: a URL's
        files are uploaded whole)."""
        if not self.url:
            remove_temporaries(self.root)

    def path(self, stage: str, name: str) -> Path:
        """Return the local path of artifact ``name`` of ``stage``, creating the stage folder.

        Only for a local work folder; the methods below serve both kinds.
        """
        if self.url:
            raise RuntimeError("no local path in a work folder at a URL")
        folder = self.root / stage
        folder.mkdir(parents=True, exist_ok=True)
        return Path(folder / name)

    def done(self, stage: str, task: str, kind: type[C]) -> C | None:
        """Return the statistics of a finished task, of ``kind``, or None if it has not
        finished."""
        try:
            data = json.loads(self._read_bytes(stage, f"{task}.done"))
        except (OSError, ValueError):
            return None
        return kind.from_json(data) if isinstance(data, dict) else None

    def mark_done(self, stage: str, task: str, stats: Counts) -> None:
        """Record that a task finished, with its statistics."""
        self._write_bytes(json.dumps(stats.to_json(), sort_keys=True).encode(), stage,
                          f"{task}.done")

    def save(self, stage: str, name: str, array: NDArray[Any]) -> None:
        """Write an array artifact atomically."""
        if self.url:
            buf = io.BytesIO()
            np.save(buf, array, allow_pickle=False)
            self._write_bytes(buf.getvalue(), stage, f"{name}.npy")
            return
        target = self.path(stage, f"{name}.npy")
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)

    def load(self, stage: str, name: str, *, mmap: bool = False) -> NDArray[Any]:
        """Read an array artifact, memory-mapped if asked (and the folder is local)."""
        if self.url:
            loaded: NDArray[Any] = np.load(io.BytesIO(self._read_bytes(stage, f"{name}.npy")),
                                           allow_pickle=False)
            return loaded
        path = self.root / stage / f"{name}.npy"
        array: NDArray[Any] = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        return array

    def write_progress(self, stage: str, task: str, count: int) -> None:
        """Record how many units a running task has done (read by the progress display),
        at most every ``PROGRESS_EVERY`` seconds per task."""
        now = time.monotonic()
        if now - self._progress_at.get((stage, task), -PROGRESS_EVERY) < PROGRESS_EVERY:
            return
        self._progress_at[(stage, task)] = now
        self._write_bytes(str(count).encode(), stage, f"{task}.progress")

    def _glob(self, stage: str, pattern: str) -> list[str]:
        """The names of the files of ``stage`` that match ``pattern`` (none where the
        stage folder cannot be listed)."""
        if self.url:
            try:
                return [str(f).rsplit("/", 1)[-1]
                        for f in self.fs.glob(self._at(stage, pattern))]
            except OSError:
                return []
        return [p.name for p in (self.root / stage).glob(pattern)]

    def mark_attempt(self, stage: str, task: str) -> None:
        """Record that an attempt at ``task`` begins: an empty file of its own, so that
        attempts on several nodes at once never write one file."""
        self._write_bytes(b"", stage, f"{task}.attempt-{uuid.uuid4().hex}")

    def reruns(self, stage: str) -> int:
        """How many attempts at the tasks of ``stage`` came after a task's first: a
        worker or node lost (the executor ran the task again) or the run killed (a
        resumed run ran it again)."""
        tasks = Counter(name.rpartition(".attempt-")[0]
                        for name in self._glob(stage, "*.attempt-*"))
        return sum(count - 1 for count in tasks.values())

    def progress_total(self, stage: str) -> int:
        """Return the units done so far by all tasks of ``stage``."""
        total = 0
        names = self._glob(stage, "*.progress")
        for name in names:
            try:
                total += int(self._read_bytes(stage, name) or 0)
            except (OSError, ValueError):
                continue  # being replaced right now; the next poll sees it
        return total

    def appender(self, stage: str, name: str, suffix: str = ".bin") -> Appender:
        """Return a writer that appends arrays to the raw artifact ``name`` of ``stage``."""
        if not self.url:
            return Appender(self.path(stage, f"{name}{suffix}"))
        target = self._at(stage, f"{name}{suffix}")

        def upload(local: str) -> None:
            self.fs.makedirs(self._at(stage), exist_ok=True)
            self.fs.put_file(local, target)

        return Appender(Path(target), upload)

    def load_raw(self, stage: str, name: str, dtype: type[Any], *, width: int = 0) -> NDArray[Any]:
        """Memory-map a raw artifact as rows of ``width`` values (a flat array if 0)."""
        itemsize = np.dtype(dtype).itemsize * max(width, 1)
        if self.url:
            data = np.frombuffer(self._read_bytes(stage, f"{name}.bin"), dtype=dtype)
            rows = data.shape[0] * np.dtype(dtype).itemsize // itemsize
            return data.reshape((rows, width) if width else (rows,))
        path = self.root / stage / f"{name}.bin"
        rows = path.stat().st_size // itemsize
        if rows == 0:
            return np.zeros((0, width) if width else 0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=(rows, width) if width else (rows,))

    def parquet_writer(self, stage: str, name: str) -> ParquetAppender:
        """Return a Parquet writer for artifact ``name``, in place once closed."""
        return ParquetAppender(self.appender(stage, name, suffix=""))

    def write_parquet(self, stage: str, name: str, table: Any) -> None:
        """Write a Parquet artifact whole."""
        writer = self.parquet_writer(stage, name)
        writer.write_table(table)
        writer.close()

    def read_parquet(self, stage: str, name: str, columns: list[str] | None = None) -> Any:
        """Read a Parquet artifact (the named columns, or all)."""
        import pyarrow.parquet as pq

        if self.url:
            with self.fs.open(self._at(stage, name), "rb") as fh:
                return pq.read_table(fh, columns=columns)
        return pq.read_table(self.root / stage / name, columns=columns)

    def discard(self, stage: str, names: list[str], suffix: str = ".bin") -> None:
        """Delete artifacts no later stage reads (to free the space they hold)."""
        for name in names:
            if self.url:
                target = self._at(stage, f"{name}{suffix}")
                if self.fs.exists(target):
                    self.fs.rm(target)
            else:
                (self.root / stage / f"{name}{suffix}").unlink(missing_ok=True)

    def remove(self) -> None:
        """Delete what thresher wrote here, and the folder if nothing else is left.

        The run's identity goes first: a removal cut short leaves a folder that proves
        no run, which the next run discards instead of trusting its markers.
        """
        if not self._exists(MARKER):
            return  # not a folder thresher made: nothing here is its to delete
        self._discard()
        self._delete(MARKER)
        if self._names() == []:
            if self.url:
                if self.fs.exists(self._base):
                    self.fs.rm(self._base, recursive=True)
            else:
                self.root.rmdir()
