"""thresher on ../shared/crawlbench-dev: clustering and cleaned text, scored by its scorer.

Usage: python bench/crawlbench_eval.py [--match content|full] [thresher options as KEY=VALUE]

Runs ``thresher.dedup`` with ``--strip-boilerplate`` (content matching) on the 2,950
documents, writes the clusters from ``decisions.parquet`` and every document's cleaned
text (kept or not) from the run's work folder, and prints the scorer's JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import thresher

BENCH = Path(__file__).resolve().parents[2] / "shared" / "crawlbench-dev"


def evaluate(out: Path, match: str = "content", **options: Any) -> dict[str, Any]:
    """Run thresher on crawlbench-dev into ``out`` and return the scorer's figures."""
    strip = match == "content"
    start = time.perf_counter()
    thresher.dedup(inputs=[BENCH / "docs.jsonl.gz"], output=out / "run", match=match,
                   strip_boilerplate=strip, keep_work=True, **options)
    seconds = time.perf_counter() - start
    rows = pq.read_table(out / "run" / "decisions.parquet", columns=["id", "cluster"])
    clusters = out / "clusters.jsonl"
    clusters.write_text("".join(json.dumps(r) + "\n" for r in rows.to_pylist()))
    args = [sys.executable, str(BENCH / "score.py"), "--labels", str(BENCH / "labels.jsonl"),
            "--clusters", str(clusters), "--json", str(out / "scores.json")]
    if strip:
        texts = pa.concat_tables([pq.read_table(p) for p in
                                  sorted((out / "run" / "_work" / "content").glob(
                                      "*.clean.parquet"))])["text"]
        cleaned = out / "cleaned.jsonl"
        cleaned.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                                   zip(rows["id"].to_pylist(), texts.to_pylist(),
                                       strict=True)))
        args += ["--cleaned", str(cleaned), "--gold", str(BENCH / "gold.jsonl.gz")]
    subprocess.run(args, check=True, capture_output=True)
    scores: dict[str, Any] = json.loads((out / "scores.json").read_text())
    scores["seconds"] = round(seconds, 2)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", choices=["content", "full"], default="content")
    parser.add_argument("option", nargs="*", help="extra thresher options, KEY=VALUE")
    args = parser.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(evaluate(Path(tmp), args.match, **options), indent=1))


if __name__ == "__main__":
    main()
