"""Quality gate on ../shared/crawlbench-dev: CI fails when a figure falls below its floor.

Two runs: the default (matching on content, boilerplate stripped) and whole-text matching
(``--match full``). Floors are what each reaches, less a small margin. The cleaned-text
figure is in-sample for the shipped block model (trained on these pages); the
cross-validated figure, folds grouped by site, is printed by ``tools/train_blocks.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import CRAWLBENCH, need_shared

FLOORS = {
    "content": {
        "precision": 0.995,  # reached: 1.000 (0.998 before partial matches needed headlines)
        "recall": 0.925,  # reached: 0.933
        "f1": 0.96,  # reached: 0.9655 (0.970 before partial matches were directed)
        "recrawl_recall": 0.955,  # reached: 0.963 (0.968 before)
        "syndicated_recall": 0.895,  # reached: 0.897 (0.905 before)
        "exact_recall": 1.0,  # reached: 1.000
        "high_similarity_recall": 0.99,  # reached: 0.996
        # the mean over every page of each kind, weighted by their counts (crawlbench's
        # own headline, re-crawled pages only, is 0.850)
        "cleaned_token_f1": 0.86,  # reached: 0.866 (the documents as given: 0.690)
    },
    "full": {
        "precision": 0.97,  # reached: 0.974
        "f1": 0.545,  # reached: 0.557
        "exact_recall": 1.0,
        "high_similarity_recall": 0.98,  # reached: 0.995
    },
}
CEILINGS = {"content": {"chrome_merge_rate": 0.001,  # reached: 0 (2 of 6,705 pairs before)
                        "cross_domain_false_merges": 5},  # reached: 0 (3 before)
            "full": {"chrome_merge_rate": 0.005}}  # reached: 0.0037 (25)


def _run(tmp: Path, match: str) -> dict[str, Any]:
    bench = need_shared(CRAWLBENCH)
    strip = match == "content"
    thresher.dedup(inputs=[bench / "docs.jsonl.gz"], output=tmp / "out", match=match,
                   strip_boilerplate=strip, keep_work=True)
    rows = pq.read_table(tmp / "out" / "decisions.parquet", columns=["id", "cluster"])
    clusters = tmp / "clusters.jsonl"
    clusters.write_text("".join(json.dumps(r) + "\n" for r in rows.to_pylist()))
    args = [sys.executable, str(bench / "score.py"), "--labels", str(bench / "labels.jsonl"),
            "--clusters", str(clusters), "--json", str(tmp / "scores.json")]
    if strip:
        parts = sorted((tmp / "out" / "_work" / "content").glob("*.clean.parquet"))
        texts = pa.concat_tables([pq.read_table(p) for p in parts])["text"].to_pylist()
        cleaned = tmp / "cleaned.jsonl"
        cleaned.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                                   zip(rows["id"].to_pylist(), texts, strict=True)))
        args += ["--cleaned", str(cleaned), "--gold", str(bench / "gold.jsonl.gz")]
    subprocess.run(args, check=True, capture_output=True)
    data: dict[str, Any] = json.loads((tmp / "scores.json").read_text())
    print(f"crawlbench-dev ({match}):", {k: data[k] for k in ("precision", "recall", "f1",
                                                             "chrome_merge_rate")})
    return data


@pytest.fixture(scope="module", params=["content", "full"])
def scores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[str, dict[str, Any]]:
    return request.param, _run(tmp_path_factory.mktemp(request.param), request.param)


def _figure(scores: dict[str, Any], name: str) -> float:
    if name == "exact_recall":
        return float(scores["source_pair_recall"]["exact"]["recall"])
    if name == "syndicated_recall":
        return float(scores["source_pair_recall"]["syndicated"]["recall"])
    if name == "high_similarity_recall":
        return float(scores["source_pair_recall_by_j5"]["[0.8,1.0]"]["recall"])
    if name == "cleaned_token_f1":
        kinds = scores["cleaning"]["bag_f1_by_kind"].values()
        return sum(k["mean"] * k["n"] for k in kinds) / sum(k["n"] for k in kinds)
    return float(scores[name])


def test_floors(scores: tuple[str, dict[str, Any]]) -> None:
    match, data = scores
    low = {n: round(_figure(data, n), 4) for n, floor in FLOORS[match].items()
           if _figure(data, n) < floor}
    assert not low, f"{match}: below the floor: {low}"


def test_ceilings(scores: tuple[str, dict[str, Any]]) -> None:
    match, data = scores
    high = {n: _figure(data, n) for n, cap in CEILINGS[match].items() if _figure(data, n) > cap}
    assert not high, f"{match}: above the ceiling: {high}"
