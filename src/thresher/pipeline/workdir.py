"""The work folder: stage artifacts, completion markers, and what makes them stale.

Layout (``FORMAT`` is bumped whenever an artifact's layout changes)::

    WORK/run.json                       format, thresher version, results fingerprint
    WORK/read/NNNNN.meta.parquet        per record: id, file, line, url, length, bytes, reason
    WORK/read/NNNNN.{sig,fp,mode,sh,shoff}.npy
                                        signatures (n, num_perm) uint32, fingerprints (n, 2)
                                        uint64, shingle mode uint8, shingle hashes uint32
                                        flat with int64 offsets (n + 1)
    WORK/index/*.npy                    global arrays: status, rank, exact leader
    WORK/lsh/band-NNN.npy               candidate pairs of one band, (lo << 32) | hi
    WORK/verify/cand.npy, chunk-NNNNN.npy
                                        distinct candidate pairs and their Jaccard
    WORK/cluster/*.npy                  representative, similarity, match kind per record
    WORK/<stage>/<task>.done            JSON: the task's statistics; written last

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
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)

    def remove(self) -> None:
        """Delete the whole work folder."""
        shutil.rmtree(self.root, ignore_errors=True)
