"""The work folder: stage artifacts, completion markers, and what makes them stale.

Layout (``FORMAT`` is bumped whenever an artifact's layout changes)::

    WORK/run.json                       format, thresher version, results fingerprint
    WORK/read/NNNNN.meta.parquet        per record: id, file, line, url, length, bytes, reason
    WORK/read/NNNNN.{sig,fp,mode,sh,shoff}.bin
                                        raw little-endian arrays, appended batch by batch:
                                        signatures (n, num_perm) uint32, fingerprints (n, 2)
                                        uint64, shingle mode uint8, shingle hashes uint32
                                        flat with int64 offsets (n + 1); the row count is
                                        the file size over the row size
    WORK/index/*.npy                    per record: usable (bool), rank; sparse: exact copies
                                        and their group leader, repeated ids and the first
    WORK/lsh/band-NNN.npy               candidate pairs of one band, (lo << 32) | hi
    WORK/verify/cand.npy, chunk-NNNNN.npy
                                        distinct candidate pairs and their Jaccard
    WORK/cluster/dup_*.npy              one row per duplicate, sorted by record: its
                                        representative, similarity, kind, exact-group leader
    WORK/<stage>/<task>.done            JSON: the task's statistics; written last
    WORK/<stage>/<task>.progress        records done so far, for the progress display only

An artifact counts only once its ``.done`` marker exists; every file is written under a
temporary name and renamed, so a killed run leaves no file that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FORMAT", "WorkDir"]

FORMAT = 1


def _replace_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)


class _Appender:
    """Appends arrays to a raw file written under a temporary name until closed."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed by close()

    def write(self, array: NDArray[Any]) -> None:
        """Append the array's bytes (little-endian, C order)."""
        self.fh.write(np.ascontiguousarray(array).tobytes())

    def close(self) -> None:
        """Finish the file and move it into place."""
        self.fh.close()
        os.replace(self.tmp, self.target)


class WorkDir:
    """A run's work folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def prepare(self, fingerprint: dict[str, Any]) -> bool:
        """Make the folder ready for a run; return True if earlier work is reused.

        Work from a run with another fingerprint (options, inputs, version) is removed.
        """
        meta = {"format": FORMAT, **fingerprint}
        run_file = self.root / "run.json"
        if run_file.exists():
            try:
                same = json.loads(run_file.read_text()) == meta
            except (OSError, ValueError):
                same = False
            if same:
                return True
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        _replace_atomically(run_file, json.dumps(meta, sort_keys=True).encode())
        return False

    def path(self, stage: str, name: str) -> Path:
        """Return the path of artifact ``name`` of ``stage``, creating the stage folder."""
        folder = self.root / stage
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def done(self, stage: str, task: str) -> dict[str, Any] | None:
        """Return the statistics of a finished task, or None if it has not finished."""
        marker = self.root / stage / f"{task}.done"
        try:
            return dict(json.loads(marker.read_text()))
        except (OSError, ValueError):
            return None

    def mark_done(self, stage: str, task: str, stats: dict[str, Any]) -> None:
        """Record that a task finished, with its statistics."""
        _replace_atomically(self.path(stage, f"{task}.done"),
                            json.dumps(stats, sort_keys=True).encode())

    def save(self, stage: str, name: str, array: NDArray[Any]) -> None:
        """Write an array artifact atomically."""
        target = self.path(stage, f"{name}.npy")
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}.npy")
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, target)

    def load(self, stage: str, name: str, *, mmap: bool = False) -> NDArray[Any]:
        """Read an array artifact, memory-mapped if asked."""
        path = self.root / stage / f"{name}.npy"
        array: NDArray[Any] = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        return array

    def write_progress(self, stage: str, task: str, count: int) -> None:
        """Record how many units a running task has done (read by the progress display)."""
        _replace_atomically(self.path(stage, f"{task}.progress"), str(count).encode())

    def progress_total(self, stage: str) -> int:
        """Return the units done so far by all tasks of ``stage``."""
        total = 0
        for path in (self.root / stage).glob("*.progress"):
            try:
                total += int(path.read_text() or 0)
            except (OSError, ValueError):
                continue  # being replaced right now; the next poll sees it
        return total

    def appender(self, stage: str, name: str) -> _Appender:
        """Return a writer that appends arrays to the raw artifact ``name`` of ``stage``."""
        return _Appender(self.path(stage, f"{name}.bin"))

    def load_raw(self, stage: str, name: str, dtype: type[Any], width: int = 0) -> NDArray[Any]:
        """Memory-map a raw artifact as rows of ``width`` values (a flat array if 0)."""
        path = self.root / stage / f"{name}.bin"
        itemsize = np.dtype(dtype).itemsize * max(width, 1)
        rows = path.stat().st_size // itemsize
        if rows == 0:
            return np.zeros((0, width) if width else 0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=(rows, width) if width else (rows,))

    def remove(self) -> None:
        """Delete the whole work folder."""
        shutil.rmtree(self.root, ignore_errors=True)
