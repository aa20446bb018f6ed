"""What thresher scores on sites its block model never saw: crawlbench-dev, cross-validated.

Usage: python bench/crawlbench_cv.py [--folds 5] [--keep DIR] [thresher options as KEY=VALUE]

The shipped block model is trained on all of ../shared/crawlbench-dev, so
``bench/crawlbench_eval.py`` scores it in-sample. Here the sites are cut into folds
(grouped by host, as ``tools/train_blocks.py`` does); one model is trained per fold on the
other folds' pages, and one pipeline run cleans every page with the model that did not
see its site. Matching, clustering and the scorer are the usual ones, so the figures
(clustering and cleaned text alike) estimate what unseen sites would give.
Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import crawlbench_eval
import train_blocks

from thresher.core import cleaning as core_cleaning
from thresher.core.content import predict
from thresher.core.features import block_features
from thresher.pipeline import chrome


def fold_models(folds: int) -> tuple[dict[int, Any], dict[str, int]]:
    """Train one model per fold of sites; return the models and each site's fold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    docs = train_blocks._jsonl(train_blocks.BENCH / "docs.jsonl.gz")
    gold = {r["id"]: r["gold"] for r in train_blocks._jsonl(train_blocks.BENCH / "gold.jsonl.gz")}
    counts, pages, blocks = train_blocks.site_counts(docs)
    x = block_features(blocks, counts, pages)
    off = blocks.doc_offsets
    rows = [i for i, d in enumerate(docs) if d["id"] in gold]
    y = {i: train_blocks.labels(docs[i]["text"], blocks.start[off[i]:off[i + 1]],
                                blocks.end[off[i]:off[i + 1]], gold[docs[i]["id"]])
         for i in rows}
    hosts = [train_blocks.host(d.get("url")) for d in docs]
    models: dict[int, Any] = {}
    fold_of: dict[str, int] = {}
    splits = GroupKFold(folds).split(rows, groups=[hosts[i] for i in rows])
    for f, (train, test) in enumerate(splits):
        train_rows = [rows[k] for k in train]
        xs = np.vstack([x[off[i]:off[i + 1]] for i in train_rows])
        ys = np.concatenate([y[i] for i in train_rows])
        ws = np.log1p(blocks.stats[np.concatenate(
            [np.arange(off[i], off[i + 1]) for i in train_rows]), 0]) + 0.1
        clf = HistGradientBoostingClassifier(max_iter=40, max_depth=6, learning_rate=0.3,
                                             max_leaf_nodes=31, random_state=0)
        models[f] = train_blocks.export(clf.fit(xs, ys, sample_weight=ws), 0.5, 0.3)
        for k in test:
            fold_of[hosts[rows[k]]] = f
    return models, fold_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the run (decisions, cleaned text) here")
    parser.add_argument("option", nargs="*", help="extra thresher options, KEY=VALUE")
    args = parser.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    models, fold_of = fold_models(args.folds)
    by_hash = {int(h): fold_of[s] for s, h in zip(
        fold_of, core_cleaning.group_hashes(list(fold_of)), strict=True)}
    site_of_block: list[np.ndarray] = []
    real_site_keys = core_cleaning.site_keys

    def site_keys(blocks: Any, ghash: np.ndarray) -> np.ndarray:
        site_of_block[:] = [np.repeat(ghash, np.diff(blocks.doc_offsets))]
        return real_site_keys(blocks, ghash)

    def predict_unseen(model: Any, x: np.ndarray) -> np.ndarray:
        folds = np.array([by_hash.get(int(h), 0) for h in site_of_block[0]], dtype=np.int64)
        p = np.empty(x.shape[0])
        for f, m in models.items():
            mine = folds == f
            if mine.any():
                p[mine] = predict(m, np.ascontiguousarray(x[mine]))
        return p

    chrome.site_keys = site_keys  # type: ignore[assignment]
    core_cleaning.site_keys = site_keys  # type: ignore[assignment]
    core_cleaning.predict = predict_unseen  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        scores = crawlbench_eval.evaluate(where, "content", executor="serial", **options)
    keep = ("precision", "recall", "f1", "chrome_only_merges", "chrome_merge_rate",
            "cross_domain_false_merges", "recrawl_recall")
    out = {k: scores[k] for k in keep}
    out["source_pair_recall"] = {k: round(v["recall"], 4)
                                 for k, v in scores["source_pair_recall"].items()}
    cleaning = scores.get("cleaning", {})
    per = cleaning.get("bag_f1_by_kind", {})
    n = sum(v["n"] for v in per.values())
    out["cleaned_token_f1"] = round(sum(v["mean"] * v["n"] for v in per.values()) / n, 4) \
        if n else None
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
