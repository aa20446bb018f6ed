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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import index_query
import scale


def _add(ix: Path, files: list[Path], out: Path, workers: int, match: str,
         verb: str = "add") -> dict[str, Any]:
    summary, wall, peak = scale.run_sampled([
        sys.executable, "-m", "thresher.cli", "index", verb, str(ix), *map(str, files),
        "-o", str(out), "--executor", "local", "--workers", str(workers), "--json"])
    stages = summary["run"]["stage_seconds"]
    cpu = sum(summary["run"].get("stage_cpu_seconds", {}).values())
    read = summary["counts"]["read"]
    return {"documents_in": read, "wall_s": round(wall, 1),
            "docs_per_s": round(read / wall), "cpu_s": round(cpu, 1),
            "docs_per_cpu_s": round(read / cpu) if cpu else None,
            "peak_rss_gib": round(peak / 2**30, 2),
            "index_add_s": stages.get("index-add"), "probe_s": stages.get("probe"),
            "matched_in_index": summary["index"]["matched"],
            "duplicates": summary["counts"]["duplicate"], "kept": summary["counts"]["kept"],
            "rejected": summary["counts"]["rejected"],
            "added": summary["index"].get("added", 0),
            "documents": summary["index"].get("documents",
                                              summary["index"]["documents_before"]),
            "match": match}


def _sample_rows(files: list[Path], seed: int) -> list[dict[str, Any]]:
    """The first 2,000 pages of 10 files drawn with ``seed``."""
    rows: list[dict[str, Any]] = []
    for path in random.Random(seed).sample(files, min(10, len(files))):
        with path.open() as fh:
            rows += [json.loads(x) for x in itertools.islice(fh, 2000)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scale.add_corpus_args(parser)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--keep-index", action="store_true",
                        help="add to the index an earlier run built (another --seed's pages "
                             "on top of it) instead of starting a new one")
    parser.add_argument("--queries-only", type=int, metavar="SEED",
                        help="only time lone queries on the index an earlier run built: "
                             "pages of 10 files drawn with SEED, as found (the page cache "
                             "as it is), then another draw on the index opened warm")
    args = parser.parse_args()
    if args.queries_only is not None:
        _, files, _, _ = scale.make_corpus(args)
        ix = args.dir / f"index-{args.match}"
        for warm, seed in ((False, args.queries_only), (True, args.queries_only + 1)):
            print(json.dumps({"warm": warm, "seed": seed, **index_query.time_queries(
                ix, _sample_rows(files, seed), args.queries, seed=seed, warm=warm)}),
                  flush=True)
        return
    if args.batch % args.chunk:
        raise SystemExit("--batch must be a multiple of --chunk")
    _, files, _, _ = scale.make_corpus(args)
    chunks = len(files)
    ix = args.dir / f"index-{args.match}"
    if not (args.keep_index and ix.exists()):
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
    queries = index_query.time_queries(ix, _sample_rows(files, args.seed), args.queries)
    total_wall = sum(r["wall_s"] for r in batches)
    total_in = sum(r["documents_in"] for r in batches)
    print(json.dumps({"documents_in": total_in, "indexed": queries["documents"],
                      "add_wall_s": round(total_wall, 1),
                      "add_docs_per_s": round(total_in / total_wall),
                      "add_docs_per_s_per_core": round(total_in / total_wall / args.workers),
                      # what a core does while it works: waits on the disk left out
                      "add_docs_per_cpu_s": round(total_in / max(
                          sum(r["cpu_s"] for r in batches), 1e-9)),
                      "peak_rss_gib": max(r["peak_rss_gib"] for r in batches),
                      "requery": again,
                      "query": queries}, indent=1))


if __name__ == "__main__":
    main()
