"""Throughput of the cleaning pass (blocks, features, model, span) on one core.

Usage: python bench/clean_speed.py [--repeat 3]

Runs on the 2,950 crawlbench-dev documents, a batch of 2,048 at a time as the pipeline
does, and prints MB/s of input text (UTF-8) for the cleaning alone and with the content
sketch that matching needs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from thresher.core.blocks import split_blocks
from thresher.core.content import load_model, predict, select_content
from thresher.core.features import FEATURES, block_features, headings
from thresher.core.sketch import sketch_texts

BENCH = Path(__file__).resolve().parents[2] / "shared" / "crawlbench-dev"


def clean(texts: list[str]) -> list[str]:
    b = split_blocks(texts)
    x = block_features(b, np.ones(b.key.shape[0], np.int64), np.full(len(texts), 10))
    model = load_model()
    fate = select_content(b.doc_offsets, predict(model, x), b.stats[:, 0], cut=model.cut,
                          drop=model.drop,
                          title=np.ascontiguousarray(x[:, FEATURES.index("title_overlap")]),
                          heading=headings(b))
    out = []
    for d, t in enumerate(texts):
        lo, hi = b.doc_offsets[d], b.doc_offsets[d + 1]
        keep = np.flatnonzero(fate[lo:hi] == 0) + lo
        out.append("\n".join(t[s:e] for s, e in zip(b.start[keep], b.end[keep], strict=True)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with gzip.open(BENCH / "docs.jsonl.gz", "rt") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    batches = [texts[i:i + 2048] for i in range(0, len(texts), 2048)]
    clean(batches[0][:10])  # compile
    best = {"clean": 1e9, "clean+sketch": 1e9}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cleaned = [clean(b) for b in batches]
        t1 = time.perf_counter()
        for c in cleaned:
            sketch_texts(c, num_perm=128, ngram=5, char_ngram=5)
        t2 = time.perf_counter()
        best["clean"] = min(best["clean"], t1 - t0)
        best["clean+sketch"] = min(best["clean+sketch"], t2 - t0)
    print(json.dumps({"docs": len(texts), "mb": round(mb, 1),
                      **{f"{k}_mb_per_s": round(mb / v, 1) for k, v in best.items()}}))


if __name__ == "__main__":
    main()
