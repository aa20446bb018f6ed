"""Train the block model that tells content from chrome, and ship it with the package.

Usage: python tools/train_blocks.py [--folds 5] [--no-save]

Data: ../shared/crawlbench-dev only (documents, their URLs and gold main text). A block's
label is "content" when at least half of its words are in the gold text and it lies in
the gold-richest run of blocks. Site statistics are counted exactly as the pipeline
counts them: per host, on how many distinct texts each block key occurs.

Prints the cross-validated cleaned-text token F1 (folds grouped by site, so no page is
scored by a model that saw its site) and writes ``src/thresher/core/blocks-model.npz``.
Needs scikit-learn (``pip install scikit-learn``), which the package itself does not.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import xxhash

from thresher.core.blocks import split_blocks
from thresher.core.content import KEEP, TreeModel, predict, select_content
from thresher.core.features import FEATURES, block_features, headings
from thresher.io.records import Fields
from thresher.pipeline.chrome import site_of

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "crawlbench-dev"
WORD = re.compile(r"\w+")


def _jsonl(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as fh:
        return [json.loads(line) for line in fh]


def host(url: str | None) -> str:
    """The site a document is counted under, as the pipeline decides it."""
    return site_of(url, None, Fields())


def token_f1(pred: str, gold: str) -> float:
    p, g = Counter(WORD.findall(pred.lower())), Counter(WORD.findall(gold.lower()))
    inter = sum((p & g).values())
    if not inter:
        return float(not p and not g)
    a, b = inter / sum(p.values()), inter / sum(g.values())
    return 2 * a * b / (a + b)


def site_counts(docs: list[dict[str, str]]) -> tuple[list[np.ndarray], list[int], object]:
    """Per document: each block's count of distinct same-host texts holding it, and pages."""
    blocks = split_blocks([d["text"] for d in docs])
    seen: dict[str, set[int]] = defaultdict(set)
    holders: Counter[tuple[str, int]] = Counter()
    for i, d in enumerate(docs):
        h, fp = host(d.get("url")), xxhash.xxh64_intdigest(d["text"].encode())
        if fp in seen[h]:
            continue
        seen[h].add(fp)
        lo, hi = blocks.doc_offsets[i], blocks.doc_offsets[i + 1]
        for k in set(blocks.key[lo:hi].tolist()):
            holders[(h, k)] += 1
    counts = np.array([holders[(host(docs[i].get("url")), int(k))]
                       for i in range(len(docs))
                       for k in blocks.key[blocks.doc_offsets[i]:blocks.doc_offsets[i + 1]]],
                      dtype=np.int64)
    pages = np.array([len(seen[host(d.get("url"))]) for d in docs], dtype=np.int64)
    return counts, pages, blocks


def labels(text: str, starts: np.ndarray, ends: np.ndarray, gold: str) -> np.ndarray:
    bag = Counter(WORD.findall(gold.lower()))
    y = np.zeros(len(starts), dtype=np.int64)
    w = np.ones(len(starts))
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        toks = WORD.findall(text[a:b].lower())
        w[i] = len(toks) + 1
        y[i] = bool(toks) and sum((Counter(toks) & bag).values()) * 2 >= len(toks)
    score = np.where(y == 1, w, -w)
    best, cur, st, span = -1e18, 0.0, 0, (0, 0)
    for i, v in enumerate(score):
        cur, st = (v, i) if cur <= 0 else (cur + v, st)
        if cur > best:
            best, span = cur, (st, i + 1)
    inside = np.zeros(len(starts), dtype=bool)
    inside[span[0]:span[1]] = True
    return (y == 1) & inside


def export(clf, cut: float, drop: float) -> TreeModel:  # type: ignore[no-untyped-def]
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    for (pred,) in clf._predictors:
        nodes = pred.nodes
        base = len(feature)
        roots.append(base)
        for node in nodes:
            leaf = bool(node["is_leaf"])
            feature.append(int(node["feature_idx"]))
            threshold.append(float(node["num_threshold"]))
            left.append(-1 if leaf else base + int(node["left"]))
            right.append(-1 if leaf else base + int(node["right"]))
            value.append(float(node["value"]))
    return TreeModel(feature=np.array(feature, np.int64), threshold=np.array(threshold),
                     left=np.array(left, np.int64), right=np.array(right, np.int64),
                     value=np.array(value), roots=np.array(roots, np.int64),
                     baseline=float(np.ravel(clf._baseline_prediction)[0]), features=FEATURES,
                     cut=cut, drop=drop)


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--no-cv", action="store_true", help="only fit and save the model")
    parser.add_argument("--trees", type=int, default=40)
    parser.add_argument("--no-rules", action="store_true",
                        help="score the span alone, without the headline and teaser rules")
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--leaves", type=int, default=31)
    args = parser.parse_args()
    docs = _jsonl(BENCH / "docs.jsonl.gz")
    gold = {r["id"]: r["gold"] for r in _jsonl(BENCH / "gold.jsonl.gz")}
    kinds = {r["id"]: r["kind"] for r in _jsonl(BENCH / "labels.jsonl")}
    counts, pages, blocks = site_counts(docs)
    x = block_features(blocks, counts, pages)
    off = blocks.doc_offsets
    rows = [i for i, d in enumerate(docs) if d["id"] in gold]
    y = {i: labels(docs[i]["text"], blocks.start[off[i]:off[i + 1]],
                   blocks.end[off[i]:off[i + 1]], gold[docs[i]["id"]]) for i in rows}
    groups = [host(docs[i].get("url")) for i in rows]

    def fit(train: list[int]):  # type: ignore[no-untyped-def]
        xs = np.vstack([x[off[i]:off[i + 1]] for i in train])
        ys = np.concatenate([y[i] for i in train])
        ws = np.log1p(blocks.stats[np.concatenate([np.arange(off[i], off[i + 1])
                                                   for i in train]), 0]) + 0.1
        return HistGradientBoostingClassifier(
            max_iter=args.trees, max_depth=args.depth, learning_rate=args.rate,
            max_leaf_nodes=args.leaves, random_state=0).fit(xs, ys, sample_weight=ws)

    p = np.zeros(x.shape[0])
    splits = [] if args.no_cv else GroupKFold(args.folds).split(rows, groups=groups)
    for train, test in splits:
        model = export(fit([rows[k] for k in train]), 0.5, 0.15)
        for k in test:
            i = rows[k]
            p[off[i]:off[i + 1]] = predict(model, x[off[i]:off[i + 1]])
    words = blocks.stats[:, 0]
    for cut in () if args.no_cv else (0.4, 0.5, 0.6):
        for drop in (0.1, 0.2, 0.3):
            rules = {} if args.no_rules else {
                "title": np.ascontiguousarray(x[:, FEATURES.index("title_overlap")]),
                "heading": headings(blocks)}
            fate = select_content(off, p, words, cut=cut, drop=drop, **rules)
            per: dict[str, list[float]] = defaultdict(list)
            for i in rows:
                t = docs[i]["text"]
                keep = [t[a:b] for a, b, f in zip(blocks.start[off[i]:off[i + 1]],
                                                  blocks.end[off[i]:off[i + 1]],
                                                  fate[off[i]:off[i + 1]], strict=True)
                        if f == KEEP]
                per[kinds[docs[i]["id"]]].append(token_f1("\n".join(keep), gold[docs[i]["id"]]))
            everything = [v for vs in per.values() for v in vs]
            print(json.dumps({"cut": cut, "drop": drop,
                              "mean_token_f1": round(float(np.mean(everything)), 4),
                              **{k: round(float(np.mean(v)), 4) for k, v in sorted(per.items())}}))
    if not args.no_save:
        final = export(fit(rows), 0.5, 0.3)
        final.save(ROOT / "src" / "thresher" / "core" / "blocks-model.npz")
        print("saved", len(final.roots), "trees,", len(final.feature), "nodes")


if __name__ == "__main__":
    main()
