"""Hash the outputs of a fixed set of runs, to check that a refactoring changes no byte.

Runs the sample, crawlbench-dev (``--match content --strip-boilerplate`` and
``--match full``), the WARC fixture and two ``index add`` batches, each into a folder
under ``--scratch``, and prints one line per output: its SHA-256 and its name.
``summary.json`` is hashed without its timing fields. Run it before a change and after,
and compare the two listings (``diff``)::

    PYTHONPATH=src python tools/identity.py --scratch /tmp/ident > before.txt
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CRAWLBENCH = SHARED / "crawlbench-dev" / "docs.jsonl.gz"
WARC = SHARED / "eval" / "cc-whirlwind" / "whirlwind.warc.gz"
SAMPLE = ROOT / "examples" / "sample" / "crawl.jsonl.gz"
# Keys whose values are clock readings (or, ``runs``, hashes of input files' times;
# ``reruns``, what befell this run's tasks): they differ from run to run.
TIMING = {"seconds", "stage_seconds", "stage_cpu_seconds", "reruns", "added", "created",
          "runs"}
OUTPUTS = ("decisions.parquet", "pairs.parquet", "boilerplate.parquet", "summary.json")


def _thresher(*args: str) -> None:
    quiet = [] if args[:2] == ("index", "create") else ["-q"]
    cmd = [sys.executable, "-m", "thresher.cli", *args, *quiet]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _untimed(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _untimed(v) for k, v in data.items() if k not in TIMING}
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def _digest(path: Path) -> str:
    if path.name.endswith(".json"):
        text = json.dumps(_untimed(json.loads(path.read_text())), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hashes(out: Path, label: str) -> list[str]:
    lines = []
    for name in OUTPUTS:
        if (out / name).exists():
            lines.append(f"{_digest(out / name)}  {label}/{name}")
    kept = out / "kept"
    for path in sorted(p for p in kept.rglob("*") if p.is_file()):
        lines.append(f"{_digest(path)}  {label}/{path.relative_to(out)}")
    return lines


def _split(scratch: Path) -> list[Path]:
    """crawlbench-dev cut in three JSONL files: one batch, then two files of another."""
    with gzip.open(CRAWLBENCH, "rt") as fh:
        rows = fh.read().splitlines(keepends=True)
    cuts = [0, len(rows) // 2, 3 * len(rows) // 4, len(rows)]
    paths = []
    for i in range(3):
        path = scratch / "parts" / f"part{i}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(rows[cuts[i]:cuts[i + 1]]))
        paths.append(path)
    return paths


def _index_hashes(index: Path) -> list[str]:
    lines = []
    for path in sorted(p for p in index.rglob("*") if p.is_file()):
        if path.name == "lock":
            continue
        lines.append(f"{_digest(path)}  index/{path.relative_to(index)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--only", default="", help="comma-separated run names")
    args = parser.parse_args()
    scratch: Path = args.scratch
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    runs: dict[str, list[str]] = {
        "sample": ["dedup", str(SAMPLE)],
        "cb-content": ["dedup", str(CRAWLBENCH), "--match", "content",
                       "--strip-boilerplate"],
        "cb-full": ["dedup", str(CRAWLBENCH), "--match", "full"],
        "warc": ["dedup", str(WARC)],
    }
    only = set(filter(None, args.only.split(",")))
    lines: list[str] = []
    for name, argv in runs.items():
        if only and name not in only:
            continue
        _thresher(*argv, "-o", str(scratch / name), "--workers", "2")
        lines += _hashes(scratch / name, name)
    if not only or "index" in only:
        parts = _split(scratch)
        index = scratch / "index"
        _thresher("index", "create", str(index), "--match", "content")
        _thresher("index", "add", str(index), str(parts[0]), "-o", str(scratch / "add1"),
                  "--workers", "2")
        lines += _hashes(scratch / "add1", "add1")
        _thresher("index", "add", str(index), str(parts[1]), str(parts[2]), "-o",
                  str(scratch / "add2"), "--workers", "2", "--strip-boilerplate")
        lines += _hashes(scratch / "add2", "add2")
        lines += _index_hashes(index)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
