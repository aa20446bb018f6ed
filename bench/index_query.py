"""Latency of lone queries against a persistent index, and the rate of ``index add``.

Usage: python bench/index_query.py --corpus FILE.jsonl [--docs N] [--queries 2000]
                                   [--index DIR] [--keep] [--filler M] [--match full]

Adds the first ``--docs`` records of the corpus to a new index (one core, ``--executor
serial``; or reuses ``--index`` if it exists), then opens it in process
(``thresher.index.Index``) and times one-document queries, half of them pages from the
corpus (found), half of them pages never indexed (edited beyond recognition), with the
page cache warm. Prints docs/s of the add, query p50/p95/p99 and disk per document.

``--filler M`` first adds a batch of M synthetic documents (random band keys and
fingerprints, one shingle each: they match nothing), so that lookups search tables the
size of an M-document index; the real pages keep their matches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from thresher import index


def _fill(path: Path, docs: int) -> None:
    import pyarrow as pa

    from thresher.core.lookup import fp_tables
    from thresher.index.segment import fence_of
    from thresher.index.store import IndexStore

    store = IndexStore(path)
    bands = index.Index(path).plan.bands
    rng = np.random.default_rng(5)
    keys = rng.integers(1, 2**63, size=docs * (bands + 1), dtype=np.int64).view(np.uint64)
    keys.sort()  # owners are random anyway: their order does not matter
    kdocs = rng.integers(0, docs, size=keys.shape[0], dtype=np.int64).astype(np.uint32)
    fp = rng.integers(1, 2**63, size=(docs, 2), dtype=np.int64).view(np.uint64)
    arrays = {"keys": keys, "kfence": fence_of(keys), "kdocs": kdocs, "fp": fp, **fp_tables(fp),
              "sh": rng.integers(0, 2**32, size=docs, dtype=np.int64).astype(np.uint32),
              "shoff": np.arange(docs + 1, dtype=np.int64),
              "site": np.zeros(docs, np.uint64), "title": np.zeros(docs, np.uint64),
              "span": np.zeros((docs, 2), np.int64), "tkeys": np.zeros(0, np.uint64),
              "tcounts": np.zeros(0, np.uint32), "gkeys": np.zeros(0, np.uint64),
              "gpages": np.zeros(0, np.int64)}
    table = pa.table({"id": pa.array([f"filler-{i}" for i in range(docs)]),
                      "url": pa.nulls(docs, pa.string()), "file": pa.nulls(docs, pa.string()),
                      "line": pa.nulls(docs, pa.int64())})
    with store.writer():
        store.commit(arrays, table, {"inputs": ["synthetic filler"]})


def time_queries(path: Path, rows: list[dict[str, Any]], count: int, seed: int = 7,
                 warm: bool = False) -> dict[str, Any]:
    """Time ``count`` one-document queries on the open index at ``path``.

    Half are pages drawn from ``rows``, half the same pages with their words shuffled
    (never indexed); the first 50 only warm up. With ``warm``, the index is opened with
    ``warm=True`` and its tables read into the page cache before the queries
    (``warm_s``: how long that took).
    """
    start = time.perf_counter()
    live = index.Index(path, warm=warm)
    if live.warming is not None:
        live.warming.join()
    warmed = time.perf_counter() - start
    rng = random.Random(seed)
    picks = [rows[rng.randrange(len(rows))] for _ in range(count)]
    queries = []
    for k, r in enumerate(picks):
        text = r["text"]
        if k % 2:  # never indexed: its words shuffled
            words = text.split()
            rng.shuffle(words)
            text = " ".join(words)
        queries.append((text, r.get("url")))
    for text, url in queries[:50]:
        live.query([text], [url])  # compile and warm
    times, hits = [], 0
    for text, url in queries:
        t = time.perf_counter()
        found = live.query([text], [url])
        times.append(time.perf_counter() - t)
        hits += found[0] is not None
    ms = np.array(times) * 1000
    stats = index.stats(path)
    return {"documents": stats["documents"], "segments": len(live.segments),
            "bytes_per_document": stats["bytes_per_document"], "queries": len(queries),
            "found": hits, **{f"p{q}_ms": round(float(np.percentile(ms, q)), 3)
                              for q in (50, 95, 99)},
            **({"warm_s": round(warmed, 2), "warm_mib": live.warmed >> 20} if warm else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the index built here")
    parser.add_argument("--filler", type=int, default=0)
    parser.add_argument("--match", choices=["content", "full"], default="content")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="thresher-ixq-"))
    path = args.index or tmp / "ix"
    with args.corpus.open() as fh:
        rows = [json.loads(x) for x in itertools.islice(fh, args.docs)]
    if not (path / "manifest.json").exists():
        data = tmp / "batch.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        index.create(path, match=args.match)
        t = time.perf_counter()
        summary = index.add(path, [data], tmp / "out", executor="serial")
        seconds = time.perf_counter() - t
        print(f"add: {len(rows):,} documents in {seconds:.1f} s, "
              f"{len(rows) / seconds:,.0f} docs/s (one core), the index's part "
              f"{summary['run']['stage_seconds'].get('index-add', 0):.1f} s")
    if args.filler:
        t = time.perf_counter()
        _fill(path, args.filler)
        print(f"filler: {args.filler:,} synthetic documents in {time.perf_counter() - t:.0f} s")
    report = time_queries(path, rows, args.queries)
    print(f"index: {report['documents']:,} documents, {report['segments']} segments, "
          f"{report['bytes_per_document']:,.0f} bytes per document")
    print(f"query: {report['queries']:,} one-document queries ({report['found']:,} found): "
          f"p50 {report['p50_ms']:.2f} ms, p95 {report['p95_ms']:.2f} ms, "
          f"p99 {report['p99_ms']:.2f} ms")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("kept", tmp)


if __name__ == "__main__":
    main()
