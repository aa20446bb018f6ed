"""Measure each stage task's peak memory on corpora of different sizes cut into shards of
one size: what a node needs per task, and whether it grows with the corpus.

Usage: python bench/task_memory.py [--docs 2000,8000] [--split-bytes 600000] [--url]
       [--workers 2] [--stages read,keys] [--corpus PATH]

Generates each corpus with ``bench/gen_corpus.py``, runs ``dedup`` (content matching,
local executor, 2 workers, each corpus in a fresh process; ``--url``: the work folder at a ``file://`` URL, read and
written whole as on an object store) with every heavy stage's task wrapped: the wrapper
resets its process's high-water mark of resident memory (``/proc/self/clear_refs``),
runs the task, and records the process's peak resident size during the task (the
process's own start-up included: what a node must hold), the peak above the smallest size
any task of that process started from (its base: a forked worker's share of its parent)
and above the size the task started from; with ``--url``, also the bytes of the local files the task wrote before
uploading them (an upper bound of its local disk: they are deleted once uploaded).
Prints, per corpus and stage, the tasks and the largest of each (MiB); the write stage
per kind of task (one input file's kept records, the decisions, the pairs). Linux only.
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
_LOCAL = [0]  # bytes of local files uploaded by the running task


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
        start, _LOCAL[0] = _status("VmRSS"), 0
        stats = fn(task)
        peak = _status("VmHWM")
        note = {"task": type(task).__name__, "peak": peak, "grew": peak - start,
                "local": _LOCAL[0], "pid": os.getpid(), "start": start}
        with open(os.path.join(self.notes, f"{self.stage}.jsonl"), "a") as fh:
            fh.write(json.dumps(note) + "\n")
        return stats


def _counting_close(real: Callable[[Any], None]) -> Callable[[Any], None]:
    def close(appender: Any) -> None:
        if appender.upload is not None:
            appender.fh.flush()
            _LOCAL[0] += os.path.getsize(appender.tmp)
        real(appender)
    return close


@contextmanager
def measured(notes: Path, stages: list[str]) -> Iterator[None]:
    """Wrap the named stages' tasks in :class:`Peak` while the block runs."""
    from thresher.pipeline import workfiles

    notes.mkdir(parents=True, exist_ok=True)
    real_close = workfiles.Appender.close
    workfiles.Appender.close = _counting_close(real_close)  # type: ignore[method-assign]
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
        workfiles.Appender.close = real_close  # type: ignore[method-assign]


def notes_of(notes: Path, stage: str) -> list[dict[str, Any]]:
    """What was recorded for a stage's tasks, one dict per task."""
    path = notes / f"{stage}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def above_base(notes: list[dict[str, Any]]) -> list[int]:
    """Each task's peak above its process's smallest resident size at a task's start
    (what the process held before its tasks: a forked worker's share of its parent)."""
    base: dict[int, int] = {}
    for n in notes:
        base[n["pid"]] = min(base.get(n["pid"], n["start"]), n["start"])
    return [n["peak"] - base[n["pid"]] for n in notes]


def _mib(values: list[int]) -> float:
    return round(max(values) / 2**20, 1)


def measure(corpus: Path, tmp: Path, *, workers: int, split: int, url: bool,
            stages: list[str]) -> dict[str, Any]:
    """Run a dedup of ``corpus`` with the stages' tasks measured; return what was found."""
    import thresher

    notes, work = tmp / "notes", tmp / "work"
    with measured(notes, stages):
        summary = thresher.dedup(inputs=[corpus], output=tmp / "out", workers=workers,
                                 split_bytes=split, match="content",
                                 work_dir=f"file://{work}" if url else str(work))
    row: dict[str, Any] = {"docs": summary["counts"]["read"],
                           "shards": len(notes_of(notes, "read")),
                           "input_bytes": sum(p.stat().st_size for p in corpus.rglob("*"))
                           if corpus.is_dir() else corpus.stat().st_size,
                           "candidates": summary["lsh"]["candidates"], "stages": {}}
    for stage in stages:
        for kind in sorted({n["task"] for n in notes_of(notes, stage)}):
            found = [n for n in notes_of(notes, stage) if n["task"] == kind]
            row["stages"][f"{stage}/{kind}"] = {
                "tasks": len(found), "peak_mib": _mib([n["peak"] for n in found]),
                "above_base_mib": _mib(above_base(found)),
                "grew_mib": _mib([n["grew"] for n in found]),
                "median_grew_mib": round(statistics.median(n["grew"] for n in found)
                                         / 2**20, 1),
                "local_mib": _mib([n["local"] for n in found])}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="2000,8000")
    parser.add_argument("--corpus", type=Path, help="measure this corpus, in this process")
    parser.add_argument("--split-bytes", type=int, default=600_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--url", action="store_true")
    args = parser.parse_args()
    options = ["--split-bytes", str(args.split_bytes), "--workers", str(args.workers),
               "--stages", args.stages] + ["--url"] * args.url
    with tempfile.TemporaryDirectory() as tmp:
        if args.corpus is not None:
            print(json.dumps(measure(args.corpus, Path(tmp), workers=args.workers,
                                     split=args.split_bytes, url=args.url,
                                     stages=args.stages.split(","))))
            return
        for docs in map(int, args.docs.split(",")):
            corpus = Path(tmp) / f"c{docs}.jsonl"
            subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), "--docs",
                            str(docs), "--seed", "7", "--out", str(corpus)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Each corpus in a fresh process: the workers fork from alike parents.
            subprocess.run([sys.executable, __file__, "--corpus", str(corpus), *options],
                           check=True)


if __name__ == "__main__":
    main()
