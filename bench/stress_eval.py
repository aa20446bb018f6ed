"""thresher's default mode on the stress sets of issue 23 (item 5), scored by crawlbench's scorer.

Usage: python bench/stress_eval.py [--shapes captures,no-urls,generator,shared-lines]
       [--pages 300] [--extra 0,1,5,10] [--gen-docs 20000] [--results bench/results]

Shapes (the sets are made by ``stress_sets.py``; see ``bench/README.md``):

- ``captures``: pages of crawlbench-dev with 0, 1, 5 and 10 extra captures of themselves.
  Figures: the cleaned-text token F1 of the page's kept document against the page's gold,
  and the share of captures joined to their page;
- ``no-urls``: crawlbench-dev with and without its URLs: pairwise P/R/F1, chrome-only
  merges; ``--match full`` on the set without URLs for reference;
- ``generator``: ``gen_corpus.py``'s corpus without URLs, content matching against
  ``--match full``, one process each (``--executor serial``): F1 and seconds; content
  matching with the URLs for reference;
- ``shared-lines``: ``../shared/crawlbench-dev-scale10k``: pairwise P/R/F1.

Writes ``RESULTS/stress-DATE.json`` with the figures, the commit and the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import thresher

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stress_sets import CRAWLBENCH, captures, no_urls, write_jsonl

SCALE10K = CRAWLBENCH.parent / "crawlbench-dev-scale10k"
SHAPES = ("captures", "no-urls", "generator", "shared-lines")


def run(docs: Path, out: Path, **options: Any) -> tuple[pa.Table, dict[str, float]]:
    """Run ``thresher.dedup`` on ``docs`` into ``out``; its decisions and its seconds.

    The seconds are wall and CPU (the stages' CPU seconds, summed over workers): on a
    machine shared with other jobs the wall time can be twice the CPU time.
    """
    start = time.perf_counter()
    summary = thresher.dedup(inputs=[docs], output=out, keep_work=True, **options)
    seconds = {"wall_s": round(time.perf_counter() - start, 2),
               "cpu_s": round(sum(summary["run"]["stage_cpu_seconds"].values()), 2)}
    return pq.read_table(out / "decisions.parquet", columns=["id", "cluster"]), seconds


def cleaned_texts(out: Path) -> list[str]:
    """Every document's cleaned text, in decisions order (needs ``keep_work``)."""
    parts = sorted((out / "_work" / "content").glob("*.clean.parquet"))
    texts: list[str] = pa.concat_tables([pq.read_table(p) for p in parts])["text"].to_pylist()
    return texts


def score(work: Path, decisions: pa.Table, *, labels: Path,
          cleaned: dict[str, str] | None = None, gold: Path | None = None) -> dict[str, Any]:
    """Score the clusters (and cleaned text against ``gold``) with crawlbench's score.py."""
    clusters = write_jsonl(work / "clusters.jsonl", decisions.to_pylist())
    args = [sys.executable, str(CRAWLBENCH / "score.py"), "--labels", str(labels),
            "--clusters", str(clusters), "--json", str(work / "scores.json")]
    if cleaned is not None and gold is not None:
        rows = [{"id": k, "text": v} for k, v in cleaned.items()]
        args += ["--cleaned", str(write_jsonl(work / "cleaned.jsonl", rows)),
                 "--gold", str(gold)]
    subprocess.run(args, check=True, capture_output=True)
    scores: dict[str, Any] = json.loads((work / "scores.json").read_text())
    return scores


def pairwise(scores: dict[str, Any]) -> dict[str, float]:
    """The pairwise figures every shape reports."""
    return {k: round(float(scores[k]), 4) for k in ("precision", "recall", "f1",
                                                     "chrome_merge_rate")}


def kept_cleaned(decisions: pa.Table, texts: list[str], pages: list[str]) -> dict[str, str]:
    """Each page's cleaned text as kept: that of the kept document of its cluster."""
    row = {d: i for i, d in enumerate(decisions["id"].to_pylist())}
    cluster = decisions["cluster"].to_pylist()
    kept = {p: cluster[row[p]] if cluster[row[p]] is not None and cluster[row[p]] >= 0
            else row[p] for p in pages}
    return {p: texts[k] for p, k in kept.items()}


def captures_figures(work: Path, *, pages: int, extra: int) -> dict[str, Any]:
    """The captures set with ``extra`` captures a page: kept-page F1, captures joined."""
    sets = work / f"captures-{extra}"
    counts = captures(sets, pages=pages, extra=extra)
    decisions, seconds = run(sets / "docs.jsonl.gz", sets / "run", strip_boilerplate=True)
    page_ids = [r["id"] for r in map(json.loads, (sets / "gold.jsonl").open())]
    cleaned = kept_cleaned(decisions, cleaned_texts(sets / "run"), page_ids)
    scores = score(sets, decisions, labels=sets / "labels.jsonl", cleaned=cleaned,
                   gold=sets / "gold.jsonl")
    joined = scores["source_pair_recall"].get("capture", {}).get("recall")
    return {**counts, "extra": extra, **seconds,
            "kept_page_f1": round(scores["cleaning"]["bag_f1_by_kind"]["page"]["mean"], 4),
            "captures_joined": None if joined is None else round(joined, 4),
            **pairwise(scores)}


RUNS = ("content_urls", "content_no_urls", "full_no_urls")


def _options(name: str) -> dict[str, Any]:
    return {"match": "full"} if name.startswith("full") else {}


def no_urls_figures(work: Path, *, runs: tuple[str, ...] = RUNS) -> dict[str, Any]:
    """crawlbench-dev with and without URLs (content matching); without, ``--match full``."""
    bare = work / "crawlbench-no-urls.jsonl"
    no_urls(CRAWLBENCH / "docs.jsonl.gz", bare)
    labels = CRAWLBENCH / "labels.jsonl"
    out: dict[str, Any] = {}
    for name in runs:
        docs = bare if "no_urls" in name else CRAWLBENCH / "docs.jsonl.gz"
        (work / name).mkdir()
        decisions, seconds = run(docs, work / name / "run", **_options(name))
        scores = score(work / name, decisions, labels=labels)
        out[name] = {**pairwise(scores), **seconds,
                     "chrome_only_merges": scores["chrome_only_merges"]}
    return out


def generator_figures(work: Path, *, docs: int, seed: int = 1, cache: Path = HERE / ".cache",
                      runs: tuple[str, ...] = RUNS) -> dict[str, Any]:
    """``gen_corpus.py``'s corpus without URLs: content against full, one process each."""
    from gen_corpus import truth_path
    from run import corpus_path, ensure_corpus

    corpus = corpus_path(cache, docs, seed, 0.2)
    ensure_corpus(corpus, docs, seed, 0.2)
    bare = work / "generator-no-urls.jsonl"
    no_urls(corpus, bare)
    out: dict[str, Any] = {"docs": docs, "seed": seed}
    for name in runs:
        (work / name).mkdir()
        decisions, seconds = run(bare if "no_urls" in name else corpus, work / name / "run",
                                 executor="serial", **_options(name))
        scores = score(work / name, decisions, labels=truth_path(corpus))
        out[name] = {**pairwise(scores), **seconds}
    if "content_no_urls" not in out or "full_no_urls" not in out:
        return out
    for kind in ("wall_s", "cpu_s"):
        out[f"{kind}_ratio"] = round(out["content_no_urls"][kind] / out["full_no_urls"][kind],
                                     2)
    return out


def shared_lines_figures(work: Path) -> dict[str, Any]:
    """crawlbench-dev-scale10k, default mode: pairwise P/R/F1."""
    decisions, seconds = run(SCALE10K / "docs.jsonl.gz", work / "run")
    scores = score(work, decisions, labels=SCALE10K / "labels.jsonl.gz")
    return {**pairwise(scores), **seconds}


def shape_runners(args: argparse.Namespace) -> dict[str, Callable[[Path], Any]]:
    """One callable per shape, taking its own empty work folder."""
    return {
        "captures": lambda w: [captures_figures(w, pages=args.pages, extra=k)
                               for k in args.extra],
        "no-urls": no_urls_figures,
        "generator": lambda w: generator_figures(w, docs=args.gen_docs),
        "shared-lines": shared_lines_figures,
    }


def provenance() -> dict[str, Any]:
    """The commit and this machine's pace (``machine.py``), to compare dated results."""
    from machine import memory_cost, split_pace
    from run import machine

    head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    fresh, _ = memory_cost(0.5)
    return {"date": datetime.date.today().isoformat(), "commit": head, **machine(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "split_us_per_page": round(split_pace(), 2),
            "fresh_memory_s_per_gib": round(fresh, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--extra", default="0,1,5,10",
                        type=lambda s: [int(k) for k in s.split(",")])
    parser.add_argument("--gen-docs", type=int, default=20_000)
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args()
    runners = shape_runners(args)
    result: dict[str, Any] = {"machine": provenance(), "pages": args.pages}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            (Path(tmp) / shape).mkdir()
            result[shape] = runners[shape](Path(tmp) / shape)
            print(shape, json.dumps(result[shape], indent=1), flush=True)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"stress-{result['machine']['date']}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
