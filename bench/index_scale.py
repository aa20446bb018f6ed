"""Build a persistent index of millions of generated pages, a batch at a time.

Usage: python bench/index_scale.py --docs 10000000 [--batch 1000000] [--chunk 100000]
                                   [--length-scale 0.25] [--dir bench/.cache/scale]
                                   [--match content|full] [--workers 2] [--queries 2000]

The corpus is the one ``scale.py`` generates (independent chunks, one JSONL file each,
ids prefixed by the chunk). A new index is created, then every ``--batch`` documents
are added with ``thresher index add --executor local``, each in its own process while a
thread samples the resident memory of its whole process tree; each batch's outputs are
removed once measured. Segments past eight are merged inside ``add``, so the later
batches' figures include merging. Then ``index query`` of the first file again (a
re-crawl: every page should be found), and one-document query latency on the open
index (``index_query.time_queries``: pages of the corpus, and the same pages with their
words shuffled), disk per document, and a JSON line per batch.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import index_query
import scale


def _add(ix: Path, files: list[Path], out: Path, workers: int, match: str,
         verb: str = "add") -> dict[str, Any]:
    cmd = [sys.executable, "-m", "thresher.cli", "index", verb, str(ix), *map(str, files),
           "-o", str(out), "--executor", "local", "--workers", str(workers), "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, scale._tree_rss(proc.pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    stdout, _ = proc.communicate()
    stop.set()
    thread.join()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"index add failed ({proc.returncode})")
    summary = json.loads(stdout)
    stages = summary["run"]["stage_seconds"]
    read = summary["counts"]["read"]
    return {"documents_in": read, "wall_s": round(wall, 1),
            "docs_per_s": round(read / wall), "peak_rss_gib": round(peak / 2**30, 2),
            "index_add_s": stages.get("index-add"), "probe_s": stages.get("probe"),
            "matched_in_index": summary["index"]["matched"],
            "duplicates": summary["counts"]["duplicate"], "kept": summary["counts"]["kept"],
            "rejected": summary["counts"]["rejected"],
            "added": summary["index"].get("added", 0),
            "documents": summary["index"].get("documents",
                                              summary["index"]["documents_before"]),
            "match": match}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--length-scale", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path("bench/.cache/scale"))
    parser.add_argument("--match", choices=["content", "full"], default="content")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    if args.batch % args.chunk:
        raise SystemExit("--batch must be a multiple of --chunk")
    corpus = args.dir / f"n{args.docs}-s{args.seed}-l{args.length_scale}"
    corpus.mkdir(parents=True, exist_ok=True)
    chunks = -(-args.docs // args.chunk)
    jobs = [(k, min(args.chunk, args.docs - k * args.chunk), args.seed, args.length_scale,
             str(corpus)) for k in range(chunks)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        made = list(pool.map(scale._chunk, jobs))
    files = [corpus / f"chunk-{k:04d}.jsonl" for k in range(chunks)]
    print(f"corpus: {sum(n for n, _ in made):,} docs, {sum(b for _, b in made) / 1e9:.2f} GB "
          f"({time.perf_counter() - t0:.0f} s to generate or find)", flush=True)
    ix = args.dir / f"index-{args.match}"
    shutil.rmtree(ix, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "thresher.cli", "index", "create", str(ix),
                    "--match", args.match], check=True, stdout=subprocess.DEVNULL)
    per = args.batch // args.chunk
    batches = []
    for b in range(0, chunks, per):
        out = args.dir / "index-batch-out"
        shutil.rmtree(out, ignore_errors=True)
        row = {"batch": b // per + 1, **_add(ix, files[b:b + per], out, args.workers,
                                              args.match)}
        shutil.rmtree(out, ignore_errors=True)
        batches.append(row)
        print(json.dumps(row), flush=True)
    # The first batch's first file again, as a re-crawl: every page should be found.
    out = args.dir / "index-batch-out"
    again = _add(ix, files[:1], out, args.workers, args.match, verb="query")
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"requery": again}), flush=True)
    rng = random.Random(args.seed)
    rows: list[dict[str, Any]] = []
    for path in rng.sample(files, min(10, len(files))):
        with path.open() as fh:
            rows += [json.loads(x) for x in itertools.islice(fh, 2000)]
    queries = index_query.time_queries(ix, rows, args.queries)
    total_wall = sum(r["wall_s"] for r in batches)
    total_in = sum(r["documents_in"] for r in batches)
    print(json.dumps({"documents_in": total_in, "indexed": queries["documents"],
                      "add_wall_s": round(total_wall, 1),
                      "add_docs_per_s": round(total_in / total_wall),
                      "add_docs_per_s_per_core": round(total_in / total_wall / args.workers),
                      "peak_rss_gib": max(r["peak_rss_gib"] for r in batches),
                      "requery": again,
                      "query": queries}, indent=1))


if __name__ == "__main__":
    main()
