"""How fast this machine is at what thresher's throughput hangs on, to compare machines.

Usage: python bench/machine.py [--gib 1] [--dir /tmp]

Three figures (the kernel's pace the best of five tries, the others one try each: run it
twice):

- ``split_us_per_page``: one compiled kernel (``split_counted``, the read stage's largest
  part) over 20,480 generated pages of about 1 KB: the CPU's pace;
- ``fresh_memory_s_per_gib``: kernel time to hand out and zero a GiB of anonymous memory
  the process never had, and ``reused_memory_s_per_gib``, the same GiB taken again at
  once;
- ``file_write_s_per_gib``: writing a GiB to a new file in ``--dir`` (page cache only, no
  flush).

A virtual machine whose host takes back the pages its guest frees can charge ten times
more for fresh memory than for reused memory; a run that writes 5 GB of work files and
outputs per million pages then spends much of its time in the kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def _kernel_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_stime


def _pages(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    pages = []
    for _ in range(n):
        lines = [" ".join(rng.choices(words, k=rng.randint(3, 30))).capitalize() + "."
                 for _ in range(rng.randint(4, 12))]
        pages.append("\n".join(lines)[:1100])
    return pages


def split_pace(tries: int = 5) -> float:
    from thresher.core.blocks import split_counted
    from thresher.core.text import prepare_batch

    pages = _pages(20480)
    data, offsets = prepare_batch(pages)
    split_counted(data, offsets)  # compile or load the kernel
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        split_counted(data, offsets)
        best = min(best, time.perf_counter() - start)
    return best / len(pages) * 1e6


def memory_cost(gib: float) -> tuple[float, float]:
    """Kernel seconds per GiB: anonymous memory fresh to the process, then reused."""
    n = int(gib * 2**30) // 8
    spent = []
    for _ in range(2):  # the second takes what the first freed
        before = _kernel_seconds()
        block = np.ones(n)
        spent.append((_kernel_seconds() - before) / gib)
        del block
    return spent[0], spent[1]


def write_cost(gib: float, folder: str) -> float:
    chunk = np.ones(16 << 20, dtype=np.uint8)
    with tempfile.NamedTemporaryFile(dir=folder) as fh:
        before = _kernel_seconds()
        for _ in range(int(gib * 64)):
            fh.write(chunk.data)
        fh.flush()
        spent = _kernel_seconds() - before
    return spent / gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    fresh, reused = memory_cost(args.gib)
    result = {
        "cpus": os.cpu_count(),
        "split_us_per_page": round(split_pace(), 2),
        "fresh_memory_s_per_gib": round(fresh, 3),
        "reused_memory_s_per_gib": round(reused, 3),
        "file_write_s_per_gib": round(write_cost(args.gib, args.dir), 3),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
