"""Run thresher end to end on a large generated corpus; report time, memory and disk.

Usage: python bench/scale.py --docs 10000000 [--chunk 100000] [--length-scale 0.25]
                             [--dir bench/.cache/scale] [--match content|full] [--workers 2]

The corpus is generated in independent chunks (seeds ``seed*100000 + k``, ids prefixed
by the chunk), two chunks at a time, one JSONL file per chunk, so generating it never
holds more than a chunk. thresher then runs with ``--executor local --keep-work`` while a
thread samples the resident memory of thresher's whole process tree (driver and
workers, summed) every 0.2 s. Printed: documents, text MB, seconds per stage, docs/s,
peak summed RSS, and the work folder's bytes per document per stage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _chunk(args: tuple[int, int, int, float, str]) -> tuple[int, int]:
    import gen_corpus as g

    k, n, seed, scale, out = args
    path = Path(out) / f"chunk-{k:04d}.jsonl"
    if path.exists():
        with path.open("rb") as fh:
            return sum(1 for _ in fh), path.stat().st_size
    g.Writer.length_scale = scale
    texts, docs, hosts = g.generate(n, seed * 100_000 + k, 0.2)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for i, (text, doc) in enumerate(zip(texts, docs, strict=True)):
            # ids name the seed past the first corpus, so that two corpora share an index
            rid = f"c{k:04d}-{i:07d}" if seed == 7 else f"s{seed}-c{k:04d}-{i:07d}"
            fh.write(json.dumps({"id": rid, "text": text,
                                 "url": g.url_of(doc, hosts, i)}, ensure_ascii=False) + "\n")
    tmp.rename(path)
    return len(texts), path.stat().st_size


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def add_corpus_args(parser: argparse.ArgumentParser) -> None:
    """The options that say which generated corpus to use (shared with index_scale.py)."""
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--length-scale", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path("bench/.cache/scale"))
    parser.add_argument("--match", choices=["content", "full"], default="content")
    parser.add_argument("--workers", type=int, default=2)


def make_corpus(args: argparse.Namespace) -> tuple[Path, list[Path], int, int]:
    """Generate (or find) the corpus: (folder, files, documents, bytes)."""
    corpus = args.dir / f"n{args.docs}-s{args.seed}-l{args.length_scale}"
    corpus.mkdir(parents=True, exist_ok=True)
    chunks = -(-args.docs // args.chunk)
    jobs = [(k, min(args.chunk, args.docs - k * args.chunk), args.seed, args.length_scale,
             str(corpus)) for k in range(chunks)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        made = list(pool.map(_chunk, jobs))
    docs, size = sum(n for n, _ in made), sum(b for _, b in made)
    print(f"corpus: {docs:,} docs, {size / 1e9:.2f} GB JSONL in {chunks} files "
          f"({time.perf_counter() - t0:.0f} s to generate or find)", flush=True)
    return corpus, [corpus / f"chunk-{k:04d}.jsonl" for k in range(chunks)], docs, size


def run_sampled(cmd: list[str]) -> tuple[dict[str, Any], float, int]:
    """Run a thresher command printing JSON; return (its summary, wall s, peak summed RSS
    of its process tree, sampled every 0.2 s)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, _tree_rss(proc.pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    stdout, _ = proc.communicate()
    stop.set()
    thread.join()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[3:5])} failed ({proc.returncode})")
    return json.loads(stdout), wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_args(parser)
    args = parser.parse_args()
    corpus, _, docs, size = make_corpus(args)
    out = args.dir / f"out-{args.match}"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    summary, wall, peak = run_sampled([
        sys.executable, "-m", "thresher.cli", "dedup", str(corpus), "-o", str(out),
        "--executor", "local", "--workers", str(args.workers), "--keep-work", "--json",
        "--match", args.match])
    work = out / "_work"
    disk = {p.name: round(_du(p) / docs, 1) for p in sorted(work.iterdir()) if p.is_dir()}
    print(json.dumps({
        "docs": docs, "text_gb": round(size / 1e9, 2), "match": args.match,
        "workers": args.workers, "wall_s": round(wall, 1),
        "docs_per_s": round(docs / wall), "peak_rss_gib": round(peak / 2**30, 2),
        "stage_seconds": summary["run"]["stage_seconds"], "counts": summary["counts"],
        "work_bytes_per_doc": disk, "output_bytes_per_doc": round(
            (_du(out) - _du(work)) / docs, 1)}, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
