"""Which store should hold the persistent index's band keys? Measured, not guessed.

Usage: python bench/index_store.py [--docs 1000000] [--bands 33] [--segments 10]
                                   [--stores sqlite,lmdb,segments] [--queries 2000]

The index's hot data is one table per LSH band: band key -> document. ``add`` appends a
batch's keys; ``query`` looks up one document's keys (one per band) and returns every
indexed document that shares one. This compares, on the same random keys:

- SQLite (stdlib ``sqlite3``, WAL): one table (key, doc) with an index on key;
- LMDB (``pip install lmdb``): one duplicate-sorted database, key -> docs;
- sorted immutable segments: per batch, the keys sorted with their documents
  (``.npy`` files, memory-mapped), looked up by binary search; a manifest lists them.

It prints, per store: documents added per second (one core), the latency of a one-document
query (p50/p99, the page cache warm), and bytes on disk per document. ``--segments``
cuts the added documents into that many batches, as that many ``index add`` calls would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _keys(docs: int, bands: int, seed: int) -> np.ndarray:
    """Random 64-bit band keys (docs, bands), with about 1 % of documents near-copies."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**63, size=(docs, bands), dtype=np.int64)
    copies = rng.choice(docs, size=docs // 100, replace=False)
    keys[copies] = keys[rng.integers(0, docs, size=copies.shape[0])]
    return keys


def _disk(path: Path) -> int:
    """Bytes allocated on disk (LMDB's map is a sparse file far larger than its data)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def _timed_queries(query: Callable[[np.ndarray], int], probes: np.ndarray) -> tuple[float, float]:
    for row in probes[:50]:
        query(row)  # warm
    times = []
    for row in probes:
        t = time.perf_counter()
        query(row)
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def bench_sqlite(root: Path, keys: np.ndarray, batches: list[np.ndarray],
                 probes: np.ndarray) -> dict[str, float]:
    db = sqlite3.connect(root / "index.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE bands (key INTEGER NOT NULL, doc INTEGER NOT NULL)")
    db.execute("CREATE INDEX bands_key ON bands (key)")
    t = time.perf_counter()
    for docs in batches:
        rows = ((int(k), int(d)) for d in docs for k in keys[d])
        with db:
            db.executemany("INSERT INTO bands VALUES (?, ?)", rows)
    added = time.perf_counter() - t
    sql = f"SELECT doc FROM bands WHERE key IN ({','.join('?' * keys.shape[1])})"

    def query(row: np.ndarray) -> int:
        return len(db.execute(sql, [int(k) for k in row]).fetchall())

    p50, p99 = _timed_queries(query, probes)
    db.close()
    return {"add_docs_per_s": keys.shape[0] / added, "p50_ms": p50, "p99_ms": p99}


def bench_lmdb(root: Path, keys: np.ndarray, batches: list[np.ndarray],
               probes: np.ndarray) -> dict[str, float]:
    import lmdb

    env = lmdb.open(str(root / "index.lmdb"), map_size=1 << 40, max_dbs=1, writemap=True,
                    sync=True)
    table = env.open_db(b"bands", dupsort=True, dupfixed=True, integerdup=True)
    t = time.perf_counter()
    for docs in batches:
        items = [(int(k).to_bytes(8, "big"), int(d).to_bytes(4, "little"))
                 for d in docs for k in keys[d]]
        items.sort()
        with env.begin(write=True, db=table) as txn:
            txn.cursor().putmulti(items, dupdata=True, append=False)
    added = time.perf_counter() - t

    def query(row: np.ndarray) -> int:
        found = 0
        with env.begin(db=table) as txn:
            cur = txn.cursor()
            for k in row:
                if cur.set_key(int(k).to_bytes(8, "big")):
                    found += sum(1 for _ in cur.iternext_dup())
        return found

    p50, p99 = _timed_queries(query, probes)
    env.close()
    return {"add_docs_per_s": keys.shape[0] / added, "p50_ms": p50, "p99_ms": p99}


def bench_segments(root: Path, keys: np.ndarray, batches: list[np.ndarray],
                   probes: np.ndarray) -> dict[str, float]:
    t = time.perf_counter()
    names = []
    for s, docs in enumerate(batches):
        flat = keys[docs].reshape(-1)
        owner = np.repeat(docs.astype(np.uint32), keys.shape[1])
        order = np.argsort(flat, kind="stable")
        seg = root / f"seg-{s:04d}"
        seg.mkdir()
        np.save(seg / "keys.npy", flat[order])
        np.save(seg / "docs.npy", owner[order])
        (seg / "done").touch()
        names.append(seg)
        fd = os.open(seg, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    added = time.perf_counter() - t
    segs = [(np.load(seg / "keys.npy", mmap_mode="r"), np.load(seg / "docs.npy", mmap_mode="r"))
            for seg in names]

    def query(row: np.ndarray) -> int:
        found = 0
        for k, d in segs:
            lo = np.searchsorted(k, row, side="left")
            hi = np.searchsorted(k, row, side="right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    found += len(d[a:b])
        return found

    p50, p99 = _timed_queries(query, probes)
    return {"add_docs_per_s": keys.shape[0] / added, "p50_ms": p50, "p99_ms": p99}


STORES = {"sqlite": bench_sqlite, "lmdb": bench_lmdb, "segments": bench_segments}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--bands", type=int, default=33, help="32 bands and the title band")
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--stores", default="sqlite,lmdb,segments")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--dir", type=Path, help="where to build the stores (a temp folder)")
    args = parser.parse_args()
    keys = _keys(args.docs, args.bands, seed=1)
    batches = np.array_split(np.arange(args.docs), args.segments)
    rng = np.random.default_rng(2)
    probes = keys[rng.integers(0, args.docs, size=args.queries)]
    print(f"{args.docs:,} documents x {args.bands} bands, {args.segments} batches, "
          f"{args.queries:,} one-document queries")
    print("| store | add docs/s | query p50 ms | query p99 ms | disk B/doc |")
    print("|---|---:|---:|---:|---:|")
    for name in args.stores.split(","):
        base = Path(tempfile.mkdtemp(prefix=f"store-{name}-", dir=args.dir))
        try:
            r = STORES[name](base, keys, batches, probes)
            per_doc = _disk(base) / args.docs
            print(f"| {name} | {r['add_docs_per_s']:,.0f} | {r['p50_ms']:.3f} | "
                  f"{r['p99_ms']:.3f} | {per_doc:,.0f} |", flush=True)
        finally:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
