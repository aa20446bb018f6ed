"""Cleaned-text quality on ../shared/crawlbench-dev: how much of each page is the article.

Usage: python bench/chrome_eval.py [--strategy all-text|template]

Scores each document's cleaned text against its gold main text with WCXB's metric
(bag-of-words F1 over ``\\w+`` tokens, lowercase), per kind and overall, the figure the
boilerplate-aware matching issue targets (>= 0.85; the text as given scores 0.69).

Strategies (baselines to improve on, not thresher's method):

- ``all-text``: the document as given.
- ``template``: lines (numbers masked) that a document shares with another page of the
  same host are dropped when the two pages share less than half of their words, i.e.
  when they are different articles in one template. Needs other pages of the host.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

BENCH = Path(__file__).resolve().parents[2] / "shared" / "crawlbench-dev"


def _tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def token_f1(pred: str, gold: str) -> float:
    """WCXB's per-page metric."""
    p, g = _tokens(pred), _tokens(gold)
    inter = sum((p & g).values())
    if not inter:
        return float(not p and not g)
    precision, recall = inter / sum(p.values()), inter / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def _key(line: str) -> str:
    return re.sub(r"\d+", "0", " ".join(re.findall(r"\w+", line.lower())))


def template_strategy(docs: dict[str, dict[str, str]]) -> Callable[[str], str]:
    """Drop lines shared with a same-host page that is a different article."""
    lines = {d: [x.strip() for x in r["text"].split("\n") if x.strip()] for d, r in docs.items()}
    keys = {d: [_key(x) for x in ls] for d, ls in lines.items()}
    words = {d: [len(x.split()) for x in ls] for d, ls in lines.items()}
    hosts: dict[str, list[str]] = defaultdict(list)
    for d, r in docs.items():
        hosts[urlparse(r.get("url") or "").netloc.removeprefix("www.")].append(d)

    def share(d: str, shared: set[str]) -> float:
        total = sum(words[d]) or 1
        return sum(w for k, w in zip(keys[d], words[d], strict=True) if k in shared) / total

    def clean(d: str) -> str:
        mine, template = set(keys[d]), set()
        host = urlparse(docs[d].get("url") or "").netloc.removeprefix("www.")
        for e in hosts[host]:
            shared = mine & set(keys[e]) if e != d else set()
            if shared and share(d, shared) < 0.5 and share(e, shared) < 0.5:
                template |= shared
        return "\n".join(x for x, k in zip(lines[d], keys[d], strict=True) if k not in template)

    return clean


def _jsonl(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as fh:
        return [json.loads(line) for line in fh]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=["all-text", "template"], default="template")
    args = parser.parse_args()
    docs = {r["id"]: r for r in _jsonl(BENCH / "docs.jsonl.gz")}
    gold = {r["id"]: r["gold"] for r in _jsonl(BENCH / "gold.jsonl.gz")}
    kinds = {r["id"]: r["kind"] for r in _jsonl(BENCH / "labels.jsonl")}
    clean = (template_strategy(docs) if args.strategy == "template"
             else lambda d: docs[d]["text"])
    scores: dict[str, list[float]] = defaultdict(list)
    for d, g in gold.items():
        scores[kinds[d]].append(token_f1(clean(d), g))
    everything = [x for v in scores.values() for x in v]
    result = {"strategy": args.strategy, "mean_token_f1": round(sum(everything) / len(everything), 4),
              **{k: round(sum(v) / len(v), 4) for k, v in sorted(scores.items())}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
