"""Whole runs of two versions of thresher side by side: does hand-written code earn its place?

Usage:
    python bench/libraries.py --before REF --after REF [--corpus FILE.jsonl | --docs N]
        [--cases dedup-content,dedup-full,index-add,index-query] [--repeat 5]
        [--workers 2] [--env-before K=V ...] [--env-after K=V ...] [--json PATH]

Each REF (a commit, a branch, or a folder holding a ``thresher`` package) is exported with
``git archive`` (its ``src/``) so that code since deleted can still be run. Each case then
runs the two versions in turn, before and after, ``--repeat`` times after one warm-up
each (numba's cache), every run a fresh process with a fresh output folder, and prints per
case the median wall seconds and peak RSS of the largest process of each version, and the
ratios after/before of wall and CPU seconds taken pair by pair (median, min-max): pairing
keeps a ratio meaningful while the machine's pace drifts. ``--json`` keeps every figure.

Cases (all on one corpus, ``--workers`` worker processes):

- ``dedup-content``, ``dedup-full``: ``thresher dedup CORPUS --match content|full``;
- ``index-add``: ``thresher index add`` of the corpus to a new, empty index;
- ``index-query``: a process that opens that index with ``warm=True``, waits for the
  warming and queries 300 of its pages one at a time (index-add runs first, untimed,
  for each version).

``--env-before`` / ``--env-after`` set variables for one side only, to compare one
version with and without a setting (``--env-after MALLOC_MMAP_THRESHOLD_=33554432``).
Figures and what they decided: ``bench/results/libraries-*.md``, ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI = "from thresher.cli import main; main()"
QUERY = """
import json, sys, thresher.index as ix
index = ix.Index(sys.argv[1], warm=True)
index.warming.join()
texts = [json.loads(line)["text"] for _, line in zip(range(300), open(sys.argv[2], "rb"))]
for text in texts:
    index.query([text])
"""


def export(ref: str, into: Path) -> Path:
    """The ``src`` folder of ``ref`` (a git revision, or a folder that holds one)."""
    if Path(ref, "thresher").is_dir():
        return Path(ref).resolve()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True,
                             capture_output=True).stdout
    tar = into / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as fh:
        fh.extractall(into, filter="data")
    return into / "src"


def timed(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``args``; its wall and CPU seconds (its waited-for children's included) and the
    peak RSS of its largest process, in MiB."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):  # 1: some records were rejected
            err.seek(0)
            raise SystemExit(f"{' '.join(args)} exited {code}: {err.read()[-2000:].decode()}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def commands(case: str, corpus: Path, out: Path, *, workers: int) -> tuple[list[list[str]], list[str]]:
    """The untimed set-up commands of ``case`` and the timed one."""
    py = sys.executable
    run = ["--quiet", "--workers", str(workers)]
    ix = str(out / "ix")
    if case.startswith("dedup-"):
        return [], [py, "-c", CLI, "dedup", str(corpus), "-o", str(out / "o"),
                    "--match", case.split("-")[1], *run]
    add = [py, "-c", CLI, "index", "add", ix, str(corpus), "-o", str(out / "o"), *run]
    if case == "index-add":
        return [[py, "-c", CLI, "index", "create", ix]], add
    return [[py, "-c", CLI, "index", "create", ix], add], [py, "-c", QUERY, ix, str(corpus)]


def one(side: dict[str, Any], case: str, corpus: Path, *, workers: int) -> dict[str, float]:
    out = side["out"]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    setup, cmd = commands(case, corpus, out, workers=workers)
    for args in setup:
        subprocess.run(args, env=side["env"], check=True, capture_output=True)
    return timed(cmd, side["env"])


def spread(values: list[float]) -> list[float]:
    return [round(min(values), 3), round(statistics.median(values), 3), round(max(values), 3)]


def compare(sides: list[dict[str, Any]], case: str, corpus: Path, *, repeat: int,
            workers: int) -> dict[str, Any]:
    """Before and after in turn, ``repeat`` times after a warm-up of each."""
    for side in sides:
        one(side, case, corpus, workers=workers)
    runs: list[list[dict[str, float]]] = [[], []]
    for _ in range(repeat):
        for k, side in enumerate(sides):
            runs[k].append(one(side, case, corpus, workers=workers))
    result: dict[str, Any] = {"case": case}
    for k, name in enumerate(("before", "after")):
        result[name] = {f: spread([r[f] for r in runs[k]]) for f in ("wall", "cpu", "peak_mib")}
    for f in ("wall", "cpu"):
        result[f"ratio_{f}"] = spread([a[f] / b[f] for b, a in zip(*runs, strict=True)])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--docs", type=int, default=60_000)
    parser.add_argument("--cases", default="dedup-content,dedup-full,index-add")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--env-before", nargs="*", default=[])
    parser.add_argument("--env-after", nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = args.corpus
    if corpus is None:
        corpus = ROOT / f"bench/.cache/libraries-n{args.docs}.jsonl"
        if not corpus.exists():
            subprocess.run([sys.executable, str(ROOT / "bench/gen_corpus.py"), "--docs",
                            str(args.docs), "--seed", "1", "--out", str(corpus)], check=True)
    with tempfile.TemporaryDirectory(prefix="libraries-") as tmp:
        sides = []
        for name, ref, extra in (("before", args.before, args.env_before),
                                 ("after", args.after, args.env_after)):
            src = export(ref, Path(tmp) / name)
            env = {**os.environ, "PYTHONPATH": str(src), **dict(e.split("=", 1) for e in extra)}
            sides.append({"env": env, "out": Path(tmp) / f"{name}-out"})
        results = [compare(sides, case, corpus, repeat=args.repeat, workers=args.workers)
                   for case in args.cases.split(",")]
    report = {"before": args.before, "after": args.after, "env_before": args.env_before,
              "env_after": args.env_after, "corpus": str(corpus), "workers": args.workers,
              "repeat": args.repeat, "cpus": os.cpu_count(), "results": results}
    for r in results:
        b, a = r["before"], r["after"]
        print(f"{r['case']}: wall {a['wall'][1]} s after, {b['wall'][1]} s before; after/before "
              f"wall {r['ratio_wall'][1]} ({r['ratio_wall'][0]}-{r['ratio_wall'][2]}), CPU "
              f"{r['ratio_cpu'][1]} ({r['ratio_cpu'][0]}-{r['ratio_cpu'][2]}); peak "
              f"{a['peak_mib'][1]} MiB after, {b['peak_mib'][1]} before")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
