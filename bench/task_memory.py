"""Measure each stage task's peak memory on corpora of different sizes cut into shards of
one size: what a node needs per task, and whether it grows with the corpus.

Usage: python bench/task_memory.py [--docs 2000,8000] [--split-bytes 600000] [--url]

Generates each corpus with ``bench/gen_corpus.py``, runs ``dedup`` (content matching,
local executor, 2 workers; ``--url``: the work folder at a ``file://`` URL, read and
written whole as on an object store) with every heavy stage's task wrapped: the wrapper
resets its process's high-water mark of resident memory (``/proc/self/clear_refs``),
runs the task, and records the peak above the resident size it started from. Prints,
per corpus and stage, the tasks and the largest and median peak (MiB); and the work
folder's largest file per stage (what a task writes to local disk before uploading it,
on a URL). Linux only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Where each stage's task function is looked up when the plan is built.
STAGES: dict[str, tuple[str, str]] = {
    "read": ("thresher.pipeline.dedup", "read_stage_task"),
    "content": ("thresher.pipeline.stages.content", "content_task"),
    "keys": ("thresher.pipeline.stages.keys", "keys_task"),
    "lsh": ("thresher.pipeline.stages.lsh", "band_task"),
    "verify": ("thresher.pipeline.stages.verify", "verify_task"),
    "edges": ("thresher.pipeline.stages.edges", "edge_task"),
    "write": ("thresher.pipeline.run", "output_task"),
}
_REAL: dict[tuple[str, str], Callable[[Any], Any]] = {}  # the unwrapped functions


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


@dataclass(frozen=True)
class Peak:
    """A stage's task function that records its peak resident memory above its start."""

    module: str
    name: str
    stage: str
    notes: str  # folder of one JSON line per task

    def __call__(self, task: Any) -> Any:
        fn = getattr(importlib.import_module(self.module), self.name)
        if isinstance(fn, Peak):  # a forked worker inherits the patched module
            fn = _REAL[(self.module, self.name)]
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # the high-water mark starts again from the resident size
        start = _status("VmRSS")
        stats = fn(task)
        peak = _status("VmHWM") - start
        with open(os.path.join(self.notes, f"{self.stage}.jsonl"), "a") as fh:
            fh.write(json.dumps({"peak": peak, "pid": os.getpid()}) + "\n")
        return stats


@contextmanager
def measured(notes: Path, stages: list[str]) -> Iterator[None]:
    """Wrap the named stages' tasks in :class:`Peak` while the block runs."""
    notes.mkdir(parents=True, exist_ok=True)
    patched = []
    for stage in stages:
        module, name = STAGES[stage]
        mod = importlib.import_module(module)
        _REAL[(module, name)] = getattr(mod, name)
        setattr(mod, name, Peak(module, name, stage, str(notes)))
        patched.append((mod, name))
    try:
        yield
    finally:
        for mod, name in patched:
            setattr(mod, name, _REAL[(mod.__name__, name)])


def peaks(notes: Path, stage: str) -> list[int]:
    """The peaks (bytes) recorded for a stage's tasks."""
    path = notes / f"{stage}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["peak"] for line in path.read_text().splitlines()]


def largest_files(work: Path) -> dict[str, int]:
    """Per stage folder, the size of its largest file (bytes)."""
    return {d.name: max((f.stat().st_size for f in d.iterdir() if f.is_file()), default=0)
            for d in sorted(work.iterdir()) if d.is_dir()}


def run_one(docs: int, split: int, url: bool, tmp: Path) -> dict[str, Any]:
    import thresher

    corpus = tmp / f"c{docs}.jsonl"
    subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), "--docs", str(docs),
                    "--seed", "7", "--out", str(corpus)], check=True,
                   stdout=subprocess.DEVNULL)
    notes, work = tmp / f"notes{docs}", tmp / f"work{docs}"
    with measured(notes, list(STAGES)):
        summary = thresher.dedup(inputs=[corpus], output=tmp / f"out{docs}", workers=2,
                                 split_bytes=split, match="content",
                                 work_dir=f"file://{work}" if url else str(work))
    row: dict[str, Any] = {"docs": docs, "shards": len(peaks(notes, "read")),
                           "input_bytes": corpus.stat().st_size,
                           "candidates": summary["lsh"]["candidates"], "stages": {}}
    files = largest_files(work)
    for stage in STAGES:
        found = peaks(notes, stage)
        if found:
            row["stages"][stage] = {
                "tasks": len(found), "max_mib": round(max(found) / 2**20, 1),
                "median_mib": round(statistics.median(found) / 2**20, 1),
                "largest_file_kib": round(files.get(stage, 0) / 1024, 1)}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="2000,8000")
    parser.add_argument("--split-bytes", type=int, default=600_000)
    parser.add_argument("--url", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for docs in map(int, args.docs.split(",")):
            print(json.dumps(run_one(docs, args.split_bytes, args.url, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
